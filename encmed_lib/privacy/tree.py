"""The level-by-level DP federated Gini tree (the first DP learner of the course)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ..federated.aggregation import Aggregator, RevealInfo, SecretSharingAggregator, Transcript
from ..federated.trainer import Binning, Codes, FederatedTreeTrainer, Provider
from ..tree import PortableTree
from .accountant import DEFAULT_LEAF_FRACTION, PrivacyAccountant, plan_tree_budget
from .mechanisms import RngLike, as_generator
from .noise import LEAF_KIND, NOISE_MODES, CentralNoise


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
    if getattr(aggregator, "auto_slots", False) and getattr(aggregator, "record_bound", None) is None:
        raise ValueError("aggregator: a Paillier back-end with slot_bits='auto' needs record_bound= "
                         "fixed in advance (its announced record counts are not noisy)")
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
    hook = NOISE_MODES[mode].from_plan(plan, as_generator(rng), accountant=accountant,
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
