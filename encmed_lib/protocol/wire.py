"""One validating layer for every wire message: bounded JSON parsing and schema helpers.

Every message of the protocols (:mod:`.messages`, :mod:`.linear`) is parsed by
:func:`parse_message` and its fields are read with the helpers below, so that
*any* malformed input, hostile or accidental, raises
:class:`~encmed_lib.errors.MalformedMessageError` (or
:class:`~encmed_lib.errors.ProtocolVersionError`) naming the field and what was
expected, in time linear in the message's size, before any arithmetic.

Limits, checked **before** the costly step they protect:

==================  ==================================  =====================================
limit               default                             protects
==================  ==================================  =====================================
``max_bytes``       :data:`DEFAULT_MAX_BYTES` (8 MiB)   memory and time of the JSON parser
``max_depth``       :data:`DEFAULT_MAX_DEPTH` (32)      the recursive C parser (RecursionError)
``max_int_digits``  :data:`DEFAULT_MAX_INT_DIGITS`      ``int()``, quadratic in the digits and
                    (64, for every JSON number)         refused past 4,300 digits
decimal strings     ``max_digits`` of                   the same, for big integers written as
                    :func:`decimal_int`                 text (the key ``n``)
base64 strings      ``max_bytes`` of :func:`b64_int`    ciphertexts larger than the key allows
==================  ==================================  =====================================

The depth is measured without recursion: strings are removed with one regular
expression, and the running sum of ``+1`` per ``[``/``{`` and ``-1`` per
``]``/``}`` gives the nesting depth, :math:`\\max_k \\sum_{i \\le k} b_i`.
Numbers reach ``int``/``float`` only through the parser's ``parse_int`` and
``parse_float`` hooks, which see the literal's text first; ``NaN`` and
``Infinity`` (not JSON) and duplicate keys in an object are refused.  Text must
be UTF-8 (``bytes``) or encodable as UTF-8 (``str``: a lone surrogate, written
raw or as a ``\\ud800`` escape, is refused).  A ``dict`` is accepted too: it is
checked for depth without recursion, written to JSON and parsed like text, so
the same limits and types apply.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Sequence

import numpy as np

from ..errors import MalformedMessageError, ProtocolVersionError

__all__ = [
    "PROTOCOL", "PROTOCOL_VERSION", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_INT_DIGITS",
    "parse_message", "load_json", "describe", "field", "int_field", "number_field", "str_field",
    "bool_field", "list_field", "b64_int", "decimal_int",
]

PROTOCOL = "encmed-tree"
PROTOCOL_VERSION = 1

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
"""8 MiB: a label-only reply of depth 12 under a 2048-bit key is about 5.6 MB."""

DEFAULT_MAX_DEPTH = 32
"""Nesting of arrays and objects; the largest legitimate message nests 5 deep (a leaf's distribution)."""

DEFAULT_MAX_INT_DIGITS = 64
"""Characters of a JSON number literal: every number field of the protocol is far shorter."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
"""A JSON string, or an unterminated one up to the end: the optional closing quote means a match
never fails once started, so :meth:`re.sub` scans in linear time (a required quote made
``'\\"' * 10_000`` take seconds, retrying from every quote)."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
               float: "a number", type(None): "null"}


def describe(value) -> str:
    """A short, safe description of a value for an error message (never a 10,000-digit repr)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return ascii(shown) + ("" if len(value) <= 40 else f" ({len(value)} characters)")
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return f"an object with {len(value)} fields"
    return f"a {type(value).__name__}"


def _type_name(value) -> str:
    return _JSON_NAMES.get(type(value), f"a {type(value).__name__}")


# ------------------------------------------------------------------ raw text
def _refuse_constant(text: str):
    raise MalformedMessageError(f"{text} is not a JSON number: every number must be finite")


def _pairs(pairs: list) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedMessageError(f"an object names the field {describe(key)} twice")
            seen.add(key)
    return data


def _nesting_depth(text: str) -> int:
    """Maximum nesting of ``[]{}`` outside strings (no recursion; numpy for long bracket runs)."""
    stripped = _STRING.sub("", text)  # an unterminated string is left for json.loads to refuse
    brackets = _NOT_BRACKET.sub("", stripped)
    if len(brackets) <= 2 * DEFAULT_MAX_DEPTH:
        depth = best = 0
        for c in brackets:
            depth += 1 if c in "[{" else -1
            best = max(best, depth)
        return best
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def _field_of_number(text: str, max_len: int) -> str:
    """`` (field 'name')`` for the first over-long number literal that follows a key (error path only)."""
    found = re.search(r'"([^"\\]{1,64})"\s*:\s*-?[0-9.eE+-]{' + str(max_len + 1) + ",}", text)
    return f" (field {found.group(1)!r})" if found else ""


def _dict_depth(data, limit: int, max_int_digits: int) -> int:
    """Depth of nested dicts and lists, walked with an explicit stack, stopping past ``limit``.

    Integers too long to write in ``max_int_digits`` characters are refused here,
    before :func:`json.dumps` would meet ``int``'s 4,300-digit limit.
    """
    stack, best = [(data, 1)], 0
    while stack:
        value, depth = stack.pop()
        best = max(best, depth)
        if best > limit:
            return best
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            if isinstance(item, dict | list | tuple):
                stack.append((item, depth + 1))
            elif isinstance(item, int) and item.bit_length() > 4 * max_int_digits:
                raise MalformedMessageError(f"the message holds {describe(item)}; numbers of at most "
                                            f"{max_int_digits} characters are accepted")
    return best


def _as_text(message, what: str, max_bytes: int, max_depth: int, max_int_digits: int) -> str:
    if isinstance(message, dict):
        if _dict_depth(message, max_depth, max_int_digits) > max_depth:
            raise MalformedMessageError(f"the {what} is nested more than {max_depth} levels deep")
        try:
            text = json.dumps(message, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise MalformedMessageError(f"the {what} is not JSON data: {exc}") from exc
        if len(text) > max_bytes:  # ASCII: characters are bytes
            raise MalformedMessageError(f"the {what} takes {len(text)} bytes as JSON; at most {max_bytes} "
                                        "are accepted")
        return text
    if isinstance(message, bytes | bytearray | memoryview):
        raw = bytes(message)
        if len(raw) > max_bytes:
            raise MalformedMessageError(f"the {what} has {len(raw)} bytes; at most {max_bytes} are accepted")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessageError(f"the {what} is not UTF-8 text (byte {exc.start})") from exc
    if isinstance(message, str):
        if len(message) > max_bytes:
            raise MalformedMessageError(f"the {what} has {len(message)} characters; at most {max_bytes} "
                                        "bytes are accepted")
        try:
            size = len(message.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise MalformedMessageError(f"the {what} contains a lone surrogate (character {exc.start}): "
                                        "not UTF-8 text") from exc
        if size > max_bytes:
            raise MalformedMessageError(f"the {what} has {size} bytes; at most {max_bytes} are accepted")
        return message
    raise MalformedMessageError(f"a {what} must be JSON text (str or bytes) or a dict, got "
                                f"{_type_name(message)}")


def load_json(message, *, what: str = "message", max_bytes: int = DEFAULT_MAX_BYTES,
              max_depth: int = DEFAULT_MAX_DEPTH, max_int_digits: int = DEFAULT_MAX_INT_DIGITS):
    """Parse JSON text, bytes or a dict within the limits; returns the plain JSON value.

    Raises
    ------
    MalformedMessageError
        Not UTF-8, too large, too deep, a number literal longer than
        ``max_int_digits``, NaN/Infinity, a duplicate key or not JSON.
    """
    text = _as_text(message, what, max_bytes, max_depth, max_int_digits)
    depth = _nesting_depth(text)
    if depth > max_depth:
        raise MalformedMessageError(f"the {what} is nested {depth} levels deep; at most {max_depth} "
                                    "are accepted")

    def number(kind):
        def convert(literal: str):
            if len(literal) > max_int_digits:
                raise MalformedMessageError(f"the {what} holds a number of {len(literal)} characters"
                                            f"{_field_of_number(text, max_int_digits)}; at most "
                                            f"{max_int_digits} are accepted")
            value = kind(literal)
            if kind is float and not math.isfinite(value):
                raise MalformedMessageError(f"the {what} holds the number {literal[:20]}, which overflows "
                                            "a float: every number must be finite")
            return value
        return convert

    try:
        data = json.loads(text, parse_int=number(int), parse_float=number(float),
                          parse_constant=_refuse_constant, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        raise MalformedMessageError(f"a {what} must be a JSON object; could not parse it: {exc}") from exc
    except RecursionError as exc:  # not expected after the depth check; never let it escape
        raise MalformedMessageError(f"the {what} is nested too deeply") from exc
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedMessageError(f"the {what} contains a string with a lone surrogate escape "
                                        "(\\ud800-\\udfff): not UTF-8 text") from exc
    return data


def parse_message(message, *, kind: str | Sequence[str], max_bytes: int = DEFAULT_MAX_BYTES,
                  max_depth: int = DEFAULT_MAX_DEPTH, max_int_digits: int = DEFAULT_MAX_INT_DIGITS,
                  protocol: str = PROTOCOL, version: int = PROTOCOL_VERSION) -> dict:
    """Parse one protocol message and check its envelope: ``protocol``, ``version`` and ``type``.

    Parameters
    ----------
    message : str, bytes or dict
        JSON text (bytes are UTF-8) or an already-decoded object.
    kind : str or sequence of str
        The accepted value(s) of the ``type`` field; dispatch on the returned
        ``data["type"]``, never on the raw text.
    max_bytes, max_depth, max_int_digits : int
        Limits of :func:`load_json`.

    Returns
    -------
    dict
        The decoded object, whose ``type`` is one of ``kind``.

    Raises
    ------
    MalformedMessageError
        Bad text, a limit exceeded, not an object, another protocol or type.
    ProtocolVersionError
        Another version of the protocol.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    what = " or ".join(kinds)
    data = load_json(message, what=what, max_bytes=max_bytes, max_depth=max_depth,
                     max_int_digits=max_int_digits)
    if not isinstance(data, dict):
        raise MalformedMessageError(f"a {what} must be a JSON object, got {type(data).__name__}")
    if data.get("protocol") != protocol:
        raise MalformedMessageError(f"not an {protocol} message (protocol={describe(data.get('protocol'))})")
    got = data.get("version")
    if isinstance(got, bool) or got != version:
        raise ProtocolVersionError(
            f"this {what} uses protocol version {describe(got)}; this library speaks version "
            f"{version}: upgrade the party that wrote it, or encmed_lib")
    if data.get("type") not in kinds:
        raise MalformedMessageError(f"expected a {what}, got type={describe(data.get('type'))}")
    return data


# ------------------------------------------------------------------ fields
def _fail(kind: str, name: str, expected: str, value) -> MalformedMessageError:
    return MalformedMessageError(f"the {kind}'s {name!r} field must be {expected}, got {describe(value)}")


def field(data: dict, name: str, types, *, kind: str = "message", path: str | None = None,
          min=None, max=None, required: bool = True, default=None):
    """``data[name]``, checked to be of ``types`` (a bool is never an int) and within ``[min, max]``.

    ``path`` names the field in the message (default ``name``, e.g. ``"tree.nodes[3].left"``).
    A missing field raises unless ``required`` is false (then ``default`` is returned).
    """
    path = name if path is None else path
    if not isinstance(data, dict):
        raise MalformedMessageError(f"the {kind}'s {path.rpartition('.')[0] or path!r} must be an object, "
                                    f"got {describe(data)}")
    if name not in data:
        if not required:
            return default
        raise MalformedMessageError(f"the {kind} has no {path!r} field")
    value = data[name]
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    names = " or ".join(_JSON_NAMES.get(t, t.__name__) for t in types)
    if not ok:
        raise _fail(kind, path, names, value)
    if (min is not None and value < min) or (max is not None and value > max):
        bounds = f"in [{'-inf' if min is None else min}, {'inf' if max is None else max}]"
        raise _fail(kind, path, f"{names} {bounds}", value)
    return value


def int_field(data: dict, name: str, *, kind: str = "message", path: str | None = None, min=None, max=None,
              required: bool = True, default=None) -> int:
    """An integer field (JSON number without fraction; booleans refused) in ``[min, max]``."""
    return field(data, name, int, kind=kind, path=path, min=min, max=max, required=required,
                 default=default)


def number_field(data: dict, name: str, *, kind: str = "message", path: str | None = None, min=None,
                 max=None, required: bool = True, default=None) -> float:
    """A finite number (int or float, not bool) in ``[min, max]``, compared before any float conversion."""
    if not required and isinstance(data, dict) and name not in data:
        return default
    value = field(data, name, (int, float), kind=kind, path=path, min=min, max=max)
    try:
        result = float(value)
    except OverflowError:
        result = float("inf")
    if not np.isfinite(result):
        raise _fail(kind, name if path is None else path, "a finite number", value)
    return result


def bool_field(data: dict, name: str, *, kind: str = "message", path: str | None = None,
               required: bool = True, default=None) -> bool:
    """A boolean field (``true``/``false``, not 0/1)."""
    return field(data, name, bool, kind=kind, path=path, required=required, default=default)


def str_field(data: dict, name: str, *, kind: str = "message", path: str | None = None, max_len: int = 256,
              min_len: int = 1, pattern: re.Pattern | None = None, choices: Sequence[str] | None = None,
              required: bool = True, default=None) -> str:
    """A string of ``min_len..max_len`` characters, matching ``pattern`` or one of ``choices``."""
    path = name if path is None else path
    value = field(data, name, str, kind=kind, path=path, required=required, default=default)
    if value is default and name not in data:
        return value
    if choices is not None and value not in choices:
        raise _fail(kind, path, f"one of {list(choices)}", value)
    if not min_len <= len(value) <= max_len:
        raise _fail(kind, path, f"a string of {min_len} to {max_len} characters", value)
    if pattern is not None and not pattern.fullmatch(value):
        raise _fail(kind, path, f"a string matching {pattern.pattern!r}", value)
    return value


def list_field(data: dict, name: str, *, kind: str = "message", path: str | None = None, max_len: int,
               min_len: int = 0, items=None, required: bool = True, default=None) -> list:
    """A list of ``min_len..max_len`` items, each of type ``items`` when given."""
    path = name if path is None else path
    value = field(data, name, list, kind=kind, path=path, required=required, default=default)
    if value is default and name not in data:
        return value
    if not min_len <= len(value) <= max_len:
        raise _fail(kind, path, f"a list of {min_len} to {max_len} items", value)
    if items is not None:
        items = items if isinstance(items, tuple) else (items,)
        for i, item in enumerate(value):
            if not isinstance(item, items) or (isinstance(item, bool) and bool not in items):
                names = " or ".join(_JSON_NAMES.get(t, t.__name__) for t in items)
                raise _fail(kind, f"{path}[{i}]", names, item)
    return value


def b64_int(text, max_bytes: int, *, what: str = "ciphertext") -> int:
    """The big-endian integer in base64 ``text``, refused before decoding if over ``max_bytes``."""
    if not isinstance(text, str):
        raise MalformedMessageError(f"{what} must be a base64 string, got {describe(text)}")
    if len(text) > 4 * ((max_bytes + 2) // 3):
        raise MalformedMessageError(f"{what} has {len(text)} base64 characters; at most "
                                    f"{4 * ((max_bytes + 2) // 3)} ({max_bytes} bytes) fit this key")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise MalformedMessageError(f"{what} is not valid base64: {exc}") from exc
    if len(raw) > max_bytes:
        raise MalformedMessageError(f"{what} has {len(raw)} bytes; at most {max_bytes} fit this key")
    return int.from_bytes(raw, "big")


def decimal_int(text, max_digits: int, *, what: str = "integer") -> int:
    """The non-negative integer written in ``text`` (ASCII digits, no sign, no leading zero).

    The length is checked before :func:`int` runs, so ``int``'s 4,300-digit
    limit (a plain ``ValueError``) is never reached.
    """
    if not isinstance(text, str):
        raise MalformedMessageError(f"{what} must be a decimal string, got {describe(text)}")
    if len(text) > max_digits:
        raise MalformedMessageError(f"{what} has {len(text)} digits; at most {max_digits} are accepted")
    if not _DECIMAL.fullmatch(text):
        raise MalformedMessageError(f"{what} must be a decimal string (ASCII digits 0-9, no sign, no "
                                    f"leading zero), got {describe(text)}")
    return int(text)
