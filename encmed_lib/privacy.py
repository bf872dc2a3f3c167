r"""Differential privacy for the federated tree: noisy counts, a budget, and what it costs.

Why the sums are not enough
---------------------------
Secure aggregation (:mod:`encmed_lib.federated.aggregation`) guarantees that
nobody sees a hospital's count table -- only the sum over hospitals.  But the
sum is still computed from patients.  If a tree node holds 40 patients and
the table says "40 with disease", anyone who knows 39 of them learns the
fortieth.  Differential privacy (DP) bounds what *any* published number can
reveal about *any one* patient, whatever else the reader knows.

The promise, for a clinician
----------------------------
A training procedure is :math:`\varepsilon`-**differentially private** if,
for any two data sets that differ by one patient (one record added or
removed) and any possible output :math:`S`,

.. math::  P[\text{output} \in S \mid \text{with the patient}]
           \le e^{\varepsilon}\, P[\text{output} \in S \mid \text{without}] .

In words: whether Mrs Smith's record is in the training set or not changes
the probability of every possible model by at most a factor :math:`e^\varepsilon`
(1.105 for :math:`\varepsilon = 0.1`, 2.7 for 1, 22 000 for 10).  Smaller
:math:`\varepsilon` is more private and noisier.  An attacker who tries to
tell "in" from "out" cannot do better than a true-positive rate minus
false-positive rate of :math:`(e^\varepsilon - 1)/(e^\varepsilon + 1)`
(:mod:`encmed_lib.membership` measures it).

The recipe, for a student
-------------------------
*Sensitivity.*  The **L1 sensitivity** :math:`\Delta` of a table of counts is
the largest total change (sum of absolute changes over all cells) that adding
or removing one record can cause.  A histogram of one feature has
:math:`\Delta = 1`.  The federated trainer's table at a node has one
histogram *per feature* (shape ``(features, bins, classes)``): a record adds 1
to one cell of *each* feature's histogram, so :math:`\Delta = F`, the number
of features (13 for the heart data), not 1.

*Laplace / geometric mechanism.*  Adding to every cell independent noise with
density :math:`\propto e^{-|z|\varepsilon/\Delta}` is :math:`\varepsilon`-DP.
Counts are integers, and secret sharing works modulo a prime, so we use the
**discrete Laplace** (two-sided geometric) distribution,

.. math::  P[Z = z] = \frac{1 - \alpha}{1 + \alpha}\, \alpha^{|z|}, \qquad
           \alpha = e^{-\varepsilon / \Delta},

the difference of two independent geometric variables, with variance
:math:`2\alpha / (1 - \alpha)^2 \approx 2 (\Delta/\varepsilon)^2`.  Counts that
come out negative are set to 0: anything computed from a DP output without
looking at the data again (**post-processing**) costs no privacy.

*Composition.*  Releasing two things computed on the *same* records costs
:math:`\varepsilon_1 + \varepsilon_2` (**sequential** composition).  Releasing
things computed on *disjoint* sets of records costs only
:math:`\max(\varepsilon_1, \varepsilon_2)` (**parallel** composition): one
patient is in one of them only.

The accounting of a DP federated tree
-------------------------------------
Every aggregate the trainer reveals passes through a ``noise`` hook
(:class:`CentralNoise` or :class:`DistributedNoise`); the nodes of one level
hold disjoint records, the levels and the leaves hold the same records.
With :math:`F` features, depth :math:`D` and total budget :math:`\varepsilon`
(:func:`plan_tree_budget`):

========================  ==============================  ===  =================  ======================
release                   one record changes              Δ    budget             composition
========================  ==============================  ===  =================  ======================
binning histogram         1 fine bin of each feature      F    ε_b                once (quantile edges
                                                                                  only; public ranges
                                                                                  cost nothing)
split tables of level l   1 (bin, class) cell of each     F    ε_l per level      parallel over the
(all its nodes at once)   feature, in its own node only                           level's nodes,
                                                                                  sequential over the
                                                                                  D levels
leaf class counts         1 class cell of its own leaf    1    ε_L                parallel over leaves
**total**                                                      ε_b + D ε_l + ε_L  sequential
========================  ==============================  ===  =================  ======================

with :math:`\varepsilon_L = ` ``leaf_fraction`` :math:`\times (\varepsilon -
\varepsilon_b)` and :math:`\varepsilon_l = (\varepsilon - \varepsilon_b -
\varepsilon_L) / D`.  (The trainer reveals the root's table even for
:math:`D = 0`, so :math:`D` counts as at least 1.)  The splits, the tree's
shape and its internal class counts are post-processing of the noisy tables
(so is :meth:`CentralNoise.consistent`, which uses the fact that the
:math:`F` histograms of a node count the same records to average their noise
down).
The leaf counts get a release of their own because they are what the tree
predicts with, and with :math:`\Delta = 1` instead of :math:`F` they are
13 times less noisy at the same :math:`\varepsilon` than counts read off the
parent's split table (``leaf_fraction=0`` keeps those instead, at no cost).
The class labels must be public (pass ``classes``), as must the binning.
Levels that the trainer never reaches (every node stopped earlier) are
never spent: :attr:`PrivacyAccountant.remaining` shows it.

Central and distributed noise
-----------------------------
*Central* (:class:`CentralNoise`): one party draws the noise and adds it to
the exact total before publishing it.  With Paillier that party is the key
holder, who sees the exact total first: the trusted curator of DP.

*Distributed* (:class:`DistributedNoise`, for secret sharing): each of the
:math:`k` providers adds its own noise share to its table *before* sharing
it, so the exact total never exists anywhere.  The discrete Laplace is
**infinitely divisible**: with :math:`X_i, Y_i` independent Polya
(negative binomial) variables of shape :math:`1/k` (:func:`polya`),

.. math::  \sum_{i=1}^{k} (X_i - Y_i) \sim \text{discrete Laplace}(\alpha),

because a sum of :math:`k` Polya(:math:`1/k`) variables is a geometric
variable (:func:`distributed_discrete_laplace_shares`).  Integer shares are
what modular secret sharing can carry (continuous Laplace noise cannot be).
The secret-sharing and plain aggregators call
:meth:`DistributedNoise.provider_share` for each provider before sharing,
so the published partial sums are already noisy; the Paillier aggregator
packs non-negative counts and adds the shares' sum to the decrypted total
(central noise in effect).
**Caveat:** a provider knows its own share, so to it the total carries only
the other :math:`k - 1` shares: a *weaker* guarantee,
:func:`insider_epsilon` (e.g. 13 features, :math:`\varepsilon = 1` per
level, :math:`k = 3` gives about 3.9 instead of 1 against an insider).

Randomness
----------
Every function takes a NumPy ``Generator`` or a seed, so that an experiment
reproduces exactly.  That is *statistical* randomness: a deployment must
draw its noise from a cryptographic source (e.g. :mod:`secrets`) with an
exact sampler (Canonne, Kamath & Steinke 2020), since floating-point
samplers and predictable generators leak (Mironov 2012).

::

    from encmed_lib.privacy import dp_federated_tree, plan_tree_budget
    tree, accountant = dp_federated_tree(providers, epsilon=1.0, max_depth=4,
                                         binning=Binning.from_ranges(HEART_RANGES, 8),
                                         classes=[0, 1], rng=0)
    accountant.ledger        # what was spent on what
"""

from __future__ import annotations

import dataclasses
import math
import warnings
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.special import gammaln, logsumexp

from .errors import EncmedError
from .federated.aggregation import (
    Aggregator,
    PlainAggregator,
    RevealInfo,
    SecretSharingAggregator,
    Transcript,
)
from .federated.trainer import (
    HEART_RANGES,
    SYNTHEA_RANGES,
    Binning,
    Codes,
    FederatedTreeTrainer,
    Provider,
    split_providers,
)
from .tree import PortableTree

__all__ = [
    "DEFAULT_LEAF_FRACTION", "PrivacyBudgetError", "discrete_laplace_alpha", "discrete_laplace",
    "discrete_laplace_pmf", "discrete_laplace_variance", "polya", "distributed_discrete_laplace_shares",
    "laplace_counts", "insider_epsilon", "PrivacyAccountant", "plan_tree_budget", "budget_table",
    "CentralNoise", "DistributedNoise", "dp_federated_tree", "public_bounds", "accuracy_vs_epsilon",
    "plot_accuracy_vs_epsilon", "METHOD_COLOURS",
]

DEFAULT_LEAF_FRACTION = 0.25
"""Share of the budget (after binning) spent on the leaf class counts by default."""

RngLike = np.random.Generator | np.random.SeedSequence | int | Sequence[int] | None


class PrivacyBudgetError(EncmedError, ValueError):
    """A release would spend more privacy budget than is left."""


def _rng(rng: RngLike) -> np.random.Generator:
    """A ``Generator`` from a generator, a seed or ``None`` (fresh OS entropy: not reproducible)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# ====================================================================== mechanisms
def discrete_laplace_alpha(epsilon: float, sensitivity: float = 1.0) -> float:
    r"""The parameter :math:`\alpha = e^{-\varepsilon/\Delta}` of the discrete Laplace mechanism.

    Parameters
    ----------
    epsilon : float
        Privacy budget of the release, > 0.
    sensitivity : float
        L1 sensitivity :math:`\Delta` of the released table, > 0.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if not sensitivity > 0:
        raise ValueError(f"sensitivity must be > 0, got {sensitivity}")
    alpha = math.exp(-epsilon / sensitivity)
    if alpha >= 1.0:
        raise ValueError(f"epsilon / sensitivity = {epsilon / sensitivity:g} is too small to sample "
                         "(the noise would be infinite)")
    return alpha


def discrete_laplace_pmf(z, alpha: float) -> np.ndarray:
    r""":math:`P[Z = z] = \frac{1-\alpha}{1+\alpha}\alpha^{|z|}`, elementwise."""
    z = np.abs(np.asarray(z, dtype=np.float64))
    return (1 - alpha) / (1 + alpha) * np.power(alpha, z)


def discrete_laplace_variance(alpha: float) -> float:
    r"""Variance :math:`2\alpha / (1-\alpha)^2` of the discrete Laplace distribution."""
    return 2 * alpha / (1 - alpha) ** 2


def discrete_laplace(epsilon: float | None = None, sensitivity: float = 1.0,
                     size: int | tuple[int, ...] | None = None, rng: RngLike = None, *,
                     alpha: float | None = None) -> np.ndarray:
    r"""Discrete Laplace (two-sided geometric) noise, :math:`\varepsilon`-DP for L1 sensitivity Δ.

    Drawn as the difference of two independent geometric variables with
    success probability :math:`1 - \alpha` (the number of failures before
    the first success), :math:`\alpha = e^{-\varepsilon/\Delta}`.

    Parameters
    ----------
    epsilon : float, optional
        Privacy budget (give ``epsilon`` or ``alpha``).
    sensitivity : float
        L1 sensitivity of the table the noise is added to.
    size : int or tuple, optional
        Output shape (``None``: one number, as a 0-d array).
    rng : Generator or seed
        Statistical randomness, for reproducible experiments (a deployment
        needs a cryptographic source).
    alpha : float, optional
        The parameter directly, in ``[0, 1)``.

    Returns
    -------
    numpy.ndarray
        ``int64`` noise.
    """
    if alpha is None:
        if epsilon is None:
            raise ValueError("give epsilon (and sensitivity) or alpha")
        alpha = discrete_laplace_alpha(epsilon, sensitivity)
    elif not 0 <= alpha < 1:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")
    gen = _rng(rng)
    p = 1.0 - alpha
    # numpy's geometric counts trials (>= 1); the difference of two is the same as of failures.
    return (gen.geometric(p, size=size) - gen.geometric(p, size=size)).astype(np.int64)


def polya(r: float, p: float, size: int | tuple[int, ...] | None = None,
          rng: RngLike = None) -> np.ndarray:
    r"""Polya (negative binomial) variables with a real shape ``r``, by the gamma-Poisson mixture.

    :math:`\lambda \sim \Gamma(r, \text{scale} = (1-p)/p)`, then
    :math:`X \sim \text{Poisson}(\lambda)`: the number of failures before the
    ``r``-th success with success probability ``p`` (NumPy's convention),
    :math:`P[X = x] = \frac{\Gamma(x + r)}{\Gamma(r)\, x!} p^r (1-p)^x`, mean
    :math:`r(1-p)/p`.  ``r = 1`` is the geometric distribution, and the sum
    of independent Polya(:math:`r_i`, ``p``) variables is
    Polya(:math:`\sum r_i`, ``p``): the geometric distribution is infinitely
    divisible.

    Parameters
    ----------
    r : float
        Shape, > 0 (need not be an integer).
    p : float
        Success probability, in ``(0, 1]``; for discrete Laplace noise
        :math:`p = 1 - \alpha`.
    size : int or tuple, optional
    rng : Generator or seed

    Returns
    -------
    numpy.ndarray
        ``int64`` draws.
    """
    if not r > 0:
        raise ValueError(f"r must be > 0, got {r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    gen = _rng(rng)
    lam = gen.gamma(r, (1.0 - p) / p, size=size)
    return gen.poisson(lam).astype(np.int64)


def distributed_discrete_laplace_shares(k: int, epsilon: float, sensitivity: float = 1.0,
                                        size: int | tuple[int, ...] | None = None,
                                        rng: RngLike = None) -> np.ndarray:
    r"""``k`` noise shares whose sum is exactly discrete Laplace(:math:`e^{-\varepsilon/\Delta}`).

    Share :math:`i` is :math:`X_i - Y_i` with :math:`X_i, Y_i` independent
    Polya(:math:`1/k`, :math:`1 - \alpha`) (:func:`polya`).  The sums
    :math:`\sum_i X_i` and :math:`\sum_i Y_i` are independent geometric
    variables, and their difference is the discrete Laplace noise of
    :func:`discrete_laplace`: each provider adds one share to its own table
    and the total carries exactly the central mechanism's noise.

    Parameters
    ----------
    k : int
        Number of providers (shares), >= 1.
    epsilon, sensitivity : float
        Budget and L1 sensitivity of the release the total noise protects.
    size : int or tuple, optional
        Shape of each share.
    rng : Generator or seed

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(k, *size)``: row ``i`` is provider ``i``'s share.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    k = int(k)
    alpha = discrete_laplace_alpha(epsilon, sensitivity)
    gen = _rng(rng)
    shape = (k,) if size is None else (k, *np.atleast_1d(size).tolist())
    return polya(1.0 / k, 1.0 - alpha, shape, gen) - polya(1.0 / k, 1.0 - alpha, shape, gen)


def laplace_counts(table, epsilon: float, sensitivity: float, rng: RngLike = None, *,
                   clip: bool = True) -> np.ndarray:
    r"""A count table plus discrete Laplace noise: the (integer) Laplace mechanism.

    Parameters
    ----------
    table : array-like of int
        The exact counts.
    epsilon : float
        Budget of this release.
    sensitivity : float
        L1 sensitivity of the *whole* table (e.g. the number of features for
        the trainer's per-node tables).
    rng : Generator or seed
    clip : bool
        Set negative noisy counts to 0 (post-processing: free).

    Returns
    -------
    numpy.ndarray
        ``int64``, same shape.
    """
    table = np.asarray(table)
    if table.dtype.kind not in "iu":
        raise ValueError(f"a count table must hold integers, got dtype {table.dtype}")
    noisy = table.astype(np.int64) + discrete_laplace(epsilon, sensitivity, table.shape, rng)
    return np.maximum(noisy, 0) if clip else noisy


def _polya_logpmf(x: np.ndarray, r: float, alpha: float) -> np.ndarray:
    return (gammaln(x + r) - gammaln(r) - gammaln(x + 1.0) + r * math.log1p(-alpha)
            + x * math.log(alpha))


def insider_epsilon(epsilon: float, sensitivity: float, k: int, colluders: int = 1, *,
                    max_terms: int = 4_000_000) -> float:
    r"""The privacy a release keeps against providers who know their own noise shares.

    With :class:`DistributedNoise` the total carries :math:`k` shares; a
    coalition of ``colluders`` providers subtracts its own, leaving
    :math:`Z = X - Y` with :math:`X, Y` Polya(:math:`r`, :math:`1 - \alpha`),
    :math:`r = (k - c)/k < 1`: not discrete Laplace, and heavier near 0.  A
    record moves ``sensitivity`` cells by 1 each (the trainer's tables), so
    the insider's epsilon is :math:`\Delta \cdot \sup_z \log P[Z=z]/P[Z=z+1]`
    (the supremum is at :math:`z = 0`; it lies between
    :math:`\varepsilon/\Delta` and :math:`\varepsilon/\Delta + \log(1/r)`).
    With ``colluders = 0`` it is ``epsilon`` itself.

    Parameters
    ----------
    epsilon, sensitivity : float
        Budget and L1 sensitivity of the release (as given to the noise).
    k : int
        Number of providers.
    colluders : int
        Providers pooling their shares (1: a single curious provider).
    max_terms : int
        Cap on the series length (reached only for :math:`\varepsilon/\Delta < 10^{-5}`).

    Returns
    -------
    float
        The effective epsilon against the coalition (``inf`` if it holds every share).
    """
    if not 0 <= colluders <= k:
        raise ValueError(f"colluders must be between 0 and k = {k}, got {colluders}")
    if colluders == k:
        return math.inf
    alpha = discrete_laplace_alpha(epsilon, sensitivity)
    if alpha == 0.0:
        return math.inf if colluders else epsilon  # no noise at all
    r = (k - colluders) / k
    n_terms = min(int(math.ceil(25.0 / -math.log(alpha))) + 64, max_terms)
    y = np.arange(n_terms, dtype=np.float64)
    log_y = _polya_logpmf(y, r, alpha)
    zs = np.arange(0, 34, dtype=np.float64)
    logp = np.array([logsumexp(_polya_logpmf(y + z, r, alpha) + log_y) for z in zs])
    per_unit = float(np.max(logp[:-1] - logp[1:]))
    return sensitivity * per_unit


# ====================================================================== accounting
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


# ====================================================================== noise hooks
LEAF_KIND = "leaves"
"""``RevealInfo.kind`` of the leaf class-count release made by :func:`dp_federated_tree`."""


class CentralNoise:
    r"""Trainer ``noise`` hook: discrete Laplace noise on each revealed total, then clipping at 0.

    Called as ``noise(total, info)`` by the aggregator, right before the
    total is published (:class:`~encmed_lib.federated.RevealInfo` says what
    it is).  The budget and sensitivity depend on ``info.kind``:

    ==================  ======================  ============================
    ``info.kind``       epsilon                 sensitivity
    ==================  ======================  ============================
    ``"counts"``        ``epsilon_per_level``   ``n_features`` (all nodes of
                                                one level at once)
    ``"histogram"``     ``epsilon_binning``     ``info.n_features``
    ``"leaves"``        ``epsilon_leaves``      ``info.n_features`` (1)
    ==================  ======================  ============================

    Parameters
    ----------
    epsilon_per_level : float
        Budget of one level's split tables.
    n_features : int
        Features per node (checked against ``info.n_features``).
    rng : Generator or seed
        Statistical randomness (reproducible experiments only).
    epsilon_leaves, epsilon_binning : float
        Budgets of the leaf class counts and of the binning histogram (0: such
        a release is refused).
    accountant : PrivacyAccountant, optional
        Charged at every release (and refusing it when over budget).
    binning : Binning, optional
        The trainer's binning.  If given, each node's noisy split table is
        made **consistent** before clipping: every feature's histogram at a
        node counts the same records, so the per-class totals of the
        :math:`F` histograms are :math:`F` noisy estimates of one vector; they
        are averaged (weights :math:`1/B_f`, the inverse variances) and each
        histogram is shifted evenly over its :math:`B_f` bins to match (the
        least-squares projection on tables with equal totals), then rounded.
        Post-processing: free, and it reduces the noise on the class counts
        the trainer reads off a split about :math:`F`-fold in variance.
    clip : bool
        Set negative noisy counts to 0 (post-processing).

    Attributes
    ----------
    releases_ : list of dict
        One entry per release: round, kind, epsilon, sensitivity, alpha, cells, noise sd.
    """

    mode = "central"

    def __init__(self, epsilon_per_level: float, n_features: int, rng: RngLike = None, *,
                 epsilon_leaves: float = 0.0, epsilon_binning: float = 0.0,
                 accountant: PrivacyAccountant | None = None, binning: Binning | None = None,
                 clip: bool = True):
        if not epsilon_per_level > 0:
            raise ValueError(f"epsilon_per_level must be > 0, got {epsilon_per_level}")
        self.epsilon_per_level = float(epsilon_per_level)
        self.n_features = int(n_features)
        self.epsilon_leaves = float(epsilon_leaves)
        self.epsilon_binning = float(epsilon_binning)
        self.rng = _rng(rng)
        self.accountant = accountant
        self.binning = binning
        self.clip = clip
        self.releases_: list[dict[str, Any]] = []

    @classmethod
    def from_plan(cls, plan: Mapping[str, Any], rng: RngLike = None, *,
                  accountant: PrivacyAccountant | None = None, **kwargs):
        """The hook for a :func:`plan_tree_budget` plan."""
        return cls(plan["per_level"], plan["n_features"], rng, epsilon_leaves=plan["leaves"],
                   epsilon_binning=plan["binning"], accountant=accountant, **kwargs)

    def budget(self, info: RevealInfo) -> tuple[float, float]:
        """``(epsilon, sensitivity)`` of the release described by ``info``."""
        if info.kind == "counts":
            if info.n_features and info.n_features != self.n_features:
                raise ValueError(f"the trainer reveals tables of {info.n_features} features, the "
                                 f"noise was set up for {self.n_features}")
            return self.epsilon_per_level, float(self.n_features)
        if info.kind == "histogram":
            eps, what = self.epsilon_binning, "a binning histogram"
        elif info.kind == LEAF_KIND:
            eps, what = self.epsilon_leaves, "leaf class counts"
        else:
            raise ValueError(f"unknown release kind {info.kind!r}")
        if not eps > 0:
            raise PrivacyBudgetError(f"{what} is being revealed but no budget was planned for it")
        return eps, float(info.n_features or self.n_features)

    def _noise(self, shape: tuple[int, ...], epsilon: float, sensitivity: float,
               info: RevealInfo) -> np.ndarray:
        return discrete_laplace(epsilon, sensitivity, shape, self.rng)

    def __call__(self, total: np.ndarray, info: RevealInfo) -> np.ndarray:
        """Add the noise to a revealed total, charge the budget, post-process."""
        total = np.asarray(total, dtype=np.int64)
        epsilon, sensitivity = self.budget(info)
        return self.finish(total + self._noise(total.shape, epsilon, sensitivity, info), info)

    def finish(self, noisy: np.ndarray, info: RevealInfo) -> np.ndarray:
        """Charge the budget for a release whose noise is already in ``noisy``; post-process it."""
        noisy = np.asarray(noisy, dtype=np.int64)
        total = noisy
        epsilon, sensitivity = self.budget(info)
        if self.accountant is not None:
            self.accountant.spend(epsilon, f"{info.round or info.kind}: {info.kind} "
                                           f"(sensitivity {sensitivity:g}, {self.mode} noise)")
        alpha = math.exp(-epsilon / sensitivity)
        if info.kind == "counts" and self.binning is not None:
            noisy = self.consistent(noisy)
        self.releases_.append({"round": info.round, "kind": info.kind, "epsilon": epsilon,
                               "sensitivity": sensitivity, "alpha": alpha, "cells": total.size,
                               "noise_sd": math.sqrt(discrete_laplace_variance(alpha))})
        return np.maximum(noisy, 0) if self.clip else noisy

    def consistent(self, noisy: np.ndarray) -> np.ndarray:
        """Make every feature's histogram at a node sum to the same class counts (see ``binning``).

        ``noisy`` is the trainer's flat level table ``(nodes, sum of bins * classes)``.
        """
        bins = np.array(list(self.binning.n_bins.values()))
        m, width = noisy.shape
        if width % bins.sum():
            raise ValueError(f"a table of width {width} does not fit the binning's {bins.sum()} bins")
        C = width // int(bins.sum())
        tables = noisy.astype(np.float64).reshape(m, int(bins.sum()), C)
        starts = np.concatenate([[0], np.cumsum(bins)])
        sums = np.stack([tables[:, a:b].sum(axis=1) for a, b in zip(starts[:-1], starts[1:],
                                                                   strict=True)], axis=1)
        weights = 1.0 / bins
        common = np.tensordot(weights, sums, axes=([0], [1])) / weights.sum()  # (nodes, classes)
        for f, (a, b) in enumerate(zip(starts[:-1], starts[1:], strict=True)):
            tables[:, a:b] += ((common - sums[:, f]) / bins[f])[:, None, :]
        return np.rint(tables).astype(np.int64).reshape(m, width)

    def history(self) -> pd.DataFrame:
        """:attr:`releases_` as a table."""
        return pd.DataFrame(self.releases_)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(epsilon_per_level={self.epsilon_per_level:g}, "
                f"n_features={self.n_features}, epsilon_leaves={self.epsilon_leaves:g}, "
                f"epsilon_binning={self.epsilon_binning:g})")


class DistributedNoise(CentralNoise):
    r"""Trainer ``noise`` hook modelling distributed noise: the total noise is a sum of ``k`` shares.

    Each of the ``k = info.n_providers`` providers draws its own share
    :math:`X_i - Y_i`, Polya(:math:`1/k`, :math:`1-\alpha`) each
    (:func:`distributed_discrete_laplace_shares`); their sum has exactly the
    discrete Laplace distribution of :class:`CentralNoise`, so the released
    tree has the same distribution and the same :math:`\varepsilon`.

    **Where the noise is added.**  With the secret-sharing (and plain)
    back-ends, each provider adds its own share to its table *before* it is
    shared (:meth:`provider_share`, called by
    :meth:`~encmed_lib.federated.aggregation.Aggregator.aggregate`): the
    published partial sums already carry the noise, and nobody ever sees the
    exact total.  The Paillier back-end packs non-negative counts, so there
    the shares are drawn separately but added to the decrypted total (the key
    holder sees the exact total first: central noise in effect).

    **Insider caveat.**  Once the providers add the shares themselves, a
    provider knows its own share and sees the total with only :math:`k - 1`
    shares of noise: :func:`insider_epsilon` (e.g. :math:`\varepsilon = 1`,
    :math:`\Delta = 13`, :math:`k = 3`: about 3.9).

    Parameters
    ----------
    Those of :class:`CentralNoise`, and:

    n_providers : int, optional
        ``k`` when ``info.n_providers`` is not given.
    keep_shares : bool
        Keep the last release's shares in :attr:`last_shares_` (shape ``(k, *total.shape)``).
    """

    mode = "distributed"
    per_provider = True
    """Back-ends that support it let each provider add its own share (see :meth:`provider_share`)."""

    def __init__(self, epsilon_per_level: float, n_features: int, rng: RngLike = None, *,
                 n_providers: int | None = None, keep_shares: bool = False, **kwargs):
        super().__init__(epsilon_per_level, n_features, rng, **kwargs)
        self.n_providers = n_providers
        self.keep_shares = keep_shares
        self.last_shares_: np.ndarray | None = None
        self.provider_shares_: dict[str, dict[str, np.ndarray]] = {}

    def _noise(self, shape, epsilon, sensitivity, info):
        k = info.n_providers or self.n_providers
        if not k:
            raise ValueError("distributed noise needs the number of providers (info.n_providers "
                             "or n_providers=)")
        shares = distributed_discrete_laplace_shares(k, epsilon, sensitivity, shape, self.rng)
        if self.keep_shares:
            self.last_shares_ = shares
        return shares.sum(axis=0)

    def provider_share(self, provider: str, shape: tuple[int, ...], info: RevealInfo) -> np.ndarray:
        """One provider's noise share for one release: Polya(1/k, 1-alpha) - Polya(1/k, 1-alpha).

        Called by an aggregator that supports distributed noise, *before* the
        provider's table is secret-shared; the ``k`` shares add up to one
        discrete Laplace draw, so the published total is already noisy.
        """
        k = info.n_providers or self.n_providers
        if not k:
            raise ValueError("distributed noise needs the number of providers")
        epsilon, sensitivity = self.budget(info)
        share = distributed_discrete_laplace_shares(k, epsilon, sensitivity, shape, self.rng)[0]
        self.provider_shares_.setdefault(info.round or info.kind, {})[provider] = share
        return share

    def insider_epsilons(self, k: int, colluders: int = 1) -> dict[str, float]:
        """Effective epsilon of each kind of release against ``colluders`` of ``k`` providers."""
        out = {"counts": insider_epsilon(self.epsilon_per_level, self.n_features, k, colluders)}
        if self.epsilon_leaves > 0:
            out[LEAF_KIND] = insider_epsilon(self.epsilon_leaves, 1, k, colluders)
        if self.epsilon_binning > 0:
            out["histogram"] = insider_epsilon(self.epsilon_binning, self.n_features, k, colluders)
        return out


NOISE_MODES = {"central": CentralNoise, "distributed": DistributedNoise}


# ====================================================================== the DP tree
def dp_federated_tree(providers: Sequence[Provider], epsilon: float, max_depth: int,
                      binning: Binning | Mapping[str, tuple[float, float] | Codes],
                      aggregator: Aggregator | None = None, *, rng: RngLike = None,
                      mode: str = "central", leaf_fraction: float = DEFAULT_LEAF_FRACTION,
                      binning_epsilon: float = 0.0, n_bins: int = 8, fine_bins: int = 64,
                      classes: Sequence | None = None, consistent: bool = True,
                      min_samples_split: int = 2, min_samples_leaf: int = 1,
                      transcript: Transcript | None = None) -> tuple[PortableTree, PrivacyAccountant]:
    r"""Train an :math:`\varepsilon`-DP federated tree; returns the tree and the spent budget.

    The budget is split by :func:`plan_tree_budget`; a :class:`CentralNoise`
    or :class:`DistributedNoise` hook perturbs every aggregate the
    :class:`~encmed_lib.federated.FederatedTreeTrainer` reveals (one per
    level) and, if ``leaf_fraction > 0``, the leaf class counts are summed
    and perturbed once more (sensitivity 1) and replace the leaves' counts.
    Everything else is post-processing: making each level's tables
    consistent across features (``consistent``), clipping at 0, choosing
    the splits and the stopping rules on noisy counts.

    Parameters
    ----------
    providers : sequence of Provider
    epsilon : float
        Total budget.
    max_depth : int
    binning : Binning or mapping
        A :class:`~encmed_lib.federated.Binning` on public ranges (no cost),
        or the public ranges themselves for quantile binning from a noisy
        histogram (:meth:`Binning.from_histograms`, ``n_bins`` and
        ``fine_bins``), which costs ``binning_epsilon``.
    aggregator : Aggregator, optional
        Default :class:`~encmed_lib.federated.SecretSharingAggregator`.  The
        tree does not depend on it, only on ``rng``.
    rng : Generator or seed
        The noise's randomness (statistical: reproducible experiments).
    mode : {"central", "distributed"}
    leaf_fraction : float
        Share of the budget (after binning) for the leaf counts.
    binning_epsilon : float
    classes : sequence, optional
        The public class labels.  Without them the labels present at the
        providers are used, which is a (small) leak outside the budget.
    consistent : bool
        Post-process each level's noisy tables to be consistent across
        features (:meth:`CentralNoise.consistent`); free, and more accurate.
    min_samples_split, min_samples_leaf : int
        Stopping rules (on noisy counts).
    transcript : Transcript, optional

    Returns
    -------
    tree : PortableTree
        ``tree.meta["dp"]`` records the plan and the spent budget.
    accountant : PrivacyAccountant
        Its ledger lists every release (levels never reached are not spent).
    """
    if mode not in NOISE_MODES:
        raise ValueError(f"mode must be one of {list(NOISE_MODES)}, got {mode!r}")
    providers = list(providers)
    if classes is None:
        warnings.warn("classes were not given: the labels present at the providers are revealed "
                      "outside the privacy budget (pass the public classes)", UserWarning, stacklevel=2)
    quantiles = not isinstance(binning, Binning)
    if quantiles and not binning_epsilon > 0:
        raise ValueError("quantile binning from ranges reveals a histogram: give it a "
                         "binning_epsilon > 0 (or pass a Binning on public ranges)")
    if not quantiles and binning_epsilon:
        raise ValueError("binning_epsilon is only spent by quantile binning: pass the ranges "
                         "instead of a Binning, or binning_epsilon=0")
    n_features = len(binning) if quantiles else len(binning.feature_names)
    plan = plan_tree_budget(epsilon, max_depth, n_features, binning_epsilon, leaf_fraction)
    accountant = PrivacyAccountant(epsilon)
    hook = NOISE_MODES[mode].from_plan(plan, _rng(rng), accountant=accountant,
                                       binning=binning if consistent and not quantiles else None)
    transcript = transcript if transcript is not None else Transcript()
    aggregator = aggregator if aggregator is not None else SecretSharingAggregator()
    if quantiles:
        binning = Binning.from_histograms(providers, aggregator, binning, n_bins, fine_bins=fine_bins,
                                          transcript=transcript, noise=hook)
        hook.binning = binning if consistent else None
    trainer = FederatedTreeTrainer(max_depth, binning, aggregator, classes=classes, noise=hook,
                                   min_samples_split=min_samples_split, min_samples_leaf=min_samples_leaf)
    tree = trainer.fit(providers, transcript)
    if plan["leaves"] > 0:
        tree = _release_leaves(trainer, providers, hook, transcript)
    tree.meta["dp"] = {"mode": mode, "epsilon": float(epsilon), "spent": accountant.spent,
                       **{k: plan[k] for k in ("binning", "per_level", "n_levels", "leaves",
                                               "n_features")}}
    trainer.tree_ = tree
    return tree, accountant


def _release_leaves(trainer: FederatedTreeTrainer, providers: list[Provider], hook: CentralNoise,
                    transcript: Transcript) -> PortableTree:
    """Sum the leaves' class counts (sensitivity 1), perturb them, and put them in the leaves.

    The providers' records are still routed to the leaves after
    :meth:`FederatedTreeTrainer.fit`; a record is in one leaf and one class.
    """
    tree = trainer.tree_
    key_of = {node_id: key for key, node_id in trainer.node_ids_.items()}
    leaves = [n.id for n in tree.nodes if n.is_leaf]
    keys = [key_of[i] for i in leaves]
    C = len(tree.classes)
    transcript.round = LEAF_KIND
    for p in providers:
        transcript.send(trainer.coordinator, p.name, "query", keys,
                        summary=f"class counts wanted for leaves {keys}", size=len(str(keys)))
    tables = {p.name: p.count_tables(keys)[:, 0, :, :].sum(axis=1).astype(np.int64).ravel()
              for p in providers}
    info = RevealInfo(LEAF_KIND, LEAF_KIND, tuple(keys), 1, len(providers))
    total = np.asarray(trainer.aggregator.aggregate(tables, transcript, noise=hook, info=info))
    transcript.round = ""
    counts = total.reshape(len(keys), C)
    nodes = list(tree.nodes)
    for node_id, row in zip(leaves, counts, strict=True):
        n = int(row.sum())
        value = [float(c) / n for c in row] if n > 0 else [1.0 / C] * C
        # Gini as the trainer (and scikit-learn) computes it, in the same order of operations
        impurity = 1.0 - math.fsum(float(c) ** 2 for c in row) / float(n) ** 2 if n > 0 else 1.0 - 1.0 / C
        nodes[node_id] = dataclasses.replace(nodes[node_id], value=value, n_samples=n,
                                             weighted_n_samples=float(n), impurity=impurity)
    out = PortableTree(list(tree.feature_names), list(tree.classes), nodes, dict(tree.meta))
    out.validate()
    return out


# ====================================================================== experiments
def public_bounds(ranges: Mapping[str, tuple[float, float] | Codes]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """diffprivlib's ``bounds`` from public ranges: ``(low, high)`` or the smallest and largest code."""
    lows, highs = [], []
    for name, spec in ranges.items():
        lo, hi = (spec.codes[0], spec.codes[-1]) if isinstance(spec, Codes) else spec
        if not lo < hi:
            raise ValueError(f"feature {name!r}: bounds need low < high, got {(lo, hi)}")
        lows.append(float(lo))
        highs.append(float(hi))
    return np.array(lows), np.array(highs)


def _default_ranges(columns) -> Mapping[str, tuple[float, float] | Codes]:
    for ranges in (HEART_RANGES, SYNTHEA_RANGES):
        if set(ranges) == set(columns):
            return ranges
    raise ValueError("give the public ranges of the features (ranges=...); the columns match "
                     "neither HEART_RANGES nor SYNTHEA_RANGES")


def _seed(seed: int, method: str, epsilon: float) -> np.random.SeedSequence:
    """One independent, reproducible stream per (seed, method, epsilon)."""
    return np.random.SeedSequence([int(seed), zlib.crc32(method.encode()),
                                   zlib.crc32(repr(float(epsilon)).encode())])


METHODS = {
    "central": "DP federated tree (central)",
    "distributed": "DP federated tree (distributed)",
    "diffprivlib tree": "diffprivlib DecisionTreeClassifier",
    "diffprivlib forest": "diffprivlib RandomForestClassifier",
    "non-private": "non-private federated tree",
}
"""Method keys of :func:`accuracy_vs_epsilon` and the names written in its ``method`` column."""

METHOD_COLOURS = {
    METHODS["central"]: "#4C72B0", METHODS["distributed"]: "#55A868",
    METHODS["diffprivlib tree"]: "#DD8452", METHODS["diffprivlib forest"]: "#C44E52",
    METHODS["non-private"]: "#333333",
}
"""Colour of each method in the figures."""


def accuracy_vs_epsilon(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test,
                        epsilons: Sequence[float], seeds: Sequence[int], *, max_depth: int = 4,
                        binning: Binning | None = None,
                        ranges: Mapping[str, tuple[float, float] | Codes] | None = None,
                        k_providers: int = 3, n_estimators: int = 10, classes: Sequence | None = None,
                        leaf_fraction: float = DEFAULT_LEAF_FRACTION,
                        methods: Sequence[str] = tuple(METHODS)) -> pd.DataFrame:
    """Held-out accuracy of DP trees against epsilon, several seeds each, and the non-private tree.

    Methods (keys of :data:`METHODS`):

    * ``"central"``, ``"distributed"``: :func:`dp_federated_tree` on
      ``k_providers`` providers (:func:`~encmed_lib.federated.split_providers`,
      split by the seed) with the given public ``binning``;
    * ``"diffprivlib tree"``: IBM diffprivlib's ``DecisionTreeClassifier``
      (``max_depth``, ``epsilon``, ``bounds`` from the public ``ranges``,
      ``classes``).  diffprivlib documents it as the base estimator of its
      forest, "not meant to be used separately": random splits drawn inside
      the bounds (no data used), the whole budget spent on the leaf labels;
    * ``"diffprivlib forest"``: its ``RandomForestClassifier``
      (``n_estimators`` trees, each trained on a disjoint part of the data,
      so each gets the whole ``epsilon``);
    * ``"non-private"``: the federated tree without noise (same binning;
      it equals scikit-learn's tree on the binned data), ``epsilon = inf``,
      one row per seed.

    The aggregator is :class:`~encmed_lib.federated.PlainAggregator`: the
    secure back-ends return the same sums, so the same trees, more slowly.

    Parameters
    ----------
    X_train, y_train, X_test, y_test
        Training and held-out records.
    epsilons : sequence of float
    seeds : sequence of int
        Each seed fixes the provider split and every random draw: the same
        call gives the same table.
    max_depth : int
    binning : Binning, optional
        Default: 8 equal-width bins over ``ranges``.
    ranges : mapping, optional
        Public ranges (default: :data:`HEART_RANGES` or :data:`SYNTHEA_RANGES`
        from the columns); also diffprivlib's bounds.
    k_providers, n_estimators : int
    classes : sequence, optional
        Public labels (default: sorted labels of ``y_train``).
    leaf_fraction : float
    methods : sequence of str

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``epsilon``, ``seed``, ``accuracy``.
    """
    from diffprivlib.accountant import BudgetAccountant
    from diffprivlib.models import DecisionTreeClassifier as DPTree
    from diffprivlib.models import RandomForestClassifier as DPForest
    from diffprivlib.utils import PrivacyLeakWarning

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose among {list(METHODS)}")
    ranges = ranges if ranges is not None else _default_ranges(X_train.columns)
    binning = binning if binning is not None else Binning.from_ranges(ranges, 8)
    columns = list(ranges)
    X_train, X_test = X_train[columns], X_test[columns]
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = list(classes) if classes is not None else sorted(np.unique(y_train).tolist())
    bounds = public_bounds(ranges)
    rows = []

    def add(method: str, eps: float, seed: int, pred) -> None:
        rows.append({"method": METHODS[method], "epsilon": float(eps), "seed": int(seed),
                     "accuracy": float(np.mean(np.asarray(pred) == y_test))})

    for seed in seeds:
        providers = split_providers(X_train, y_train, k=k_providers, seed=int(seed))
        if "non-private" in methods:
            trainer = FederatedTreeTrainer(max_depth, binning, PlainAggregator(), classes=classes)
            add("non-private", math.inf, seed, trainer.fit(providers).to_sklearn().predict(X_test))
        for eps in epsilons:
            for mode in ("central", "distributed"):
                if mode in methods:
                    tree, _ = dp_federated_tree(providers, eps, max_depth, binning, PlainAggregator(),
                                                rng=_seed(seed, mode, eps), mode=mode,
                                                classes=classes, leaf_fraction=leaf_fraction)
                    add(mode, eps, seed, tree.to_sklearn().predict(X_test))
            for key, make in (("diffprivlib tree", lambda e, s: DPTree(
                                  max_depth, epsilon=e, bounds=bounds, classes=classes,
                                  random_state=s, accountant=BudgetAccountant())),
                              ("diffprivlib forest", lambda e, s: DPForest(
                                  n_estimators, epsilon=e, bounds=bounds, classes=classes,
                                  max_depth=max_depth, random_state=s,
                                  accountant=BudgetAccountant()))):
                if key not in methods:
                    continue
                state = int(_seed(seed, key, eps).generate_state(1)[0])
                model = make(eps, state)
                with warnings.catch_warnings():
                    # bounds and classes come from public knowledge (the ranges), not the data
                    warnings.simplefilter("ignore", PrivacyLeakWarning)
                    model.fit(X_train.to_numpy(), y_train)
                add(key, eps, seed, model.predict(X_test.to_numpy()))
    return pd.DataFrame(rows, columns=["method", "epsilon", "seed", "accuracy"])


def _bands(df: pd.DataFrame, value: str) -> pd.DataFrame:
    """Median and quartiles of ``value`` per (method, epsilon)."""
    g = df.groupby(["method", "epsilon"], sort=True)[value]
    return pd.DataFrame({"median": g.median(), "q1": g.quantile(0.25), "q3": g.quantile(0.75)}
                        ).reset_index()


def plot_accuracy_vs_epsilon(df: pd.DataFrame, *, baseline: float | None = None,
                             title: str = "Held-out accuracy of DP trees against the privacy budget"
                             ) -> Figure:
    """Median accuracy (line) and interquartile range (band) per method, against epsilon (log scale).

    Parameters
    ----------
    df : pandas.DataFrame
        :func:`accuracy_vs_epsilon`'s output.  Rows with an infinite
        ``epsilon`` (the non-private reference) are drawn as a dashed
        horizontal line at their median.
    baseline : float, optional
        Accuracy of always predicting the majority class (dotted line).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.subplots()
    finite = df[np.isfinite(df["epsilon"])]
    stats = _bands(finite, "accuracy")
    for k, (method, part) in enumerate(stats.groupby("method", sort=False)):
        colour = METHOD_COLOURS.get(method, f"C{k}")
        ax.plot(part["epsilon"], part["median"], marker="o", color=colour, label=method)
        ax.fill_between(part["epsilon"], part["q1"], part["q3"], color=colour, alpha=0.18,
                        linewidth=0)
    for method, part in df[~np.isfinite(df["epsilon"])].groupby("method", sort=False):
        level = float(part["accuracy"].median())
        ax.axhline(level, color=METHOD_COLOURS.get(method, "black"), linestyle="--", linewidth=1.2,
                   label=f"{method} ({level:.2f})")
    if baseline is not None:
        ax.axhline(baseline, color="#7F7F7F", linestyle=":", linewidth=1.2,
                   label=f"majority class ({baseline:.2f})")
    ax.set_xscale("log")
    ax.set_xlabel(r"privacy budget $\varepsilon$ (log scale; smaller = more private)")
    ax.set_ylabel(f"held-out accuracy (median, IQR over {df['seed'].nunique()} seeds)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig
