"""The tree as label-only mode evaluates it: comparison nodes, leaves, and each leaf's path.

A :class:`Layout` lists the comparison nodes (feature, threshold code) and, for every leaf, its
class index and its path: the ``(node, went_left)`` pairs from the root.  Two layouts:

* **natural** (default): the tree's own nodes.  The client learns their number (and the leaf
  count), nothing of the shape: nodes and leaves travel in random orders.
* **padded** to a public depth :math:`D`: a complete tree of :math:`2^D - 1` comparisons
  (a shallow leaf gets dummy comparisons below it, both of whose children repeat its label),
  so the sizes say nothing but :math:`D`.  It costs :math:`2^D` (a knob, not a must).

A tree without any comparison gets one dummy comparison (so there is always something to
compare, and the message shapes stay the same).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ...data.schema import DatasetSpec
from ...errors import DomainError
from ...tree import PortableTree


@dataclass(frozen=True)
class Layout:
    """``features[j]``, ``codes[j]`` of comparison ``j``; ``leaf_class[l]``, ``paths[l]`` of leaf ``l``."""

    features: tuple[str, ...]
    codes: tuple[int, ...]
    leaf_class: tuple[int, ...]
    paths: tuple[tuple[tuple[int, bool], ...], ...]

    @property
    def n_comparisons(self) -> int:
        return len(self.features)

    @property
    def n_leaves(self) -> int:
        return len(self.leaf_class)


MAX_PADDED_DEPTH = 12
"""Padding to depth D costs 2^D comparisons: deeper is refused (a DomainError, not a MemoryError)."""


def build_layout(tree: PortableTree, schema: DatasetSpec, depth: int | None = None) -> Layout:
    """The natural layout of ``tree`` (``depth=None``) or the complete one of public depth ``depth``."""
    classes = list(tree.classes)
    code = {}  # (feature, threshold) -> threshold code, through the public schema
    for node in tree.internal_nodes():
        code[node.id] = schema.feature(node.feature).threshold_code(node.threshold)
    if depth is None and code:
        return _natural(tree, code, classes)
    real = tree.depth
    depth = max(real, 1) if depth is None else int(depth)
    if not max(real, 1) <= depth <= MAX_PADDED_DEPTH:
        raise DomainError(f"the public depth must be between the tree's depth ({max(real, 1)}) and "
                          f"{MAX_PADDED_DEPTH}, got {depth}")
    return _padded(tree, code, classes, schema, depth)


def _natural(tree: PortableTree, code: dict, classes: list) -> Layout:
    features, codes, leaf_class, paths = [], [], [], []
    index = {}
    for node in tree.internal_nodes():
        index[node.id] = len(features)
        features.append(node.feature)
        codes.append(code[node.id])

    def walk(node_id: int, path: tuple) -> None:
        node = tree.nodes[node_id]
        if node.is_leaf:
            leaf_class.append(classes.index(tree.leaf_label(node_id)))
            paths.append(path)
            return
        walk(node.left, path + ((index[node_id], True),))
        walk(node.right, path + ((index[node_id], False),))

    walk(0, ())
    return Layout(tuple(features), tuple(codes), tuple(leaf_class), tuple(paths))


def _padded(tree: PortableTree, code: dict, classes: list, schema: DatasetSpec, depth: int) -> Layout:
    """Heap order: comparison ``j`` has children ``2j+1``, ``2j+2``; leaves follow the comparisons."""
    n_internal = (1 << depth) - 1
    features = [""] * n_internal
    codes = [0] * n_internal
    leaf_class = [0] * (1 << depth)
    real = [(node.feature, code[node.id]) for node in tree.internal_nodes()]
    if not real:  # a single leaf: dummy comparisons on any feature
        real = [(schema.features[0].name, 0)]

    def place(node_id: int, heap: int, level: int) -> None:
        node = tree.nodes[node_id]
        if level == depth:
            leaf_class[heap - n_internal] = classes.index(tree.leaf_label(node_id))
            return
        if node.is_leaf:
            features[heap], codes[heap] = secrets.choice(real)
            left = right = node_id
        else:
            features[heap], codes[heap] = node.feature, code[node.id]
            left, right = node.left, node.right
        place(left, 2 * heap + 1, level + 1)
        place(right, 2 * heap + 2, level + 1)

    place(0, 0, 0)
    paths = []
    for leaf in range(1 << depth):
        heap, path = n_internal + leaf, []
        while heap > 0:
            parent = (heap - 1) // 2
            path.append((parent, heap == 2 * parent + 1))
            heap = parent
        paths.append(tuple(reversed(path)))
    return Layout(tuple(features), tuple(codes), tuple(leaf_class), tuple(paths))
