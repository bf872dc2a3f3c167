"""The public candidate thresholds: scikit-learn midpoints between values on each feature's grid."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd


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
