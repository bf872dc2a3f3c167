"""Tests of encmed_lib.crypto.keycert: structural checks of a Paillier modulus and its GRSB proof.

Honest keys are 1024 bits.  Malformed moduli are built here from random primes.
"""

from __future__ import annotations

import math
import secrets

import gmpy2
import pytest

from encmed_lib.crypto import keycert
from encmed_lib.crypto.keycert import (
    CertifiedKeys,
    check_modulus,
    proof_rounds,
    prove_paillier_key,
    verify_paillier_key,
)
from encmed_lib.crypto.paillier import Keypair, PrivateKey, PublicKey, generate_keypair
from encmed_lib.errors import DomainError, InvalidKeyError, KeyTooSmallError


def prime(bits: int) -> gmpy2.mpz:
    """A random prime of exactly ``bits`` bits, at least 1.5 * 2^(bits-1)."""
    while True:
        x = gmpy2.next_prime(secrets.randbits(bits) | (3 << (bits - 2)))
        if x.bit_length() == bits:
            return x


@pytest.fixture(scope="module", params=[True, False], ids=["djn", "classic"])
def keypair(request) -> Keypair:
    return generate_keypair(1024, djn=request.param)


@pytest.fixture(scope="module")
def malformed() -> dict:
    """Moduli that the structural checks must refuse, with the error and message expected."""
    q = prime(1023)
    n = generate_keypair(1024).public_key.n
    return {
        "even": (n + 1, InvalidKeyError, "odd"),
        "prime": (prime(1024), InvalidKeyError, "prime"),
        "p^2": (prime(512) ** 2, InvalidKeyError, "perfect power"),
        "p^3": (prime(342) ** 3, InvalidKeyError, "perfect power"),
        "3q": (3 * q, InvalidKeyError, "prime factor below 65536"),
        "65521q": (65521 * prime(1010), InvalidKeyError, "prime factor below 65536"),
        "5000 bits": (gmpy2.mpz(secrets.randbits(4999)) | 1 | (1 << 4999), InvalidKeyError, "5000 bits"),
        "1000 bits": (prime(500) * prime(500), KeyTooSmallError, "at least 1024"),
        "negative": (-n, InvalidKeyError, "positive"),
        "str": (str(n), InvalidKeyError, "integer"),
        "float": (float(2**1023 + 1), InvalidKeyError, "integer"),
    }


@pytest.fixture
def powmods(monkeypatch) -> list:
    """Counts calls to gmpy2.powmod (the proof's exponentiations)."""
    calls = []
    real = gmpy2.powmod

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(gmpy2, "powmod", counting)
    return calls


# ------------------------------------------------------------------ honest keys
def test_honest_keys_pass(keypair):
    n = keypair.public_key.n
    check_modulus(n)
    proof = prove_paillier_key(keypair.private_key)
    assert len(proof) == proof_rounds() == math.ceil(128 / 16)
    assert all(0 < z < n for z in proof)
    verify_paillier_key(n, proof)
    verify_paillier_key(int(n), [str(z) for z in proof])  # wire form: decimal strings
    assert prove_paillier_key(keypair.private_key) == proof  # the n-th root is unique


def test_rounds_follow_the_soundness_bound(keypair):
    assert proof_rounds(2**8) == 16 and proof_rounds(2**32) == 4 and proof_rounds(1000) == 13
    proof = prove_paillier_key(keypair.private_key, small_prime_bound=2**8)
    assert len(proof) == 16
    verify_paillier_key(keypair.public_key.n, proof, small_prime_bound=2**8)
    with pytest.raises(InvalidKeyError, match="list of 8"):
        verify_paillier_key(keypair.public_key.n, proof)
    with pytest.raises(DomainError):
        proof_rounds(2)


# -------------------------------------------------------------- malformed moduli
def test_malformed_moduli_are_refused_with_the_right_error(malformed, powmods):
    for name, (n, error, message) in malformed.items():
        with pytest.raises(error, match=message):
            check_modulus(n)
        with pytest.raises(error, match=message):
            verify_paillier_key(n, [1] * proof_rounds())
        assert powmods == [], f"{name}: refused only after a modular exponentiation"


def test_wrong_proofs_are_refused(keypair):
    n = keypair.public_key.n
    proof = prove_paillier_key(keypair.private_key)
    wrong = list(proof)
    wrong[3] = wrong[3] * 2 % n
    with pytest.raises(InvalidKeyError, match="does not verify \\(element 3\\)"):
        verify_paillier_key(n, wrong)
    other = [z % n for z in prove_paillier_key(generate_keypair(1024).private_key)]  # another key's
    with pytest.raises(InvalidKeyError, match="does not verify"):
        verify_paillier_key(n, other)
    for bad in (proof[:-1], proof + [proof[0]], [], None, "proof", {"z": proof}):
        with pytest.raises(InvalidKeyError, match="list of 8"):
            verify_paillier_key(n, bad)
    for z in (0, n, n + proof[0], -proof[0], True, 1.5, "x1", "9" * 5000, keypair.private_key.p):
        with pytest.raises(InvalidKeyError, match="element 0"):
            verify_paillier_key(n, [z] + proof[1:])


def test_refusals_of_a_good_modulus_with_a_bad_proof_need_no_exponentiation(keypair, powmods):
    n = keypair.public_key.n
    proof = prove_paillier_key(keypair.private_key)
    powmods.clear()
    for bad in (proof[:-1], proof + [1], [0] + proof[1:], proof[:-1] + [n], [str(n)] * len(proof)):
        with pytest.raises(InvalidKeyError):
            verify_paillier_key(n, bad)
    assert powmods == []
    verify_paillier_key(n, proof)
    assert len(powmods) == proof_rounds()  # the counter does see the proof's exponentiations


def test_non_square_free_modulus_passes_the_structure_but_not_the_proof():
    p, q = prime(342), prime(342)
    n = p * p * q  # gcd(n, phi(n)) = p
    check_modulus(n)  # no small factor, not prime, not a perfect power
    assert gmpy2.gcd(n, (p - 1) * p * (q - 1)) == p
    # the best a prover can do without an n-th root: invert n modulo (p-1)(q-1)
    d = gmpy2.invert(n, (p - 1) * (q - 1))
    forged = [int(gmpy2.powmod(keycert._challenge(n, i), d, n)) for i in range(proof_rounds())]
    with pytest.raises(InvalidKeyError, match="does not verify"):
        verify_paillier_key(n, forged)
    with pytest.raises(InvalidKeyError):  # the honest prover algorithm on a fake two-factor key
        verify_paillier_key(n, prove_paillier_key(PrivateKey(PublicKey(n), p * p, q)))


def test_product_of_30_bit_primes():
    factors = set()
    while len(factors) < 36:
        factors.add(int(prime(30)))
    n = math.prod(factors)
    assert 1024 <= n.bit_length() <= 4096
    check_modulus(n)  # structurally fine: no factor below 2^16, not prime, not a power
    p1 = min(factors)
    with pytest.raises(InvalidKeyError):  # the honest prover, given "p, q" = p1, n / p1
        verify_paillier_key(n, prove_paillier_key(PrivateKey(PublicKey(n), p1, n // p1)))
    # Documented limit (module docstring): whoever knows every factor can compute phi(n) and
    # certify gcd(n, phi(n)) = 1; the server's re-randomisation stays perfect for such n.
    phi = math.prod(f - 1 for f in factors)
    assert math.gcd(n, phi) == 1
    d = gmpy2.invert(n, phi)
    roots = [int(gmpy2.powmod(keycert._challenge(n, i), d, n)) for i in range(proof_rounds())]
    verify_paillier_key(n, roots)


# ------------------------------------------------------------------------ cache
def test_certified_keys_cache(keypair, powmods):
    cache = CertifiedKeys(max_size=2)
    keys = [keypair, generate_keypair(1024), generate_keypair(1024)]
    proofs = [prove_paillier_key(k.private_key) for k in keys]
    ns = [k.public_key.n for k in keys]
    powmods.clear()
    cache.verify(ns[0], proofs[0])
    assert ns[0] in cache and len(cache) == 1 and len(powmods) == proof_rounds()
    cache.verify(ns[0], None)  # remembered: no proof needed, no exponentiation
    assert len(powmods) == proof_rounds()
    with pytest.raises(InvalidKeyError):
        cache.verify(ns[1], None)
    assert ns[1] not in cache
    cache.verify(ns[1], proofs[1])
    cache.verify(ns[0], proofs[0])  # ns[0] is now the most recently used
    cache.verify(ns[2], proofs[2])  # evicts ns[1]
    assert ns[0] in cache and ns[2] in cache and ns[1] not in cache and len(cache) == 2
    with pytest.raises(KeyTooSmallError):
        CertifiedKeys(min_bits=2048).verify(ns[0], proofs[0])
    with pytest.raises(DomainError):
        CertifiedKeys(max_size=0)


def test_cost_table_names_every_operation():
    from encmed_lib.crypto.certcosts import time_certified_operations

    costs = time_certified_operations(1024, repeats=1)
    assert {"DGK keygen", "DGK is_zero (client)", "DGK bit verify (server)", "Paillier key proof (client)",
            "Paillier key verify (server)", "phe encrypt (scale)"} <= set(costs)
    assert all(isinstance(ms, float) and 0 < ms < 60_000 for ms in costs.values())
