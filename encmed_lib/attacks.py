"""What a curious *client* learns about the server's thresholds (notebook 04).

The client of :mod:`encmed_lib.protocol` holds the private key and chooses its
own queries.  For every internal node :math:`j` (comparing feature :math:`f`
with threshold :math:`t_j`) it decrypts one value

.. math::  v_j = r_j\\,d_j + s_j, \\qquad d_j = T_j - X_f,
           \\quad T_j = \\lfloor t_j 2^{40} \\rfloor,\\quad X_f = \\mathrm{float32}(x_f)\\,2^{40}

(:mod:`encmed_lib.crypto.encoding`), with the server's fresh blinds
:math:`1 \\le r_j < 2^{40}` and :math:`0 \\le s_j < r_j`.  Every attack below
uses **only** what such a client legitimately has: its :class:`~encmed_lib.Client`
(the keys), the records it chose, the :class:`~encmed_lib.Reply` objects it got
back and public knowledge (the protocol, scikit-learn's way of choosing
thresholds, a public data sample).  The server is a black box, an ``oracle``
``query -> reply``.  The true thresholds are read only by the *scoring*
helpers (:func:`threshold_errors`, :func:`threshold_recovery_rate`,
:func:`true_among_survivors`, :func:`attack_errors`), never by an attack.

Three designs, three lessons
============================

``blinding="none"`` (the original design: :math:`v = d`, and the reply names each node's feature)
    :func:`recover_thresholds_unblinded`: the client knows :math:`X_f` (it
    encoded the record itself) so :math:`T_j = v_j + X_f`: **every threshold,
    exactly (to** :math:`2^{-40}` **), from one query**.

``blinding="multiplicative"`` (:math:`v = r\\,d`)
    :func:`divisor_attack`: :math:`r` hides :math:`|d|`, but :math:`d` still
    *divides* :math:`v`.  Thresholds are not arbitrary reals: scikit-learn puts
    them halfway between two training values, and clinical values are recorded
    on a grid (whole years, mm Hg, one decimal of ST depression).  The client
    lists the public candidates (:func:`grid_candidates`: 1,708 for the heart
    data) and keeps those whose :math:`d` divides :math:`v` with a quotient in
    :math:`[1, 2^{40})`.  The truth always survives.  With a real patient's
    record a couple of dozen candidates survive per node, and intersecting the
    survivors of three queries (:func:`intersect_survivors`) usually leaves
    the truth alone; with a record the attacker *chooses* off the grid
    (:func:`off_grid_record`) one query is enough.

``blinding="full"`` (:math:`v = r\\,d + s`: the protocol)
    The additive blind :math:`s` destroys divisibility: the divisor test now
    rejects the truth.  One reply still gives the sign of :math:`d` and a
    bound on :math:`|d|` (:func:`sign_and_magnitude`), and a client free to
    choose its queries can *bisect*: :func:`interval_attack` first discovers
    which feature each node compares, then narrows every node's interval with
    each query.  On the heart tree (15 nodes, 5 of them on one feature), 60
    queries leave every threshold within about :math:`10^{-4}` and most within
    :math:`10^{-8}`; with the public candidates as well, every threshold is
    known exactly after about 30 queries.  Blinding cannot stop this: the
    sign of every node *is* what the protocol hands the client.  Only a reply
    that reveals less than one sign per node can answer it: the label-only
    mode of a later lesson.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .crypto.encoding import SCALE, SCALE_BITS, X_BOUND, encode_threshold, encode_value
from .protocol.client import Client, record_items
from .protocol.messages import BLIND_BITS, Query, Reply
from .tree import as_portable

__all__ = [
    "recover_thresholds_unblinded", "threshold_errors", "threshold_recovery_rate",
    "grid_candidates", "sklearn_midpoint", "off_grid_record", "divisor_attack",
    "intersect_survivors", "true_among_survivors",
    "sign_and_magnitude", "IntervalAttackResult", "interval_attack", "attack_errors",
    "plot_interval_attack", "true_thresholds",
]

R_BOUND = 1 << BLIND_BITS
"""The multiplicative blind satisfies ``1 <= r < R_BOUND = 2**40`` (public)."""

Oracle = Callable[[Query], Reply]
"""The server as the client sees it: ``reply = oracle(query)``."""

Candidate = tuple[str, float]
"""A public guess ``(feature, threshold)`` for one node."""


def _record_dict(record) -> dict[str, float]:
    return dict(record_items(record))


def _encoded_record(record) -> dict[str, int]:
    return {name: encode_value(value, name) for name, value in record_items(record)}


# ---------------------------------------------------------- ground truth
def _server_tree(server):
    """The server's tree (a :class:`PortableTree`): for the scoring helpers only."""
    return as_portable(server.tree if hasattr(server, "tree") else server)


def true_thresholds(server) -> list[tuple[str, float]]:
    """Ground truth: ``(feature, threshold)`` of every internal node, in slot order.

    **Scoring only**: an attack never calls this.  ``server`` is a
    :class:`~encmed_lib.TreeServer`, a fitted tree or a :class:`PortableTree`.
    """
    return [(n.feature, float(n.threshold)) for n in _server_tree(server).internal_nodes()]


# ------------------------------------------------- 1. no blinding (v = d)
def recover_thresholds_unblinded(client: Client, record, reply: Reply) -> dict[int, float]:
    """Recover every threshold from one reply of the original, unblinded design.

    With ``blinding="none"`` the server returns :math:`v_j = d_j = T_j - X_f`
    and names each node's feature (``reply.features``).  The client encoded
    the record itself, so it knows :math:`X_f` and computes

    .. math::  T_j = v_j + X_f, \\qquad t_j \\approx T_j / 2^{40}

    Since :math:`T_j = \\lfloor t_j 2^{40} \\rfloor`, the true threshold lies in
    :math:`[T_j/2^{40}, (T_j + 1)/2^{40})`: the error is below :math:`2^{-40}`
    (:math:`10^{-12}`), whatever the record.

    Parameters
    ----------
    client : Client
        The client that sent the query (it decrypts the reply).
    record : pandas.Series or dict
        The record it encrypted (its own data: feature -> value).
    reply : Reply
        The server's answer (``blinding="none"``).

    Returns
    -------
    dict[int, float]
        Slot index (the order of the internal nodes) -> recovered threshold.

    Raises
    ------
    ValueError
        The reply does not name the features (it is blinded: this attack
        needs the original design).
    """
    if reply.features is None:
        raise ValueError(f"this reply (blinding={reply.blinding!r}) does not name the nodes' features: "
                         "the exact recovery needs the original design (blinding='none')")
    values = client.decrypt_values(reply)
    X = _encoded_record(record)
    return {j: (v + X[f]) / SCALE for j, (v, f) in enumerate(zip(values, reply.features, strict=True))}


def threshold_errors(recovered: Mapping[int, float], server) -> np.ndarray:
    """Signed errors ``recovered - true`` in slot order (NaN where nothing was recovered).

    **Scoring only**: reads the server's true thresholds.
    """
    truth = true_thresholds(server)
    return np.array([recovered[j] - t if recovered.get(j) is not None else np.nan
                     for j, (_, t) in enumerate(truth)], dtype=float)


def threshold_recovery_rate(recovered: Mapping[int, float], server, tol: float = 1e-6) -> float:
    """Fraction of the server's thresholds recovered within ``tol`` (missing ones count as failures).

    **Scoring only**.  ``1.0`` means every threshold of the model is known.
    """
    err = threshold_errors(recovered, server)
    if err.size == 0:
        return 1.0
    return float(np.mean(np.nan_to_num(np.abs(err), nan=np.inf) <= tol))


# ------------------------------------ 2. multiplicative blinding (v = r d)
def _decimals(values: np.ndarray, max_decimals: int = 6) -> int:
    for k in range(max_decimals + 1):
        scaled = values * 10.0 ** k
        if np.allclose(scaled, np.round(scaled), rtol=0, atol=1e-6):
            return k
    return max_decimals


def sklearn_midpoint(a: float, b: float) -> float:
    """The threshold scikit-learn puts between two consecutive training values ``a < b``.

    The splitter sorts the ``float32`` feature values and sets
    ``threshold = a/2 + b/2`` computed in double precision, falling back to
    ``a`` when that rounds to ``b``.  For ``oldpeak`` between 0.9 and 1.0 this
    is ``0.949999988079071``, not ``0.95``: a candidate list must use the same
    arithmetic, or the divisor test (which is exact) misses the truth.
    """
    a32, b32 = float(np.float32(a)), float(np.float32(b))
    t = a32 / 2.0 + b32 / 2.0
    return a32 if t == b32 else t


def grid_candidates(X: pd.DataFrame, step_for: Mapping[str, float] | None = None, *,
                    max_gap: int | None = None, pad_steps: int = 0) -> dict[str, np.ndarray]:
    """Public candidate thresholds: scikit-learn midpoints between values on each feature's grid.

    The public knowledge used: clinical values are *recorded on a grid*
    (whole years, whole mm Hg, one decimal of ST depression), the plausible
    range of each feature is known (here: a public sample's range), and
    scikit-learn puts each threshold halfway between two training values
    (:func:`sklearn_midpoint`).  Between grid neighbours that gives
    ``k + 0.5`` for an integer feature and ``k·0.1 + 0.05`` (in float32
    arithmetic) for a one-decimal one.  But a node sees only the training
    records that reach it, so two values that are *not* neighbours on the grid
    may be consecutive there (no patient aged 73 at that node: threshold
    ``73.0``).  The candidates are therefore the midpoints of every pair of
    grid values at most ``max_gap`` steps apart (all pairs by default).

    Parameters
    ----------
    X : pandas.DataFrame
        A public sample (numeric columns): its ranges and decimals define the grids.
    step_for : mapping, optional
        Grid step per feature, overriding the guess (1 for integer columns,
        ``10**-k`` for columns with ``k`` decimals).
    max_gap : int, optional
        Largest gap, in grid steps, between the two values of a pair.
    pad_steps : int
        Widen each range by this many steps on both sides.

    Returns
    -------
    dict[str, numpy.ndarray]
        Feature -> sorted distinct candidate thresholds.
    """
    step_for = dict(step_for or {})
    out: dict[str, np.ndarray] = {}
    for name in X.columns:
        col = pd.to_numeric(X[name], errors="coerce").dropna().to_numpy(dtype=float)
        if col.size == 0:
            continue
        if name in step_for:
            step = float(step_for[name])
            decimals = max(0, -math.floor(math.log10(step))) + 2
        else:
            decimals = _decimals(col)
            step = 10.0 ** -decimals
        lo = math.floor(round(col.min() / step, 6)) - pad_steps
        hi = math.ceil(round(col.max() / step, 6)) + pad_steps
        grid = np.round(np.arange(lo, hi + 1) * step, decimals)
        g32 = grid.astype(np.float32).astype(np.float64)
        n = g32.size
        gaps = range(1, n if max_gap is None else min(n, max_gap + 1))
        mids = [g32[:-g] / 2.0 + g32[g:] / 2.0 for g in gaps]
        if not mids:
            continue
        values = np.concatenate(mids)
        # scikit-learn's fallback when a/2 + b/2 rounds up to b (only for float neighbours)
        upper = np.concatenate([g32[g:] for g in gaps])
        lower = np.concatenate([g32[:-g] for g in gaps])
        values = np.where(values == upper, lower, values)
        out[str(name)] = np.unique(values)
    return out


def off_grid_record(record, rng: np.random.Generator | int | None = None) -> dict[str, float]:
    """A record the attacker *chooses* for :func:`divisor_attack`: every value moved off the grid.

    Each value ``x`` becomes ``x + u`` with ``u`` uniform in ``(0.05, 0.95)``
    (a different ``u`` per feature).  ``float32(x + u)`` then uses all 24 bits
    of its mantissa, so every candidate's :math:`d = T - X` has a large,
    essentially random odd part, and a wrong candidate divides
    :math:`v = r\\,d_{true}` only by a rare accident.  With natural records
    (whole numbers) all the :math:`d` are small multiples of :math:`2^{39}`
    and many wrong candidates divide :math:`v`.  Nothing forces the client to
    send a real patient: it owns its queries.

    Parameters
    ----------
    record : pandas.Series or dict
        Any record (feature -> value).
    rng : numpy Generator, int or None
        Randomness (a seed for a reproducible record).
    """
    rng = np.random.default_rng(rng)
    return {name: float(value) + float(rng.uniform(0.05, 0.95))
            for name, value in record_items(record)}


def divisor_attack(client: Client, record, reply: Reply,
                   candidates: Mapping[str, Iterable[float]]) -> list[list[Candidate]]:
    """Test public candidate thresholds against one reply of multiplicative blinding.

    With ``blinding="multiplicative"`` the client decrypts :math:`v_j = r_j d_j`
    with :math:`1 \\le r_j < 2^{40}`: the size of :math:`d_j` is hidden, but
    not its divisors.  It does not know which feature node :math:`j` compares,
    so it tries every public candidate :math:`(f, t)`: with
    :math:`d = \\lfloor t\\,2^{40} \\rfloor - X_f` (its own encoded value), the
    candidate is *consistent* with :math:`v_j` when

    * :math:`d \\ne 0` divides :math:`v_j`, and
    * the blind it implies, :math:`r = v_j / d`, is possible:
      :math:`1 \\le r < 2^{40}` (so :math:`d` has the sign of :math:`v_j`).

    :math:`v_j = 0` happens exactly when :math:`d_j = 0` (the record sits
    exactly on the encoded threshold): then the consistent candidates are
    those with :math:`d = 0`.

    The true candidate always passes.  A false one passes only if its
    :math:`d` happens to divide :math:`r_j d_j` with a quotient below
    :math:`2^{40}`: a few do, because the grid makes every :math:`d` a small
    multiple of a common power of two.  Each query draws fresh blinds, so the
    survivors of two or three queries intersect to (nearly) the truth alone
    (:func:`intersect_survivors`).

    Parameters
    ----------
    client : Client
        Decrypts the reply.
    record : pandas.Series or dict
        The record the client encrypted for this query.
    reply : Reply
        The server's answer to it.
    candidates : mapping
        Feature -> candidate thresholds (e.g. :func:`grid_candidates`).

    Returns
    -------
    list[list[tuple[str, float]]]
        For every node (slot order), the surviving ``(feature, threshold)`` pairs.
    """
    values = client.decrypt_values(reply)
    X = _encoded_record(record)
    encoded = []  # (feature, threshold, d) for every candidate
    for f, ts in candidates.items():
        if f not in X:
            raise KeyError(f"candidate feature {f!r} is not in the record")
        for t in ts:
            t = float(t)
            encoded.append((f, t, encode_threshold(t) - X[f]))
    survivors = []
    for v in values:
        if v == 0:
            survivors.append([(f, t) for f, t, d in encoded if d == 0])
            continue
        keep = []
        for f, t, d in encoded:
            if d != 0 and v % d == 0 and 1 <= v // d < R_BOUND:
                keep.append((f, t))
        survivors.append(keep)
    return survivors


def intersect_survivors(*rounds: list[list[Candidate]]) -> list[list[Candidate]]:
    """Per node, the candidates that survived every round (each round: one :func:`divisor_attack`).

    Candidates are compared by feature and *encoded* threshold (two floats
    with the same :math:`\\lfloor t\\,2^{40}\\rfloor` are the same comparison).
    """
    if not rounds:
        return []
    out = []
    for per_node in zip(*rounds, strict=True):
        common = None
        for surv in per_node:
            keys = {(f, encode_threshold(t)): (f, t) for f, t in surv}
            common = keys if common is None else {k: v for k, v in common.items() if k in keys}
        out.append(sorted(common.values()))
    return out


def true_among_survivors(survivors: list[list[Candidate]], server) -> list[bool]:
    """**Scoring only**: for each node, whether its true ``(feature, threshold)`` survived.

    Compared by feature and encoded threshold (what the server actually uses).
    """
    truth = true_thresholds(server)
    return [any(f == tf and encode_threshold(t) == encode_threshold(tt) for f, t in surv)
            for surv, (tf, tt) in zip(survivors, truth, strict=True)]


# ------------------------------------------ 3. full blinding (v = r d + s)
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
    base = _record_dict(base_record)
    features = [str(f) for f in domain]
    missing = [f for f in features if f not in base]
    if missing:
        raise KeyError(f"domain features {missing} are not in the base record")
    lows = {f: _encodable_float32(domain[f][0]) for f in features}
    highs = {f: _encodable_float32(domain[f][1]) for f in features}
    for f in features:
        if not lows[f] < highs[f]:
            raise ValueError(f"domain of {f!r}: low {domain[f][0]} must be below high {domain[f][1]}")

    # step 1's plan: which features sit at their high end in each query
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

    records: list[dict[str, float]] = []
    replies: list[list[int]] = []
    estimates: list[dict[int, float]] = []
    half_widths: list[dict[int, float]] = []

    def ask(record: dict[str, float]) -> list[int]:
        values = client.decrypt_values(oracle(client.encrypt(record)))
        records.append(dict(record))
        replies.append(values)
        return values

    for raised in plan:
        ask({**base, **{f: (highs[f] if f in raised else lows[f]) for f in features}})
        if len(records) < len(plan):
            estimates.append({})
            half_widths.append({})

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
            index = sum(1 << b for b in range(len(plan) - 2) if not left[2 + b][j])
            found = features[index] if index < len(features) else None
        if found is None:
            undiscovered.append(j)
        else:
            node_features[j] = found

    public = {}
    for f, values in (candidates or {}).items():
        values = sorted({float(t) for t in values})
        public[str(f)] = (values, [encode_threshold(t) for t in values])
    bounds = {j: _Bounds(public.get(f) if candidates is not None else None)
              for j, f in node_features.items()}
    for j, f in node_features.items():
        if candidates is not None and f not in public:
            bounds[j].candidates = ([], [])

    def absorb(record: dict[str, float], values: list[int]) -> None:
        for j, f in node_features.items():
            bounds[j].update(encode_value(record[f], f), values[j], use_magnitude)

    def snapshot() -> None:
        estimates.append({j: b.estimate for j, b in bounds.items()})
        half_widths.append({j: b.half_width for j, b in bounds.items()})

    for record, values in zip(records, replies, strict=True):
        absorb(record, values)
    snapshot()

    by_feature: dict[str, list[int]] = {}
    for j, f in node_features.items():
        by_feature.setdefault(f, []).append(j)
    while len(records) < n_queries:
        record = dict(base)
        for f, nodes in by_feature.items():
            open_nodes = [j for j in nodes if not bounds[j].resolved]
            if open_nodes:
                widest = max(open_nodes, key=lambda j: bounds[j].width)
                record[f] = bounds[widest].query_value()
        if not bounds or all(b.resolved for b in bounds.values()):
            break  # nothing (left) to learn
        absorb(record, ask(record))
        snapshot()

    return IntervalAttackResult(
        queries_used=len(records), discovery_queries=len(plan), node_features=node_features,
        undiscovered=undiscovered, intervals={j: b.interval for j, b in bounds.items()},
        estimates=estimates, half_widths=half_widths, records=records)


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


def plot_interval_attack(errors_df: pd.DataFrame, ax=None):
    """Error of the interval attack against the number of queries (log scale).

    Parameters
    ----------
    errors_df : pandas.DataFrame
        The output of :func:`attack_errors`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure otherwise).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    df = errors_df
    n_discovery = int((df["phase"] == "discovery").sum()) if "phase" in df else 0
    if n_discovery:
        ax.axvspan(0.5, n_discovery + 0.5, color="0.9", zorder=0,
                   label=f"discovery ({n_discovery} queries)")
    floor = 2.0 ** -(SCALE_BITS + 1)  # zero errors would vanish on a log axis
    ax.plot(df["queries"], df["max_abs_error"].clip(lower=floor), "o-", ms=3, label="max |error|")
    ax.plot(df["queries"], df["median_abs_error"].clip(lower=floor), "s-", ms=3,
            label="median |error|")
    if "max_error_bound" in df:
        ax.plot(df["queries"], df["max_error_bound"], "--", color="0.4",
                label="attacker's error bound")
    ax.set_yscale("log")
    ax.set_xlabel("queries sent")
    ax.set_ylabel("threshold error (feature units)")
    ax.set_title("Full blinding: bisection with chosen queries")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax
