"""Tests of encmed_lib.crypto.dgk: keys, homomorphic operations, zero test, blinding, bit proofs.

Keys are 1024 bits.  Besides the honest key, a *dishonest* one (``u`` divides
both ``p - 1`` and ``q - 1``: class group :math:`\\mathbb{Z}_u^2`) checks that
the public checks accept it and that bit proofs stay sound under it.
"""

from __future__ import annotations

import secrets

import gmpy2
import pytest

from encmed_lib.crypto import dgk, dgk_keys, wire
from encmed_lib.crypto.dgk import (
    U_BITS,
    BitProof,
    DGKKeypair,
    DGKPrivateKey,
    DGKPublicKey,
    RandomiserPool,
    check_dgk_public_key,
    encrypt_bit_with_proof,
    generate_dgk_keypair,
    prove_bit,
    verify_bit,
    verify_bits,
)
from encmed_lib.errors import (
    CiphertextRangeError,
    DomainError,
    InvalidKeyError,
    InvalidProofError,
    KeyTooSmallError,
)

CTX = b"query-1/bit-0"


@pytest.fixture(scope="module")
def keypair() -> DGKKeypair:
    return generate_dgk_keypair(1024)


def _prime_1_mod(step: int, bits: int) -> gmpy2.mpz:
    """A random prime x = 1 + step * a in [3 * 2^(bits-2), 2^bits) (so two make 2 * bits bits)."""
    low, high = 3 * (1 << (bits - 2)) // step + 1, ((1 << bits) - 2) // step
    while True:
        x = gmpy2.mpz(1 + step * (low + secrets.randbelow(high - low)))
        if gmpy2.is_prime(x):
            return x


@pytest.fixture(scope="module")
def dishonest(keypair):
    """A key with u | p-1 and u | q-1, and g a u-th power mod q: the line <[g]> is {(a, 0)}.

    Returns the private key and ``h``, an element of class (0, 1) (off the line).
    """
    u = int(keypair.public_key.u)
    p, q = _prime_1_mod(2 * u, 512), _prime_1_mod(2 * u, 512)
    n = p * q
    while True:
        gp = gmpy2.mpz(secrets.randbelow(int(p) - 2) + 2)
        if gmpy2.powmod(gp, (p - 1) // u, p) != 1:
            break
    gq = gmpy2.powmod(secrets.randbelow(int(q) - 2) + 2, u, q)
    while True:
        hq = gmpy2.mpz(secrets.randbelow(int(q) - 2) + 2)
        if gmpy2.powmod(hq, (q - 1) // u, q) != 1:
            break
    crt = lambda xp, xq: xp + p * ((xq - xp) * gmpy2.invert(p, q) % q)  # noqa: E731
    pk = DGKPublicKey(n, crt(gp, gq), u)  # passes every public check
    return DGKPrivateKey(pk, p, q), crt(gmpy2.mpz(1), hq)


def q_class(sk: DGKPrivateKey, x) -> gmpy2.mpz:
    """The class of ``x`` modulo q (1 iff its second coordinate is 0)."""
    return gmpy2.powmod(x, (sk.q - 1) // sk.u, sk.q)


# --------------------------------------------------------------- key generation
def test_key_shape(keypair):
    pk, sk = keypair
    assert pk.bits == 1024 and sk.p.bit_length() == sk.q.bit_length() == 512
    assert pk.u.bit_length() == U_BITS and gmpy2.is_prime(pk.u)
    assert (sk.p - 1) % (2 * pk.u) == 0 and (sk.q - 1) % pk.u != 0
    assert gmpy2.is_prime(sk.p) and gmpy2.is_prime(sk.q) and sk.p * sk.q == pk.n
    assert sk.G != 1 and gmpy2.powmod(sk.G, pk.u, sk.p) == 1  # order u
    assert len(pk.key_id) == 16 and int(pk.key_id, 16) >= 0
    other = generate_dgk_keypair(1024).public_key
    assert other.key_id != pk.key_id and other != pk


def test_serialisation_round_trip(keypair):
    pk = keypair.public_key
    data = pk.to_dict()
    assert set(data) == {"n", "g", "u"} and all(isinstance(v, str) for v in data.values())
    back = DGKPublicKey.from_dict(data)
    assert back == pk and back.key_id == pk.key_id and hash(back) == hash(pk)


def test_keygen_refuses_small_keys():
    with pytest.raises(KeyTooSmallError):
        generate_dgk_keypair(512)


def test_private_key_refuses_wrong_factors(keypair):
    pk, sk = keypair
    with pytest.raises(InvalidKeyError, match="p \\* q"):
        DGKPrivateKey(pk, sk.p, sk.q + 2)
    with pytest.raises(InvalidKeyError, match="u must divide p - 1"):
        DGKPrivateKey(pk, sk.q, sk.p)  # swapped: u does not divide q - 1


# ------------------------------------------------------- encryption, zero test
def test_round_trip(keypair):
    pk, sk = keypair
    for m in (0, 1, 2, 999, 1000, 4095):
        for c in (pk.encrypt(m), sk.encrypt(m)):
            pk.check_ciphertext(c)
            assert sk.decrypt_small(c, 4096) == m
            assert sk.is_zero(c) == (m == 0)
    # plaintexts wrap modulo u
    assert sk.decrypt_small(pk.encrypt(int(pk.u) + 7), 10) == 7
    assert sk.is_zero(sk.encrypt(int(pk.u))) and sk.is_zero(pk.encrypt(-int(pk.u)))


def test_is_zero_on_many_nonzero_values(keypair):
    pk, sk = keypair
    u = int(pk.u)
    values = [secrets.randbelow(u - 1) + 1 for _ in range(60)] + [1, u - 1, u // 2]
    assert not any(sk.is_zero(pk.encrypt(m)) for m in values)
    assert all(sk.is_zero(pk.encrypt(0)) for _ in range(10))


def test_decrypt_small_out_of_range_and_table_growth(keypair):
    pk, sk = keypair
    c = pk.encrypt(500)
    assert sk.decrypt_small(c, 10) is None  # small table first
    assert sk.decrypt_small(c, 501) == 500  # grown
    assert sk.decrypt_small(c, 500) is None  # larger table, smaller bound
    assert sk.decrypt_small(pk.encrypt(-1), 1000) is None  # u - 1 is not small
    for bad in (0, -3, dgk.MAX_TABLE + 1, 2.5, True):
        with pytest.raises(DomainError):
            sk.decrypt_small(c, bad)
    with pytest.raises(CiphertextRangeError):
        sk.class_of(sk.p)  # not a unit modulo p


def test_homomorphic_identities(keypair):
    pk, sk = keypair
    u = int(pk.u)
    a, b = pk.encrypt(12), sk.encrypt(30)
    assert sk.decrypt_small(pk.add(a, b), 100) == 42
    assert sk.decrypt_small(pk.add_plain(a, 5), 100) == 17
    assert sk.decrypt_small(pk.add_plain(a, -12), 100) == 0
    assert sk.decrypt_small(pk.mul_plain(a, 3), 100) == 36
    assert sk.decrypt_small(pk.mul_plain(a, 3 + 5 * u), 100) == 36  # k reduced mod u
    assert sk.decrypt_small(pk.add(pk.mul_plain(a, -2), pk.encrypt(30)), 100) == 6
    assert sk.decrypt_small(pk.mul_plain(a, u - 1), 1000) is None  # -12: not small
    assert sk.decrypt_small(pk.add(pk.mul_plain(a, u - 1), pk.encrypt(12)), 10) == 0
    assert sk.is_zero(pk.mul_plain(a, 0)) and sk.is_zero(pk.add(a, pk.neg(a)))
    assert sk.decrypt_small(pk.add(pk.neg(a), pk.encrypt(20)), 100) == 8
    fresh = pk.rerandomise(a)
    assert fresh != a and sk.decrypt_small(fresh, 100) == 12


def test_randomiser_pool(keypair):
    pk, sk = keypair
    for source in (pk, sk):
        pool = RandomiserPool(source)
        pool.fill(4)
        rhos = [pool.take() for _ in range(5)]  # the fifth is computed on the spot
        assert len(pool) == 0 and len(set(rhos)) == 5
        assert all(sk.is_zero(r) for r in rhos)  # w^u encrypts 0
        assert sk.decrypt_small(pk.encrypt(9, rhos[0]), 10) == 9
        assert sk.decrypt_small(pk.rerandomise(pk.encrypt(3), rhos[1]), 10) == 3


def test_blinding_keeps_only_zero_or_not(keypair):
    pk, sk = keypair
    for m in (1, 2, 12345, int(pk.u) - 1):
        classes = {sk.class_of(pk.blind(pk.encrypt(m))) for _ in range(8)}
        assert 1 not in classes and len(classes) == 8  # non-zero, and r varies
    zeros = [pk.blind(pk.encrypt(0)) for _ in range(8)]
    assert all(sk.is_zero(c) for c in zeros) and len(set(zeros)) == 8


# ------------------------------------------------------------------ bit proofs
def test_bit_proofs_accept_zero_and_one(keypair):
    pk, sk = keypair
    for key in (pk, sk):
        for bit in (0, 1):
            c, proof = encrypt_bit_with_proof(key, bit, CTX)
            assert isinstance(proof, BitProof) and 0 <= proof.c0 < pk.u and 0 <= proof.c1 < pk.u
            assert verify_bit(pk, c, proof, CTX) is True
            assert verify_bit(pk, c, proof.to_list(), CTX) is True  # wire form
            assert verify_bit(pk, c, BitProof.from_list(proof.to_list(), pk), CTX) is True
            assert sk.decrypt_small(c, 2) == bit


def _encrypt_with_witness(pk: DGKPublicKey, m: int):
    w = dgk_keys._random_unit(pk.n)
    return gmpy2.powmod(pk.g, m, pk.n) * gmpy2.powmod(w, pk.u, pk.n) % pk.n, w


def test_bit_proofs_reject_other_plaintexts(keypair):
    pk, _ = keypair
    for m in (2, 3, int(pk.u) - 1):
        c, w = _encrypt_with_witness(pk, m)
        for claimed in (0, 1):
            proof = prove_bit(pk, c, claimed, w, CTX)
            with pytest.raises(InvalidProofError, match="does not verify"):
                verify_bit(pk, c, proof, CTX)
    # a random group element, with a random "witness"
    c = dgk_keys._random_unit(pk.n)
    for claimed in (0, 1):
        with pytest.raises(InvalidProofError):
            verify_bit(pk, c, prove_bit(pk, c, claimed, dgk_keys._random_unit(pk.n), CTX), CTX)


def test_bit_proofs_reject_tampering_and_replay(keypair):
    pk, sk = keypair
    c, proof = encrypt_bit_with_proof(sk, 1, CTX)
    u = int(pk.u)
    tampered = [proof._replace(c0=(proof.c0 + 1) % u), proof._replace(c1=(proof.c1 + 1) % u),
                proof._replace(c0=(proof.c0 + 1) % u, c1=(proof.c1 - 1) % u),  # same sum
                proof._replace(z0=proof.z0 * 2 % pk.n), proof._replace(z1=proof.z1 * 2 % pk.n),
                BitProof(proof.c1, proof.c0, proof.z1, proof.z0)]
    for bad in tampered:
        with pytest.raises(InvalidProofError):
            verify_bit(pk, c, bad, CTX)
    with pytest.raises(InvalidProofError):
        verify_bit(pk, c, proof, b"query-1/bit-1")  # replayed at another position
    with pytest.raises(InvalidProofError):
        verify_bit(pk, c, proof, b"query-2/bit-0")  # replayed in another query
    other, _ = encrypt_bit_with_proof(sk, 1, CTX)
    for c_other in (other, pk.rerandomise(c)):  # same plaintext, another ciphertext
        with pytest.raises(InvalidProofError):
            verify_bit(pk, c_other, proof, CTX)
    other_key = generate_dgk_keypair(1024).public_key
    with pytest.raises(InvalidProofError):
        verify_bit(other_key, c % other_key.n, proof, CTX)


def test_bit_proofs_reject_malformed_input(keypair):
    pk, sk = keypair
    c, proof = encrypt_bit_with_proof(sk, 0, CTX)
    n, u = int(pk.n), int(pk.u)
    for bad in ([], proof[:3], (*proof, 1), (u, proof.c1, proof.z0, proof.z1),
                (-1, proof.c1, proof.z0, proof.z1), (proof.c0, proof.c1, 0, proof.z1),
                (proof.c0, proof.c1, proof.z0, n), (proof.c0, proof.c1, int(sk.p), proof.z1),
                (True, proof.c1, proof.z0, proof.z1), (1.0, proof.c1, proof.z0, proof.z1),
                ["1", "2", "x", "3"], ["9" * 5000, "1", "1", "1"], "proof", None):
        with pytest.raises(InvalidProofError):
            verify_bit(pk, c, bad, CTX)
    for bad_c in (0, n, n + int(c), int(sk.q), -int(c), str(c)):
        with pytest.raises(InvalidProofError, match="coprime"):
            verify_bit(pk, bad_c, proof, CTX)
    with pytest.raises(DomainError, match="bytes"):
        verify_bit(pk, c, proof, "query-1/bit-0")
    with pytest.raises(DomainError):
        encrypt_bit_with_proof(pk, 2, CTX)
    with pytest.raises(InvalidKeyError):
        verify_bit(pk.to_dict(), c, proof, CTX)


def test_verify_bits_names_the_failing_position(keypair):
    pk, sk = keypair
    contexts = [b"q/%d" % i for i in range(4)]
    pairs = [encrypt_bit_with_proof(sk, i % 2, ctx) for i, ctx in enumerate(contexts)]
    cts, proofs = [c for c, _ in pairs], [p for _, p in pairs]
    assert verify_bits(pk, cts, proofs, contexts) is True
    with pytest.raises(InvalidProofError, match="^bit 2: "):
        verify_bits(pk, cts, proofs[:2] + [proofs[3], proofs[3]], contexts)
    with pytest.raises(InvalidProofError, match="same length"):
        verify_bits(pk, cts, proofs[:3], contexts)


# ------------------------------------------------------------- dishonest key
def test_dishonest_key_passes_the_public_checks_and_proofs_stay_sound(dishonest):
    sk, h = dishonest
    pk = sk.public_key
    assert (sk.q - 1) % pk.u == 0  # class group Z_u x Z_u
    assert q_class(sk, h) != 1 and sk.class_of(h) == 1  # h: class (0, 1), off the g-line
    for bit in (0, 1):  # completeness
        c, proof = encrypt_bit_with_proof(sk, bit, CTX)
        assert verify_bit(pk, c, proof, CTX)
    for _ in range(3):
        for shift in (0, 1):  # class (0, 1) and (1, 1)
            w = dgk_keys._random_unit(pk.n)
            c = h * gmpy2.powmod(pk.g, shift, pk.n) * gmpy2.powmod(w, pk.u, pk.n) % pk.n
            for claimed in (0, 1):
                for key in (pk, sk):
                    with pytest.raises(InvalidProofError):
                        verify_bit(pk, c, prove_bit(key, c, claimed, w, CTX), CTX)


def test_dishonest_key_server_values_stay_on_the_line(dishonest):
    sk, h = dishonest
    pk = sk.public_key
    bits = [encrypt_bit_with_proof(sk, b, b"q/%d" % i) for i, b in enumerate((1, 0, 1))]
    assert verify_bits(pk, [c for c, _ in bits], [p for _, p in bits], [b"q/0", b"q/1", b"q/2"])
    x = pk.add_plain(pk.add(pk.mul_plain(bits[0][0], 5), pk.mul_plain(bits[2][0], -3)), 7)
    blinded = [pk.blind(x) for _ in range(5)]
    assert all(q_class(sk, b) == 1 for b in blinded)  # second coordinate 0: on <[g]>
    assert all(sk.class_of(b) != 1 for b in blinded)  # 5 - 3 + 7 != 0 mod u
    assert q_class(sk, pk.blind(h)) != 1  # what an unproven ciphertext could carry


# ---------------------------------------------------------- public-key checks
def test_public_key_checks_refuse_bad_u(keypair):
    pk = keypair.public_key
    n, g = int(pk.n), int(pk.g)
    composite = int(gmpy2.next_prime(1 << 39) * gmpy2.next_prime(1 << 40))
    assert composite.bit_length() == U_BITS
    for u in (composite, int(gmpy2.next_prime(1 << 78)), int(gmpy2.next_prime(1 << 80)),
              (1 << U_BITS) - 1, 0, -int(pk.u)):
        with pytest.raises(InvalidKeyError, match="u must be a prime"):
            check_dgk_public_key(n, g, u)


def test_public_key_checks_refuse_bad_g_and_n(keypair):
    pk, sk = keypair
    n, u = int(pk.n), int(pk.u)
    for g in (0, 1, n, n + 5, -int(pk.g)):
        with pytest.raises(InvalidKeyError, match="in \\[2, n\\)"):
            check_dgk_public_key(n, g, u)
    for g in (int(sk.p), 3 * int(sk.q)):
        with pytest.raises(InvalidKeyError, match="coprime"):
            check_dgk_public_key(n, g, u)
    with pytest.raises(InvalidKeyError, match="odd"):
        check_dgk_public_key(n + 1, 3, u)
    with pytest.raises(KeyTooSmallError):
        check_dgk_public_key((1 << 999) + 1, 3, u)
    with pytest.raises(InvalidKeyError, match="at most 4096"):
        check_dgk_public_key((1 << 4999) + 1, 3, u)
    for field in ("n", "g", "u"):
        args = {"n": n, "g": int(pk.g), "u": u, field: str(n)}
        with pytest.raises(InvalidKeyError, match="must be an integer"):
            check_dgk_public_key(**args)
    check_dgk_public_key(n, 2, u)  # the checks do not need g to generate anything
    with pytest.raises(KeyTooSmallError):
        check_dgk_public_key(n, int(pk.g), u, min_bits=2048)


def test_from_dict_refuses_garbage_before_int(keypair, monkeypatch):
    pk = keypair.public_key
    good = pk.to_dict()
    garbage = ["12a", "-5", " 12", "", "\u0661\u0662", "0012", "1e5", None, 12, 3.0]
    for field in ("n", "g", "u"):
        for bad in garbage:
            with pytest.raises(InvalidKeyError):
                DGKPublicKey.from_dict({**good, field: bad})
    for bad in ({"n": good["n"], "g": good["g"]}, {**good, "h": "1"}, [good["n"]], None):
        with pytest.raises(InvalidKeyError, match="exactly the fields"):
            DGKPublicKey.from_dict(bad)
    calls = []
    monkeypatch.setattr(wire, "_decimal_to_int", lambda s: calls.append(len(s)) or int(s))
    for field, digits in (("n", 100_000), ("g", 1300), ("u", 26)):
        with pytest.raises(InvalidKeyError, match="characters"):
            DGKPublicKey.from_dict({**good, field: "7" * digits})
    assert calls and digits not in calls and max(calls) <= 309  # the long field never reached int()
    calls.clear()
    DGKPublicKey.from_dict(good)
    assert sorted(calls) == sorted(len(v) for v in good.values())  # the spy sees every conversion


def test_parse_ciphertext(keypair):
    pk, sk = keypair
    c = sk.encrypt(3)
    assert pk.parse_ciphertext(str(c)) == c
    for bad in ("0", str(pk.n), str(sk.p), "9" * 400, "abc", 5):
        with pytest.raises(CiphertextRangeError):
            pk.parse_ciphertext(bad)
