"""Full blinding, ``v = r d + s``, one sign per node: bisection with chosen queries.

Not the best attack on basic mode (:mod:`.sieve` needs one query): it uses
only the sign of each value and a magnitude bound, so it is what remains
against any design that hands the client one sign per node.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..crypto.encoding import SCALE, X_BOUND, encode_threshold, encode_value
from ..protocol.client import Client
from .common import R_BOUND, Oracle, record_dict, true_thresholds


def sign_and_magnitude(v: int) -> tuple[bool, tuple[int, int]]:
    """What one fully blinded value reveals: the side, and an interval for :math:`|d|`.

    With :math:`v = r d + s`, :math:`1 \\le r < R = 2^{40}`, :math:`0 \\le s < r`:

    * **sign**: :math:`d \\ge 0 \\iff v \\ge 0` (if :math:`d \\le -1`,
      :math:`v \\le -r + s < 0`), i.e. the record goes left, :math:`x \\le t`;
    * **magnitude**: if :math:`d \\ge 0`, :math:`d = \\lfloor v / r \\rfloor`,
      and over all possible :math:`r`:
      :math:`\\lfloor v/(R-1) \\rfloor \\le d \\le v`;
      if :math:`d < 0`, :math:`|d| = \\lceil |v| / r \\rceil`, so
      :math:`\\lceil |v|/(R-1) \\rceil \\le |d| \\le |v|`.

    Both ends are attained (``r = R - 1`` and ``r = 1, s = 0``), so this is
    the exact feasible interval.  The lower end is the useful one: since
    :math:`r` is uniform, it is about :math:`|d| \\cdot r/R`, a uniformly
    random fraction of the true distance.  Divide by :math:`2^{40}` for
    feature units: the threshold is *at least that far* from the record's
    value, on the side given by the sign.

    Parameters
    ----------
    v : int
        One decrypted value :math:`v_j` (:meth:`Client.decrypt_values`).

    Returns
    -------
    goes_left : bool
        ``v >= 0``: the record goes left (:math:`X_f \\le T_j`).
    (low, high) : tuple[int, int]
        Bounds on :math:`|d|` in encoded units (exact integers).
    """
    v = int(v)
    if v >= 0:
        return True, (v // (R_BOUND - 1), v)
    w = -v
    return False, (-(-w // (R_BOUND - 1)), w)


@dataclass
class IntervalAttackResult:
    """The outcome of :func:`interval_attack`.

    Attributes
    ----------
    queries_used : int
        Queries sent (discovery included); never more than the budget.
    discovery_queries : int
        How many of them found the nodes' features (step 1).
    node_features : dict[int, str]
        Slot -> feature, for the discovered nodes.
    undiscovered : list[int]
        Slots whose sign never flipped inside the domain (feature unknown, no estimate).
    intervals : dict[int, tuple[float, float]]
        Final interval ``[low, high)`` that surely holds each discovered threshold.
    estimates : list[dict[int, float]]
        After each query, the estimate of every node estimated so far: the
        interval's midpoint, or, when public candidates were given, the
        middle one of the candidates left in the interval (the only one once
        the node is resolved).  Empty during discovery.
    half_widths : list[dict[int, float]]
        After each query, half of each node's interval: a guaranteed error
        bound for the midpoint (it never grows).
    records : list[dict[str, float]]
        The records sent, in order.
    """

    queries_used: int
    discovery_queries: int
    node_features: dict[int, str]
    undiscovered: list[int]
    intervals: dict[int, tuple[float, float]]
    estimates: list[dict[int, float]] = field(default_factory=list)
    half_widths: list[dict[int, float]] = field(default_factory=list)
    records: list[dict[str, float]] = field(default_factory=list)

    @property
    def final_estimates(self) -> dict[int, float]:
        """The last estimates (slot -> threshold): feed them to :func:`threshold_recovery_rate`."""
        return dict(self.estimates[-1]) if self.estimates else {}


class _Bounds:
    """Exact integer bounds ``low <= T <= high`` on one node's encoded threshold."""

    def __init__(self, candidates: tuple[list[float], list[int]] | None = None):
        self.low, self.high = -X_BOUND, X_BOUND
        self.candidates = candidates  # (values, encoded values), sorted

    def update(self, X: int, v: int, use_magnitude: bool) -> None:
        left, (dlo, dhi) = sign_and_magnitude(v)
        if not use_magnitude:
            dlo, dhi = (0 if left else 1), 2 * X_BOUND
        if left:      # T - X in [dlo, dhi]
            self.low, self.high = max(self.low, X + dlo), min(self.high, X + dhi)
        else:         # X - T in [dlo, dhi]
            self.low, self.high = max(self.low, X - dhi), min(self.high, X - dlo)
        if self.low > self.high:  # impossible with an honest server
            raise ValueError("inconsistent replies: a node's interval became empty")

    def inside(self) -> tuple[int, int]:
        """Index range ``[i, k)`` of the candidates whose encoding lies in ``[low, high]``."""
        _, enc = self.candidates
        return bisect.bisect_left(enc, self.low), bisect.bisect_right(enc, self.high)

    @property
    def resolved(self) -> bool:
        """Exactly one public candidate is left (only with candidates)."""
        if self.candidates is None:
            return False
        i, k = self.inside()
        return k - i == 1

    @property
    def width(self) -> int:
        return self.high - self.low

    @property
    def estimate(self) -> float:
        if self.candidates is not None:
            i, k = self.inside()
            if k > i:  # the middle candidate left (the only one once resolved)
                return self.candidates[0][(i + k - 1) // 2]
        return (self.low + self.high + 1) / (2 * SCALE)  # t lies in [low/S, (high + 1)/S)

    @property
    def half_width(self) -> float:
        return (self.high + 1 - self.low) / (2 * SCALE)

    @property
    def interval(self) -> tuple[float, float]:
        return self.low / SCALE, (self.high + 1) / SCALE

    def query_value(self) -> float:
        """The next value to send for this node.

        A value splits the node's possibilities when its encoding ``X``
        satisfies ``low < X <= high`` (then "left" means ``T >= X``, "right"
        ``T < X``).  With candidates, split the list of candidates left near
        its middle; otherwise split the interval near its middle.  When no
        float32 value splits them (all within one float32 spacing), only the
        magnitude bound can help: query just outside, alternately above and
        below, so that ``|d|`` is small and its random fraction informative.
        """
        low, high = self.low, self.high
        if self.candidates is not None:
            i, k = self.inside()
            if k - i >= 2:
                enc = self.candidates[1]
                middle = (i + k) // 2
                for m in sorted(range(i + 1, k), key=lambda m: abs(m - middle)):
                    x = _float32_above(enc[m - 1])
                    if _encoded(x) <= enc[m]:
                        return x
                low, high = enc[i], enc[k - 1]
        for point in ((low + high) // 2, low):
            x = _float32_above(point)
            if _encoded(x) <= high:
                return x
        self._above = not getattr(self, "_above", False)
        return _float32_above(high) if self._above else _float32_at_or_below(low)


def _encoded(x: float) -> int | float:
    """``x * 2**40`` (exact for a float32 ``x``; compares exactly with integers)."""
    return x * SCALE


def _float32_above(E: int) -> float:
    """The smallest float32 ``x`` with ``x * 2**40 > E`` (``E`` in encoded units)."""
    x = np.float32(E / SCALE)
    while float(x) * SCALE <= E:
        x = np.nextafter(x, np.float32(np.inf))
    while float(np.nextafter(x, np.float32(-np.inf))) * SCALE > E:
        x = np.nextafter(x, np.float32(-np.inf))
    return _encodable_float32(float(x))


def _float32_at_or_below(E: int) -> float:
    """The largest float32 ``x`` with ``x * 2**40 <= E``."""
    x = np.float32(_float32_above(E))
    return _encodable_float32(float(np.nextafter(x, np.float32(-np.inf))))


def _encodable_float32(x: float) -> float:
    """``float32(x)``, or 0 when it is too small for the 2**-40 grid."""
    x = float(np.float32(x))
    return 0.0 if x != 0.0 and abs(x) < 2.0 ** -17 else x


def interval_attack(client: Client, oracle: Oracle, base_record, n_queries: int,
                    domain: Mapping[str, tuple[float, float]], *,
                    discovery: Literal["one_at_a_time", "binary"] = "one_at_a_time",
                    use_magnitude: bool = True,
                    candidates: Mapping[str, Iterable[float]] | None = None) -> IntervalAttackResult:
    """Learn fully blinded thresholds by choosing queries (discovery, then bisection).

    Full blinding leaves the client one sign per node per query and the
    magnitude bound of :func:`sign_and_magnitude`.  But the client chooses its
    records, so it can play "higher or lower" with every node at once.

    **Step 1, discovery.**  Which feature does each node compare?  Only a
    change of that feature can flip the node's sign.

    * ``"one_at_a_time"``: one query with every ``domain`` feature at its
      low end, then one per feature with that feature alone raised to its
      high end (``1 + F`` queries): the nodes that flip compare that feature.
    * ``"binary"``: all low, all high, then for every bit ``b`` of the
      features' indices one query with the features whose bit ``b`` is set at
      their high end: a node's signs spell its feature's index
      (``2 + ceil(log2 F)`` queries: group testing).

    A node that does not flip between all-low and all-high has its threshold
    outside the domain (or compares a feature not in ``domain``): it is
    reported as undiscovered.  A discovered node's threshold lies in
    ``[low_f, high_f)``.

    **Step 2, bisection.**  Each query sets every discovered feature to the
    midpoint (a float32: the tree compares ``float32(x)``) of the widest
    interval among the nodes that compare it, the other features to the base
    record's values.  One reply updates *every* node: ``v >= 0`` means
    :math:`X \\le T` (the interval's low end rises to ``x``), otherwise
    :math:`T < X` (its high end falls to ``x``); with ``use_magnitude`` the
    bound on :math:`|d|` shrinks the interval further, by a uniformly random
    fraction of the distance between ``x`` and the threshold.  All bounds are
    exact integers on :math:`T = \\lfloor t\\,2^{40} \\rfloor`, so the
    interval always holds the truth.  Signs alone stop at the float32 spacing
    of the query values (``2**-16`` around 150); the magnitude bound keeps
    improving inside it.

    With ``candidates`` (public candidate thresholds per feature, e.g.
    :func:`grid_candidates`) the attacker bisects the *list of candidates*
    left in each interval instead, and a node is resolved as soon as one
    candidate is left: the estimate is then that candidate (exact when the
    grid assumption holds).  The attack stops early when every discovered
    node is resolved.

    Parameters
    ----------
    client : Client
        The attacker's client (it encrypts and decrypts).
    oracle : callable
        ``oracle(query) -> Reply``, e.g. ``server.evaluate``.
    base_record : pandas.Series or dict
        Values for every feature the model may need (the non-queried ones).
    n_queries : int
        Total budget (discovery included).
    domain : mapping
        Feature -> ``(low, high)``: the public plausible range to search.
    discovery : {"one_at_a_time", "binary"}
        How step 1 finds the features.
    use_magnitude : bool
        Use the magnitude bound, not only the sign.
    candidates : mapping, optional
        Feature -> public candidate thresholds.

    Returns
    -------
    IntervalAttackResult

    Raises
    ------
    ValueError
        The budget does not cover the discovery step, or a domain is empty.
    """
    base = record_dict(base_record)
    features, lows, highs = _domain_ends(base, domain)
    plan = _discovery_plan(features, discovery, n_queries)
    transcript = _Transcript(client, oracle)
    for raised in plan:
        transcript.ask({**base, **{f: (highs[f] if f in raised else lows[f]) for f in features}})
        if len(transcript.records) < len(plan):
            transcript.estimates.append({})
            transcript.half_widths.append({})
    node_features, undiscovered = _discovered_features(transcript.replies, features, discovery, len(plan))
    bounds = _node_bounds(node_features, candidates)
    for record, values in zip(transcript.records, transcript.replies, strict=True):
        _absorb(bounds, node_features, record, values, use_magnitude)
    transcript.snapshot(bounds)

    by_feature: dict[str, list[int]] = {}
    for j, f in node_features.items():
        by_feature.setdefault(f, []).append(j)
    while len(transcript.records) < n_queries:
        record = _bisection_record(base, by_feature, bounds)
        if not bounds or all(b.resolved for b in bounds.values()):
            break  # nothing (left) to learn
        _absorb(bounds, node_features, record, transcript.ask(record), use_magnitude)
        transcript.snapshot(bounds)

    return IntervalAttackResult(
        queries_used=len(transcript.records), discovery_queries=len(plan), node_features=node_features,
        undiscovered=undiscovered, intervals={j: b.interval for j, b in bounds.items()},
        estimates=transcript.estimates, half_widths=transcript.half_widths, records=transcript.records)


def _domain_ends(base: dict, domain: Mapping[str, tuple[float, float]]
                 ) -> tuple[list[str], dict[str, float], dict[str, float]]:
    """The domain's features and their float32 low and high ends (every feature in ``base``)."""
    features = [str(f) for f in domain]
    missing = [f for f in features if f not in base]
    if missing:
        raise KeyError(f"domain features {missing} are not in the base record")
    lows = {f: _encodable_float32(domain[f][0]) for f in features}
    highs = {f: _encodable_float32(domain[f][1]) for f in features}
    for f in features:
        if not lows[f] < highs[f]:
            raise ValueError(f"domain of {f!r}: low {domain[f][0]} must be below high {domain[f][1]}")
    return features, lows, highs


def _discovery_plan(features: list[str], discovery: str, n_queries: int) -> list[set[str]]:
    """Step 1's plan: which features sit at their high end in each discovery query."""
    if discovery == "one_at_a_time":
        plan: list[set[str]] = [set()] + [{f} for f in features]
    elif discovery == "binary":
        n_bits = math.ceil(math.log2(len(features))) if len(features) > 1 else 0
        plan = [set(), set(features)]
        plan += [{f for i, f in enumerate(features) if (i >> b) & 1} for b in range(n_bits)]
    else:
        raise ValueError(f"discovery must be 'one_at_a_time' or 'binary', got {discovery!r}")
    if n_queries < len(plan):
        raise ValueError(f"a budget of {n_queries} queries does not cover the {len(plan)} "
                         f"discovery queries ({discovery!r}, {len(features)} features)")
    return plan


class _Transcript:
    """The queries sent and the values returned, and the estimates after each query."""

    def __init__(self, client: Client, oracle: Oracle):
        self.client, self.oracle = client, oracle
        self.records: list[dict[str, float]] = []
        self.replies: list[list[int]] = []
        self.estimates: list[dict[int, float]] = []
        self.half_widths: list[dict[int, float]] = []

    def ask(self, record: dict[str, float]) -> list[int]:
        values = self.client.decrypt_values(self.oracle(self.client.encrypt(record)))
        self.records.append(dict(record))
        self.replies.append(values)
        return values

    def snapshot(self, bounds: dict[int, _Bounds]) -> None:
        self.estimates.append({j: b.estimate for j, b in bounds.items()})
        self.half_widths.append({j: b.half_width for j, b in bounds.items()})


def _discovered_features(replies: list[list[int]], features: list[str], discovery: str, n_plan: int
                         ) -> tuple[dict[int, str], list[int]]:
    """Slot -> feature for the nodes whose signs flipped as step 1 planned, and the other slots."""
    left = [[v >= 0 for v in values] for values in replies]
    node_features: dict[int, str] = {}
    undiscovered: list[int] = []
    for j in range(len(replies[0])):
        found = None
        if discovery == "one_at_a_time":
            flips = [f for i, f in enumerate(features) if left[1 + i][j] != left[0][j]]
            if left[0][j] and len(flips) == 1:
                found = flips[0]
        elif left[0][j] and not left[1][j]:
            index = sum(1 << b for b in range(n_plan - 2) if not left[2 + b][j])
            found = features[index] if index < len(features) else None
        if found is None:
            undiscovered.append(j)
        else:
            node_features[j] = found
    return node_features, undiscovered


def _node_bounds(node_features: dict[int, str], candidates: Mapping[str, Iterable[float]] | None
                 ) -> dict[int, _Bounds]:
    """Fresh bounds per discovered node, with its feature's public candidates if any were given."""
    public = {}
    for f, values in (candidates or {}).items():
        values = sorted({float(t) for t in values})
        public[str(f)] = (values, [encode_threshold(t) for t in values])
    bounds = {j: _Bounds(public.get(f) if candidates is not None else None)
              for j, f in node_features.items()}
    for j, f in node_features.items():
        if candidates is not None and f not in public:
            bounds[j].candidates = ([], [])
    return bounds


def _absorb(bounds: dict[int, _Bounds], node_features: dict[int, str], record: dict[str, float],
            values: list[int], use_magnitude: bool) -> None:
    """Update every discovered node's bounds with one reply."""
    for j, f in node_features.items():
        bounds[j].update(encode_value(record[f], f), values[j], use_magnitude)


def _bisection_record(base: dict, by_feature: dict[str, list[int]], bounds: dict[int, _Bounds]
                      ) -> dict[str, float]:
    """Step 2's next record: each feature splits the widest open interval among its nodes."""
    record = dict(base)
    for f, nodes in by_feature.items():
        open_nodes = [j for j in nodes if not bounds[j].resolved]
        if open_nodes:
            widest = max(open_nodes, key=lambda j: bounds[j].width)
            record[f] = bounds[widest].query_value()
    return record


def attack_errors(result: IntervalAttackResult, server) -> pd.DataFrame:
    """**Scoring only**: the error of the interval attack after each query.

    Returns
    -------
    pandas.DataFrame
        One row per query: ``queries`` (1, 2, ...), ``phase`` (``"discovery"``
        or ``"bisection"``), ``n_estimated`` (nodes with an estimate),
        ``max_abs_error`` and ``median_abs_error`` (true errors over the
        discovered nodes, NaN before any estimate) and ``max_error_bound``
        (the largest half-interval: what the attacker *knows* its error is below).
    """
    truth = true_thresholds(server)
    rows = []
    for i, (est, hw) in enumerate(zip(result.estimates, result.half_widths, strict=True)):
        err = np.array([abs(t - truth[j][1]) for j, t in est.items()], dtype=float)
        rows.append({
            "queries": i + 1,
            "phase": "discovery" if i + 1 <= result.discovery_queries else "bisection",
            "n_estimated": len(est),
            "max_abs_error": float(err.max()) if err.size else np.nan,
            "median_abs_error": float(np.median(err)) if err.size else np.nan,
            "max_error_bound": float(max(hw.values())) if hw else np.nan,
        })
    return pd.DataFrame(rows)
