"""Certified Paillier keys: cheap structural checks of a client's modulus, then a proof.

A server that computes on ciphertexts under a *client's* Paillier key relies
on that key for its own privacy: its replies hide what it computed only if
:math:`(m, r) \\mapsto (1+n)^m r^n \\bmod n^2` is a bijection
:math:`\\mathbb{Z}_n \\times \\mathbb{Z}_n^* \\to \\mathbb{Z}_{n^2}^*`, so that a
uniform :math:`r^n` drawn by the server re-randomises perfectly.  That holds
exactly when :math:`\\gcd(n, \\varphi(n)) = 1` (Paillier 1999, lemma 3; it
forces :math:`n` square-free).  And the server must not let a stranger make it
exponentiate modulo a 14,000-bit number.  So, before *any* modular
exponentiation:

1. :func:`check_modulus` (microseconds to a few milliseconds): ``n`` is an
   ``int``, odd, of ``min_bits`` to ``max_bits`` bits, with no prime factor
   below ``small_prime_bound`` (one gcd with the primorial, computed once), not
   a prime and not a perfect power.  Refused: even ``n``, primes, :math:`p^2`,
   :math:`p^3`, :math:`3q`, 1000- or 5000-bit numbers.
2. :func:`verify_paillier_key` then checks the non-interactive proof of
   Goldberg, Reyzin, Sagga and Baldimtsi (ASIACRYPT 2019, "Efficient
   noninteractive certification of RSA moduli and beyond") that
   :math:`\\gcd(n, \\varphi(n)) = 1`: challenges :math:`y_i = H(n, i) \\in
   \\mathbb{Z}_n` for :math:`i < m`, answers :math:`z_i = y_i^{n^{-1} \\bmod
   \\varphi(n)} \\bmod n` (the prover knows :math:`\\varphi(n)`), checks
   :math:`z_i^n \\equiv y_i \\pmod n`.

**Soundness bound.**  If :math:`\\gcd(n, \\varphi(n)) \\ne 1`, some prime
:math:`r` divides both :math:`n` and :math:`\\varphi(n)`; then :math:`x
\\mapsto x^n` has a kernel of order at least :math:`r` on
:math:`\\mathbb{Z}_n^*`, so its image has index at least :math:`r`, and
:math:`r \\ge \\alpha` because step 1 excluded prime factors below
:math:`\\alpha` = ``small_prime_bound``.  Each random :math:`y_i` then has an
:math:`n`-th root with probability at most :math:`1/\\alpha`, and a cheating
prover passes all :math:`m` challenges with probability at most
:math:`\\alpha^{-m}` per hash query.  For :math:`2^{-\\kappa}`, :math:`\\kappa =
128`: :math:`m = \\lceil \\kappa / \\log_2 \\alpha \\rceil` (8 for
:math:`\\alpha = 2^{16}`).  Honest proofs are statistically zero-knowledge:
:math:`z_i` is the unique :math:`n`-th root, which the verifier could not
compute but which tells it nothing beyond :math:`\\gcd(n, \\varphi(n)) = 1`.

**What is not proved.**  That :math:`n` has exactly two prime factors, or that
it is hard to factor: a product of many 30-bit primes passes both steps if its
owner computes :math:`\\varphi(n)` right (the honest prover below, which takes
a two-factor :class:`~encmed_lib.crypto.paillier.PrivateKey`, fails on it).
That only endangers the client's own data; the server's replies stay hidden,
since the bijection above holds.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import OrderedDict

import gmpy2

from ..errors import DomainError, InvalidKeyError, KeyTooSmallError
from .paillier import PrivateKey
from .wire import int_bytes, is_integer, parse_decimal

__all__ = ["KAPPA", "check_modulus", "proof_rounds", "prove_paillier_key", "verify_paillier_key",
           "CertifiedKeys"]

KAPPA = 128
"""Soundness of the key proof: a malformed key passes with probability at most :math:`2^{-128}`."""

MIN_BITS, MAX_BITS, SMALL_PRIME_BOUND = 1024, 4096, 1 << 16
"""Defaults of :func:`check_modulus`."""

_TAG = b"encmed/paillier-key-proof/v1"


@functools.lru_cache(maxsize=4)
def _primorial(bound: int) -> gmpy2.mpz:
    """Product of the primes below ``bound`` (computed once per bound)."""
    return gmpy2.primorial(bound - 1)


def proof_rounds(small_prime_bound: int = SMALL_PRIME_BOUND, kappa: int = KAPPA) -> int:
    """:math:`m = \\lceil \\kappa / \\log_2 \\alpha \\rceil` challenges for soundness :math:`2^{-\\kappa}`."""
    if not is_integer(small_prime_bound) or small_prime_bound < 3:
        raise DomainError(f"small_prime_bound must be an integer >= 3, got {small_prime_bound!r}")
    return math.ceil(kappa / math.log2(small_prime_bound))


def check_modulus(n: object, *, min_bits: int = MIN_BITS, max_bits: int = MAX_BITS,
                  small_prime_bound: int = SMALL_PRIME_BOUND) -> None:
    """Refuse a malformed Paillier modulus with no modular exponentiation by :func:`gmpy2.powmod`.

    Checks, cheapest first: integer type, bit length, odd, no prime factor below
    ``small_prime_bound``, not a perfect power (:func:`gmpy2.is_power`), not
    prime (:func:`gmpy2.is_prime`: a BPSW test, about one exponentiation
    inside GMP, 3 to 12 ms at 2048 bits on the course machine).

    Raises
    ------
    KeyTooSmallError
        ``n`` has fewer than ``min_bits`` bits.
    InvalidKeyError
        Any other check fails (the message says which).
    """
    if not is_integer(n):
        raise InvalidKeyError(f"the Paillier modulus n must be an integer, got {type(n).__name__}")
    if n <= 0:
        raise InvalidKeyError("the Paillier modulus n must be positive")
    bits = int(gmpy2.mpz(n).bit_length())
    if bits < min_bits:
        raise KeyTooSmallError(f"the Paillier modulus n has {bits} bits: at least {min_bits} are required")
    if bits > max_bits:
        raise InvalidKeyError(f"the Paillier modulus n has {bits} bits: at most {max_bits} are accepted")
    if n % 2 == 0:
        raise InvalidKeyError("the Paillier modulus n must be odd")
    proof_rounds(small_prime_bound)  # validates the bound
    if gmpy2.gcd(n, _primorial(int(small_prime_bound))) != 1:
        raise InvalidKeyError(f"the Paillier modulus n has a prime factor below {small_prime_bound}")
    if gmpy2.is_power(n):
        raise InvalidKeyError(
            "the Paillier modulus n is a perfect power (such as p^2); it must be square-free")
    if gmpy2.is_prime(n):  # last: it costs about one exponentiation (inside GMP)
        raise InvalidKeyError("the Paillier modulus n is prime: it must be a product of two primes")


def _challenge(n, i: int) -> gmpy2.mpz:
    """:math:`y_i = H(n, i)`, uniform in :math:`[1, n)`: SHA-256 in counter mode, rejection-sampled."""
    n = gmpy2.mpz(n)
    bits = int(n.bit_length())
    n_bytes, blocks = (bits + 7) // 8, -(-((bits + 7) // 8) // 32)
    prefix = _TAG + len(int_bytes(n)).to_bytes(4, "big") + int_bytes(n) + i.to_bytes(4, "big")
    for attempt in range(1 << 16):
        stream = b"".join(hashlib.sha256(prefix + attempt.to_bytes(4, "big") + k.to_bytes(4, "big")).digest()
                          for k in range(blocks))
        y = int.from_bytes(stream[:n_bytes], "big") >> (8 * n_bytes - bits)
        if 0 < y < n:
            return gmpy2.mpz(y)
    raise InvalidKeyError("no challenge below n found")  # probability below 2^-65536


def prove_paillier_key(private_key: PrivateKey, *, small_prime_bound: int = SMALL_PRIME_BOUND) -> list[int]:
    """Prove :math:`\\gcd(n, \\varphi(n)) = 1`: :math:`z_i = y_i^{n^{-1} \\bmod \\varphi(n)} \\bmod n`.

    Parameters
    ----------
    private_key : PrivateKey
        Its factors ``p``, ``q``; :math:`\\varphi(n) = (p-1)(q-1)`, roots by CRT.
    small_prime_bound : int
        Must match the verifier's (it sets the number of challenges, :func:`proof_rounds`).

    Returns
    -------
    list of int
        :math:`m` integers in :math:`[1, n)`.
    """
    n = private_key.public_key.n
    p, q = gmpy2.mpz(private_key.p), gmpy2.mpz(private_key.q)
    phi = (p - 1) * (q - 1)
    if gmpy2.gcd(n, phi) != 1:
        raise InvalidKeyError("gcd(n, phi(n)) != 1: this key cannot be certified")
    d = gmpy2.invert(n, phi)
    dp, dq, p_inverse = d % (p - 1), d % (q - 1), gmpy2.invert(p, q)
    proof = []
    for i in range(proof_rounds(small_prime_bound)):
        y = _challenge(n, i)
        zp, zq = gmpy2.powmod(y, dp, p), gmpy2.powmod(y, dq, q)
        proof.append(int(zp + p * ((zq - zp) * p_inverse % q)))
    return proof


def verify_paillier_key(n: object, proof: object, **check_kwargs) -> None:
    """Check ``n`` (:func:`check_modulus`) and the proof; raise :class:`InvalidKeyError` if either fails.

    Parameters
    ----------
    n : int
        The client's modulus.
    proof : sequence of int or of decimal str
        :func:`prove_paillier_key`'s output (strings are parsed with their length bounded).
    **check_kwargs
        ``min_bits``, ``max_bits``, ``small_prime_bound`` for :func:`check_modulus`.

    Notes
    -----
    Everything that does not need an exponentiation (the modulus, the proof's
    length, each element's type and range) is checked first; then :math:`m`
    exponentiations :math:`z_i^n \\bmod n`.
    """
    check_modulus(n, **check_kwargs)
    m = proof_rounds(check_kwargs.get("small_prime_bound", SMALL_PRIME_BOUND))
    if not isinstance(proof, list | tuple) or len(proof) != m:
        got = f"{len(proof)} elements" if isinstance(proof, list | tuple) else type(proof).__name__
        raise InvalidKeyError(f"the Paillier key proof must be a list of {m} integers; got {got}")
    n = gmpy2.mpz(n)
    bits = int(n.bit_length())
    zs = []
    for i, z in enumerate(proof):
        if isinstance(z, str):
            z = parse_decimal(z, f"Paillier key proof element {i}", bits, InvalidKeyError)
        if not is_integer(z) or not 0 < z < n or gmpy2.gcd(z, n) != 1:
            raise InvalidKeyError(f"Paillier key proof element {i} must be an integer in (0, n) coprime to n")
        zs.append(gmpy2.mpz(z))
    for i, z in enumerate(zs):
        if gmpy2.powmod(z, n, n) != _challenge(n, i):
            raise InvalidKeyError(f"the Paillier key proof does not verify (element {i}): gcd(n, phi(n)) = 1 "
                                  "is not shown, so this key is refused")


class CertifiedKeys:
    """Moduli whose proof verified, remembered (least recently used first out) so each is checked once.

    Parameters
    ----------
    max_size : int
        How many moduli to remember.
    **check_kwargs
        Passed to :func:`verify_paillier_key`.
    """

    def __init__(self, max_size: int = 1024, **check_kwargs):
        if not is_integer(max_size) or max_size < 1:
            raise DomainError(f"CertifiedKeys: max_size must be a positive integer, got {max_size!r}")
        self.max_size = int(max_size)
        self.check_kwargs = check_kwargs
        self._known: OrderedDict[int, None] = OrderedDict()

    def verify(self, n: int, proof: object) -> None:
        """Return at once if ``n`` was certified before, else verify (raises :class:`InvalidKeyError`)."""
        if is_integer(n) and int(n) in self._known:
            self._known.move_to_end(int(n))
            return
        verify_paillier_key(n, proof, **self.check_kwargs)
        self._known[int(n)] = None
        if len(self._known) > self.max_size:
            self._known.popitem(last=False)

    def __contains__(self, n: object) -> bool:
        return is_integer(n) and int(n) in self._known

    def __len__(self) -> int:
        return len(self._known)
