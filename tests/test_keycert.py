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
    KAPPA,
    CertifiedKeys,
    check_modulus,
    proof_length,
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
    m = proof_rounds()
    assert m == math.ceil(128 / 16) and len(proof) == proof_length() == m + 1 + KAPPA + 1
    assert all(0 < z < n for z in proof[:-1]) and 0 <= proof[-1] < 2**KAPPA
    verify_paillier_key(n, proof)
    verify_paillier_key(int(n), [str(z) for z in proof])  # wire form: decimal strings
    again = prove_paillier_key(keypair.private_key)
    assert again[:m] == proof[:m]  # the n-th root is unique
    assert again[m] != proof[m]  # a fresh pseudo-square y each time
    y = gmpy2.mpz(proof[m])
    p, q = keypair.private_key.p, keypair.private_key.q
    assert gmpy2.legendre(y, p) == gmpy2.legendre(y, q) == -1  # y is a pseudo-square
    short = prove_paillier_key(keypair.private_key, two_primes=False)
    assert short == proof[:m]
    verify_paillier_key(n, short, two_primes=False)
    with pytest.raises(InvalidKeyError, match=f"list of {proof_length()}"):
        verify_paillier_key(n, short)


def test_rounds_follow_the_soundness_bound(keypair):
    assert proof_rounds(2**8) == 16 and proof_rounds(2**32) == 4 and proof_rounds(1000) == 13
    proof = prove_paillier_key(keypair.private_key, small_prime_bound=2**8)
    assert len(proof) == 16 + KAPPA + 2 == proof_length(2**8)
    verify_paillier_key(keypair.public_key.n, proof, small_prime_bound=2**8)
    with pytest.raises(InvalidKeyError, match=f"list of {proof_length()}"):
        verify_paillier_key(keypair.public_key.n, proof)
    with pytest.raises(DomainError):
        proof_rounds(2)


def test_square_roots_modulo_every_kind_of_prime():
    # p = 3 mod 4 (s = 1), then Tonelli-Shanks with s = 2, 3, 4 and s >= 6
    for modulus, residue in ((4, 3), (8, 5), (16, 9), (32, 17), (64, 1)):
        while True:
            p = gmpy2.next_prime(secrets.randbits(256))
            if p % modulus == residue:
                break
        sqrt = keycert._SquareRoots(p)
        for _ in range(40):
            x = secrets.randbelow(int(p))
            assert sqrt(x * x % p) ** 2 % p == x * x % p
        assert sqrt(0) == 0
        z = next(z for z in range(2, 1000) if gmpy2.legendre(z, p) == -1)
        with pytest.raises(InvalidKeyError, match="no square root"):
            sqrt(z)


# -------------------------------------------------------------- malformed moduli
def test_malformed_moduli_are_refused_with_the_right_error(malformed, powmods):
    for name, (n, error, message) in malformed.items():
        with pytest.raises(error, match=message):
            check_modulus(n)
        with pytest.raises(error, match=message):
            verify_paillier_key(n, [1] * proof_length())
        assert powmods == [], f"{name}: refused only after a modular exponentiation"


def test_wrong_proofs_are_refused(keypair):
    n = keypair.public_key.n
    proof = prove_paillier_key(keypair.private_key)
    m = proof_rounds()
    wrong = list(proof)
    wrong[3] = wrong[3] * 2 % n
    with pytest.raises(InvalidKeyError, match="does not verify \\(element 3\\)"):
        verify_paillier_key(n, wrong)
    other = [z % n for z in prove_paillier_key(generate_keypair(1024).private_key)[:m]]  # another key's
    with pytest.raises(InvalidKeyError, match="does not verify \\(element 0\\)"):
        verify_paillier_key(n, other + proof[m:])
    for bad in (proof[:-1], proof + [proof[0]], [], None, "proof", {"z": proof}):
        with pytest.raises(InvalidKeyError, match=f"list of {proof_length()}"):
            verify_paillier_key(n, bad)
    for z in (0, n, n + proof[0], -proof[0], True, 1.5, "x1", "9" * 5000, keypair.private_key.p):
        with pytest.raises(InvalidKeyError, match="element 0 (must|has)"):
            verify_paillier_key(n, [z] + proof[1:])
        with pytest.raises(InvalidKeyError, match=f"element {m} (must|has)"):  # y
            verify_paillier_key(n, proof[:m] + [z] + proof[m + 1:])


def test_wrong_two_prime_parts_are_refused(keypair):
    n = keypair.public_key.n
    proof = prove_paillier_key(keypair.private_key)
    m = proof_rounds()
    root = m + 1 + 5  # the square root of round 5
    verify_paillier_key(n, proof[:root] + [n - proof[root]] + proof[root + 1:])  # -x is a root too
    for bad_root in (proof[root] * 2 % n, proof[root] + 1):
        with pytest.raises(InvalidKeyError, match="square root 5"):
            verify_paillier_key(n, proof[:root] + [bad_root] + proof[root + 1:])
    flipped = proof[:-1] + [proof[-1] ^ (1 << 7)]
    with pytest.raises(InvalidKeyError, match="square root 7"):
        verify_paillier_key(n, flipped)
    # another pseudo-square changes every challenge
    y2 = prove_paillier_key(keypair.private_key)[m]
    with pytest.raises(InvalidKeyError, match="square root 0"):
        verify_paillier_key(n, proof[:m] + [y2] + proof[m + 1:])
    for selector in (-1, 2**KAPPA, "x", 1.0, None, "1" * 50):
        with pytest.raises(InvalidKeyError, match="selector"):
            verify_paillier_key(n, proof[:-1] + [selector])
    verify_paillier_key(n, proof[:-1] + [str(proof[-1])])  # the selector as a decimal string


def test_refusals_of_a_good_modulus_with_a_bad_proof_need_no_exponentiation(keypair, powmods):
    n = keypair.public_key.n
    proof = prove_paillier_key(keypair.private_key)
    powmods.clear()
    m = proof_rounds()
    wrong_root = proof[:m + 1] + [proof[m + 1] * 2 % n] + proof[m + 2:]
    for bad in (proof[:-1], proof + [1], [0] + proof[1:], proof[:-2] + [n, proof[-1]],
                [str(n)] * len(proof), proof[:-1] + [-1], wrong_root):
        with pytest.raises(InvalidKeyError):
            verify_paillier_key(n, bad)
    assert powmods == []  # even a wrong square root is caught before the exponentiations
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
    with pytest.raises(InvalidKeyError, match="does not verify \\(element"):
        verify_paillier_key(n, forged, two_primes=False)
    with pytest.raises(InvalidKeyError, match="cannot be certified"):  # p^2 is not prime
        prove_paillier_key(PrivateKey(PublicKey(n), p * p, q))


def test_product_of_30_bit_primes(powmods):
    factors = set()
    while len(factors) < 36:
        factors.add(int(prime(30)))
    n = math.prod(factors)
    assert 1024 <= n.bit_length() <= 4096
    check_modulus(n)  # structurally fine: no factor below 2^16, not prime, not a power
    p1 = min(factors)
    with pytest.raises(InvalidKeyError, match="cannot be certified"):  # n / p1 is not prime
        prove_paillier_key(PrivateKey(PublicKey(n), p1, n // p1))
    # Whoever knows every factor can certify gcd(n, phi(n)) = 1 (step 2 alone accepts) ...
    phi = math.prod(f - 1 for f in factors)
    assert math.gcd(n, phi) == 1
    d = gmpy2.invert(n, phi)
    grsb = [int(gmpy2.powmod(keycert._challenge(n, i), d, n)) for i in range(proof_rounds())]
    verify_paillier_key(n, grsb, two_primes=False)
    # ... but not answer the two-prime challenges: for any y, rho_i or rho_i * y is a square
    # modulo all 36 primes for about 2 in 2^35 of them.
    while True:
        y = gmpy2.mpz(secrets.randbelow(n - 2) + 2)
        if gmpy2.jacobi(y, n) == 1 and gmpy2.gcd(y, n) == 1:
            break
    answerable = 0
    for i in range(KAPPA):
        rho = keycert._two_prime_challenge(n, y, i)
        answerable += any(all(gmpy2.legendre(t, f) == 1 for f in factors) for t in (rho, rho * y % n))
    assert answerable < KAPPA
    powmods.clear()
    with pytest.raises(InvalidKeyError, match="exactly two prime factors"):
        verify_paillier_key(n, grsb + [int(y)] + [1] * KAPPA + [0])
    assert powmods == []  # refused before the GRSB exponentiations


# ------------------------------------------------------------------------ cache
def test_certified_keys_cache(keypair, powmods):
    cache = CertifiedKeys(max_size=2, two_primes=False)  # the GRSB part alone, to keep this test fast
    keys = [keypair, generate_keypair(1024), generate_keypair(1024)]
    proofs = [prove_paillier_key(k.private_key, two_primes=False) for k in keys]
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
    with pytest.raises(InvalidKeyError, match=f"list of {proof_length()}"):
        CertifiedKeys().verify(ns[0], proofs[0])  # by default the two-prime part is required
    with pytest.raises(DomainError):
        CertifiedKeys(max_size=0)


def test_cost_table_names_every_operation():
    from encmed_lib.crypto.certcosts import time_certified_operations

    costs = time_certified_operations(1024, repeats=1)
    assert {"DGK keygen", "DGK is_zero (client)", "DGK bit verify (server)", "Paillier key proof (client)",
            "Paillier key verify (server)", "phe encrypt (scale)"} <= set(costs)
    assert all(isinstance(ms, float) and 0 < ms < 60_000 for ms in costs.values())
