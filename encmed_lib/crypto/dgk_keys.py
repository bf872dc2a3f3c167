"""DGK-style keys: generation, the server's public checks, encryption and the homomorphic operations.

The scheme and the reason why a server may trust a key that the client made
are explained in :mod:`encmed_lib.crypto.dgk`, which re-exports everything
here together with the bit proofs; import from there.

In short: plaintexts live in :math:`\\mathbb{Z}_u` for an 80-bit prime
:math:`u`; :math:`E(m) = g^m w^u \\bmod n` with :math:`n = pq`,
:math:`p = 2ua + 1`, :math:`u \\nmid q - 1`; the key owner tests
:math:`m \\equiv 0` with one exponentiation modulo :math:`p`
(:meth:`DGKPrivateKey.is_zero`) and reads small :math:`m` from a table
(:meth:`DGKPrivateKey.decrypt_small`).  All randomness comes from
:mod:`secrets`.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

import gmpy2

from ..errors import CiphertextRangeError, DomainError, InvalidKeyError, KeyTooSmallError
from .paillier import FixedBaseTable
from .wire import int_bytes as _int_bytes
from .wire import is_integer, parse_decimal

U_BITS = 80
"""Bit length of the plaintext modulus :math:`u`."""

MIN_KEY_BITS, MAX_KEY_BITS, DEFAULT_KEY_BITS = 1024, 4096, 2048
"""Bounds on the bit length of :math:`n` accepted by default, and the default size."""

MAX_TABLE = 1 << 20
"""Largest ``bound`` accepted by :meth:`DGKPrivateKey.decrypt_small` (a table of that many entries)."""


def check_dgk_public_key(n: object, g: object, u: object, *, min_bits: int = MIN_KEY_BITS,
                         max_bits: int = MAX_KEY_BITS) -> None:
    """The server's public checks on a DGK key (cheapest first); enough for its privacy.

    Parameters
    ----------
    n, g, u : int
        The modulus, the generator and the plaintext prime.
    min_bits, max_bits : int
        Accepted bit lengths of ``n`` (the upper bound caps the server's work).

    Raises
    ------
    KeyTooSmallError
        ``n`` has fewer than ``min_bits`` bits.
    InvalidKeyError
        Any other check fails: a field is not an integer, ``n`` is even or too
        long, ``u`` is not a prime of exactly :data:`U_BITS` bits, ``g`` is not in
        :math:`[2, n)` or shares a factor with ``n``.
    """
    for name, value in (("n", n), ("g", g), ("u", u)):
        if not is_integer(value):
            raise InvalidKeyError(f"DGK public key field {name} must be an integer, got "
                                  f"{type(value).__name__}")
    bits = int(gmpy2.mpz(n).bit_length()) if n > 0 else 0
    if bits < min_bits:
        raise KeyTooSmallError(f"DGK modulus n has {bits} bits: at least {min_bits} are required")
    if bits > max_bits:
        raise InvalidKeyError(f"DGK modulus n has {bits} bits: at most {max_bits} are accepted")
    if n % 2 == 0:
        raise InvalidKeyError("DGK modulus n must be odd")
    if u <= 0 or int(gmpy2.mpz(u).bit_length()) != U_BITS or not gmpy2.is_prime(u):
        raise InvalidKeyError(f"DGK plaintext modulus u must be a prime of exactly {U_BITS} bits")
    if not 2 <= g < n:
        raise InvalidKeyError("DGK generator g must be in [2, n)")
    if gmpy2.gcd(g, n) != 1:
        raise InvalidKeyError("DGK generator g must be coprime to n")


def _random_unit(n) -> gmpy2.mpz:
    """Uniform element of :math:`\\mathbb{Z}_n^*` (:mod:`secrets`, resampled while not coprime)."""
    while True:
        w = gmpy2.mpz(secrets.randbelow(int(n) - 1) + 1)
        if gmpy2.gcd(w, n) == 1:
            return w


class DGKPublicKey:
    """A DGK public key :math:`(n, g, u)`: encryption and the homomorphic operations.

    Parameters
    ----------
    n, g, u : int
        Modulus, generator and 80-bit plaintext prime; checked by
        :func:`check_dgk_public_key` with ``min_bits`` and ``max_bits``.
    """

    def __init__(self, n: int, g: int, u: int, *, min_bits: int = MIN_KEY_BITS,
                 max_bits: int = MAX_KEY_BITS):
        check_dgk_public_key(n, g, u, min_bits=min_bits, max_bits=max_bits)
        self.n, self.g, self.u = gmpy2.mpz(n), gmpy2.mpz(g), gmpy2.mpz(u)
        self.bits = int(self.n.bit_length())
        self.g_inverse = gmpy2.invert(self.g, self.n)
        self._g_table: FixedBaseTable | None = None

    # -- identity -------------------------------------------------------------
    @property
    def key_id(self) -> str:
        """SHA-256 fingerprint of :math:`(n, g, u)`, 16 hex digits."""
        h = hashlib.sha256(b"encmed/dgk-key")
        for part in (self.n, self.g, self.u):
            raw = _int_bytes(part)
            h.update(len(raw).to_bytes(4, "big") + raw)
        return h.hexdigest()[:16]

    def __eq__(self, other) -> bool:
        return isinstance(other, DGKPublicKey) and (self.n, self.g, self.u) == (other.n, other.g, other.u)

    def __hash__(self) -> int:
        return hash((int(self.n), int(self.g), int(self.u)))

    def __repr__(self) -> str:
        return f"<DGKPublicKey {self.bits} bits, u of {U_BITS} bits, id {self.key_id}>"

    def to_dict(self) -> dict:
        """``{"n": str, "g": str, "u": str}`` (decimal strings)."""
        return {"n": str(int(self.n)), "g": str(int(self.g)), "u": str(int(self.u))}

    @classmethod
    def from_dict(cls, data: object, *, min_bits: int = MIN_KEY_BITS,
                  max_bits: int = MAX_KEY_BITS) -> DGKPublicKey:
        """Parse and check a key received from a client (:class:`InvalidKeyError` if malformed)."""
        if not isinstance(data, dict) or set(data) != {"n", "g", "u"}:
            raise InvalidKeyError('a DGK public key must be a dict with exactly the fields "n", "g", "u"')
        n = parse_decimal(data["n"], "DGK public key field n", max_bits, InvalidKeyError)
        g = parse_decimal(data["g"], "DGK public key field g", max_bits, InvalidKeyError)
        u = parse_decimal(data["u"], "DGK public key field u", U_BITS, InvalidKeyError)
        return cls(n, g, u, min_bits=min_bits, max_bits=max_bits)

    # -- ciphertexts ------------------------------------------------------------
    def check_ciphertext(self, c: object, what: str = "DGK ciphertext") -> None:
        """Raise :class:`CiphertextRangeError` unless :math:`c \\in \\mathbb{Z}_n^*`."""
        if not is_integer(c) or not 0 < c < self.n or gmpy2.gcd(c, self.n) != 1:
            raise CiphertextRangeError(f"{what} must be an integer in (0, n) coprime to n for this "
                                       f"{self.bits}-bit DGK key (was it made under another key?)")

    def parse_ciphertext(self, value: object, what: str = "DGK ciphertext") -> gmpy2.mpz:
        """A ciphertext from its decimal string (length checked first), range-checked."""
        c = parse_decimal(value, what, self.bits, CiphertextRangeError)
        self.check_ciphertext(c, what)
        return gmpy2.mpz(c)

    def _g_pow(self, k: int) -> gmpy2.mpz:
        """:math:`g^{k \\bmod u} \\bmod n` from a fixed-base table."""
        if self._g_table is None:
            self._g_table = FixedBaseTable(self.g, self.n, U_BITS)
        return self._g_table.pow(int(k % self.u))

    # -- arithmetic used by the proofs (the private key overrides it with CRT) ---
    def _unit(self) -> gmpy2.mpz:
        return _random_unit(self.n)

    def _pow(self, x, e: int) -> gmpy2.mpz:
        return gmpy2.powmod(x, e, self.n)

    # -- randomisers and encryption --------------------------------------------
    def randomiser(self) -> gmpy2.mpz:
        """A fresh :math:`w^u \\bmod n`, :math:`w` uniform in :math:`\\mathbb{Z}_n^*`."""
        return self._pow(self._unit(), self.u)

    def encrypt(self, m: int, randomiser=None) -> gmpy2.mpz:
        """:math:`g^{m \\bmod u} w^u \\bmod n` (``randomiser`` = :math:`w^u`, e.g. from a pool)."""
        rho = self.randomiser() if randomiser is None else randomiser
        return self._g_pow(m) * rho % self.n

    def add(self, c1, c2) -> gmpy2.mpz:
        """:math:`E(m_1) E(m_2) = E(m_1 + m_2)`."""
        return c1 * c2 % self.n

    def add_plain(self, c, k: int) -> gmpy2.mpz:
        """:math:`E(m)\\, g^k = E(m + k)`."""
        return c * self._g_pow(k) % self.n

    def mul_plain(self, c, k: int) -> gmpy2.mpz:
        """:math:`E(m)^k = E(km)`, ``k`` reduced mod :math:`u`; above :math:`u/2` via :math:`(c^{-1})^{u-k}`.

        For :math:`k \\equiv 0` the result is 1, an encryption of 0 with no
        randomness: rerandomise (or :meth:`blind`) before sending it.
        """
        k = int(k % self.u)
        if k > self.u // 2:
            return gmpy2.powmod(gmpy2.invert(c, self.n), self.u - k, self.n)
        return gmpy2.powmod(c, k, self.n)

    def neg(self, c) -> gmpy2.mpz:
        """:math:`E(m)^{-1} = E(-m)`."""
        return gmpy2.invert(c, self.n)

    def rerandomise(self, c, w_u=None) -> gmpy2.mpz:
        """:math:`c \\cdot w^u`: same plaintext, fresh randomness (``w_u`` from the caller's pool)."""
        return c * (self.randomiser() if w_u is None else w_u) % self.n

    def blind(self, c, w_u=None) -> gmpy2.mpz:
        """:math:`c^r w^u` with :math:`r` uniform in :math:`[1, u)`: keeps only whether :math:`m \\equiv 0`.

        ``c`` of class :math:`\\lambda [g]` becomes a uniform element of class
        :math:`r\\lambda [g]`: uniform among the non-zero classes of the line if
        :math:`\\lambda \\not\\equiv 0`, the zero class otherwise.
        """
        r = 1 + secrets.randbelow(int(self.u) - 1)
        return self.rerandomise(gmpy2.powmod(c, r, self.n), w_u)


class DGKPrivateKey:
    """The factors of a DGK key: zero test, small decryption, and CRT-fast client operations.

    Parameters
    ----------
    public_key : DGKPublicKey
        The key; :math:`n = pq`.
    p, q : int
        The factors, :math:`u \\mid p - 1` (the class is computed modulo :math:`p`).
    """

    def __init__(self, public_key: DGKPublicKey, p: int, q: int):
        p, q = gmpy2.mpz(p), gmpy2.mpz(q)
        if p * q != public_key.n or p == q or p < 2 or q < 2:
            raise InvalidKeyError("DGK private key: p and q must be distinct factors with p * q == n")
        if (p - 1) % public_key.u != 0:
            raise InvalidKeyError("DGK private key: u must divide p - 1")
        self.public_key = public_key
        self.n, self.u = public_key.n, public_key.u
        self.p, self.q = p, q
        self.class_exponent = (p - 1) // public_key.u
        self.G = gmpy2.powmod(public_key.g, self.class_exponent, p)
        if self.G == 1:
            raise InvalidKeyError("DGK private key: g^((p-1)/u) mod p must not be 1")
        self.p_inverse = gmpy2.invert(p, q)
        self._table: dict = {}
        self._table_size = 0

    def __repr__(self) -> str:
        return f"<DGKPrivateKey for {self.public_key!r}>"

    def _crt(self, xp, xq) -> gmpy2.mpz:
        return xp + self.p * ((xq - xp) * self.p_inverse % self.q)

    def _unit(self) -> gmpy2.mpz:
        """Uniform in :math:`\\mathbb{Z}_n^*`, as a uniform pair (mod :math:`p`, mod :math:`q`)."""
        wp = secrets.randbelow(int(self.p) - 1) + 1
        wq = secrets.randbelow(int(self.q) - 1) + 1
        return self._crt(gmpy2.mpz(wp), gmpy2.mpz(wq))

    def _pow(self, x, e: int) -> gmpy2.mpz:
        """:math:`x^e \\bmod n` for :math:`e \\ge 0` computed modulo :math:`p` and :math:`q` (CRT)."""
        return self._crt(gmpy2.powmod(x, e, self.p), gmpy2.powmod(x, e, self.q))

    def randomiser(self) -> gmpy2.mpz:
        """A fresh :math:`w^u \\bmod n` computed modulo :math:`p` and :math:`q`."""
        return self._pow(self._unit(), self.u)

    def encrypt(self, m: int, randomiser=None) -> gmpy2.mpz:
        """:math:`g^m w^u` with both powers computed by CRT (the key owner's fast path)."""
        if randomiser is not None:
            return self.public_key.encrypt(m, randomiser)
        m = int(m % self.u)
        g, u, w = self.public_key.g, self.u, self._unit()
        xp = gmpy2.powmod(g, m, self.p) * gmpy2.powmod(w, u, self.p) % self.p
        xq = gmpy2.powmod(g, m, self.q) * gmpy2.powmod(w, u, self.q) % self.q
        return self._crt(xp, xq)

    def class_of(self, c) -> gmpy2.mpz:
        """:math:`c^{(p-1)/u} \\bmod p = G^m`: the element of the order-:math:`u` subgroup naming m."""
        if not is_integer(c) or not 0 < c < self.n or c % self.p == 0:
            raise CiphertextRangeError("DGK ciphertext must be an integer in (0, n), a unit modulo p")
        return gmpy2.powmod(c, self.class_exponent, self.p)

    def is_zero(self, c) -> bool:
        """True iff ``c`` encrypts :math:`0 \\bmod u` (its class is 1)."""
        return self.class_of(c) == 1

    def decrypt_small(self, c, bound: int) -> int | None:
        """The :math:`m \\in [0, \\text{bound})` with :math:`G^m` = class of ``c``, or None if none matches.

        A table of :math:`G^m` for :math:`m <` ``bound`` is built on first use
        and kept (grown when a larger bound is asked); ``bound`` is at most
        :data:`MAX_TABLE` and at most :math:`u`.
        """
        if not is_integer(bound) or not 1 <= bound <= min(MAX_TABLE, self.u):
            raise DomainError(f"decrypt_small: bound must be an integer in [1, {MAX_TABLE}]")
        if bound > self._table_size:
            x = gmpy2.powmod(self.G, self._table_size, self.p)
            for m in range(self._table_size, int(bound)):
                self._table[x] = m
                x = x * self.G % self.p
            self._table_size = int(bound)
        m = self._table.get(self.class_of(c))
        return m if m is not None and m < bound else None


class DGKKeypair(NamedTuple):
    public_key: DGKPublicKey
    private_key: DGKPrivateKey


def _prime_in(low: int, high: int, step: int = 1, *, avoid: int = 0) -> gmpy2.mpz:
    """A random prime :math:`x = 1 + \\text{step}\\cdot a` in :math:`[low, high)`.

    With ``avoid`` > 0, primes :math:`x` with ``avoid`` dividing :math:`x - 1` are skipped.
    """
    a_low, a_high = -(-(low - 1) // step), (high - 2) // step
    while True:
        x = gmpy2.mpz(1 + step * (a_low + secrets.randbelow(a_high - a_low + 1)))
        if step == 1:
            x = gmpy2.next_prime(x - 1)
            if x >= high:
                continue
        if (not avoid or (x - 1) % avoid != 0) and gmpy2.is_prime(x, 40):
            return x


def generate_dgk_keypair(key_bits: int = DEFAULT_KEY_BITS) -> DGKKeypair:
    """A DGK key pair: :math:`u` of 80 bits, :math:`p = 2ua + 1` and :math:`q` of ``key_bits/2`` bits.

    Parameters
    ----------
    key_bits : int
        Bit length of :math:`n`, in ``[1024, 4096]``.

    Returns
    -------
    DGKKeypair
        ``(public_key, private_key)``.
    """
    if not is_integer(key_bits) or key_bits < MIN_KEY_BITS:
        raise KeyTooSmallError(f"a {key_bits}-bit DGK key is too small: use at least {MIN_KEY_BITS} bits")
    if key_bits > MAX_KEY_BITS:
        raise DomainError(f"key_bits must be at most {MAX_KEY_BITS}, got {key_bits}")
    u = _prime_in(1 << (U_BITS - 1), 1 << U_BITS)
    bits_p = key_bits // 2
    bits_q = key_bits - bits_p
    # Both factors at least sqrt(2) * 2^(k-1), so that n has exactly key_bits bits.
    low_p, low_q = gmpy2.isqrt(1 << (2 * bits_p - 1)) + 1, gmpy2.isqrt(1 << (2 * bits_q - 1)) + 1
    p = _prime_in(int(low_p), 1 << bits_p, 2 * int(u))
    q = p
    while q == p:
        q = _prime_in(int(low_q), 1 << bits_q, avoid=int(u))
    n = p * q
    while True:
        g = _random_unit(n)
        if gmpy2.powmod(g, (p - 1) // u, p) != 1:
            break
    public = DGKPublicKey(n, g, u, min_bits=key_bits, max_bits=key_bits)
    return DGKKeypair(public, DGKPrivateKey(public, p, q))
