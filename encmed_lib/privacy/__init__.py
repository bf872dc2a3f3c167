r"""Differential privacy for federated trees: noisy counts, a budget, and what it costs.

The package, in diffprivlib's layout (one concern per module):

=================================  =============================================================
:mod:`~.mechanisms`                discrete Laplace noise, its Polya shares, the insider's epsilon
:mod:`~.samplers`                  the seeded sampler of experiments and OpenDP's OS-drawn one
:mod:`~.accountant`                :class:`PrivacyAccountant`, budget plans and tables
:mod:`~.noise`                     the aggregation ``noise`` hooks (central, distributed)
:mod:`~.tree`                      :func:`dp_federated_tree`: the level-by-level DP Gini tree
:mod:`~.schedule`                  the forest's trees, depth and split features, from public facts
:mod:`~.forest`                    :func:`dp_random_forest`: random-split trees, noisy leaves only
:mod:`~.mpc_forest`                the same forest trained by MPyC processes, noise inside MPyC
:mod:`~.tuning`                    synthetic tuning samples, where the forest's schedule is chosen
:mod:`~.experiments`               accuracy against epsilon next to diffprivlib, and the figure
:mod:`~.benchmark`                 ``python -m encmed_lib.privacy.benchmark``: the table
=================================  =============================================================

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

The accounting of the DP forest
-------------------------------
:func:`dp_random_forest` draws :math:`T` random-split trees from the public
ranges (no cost) and releases once, for every leaf of every tree, the margin
:math:`c(1) - c(0)` (two classes) or the class counts: one record changes
:math:`T` released values by 1, so :math:`\Delta = T` and the whole budget
:math:`\varepsilon` goes to that one release (one ledger row; OpenDP's
privacy map of the same discrete Laplace measurement is recorded beside it).
No record count is announced: a Paillier back-end needs ``record_bound``
fixed in advance; over MPyC (:mod:`~.mpc_forest`) the one opening is the
total with every provider's noise share inside.  Thresholds are log-scale on
skewed public ranges; two classes release margins below :math:`\varepsilon = 1`
and counts from there; below :math:`\varepsilon = 0.3` a narrow table's splits
are drawn among its categorical features only (:mod:`~.schedule`: public
facts only).  ``python -m encmed_lib.privacy.benchmark`` compares it with
diffprivlib's tree and forest (20 seeds): on breast cancer and on the heart
sample it is at or above both at every :math:`\varepsilon` of the grid (at 0.1
on the heart sample by 0.014 only, within the spread of the seeds).

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
Every aggregator calls :meth:`DistributedNoise.provider_share` for each
provider before its table leaves it: the secret-sharing partial sums and the
Paillier total the key holder decrypts (signed slots) are already noisy.
With the plain aggregator the aggregator sees each table with one share of
noise only: it simulates the released model's distribution, nothing more.
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

from .accountant import (
    DEFAULT_LEAF_FRACTION,
    PrivacyAccountant,
    PrivacyBudgetError,
    budget_table,
    laplace_epsilon,
    plan_tree_budget,
)
from .experiments import (
    METHOD_COLOURS,
    METHODS,
    accuracy_vs_epsilon,
    default_ranges,
    median_bands,
    method_seed,
    plot_accuracy_vs_epsilon,
    public_bounds,
)
from .forest import DPForest, dp_random_forest, random_split_tree
from .mechanisms import (
    RngLike,
    as_generator,
    discrete_laplace,
    discrete_laplace_alpha,
    discrete_laplace_pmf,
    discrete_laplace_variance,
    distributed_discrete_laplace_shares,
    insider_epsilon,
    laplace_counts,
    polya,
)
from .noise import LEAF_KIND, NOISE_MODES, CentralNoise, DistributedNoise
from .samplers import OpenDPSampler, SeededSampler
from .schedule import forest_schedule, split_features
from .tree import dp_federated_tree

# The names used before the package existed (membership and evaluation import them).
_bands = median_bands
_default_ranges = default_ranges
_seed = method_seed
_rng = as_generator

__all__ = [
    "DEFAULT_LEAF_FRACTION", "PrivacyBudgetError", "discrete_laplace_alpha", "discrete_laplace",
    "discrete_laplace_pmf", "discrete_laplace_variance", "polya", "distributed_discrete_laplace_shares",
    "laplace_counts", "insider_epsilon", "PrivacyAccountant", "plan_tree_budget", "budget_table",
    "CentralNoise", "DistributedNoise", "dp_federated_tree", "public_bounds", "accuracy_vs_epsilon",
    "plot_accuracy_vs_epsilon", "METHOD_COLOURS", "METHODS", "LEAF_KIND", "NOISE_MODES", "RngLike",
    "laplace_epsilon", "SeededSampler", "OpenDPSampler", "DPForest", "dp_random_forest",
    "forest_schedule", "split_features", "random_split_tree", "median_bands", "default_ranges", "method_seed",
    "as_generator",
]
