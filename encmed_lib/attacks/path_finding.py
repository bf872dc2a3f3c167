"""Label-only extraction by path-finding queries (after Tramer et al., USENIX Security 2016).

In label-only mode the client sees the label and the public sizes only, so the attacks on
replies (sieve, lattice, interval) have nothing to read.  What remains is the generic attack on a
label oracle: bisect, along one feature at a time, where the label changes.  It costs queries;
:func:`label_boundary_curve` measures how many.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Oracle", "LabelBoundaryResult", "label_boundary_attack", "boundary_recovery",
           "label_boundary_curve", "public_domain", "base_records"]

Oracle = Callable[[dict], object]
"""What a label-only client can do: ``label = oracle(record)``."""


@dataclass
class LabelBoundaryResult:
    """The outcome of :func:`label_boundary_attack`.

    Attributes
    ----------
    queries_used : int
        Labels asked for (never more than the budget).
    bases_used : int
        Base records explored.
    boundaries : list of (feature, estimate, half_width)
        Every distinct decision boundary found: along ``feature`` (the other
        features at a base record's values) the label changes within
        ``estimate ± half_width``.
    records : list of dict
        The records sent, in order.
    """

    queries_used: int
    bases_used: int = 0
    boundaries: list[tuple[str, float, float]] = field(default_factory=list)
    records: list[dict[str, float]] = field(default_factory=list)


def label_boundary_attack(oracle: Oracle, base_records, n_queries: int,
                          domain: Mapping[str, tuple[float, float]], *,
                          resolution: float = 1e-3) -> LabelBoundaryResult:
    """What a client that only sees labels can learn about the thresholds: bisection on the label.

    In label-only mode the client receives the label and nothing that names
    a node, so the interval attack of :mod:`encmed_lib.attacks` (one sign per
    known node) has nothing to read.  What remains is the generic attack on a
    label oracle: along one feature, with every other feature held at a base
    record's value, the label can change only where the record crosses a
    threshold on that feature.  For each base record in turn, while the
    budget lasts:

    1. ask the base record's label, then each feature at both ends of its
       ``domain`` (``1 + 2F`` queries): along feature ``f`` every pair of
       neighbouring points with different labels brackets a boundary;
    2. bisect the brackets one after the other, the narrowest first (fewest
       halvings to reach ``resolution``), until each is narrower than
       ``2 * resolution``.  A bracket that holds a boundary already found on
       that feature is first tested just either side of it (two queries): if
       the label flips there, it is the same boundary and the bracket is done.

    It finds decision boundaries, not nodes: a threshold that never changes
    the label along the lines explored stays hidden.  That is the measurement.

    Parameters
    ----------
    oracle : callable
        ``oracle(record) -> label``, e.g. one label-only round trip
        (:func:`encmed_lib.protocol.label_only.predict_label_only`).
    base_records : pandas.Series, dict, pandas.DataFrame or sequence of records
        Where the lines start, in order (the attacker's public records); each
        needs every feature the model uses.
    n_queries : int
        Total budget.
    domain : mapping
        Feature -> ``(low, high)``: the public range searched.
    resolution : float
        The attacker's target half-width (feature units).

    Returns
    -------
    LabelBoundaryResult
    """
    from ..protocol.client import record_items

    result = LabelBoundaryResult(0)
    for base_record in _as_bases(base_records):
        if n_queries - result.queries_used < 1:
            break
        base = {name: float(value) for name, value in record_items(base_record)}
        missing = [f for f in domain if f not in base]
        if missing:
            raise KeyError(f"domain features {missing} are not in the base record")
        result.bases_used += 1
        probe = _LineProbe(oracle, base, result, n_queries)
        for f, a, b, la, lb in _brackets(_line_ends(probe, domain)):
            bracket = _past_known_boundaries(probe, f, (a, b, la, lb), resolution)
            if bracket is None:
                continue  # the label flips at a boundary already found
            a, b, la, _ = bracket
            while (b - a) / 2 > resolution and probe.left() > 0:
                m = (a + b) / 2
                if probe.ask(f, m) == la:
                    a = m
                else:
                    b = m
            result.boundaries.append((f, (a + b) / 2, (b - a) / 2))
    return result


def _as_bases(base_records) -> list:
    """The base records in order: a DataFrame's rows, one record, or a sequence of records."""
    if isinstance(base_records, pd.DataFrame):
        return [row for _, row in base_records.iterrows()]
    if isinstance(base_records, (pd.Series, Mapping)):
        return [base_records]
    return list(base_records)


class _LineProbe:
    """Labels along lines through one base record, counted against the attack's budget."""

    def __init__(self, oracle: Oracle, base: dict[str, float], result: LabelBoundaryResult, n_queries: int):
        self.oracle, self.base, self.result, self.n_queries = oracle, base, result, n_queries

    def left(self) -> int:
        return self.n_queries - self.result.queries_used

    def ask(self, f: str | None = None, x: float = 0.0) -> object:
        """The label of the base record, or of the base record with feature ``f`` set to ``x``."""
        record = dict(self.base) if f is None else {**self.base, f: x}
        self.result.records.append(record)
        self.result.queries_used += 1
        label = self.oracle(record)
        return label.item() if hasattr(label, "item") else label


def _line_ends(probe: _LineProbe, domain: Mapping[str, tuple[float, float]]
               ) -> dict[str, list[tuple[float, object]]]:
    """Step 1: the base record's label, then each feature at both ends of its domain (budget allowing)."""
    base = probe.base
    base_label = probe.ask()
    points: dict[str, list[tuple[float, object]]] = {f: [(base[f], base_label)] for f in domain}
    for f, (low, high) in domain.items():
        for x in (float(low), float(high)):
            if probe.left() < 1:
                break
            if x != base[f]:
                points[f].append((x, probe.ask(f, x)))
    return points


def _brackets(points: Mapping[str, list[tuple[float, object]]]
              ) -> list[tuple[str, float, float, object, object]]:
    """``(feature, a, b, label at a, label at b)`` for neighbouring points of different labels.

    Narrowest first: fewest halvings to reach the resolution.
    """
    brackets = []
    for f, seen in points.items():
        seen = sorted(seen, key=lambda p: p[0])
        for (a, la), (b, lb) in zip(seen, seen[1:], strict=False):
            if la != lb:
                brackets.append((f, a, b, la, lb))
    brackets.sort(key=lambda br: br[2] - br[1])
    return brackets


def _past_known_boundaries(probe: _LineProbe, f: str, bracket: tuple[float, float, object, object],
                           resolution: float) -> tuple[float, float, object, object] | None:
    """Test the bracket just either side of each boundary already found on ``f``.

    None if the label flips there (the same boundary: the bracket is done);
    otherwise the bracket narrowed to the side whose ends still differ.
    """
    a, b, la, lb = bracket
    for e in [g_e for g, g_e, _ in probe.result.boundaries if g == f]:
        if not (a < e - resolution and e + resolution < b) or probe.left() < 2:
            continue
        l1, l2 = probe.ask(f, e - resolution), probe.ask(f, e + resolution)
        if l1 != l2:
            return None
        if l1 != la:  # the flip is elsewhere: keep the side whose ends differ
            b, lb = e - resolution, l1
        else:
            a, la = e + resolution, l2
    return a, b, la, lb


def boundary_recovery(boundaries: Iterable[tuple[str, float, float]], server, tol: float = 1e-3) -> int:
    """**Scoring only**: how many of the server's internal nodes have a boundary within ``tol``.

    A node ``(feature, t)`` counts as recovered when some boundary found on
    the same feature has ``|estimate - t| <= tol``.  ``server`` is a
    :class:`~encmed_lib.TreeServer`, a fitted tree or a
    :class:`~encmed_lib.PortableTree`.
    """
    from .common import true_thresholds

    found = list(boundaries)
    return sum(any(f == tf and abs(est - t) <= tol for f, est, _ in found)
               for tf, t in true_thresholds(server))


def public_domain(X: pd.DataFrame) -> dict[str, tuple[float, float]]:
    return {str(f): (float(X[f].min()), float(X[f].max())) for f in X.columns}


def base_records(X: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The label attacker's base records: the public sample's median, then its records in a seeded order."""
    return pd.concat([X.median().to_frame().T, X.sample(frac=1.0, random_state=seed)], ignore_index=True)


def label_boundary_curve(tree, X: pd.DataFrame, budgets: Sequence[int] = (60, 300, 1000, 3000), *,
                         seed: int = 0, tol: float = 1e-3, oracle: Oracle | None = None) -> pd.DataFrame:
    """Thresholds :func:`label_boundary_attack` recovers as the budget grows.

    The label-only protocol returns exactly the plaintext tree's label (the
    cost report checks it on every held-out row), and the attack is
    deterministic given the labels, so by default the oracle is the plaintext
    tree: large budgets in a second, the same answer the encrypted protocol
    would give (:func:`threshold_recovery` runs the protocol itself).

    Parameters
    ----------
    tree : fitted DecisionTreeClassifier
        The model (its ``predict`` is the default oracle; its thresholds score the attack).
    X : pandas.DataFrame
        The attacker's public sample: ranges and base records.
    budgets : sequence of int
        Query budgets, one independent attack each.
    seed : int
        Order of the base records after the sample's median.
    tol : float
        A node counts as recovered when a boundary on its feature is within ``tol``.
    oracle : callable, optional
        ``oracle(record) -> label`` instead of the plaintext tree.

    Returns
    -------
    pandas.DataFrame
        ``budget``, ``queries`` (used), ``bases`` (base records explored),
        ``boundaries`` (found), ``recovered`` (nodes within ``tol``),
        ``thresholds`` and ``rate``.
    """
    from .common import true_thresholds

    if oracle is None:
        columns = list(X.columns)

        def oracle(record: dict):
            return tree.predict(pd.DataFrame([record], columns=columns))[0]

    n_nodes = len(true_thresholds(tree))
    rows = []
    for budget in budgets:
        found = label_boundary_attack(oracle, base_records(X, seed), int(budget), public_domain(X),
                                      resolution=tol / 2)
        hit = boundary_recovery(found.boundaries, tree, tol)
        rows.append({"budget": int(budget), "queries": found.queries_used, "bases": found.bases_used,
                     "boundaries": len(found.boundaries), "recovered": hit, "thresholds": n_nodes,
                     "rate": hit / n_nodes if n_nodes else 1.0})
    df = pd.DataFrame(rows)
    df.attrs.update(tol=tol)
    return df
