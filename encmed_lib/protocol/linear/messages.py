"""The linear protocol's messages: :class:`LinearQuery` (float64 inputs) and :class:`LinearReply`."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ...crypto.encoding import SCALE_BITS, VALUE_BITS
from ...crypto.paillier import MIN_KEY_BITS
from ...errors import MalformedMessageError
from ..messages import MAX_KEY_BITS, PROTOCOL, PROTOCOL_VERSION, Query, int_to_b64
from ..schema import KEY_ID_PATTERN, check_classes, check_ints, check_query_id, present
from ..wire import b64_int, describe, int_field, list_field, number_field, parse_message, str_field
from ..wire import field as _field
from .fixed_point import INPUT_FRAC_BITS, SCORE_FRAC_BITS

__all__ = ["OUTPUTS", "MAX_NOISE_SCALE", "LINEAR_REPLY", "LinearQuery", "LinearReply", "plain_value"]

OUTPUTS = ("exact", "rounded", "noisy")
"""What a :class:`LinearServer` returns (see :mod:`encmed_lib.protocol.linear`)."""

MAX_NOISE_SCALE = 2 ** VALUE_BITS
"""The largest ``noise_scale`` (score units) a server accepts or a reply may claim."""

LINEAR_REPLY = "linear-reply"


def plain_value(value):
    """``value`` as a plain Python scalar (a NumPy scalar's ``item()``), for JSON."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class LinearQuery(Query):
    """A :class:`Query` whose ciphertexts encrypt ``round(x * 2**64)`` (float64 fixed point).

    Its JSON is the tree query's plus ``"scale_bits": 64``: a :class:`LinearServer`
    refuses a query without it (a tree query, scaled by ``2**40``), which would
    otherwise give silently wrong scores.
    """

    scale_bits: int = INPUT_FRAC_BITS

    def to_dict(self) -> dict:
        data = super().to_dict()
        data["scale_bits"] = self.scale_bits
        return data

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> LinearQuery:
        """Parse a query and check its encoding; raises :class:`MalformedMessageError`."""
        return cls.from_data(parse_message(text, kind="query"))

    @classmethod
    def _scale(cls, data: dict) -> dict:
        """``scale_bits`` is required and must be :data:`INPUT_FRAC_BITS` (64)."""
        if "scale_bits" not in data:
            raise MalformedMessageError(
                "this query has no 'scale_bits' field: it was encoded for the tree protocol "
                "(float32 x 2**40, Client.encrypt); encrypt the record with "
                "encmed_lib.protocol.linear.encrypt_float64 for a LinearServer")
        scale = int_field(data, "scale_bits", kind="query")
        if scale != INPUT_FRAC_BITS:
            hint = (" (a tree query, Client.encrypt: encrypt the record with "
                    "encmed_lib.protocol.linear.encrypt_float64 instead)" if scale == SCALE_BITS else "")
            raise MalformedMessageError(f"the query's inputs are scaled by 2**{describe(scale)}{hint}; a "
                                        "LinearServer needs float64 inputs as "
                                        f"round(x * 2**{INPUT_FRAC_BITS})")
        return {"scale_bits": scale}


@dataclass
class LinearReply:
    """The server's answer: one ciphertext :math:`E(S)`, with :math:`s = S / 2^{\\text{scale\\_bits}}`.

    JSON fields: ``protocol``, ``version``, ``type`` (``"linear-reply"``),
    ``query_id``, ``key_id``, ``key_bits``, ``scale_bits`` (128), ``classes``
    (the two labels, for :func:`predict_encrypted`), ``output`` (``"exact"``,
    ``"rounded"`` with ``decimals``, or ``"noisy"`` with ``noise_scale``) and
    ``ciphertext`` (base64 of ``2·key_bits/8`` big-endian bytes).
    """

    query_id: str
    key_id: str
    key_bits: int
    ciphertext: int
    classes: list
    scale_bits: int = SCORE_FRAC_BITS
    output: str = "exact"
    decimals: int | None = None
    noise_scale: float | None = None

    def to_dict(self) -> dict:
        data = {"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "type": LINEAR_REPLY,
                "query_id": self.query_id, "key_id": self.key_id, "key_bits": self.key_bits,
                "scale_bits": self.scale_bits, "classes": [plain_value(c) for c in self.classes],
                "output": self.output,
                "ciphertext": int_to_b64(self.ciphertext, (2 * self.key_bits + 7) // 8)}
        if self.output == "rounded":
            data["decimals"] = self.decimals
        if self.output == "noisy":
            data["noise_scale"] = self.noise_scale
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> LinearReply:
        """Parse a reply; raises :class:`MalformedMessageError` / :class:`ProtocolVersionError`."""
        kind = LINEAR_REPLY
        data = parse_message(text, kind=kind)
        key_bits = int_field(data, "key_bits", kind=kind, min=MIN_KEY_BITS, max=MAX_KEY_BITS)
        output = str_field(data, "output", kind=kind, choices=OUTPUTS)
        reply = cls(query_id=present(data, "query_id", kind), key_id=present(data, "key_id", kind),
                    key_bits=key_bits,
                    ciphertext=b64_int(_field(data, "ciphertext", str, kind=kind), (2 * key_bits + 7) // 8,
                                       what=f"the {kind} ciphertext"),
                    classes=present(data, "classes", kind), scale_bits=present(data, "scale_bits", kind),
                    output=output, decimals=present(data, "decimals", kind) if output == "rounded" else None,
                    noise_scale=present(data, "noise_scale", kind) if output == "noisy" else None)
        reply.validate()
        if reply.noise_scale is not None:
            reply.noise_scale = float(reply.noise_scale)
        return reply

    def validate(self) -> None:
        """Check every field of a parsed reply, or of one built in Python (:class:`MalformedMessageError`)."""
        kind, fields = LINEAR_REPLY, vars(self)
        check_query_id(self.query_id, kind)
        str_field(fields, "key_id", kind=kind, max_len=64, pattern=KEY_ID_PATTERN)
        key_bits = int_field(fields, "key_bits", kind=kind, min=MIN_KEY_BITS, max=MAX_KEY_BITS)
        check_ints([self.ciphertext], kind, "ciphertext", 2 * key_bits)
        check_classes(list_field(fields, "classes", kind=kind, min_len=2, max_len=2), kind)
        int_field(fields, "scale_bits", kind=kind, min=0, max=4096)
        output = str_field(fields, "output", kind=kind, choices=OUTPUTS)
        if output == "rounded":
            int_field(fields, "decimals", kind=kind, min=0, max=15)
        if output == "noisy":
            noise = number_field(fields, "noise_scale", kind=kind, min=0, max=MAX_NOISE_SCALE)
            if noise <= 0:
                raise MalformedMessageError(f"the {kind}'s 'noise_scale' field must be positive, "
                                            f"got {noise!r}")

    def __len__(self) -> int:
        return len(self.to_json())
