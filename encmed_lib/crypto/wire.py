"""Bounded parsing of the big integers that keys, ciphertexts and proofs carry on the wire.

A decimal string of :math:`d` digits costs :math:`O(d^2)` to convert with
``int()`` (and Python refuses strings over 4,300 digits anyway), so a party
that receives numbers from a stranger checks the *length* of the string first:
an integer below :math:`2^b` has at most :math:`\\lceil b \\log_{10} 2 \\rceil`
digits.  Only ASCII digits are accepted (``str.isdigit`` alone would let
``"²"`` or Arabic-Indic digits through), with no sign, space or leading zero.
"""

from __future__ import annotations

import math

import gmpy2

from ..errors import ProtocolError

_MPZ = type(gmpy2.mpz(0))


def is_integer(x: object) -> bool:
    """True for ``int`` and ``gmpy2.mpz`` (``bool`` is refused)."""
    return (isinstance(x, int) and not isinstance(x, bool)) or isinstance(x, _MPZ)


def int_bytes(x: int) -> bytes:
    """Big-endian bytes of a non-negative integer (at least one byte), for hashing."""
    x = int(x)
    return x.to_bytes(max(1, (x.bit_length() + 7) // 8), "big")


def max_decimal_digits(bits: int) -> int:
    """Number of decimal digits of the largest integer below :math:`2^{bits}`."""
    return max(1, math.ceil(bits * math.log10(2)))


def parse_decimal(value: object, field: str, max_bits: int, error: type[ProtocolError]) -> int:
    """Parse a non-negative integer sent as a decimal string, refusing long strings before ``int()``.

    Parameters
    ----------
    value : object
        What the message holds (must be a ``str``).
    field : str
        Name of the field, for the error message.
    max_bits : int
        The integer must be below :math:`2^{max\\_bits}`; the string may have at
        most :func:`max_decimal_digits` ``(max_bits)`` characters.
    error : type
        The :class:`~encmed_lib.errors.ProtocolError` subclass to raise.

    Returns
    -------
    int
        The parsed value, in :math:`[0, 2^{max\\_bits})`.
    """
    if not isinstance(value, str):
        raise error(f"{field} must be a decimal string, got {type(value).__name__}")
    limit = max_decimal_digits(max_bits)
    if len(value) > limit:
        raise error(f"{field} has {len(value)} characters: at most {limit} decimal digits "
                    f"(a number below 2^{max_bits}) are accepted")
    if not value or not (value.isascii() and value.isdigit()):
        raise error(f"{field} must be a non-empty string of ASCII digits 0-9 (no sign or space)")
    if len(value) > 1 and value[0] == "0":
        raise error(f"{field} must not have leading zeros")
    number = _decimal_to_int(value)
    if number.bit_length() > max_bits:
        raise error(f"{field} has {number.bit_length()} bits: at most {max_bits} are accepted")
    return number


def _decimal_to_int(digits: str) -> int:
    """The one place where a received decimal string becomes an ``int`` (after the checks)."""
    return int(digits)
