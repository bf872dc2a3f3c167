"""Federated decision-tree training: providers grow one Gini tree without pooling records.

The setting
-----------
``K`` providers (hospitals, practices) each hold their own patients' records
and want one decision tree trained on all of them, without any of them
showing its records -- or even its per-hospital statistics -- to anyone.  The
tree is then an ordinary :class:`~encmed_lib.tree.PortableTree`: a
:class:`~encmed_lib.TreeServer` serves it for encrypted prediction.

Every provider places its values into the same **public bins**
(:mod:`encmed_lib.federated.binning`, over the public ranges of
:mod:`encmed_lib.federated.ranges`), so that the class counts on each side of
every candidate threshold are sums of per-provider count tables
``counts[feature, bin, class]``; a split "bin <= k" learnt on binned data
becomes the raw threshold :math:`e_k`, and the tree on raw records predicts
what the tree on binned records predicts, record for record.

Growing the tree
----------------
Level by level.  For all open nodes of a level at once (one aggregation per
level: ``max_depth`` rounds for a depth-``max_depth`` tree), every provider
(:mod:`encmed_lib.federated.providers`) computes its count table for its own
records at each node, the tables are summed by a secure aggregator
(:mod:`encmed_lib.federated.aggregation`), and only the sum is revealed.  From
the sum the coordinator -- any party, or each provider on its own, since the
sums are public -- picks each node's best Gini split
(:mod:`encmed_lib.federated.splits`: candidates, exact scores, tie-break and
stopping rules) and announces it; providers route their own records to the
children.  The grown drafts are numbered depth first and written as a
:class:`~encmed_lib.tree.PortableTree` (:mod:`encmed_lib.federated.assembly`).

Exactness
---------
Without noise the federated tree equals, node for node (feature, threshold
through the bin semantics, children, class counts, impurity),
``DecisionTreeClassifier(criterion="gini", max_depth=d)`` fitted on the
pooled *binned* data, whenever no exact tie between two different candidate
splits decides a node (scikit-learn's choice then depends on its
``random_state``).  ``tests/test_federated.py`` checks it for three back-ends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..tree import PortableTree
from .aggregation import (
    EVERYONE,
    Aggregator,
    NoiseHook,
    RevealInfo,
    SecretSharingAggregator,
    Transcript,
)
from .assembly import Draft, build_trees, depth_first
from .binning import Binning
from .providers import (
    Provider,
    announce_bounds,
    check_columns,
    check_providers,
    providers_from_organizations,
    split_providers,
)
from .ranges import HEART_RANGES, SYNTHEA_RANGES, Codes
from .splits import EPSILON, SplitRecord, best_split, is_leaf, plain_number

__all__ = [
    "FederatedTreeTrainer",
    # re-exported: the trainer's parts, importable from here as before
    "Binning", "Codes", "HEART_RANGES", "SYNTHEA_RANGES", "Provider", "split_providers",
    "providers_from_organizations", "announce_bounds", "SplitRecord", "Draft", "depth_first",
    "plain_number", "EPSILON", "EVERYONE", "Aggregator", "NoiseHook", "RevealInfo",
    "SecretSharingAggregator", "Transcript",
]


class FederatedTreeTrainer:
    """Grow a Gini decision tree over several providers, level by level.

    Parameters
    ----------
    max_depth : int or None
        Depth limit (``None``: grow until pure or unsplittable).
    binning : Binning
        The public bin edges (every provider must have exactly its features).
    aggregator : Aggregator, optional
        The secure aggregation back-end; default :class:`SecretSharingAggregator`.
    min_samples_split, min_samples_leaf, min_impurity_decrease
        scikit-learn's stopping rules, same meaning and defaults.
    classes : sequence, optional
        The class labels (public).  Default: the sorted union of the
        providers' labels (which tells everyone which labels each provider has;
        pass them to avoid even that).
    noise : callable, optional
        ``noise(total, info) -> noisy total`` applied to every aggregate
        before it is revealed (hook for differential privacy; see
        :class:`~.aggregation.RevealInfo`).  It must return finite,
        non-negative counts.
    coordinator : str
        Name of the party announcing rounds and splits in the transcript.

    Attributes (after :meth:`fit`)
    ------------------------------
    tree_ : PortableTree
        The tree, thresholds in the raw feature space.
    binned_tree_ : PortableTree
        The same tree over bin indices (thresholds ``(lo + hi) / 2``, as
        scikit-learn would place them on the binned data).
    splits_ : list of SplitRecord
        One per internal node.
    transcript_ : Transcript
        Every message of the run.
    n_rounds_ : int
        Aggregations performed (one per level with a node to split).
    node_ids_ : dict
        ``{node number in the messages: node id in the tree}``.  Messages
        number nodes as they are created, level by level (root 0, its
        children 1 and 2...); the finished tree is renumbered depth first,
        left subtree first, as scikit-learn numbers its nodes.
    """

    def __init__(self, max_depth: int | None, binning: Binning, aggregator: Aggregator | None = None,
                 *, min_samples_split: int = 2, min_samples_leaf: int = 1,
                 min_impurity_decrease: float = 0.0, classes: Sequence | None = None,
                 noise: NoiseHook | None = None, coordinator: str = "coordinator"):
        if max_depth is not None and max_depth < 0:
            raise ValueError(f"max_depth must be >= 0 or None, got {max_depth}")
        if min_samples_split < 2:
            raise ValueError(f"min_samples_split must be at least 2, got {min_samples_split}")
        if min_samples_leaf < 1:
            raise ValueError(f"min_samples_leaf must be at least 1, got {min_samples_leaf}")
        if not isinstance(binning, Binning):
            raise TypeError("binning must be a Binning (e.g. Binning.from_ranges(HEART_RANGES))")
        self.max_depth = max_depth
        self.binning = binning
        self.aggregator = aggregator if aggregator is not None else SecretSharingAggregator()
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_impurity_decrease = min_impurity_decrease
        self.classes = None if classes is None else list(classes)
        self.noise = noise
        self.coordinator = coordinator

    # -- the protocol ------------------------------------------------------------------
    def fit(self, providers: Sequence[Provider], transcript: Transcript | None = None) -> PortableTree:
        """Train on the providers' records; returns the :class:`PortableTree` (also ``self.tree_``).

        One round per level: the open nodes that may still split are queried
        (:meth:`_level_totals`: count tables summed by the aggregator), each
        one's best split is chosen on the sum (:meth:`_choose_splits`) and
        the splits are announced to the providers, who route their records
        (:meth:`_announce`).

        Raises
        ------
        ValueError
            Fewer than 2 providers, duplicate provider names, providers whose
            columns differ (the message names the column) or differ from the
            binning's features, unknown labels, or no records at all.
        """
        providers = check_providers(providers)
        check_columns(providers, self.binning)
        classes = self.classes
        if classes is None:
            labels = set().union(*(p.labels() for p in providers))
            classes = sorted(labels)
        self.classes_ = list(classes)
        transcript = transcript if transcript is not None else Transcript()
        self.transcript_ = transcript
        for p in providers:
            p.prepare(self.binning, self.classes_)

        announce_bounds(providers, self.aggregator, transcript)
        root = Draft(0, 0)
        keys, open_nodes, level = 1, [root], 0
        self.n_rounds_ = 0
        self._n_root = None
        while open_nodes:
            query = [d for d in open_nodes if d.counts is None or not self._leaf_by_counts(d)]
            if not query:
                break
            transcript.round = f"level {level}"
            totals = self._level_totals(providers, query, transcript)
            open_nodes, routing, announced, keys = self._choose_splits(query, totals, keys)
            if routing:
                self._announce(providers, routing, announced, transcript)
            level += 1
        transcript.round = ""
        self.tree_, self.binned_tree_, self.splits_ = self._build(root, len(providers))
        return self.tree_

    def _level_totals(self, providers: list[Provider], query: list[Draft], transcript: Transcript
                      ) -> np.ndarray:
        """One round: ask for the count tables of the ``query`` nodes; their sum, ``(m, F, B, C)``."""
        ids = [d.key for d in query]
        for p in providers:
            transcript.send(self.coordinator, p.name, "query", ids,
                            summary=f"count tables wanted for nodes {ids}",
                            size=len(json.dumps(ids)))
        tables = {p.name: self.binning.flatten(p.count_tables(ids)) for p in providers}
        info = RevealInfo("counts", transcript.round, tuple(ids), len(self.binning.feature_names),
                          len(providers))
        total = self.aggregator.aggregate(tables, transcript, noise=self.noise, info=info)
        total = np.asarray(total)
        if not np.all(np.isfinite(total)) or (total.size and total.min() < 0):
            raise ValueError("the revealed totals must be finite and non-negative (a noise "
                             "hook must clamp its output)")
        self.n_rounds_ += 1
        return self.binning.unflatten(total, len(self.classes_))

    def _choose_splits(self, query: list[Draft], totals: np.ndarray, keys: int
                       ) -> tuple[list[Draft], dict, dict, int]:
        """Split every queried node that should be, on its summed table.

        Returns the children (the next level's open nodes), the routing
        ``{node: (feature index, k, left, right)}`` sent to the providers, the
        announcement ``{node: {feature, threshold, left, right}}`` and the next
        free node number.  The root's class counts come from its table (any
        feature's bins add up to them).
        """
        next_open, routing, announced = [], {}, {}
        for d, T in zip(query, totals, strict=True):
            if d.counts is None:  # the root: its class counts come from any feature's bins
                d.counts = T[0].sum(axis=0)
                self._n_root = plain_number(d.counts.sum())
                if self._n_root == 0:
                    raise ValueError("the providers hold no records at all")
                if self._leaf_by_counts(d):
                    continue
            best = self._best_split(T, d.counts)
            if best is None:
                continue
            f, lo, hi, k, left_counts, right_counts, record = best
            left, right = Draft(keys, d.depth + 1, left_counts), Draft(keys + 1, d.depth + 1,
                                                                        right_counts)
            keys += 2
            d.split, d.children, d.record = (f, lo, hi, k), (left, right), record
            next_open += [left, right]
            routing[d.key] = (f, k, left.key, right.key)
            name = self.binning.feature_names[f]
            announced[d.key] = {"feature": name, "threshold": self.binning.threshold(name, k),
                                "left": left.key, "right": right.key}
        return next_open, routing, announced, keys

    def _announce(self, providers: list[Provider], routing: dict, announced: dict,
                  transcript: Transcript) -> None:
        """Send the chosen splits to every provider, who routes its records to the children."""
        text = json.dumps(announced)
        for p in providers:
            transcript.send(self.coordinator, p.name, "split", announced,
                            summary=f"{len(routing)} chosen split(s): "
                                    + "; ".join(f"node {n}: {a['feature']} <= {a['threshold']:g}"
                                                for n, a in announced.items()),
                            size=len(text))
            p.route(routing)

    # -- choosing splits (the rules of :mod:`.splits`, with this trainer's parameters) -------
    def _leaf_by_counts(self, d: Draft) -> bool:
        return is_leaf(d.counts, d.depth, max_depth=self.max_depth,
                       min_samples_split=self.min_samples_split, min_samples_leaf=self.min_samples_leaf)

    def _best_split(self, T: np.ndarray, counts: np.ndarray):
        """The best candidate on the summed table ``T`` (F, B, C), or None (leaf): :func:`.best_split`."""
        return best_split(T, counts, self.binning, min_samples_leaf=self.min_samples_leaf,
                          min_impurity_decrease=self.min_impurity_decrease, n_root=self._n_root)

    # -- the result ----------------------------------------------------------------------
    def _build(self, root: Draft, n_providers: int):
        """``(tree, tree over bin indices, split records)`` of the grown drafts; sets :attr:`node_ids_`."""
        meta = {"criterion": "gini", "max_depth": self.max_depth, "trainer": "federated",
                "aggregator": self.aggregator.name, "n_providers": n_providers,
                "binning": self.binning.to_dict()}
        tree, binned, records, self.node_ids_ = build_trees(root, self.binning, self.classes_, meta)
        return tree, binned, records

    # -- using it ---------------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Plaintext predictions on raw records (the :class:`PortableTree`)."""
        return self.tree_.predict(X)

    def predict_binned(self, X: pd.DataFrame) -> np.ndarray:
        """Plaintext predictions of the tree over bin indices, on raw records binned first."""
        return self.binned_tree_.predict(self.binning.transform(X))
