"""The four messages of label-only mode, and their JSON wire format.

Every message is a JSON object ``{"protocol": "encmed-tree", "version": 1, "type": ..., "query_id": ...,
"key_id": ...}`` plus the fields below.  DGK ciphertexts are base64 of ``ceil(bits/8)`` big-endian
bytes; bit proofs are ``[c0, c1, z0, z1]`` as decimal strings
(:class:`~encmed_lib.crypto.dgk.BitProof`).  Every field is checked on parsing (types, counts,
lengths before conversion); what each party learns is said per message.

* ``lo-query`` (client -> server): the client's DGK key ``{n, g, u}``, the dataset
  ``schema_id``, and for every schema feature its code's bits :math:`E(x_{f,i})` (least
  significant first), each with a bit proof.  The server learns the key size and the schema
  (public), nothing about the values.
* ``lo-comparisons`` (server -> client): one group per comparison node, in a random order, each
  of ``width`` blinded values :math:`E(r_i c_i)` in a random order.  The client learns one
  uniform bit per node (its share) and the public sizes.
* ``lo-answers`` (client -> server): per group the share :math:`E(\\delta_k)` with a bit proof.
  The server learns nothing (encrypted).
* ``lo-reply`` (server -> client): one ciphertext per leaf, shuffled,
  :math:`E(\\ell + \\rho\\,\\mathrm{cost})`.  The client learns the label and the leaf count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ...errors import MalformedMessageError
from ..messages import PROTOCOL, PROTOCOL_VERSION, b64_to_int, int_to_b64
from ..wire import parse_message

MAX_MESSAGE_BYTES = 64 << 20
"""The largest label-only message parsed (64 MiB: a 4096-bit key, 30 features of 24 bits, depth 10)."""

MAX_ITEMS = 1 << 16
"""The most ciphertexts (or groups) one list may hold."""


def _parse(text, kind: str) -> dict:
    """The one validating parser (:func:`~encmed_lib.protocol.wire.parse_message`): size, depth, envelope."""
    return parse_message(text, kind=kind, max_bytes=MAX_MESSAGE_BYTES)


def _get(data: dict, name: str, kind: str, types, *, max_len: int | None = None):
    if name not in data:
        raise MalformedMessageError(f"the {kind} has no {name!r} field")
    value = data[name]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise MalformedMessageError(f"the {kind}'s {name!r} field must not be a boolean")
    if not isinstance(value, types):
        raise MalformedMessageError(f"the {kind}'s {name!r} field has the wrong type "
                                    f"({type(value).__name__})")
    if max_len is not None and len(value) > max_len:
        raise MalformedMessageError(f"the {kind}'s {name!r} field holds {len(value)} items, over "
                                    f"the limit of {max_len}")
    return value


def _cipher_list(values, kind: str, what: str, n_bytes: int) -> list[int]:
    if not isinstance(values, list) or len(values) > MAX_ITEMS:
        raise MalformedMessageError(f"the {kind}'s {what} must be a list of at most {MAX_ITEMS} "
                                    "base64 ciphertexts")
    out = []
    limit = 4 * (-(-n_bytes // 3))  # base64 length of n_bytes bytes
    for k, text in enumerate(values):
        if not isinstance(text, str) or len(text) > limit:
            raise MalformedMessageError(f"the {kind}'s {what}[{k}] must be a base64 string of at most "
                                        f"{limit} characters")
        out.append(b64_to_int(text, f"{what}[{k}]"))
    return out


def _proof_list(values, kind: str, what: str, count: int) -> list[list[str]]:
    if not isinstance(values, list) or len(values) != count:
        raise MalformedMessageError(f"the {kind} needs one bit proof per {what} ({count}), got "
                                    f"{len(values) if isinstance(values, list) else type(values).__name__}")
    for k, proof in enumerate(values):
        if not (isinstance(proof, list) and len(proof) == 4 and all(isinstance(x, str) for x in proof)):
            raise MalformedMessageError(f"the {kind}'s proof {k} must be a list of 4 decimal strings")
    return values


def query_context(query_id: str, feature: str, bit: int) -> bytes:
    """Fiat-Shamir context of the proof of bit ``bit`` of ``feature`` in query ``query_id``."""
    return f"encmed/lo-query|{query_id}|{feature}|{bit}".encode()


def answer_context(query_id: str, group: int) -> bytes:
    """Fiat-Shamir context of the proof of the answer to ``group`` in query ``query_id``."""
    return f"encmed/lo-answer|{query_id}|{group}".encode()


@dataclass
class _Message:
    query_id: str
    key_id: str
    key_bits: int

    kind = ""
    max_bytes = MAX_MESSAGE_BYTES

    def _head(self) -> dict:
        return {"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "type": self.kind,
                "query_id": self.query_id, "key_id": self.key_id, "key_bits": self.key_bits}

    @property
    def n_bytes(self) -> int:
        return (self.key_bits + 7) // 8

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_json())

    @classmethod
    def _head_from(cls, data: dict) -> dict:
        query_id = _get(data, "query_id", cls.kind, str, max_len=128)
        key_id = _get(data, "key_id", cls.kind, str, max_len=64)
        key_bits = _get(data, "key_bits", cls.kind, int)
        if not 1 <= key_bits <= 1 << 14:
            raise MalformedMessageError(f"the {cls.kind}'s key_bits must be in [1, 16384], got {key_bits}")
        return {"query_id": query_id, "key_id": key_id, "key_bits": key_bits}


@dataclass
class LabelQuery(_Message):
    """Round 1, client -> server: the DGK-encrypted bits of every feature code, with bit proofs.

    ``bits[f][i]`` is :math:`E(x_{f,i})`, bit ``i`` (least significant first) of feature ``f``'s
    grid code; ``proofs[f][i]`` its :class:`~encmed_lib.crypto.dgk.BitProof` as decimal strings.
    """

    public_key: dict = field(default_factory=dict)
    schema_id: str = ""
    features: list[str] = field(default_factory=list)
    bits: list[list[int]] = field(default_factory=list)
    proofs: list[list[list[str]]] = field(default_factory=list)

    kind = "lo-query"

    def to_dict(self) -> dict:
        data = self._head()
        data.update(public_key=dict(self.public_key), schema_id=self.schema_id, features=list(self.features),
                    bits=[[int_to_b64(c, self.n_bytes) for c in row] for row in self.bits],
                    proofs=self.proofs)
        return data

    @classmethod
    def from_json(cls, text) -> LabelQuery:
        data = _parse(text, cls.kind)
        head = cls._head_from(data)
        key = _get(data, "public_key", cls.kind, dict, max_len=3)
        features = _get(data, "features", cls.kind, list, max_len=1024)
        rows = _get(data, "bits", cls.kind, list, max_len=1024)
        proofs = _get(data, "proofs", cls.kind, list, max_len=1024)
        if not all(isinstance(f, str) for f in features) or len(set(features)) != len(features):
            raise MalformedMessageError("the lo-query's features must be distinct strings")
        if not len(features) == len(rows) == len(proofs):
            raise MalformedMessageError(f"the lo-query names {len(features)} features but carries "
                                        f"{len(rows)} bit lists and {len(proofs)} proof lists")
        n_bytes = (head["key_bits"] + 7) // 8
        bits = [_cipher_list(row, cls.kind, f"bits of {f!r}", n_bytes) for f, row in zip(features, rows,
                                                                                         strict=True)]
        proofs = [_proof_list(p, cls.kind, f"bit of {f!r}", len(b)) for f, p, b in zip(features, proofs, bits,
                                                                                      strict=True)]
        return cls(**head, public_key=key, schema_id=_get(data, "schema_id", cls.kind, str, max_len=64),
                   features=features, bits=bits, proofs=proofs)


@dataclass
class Comparisons(_Message):
    """Round 2, server -> client: ``groups[k]`` holds the ``width`` blinded DGK values of one node."""

    groups: list[list[int]] = field(default_factory=list)
    classes: list = field(default_factory=list)

    kind = "lo-comparisons"

    def to_dict(self) -> dict:
        data = self._head()
        data.update(groups=[[int_to_b64(c, self.n_bytes) for c in g] for g in self.groups],
                    classes=list(self.classes))
        return data

    @classmethod
    def from_json(cls, text) -> Comparisons:
        data = _parse(text, cls.kind)
        head = cls._head_from(data)
        groups = _get(data, "groups", cls.kind, list, max_len=MAX_ITEMS)
        n_bytes = (head["key_bits"] + 7) // 8
        parsed = [_cipher_list(g, cls.kind, f"group {k}", n_bytes) for k, g in enumerate(groups)]
        if not parsed or len({len(g) for g in parsed}) != 1 or not parsed[0]:
            raise MalformedMessageError("the lo-comparisons need at least one group, all of the same "
                                        "non-zero width")
        classes = _get(data, "classes", cls.kind, list, max_len=1024)
        return cls(**head, groups=parsed, classes=classes)


@dataclass
class Answers(_Message):
    """Round 3, client -> server: per group its share :math:`E(\\delta_k)`, with a bit proof each."""

    answers: list[int] = field(default_factory=list)
    proofs: list[list[str]] = field(default_factory=list)

    kind = "lo-answers"

    def to_dict(self) -> dict:
        data = self._head()
        data.update(answers=[int_to_b64(c, self.n_bytes) for c in self.answers], proofs=self.proofs)
        return data

    @classmethod
    def from_json(cls, text) -> Answers:
        data = _parse(text, cls.kind)
        head = cls._head_from(data)
        answers = _cipher_list(_get(data, "answers", cls.kind, list), cls.kind, "answers",
                               (head["key_bits"] + 7) // 8)
        proofs = _proof_list(_get(data, "proofs", cls.kind, list), cls.kind, "answer", len(answers))
        return cls(**head, answers=answers, proofs=proofs)


@dataclass
class LabelReply(_Message):
    """Round 4, server -> client: one masked ciphertext per leaf, shuffled; ``classes`` names them."""

    leaves: list[int] = field(default_factory=list)
    classes: list = field(default_factory=list)

    kind = "lo-reply"

    def to_dict(self) -> dict:
        data = self._head()
        data.update(leaves=[int_to_b64(c, self.n_bytes) for c in self.leaves], classes=list(self.classes))
        return data

    @classmethod
    def from_json(cls, text) -> LabelReply:
        data = _parse(text, cls.kind)
        head = cls._head_from(data)
        leaves = _cipher_list(_get(data, "leaves", cls.kind, list), cls.kind, "leaves",
                              (head["key_bits"] + 7) // 8)
        classes = _get(data, "classes", cls.kind, list, max_len=1024)
        if not leaves or not classes:
            raise MalformedMessageError("a lo-reply needs at least one leaf and one class")
        return cls(**head, leaves=leaves, classes=classes)


MESSAGES = {m.kind: m for m in (LabelQuery, Comparisons, Answers, LabelReply)}
"""Message classes by their ``type``."""


def parse(text, expected: type[_Message]) -> _Message:
    """``expected.from_json(text)`` unless ``text`` already is an ``expected``."""
    return text if isinstance(text, expected) else expected.from_json(text)
