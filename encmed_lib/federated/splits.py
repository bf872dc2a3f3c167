"""Choosing a node's split from the summed count table: candidates, exact Gini scores, stopping rules.

From the summed table of a node -- ``T[feature, bin, class]``, the counts
of all providers added up -- the coordinator (any party, or each provider
on its own, since the sums are public) picks the best Gini split.

**Candidate splits and tie-break rule.**  At a node, for feature ``f``, let
the non-empty bins (in the summed table) be :math:`b_1 < b_2 < \\dots`.  The
candidates are the cuts between consecutive non-empty bins :math:`(lo, hi)`;
the cut is placed at :math:`k = \\lfloor (lo + hi) / 2 \\rfloor` ("bin <= k"
goes left), the bin-space midpoint, as scikit-learn places its threshold at
the midpoint :math:`(lo + hi) / 2` between observed values.  Every candidate
is scored by the Gini criterion **in exact rational arithmetic**: maximise
:math:`\\sum_c L_c^2 / n_L + \\sum_c R_c^2 / n_R` (equivalently minimise the
weighted child impurity).  Equal scores are broken by the **lowest feature
index** (position in the binning's feature list), then the **lowest bin**
``lo``.  (scikit-learn breaks exact ties by its random feature permutation
instead; :attr:`~.trainer.FederatedTreeTrainer.splits_` records each node's
margin over the runner-up so a comparison can check no tie was decisive.)

**Stopping rules** (scikit-learn's, so the trees match): a node is a leaf if
``depth >= max_depth``, it has fewer than ``min_samples_split`` (or
``2 * min_samples_leaf``) records, it is pure, every feature is constant on
it, or the weighted impurity decrease plus machine epsilon is below
``min_impurity_decrease``.  With the default ``min_impurity_decrease=0`` a
split **with zero gain is still made** (scikit-learn does the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .binning import Binning

EPSILON = float(np.finfo(np.float64).eps)
"""scikit-learn's tolerance in its stopping rules (pure node, minimum decrease)."""

Candidate = tuple[Fraction, int, int, int]
"""``(score, feature index, lo, hi)``: one candidate cut between the non-empty bins ``lo < hi``."""

Split = tuple[int, int, int, int, np.ndarray, np.ndarray, dict]
"""``(feature index, lo, hi, k, left class counts, right class counts, record)`` of a chosen split."""


@dataclass
class SplitRecord:
    """How one internal node was chosen (ids are the final tree's node ids).

    ``score`` is :math:`\\sum_c L_c^2/n_L + \\sum_c R_c^2/n_R` (maximised);
    ``margin`` is its lead over the best *different* candidate split at the
    node (``inf`` if there was only one): a margin of 0 means the tie-break
    rule decided.
    """

    node: int
    feature: str
    feature_index: int
    low_bin: int
    high_bin: int
    bin: int
    threshold: float
    score: float
    runner_up: float | None
    margin: float
    improvement: float
    n_candidates: int


def exact_number(v) -> Fraction | int:
    """An integer as a Python int, any other number as an exact Fraction."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    return Fraction(float(v))


def plain_number(v) -> int | float:
    """A count as a Python int if it is an integer (exact counts), else as a float (noisy counts)."""
    return int(v) if isinstance(v, (int, np.integer)) else float(v)


def sklearn_gini(counts) -> float:
    """Gini impurity :math:`1 - \\sum_c n_c^2 / n^2` computed as scikit-learn does (float64, same order)."""
    n = float(sum(float(c) for c in counts))
    sq = 0.0
    for c in counts:
        sq += float(c) * float(c)
    return 1.0 - sq / (n * n)


def is_leaf(counts: np.ndarray, depth: int, *, max_depth: int | None, min_samples_split: int,
            min_samples_leaf: int) -> bool:
    """The stopping rules that need only the node's class counts: depth, size, purity.

    A node of ``n = sum(counts)`` records is a leaf if ``depth >= max_depth``,
    ``n < min_samples_split``, ``n < 2 * min_samples_leaf`` or its Gini
    impurity is at most :data:`EPSILON` (pure).
    """
    n = plain_number(counts.sum())
    return ((max_depth is not None and depth >= max_depth)
            or n < min_samples_split or n < 2 * min_samples_leaf
            or sklearn_gini(counts) <= EPSILON)


def candidate_splits(T: np.ndarray, binning: Binning, min_samples_leaf: int) -> list[Candidate]:
    """Every admissible cut of the summed table ``T`` (F, B, C), best first.

    For feature ``f`` with non-empty bins :math:`b_1 < b_2 < \\dots` the cut
    between :math:`lo = b_i` and :math:`hi = b_{i+1}` sends bins ``<= lo``
    left; with :math:`L_c, R_c` the class counts on each side it scores
    :math:`\\sum_c L_c^2 / n_L + \\sum_c R_c^2 / n_R` exactly (a
    :class:`~fractions.Fraction`).  Cuts leaving fewer than
    ``min_samples_leaf`` records on a side are dropped.  Sorted by highest
    score, then lowest feature index, then lowest ``lo`` (the tie-break rule).
    """
    candidates: list[Candidate] = []
    for f, name in enumerate(binning.feature_names):
        H = T[f, : binning.n_bins[name], :]
        nonempty = np.flatnonzero(H.sum(axis=1) > 0)
        if len(nonempty) < 2:
            continue  # constant on this node: scikit-learn skips it too
        cum = np.cumsum(H, axis=0)
        total = [exact_number(v) for v in cum[-1]]
        for lo, hi in zip(nonempty[:-1], nonempty[1:], strict=True):
            L = [exact_number(v) for v in cum[lo]]
            R = [t - v for t, v in zip(total, L, strict=True)]
            nL, nR = sum(L), sum(R)
            if nL < min_samples_leaf or nR < min_samples_leaf or nL <= 0 or nR <= 0:
                continue
            score = Fraction(sum(v * v for v in L)) / nL + Fraction(sum(v * v for v in R)) / nR
            candidates.append((score, f, int(lo), int(hi)))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    return candidates


def impurity_improvement(counts: np.ndarray, left_counts: np.ndarray, right_counts: np.ndarray,
                         n_root) -> Fraction:
    """scikit-learn's weighted impurity decrease of a split, exactly.

    .. math::  \\frac{n_t}{n_{root}} \\Big(G(t) - \\frac{n_R}{n_t} G(R) - \\frac{n_L}{n_t} G(L)\\Big),
               \\qquad G(s) = 1 - \\sum_c s_c^2 / n_s^2 .
    """
    n_t = Fraction(exact_number(counts.sum()))
    nL, nR = Fraction(exact_number(left_counts.sum())), Fraction(exact_number(right_counts.sum()))
    imp = 1 - Fraction(sum(exact_number(v) ** 2 for v in counts)) / (n_t * n_t)
    imp_l = 1 - Fraction(sum(exact_number(v) ** 2 for v in left_counts)) / (nL * nL)
    imp_r = 1 - Fraction(sum(exact_number(v) ** 2 for v in right_counts)) / (nR * nR)
    return n_t / exact_number(n_root) * (imp - nR / n_t * imp_r - nL / n_t * imp_l)


def best_split(T: np.ndarray, counts: np.ndarray, binning: Binning, *, min_samples_leaf: int,
               min_impurity_decrease: float, n_root) -> Split | None:
    """The best candidate on the summed table ``T`` (F, B, C) of a node, or None (a leaf).

    ``counts`` are the node's class counts and ``n_root`` the root's record
    count (the weight of :func:`impurity_improvement`).  None if there is no
    candidate or the best one's improvement plus :data:`EPSILON` is below
    ``min_impurity_decrease``; else the split "bin <= k",
    :math:`k = \\lfloor (lo + hi) / 2 \\rfloor`, its children's class counts and
    the fields of its :class:`SplitRecord` (all but ``node``).
    """
    candidates = candidate_splits(T, binning, min_samples_leaf)
    if not candidates:
        return None
    score, f, lo, hi = candidates[0]
    runner = candidates[1][0] if len(candidates) > 1 else None
    name = binning.feature_names[f]
    H = T[f, : binning.n_bins[name], :]
    left_counts, right_counts = H[: lo + 1].sum(axis=0), H[lo + 1:].sum(axis=0)
    improvement = impurity_improvement(counts, left_counts, right_counts, n_root)
    if float(improvement) + EPSILON < min_impurity_decrease:
        return None
    k = (lo + hi) // 2
    record = dict(feature=name, feature_index=f, low_bin=lo, high_bin=hi, bin=k,
                  threshold=binning.threshold(name, k), score=float(score),
                  runner_up=None if runner is None else float(runner),
                  margin=math.inf if runner is None else float(score - runner),
                  improvement=float(improvement), n_candidates=len(candidates))
    return f, lo, hi, k, left_counts, right_counts, record
