"""The tree under construction, and its assembly into a :class:`~encmed_lib.tree.PortableTree`.

The trainers (in-process, :mod:`~encmed_lib.federated.trainer`, and
multi-process, :mod:`~encmed_lib.federated.mpc_tree`) grow a tree of
:class:`Draft` nodes level by level: messages number the nodes as they are
created (root 0, its children 1 and 2...).  The finished tree is renumbered
**depth first, left subtree first** (:func:`depth_first`), as scikit-learn
numbers its nodes, and written twice by :func:`build_trees`: once with raw
thresholds (the edge :math:`e_k` of the split "bin <= k", see
:mod:`~encmed_lib.federated.binning`) and once over bin indices (threshold
:math:`(lo + hi) / 2`, where scikit-learn would place it on binned data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..tree import Node, PortableTree
from .splits import SplitRecord, plain_number, sklearn_gini

if TYPE_CHECKING:
    from .binning import Binning


@dataclass
class Draft:
    """One node being grown: its message number, depth, class counts and, once split, its children."""

    key: int
    depth: int
    counts: np.ndarray | None = None
    split: tuple | None = None  # (feature index, lo, hi, k)
    children: tuple[Draft, Draft] | None = None
    record: dict = field(default_factory=dict)


def depth_first(root: Draft) -> list[Draft]:
    """The drafts in scikit-learn's depth-first numbering (node, then its left subtree, then its right)."""
    order: list[Draft] = []

    def visit(d: Draft) -> None:
        order.append(d)
        if d.children:
            visit(d.children[0])
            visit(d.children[1])

    visit(root)
    return order


def draft_nodes(order: Sequence[Draft], ids: dict[int, int], binning: Binning
                ) -> tuple[list[Node], list[Node], list[SplitRecord]]:
    """The raw-threshold nodes, the bin-index nodes and the split records of drafts in tree order.

    Node ``j`` of ``n`` records with class counts :math:`n_c` stores
    ``value`` :math:`n_c / n` and scikit-learn's Gini impurity; an internal
    node "bin <= k" of cut ``(lo, hi)`` gets the raw threshold :math:`e_k`
    (:meth:`~.binning.Binning.threshold`) in the first tree and
    :math:`(lo + hi) / 2` in the second.
    """
    raw, binned, records = [], [], []
    for j, d in enumerate(order):
        n = plain_number(d.counts.sum())
        value = [float(c) / float(n) for c in d.counts]
        common = dict(value=value, n_samples=int(round(n)), weighted_n_samples=float(n),
                      impurity=sklearn_gini(d.counts))
        if d.children is None:
            raw.append(Node(j, None, None, None, None, **common))
            binned.append(Node(j, None, None, None, None, **common))
            continue
        f, lo, hi, k = d.split
        name = binning.feature_names[f]
        left, right = ids[d.children[0].key], ids[d.children[1].key]
        raw.append(Node(j, name, binning.threshold(name, k), left, right, **common))
        binned.append(Node(j, name, (lo + hi) / 2, left, right, **common))
        records.append(SplitRecord(node=j, **d.record))
    return raw, binned, records


def build_trees(root: Draft, binning: Binning, classes: Sequence, meta: dict
                ) -> tuple[PortableTree, PortableTree, list[SplitRecord], dict[int, int]]:
    """The grown drafts as ``(tree, tree over bin indices, split records, node ids)``.

    ``node ids`` maps each draft's message number to its depth-first id;
    ``meta`` goes into both trees (the second also gets ``space="bin indices"``).
    The raw tree is validated.
    """
    order = depth_first(root)
    ids = {d.key: j for j, d in enumerate(order)}
    raw, binned, records = draft_nodes(order, ids, binning)
    names = binning.feature_names
    tree = PortableTree(list(names), list(classes), raw, dict(meta))
    tree.validate()
    bmeta = dict(meta, space="bin indices")
    return tree, PortableTree(list(names), list(classes), binned, bmeta), records, dict(ids)
