"""The one-query sieve: every threshold of basic mode from one reply of one edge record.

Basic mode returns, for every internal node, :math:`v = r\\,d + s` with
:math:`d = T - X_f`, :math:`1 \\le r < 2^{21}` and :math:`0 \\le s < r`
(:mod:`encmed_lib.protocol.server`).  The blind :math:`r` was meant to hide
:math:`|d|`; it does so only while :math:`|d|` is not much larger than
:math:`r`.  The client chooses its record.  With every feature near the
bottom of the encodable domain, :math:`x_f \\approx -2^{16}`
(:func:`edge_record`, still an ordinary in-domain record that
:meth:`Client.encrypt` accepts), every difference is
:math:`d = T - X_f \\approx 2^{42}`, far above :math:`r < 2^{21}`.  Then

.. math::  r = \\lfloor v / d \\rfloor, \\qquad s = v - r\\,d

(:math:`s < r \\le d`), so a public candidate threshold :math:`(f, t)`, with
:math:`d' = \\lfloor t\\,2^{26} \\rfloor - X_f`, *fits* :math:`v` when

.. math::  1 \\le r' := \\lfloor v / d' \\rfloor < 2^{21} \\quad\\text{and}\\quad v - r' d' < r'.

The true candidate always fits.  For a wrong one, :math:`v - r' d'` is
essentially uniform in :math:`[0, d')`, so it fits with probability about
:math:`r'/d' < 2^{-20}`: over the 1,656 public candidates of the heart data
(:func:`~encmed_lib.attacks.grid_candidates`), the expected number of wrong
survivors per node is below :math:`10^{-3}`.  One query, every threshold.
The features get different values (``spacing`` apart) so that a candidate of
one feature never has the same :math:`d'` as one of another (as long as each
feature's candidates span less than ``spacing``).

This holds for *any* blind much narrower than :math:`|d|`: the seed protocol's
:math:`r < 2^{40}` against :math:`|d| \\approx 2^{60}` (scale :math:`2^{40}`,
domain :math:`2^{20}`) fell the same way, and the present 21-bit blind keeps
that ratio (:data:`~encmed_lib.protocol.messages.BLIND_BITS` says why it is
not wider).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from ..crypto.encoding import SCALE, VALUE_BITS, encode_threshold
from ..protocol.client import Client
from .common import R_BOUND, Oracle, ThresholdRecovery, encoded_record

EDGE = float(-(1 << VALUE_BITS) + 1) + 2.0 ** -8
"""Near the bottom of the encodable domain: :math:`-(2^{16} - 1) + 2^{-8}` (exact in float32).

The :math:`2^{-8}` makes :math:`X_f` an odd multiple of :math:`2^{18}`.  With a
whole value, :math:`X_f` and every threshold of the half-unit grid
(:math:`t = k + 1/2`, :math:`T = (2k+1) 2^{25}`) would be multiples of
:math:`2^{25}`: so would :math:`d` and every candidate's :math:`d'`, and a
wrong candidate would fit whenever :math:`d'/2^{25} \\approx 2^{17}` divides
:math:`r d / 2^{25}`, with probability about :math:`2^{-17}` instead of
:math:`r'/d' \\approx 2^{-21}` (measured over 150 replies of the heart
trees: with whole values an undecided node in 39% of the depth-4 replies and
58% of the depth-5 ones; with the :math:`2^{-8}`, none).
"""

SPACING = float(1 << 11)
"""Distance between two features' values in :func:`edge_record` (feature units)."""


def edge_record(features: Iterable[str], *, spacing: float = SPACING) -> dict[str, float]:
    """An in-domain record with every feature near :math:`-2^{16}`, a different value per feature.

    Feature ``i`` (in the given order) gets :math:`-(2^{16} - 1) + i \\cdot`
    ``spacing``: exact in float32 (multiples of :math:`2^{-8}`), all inside the domain
    :math:`|x| < 2^{16}` as long as there are fewer than :math:`2^{16} /`
    ``spacing`` features (32 with the default: the 30 of the breast-cancer data fit).

    Raises
    ------
    ValueError
        Too many features for this spacing (the last value would leave the domain's low half).
    """
    names = [str(f) for f in features]
    if len(names) * spacing >= (1 << VALUE_BITS) - 1:
        raise ValueError(f"{len(names)} features spaced {spacing} apart do not fit in the domain's "
                         f"lower half: use a smaller spacing")
    return {f: EDGE + i * float(spacing) for i, f in enumerate(names)}


def fits(v: int, d: int) -> bool:
    """Whether :math:`v = r\\,d + s` for some :math:`1 \\le r < 2^{21}`, :math:`0 \\le s < r` (``d > 0``)."""
    if d <= 0:
        return False
    r = v // d
    return 1 <= r < R_BOUND and v - r * d < r


def sieve(values: list[int], encoded: Mapping[str, int],
          candidates: Mapping[str, Iterable[float]]) -> list[list[tuple[str, int]]]:
    """Per node, the public candidates ``(feature, T)`` that fit its value (see the module docstring)."""
    pool = {(f, encode_threshold(t)) for f, ts in candidates.items() if f in encoded for t in ts}
    pool_d = [(f, T, T - encoded[f]) for f, T in sorted(pool)]
    return [[(f, T) for f, T, d in pool_d if fits(v, d)] for v in values]


def sieve_attack(client: Client, oracle: Oracle, candidates: Mapping[str, Iterable[float]],
                 features: Iterable[str] | None = None, *, spacing: float = SPACING,
                 max_queries: int = 1) -> ThresholdRecovery:
    """Recover every threshold of basic mode (``blinding="full"``) from **one** query.

    Parameters
    ----------
    client : Client
        The attacker's own, ordinary client.
    oracle : callable
        ``oracle(query) -> Reply``, e.g. ``server.evaluate``.
    candidates : mapping
        Feature -> public candidate thresholds (:func:`~encmed_lib.attacks.grid_candidates`).
    features : iterable of str, optional
        Every feature the record must carry (default: the candidates' features).
    spacing : float
        Distance between two features' values in the edge record.
    max_queries : int
        A wrong candidate survives beside the truth at some node of the heart
        depth-5 tree in about 2% of the replies at most
        (:math:`25 \\times 1656 \\times 2^{-21}`; none in 150 measured); the
        attack then leaves that node undecided.  With ``max_queries > 1`` it sends another edge
        record (every value one unit higher) while some node is undecided,
        and keeps the candidates that fit every reply.

    Returns
    -------
    ThresholdRecovery
        A node is recovered when exactly one candidate fits; ``blinds`` are
        those of the first reply, ``detail`` lists the survivors per node.
    """
    names = list(features if features is not None else candidates)
    survivors: list[set] | None = None
    queries, nodes, blinds = 0, [], None
    while queries < max(1, max_queries) and (survivors is None or any(len(s) > 1 for s in survivors)):
        record = {f: x + queries for f, x in edge_record(names, spacing=spacing).items()}
        values = client.decrypt_values(oracle(client.encrypt(record)))
        encoded = encoded_record(record)
        fitting = [set(surv) for surv in sieve(values, encoded, candidates)]
        survivors = fitting if survivors is None else [a & b for a, b in zip(survivors, fitting, strict=True)]
        nodes = [next(iter(surv)) if len(surv) == 1 else None for surv in survivors]
        if queries == 0:
            first = (values, encoded)
        queries += 1
        blinds = blinds_from_thresholds(*first, nodes)
    return ThresholdRecovery("sieve", queries, nodes, blinds=blinds,
                             detail=f"survivors per node: {[len(s) for s in survivors or []]}")


def blinds_from_thresholds(values: list[int], encoded: Mapping[str, int],
                           nodes: list[tuple[str, int] | None]) -> list[tuple[int, int] | None]:
    """The server's ``(r, s)`` per node once ``(feature, T)`` is known.

    :math:`r = \\lfloor v/d \\rfloor` and :math:`s = v - r\\,d`, exact since :math:`s < r \\le d`.
    """
    out = []
    for v, node in zip(values, nodes, strict=True):
        if node is None:
            out.append(None)
            continue
        d = node[1] - encoded[node[0]]
        out.append((v // d, v - (v // d) * d))
    return out



def sieve_slack(v: int, record: Mapping[str, float],
                candidates: Mapping[str, Iterable[float]]) -> pd.DataFrame:
    """How far every public candidate is from fitting one value ``v`` (for a picture of the sieve).

    For a candidate with :math:`d' > 0` and :math:`r' = \\lfloor v/d' \\rfloor`,
    the *slack* is :math:`(v - r'd')/r'`: below 1 exactly when the candidate
    fits (given :math:`1 \\le r' < 2^{21}`).  Candidates with no possible
    blind get an infinite slack.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``threshold``, ``slack`` and ``fits``, one row per distinct candidate.
    """
    encoded = encoded_record(record)
    rows = []
    for f, T in sorted({(f, encode_threshold(t)) for f, ts in candidates.items() if f in encoded
                        for t in ts}):
        d = T - encoded[f]
        r = v // d if d > 0 else 0
        slack = (v - r * d) / r if 1 <= r < R_BOUND else math.inf
        rows.append({"feature": f, "threshold": T / SCALE, "slack": slack, "fits": fits(v, d)})
    return pd.DataFrame(rows)
