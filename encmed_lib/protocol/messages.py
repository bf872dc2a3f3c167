"""The two messages of encrypted tree prediction, and their JSON wire format.

Both are plain JSON objects, so they can travel through any "bucket" (a
folder, S3) and be read by a person.  Big integers are written in decimal
(the key) or as base64 of fixed-length big-endian bytes (ciphertexts).

Query (client -> server)
========================

==============  ==========================================================  ===========================
field           content                                                     what the server learns
==============  ==========================================================  ===========================
``protocol``    ``"encmed-tree"``                                           --
``version``     :data:`PROTOCOL_VERSION`; another version is refused         --
``type``        ``"query"``                                                 --
``scale_bits``  40: values are ``float32(x)·2^40`` (a protocol constant;    --
                a query scaled otherwise is refused)
``query_id``    32 random hex digits chosen by the client                   nothing (links the reply)
``public_key``  ``{"n": "<decimal>"}``: the Paillier modulus (the client's   the key size, and that the
                DJN base stays home: the server re-randomises with its own  same client sent both queries
                uniform randomisers)
``features``    feature names, in the order of ``ciphertexts``               which attributes were sent
``ciphertexts`` base64 of Enc(X_f), X_f = float32(x_f)·2^40 (one scale,      nothing about the values
                :mod:`encmed_lib.crypto.encoding`), each ``2·bits/8`` bytes  (semantic security)
==============  ==========================================================  ===========================

Reply (server -> client)
========================

=================  =======================================================  ==========================
field              content                                                  what the client learns
=================  =======================================================  ==========================
``protocol``,      as in the query; ``type`` is ``"reply"``                 --
``version``
``query_id``       the query it answers                                     --
``key_id``         SHA-256 fingerprint of ``n`` (16 hex digits)             --
``mode``           ``"basic"``                                              --
``blinding``       ``"full"`` (v = r·d + s), ``"multiplicative"`` (v = r·d,   how much each value hides
                   for the divisor-attack lesson) or ``"none"`` (v = d: the
                   original design, for the threshold-recovery lesson)
``slot_bits``      :data:`SLOT_BITS`: width of a packed slot                 --
``n_values``       number of blinded values (= internal nodes)              the tree's size
``packs``          base64 ciphertexts; each packs up to ``(bits-1) //       one blinded value per
                   slot_bits`` values ``v_j + 2^(slot_bits-1)``, slot j at   node: its sign, and a rough
                   bits ``[j·w, (j+1)·w)`` (a list of plain ciphertexts when  magnitude of ``T_j - X_f``
                   the server does not pack: then ``packed`` is false)
``packed``         whether ``packs`` are packed
``tree``           ``{"classes": [...], "nodes": [...]}``: internal nodes   the tree's shape and leaf
                   ``{"left": i, "right": j, "slot": k}``, leaves ``{"label":  labels (and class shares);
                   c}`` (plus ``"distribution"`` when the server shares it)  no feature, no threshold
``features``       only with ``blinding="none"``: the feature each node     (the original design's
                   compares                                                 conditions)
=================  =======================================================  ==========================

Comparison semantics: with ``d_j = T_j - X_f``, a record goes left at node
``j`` exactly when ``v_j >= 0``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from ..crypto.encoding import D_BITS, SCALE_BITS
from ..errors import MalformedMessageError, ProtocolVersionError

PROTOCOL = "encmed-tree"
PROTOCOL_VERSION = 1

BLIND_BITS = 40
"""kappa: the multiplicative blind r is uniform in ``[1, 2**BLIND_BITS)``."""

SLOT_BITS = D_BITS + BLIND_BITS + 2
"""Width of a packed slot: ``|r·d + s| < 2**(SLOT_BITS - 1)``, so ``v + 2**(SLOT_BITS-1)`` fits."""


def int_to_b64(value: int, length: int) -> str:
    """Base64 of ``value`` as ``length`` big-endian bytes."""
    return base64.b64encode(int(value).to_bytes(length, "big")).decode("ascii")


def b64_to_int(text: str, what: str = "ciphertext") -> int:
    try:
        return int.from_bytes(base64.b64decode(text.encode("ascii"), validate=True), "big")
    except (ValueError, AttributeError, TypeError) as exc:
        raise MalformedMessageError(f"{what} is not valid base64: {exc}") from exc


def _load(text: str | bytes | dict, kind: str) -> dict:
    if isinstance(text, dict):
        data = text
    else:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
            raise MalformedMessageError(f"a {kind} must be a JSON object; could not parse it: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedMessageError(f"a {kind} must be a JSON object, got {type(data).__name__}")
    if data.get("protocol") != PROTOCOL:
        raise MalformedMessageError(f"not an {PROTOCOL} message (protocol={data.get('protocol')!r})")
    if data.get("version") != PROTOCOL_VERSION:
        raise ProtocolVersionError(
            f"this {kind} uses protocol version {data.get('version')!r}; this library speaks version "
            f"{PROTOCOL_VERSION}: upgrade the party that wrote it, or encmed_lib")
    if data.get("type") != kind:
        raise MalformedMessageError(f"expected a {kind}, got type={data.get('type')!r}")
    return data


def _field(data: dict, name: str, kind: str, types):
    if name not in data:
        raise MalformedMessageError(f"the {kind} has no {name!r} field")
    value = data[name]
    if not isinstance(value, types):
        raise MalformedMessageError(f"the {kind}'s {name!r} field has the wrong type "
                                    f"({type(value).__name__})")
    return value


@dataclass
class Query:
    """The client's encrypted record.

    ``ciphertexts`` are integers in :math:`\\mathbb{Z}_{n^2}^*`, one per feature name.
    """

    query_id: str
    public_key: dict
    features: list[str]
    ciphertexts: list[int]

    def to_dict(self) -> dict:
        length = ciphertext_length(self.public_key)
        return {"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "type": "query",
                "scale_bits": SCALE_BITS,
                "query_id": self.query_id, "public_key": dict(self.public_key),
                "features": list(self.features),
                "ciphertexts": [int_to_b64(c, length) for c in self.ciphertexts]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> Query:
        """Parse a query; raises :class:`MalformedMessageError` / :class:`ProtocolVersionError`."""
        data = _load(text, "query")
        if cls is Query and data.get("scale_bits", SCALE_BITS) != SCALE_BITS:
            raise MalformedMessageError(
                f"this query's values are scaled by 2**{data.get('scale_bits')!r}, not the tree "
                f"protocol's 2**{SCALE_BITS}: it was encrypted for another model (e.g. a linear one)")
        query_id = _field(data, "query_id", "query", str)
        key = _field(data, "public_key", "query", dict)
        n = key.get("n")
        if not isinstance(n, str) or not (n.isascii() and n.isdigit()):
            raise MalformedMessageError("the query's public_key.n must be a decimal string")
        features = _field(data, "features", "query", list)
        texts = _field(data, "ciphertexts", "query", list)
        if len(features) != len(texts):
            raise MalformedMessageError(f"the query names {len(features)} features but carries "
                                        f"{len(texts)} ciphertexts")
        if not all(isinstance(f, str) for f in features) or len(set(features)) != len(features):
            raise MalformedMessageError("the query's features must be distinct strings")
        if not all(isinstance(t, str) for t in texts):
            raise MalformedMessageError("the query's ciphertexts must be base64 strings")
        cts = [b64_to_int(t, f"ciphertext of {f!r}") for f, t in zip(features, texts, strict=True)]
        return cls(query_id, {"n": n}, list(features), cts)

    def __len__(self) -> int:
        return len(self.to_json())


@dataclass
class Reply:
    """The server's blinded comparisons and the tree shape (see the module docstring)."""

    query_id: str
    key_id: str
    packs: list[int]
    n_values: int
    tree: dict
    key_bits: int
    mode: str = "basic"
    blinding: str = "full"
    packed: bool = True
    slot_bits: int = SLOT_BITS
    features: list[str] | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        length = (2 * self.key_bits + 7) // 8
        data = {"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "type": "reply",
                "query_id": self.query_id, "key_id": self.key_id, "key_bits": self.key_bits,
                "mode": self.mode, "blinding": self.blinding, "packed": self.packed,
                "slot_bits": self.slot_bits, "n_values": self.n_values,
                "packs": [int_to_b64(c, length) for c in self.packs], "tree": self.tree}
        if self.features is not None:
            data["features"] = list(self.features)
        data.update(self.extra)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> Reply:
        data = _load(text, "reply")
        known = {"protocol", "version", "type", "query_id", "key_id", "key_bits", "mode",
                 "blinding", "packed", "slot_bits", "n_values", "packs", "tree", "features"}
        tree = _field(data, "tree", "reply", dict)
        if not isinstance(tree.get("nodes"), list) or not isinstance(tree.get("classes"), list):
            raise MalformedMessageError("the reply's tree needs 'nodes' and 'classes' lists")
        packs = _field(data, "packs", "reply", list)
        if not all(isinstance(t, str) for t in packs):
            raise MalformedMessageError("the reply's packs must be base64 strings")
        features = data.get("features")
        if features is not None and not isinstance(features, list):
            raise MalformedMessageError("the reply's features must be a list")
        return cls(
            query_id=_field(data, "query_id", "reply", str),
            key_id=_field(data, "key_id", "reply", str),
            packs=[b64_to_int(t, "pack") for t in packs],
            n_values=_field(data, "n_values", "reply", int),
            tree=tree,
            key_bits=_field(data, "key_bits", "reply", int),
            mode=_field(data, "mode", "reply", str),
            blinding=_field(data, "blinding", "reply", str),
            packed=_field(data, "packed", "reply", bool),
            slot_bits=_field(data, "slot_bits", "reply", int),
            features=features,
            extra={k: v for k, v in data.items() if k not in known},
        )

    def __len__(self) -> int:
        return len(self.to_json())


def ciphertext_length(public_key: dict) -> int:
    """Bytes of one ciphertext under a key given as ``{"n": ...}``."""
    return (2 * int(public_key["n"]).bit_length() + 7) // 8


def slots_per_pack(key_bits: int, slot_bits: int = SLOT_BITS) -> int:
    """How many slots fit below :math:`2^{bits-1} < n`."""
    return (key_bits - 1) // slot_bits


# ---------------------------------------------------------------------------
# Label-only mode (three messages after the same Query; see protocol.label_only)
# ---------------------------------------------------------------------------
LABEL_SLOT_BITS = SLOT_BITS + 1
"""Slot width of label-only comparisons ``sigma·(2(r·d + s) + 1)``: one bit more than basic mode."""


@dataclass
class _CipherList:
    """A message that carries one list of ciphertexts under the client's key."""

    query_id: str
    key_id: str
    key_bits: int
    ciphertexts: list[int]
    meta: dict = field(default_factory=dict)

    kind = ""

    def to_dict(self) -> dict:
        length = (2 * self.key_bits + 7) // 8
        data = {"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "type": self.kind,
                "query_id": self.query_id, "key_id": self.key_id, "key_bits": self.key_bits,
                "ciphertexts": [int_to_b64(c, length) for c in self.ciphertexts]}
        data.update(self.meta)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes | dict):
        data = _load(text, cls.kind)
        texts = _field(data, "ciphertexts", cls.kind, list)
        if not all(isinstance(t, str) for t in texts):
            raise MalformedMessageError(f"the {cls.kind}'s ciphertexts must be base64 strings")
        base = {"protocol", "version", "type", "query_id", "key_id", "key_bits", "ciphertexts"}
        return cls(query_id=_field(data, "query_id", cls.kind, str),
                   key_id=_field(data, "key_id", cls.kind, str),
                   key_bits=_field(data, "key_bits", cls.kind, int),
                   ciphertexts=[b64_to_int(t, f"a {cls.kind} ciphertext") for t in texts],
                   meta={k: v for k, v in data.items() if k not in base})

    def __len__(self) -> int:
        return len(self.to_json())


@dataclass
class Comparisons(_CipherList):
    """Label-only round 1, server -> client: packed, sign-flipped, shuffled comparisons.

    ``meta`` holds ``n_values`` (``2**depth - 1``), ``depth`` (the public padded
    depth), ``slot_bits`` and ``classes``.  The client learns nothing but a
    random-looking sign and a rough magnitude per (anonymous) comparison.
    """

    kind = "comparisons"


@dataclass
class Bits(_CipherList):
    """Label-only round 2, client -> server: ``E([w_k > 0])`` for each comparison, in the order received."""

    kind = "bits"


@dataclass
class LabelReply(_CipherList):
    """Label-only round 3, server -> client: shuffled leaf pairs ``E(rho·cost), E(label + u·cost)``.

    ``ciphertexts`` alternates cost and label ciphertexts; ``meta["classes"]``
    names the classes (labels are sent as class indices).
    """

    kind = "label-reply"
