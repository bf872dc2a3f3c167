"""Certified Paillier keys: cheap structural checks of a client's modulus, then a proof.

A server that computes on ciphertexts under a *client's* Paillier key relies
on that key for its own privacy: its replies hide what it computed only if
:math:`(m, r) \\mapsto (1+n)^m r^n \\bmod n^2` is a bijection
:math:`\\mathbb{Z}_n \\times \\mathbb{Z}_n^* \\to \\mathbb{Z}_{n^2}^*`, so that a
uniform :math:`r^n` drawn by the server re-randomises perfectly.  That holds
exactly when :math:`\\gcd(n, \\varphi(n)) = 1` (the condition GRSB certify for
Paillier; it forces :math:`n` square-free).  And the server must not let a stranger make it
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

3. **Exactly two prime factors** (``two_primes=True``, the default).  The
   gcd proof makes :math:`n` square-free, but a product of many 30-bit primes
   passes it if its owner computes :math:`\\varphi(n)` right.  So the prover
   also publishes a *pseudo-square* :math:`y` (a non-residue modulo both
   :math:`p` and :math:`q`, Jacobi symbol +1: Goldwasser-Micali's public key)
   and, for :math:`\\kappa` challenges :math:`\\rho_i = H'(n, y, i)` drawn among
   the units of Jacobi symbol +1, a square root :math:`x_i` of
   :math:`\\rho_i y^{j_i}` with a selector bit :math:`j_i`.  For :math:`n = pq`
   a unit of Jacobi symbol +1 is a square or :math:`y` times a square, so the
   honest prover always answers.  For a square-free :math:`n` with
   :math:`\\ell \\ge 3` prime factors the units of Jacobi symbol +1 fall into
   :math:`2^{\\ell-1} \\ge 4` square classes and :math:`\\{1, y\\}` covers at
   most 2 of them: each round passes with probability at most 1/2, all
   :math:`\\kappa` with at most :math:`2^{-128}`.  (:math:`\\ell = 1`, a prime,
   was refused in step 1.)  This is GRSB's two-prime proof for Blum integers,
   where :math:`y = -1`, with :math:`y` published so that any :math:`p, q` work;
   its zero-knowledge rests on the quadratic-residuosity assumption (a
   pseudo-square looks like a square), as Goldwasser-Micali encryption does.
   The verifier's part costs hashes, Jacobi symbols and one squaring per round
   (no exponentiation); the prover's, two square roots per round.

The server's privacy needs only steps 1 and 2 (the bijection above holds for
any square-free :math:`n` with :math:`\\gcd(n, \\varphi(n)) = 1`); step 3
makes sure that the client's key is the two-prime modulus it claims, which
protects the client's own data from its own bad key generation.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from collections import OrderedDict

import gmpy2

from ..errors import DomainError, InvalidKeyError, KeyTooSmallError
from .paillier import PrivateKey
from .wire import int_bytes, is_integer, parse_decimal

__all__ = ["KAPPA", "check_modulus", "proof_rounds", "proof_length", "prove_paillier_key",
           "verify_paillier_key", "CertifiedKeys"]

KAPPA = 128
"""Soundness of the key proof: a malformed key passes with probability at most :math:`2^{-128}`."""

MIN_BITS, MAX_BITS, SMALL_PRIME_BOUND = 1024, 4096, 1 << 16
"""Defaults of :func:`check_modulus`."""

_TAG = b"encmed/paillier-key-proof/v1"
_TAG_TWO = b"encmed/paillier-two-primes/v1"


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


def _hash_to_zn(n, tag: bytes, data: bytes, *, jacobi_one: bool = False) -> gmpy2.mpz:
    """Uniform in :math:`[1, n)` (or, with ``jacobi_one``, among units of Jacobi symbol +1) from
    SHA-256 in counter mode, by rejection: deterministic in ``(n, tag, data)``."""
    n = gmpy2.mpz(n)
    bits = int(n.bit_length())
    n_bytes, blocks = (bits + 7) // 8, -(-((bits + 7) // 8) // 32)
    prefix = tag + len(int_bytes(n)).to_bytes(4, "big") + int_bytes(n) + len(data).to_bytes(4, "big") + data
    for attempt in range(1 << 16):
        stream = b"".join(hashlib.sha256(prefix + attempt.to_bytes(4, "big") + k.to_bytes(4, "big")).digest()
                          for k in range(blocks))
        y = gmpy2.mpz(int.from_bytes(stream[:n_bytes], "big") >> (8 * n_bytes - bits))
        if 0 < y < n and (not jacobi_one or gmpy2.jacobi(y, n) == 1):
            return y
    raise InvalidKeyError("no challenge found in 65536 attempts")  # not for a modulus that passed the checks


def _challenge(n, i: int) -> gmpy2.mpz:
    """GRSB challenge :math:`y_i = H(n, i)`, uniform in :math:`[1, n)`."""
    return _hash_to_zn(n, _TAG, i.to_bytes(4, "big"))


def _two_prime_challenge(n, y, i: int) -> gmpy2.mpz:
    """Challenge :math:`\\rho_i = H'(n, y, i)`, uniform among the units of Jacobi symbol +1."""
    return _hash_to_zn(n, _TAG_TWO, int_bytes(y) + i.to_bytes(4, "big"), jacobi_one=True)


class _SquareRoots:
    """Square roots modulo an odd prime ``p`` (Tonelli-Shanks, one exponentiation per root).

    With :math:`p - 1 = 2^s t`, :math:`t` odd, and :math:`z` a non-residue
    (:math:`c = z^t`, computed once): :math:`r = x^{(t+1)/2}` and
    :math:`x^t = r^2 / x`, then :math:`s` rounds of squarings fix :math:`r`.
    """

    def __init__(self, p):
        self.p = p = gmpy2.mpz(p)
        self.s, self.t = 0, p - 1
        while self.t % 2 == 0:
            self.s, self.t = self.s + 1, self.t // 2
        z = gmpy2.mpz(2)
        while gmpy2.legendre(z, p) != -1:
            z += 1
        self.c = gmpy2.powmod(z, self.t, p)

    def __call__(self, x) -> gmpy2.mpz:
        p = self.p
        x = gmpy2.mpz(x) % p
        r = gmpy2.powmod(x, (self.t + 1) // 2, p)
        if x:
            m, c, tt = self.s, self.c, r * r * gmpy2.invert(x, p) % p
            while tt != 1:
                i, t2 = 0, tt
                while t2 != 1 and i < m:
                    t2, i = t2 * t2 % p, i + 1
                if i == m:
                    break  # x is not a square: caught below
                b = c
                for _ in range(m - i - 1):
                    b = b * b % p
                m, c, tt, r = i, b * b % p, tt * b * b % p, r * b % p
        if r * r % p != x:
            raise InvalidKeyError("cannot prove the key: a challenge has no square root modulo p or q "
                                  "(is one of them not prime?)")
        return r


def proof_length(small_prime_bound: int = SMALL_PRIME_BOUND, *, two_primes: bool = True) -> int:
    """Number of integers in a key proof: :func:`proof_rounds` roots, then :math:`y`, :data:`KAPPA`
    square roots and the packed selector bits if ``two_primes``."""
    return proof_rounds(small_prime_bound) + (KAPPA + 2 if two_primes else 0)


def _crt(xp, xq, p, q, p_inverse) -> gmpy2.mpz:
    return xp + p * ((xq - xp) * p_inverse % q)


def _prove_two_primes(n, p, q) -> list[int]:
    """``[y, x_0, ..., x_{KAPPA-1}, J]``: :math:`y` a pseudo-square, :math:`x_i^2 = \\rho_i y^{j_i}`."""
    p_inverse = gmpy2.invert(p, q)

    def non_residue(r):
        while True:
            z = gmpy2.mpz(secrets.randbelow(int(r) - 2) + 2)
            if gmpy2.legendre(z, r) == -1:
                return z

    y = _crt(non_residue(p), non_residue(q), p, q, p_inverse)
    sqrt_p, sqrt_q = _SquareRoots(p), _SquareRoots(q)
    roots, selector = [], 0
    for i in range(KAPPA):
        rho = _two_prime_challenge(n, y, i)
        j = 0 if gmpy2.legendre(rho, p) == 1 else 1  # Jacobi +1: both characters equal
        target = rho * y % n if j else rho
        roots.append(int(_crt(sqrt_p(target), sqrt_q(target), p, q, p_inverse)))
        selector |= j << i
    return [int(y), *roots, selector]


def prove_paillier_key(private_key: PrivateKey, *, small_prime_bound: int = SMALL_PRIME_BOUND,
                       two_primes: bool = True) -> list[int]:
    """The key proof: GRSB roots :math:`z_i = y_i^{n^{-1} \\bmod \\varphi(n)}`, then the two-prime part.

    Parameters
    ----------
    private_key : PrivateKey
        Its factors ``p``, ``q`` (checked prime); :math:`\\varphi(n) = (p-1)(q-1)`, roots by CRT.
    small_prime_bound : int
        Must match the verifier's (it sets the number of GRSB challenges, :func:`proof_rounds`).
    two_primes : bool
        Append the proof that :math:`n` has exactly two prime factors (:data:`KAPPA` + 2 integers).

    Returns
    -------
    list of int
        :func:`proof_length` integers.
    """
    n = private_key.public_key.n
    p, q = gmpy2.mpz(private_key.p), gmpy2.mpz(private_key.q)
    phi = (p - 1) * (q - 1)
    if not (gmpy2.is_prime(p) and gmpy2.is_prime(q)) or gmpy2.gcd(n, phi) != 1:
        raise InvalidKeyError("this key cannot be certified: p and q must be primes with gcd(n, phi(n)) = 1")
    d = gmpy2.invert(n, phi)
    dp, dq, p_inverse = d % (p - 1), d % (q - 1), gmpy2.invert(p, q)
    proof = []
    for i in range(proof_rounds(small_prime_bound)):
        y = _challenge(n, i)
        proof.append(int(_crt(gmpy2.powmod(y, dp, p), gmpy2.powmod(y, dq, q), p, q, p_inverse)))
    return proof + (_prove_two_primes(n, p, q) if two_primes else [])


def _parse_elements(n, proof: list, first: int = 0) -> list[gmpy2.mpz]:
    """The proof's integers (strings parsed, length bounded), each in :math:`(0, n)` and coprime to n."""
    bits, out = int(n.bit_length()), []
    for i, z in enumerate(proof, start=first):
        if isinstance(z, str):
            z = parse_decimal(z, f"Paillier key proof element {i}", bits, InvalidKeyError)
        if not is_integer(z) or not 0 < z < n or gmpy2.gcd(z, n) != 1:
            raise InvalidKeyError(f"Paillier key proof element {i} must be an integer in (0, n) coprime to n")
        out.append(gmpy2.mpz(z))
    return out


def _parse_selector(selector: object) -> int:
    if isinstance(selector, str):
        selector = parse_decimal(selector, "Paillier key proof selector", KAPPA, InvalidKeyError)
    if not is_integer(selector) or not 0 <= selector < (1 << KAPPA):
        raise InvalidKeyError(f"the Paillier key proof's last element (the selector) must be an integer "
                              f"in [0, 2^{KAPPA})")
    return int(selector)


def _verify_two_primes(n, y, roots: list, selector: int) -> None:
    """Check :math:`x_i^2 \\equiv \\rho_i y^{j_i} \\pmod n` for every round (one squaring each)."""
    for i, x in enumerate(roots):
        rho = _two_prime_challenge(n, y, i)
        if x * x % n != (rho * y % n if (selector >> i) & 1 else rho):
            raise InvalidKeyError(f"the Paillier key proof does not verify (square root {i}): n is not "
                                  "shown to have exactly two prime factors, so this key is refused")


def verify_paillier_key(n: object, proof: object, *, two_primes: bool = True, **check_kwargs) -> None:
    """Check ``n`` (:func:`check_modulus`) and the proof; raise :class:`InvalidKeyError` if either fails.

    Parameters
    ----------
    n : int
        The client's modulus.
    proof : sequence of int or of decimal str
        :func:`prove_paillier_key`'s output (strings are parsed with their length bounded).
    two_primes : bool
        Also require and check the two-prime part (the prover must use the same setting).
    **check_kwargs
        ``min_bits``, ``max_bits``, ``small_prime_bound`` for :func:`check_modulus`.

    Notes
    -----
    Order: the modulus; the proof's length and each element's type and range;
    the two-prime part (hashes, Jacobi symbols and one squaring per round, no
    exponentiation); last the :math:`m` exponentiations :math:`z_i^n \\bmod n`.
    """
    check_modulus(n, **check_kwargs)
    bound = check_kwargs.get("small_prime_bound", SMALL_PRIME_BOUND)
    m, length = proof_rounds(bound), proof_length(bound, two_primes=two_primes)
    if not isinstance(proof, list | tuple) or len(proof) != length:
        got = f"{len(proof)} elements" if isinstance(proof, list | tuple) else type(proof).__name__
        raise InvalidKeyError(f"the Paillier key proof must be a list of {length} integers; got {got}")
    n = gmpy2.mpz(n)
    if two_primes:
        selector = _parse_selector(proof[-1])
        elements = _parse_elements(n, proof[:-1])
        _verify_two_primes(n, elements[m], elements[m + 1:], selector)
    else:
        elements = _parse_elements(n, proof)
    for i, z in enumerate(elements[:m]):
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
