"""Exercises of notebook 03 (Paillier basics): their checkers.

Each ``check_03_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.

* 03.1 :func:`check_03_toy_paillier`: Paillier written from its formulas, with a toy key and a base g;
* 03.2 :func:`check_03_encrypted_difference`: E(a - b) from E(a) and E(b) by an exponentiation
  (with a written derivation);
* 03.3 :func:`check_03_signed_encoding`: negative numbers modulo n, with phe's overflow band.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from .core import (
    Exercise,
    describe,
    ok,
)

__all__ = ["check_03_toy_paillier", "check_03_encrypted_difference", "check_03_signed_encoding"]

_S03 = "03_paillier_basics.ipynb"


def _run(func: Callable, args: tuple, ex: Exercise, expected: str, name: str, hint: str = ""):
    """``func(*args)``; an exception becomes a LabCheckError naming the call (``name``) and ``hint``."""
    try:
        return func(*args)
    except NotImplementedError:
        raise  # the student version's stub: the exercise is not attempted yet
    except Exception as exc:  # noqa: BLE001 -- any error of the student's function becomes a hint
        raise ex.fail(expected, func, f"{name} raised {type(exc).__name__}: {exc}{hint}") from None


def _as_int(value) -> int | None:
    """An integer answer (int or NumPy integer), else None; floats are refused on purpose."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    return None


# ------------------------------------------------------------------ 03.1
def _toy_key(p: int, q: int, g: int) -> tuple[int, int, int, int]:
    n = p * q
    n_sq = n * n
    lam = math.lcm(p - 1, q - 1)
    mu = pow((pow(g, lam, n_sq) - 1) // n, -1, n)
    return n, n_sq, lam, mu


#: (m, r) pairs the checker encrypts with the toy key (each r coprime to n for the course's key).
_TOY_CASES = ((0, 2), (1, 3), (42, 5), (100, 7), (200, 11), (321, 12), (77, 100))


def _check_toy_encrypt(toy_encrypt: Callable, p: int, q: int, g: int, ex: Exercise) -> None:
    n, n_sq, _, _ = _toy_key(p, q, g)
    expected = f"toy_encrypt(m, r) = g^m · r^n mod n² (an integer), with n = {n} and g = {g}"
    if not callable(toy_encrypt):
        raise ex.fail(expected, toy_encrypt, "pass your function itself (toy_encrypt, without parentheses)")
    for m, r in _TOY_CASES:
        if math.gcd(r, n) != 1:
            continue
        got = _run(toy_encrypt, (m, r), ex, expected, f"toy_encrypt({m}, {r})")
        right = pow(g, m, n_sq) * pow(r, n, n_sq) % n_sq
        if _as_int(got) == right:
            continue
        shown = f"toy_encrypt({m}, {r}) = {describe(got)}"
        if isinstance(got, float):
            raise ex.fail(expected, None, "the result is a float: use pow(base, exponent, modulus) and "
                          "integer arithmetic only (** on floats loses digits)", shown=shown)
        wrong = {
            pow(1 + n, m, n_sq) * pow(r, n, n_sq) % n_sq: f"use the base g = {g} of the task, not 1 + n",
            pow(g, m, n) * pow(r, n, n) % n: "a ciphertext lives modulo n², not modulo n",
            pow(g, m, n_sq) * r % n_sq: "the randomiser is r^n (r raised to the power n), not r",
            pow(g, m, n_sq): "you forgot the randomiser r^n: without it encryption is deterministic",
            pow(g, m, n_sq) * pow(r, n, n_sq): "reduce the product modulo n² as well",
        }
        raise ex.fail(expected, None, wrong.get(_as_int(got), "c = g^m · r^n mod n²: "
                      "pow(g, m, n_sq) * pow(r, n, n_sq) % n_sq"), shown=shown)


def _check_toy_decrypt(toy_decrypt: Callable, p: int, q: int, g: int, ex: Exercise) -> None:
    n, n_sq, lam, mu = _toy_key(p, q, g)
    expected = "toy_decrypt(c) = L(c^λ mod n²) · μ mod n, with μ = L(g^λ mod n²)^(-1) mod n"
    if not callable(toy_decrypt):
        raise ex.fail(expected, toy_decrypt, "pass your function itself (toy_decrypt, without parentheses)")
    for m, r in _TOY_CASES:
        if math.gcd(r, n) != 1:
            continue
        c = pow(g, m, n_sq) * pow(r, n, n_sq) % n_sq
        got = _run(toy_decrypt, (c,), ex, expected, f"toy_decrypt({c})")
        if _as_int(got) == m:
            continue
        shown = f"toy_decrypt(E({m}) with r = {r}) = {describe(got)}"
        if isinstance(got, float):
            raise ex.fail(expected, None, "the result is a float: L(u) = (u - 1) // n is an exact integer "
                          "division (//), and everything else is integer arithmetic", shown=shown)
        u = (pow(c, lam, n_sq) - 1) // n
        wrong = {
            u * pow(lam, -1, n) % n: "μ = λ^(-1) mod n holds only for g = 1 + n; for another base, "
                                     "μ = L(g^λ mod n²)^(-1) mod n",
            u % n: "multiply L(c^λ mod n²) by μ (mod n) to remove the factor L(g^λ mod n²)",
            (pow(c, lam, n) - 1) // n * mu % n: "compute c^λ modulo n², then apply L(u) = (u - 1) // n",
        }
        raise ex.fail(expected, None, wrong.get(_as_int(got), "m = L(c^λ mod n²) · μ mod n, with "
                      "λ = lcm(p - 1, q - 1), L(u) = (u - 1) // n and μ = L(g^λ mod n²)^(-1) mod n"),
                      shown=shown)


def check_03_toy_paillier(toy_encrypt: Callable, toy_decrypt: Callable, p: int, q: int, g: int) -> str:
    """Exercise 03.1: Paillier from its formulas with the toy key ``p, q`` and the base ``g``.

    ``toy_encrypt(m, r)`` must return ``g^m r^n mod n²`` and ``toy_decrypt(c)`` must invert it
    for every ``m`` tested; the checker then multiplies two of the student's ciphertexts and
    raises one to a power, and decrypts the results with ``toy_decrypt``.
    """
    ex = Exercise("03.1 (Paillier by hand)", f'{_S03}, section "Decryption, and the assumption it all '
                  'rests on"')
    n, n_sq, lam, mu = _toy_key(p, q, g)
    _check_toy_encrypt(toy_encrypt, p, q, g, ex)
    _check_toy_decrypt(toy_decrypt, p, q, g, ex)
    a, b, k = 150, 250, 3
    total = toy_decrypt(toy_encrypt(a, 2) * toy_encrypt(b, 3) % n_sq)
    tripled = toy_decrypt(pow(toy_encrypt(a, 5), k, n_sq))
    if total != (a + b) % n or tripled != k * a % n:  # cannot happen once both functions are right
        raise ex.fail("homomorphic functions", None, "encrypt and decrypt must be the formulas of the "
                      "section", shown=f"E({a})·E({b}) -> {total}, E({a})^{k} -> {tripled}")
    return ok(f"with n = {n}, λ = {lam} and g = {g}, μ = {mu}: your functions decrypt every test, "
              f"E({a})·E({b}) decrypts to {total} = {a + b} mod {n} and E({a})^{k} to {tripled} = "
              f"{k * a} mod {n}")


# ------------------------------------------------------------------ 03.2
def _signed(m: int, n: int) -> int:
    return m - n if m > n // 2 else m


def check_03_encrypted_difference(public_key, private_key, raw_difference, a: int, b: int) -> str:
    """Exercise 03.2: a raw ciphertext of ``a - b`` computed from raw E(a), E(b) without phe's ``-``.

    ``raw_difference`` is an integer modulo n² (``public_key.nsquare``); the checker decrypts it
    with ``private_key.raw_decrypt`` and reads the top half of [0, n) as negative.
    """
    from phe import EncryptedNumber

    ex = Exercise("03.2 (subtracting ciphertexts)",
                  f'{_S03}, sections "4 · Adding two ciphertexts" and "5 · Adding and multiplying by plain '
                  'numbers"')
    n, n_sq = int(public_key.n), int(public_key.nsquare)
    expected = f"a raw ciphertext (an integer in [0, n²)) that decrypts to {a} - {b}"
    if isinstance(raw_difference, EncryptedNumber):
        raise ex.fail(expected, raw_difference, "that is a phe EncryptedNumber: work on the raw integers "
                      "(E.ciphertext(be_secure=False)) with pow(..., n - 1, n²) and *, not with phe's -")
    c = _as_int(raw_difference)
    if c is None:
        raise ex.fail(expected, raw_difference, "give the raw ciphertext, a Python int (pow and % on ints "
                      "stay exact)")
    if c in (a - b, (a - b) % n):
        raise ex.fail(expected, raw_difference, "that is the difference in clear: compute it on the "
                      "ciphertexts, which the server cannot read")
    if not 0 <= c < n_sq:
        raise ex.fail(expected, raw_difference, "reduce the result modulo n² (public_key.nsquare)",
                      shown=f"an integer of {c.bit_length()} bits")
    if c < n:
        raise ex.fail(expected, raw_difference, "a ciphertext lives modulo n²: did you reduce modulo n?",
                      shown=f"an integer of {c.bit_length()} bits (< n)")
    value = _signed(int(private_key.raw_decrypt(c)), n)
    if value == a - b:
        return ok(f"the integer decrypts to {a} - {b} = {a - b}: E(b)^(n-1) = E(-b), so the server "
                  "subtracts without the private key")
    shown = f"a ciphertext that decrypts to {value}"
    hints = {b - a: "the sign is reversed: E(a) · E(b)^(n-1) is E(a - b); you computed E(b - a)",
             a + b: "multiplying the two ciphertexts as they are adds them: raise E(b) to the power n - 1 "
                    "first",
             -b: "E(b)^(n-1) alone is E(-b): multiply it by E(a), modulo n²",
             -a: "E(a)^(n-1) alone is E(-a): you need E(a) · E(b)^(n-1)"}
    raise ex.fail(expected, None, hints.get(value, "E(b)^(n-1) mod n² encrypts b(n - 1) ≡ -b (mod n): "
                                            "multiply it by E(a) modulo n²"), shown=shown)


# ------------------------------------------------------------------ 03.3
def _overflows(func: Callable, value: int) -> str | None:
    """``None`` if ``func(value)`` raises OverflowError; else what happened instead."""
    try:
        result = func(value)
    except OverflowError:
        return None
    except Exception as exc:  # noqa: BLE001 -- reported as a hint
        return f"raised {type(exc).__name__}"
    return f"returned {describe(result, 60)}"


def _check_encode(encode_signed: Callable, n: int, ex: Exercise) -> None:
    max_int = n // 3 - 1
    expected = "encode_signed(v): v itself for v >= 0, n + v for v < 0, OverflowError if |v| > n // 3 - 1"
    for v in (0, 1, 42, -1, -3, -40, max_int, -max_int):
        name = {max_int: "max_int", -max_int: "-max_int"}.get(v, str(v))
        edge = ("; max_int = n // 3 - 1 itself is allowed: refuse only |v| > max_int" if abs(v) == max_int
                else "")
        got = _run(encode_signed, (v,), ex, expected, f"encode_signed({name})", edge)
        if _as_int(got) == v % n:
            continue
        shown = f"encode_signed({name}) = {describe(got, 60)}"
        hints = {v: "a plaintext must lie in [0, n): a negative v is stored as n + v (v % n in Python)",
                 abs(v): "you lost the sign: -3 and 3 must encode differently (-3 becomes n - 3)",
                 n - v: "for a negative v that is n + |v|, outside [0, n): store n - |v| = n + v"}
        raise ex.fail(expected, None, hints.get(_as_int(got), "encode v as v % n (v for v >= 0, n + v "
                      "for v < 0)"), shown=shown)
    for v in (max_int + 1, -max_int - 1):
        what = _overflows(encode_signed, v)
        if what is not None:
            hint = ("raise OverflowError (phe's choice), not another exception" if what.startswith("raised")
                    else "refuse |v| > max_int = n // 3 - 1 with OverflowError, as phe does")
            raise ex.fail(expected, None, hint, shown=f"encode_signed({'-' if v < 0 else ''}(max_int + 1)) "
                          f"{what}")


def _check_decode(decode_signed: Callable, n: int, ex: Exercise) -> None:
    max_int = n // 3 - 1
    expected = ("decode_signed(m): m for m <= max_int, m - n for m >= n - max_int, OverflowError in "
                "between (max_int = n // 3 - 1)")
    cases = ((0, 0, "0"), (42, 42, "42"), (max_int, max_int, "max_int"), (n - 1, -1, "n - 1"),
             (n - 3, -3, "n - 3"), (n - max_int, -max_int, "n - max_int"))
    for m, right, name in cases:
        edge = "; max_int and n - max_int are valid encodings (bounds included)" if "max" in name else ""
        got = _run(decode_signed, (m,), ex, expected, f"decode_signed({name})", edge)
        if _as_int(got) == right:
            continue
        hints = {m: "the top third of [0, n) holds the negative numbers: return m - n there",
                 m - n: "only the top third is negative: m <= max_int is a positive number"}
        raise ex.fail(expected, None, hints.get(_as_int(got), "positive up to max_int, m - n from "
                      "n - max_int on"), shown=f"decode_signed({name}) = {describe(got, 60)}")
    for m, name in ((max_int + 1, "max_int + 1"), (n // 2, "n // 2"), (n - max_int - 1, "n - max_int - 1")):
        what = _overflows(decode_signed, m)
        if what is not None:
            hint = ("raise OverflowError (phe's choice), not another exception" if what.startswith("raised")
                    else "the middle third is the overflow band: a result that left [-max_int, max_int] "
                    "lands there, so raise OverflowError instead of returning a wrong number")
            raise ex.fail(expected, None, hint, shown=f"decode_signed({name}) {what}")


def check_03_signed_encoding(encode_signed: Callable, decode_signed: Callable, public_key,
                             private_key) -> str:
    """Exercise 03.3: phe's signed integers modulo n, with its overflow band, for ``public_key``.

    ``encode_signed(v)`` and ``decode_signed(m)`` use ``n = public_key.n`` and ``max_int = n // 3 - 1``
    (phe's ``public_key.max_int``); the checker also sums encrypted encodings of negative and
    positive numbers and decodes the total.
    """
    ex = Exercise("03.3 (negative numbers modulo n)",
                  f'{_S03}, section "6 · Negative numbers and floats: phe\'s encoding"')
    for name, func in (("encode_signed", encode_signed), ("decode_signed", decode_signed)):
        if not callable(func):
            raise ex.fail(f"a function {name}", func, f"pass your function itself ({name}, without "
                          "parentheses)")
    n, n_sq = int(public_key.n), int(public_key.nsquare)
    _check_encode(encode_signed, n, ex)
    _check_decode(decode_signed, n, ex)
    values = (-40, 25, -3, 7)
    c = 1
    for v in values:
        c = c * public_key.raw_encrypt(encode_signed(v)) % n_sq
    total = decode_signed(private_key.raw_decrypt(c))
    if total != sum(values):  # cannot happen once both functions are right
        raise ex.fail(f"the encrypted sum decodes to {sum(values)}", total, "encode and decode must be "
                      "inverse of each other modulo n")
    return ok(f"encrypting the encodings of {', '.join(map(str, values))} and multiplying the ciphertexts "
              f"decodes to {total}: the wrap-around modulo n makes negative numbers add correctly")
