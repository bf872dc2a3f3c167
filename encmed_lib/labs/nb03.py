"""Exercises of notebook 03 (Paillier basics): their checkers.

Each ``check_03_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import (
    Exercise,
    choice_answer,
    ok,
)

_S03 = "03_paillier_basics.ipynb"


def _decrypt(public_key, private_key, ciphertext, ex: Exercise, expected: str):
    """Decrypt a phe ``EncryptedNumber`` or a raw ciphertext integer; refuse plain numbers."""
    from phe import EncodedNumber, EncryptedNumber, PaillierPrivateKey

    n = int(public_key.n)
    owner = getattr(private_key, "public_key", None)
    if owner is None or int(owner.n) != n:
        raise ex.fail("the private key of public_key", private_key,
                      "pass the private key made together with public_key")
    if isinstance(ciphertext, EncryptedNumber):
        if int(ciphertext.public_key.n) != n:
            raise ex.fail(expected, ciphertext, "this ciphertext was made under another public key: "
                          "encrypt with the notebook's public_key")
        if isinstance(private_key, PaillierPrivateKey):
            return private_key.decrypt(ciphertext)
        raw = ciphertext.ciphertext(be_secure=False)
        m = int(private_key.raw_decrypt(raw))
        m = m - n if m > n // 2 else m
        return EncodedNumber(ciphertext.public_key, m % n, ciphertext.exponent).decode()
    if isinstance(ciphertext, EncodedNumber):
        raise ex.fail(expected, ciphertext, "an EncodedNumber is only encoded, not encrypted: use "
                      "public_key.encrypt(...)")
    if isinstance(ciphertext, (bool, np.bool_)) or not isinstance(ciphertext, numbers.Real):
        raise ex.fail(expected, ciphertext, "expected an EncryptedNumber (what public_key.encrypt returns "
                      "and what + and * on it give back)")
    if not isinstance(ciphertext, numbers.Integral) or not n <= int(ciphertext) < n * n:
        raise ex.fail(expected, ciphertext, "this is a plain number, not a ciphertext: you computed in "
                      "clear (or decrypted). Encrypt with public_key.encrypt and compute on the "
                      "EncryptedNumber")
    m = int(private_key.raw_decrypt(int(ciphertext)))
    return m - n if m > n // 2 else m


def check_03_encrypted_sum(public_key, private_key, ciphertext, a, b) -> str:
    """Exercise 03.1: ``ciphertext`` must decrypt to ``a + b`` (checked with the private key).

    Accepts a phe ``EncryptedNumber`` or a raw ciphertext integer (the course's
    raw layer), under ``public_key``.
    """
    ex = Exercise("03.1 (encrypted sum)", f'{_S03}, section "4 · Adding two ciphertexts"')
    expected = f"an EncryptedNumber under public_key that decrypts to {a} + {b}"
    value = _decrypt(public_key, private_key, ciphertext, ex, expected)
    if value == a + b:
        return ok(f"the ciphertext decrypts to {a} + {b} = {a + b}, and nobody without the private key "
                  "could read it")
    shown = f"a ciphertext that decrypts to {value!r}"
    if value in (a, b):
        raise ex.fail(expected, None, "that is one of the two values alone: encrypt both and add the two "
                      "EncryptedNumbers with +", shown=shown)
    if value == a * b:
        raise ex.fail(expected, None, "that is the product: the sum of E(a) and E(b) is E(a) + E(b)",
                      shown=shown)
    if value in (a - b, b - a):
        raise ex.fail(expected, None, "that is a difference: add the two ciphertexts with +", shown=shown)
    raise ex.fail(expected, None, "encrypt a and b separately with public_key.encrypt, then add the two "
                  "EncryptedNumbers with +", shown=shown)


def check_03_scalar_multiply(public_key, private_key, ciphertext, value, factor) -> str:
    """Exercise 03.2: ``ciphertext`` must decrypt to ``value * factor`` (a plaintext factor)."""
    ex = Exercise("03.2 (multiply by a plain number)",
                  f'{_S03}, section "5 · Adding and multiplying by plain numbers"')
    expected = f"an EncryptedNumber under public_key that decrypts to {value} × {factor}"
    got = _decrypt(public_key, private_key, ciphertext, ex, expected)
    right = value * factor
    if got == right:
        return ok(f"the ciphertext decrypts to {value} × {factor} = {right}: a multiplication by a number "
                  "known in clear, computed without the private key")
    shown = f"a ciphertext that decrypts to {got!r}"
    if got == value + factor:
        raise ex.fail(expected, None, "you added the factor; multiply the EncryptedNumber by it with *",
                      shown=shown)
    if got == value:
        raise ex.fail(expected, None, "that is the value itself: multiply the EncryptedNumber by the "
                      "factor", shown=shown)
    if got == factor:
        raise ex.fail(expected, None, "that is the factor alone: multiply the encrypted value by it",
                      shown=shown)
    raise ex.fail(expected, None, "E(x) * k is E(k·x) for a number k known in clear: compute "
                  "encrypted_value * factor", shown=shown)


_PRODUCT_CHOICES = {
    "a": "it is not a missing feature of phe but a limit of the scheme itself: no operation on the "
         "two ciphertexts gives E(ab), whatever the library. Reread the mathematics of section 7.",
    "b": None,
    "c": "the product of two ciphertexts modulo n² is a perfectly good number: multiplying them is "
         "exactly how E(a) + E(b) is computed. Size is not the obstacle.",
    "d": "no multiplication reveals p and q; the obstacle is that b would have to be an exponent "
         "while it is hidden inside E(b).",
}


def check_03_ciphertext_product(choice) -> str:
    """Exercise 03.3: why ``E(a) * E(b)`` is refused (multiple choice: "a", "b", "c" or "d")."""
    ex = Exercise("03.3 (product of two ciphertexts)",
                  f'{_S03}, section "7 · Two ciphertexts cannot be multiplied"')
    return choice_answer(ex, choice, _PRODUCT_CHOICES,
                         "Paillier is additively homomorphic only: multiplying ciphertexts adds the "
                         "plaintexts, and E(ab) would need a power b that is itself hidden inside E(b)")
