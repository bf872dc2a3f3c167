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
``scale_bits``  26: values are ``floor(float32(x)·2^26)`` (a protocol       --
                constant; a query scaled otherwise is refused)
``query_id``    32 random hex digits chosen by the client                   nothing (links the reply)
``public_key``  ``{"n": "<decimal>"}``: the Paillier modulus (the client's   the key size, and that the
                DJN base stays home: the server re-randomises with its own  same client sent both queries
                uniform randomisers)
``features``    feature names, in the order of ``ciphertexts``               which attributes were sent
``ciphertexts`` base64 of Enc(X_f), X_f = floor(float32(x_f)·2^26) (one     nothing about the values
                scale, :mod:`encmed_lib.crypto.encoding`), ``2·bits/8`` bytes (semantic security)
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

Validation
==========

Every message is parsed by :func:`.wire.parse_message` (size, depth and
number limits, then ``protocol``, ``version`` and ``type``) and every field is
checked before use: :class:`~encmed_lib.errors.MalformedMessageError` names the
field and what was expected.  ``public_key.n`` is a canonical decimal string of
an odd integer of at most :data:`MAX_KEY_BITS` bits (a shorter key than
:data:`~encmed_lib.crypto.paillier.MIN_KEY_BITS` is a
:class:`~encmed_lib.errors.KeyTooSmallError`); it may carry a ``proof``, a list
of at most :data:`MAX_PROOF_ITEMS` decimal strings none longer than ``n``'s
(kept, not yet used).  Ciphertexts are at most ``2·bits/8`` bytes.  The tree of
a reply must be a tree: node 0 is the root, every other node has exactly one
parent and is reached from it, internal nodes carry distinct slots
``0..n_values-1`` and leaves a label among ``classes``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from ..crypto.encoding import D_BITS, SCALE_BITS
from ..crypto.paillier import MIN_KEY_BITS
from ..errors import MalformedMessageError
from .schema import (
    BLINDINGS,
    KEY_ID_PATTERN,
    MAX_FEATURES,
    MAX_KEY_BITS,
    MAX_TREE_NODES,
    REPLY_MODES,
    check_features,
    check_ints,
    check_query_id,
    check_tree,
    parse_modulus,
    parse_public_key,
    present,
)
from .wire import (
    PROTOCOL,
    PROTOCOL_VERSION,
    b64_int,
    bool_field,
    describe,
    int_field,
    list_field,
    parse_message,
    str_field,
)

__all__ = ["PROTOCOL", "PROTOCOL_VERSION", "BLIND_BITS", "SLOT_BITS", "MAX_KEY_BITS",
           "Query", "Reply", "parse_modulus", "parse_public_key",
           "check_tree", "int_to_b64", "b64_to_int", "ciphertext_length", "slots_per_pack"]

BLIND_BITS = 21
"""kappa: the multiplicative blind r is uniform in ``[1, 2**BLIND_BITS)``.

Why 21 bits and not more: no width of :math:`r` makes this design safe
against a client who chooses its record.  For any :math:`r \\ll |d|` the
one-query sieve (:mod:`encmed_lib.attacks.sieve`) reads every threshold from
one edge record; a blind wider than :math:`|d|` would stop the sieve but not
the sign of every node, which the interval attack
(:mod:`encmed_lib.attacks.interval`) bisects in a few dozen queries, and it
would double the slot: a second ciphertext and a second full re-randomiser
per reply.  21 bits keep the seed design's ratio at the domain edge
(:math:`|d|/r \\approx 2^{42}/2^{21}`, the seed's :math:`2^{60}/2^{40}`), so the
lessons of notebook 04 are those of the design, and make a slot 66 bits: a
complete depth-5 tree (31 nodes) in
one 2048-bit plaintext.
"""

SLOT_BITS = D_BITS + BLIND_BITS + 2
"""Width of a packed slot, 66 bits: ``|r·d + s| < 2**(SLOT_BITS - 1)``, so ``v + 2**(SLOT_BITS-1)`` fits.

``(bits - 1) // 66`` slots per pack: 15 at 1024 bits (a complete depth-4
tree), 31 at 2048 bits (a complete depth-5 tree), 46 at 3072 bits."""


def int_to_b64(value: int, length: int) -> str:
    """Base64 of ``value`` as ``length`` big-endian bytes."""
    return base64.b64encode(int(value).to_bytes(length, "big")).decode("ascii")


def b64_to_int(text: str, what: str = "ciphertext", max_bytes: int = 2 * MAX_KEY_BITS // 8) -> int:
    """The integer in base64 ``text`` (at most ``max_bytes``); see :func:`.wire.b64_int`."""
    return b64_int(text, max_bytes, what=what)


def ciphertext_bytes(key_bits: int) -> int:
    """Bytes of one ciphertext, an element of :math:`\\mathbb{Z}_{n^2}`, for a ``key_bits``-bit ``n``."""
    return (2 * key_bits + 7) // 8


# ------------------------------------------------------------------ query
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
    def _scale(cls, data: dict) -> dict:
        """Check ``scale_bits`` (optional, the tree's 2**26); returns extra constructor arguments."""
        scale = int_field(data, "scale_bits", kind="query", required=False, default=SCALE_BITS)
        if scale != SCALE_BITS:
            raise MalformedMessageError(
                f"this query's values are scaled by 2**{describe(scale)}, not the tree "
                f"protocol's 2**{SCALE_BITS}: it was encrypted for another model (e.g. a linear one)")
        return {}

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> Query:
        """Parse a query; raises :class:`MalformedMessageError` / :class:`ProtocolVersionError`."""
        return cls.from_data(parse_message(text, kind="query"))

    @classmethod
    def from_data(cls, data: dict) -> Query:
        """Build a query from a decoded message (:func:`.wire.parse_message`), checking every field."""
        extra = cls._scale(data)
        query_id = check_query_id(present(data, "query_id", "query"))
        public_key, n = parse_public_key(present(data, "public_key", "query"))
        features = present(data, "features", "query")
        texts = list_field(data, "ciphertexts", kind="query", max_len=MAX_FEATURES)
        check_features(features, "query")
        if len(features) != len(texts):
            raise MalformedMessageError(f"the query names {len(features)} features but carries "
                                        f"{len(texts)} ciphertexts")
        length = ciphertext_bytes(n.bit_length())
        cts = [b64_int(t, length, what=f"ciphertext of {f!r}") for f, t in zip(features, texts, strict=True)]
        return cls(query_id, public_key, list(features), cts, **extra)

    def validate(self) -> int:
        """Check a query built in Python as :meth:`from_data` checks a parsed one; returns ``n``."""
        check_query_id(self.query_id)
        _, n = parse_public_key(self.public_key)
        check_features(self.features, "query")
        check_ints(self.ciphertexts, "query", "ciphertexts", 2 * n.bit_length())
        if len(self.features) != len(self.ciphertexts):
            raise MalformedMessageError(f"the query names {len(self.features)} features but carries "
                                        f"{len(self.ciphertexts)} ciphertexts")
        return n

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

    _KNOWN = frozenset({"protocol", "version", "type", "query_id", "key_id", "key_bits", "mode",
                        "blinding", "packed", "slot_bits", "n_values", "packs", "tree", "features"})

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
        """Parse a reply; raises :class:`MalformedMessageError` / :class:`ProtocolVersionError`."""
        return cls.from_data(parse_message(text, kind="reply"))

    @classmethod
    def from_data(cls, data: dict) -> Reply:
        """Build a reply from a decoded message, checking every field and the tree (:meth:`validate`)."""
        key_bits = int_field(data, "key_bits", kind="reply", min=MIN_KEY_BITS, max=MAX_KEY_BITS)
        texts = list_field(data, "packs", kind="reply", max_len=MAX_TREE_NODES)
        reply = cls(query_id=present(data, "query_id", "reply"), key_id=present(data, "key_id", "reply"),
                    packs=[b64_int(t, ciphertext_bytes(key_bits), what="pack") for t in texts],
                    n_values=present(data, "n_values", "reply"), tree=present(data, "tree", "reply"),
                    key_bits=key_bits, mode=present(data, "mode", "reply"),
                    blinding=present(data, "blinding", "reply"), packed=present(data, "packed", "reply"),
                    slot_bits=present(data, "slot_bits", "reply"), features=data.get("features"),
                    extra={k: v for k, v in data.items() if k not in cls._KNOWN})
        reply.validate()
        return reply

    def validate(self) -> None:
        """Check every field, the number of packs and the tree (:func:`check_tree`).

        Raises
        ------
        MalformedMessageError
            Naming the first field at fault.
        """
        kind, fields = "reply", vars(self)
        check_query_id(self.query_id, kind)
        str_field(fields, "key_id", kind=kind, max_len=64, pattern=KEY_ID_PATTERN)
        key_bits = int_field(fields, "key_bits", kind=kind, min=MIN_KEY_BITS, max=MAX_KEY_BITS)
        n_values = int_field(fields, "n_values", kind=kind, min=0, max=MAX_TREE_NODES)
        str_field(fields, "mode", kind=kind, choices=REPLY_MODES)
        str_field(fields, "blinding", kind=kind, choices=BLINDINGS)
        packed = bool_field(fields, "packed", kind=kind)
        slot_bits = int_field(fields, "slot_bits", kind=kind, min=1, max=key_bits)
        check_ints(self.packs, kind, "packs", 2 * key_bits)
        if packed:
            per = slots_per_pack(key_bits, slot_bits)
            if per < 1:
                raise MalformedMessageError(f"the reply's {slot_bits}-bit slots do not fit a "
                                            f"{key_bits}-bit key")
            expected = -(-n_values // per)
        else:
            expected = n_values
        if len(self.packs) != expected:
            raise MalformedMessageError(f"the reply carries {len(self.packs)} packs for {n_values} values "
                                        f"(expected {expected})")
        if not isinstance(self.extra, dict):
            raise MalformedMessageError("a reply's extra fields must be a dict")
        check_tree(self.tree, n_values)
        if self.features is not None:
            check_features(self.features, kind, count=n_values)

    def __len__(self) -> int:
        return len(self.to_json())


def ciphertext_length(public_key: dict) -> int:
    """Bytes of one ciphertext under a key given as ``{"n": ...}``."""
    return ciphertext_bytes(int(public_key["n"]).bit_length())


def slots_per_pack(key_bits: int, slot_bits: int = SLOT_BITS) -> int:
    """How many slots fit below :math:`2^{bits-1} < n`."""
    return (key_bits - 1) // slot_bits
