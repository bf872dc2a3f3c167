"""Colours of a drawn tree: the course's class colours, for graphviz and matplotlib alike.

:func:`encmed_lib.tree.draw_tree` uses these so that a tree is drawn like every
other figure of the course (:data:`encmed_lib.colours.CLASS_COLOURS`: class 0,
no disease, blue; class 1, disease, orange), not in scikit-learn's own palette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..colours import CLASS_COLOURS, NEUTRAL

if TYPE_CHECKING:
    from sklearn.tree._tree import Tree

__all__ = ["node_fill", "preorder", "course_colours_dot"]


def node_fill(value) -> str:
    r"""Fill colour of a drawn node: its majority class's course colour, paler the less pure.

    The class colours are :data:`encmed_lib.colours.CLASS_COLOURS` (class 0,
    no disease; class 1, disease), as in every figure of the course.  With
    :math:`p_1 \ge p_2` the two largest class shares, the colour is mixed
    with white in the proportion :math:`\alpha = (p_1 - p_2) / (1 - p_2)`
    (scikit-learn's rule): a pure node is drawn in the full colour, a 50/50
    node in white.

    Parameters
    ----------
    value : sequence of float
        Class counts or fractions at the node.

    Returns
    -------
    str
        ``"#rrggbb"``.
    """
    shares = np.asarray(value, dtype=float).ravel()
    shares = shares / shares.sum()
    top = np.sort(shares)[::-1]
    second = top[1] if top.size > 1 else 0.0
    alpha = 1.0 if second >= 1.0 else float((top[0] - second) / (1.0 - second))
    k = int(np.argmax(shares))
    base = CLASS_COLOURS[k] if k < len(CLASS_COLOURS) else NEUTRAL
    rgb = [int(base[j:j + 2], 16) for j in (1, 3, 5)]
    mixed = [round(alpha * c + (1.0 - alpha) * 255) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def preorder(tree: Tree) -> list[int]:
    """Node ids in the order scikit-learn's ``plot_tree`` draws them (node, left subtree, right)."""
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if tree.children_left[node] != -1:
            stack.extend((tree.children_right[node], tree.children_left[node]))
    return order


def course_colours_dot(dot: str, tree: Tree) -> str:
    """Replace export_graphviz's fill colours (orange/blue) by :func:`node_fill`'s."""
    lines = []
    for line in dot.splitlines():
        head = line.split(" ", 1)[0]
        if head.isdigit() and "fillcolor=" in line:
            start = line.index('fillcolor="') + len('fillcolor="')
            end = line.index('"', start)
            line = line[:start] + node_fill(tree.value[int(head)][0]) + line[end:]
        lines.append(line)
    return "\n".join(lines) + "\n"
