"""Tests of encmed_lib.crypto.paillier: keys, raw operations, speed-ups, phe interop.

Keys are 1024 bits (module-scoped, generated once) except in one 2048-bit
round-trip test.
"""

from __future__ import annotations

import secrets
import warnings

import gmpy2
import pytest
from phe import paillier as phe_paillier

from encmed_lib.crypto.paillier import (
    FixedBaseTable,
    Keypair,
    PrivateKey,
    PublicKey,
    RandomiserPool,
    check_key_bits,
    generate_keypair,
    security_bits,
    short_exponent_bits,
)
from encmed_lib.errors import CiphertextRangeError, KeyTooSmallError


@pytest.fixture(scope="module", params=[True, False], ids=["djn", "classic"])
def keypair(request) -> Keypair:
    return generate_keypair(1024, djn=request.param)


@pytest.fixture(scope="module")
def djn_keypair() -> Keypair:
    return generate_keypair(1024, djn=True)


def messages(n) -> list[int]:
    n = int(n)
    return [0, 1, -1, 2, -2, n // 2, -(n // 2) + 1, n // 2 - 1, 2**61, -(2**61),
            secrets.randbelow(n // 2), -secrets.randbelow(n // 2)]


def signed(m: int, n) -> int:
    """``m`` reduced to the signed range ``(-n/2, n/2]`` used by decrypt_signed."""
    n = int(n)
    m %= n
    return m - n if m > n // 2 else m


# -------------------------------------------------------------- key generation
def test_keypair_shape(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    assert pk.bits in (1023, 1024)
    assert sk.p * sk.q == pk.n and sk.p < sk.q
    assert pk.nsquare == pk.n * pk.n
    assert pk.exp_bits == short_exponent_bits(pk.bits)
    assert len(pk.key_id) == 16 and int(pk.key_id, 16) >= 0
    assert pk.ciphertext_bytes == (2 * pk.bits + 7) // 8
    assert PublicKey.from_dict(pk.to_dict()) == pk
    assert hash(PublicKey.from_dict(pk.to_dict())) == hash(pk)
    assert ("DJN" in repr(pk)) == (pk.hs is not None)


def test_djn_flag_controls_hs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert generate_keypair(1024, djn=True).public_key.hs is not None
        assert generate_keypair(1024, djn=False).public_key.hs is None


def test_two_keypairs_differ(djn_keypair):
    other = generate_keypair(1024)
    assert other.public_key.n != djn_keypair.public_key.n
    assert other.public_key.key_id != djn_keypair.public_key.key_id
    assert other.public_key != djn_keypair.public_key


def test_private_key_checks_its_factors(djn_keypair):
    pk, sk = djn_keypair.public_key, djn_keypair.private_key
    with pytest.raises(ValueError, match="does not equal"):
        PrivateKey(pk, sk.p, sk.q + 2)
    square = PublicKey(sk.p * sk.p)
    with pytest.raises(ValueError, match="differ"):
        PrivateKey(square, sk.p, sk.p)
    # factor order does not matter
    swapped = PrivateKey(pk, sk.q, sk.p)
    assert (swapped.p, swapped.q) == (sk.p, sk.q)


# ------------------------------------------------------------ encrypt/decrypt
def test_round_trip_all_paths(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    for m in messages(pk.n):
        for c in (sk.encrypt(m), pk.raw_encrypt(m)):
            pk.check_ciphertext(c)
            assert sk.decrypt_signed(c) == signed(m, pk.n)
            assert sk.raw_decrypt(c) == m % pk.n
    assert sk.decrypt_signed(pk.raw_encrypt(pk.n // 2)) == pk.n // 2
    assert sk.decrypt_signed(pk.raw_encrypt(-(pk.n // 2) + 1)) == -(pk.n // 2) + 1


def test_round_trip_2048_bits():
    kp = generate_keypair(2048)
    pk, sk = kp.public_key, kp.private_key
    assert pk.bits == 2048
    assert pk.exp_bits == 224
    assert pk.ciphertext_bytes == 512
    for m in messages(pk.n)[:8]:
        assert sk.decrypt_signed(sk.encrypt(m)) == signed(m, pk.n)
        assert sk.decrypt_signed(pk.raw_encrypt(m)) == signed(m, pk.n)
    c = pk.add(sk.encrypt(5), pk.mul_plain(pk.raw_encrypt(7), -3))
    assert sk.decrypt_signed(pk.rerandomise(c)) == -16


def test_encryption_is_randomised(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    for m in (0, 1, -1, 12345):
        assert sk.encrypt(m) != sk.encrypt(m)
        assert pk.raw_encrypt(m) != pk.raw_encrypt(m)
        assert len({int(sk.encrypt(m)) for _ in range(10)}) == 10


def test_explicit_randomiser_is_used(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    rho = sk.randomiser()
    assert pk.raw_encrypt(42, rho) == sk.encrypt(42, rho) == (1 + 42 * pk.n) * rho % pk.nsquare
    assert sk.encrypt(-5, rho) == pk.raw_encrypt(pk.n - 5, rho)


# ----------------------------------------------------------------- homomorphism
def test_homomorphic_operations(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    a, b = 123456789, -987654321
    ca, cb = sk.encrypt(a), pk.raw_encrypt(b)
    assert sk.decrypt_signed(pk.add(ca, cb)) == a + b
    assert sk.decrypt_signed(pk.add_plain(ca, 1000)) == a + 1000
    assert sk.decrypt_signed(pk.add_plain(ca, -(2**70))) == a - 2**70
    assert sk.decrypt_signed(pk.mul_plain(ca, 3)) == 3 * a
    assert sk.decrypt_signed(pk.mul_plain(ca, -(2**40) + 7)) == a * (-(2**40) + 7)
    assert sk.decrypt_signed(pk.mul_plain(cb, -1)) == -b
    assert sk.decrypt_signed(pk.mul_plain(ca, 0)) == 0
    assert sk.decrypt_signed(pk.mul_plain(ca, 1)) == a
    # the blinded comparison the server computes: E(X)^-r * (1 + (rT + s)n) = E(r(T - X) + s)
    X, T, r, s = 7 * 2**40, 5 * 2**40 + 3, 2**39 + 11, 17
    blinded = pk.add_plain(pk.mul_plain(sk.encrypt(X), -r), r * T + s)
    assert sk.decrypt_signed(blinded) == r * (T - X) + s


def test_rerandomise_keeps_plaintext_changes_ciphertext(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    for m in (0, 1, -77, pk.n // 2):
        c = sk.encrypt(m)
        c2 = pk.rerandomise(c)
        assert c2 != c
        assert sk.raw_decrypt(c2) == sk.raw_decrypt(c)
        assert pk.rerandomise(c) != c2
        rho = sk.randomiser()
        assert pk.rerandomise(c, rho) == c * rho % pk.nsquare


# ---------------------------------------------------------------- randomisers
def test_randomisers_are_nth_residues(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    for rho in [sk.randomiser() for _ in range(5)] + [pk.randomiser() for _ in range(5)]:
        pk.check_ciphertext(rho)
        assert sk.raw_decrypt(rho) == 0  # an n-th residue encrypts 0
    assert len({int(sk.randomiser()) for _ in range(8)}) == 8
    assert len({int(pk.randomiser()) for _ in range(8)}) == 8


def test_djn_hs_is_an_nth_residue(djn_keypair):
    pk, sk = djn_keypair.public_key, djn_keypair.private_key
    assert pk.hs is not None
    assert 0 < pk.hs < pk.nsquare
    assert sk.raw_decrypt(pk.hs) == 0
    # a short-exponent randomiser is a power of hs; the CRT table agrees with the public one
    a = secrets.randbits(pk.exp_bits)
    assert pk._hs_table().pow(a) == gmpy2.powmod(pk.hs, a, pk.nsquare)


def test_crt_and_public_randomisers_agree_for_the_same_exponent(djn_keypair):
    pk, sk = djn_keypair.public_key, djn_keypair.private_key
    sk.randomiser()  # builds the CRT tables
    a = secrets.randbits(pk.exp_bits)
    via_crt = sk._crt_n2(sk._tables[0].pow(a), sk._tables[1].pow(a))
    assert via_crt == gmpy2.powmod(pk.hs, a, pk.nsquare)


def test_randomiser_pool(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    for source in (sk, pk):
        pool = RandomiserPool(source)
        assert len(pool) == 0
        pool.fill(5)
        assert len(pool) == 5
        taken = []
        for expected_left in range(4, -1, -1):
            taken.append(int(pool.take()))
            assert len(pool) == expected_left
        assert len(set(taken)) == 5  # each used once
        for _ in range(3):  # empty: still returns fresh, valid randomisers
            rho = pool.take()
            assert len(pool) == 0
            assert sk.raw_decrypt(rho) == 0
            taken.append(int(rho))
        assert len(set(taken)) == 8
        assert all(sk.raw_decrypt(rho) == 0 for rho in taken)
        pool.fill(2)
        pool.fill(3)
        assert len(pool) == 5


# ----------------------------------------------------------- phe interoperability
def test_interop_with_phe(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    phe_pk = pk.to_phe()
    assert isinstance(phe_pk, phe_paillier.PaillierPublicKey)
    assert phe_pk.n == pk.n and phe_pk.g == pk.n + 1
    phe_sk = phe_paillier.PaillierPrivateKey(phe_pk, int(sk.p), int(sk.q))
    for m in (0, 1, 42, int(pk.n) - 1, secrets.randbelow(int(pk.n))):
        # ours -> phe
        assert phe_sk.raw_decrypt(int(sk.encrypt(m))) == m
        assert phe_sk.raw_decrypt(int(pk.raw_encrypt(m))) == m
        # phe -> ours
        assert sk.raw_decrypt(phe_pk.raw_encrypt(m)) == m
    # signed values through phe's EncryptedNumber layer, decrypted by us
    enc = phe_pk.encrypt(-12345)
    assert sk.decrypt_signed(enc.ciphertext(be_secure=True)) == -12345


# ------------------------------------------------------------- FixedBaseTable
@pytest.mark.parametrize("exp_bits, window", [(160, 6), (224, 6), (10, 3), (7, 7), (1, 1), (64, 5)])
def test_fixed_base_table_matches_powmod(djn_keypair, exp_bits, window):
    m = djn_keypair.public_key.nsquare
    base = secrets.randbelow(int(m) - 2) + 2
    table = FixedBaseTable(base, m, exp_bits, window=window)
    exponents = [e for e in (0, 1, 2) if e < 1 << exp_bits] + [(1 << exp_bits) - 1, 1 << (exp_bits - 1)]
    exponents += [secrets.randbits(exp_bits) for _ in range(10)]
    for e in exponents:
        assert table.pow(e) == gmpy2.powmod(base, e, m), e


def test_fixed_base_table_reduces_a_large_base():
    m = 1009 * 1013
    table = FixedBaseTable(m * 5 + 3, m, 20)
    assert table.pow(123456) == pow(3, 123456, m)


@pytest.mark.parametrize("e", [-1, 2**160, 2**160 + 5, -(2**200)])
def test_fixed_base_table_rejects_out_of_range_exponents(djn_keypair, e):
    table = FixedBaseTable(3, djn_keypair.public_key.nsquare, 160)
    with pytest.raises(ValueError, match=r"exponent must be in \[0, 2\*\*160\)"):
        table.pow(e)


# ------------------------------------------------------------------ key sizes
@pytest.mark.parametrize("bits", [0, 256, 512, 1023])
def test_check_key_bits_refuses_small_keys(bits):
    with pytest.raises(KeyTooSmallError, match=f"{bits}-bit Paillier key is too small"):
        check_key_bits(bits)


def test_generate_keypair_refuses_512_bits():
    with pytest.raises(KeyTooSmallError, match="at least 1024"):
        generate_keypair(512)


@pytest.mark.parametrize("bits", [1024, 1536, 2047])
def test_check_key_bits_warns_under_2048(bits):
    with pytest.warns(UserWarning, match=f"{bits}-bit Paillier keys are for tests"):
        check_key_bits(bits)


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_check_key_bits_silent_from_2048(bits):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_key_bits(bits)


@pytest.mark.parametrize("bits, expected", [(1024, 160), (2048, 224), (3072, 256), (7680, 384),
                                            (15360, 512), (2047, 160), (3071, 224)])
def test_short_exponent_bits(bits, expected):
    assert short_exponent_bits(bits) == expected
    assert short_exponent_bits(bits) == 2 * security_bits(bits)


# ---------------------------------------------------------- ciphertext range
def test_check_ciphertext(keypair):
    pk, sk = keypair.public_key, keypair.private_key
    pk.check_ciphertext(sk.encrypt(3))
    pk.check_ciphertext(1)
    pk.check_ciphertext(pk.nsquare - 1)
    bad = [0, -1, -int(sk.encrypt(3)), pk.nsquare, pk.nsquare + 1, 2 * pk.nsquare, sk.p, sk.q,
           sk.p * 12345, pk.n, pk.n * 2 + pk.n]
    for c in bad:
        with pytest.raises(CiphertextRangeError, match="not a valid ciphertext"):
            pk.check_ciphertext(c, "the thing")


def test_check_ciphertext_names_what(keypair):
    with pytest.raises(CiphertextRangeError, match=r"^the ciphertext of feature 'age' is not"):
        keypair.public_key.check_ciphertext(0, "the ciphertext of feature 'age'")
