"""The lattice attack: basic mode's thresholds from a few replies, without any candidate grid.

Send the same edge record (:func:`~encmed_lib.attacks.edge_record`) ``k``
times.  At one node :math:`d = T - X_f \\approx 2^{42}` is the same every
time and the blinds are fresh:

.. math::  v_i = r_i\\,d + s_i, \\qquad 1 \\le r_i < 2^{21}, \\quad 0 \\le s_i < r_i .

This is the *approximate common divisor* problem (Howgrave-Graham 2001):
the :math:`v_i` are near-multiples of an unknown :math:`d`.  The
simultaneous-Diophantine-approximation lattice (van Dijk, Gentry, Halevi,
Vaikuntanathan 2010) spanned by the rows

.. math::

    \\begin{pmatrix} 2^{\\rho} & v_1 & v_2 & \\cdots & v_{k-1} \\\\
                     0 & -v_0 & 0 & \\cdots & 0 \\\\
                     \\vdots & & \\ddots & & \\vdots \\\\
                     0 & 0 & \\cdots & 0 & -v_0 \\end{pmatrix}, \\qquad \\rho = 21,

contains :math:`(r_0 2^{\\rho},\\ r_0 v_1 - r_1 v_0,\\ \\ldots)` whose entries
:math:`r_0 v_i - r_i v_0 = r_0 s_i - r_i s_0` are below :math:`2^{42}`, while
the lattice's determinant :math:`2^{\\rho} v_0^{k-1} \\approx 2^{21 + 63(k-1)}`
makes a typical vector about :math:`2^{(21 + 63(k-1))/k}` long: from
:math:`k = 3` on (:math:`2^{49}` against :math:`2^{42}`; the seed's 40-bit
blinds on 61-bit differences needed :math:`k = 4`) LLL finds the short
vector, hence :math:`r_0`, :math:`d = \\lfloor v_0 / r_0 \\rfloor` and
:math:`T = d + X_f`.  The attacker checks its answer itself: every
:math:`v_i` must fit :math:`d` (:func:`~encmed_lib.attacks.sieve.fits`),
:math:`T` must be a plausible threshold (:func:`~encmed_lib.attacks.common.identify_feature`)
and no other candidate may pass both (:func:`recover_node`).  With :math:`k = 2`
the short vector sits at the typical length, other vectors compete, and a
wrong answer can pass the check (measured: 5 nodes in 300); from :math:`k = 3`
none did in 60 runs.

The reduction is a small textbook LLL (Lenstra, Lenstra, Lovász 1982),
:func:`lll_reduce`, with integer rows and high-precision ``gmpy2`` floats for
the Gram-Schmidt coefficients: the lattices have dimension ``k`` (3 to 6), so
no lattice library is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import gmpy2

from ..crypto.encoding import SCALE
from ..protocol.client import Client
from ..protocol.messages import BLIND_BITS
from .common import Oracle, ThresholdRecovery, encoded_record, identify_feature
from .sieve import SPACING, edge_record, fits


def _dot(u: Sequence, v: Sequence):
    return sum(x * y for x, y in zip(u, v, strict=True))


def _gram_schmidt(b: list[list[int]]) -> tuple[list[list], list]:
    """:math:`\\mu_{ij} = \\langle b_i, b_j^* \\rangle / \\|b_j^*\\|^2` and :math:`B_j = \\|b_j^*\\|^2`."""
    n = len(b)
    zero = gmpy2.mpfr(0)
    star: list[list] = []
    mu = [[zero] * n for _ in range(n)]
    norms: list = []
    for i in range(n):
        v = [gmpy2.mpfr(x) for x in b[i]]
        for j in range(i):
            mu[i][j] = _dot(b[i], star[j]) / norms[j] if norms[j] else zero
            v = [vi - mu[i][j] * sj for vi, sj in zip(v, star[j], strict=True)]
        star.append(v)
        norms.append(_dot(v, v))
    return mu, norms


def lll_reduce(basis: Sequence[Sequence[int]], delta: float = 0.99) -> list[list[int]]:
    """LLL-reduce the rows of an integer basis.

    The result spans the same lattice (the rows stay exact integers) and
    satisfies, with Gram-Schmidt :math:`b_i^*` and :math:`\\mu_{ij}`:
    :math:`|\\mu_{ij}| \\le 1/2` (size reduction) and
    :math:`\\|b_k^*\\|^2 \\ge (\\delta - \\mu_{k,k-1}^2)\\|b_{k-1}^*\\|^2`
    (Lovász).  Its first row is then at most :math:`(4/(4\\delta - 1))^{(n-1)/2}`
    times the shortest vector; in the dimensions used here far closer.  The
    Gram-Schmidt coefficients are ``gmpy2.mpfr`` numbers with twice the
    entries' bit length plus 64 bits of precision (exact fractions would be
    as right and ten times slower).

    Parameters
    ----------
    basis : sequence of integer sequences
        Linearly independent rows.
    delta : float
        Lovász parameter in :math:`(1/4, 1)`.
    """
    b = [[int(x) for x in row] for row in basis]
    n = len(b)
    bits = max(abs(x).bit_length() for row in b for x in row)
    with gmpy2.context(gmpy2.get_context(), precision=2 * bits + 64):
        mu, norms = _gram_schmidt(b)
        k = 1
        while k < n:
            for j in range(k - 1, -1, -1):
                q = int(round(mu[k][j]))
                if q:
                    b[k] = [x - q * y for x, y in zip(b[k], b[j], strict=True)]
                    for m in range(j):
                        mu[k][m] -= q * mu[j][m]
                    mu[k][j] -= q
            if norms[k] >= (delta - mu[k][k - 1] ** 2) * norms[k - 1]:
                k += 1
            else:
                b[k], b[k - 1] = b[k - 1], b[k]
                mu, norms = _gram_schmidt(b)
                k = max(k - 1, 1)
    return b


MULTIPLES = 16
"""Multiples :math:`m r_0` tried per reduced row (the blinds may share a factor up to 16)."""


def common_divisor_candidates(values: Sequence[int], blind_bits: int = BLIND_BITS) -> list[int]:
    """Candidate :math:`d` for near-multiples :math:`v_i = r_i d + s_i` (``len(values) >= 2``), best first.

    From each row of the reduced lattice (module docstring), :math:`r_0` is
    its first entry divided by :math:`2^{\\rho}`; multiples up to
    :data:`MULTIPLES` are tried too (if the :math:`r_i` share a factor, LLL
    returns the quotient).
    """
    v0, rest = int(values[0]), [int(v) for v in values[1:]]
    k = len(rest) + 1
    basis = [[1 << blind_bits] + rest]
    basis += [[0] * i + [-v0] + [0] * (k - 1 - i) for i in range(1, k)]
    out: list[int] = []
    for row in lll_reduce(basis):
        r0 = abs(row[0]) >> blind_bits
        for m in range(1, MULTIPLES + 1):
            if r0 and v0 // (m * r0) not in out:
                out.append(v0 // (m * r0))
    return out


def recover_node(values: Sequence[int], encoded: Mapping[str, int],
                 spacing: float = SPACING) -> tuple[str, int] | None:
    """One node's ``(feature, T)`` from its values under one repeated edge record, or None.

    The candidate divisors that fit every value and give a threshold
    :math:`|t| <` ``spacing``/2 must name exactly one ``(feature, T)``, or the
    node stays undecided (None).  Several can fit: when every blind :math:`r_i`
    shares a factor :math:`g`, LLL finds :math:`r_0/g`, and :math:`d' = d g / m`
    explains the values as well as :math:`d` does (blinds :math:`r_i m / g`, the
    same :math:`s_i`), e.g. :math:`2d/3` when every :math:`r_i` is even.  Nothing
    in the values tells them apart; another reply (fresh blinds, rarely all
    sharing :math:`g` again) does.
    """
    if len(values) < 2 or min(values) <= 0:
        return None
    bound = spacing / 2 * SCALE
    found: set[tuple[str, int]] = set()
    for d in common_divisor_candidates(values):
        if d > 0 and all(fits(v, d) for v in values):
            f, T = identify_feature(d, encoded)
            if abs(T) < bound:
                found.add((f, T))
    return next(iter(found)) if len(found) == 1 else None


def lattice_attack(client: Client, oracle: Oracle, features: Iterable[str], n_queries: int = 4, *,
                   spacing: float = SPACING, until_done: bool = False) -> ThresholdRecovery:
    """Recover basic mode's thresholds from ``n_queries`` replies to one edge record, with no grid.

    Parameters
    ----------
    client : Client
        The attacker's own client.
    oracle : callable
        ``oracle(query) -> Reply``.
    features : iterable of str
        Every feature the record must carry.
    n_queries : int
        Replies to use (at least 2); with ``until_done`` the budget: the
        attack then starts with 2 and adds one query at a time until every
        node is recovered, so ``queries`` measures how many it needed.
    spacing : float
        Distance between two features' values (thresholds must satisfy
        :math:`|t| < \\text{spacing}/2`).

    Returns
    -------
    ThresholdRecovery
    """
    if n_queries < 2:
        raise ValueError(f"the lattice attack needs at least 2 replies, got n_queries={n_queries}")
    record = edge_record(features, spacing=spacing)
    encoded = encoded_record(record)
    replies: list[list[int]] = []
    nodes: list = []
    while len(replies) < n_queries:
        replies.append(client.decrypt_values(oracle(client.encrypt(record))))
        if len(replies) < 2 or (not until_done and len(replies) < n_queries):
            continue
        nodes = [recover_node(per_node, encoded, spacing) for per_node in zip(*replies, strict=True)]
        if until_done and all(node is not None for node in nodes):
            break
    return ThresholdRecovery("lattice", len(replies), nodes,
                             detail="approximate common divisor, LLL in exact arithmetic")
