"""Malformed client keys: a modulus the client built so that the server's randomiser hides nothing.

The servers re-randomise every reply with their own :math:`\\rho^n`
(:mod:`encmed_lib.protocol.server`, :mod:`encmed_lib.protocol.linear`).  That
erases what the client planted in its own randomisers *only if*
:math:`n = pq` is well formed, :math:`\\gcd(n, \\varphi(n)) = 1`: then
:math:`\\mathbb{Z}_{n^2}^* \\cong \\mathbb{Z}_n \\times \\mathbb{Z}_n^*` and
:math:`\\rho^n` is uniform on the second factor.  Nothing checks the form of
:math:`n` today.  The attacker picks

.. math::  n = P\\,q, \\quad P = p_1 \\cdots p_k \\text{ (small primes)}, \\quad q = 2Pt + 1 \\text{ prime}.

Modulo :math:`q`, the group :math:`\\mathbb{Z}_q^*` has an element
:math:`g_j` of order :math:`p_j` for every :math:`j` (as :math:`p_j \\mid q - 1`),
and the server's randomiser is *blind to it*: raising to
:math:`e_j = (q-1)/p_j`,

.. math::  (\\rho^n)^{e_j} = \\rho^{\\,q (P/p_j) (q - 1)} \\equiv 1, \\qquad
           (1 + m n)^{e_j} \\equiv 1 \\pmod q,

so the projection :math:`c \\mapsto c^{e_j} \\bmod q` of any reply keeps
exactly what the client planted: if feature :math:`i`'s ciphertext carries the
factor :math:`\\prod_{j \\in J_i} g_j` (and the reply raises it to
:math:`W_i`), then :math:`c^{e_j} = z_j^{W_i}` with
:math:`z_j = g_j^{e_j}`: a discrete logarithm in a group of order
:math:`p_j \\approx 2^{20}` (baby-step giant-step, :math:`2^{10}` steps; the
issue's 30-bit primes work the same, 32 times slower) gives
:math:`W_i \\bmod p_j`, **with no noise**: the server's noise is added to the
plaintext, which the projection erases.  Three primes per weight and the
Chinese remainder theorem give every fixed-point weight :math:`W_i` exactly,
from one query (:func:`malformed_modulus_linear`).  Against the tree
(:func:`malformed_modulus_tree`) the same projection of a pack gives
:math:`\\sum_k r_k 2^{wk}`, i.e. every blind :math:`r_k`, and with them every
:math:`d_k = \\lfloor v_k / r_k \\rfloor`.

:func:`key_probe` sends queries under other malformed moduli (even, prime,
perfect square, :math:`3q`) and reports what the server did: the defence
(certified keys) shows as ``"refused"``.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import gmpy2
import pandas as pd

from ..errors import EncmedError
from ..protocol.linear import LinearQuery, LinearServer
from ..protocol.messages import BLIND_BITS, SLOT_BITS, Query, slots_per_pack
from .common import ThresholdRecovery, WeightRecovery, encoded_record, identify_feature
from .sieve import SPACING, edge_record


def _random_prime(bits: int) -> gmpy2.mpz:
    return gmpy2.next_prime(secrets.randbits(bits) | (3 << (bits - 2)))  # a product keeps 2 top bits


def _dlog(y, z, order: int, modulus):
    """:math:`x \\in [0, \\text{order})` with :math:`z^x = y` (baby-step giant-step), or None."""
    m = math.isqrt(order) + 1
    table, acc = {}, gmpy2.mpz(1)
    for i in range(m):
        table.setdefault(int(acc), i)
        acc = acc * z % modulus
    step = gmpy2.invert(acc, modulus)  # z^-m
    gamma = gmpy2.mpz(y) % modulus
    for j in range(m + 1):
        i = table.get(int(gamma))
        if i is not None:
            return (j * m + i) % order
        gamma = gamma * step % modulus
    return None


def _crt_signed(residues: list[int], moduli: list[int]) -> int:
    """The integer in :math:`(-M/2, M/2]` with the given residues (:math:`M = \\prod` moduli)."""
    M, x = 1, 0
    for a, p in zip(residues, moduli, strict=True):
        x += M * ((a - x) * int(gmpy2.invert(M, p)) % p)
        M *= p
    return x - M if x > M // 2 else x


@dataclass
class MalformedKey:
    """:math:`n = P q` with :math:`P = \\prod p_j \\mid q - 1`, and what its maker can do with it."""

    primes: list[int]
    q: int
    generators: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        return math.prod(self.primes) * self.q

    @property
    def bits(self) -> int:
        return self.n.bit_length()

    @classmethod
    def generate(cls, n_primes: int, prime_bits: int = 30, extra_bits: int = 64) -> MalformedKey:
        """``n_primes`` distinct ``prime_bits``-bit primes, a prime :math:`q = 2Pt + 1` (:mod:`secrets`)."""
        primes: set[int] = set()
        while len(primes) < n_primes:
            primes.add(int(_random_prime(prime_bits)))
        P = math.prod(primes)
        while True:
            t = secrets.randbits(extra_bits) | (1 << (extra_bits - 1))
            if math.gcd(t, P) == 1 and gmpy2.is_prime(2 * P * t + 1):
                break
        key = cls(sorted(primes), 2 * P * t + 1)
        for p in key.primes:  # g_j of order p_j in Z_q^*
            g = 1
            while g == 1:
                g = int(gmpy2.powmod(2 + secrets.randbelow(key.q - 3), (key.q - 1) // p, key.q))
            key.generators.append(g)
        return key

    def plant(self, exponents: dict[int, int]) -> int:
        """A unit of :math:`\\mathbb{Z}_{n^2}^*`: :math:`\\prod_j g_j^{e_j}` modulo :math:`q^2` (no
        :math:`\\mathbb{Z}_q` part: raised to :math:`q`), 1 modulo :math:`P^2`."""
        G = 1
        for j, e in exponents.items():
            G = G * int(gmpy2.powmod(self.generators[j], e, self.q)) % self.q
        q2, P2 = self.q ** 2, math.prod(self.primes) ** 2
        G = int(gmpy2.powmod(G, self.q, q2))
        return G + q2 * ((1 - G) * int(gmpy2.invert(q2, P2)) % P2)

    def encrypt(self, m: int, planted: int) -> int:
        """:math:`(1 + m n) \\cdot \\text{planted} \\bmod n^2`."""
        n = self.n
        return (1 + (m % n) * n) * planted % (n * n)

    def read(self, c: int, j: int) -> int | None:
        """:math:`x \\bmod p_j` where the projection of ``c`` is :math:`z_j^{x}` (module docstring)."""
        e = (self.q - 1) // self.primes[j]
        z = gmpy2.powmod(self.generators[j], e, self.q)
        return _dlog(gmpy2.powmod(c, e, self.q), z, self.primes[j], self.q)

    def decrypt(self, c: int) -> int:
        """The plaintext modulo :math:`n`, one prime at a time (:math:`L_p(c^{p-1} \\bmod p^2)`) and CRT."""
        n, residues, moduli = self.n, [], []
        for p in [*self.primes, self.q]:
            p2 = p * p
            h = gmpy2.invert((gmpy2.powmod(1 + n, p - 1, p2) - 1) // p, p)
            residues.append(int((gmpy2.powmod(c, p - 1, p2) - 1) // p * h % p))
            moduli.append(p)
        return _crt_signed(residues, moduli) % n

    def query(self, cts: dict[str, int], *, linear: bool = False) -> Query:
        """A :class:`Query` (or :class:`LinearQuery`) under this key."""
        kind = LinearQuery if linear else Query
        return kind(secrets.token_hex(16), {"n": str(self.n)}, list(cts), list(cts.values()))


def malformed_modulus_linear(oracle, features: Iterable[str], *, prime_bits: int = 20,
                             weight_bits: int = 80) -> WeightRecovery:
    """Every weight of a :class:`~encmed_lib.LinearServer`, exactly, from one query under :math:`n = Pq`.

    Works against ``output="noisy"`` (the noise is added to the plaintext,
    which the projection erases) as well as ``"exact"``.

    Parameters
    ----------
    oracle : callable
        ``oracle(linear_query) -> LinearReply``, e.g. ``server.evaluate``.
    features : iterable of str
        Every feature the query must carry (each gets its own primes).
    prime_bits : int
        Size of the small primes :math:`p_j` (the discrete logarithms cost :math:`2^{b/2}`).
    weight_bits : int
        Every :math:`|W_i|` is assumed below :math:`2^{\\text{weight\\_bits}}` (:math:`|w_i| < 2^{16}`
        by default): each weight gets enough primes for their product to exceed twice that.

    Returns
    -------
    WeightRecovery
        ``status="refused"`` when the server refuses the key.
    """
    names = [str(f) for f in features]
    primes_per_weight = -(-(weight_bits + 1) // (prime_bits - 1))
    key = MalformedKey.generate(len(names) * primes_per_weight, prime_bits)
    owned = {f: range(i * primes_per_weight, (i + 1) * primes_per_weight) for i, f in enumerate(names)}
    cts = {f: key.encrypt(0, key.plant({j: 1 for j in owned[f]})) for f in names}
    try:
        reply = oracle(key.query(cts, linear=True))
    except EncmedError as exc:
        return WeightRecovery("malformed modulus", 1, "refused", f"{type(exc).__name__}: {exc}",
                              key_bits=key.bits)
    W = {}
    for f in names:
        residues = [key.read(reply.ciphertext, j) for j in owned[f]]
        W[f] = None if None in residues else _crt_signed(residues, [key.primes[j] for j in owned[f]])
    return WeightRecovery("malformed modulus", 1, W=W, key_bits=key.bits,
                          detail=f"n = P q with {len(key.primes)} primes of {prime_bits} bits")


def malformed_modulus_tree(oracle, features: Iterable[str], n_values: int, *, prime_bits: int = 20,
                           spacing: float = SPACING) -> ThresholdRecovery:
    """Every blind and threshold of basic mode from one query under :math:`n = Pq`.

    Every feature's ciphertext carries :math:`\\prod_j g_j`; the projection of
    a pack onto :math:`\\langle g_j \\rangle` is :math:`z_j^{-R}` with
    :math:`R = \\sum_k r_k 2^{wk}` (the packing's exponent), so enough primes
    (:math:`P > 2^{w(m-1) + 22}`) give every :math:`r_k`; the client decrypts
    the pack (:meth:`MalformedKey.decrypt`) and reads
    :math:`d_k = \\lfloor v_k / r_k \\rfloor` exactly.  The record is the edge
    record (in-domain), so :math:`T_k = d_k + X_f` names its feature.
    """
    w = SLOT_BITS
    n_primes = -(-(w * (n_values - 1) + BLIND_BITS + 2) // (prime_bits - 1))
    key = MalformedKey.generate(n_primes, prime_bits)
    record = edge_record(features, spacing=spacing)
    encoded = encoded_record(record)
    planted = key.plant({j: 1 for j in range(n_primes)})
    try:
        reply = oracle(key.query({f: key.encrypt(X, planted) for f, X in encoded.items()}))
    except EncmedError as exc:
        return ThresholdRecovery("malformed modulus", 1, status="refused",
                                 detail=f"{type(exc).__name__}: {exc}")
    per, mask, off = slots_per_pack(key.bits), (1 << w) - 1, 1 << (w - 1)
    P = math.prod(key.primes)
    nodes, blinds = [], []
    for c in reply.packs:
        R = -_crt_signed([key.read(c, j) for j in range(n_primes)], key.primes) % P
        m = key.decrypt(c)
        for k in range(min(per, reply.n_values - len(nodes))):
            r, v = (R >> (w * k)) & mask, ((m >> (w * k)) & mask) - off
            nodes.append(identify_feature(v // r, encoded) if r else None)
            blinds.append((r, v - (v // r) * r) if r else None)
    return ThresholdRecovery("malformed modulus", 1, nodes, blinds=blinds,
                             detail=f"n = P q, {key.bits} bits, {n_primes} primes of {prime_bits} bits")


def _certificate(p: int, q: int) -> list[str]:
    """The GRSB certificate of the well-formed key ``p*q`` (what an honest client sends)."""
    from ..crypto.keycert import prove_paillier_key
    from ..crypto.paillier import PrivateKey, PublicKey

    return [str(z) for z in prove_paillier_key(PrivateKey(PublicKey(p * q), p, q), two_primes=False)]


def _moduli(bits: int) -> dict[str, int]:
    """Malformed moduli of about ``bits`` bits, by kind (and one well-formed, for comparison)."""
    half = bits // 2
    p, q = _random_prime(half), _random_prime(bits - half)
    _moduli.certificate = {int(p * q): _certificate(int(p), int(q))}
    return {"well-formed p*q": int(p * q),
            "even n": int(2 * _random_prime(bits - 1)),
            "prime n": int(_random_prime(bits)),
            "perfect square p^2": int(p * p),
            "3 * q": int(3 * _random_prime(bits - 1)),
            "P * q, P | q - 1": MalformedKey.generate(max(2, half // 20), 20).n}


def key_probe(server, features: Iterable[str], *, bits: int = 1024) -> pd.DataFrame:
    """Send one query under each kind of modulus and report whether the server accepted it.

    The ciphertexts are :math:`1 + X n` (valid units for any :math:`n`): this
    probes the key check, not the encryption.  The well-formed key carries its real
    certificate; every malformed one a certificate of random numbers (no real one exists).
    ``outcome`` is ``"accepted"``, ``"refused"`` (an :class:`~encmed_lib.errors.EncmedError`: the defence)
    or ``"failed"`` (any other exception).
    """
    names = [str(f) for f in features]
    linear = isinstance(server, LinearServer)
    rows = []
    for kind, n in _moduli(bits).items():
        cts = {f: 1 + n for f in names}  # E(1) with randomiser 1
        proof = _moduli.certificate.get(n, [str(1 + secrets.randbelow(n - 1)) for _ in range(8)])
        query = (LinearQuery if linear else Query)(secrets.token_hex(16), {"n": str(n), "proof": proof},
                                                   names, list(cts.values()))
        start = time.process_time()
        try:
            server.evaluate(query)
            outcome, error = "accepted", ""
        except EncmedError as exc:
            outcome, error = "refused", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
        rows.append({"modulus": kind, "bits": n.bit_length(), "outcome": outcome,
                     "server_cpu_ms": 1000 * (time.process_time() - start), "error": error})
    return pd.DataFrame(rows)

