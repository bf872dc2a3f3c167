"""The privacy budget: an accountant with a ledger, and the budget plan of a DP federated tree.

Every released value is charged to a :class:`PrivacyAccountant` (sequential
composition; parallel composition over disjoint records is the caller's
argument, written in each release's description).  The epsilon of a discrete
Laplace release of scale :math:`t = \\Delta/\varepsilon` is checked with
OpenDP's privacy map when OpenDP is installed (:func:`laplace_epsilon`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ArgumentError, EncmedError
from .mechanisms import discrete_laplace_variance

DEFAULT_LEAF_FRACTION = 0.25
"""Share of the budget (after binning) spent on the leaf class counts by default."""


def check_epsilon(epsilon, error: type[Exception] = ArgumentError) -> float:
    """``epsilon`` as a float, or ``error`` unless it is a real number, finite and > 0.

    An infinite budget would make the noise scale :math:`T/\varepsilon` zero: the exact table released.
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) \
            or not math.isfinite(epsilon) or not epsilon > 0:
        raise error(f"epsilon: expected a finite number > 0, got {epsilon!r}")
    return float(epsilon)


class PrivacyBudgetError(EncmedError, ValueError):
    """A release would spend more privacy budget than is left."""


class PrivacyAccountant:
    """A privacy budget and the ledger of what was spent on it (sequential composition).

    Parameters
    ----------
    total_epsilon : float
        The budget, > 0.

    Examples
    --------
    >>> acc = PrivacyAccountant(1.0)
    >>> acc.spend(0.4, "level 0")
    0.6
    >>> round(acc.remaining, 10)
    0.6
    """

    def __init__(self, total_epsilon: float):
        if not total_epsilon > 0:
            raise ValueError(f"total_epsilon must be > 0, got {total_epsilon}")
        self.total_epsilon = float(total_epsilon)
        self._rows: list[dict[str, Any]] = []

    @property
    def spent(self) -> float:
        return math.fsum(r["epsilon"] for r in self._rows)

    @property
    def remaining(self) -> float:
        return max(self.total_epsilon - self.spent, 0.0)

    def spend(self, epsilon: float, what: str) -> float:
        """Record a release of cost ``epsilon``; returns the budget left.

        Raises
        ------
        PrivacyBudgetError
            ``epsilon`` exceeds what is left (nothing is recorded then).
        """
        epsilon = float(epsilon)
        if not epsilon >= 0 or math.isnan(epsilon):
            raise ValueError(f"{what}: epsilon must be >= 0, got {epsilon}")
        after = self.spent + epsilon
        if after > self.total_epsilon * (1 + 1e-9) + 1e-12:
            raise PrivacyBudgetError(
                f"{what}: spending epsilon = {epsilon:g} would exceed the budget "
                f"({self.spent:g} of {self.total_epsilon:g} already spent, {self.remaining:g} left)")
        self._rows.append({"what": str(what), "epsilon": epsilon})
        return self.remaining

    @property
    def ledger(self) -> pd.DataFrame:
        """One row per release: what, epsilon, cumulative spent, remaining."""
        frame = pd.DataFrame(self._rows, columns=["what", "epsilon"])
        frame["spent"] = frame["epsilon"].cumsum()
        frame["remaining"] = (self.total_epsilon - frame["spent"]).clip(lower=0.0)
        return frame

    def __repr__(self) -> str:
        return (f"PrivacyAccountant(total_epsilon={self.total_epsilon:g}, spent={self.spent:g}, "
                f"{len(self._rows)} releases)")


def plan_tree_budget(total_epsilon: float, max_depth: int, n_features: int, binning_epsilon: float = 0.0,
                     leaf_fraction: float = DEFAULT_LEAF_FRACTION) -> dict[str, Any]:
    r"""Split a budget between the binning, the levels and the leaf labels of a DP tree.

    See the module docstring for the table.  ``binning_epsilon`` is taken
    first (0 for public ranges), then ``leaf_fraction`` of the rest goes to
    the leaf class counts (sensitivity 1) and the remainder is split evenly
    over the :math:`D = \max(\text{max\_depth}, 1)` levels of split tables
    (sensitivity ``n_features`` each; the nodes of a level are disjoint, so
    a level costs the same as one node).

    Parameters
    ----------
    total_epsilon : float
    max_depth : int
        The depth limit (a DP tree needs one: the number of releases is fixed in advance).
    n_features : int
        Features in the binning :math:`F`: the sensitivity of a level's tables.
    binning_epsilon : float
        Budget of the noisy histogram behind quantile binning (0: public ranges).
    leaf_fraction : float
        In ``[0, 1)``.  0: no separate leaf release, the leaf labels are read
        off the parent's noisy split table (post-processing).

    Returns
    -------
    dict
        ``total``, ``binning``, ``per_level``, ``n_levels``, ``levels``
        (``n_levels * per_level``), ``leaves``, ``n_features``,
        ``binning_sensitivity`` and ``level_sensitivity`` (both ``n_features``),
        ``leaf_sensitivity`` (1), and ``level_noise_sd`` / ``leaf_noise_sd``
        (standard deviation of the noise on one count).
        ``binning + levels + leaves == total``.
    """
    if max_depth is None or int(max_depth) != max_depth or max_depth < 0:
        raise ValueError(f"a DP tree needs a fixed max_depth >= 0, got {max_depth!r}")
    if int(n_features) != n_features or n_features < 1:
        raise ValueError(f"n_features must be a positive integer, got {n_features}")
    if not total_epsilon > 0 or not math.isfinite(total_epsilon):
        raise ValueError(f"total_epsilon must be a finite number > 0, got {total_epsilon}")
    if not 0 <= binning_epsilon < total_epsilon:
        raise ValueError(f"binning_epsilon must be in [0, total_epsilon), got {binning_epsilon}")
    if not 0 <= leaf_fraction < 1:
        raise ValueError(f"leaf_fraction must be in [0, 1), got {leaf_fraction}")
    n_levels = max(int(max_depth), 1)
    rest = total_epsilon - binning_epsilon
    leaves = leaf_fraction * rest
    per_level = (rest - leaves) / n_levels
    F = int(n_features)

    def sd(eps: float, sens: float) -> float:
        if eps <= 0:
            return math.nan
        a = math.exp(-eps / sens)
        return math.sqrt(discrete_laplace_variance(a)) if a < 1 else math.inf

    return {"total": float(total_epsilon), "binning": float(binning_epsilon),
            "per_level": per_level, "n_levels": n_levels, "levels": per_level * n_levels,
            "leaves": leaves, "n_features": F, "binning_sensitivity": F, "level_sensitivity": F,
            "leaf_sensitivity": 1, "level_noise_sd": sd(per_level, F), "leaf_noise_sd": sd(leaves, 1),
            "binning_noise_sd": sd(binning_epsilon, F)}


def budget_table(plan: Mapping[str, Any]) -> pd.DataFrame:
    """The accounting table of a :func:`plan_tree_budget` result (one row per release type)."""
    F, D = plan["n_features"], plan["n_levels"]
    rows = [
        {"release": "binning histogram", "one record changes": "1 fine bin of each feature",
         "sensitivity": F, "epsilon each": plan["binning"], "times": 1 if plan["binning"] else 0,
         "composition": "sequential (quantile binning only)", "noise sd per count":
             plan["binning_noise_sd"]},
        {"release": "split tables (one level)", "one record changes":
             "1 (bin, class) cell of each feature, in its own node",
         "sensitivity": F, "epsilon each": plan["per_level"], "times": D,
         "composition": "parallel over nodes, sequential over levels",
         "noise sd per count": plan["level_noise_sd"]},
        {"release": "leaf class counts", "one record changes": "1 class cell of its own leaf",
         "sensitivity": 1, "epsilon each": plan["leaves"], "times": 1 if plan["leaves"] else 0,
         "composition": "parallel over leaves", "noise sd per count": plan["leaf_noise_sd"]},
    ]
    frame = pd.DataFrame(rows)
    frame["epsilon total"] = frame["epsilon each"] * frame["times"]
    total = {"release": "total", "one record changes": "", "sensitivity": np.nan,
             "epsilon each": np.nan, "times": np.nan, "composition": "sequential",
             "noise sd per count": np.nan, "epsilon total": frame["epsilon total"].sum()}
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True).set_index("release")


def laplace_epsilon(sensitivity: int, scale: float) -> float:
    r"""The epsilon of discrete Laplace noise of scale ``scale`` at L1 sensitivity ``sensitivity``.

    :math:`\varepsilon = \Delta / t`, read off OpenDP's privacy map of its
    integer ``make_laplace`` measurement when OpenDP is installed (its
    arithmetic rounds outwards, so the value may exceed :math:`\Delta/t` by a
    few ulps), else computed directly.
    """
    if int(sensitivity) != sensitivity or sensitivity < 0:
        raise ValueError(f"sensitivity must be a non-negative integer, got {sensitivity}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    try:
        from .samplers import OpenDPSampler

        return float(OpenDPSampler.measurement(scale).map(int(sensitivity)))
    except ImportError:  # pragma: no cover - OpenDP is pinned in requirements.txt
        return float(sensitivity) / float(scale)
