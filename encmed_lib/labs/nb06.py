"""Exercises of notebook 06 (label-only mode): their checkers.

Each ``check_06_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import (
    Exercise,
    as_number,
    as_portable_tree,
    ok,
    record_dict,
)

_S06 = "06_label_only.ipynb"


def check_06_public_depth(comparisons, dummies, leaves, tree, depth: int = 6) -> str:
    """Exercise 06.1: what a label-only client sees of ``tree`` padded to the public ``depth``.

    ``comparisons`` (values in the Comparisons message), ``dummies`` (how many
    of them are padding) and ``leaves`` (leaves in the reply) are recomputed by
    building the padded server, ``TreeServer(tree, mode="label-only", depth=depth)``.
    """
    from ..protocol.label_only import LabelOnlyServer

    ex = Exercise(f"06.1 (public depth {depth})", f'{_S06}, section "4 · Path costs (Tai et al.)"')
    names = ("comparisons", "dummies", "leaves")
    expected = (f"three whole numbers for a public depth D = {depth}: the comparisons the client receives, "
                "how many of them are dummies, the leaves of the reply")
    values = {name: as_number(v, ex, expected, integer=True)
              for name, v in zip(names, (comparisons, dummies, leaves), strict=True)}
    server = LabelOnlyServer(tree, depth=depth)
    pt = as_portable_tree(tree)
    sizes = server.public_sizes()
    right = {"comparisons": sizes["comparisons"], "dummies": sizes["comparisons"] - len(pt.internal_nodes()),
             "leaves": sizes["leaves"]}
    real = right["comparisons"] - right["dummies"]
    if values == right:
        return ok(f"at public depth {depth} the client always receives {right['comparisons']} comparisons "
                  f"({right['dummies']} of them dummies around the tree's {real} real nodes) and "
                  f"{right['leaves']} leaves, whatever the real tree looks like")
    shown = ", ".join(f"{name} = {values[name]}" for name in names)
    c, dm, lv = values["comparisons"], values["dummies"], values["leaves"]
    if (c, lv) == (real, real + 1):
        raise ex.fail(expected, None, "those are the real tree's counts (basic mode): the client sees the "
                      "tree padded to a *complete* tree of the public depth", shown=shown)
    if c != right["comparisons"]:
        if c == 2 ** depth:
            hint = (f"a complete tree of depth {depth} has 2**{depth} leaves but one comparison fewer: "
                    f"2**{depth} - 1 internal nodes")
        elif c == 2 ** (depth + 1) - 1:
            hint = "that counts every node, leaves included: only internal nodes carry a comparison"
        elif c == real:
            hint = "that is the real tree's number of internal nodes: the padded tree has more"
        else:
            hint = (f"a complete binary tree of depth D has 2**D - 1 internal nodes (one comparison "
                    f"each): D = {depth}")
        raise ex.fail(expected, None, hint, shown=shown)
    if lv != right["leaves"]:
        hint = ("that is the number of comparisons: a complete tree has one leaf more than internal nodes"
                if lv == right["comparisons"] else
                "the reply carries one leaf per leaf of the complete tree of depth D: 2**D")
        raise ex.fail(expected, None, hint, shown=shown)
    if dm == right["comparisons"]:
        hint = f"not every comparison is a dummy: the tree's {real} real nodes are placed first"
    elif dm == 0:
        hint = f"the tree is shallower than D = {depth}: below its leaves the server adds dummy nodes"
    else:
        hint = ("the dummies are the comparisons that are not real internal nodes: all comparisons minus "
                "the tree's internal nodes (tree.tree_.node_count - tree.get_n_leaves())")
    raise ex.fail(expected, None, hint, shown=shown)


def check_06_comparison_values(values, x: int, y: int, s: int, width: int) -> str:
    """Exercise 06.2: the DGK comparison values :math:`c_i` of ``x`` against ``y``, by hand.

    ``values`` must list :math:`c_i = s + x_i - y_i + 3\\sum_{k>i}(x_k \\oplus y_k)` for
    :math:`i = L-1, \\dots, 0` (most significant bit first), as
    :func:`encmed_lib.protocol.label_only.plain.comparison_values` computes them.
    """
    from ..protocol.label_only.plain import comparison_values

    ex = Exercise("06.2 (a secure comparison, in the clear)", f'{_S06}, section "2 · Comparing two numbers '
                  'bit by bit"')
    expected = (f"a list of {width} integers c_i, from the most significant bit (i = {width - 1}) down to "
                "i = 0")
    if values is None or isinstance(values, (str, numbers.Number)) or not hasattr(values, "__len__"):
        raise ex.fail(expected, values, "build a list with one value per bit position")
    got = [as_number(v, ex, expected, integer=True) for v in values]
    right = comparison_values(x, y, s, width)
    if got == right:
        zero = right.count(0)
        relation = ">" if s < 0 else "<"
        return ok(f"{right}: {zero} zero{'s' if zero != 1 else ''}, so [{x} {relation} {y}] = {zero}; the "
                  "client sees only whether a blinded c_i is zero")
    if len(got) != width:
        raise ex.fail(expected, got, f"one value per bit: width = {width} values")
    hints = [
        (list(reversed(right)), "the order is reversed: start from the most significant bit, i = width - 1"),
        (comparison_values(x, y, -s, width), "the sign s is the other way round"),
        (_without_three(x, y, s, width), "the prefix sum counts 3 for every differing higher bit, not 1"),
        (_inclusive(x, y, s, width), "the sum runs over the bits strictly above i (k > i), not k >= i"),
    ]
    for wrong, hint in hints:
        if got == wrong:
            raise ex.fail(expected, got, hint)
    raise ex.fail(expected, got, "c_i = s + x_i - y_i + 3 * (number of k > i with x_k != y_k), "
                  "with x_i = (x >> i) & 1")


def _without_three(x: int, y: int, s: int, width: int) -> list[int]:
    out, acc = [], 0
    for i in reversed(range(width)):
        out.append(s + ((x >> i) & 1) - ((y >> i) & 1) + acc)
        acc += ((x >> i) & 1) ^ ((y >> i) & 1)
    return out


def _inclusive(x: int, y: int, s: int, width: int) -> list[int]:
    out, acc = [], 0
    for i in reversed(range(width)):
        acc += ((x >> i) & 1) ^ ((y >> i) & 1)
        out.append(s + ((x >> i) & 1) - ((y >> i) & 1) + 3 * acc)
    return out


def _bits(value, ex: Exercise, expected: str, n: int, name: str) -> list[int]:
    """Read ``value`` as a list of ``n`` bits (0/1 integers or booleans)."""
    if value is None or value is Ellipsis:
        raise ex.fail(expected, value, f"no answer yet: assign your list to {name} before running the "
                      "checking cell")
    if isinstance(value, (str, numbers.Number)) or not hasattr(value, "__len__"):
        raise ex.fail(expected, value, f"{name} is a list with one bit per comparison node")
    items = [int(v) if isinstance(v, (bool, np.bool_)) else v for v in value]
    got = [as_number(v, ex, expected, integer=True) for v in items]
    if len(got) != n:
        raise ex.fail(expected, value, f"{len(got)} values in {name}: one per comparison node, {n} in all "
                      "(server.layout.features)", shown=f"{name}: {len(got)} values")
    if any(v not in (0, 1) for v in got):
        raise ex.fail(expected, value, f"every entry of {name} is a bit, 0 or 1 (a zero test gives one "
                      "bit per node, not the comparison values themselves)")
    return got


def _share_variants(codes: dict, layout, signs: list[int], width: int) -> dict[str, list[int]]:
    """The right shares and comparison bits of every node, and the shares a plausible mistake gives."""
    from ..protocol.label_only.plain import comparison_values, share_bit, went_left

    nodes = list(zip(layout.features, layout.codes, signs, strict=True))

    def zero(x: int, y: int, s: int) -> int:
        return int(0 in comparison_values(x, y, s, width))

    return {
        "deltas": [share_bit(codes[f], t, s, width) for f, t, s in nodes],
        "bits": [went_left(codes[f], t, s, width) for f, t, s in nodes],
        "no_plus_one": [zero(codes[f], t, s) for f, t, s in nodes],
        "sign_ignored": [zero(codes[f], t, -1) for f, t, _ in nodes],
    }


def check_06_shared_bits(deltas, bits, record, server, signs) -> str:
    r"""Exercise 06.3: the client's shares :math:`\delta_j` and the comparison bits :math:`b_j` of ``record``.

    ``server`` is a label-only server (its ``layout``, ``schema`` and
    ``width``) and ``signs`` the server's secret sign :math:`s_j \in \{-1, +1\}`
    of every comparison node.  The answers are recomputed with
    :func:`~encmed_lib.protocol.label_only.plain.share_bit` and
    :func:`~encmed_lib.protocol.label_only.plain.went_left`.
    """
    from ..errors import ArgumentError

    layout, width = server.layout, server.width
    signs = [int(s) for s in signs]
    if len(signs) != layout.n_comparisons or any(s not in (-1, 1) for s in signs):
        raise ArgumentError(f"signs must hold one sign, -1 or +1, per comparison node "
                            f"({layout.n_comparisons}); got {signs!r}")
    ex = Exercise("06.3 (the secret sign)", f'{_S06}, section "2 · Comparing two numbers bit by bit"')
    n = layout.n_comparisons
    expected = (f"two lists of {n} bits, one per comparison node in the order of server.layout: the "
                "client's shares delta_j and the comparison results b_j = [x <= T_j]")
    got_d = _bits(deltas, ex, expected, n, "deltas_ex")
    got_b = _bits(bits, ex, expected, n, "bits_ex")
    v = _share_variants(server.schema.encode_record(record_dict(record)), layout, signs, width)
    right_d, right_b = v["deltas"], v["bits"]
    shown = f"deltas_ex = {got_d}, bits_ex = {got_b}"
    if got_d != right_d:
        if got_d == right_b and got_b == right_d:
            hint = "the two lists are swapped: deltas_ex holds the client's shares, bits_ex the results"
        elif got_d == v["no_plus_one"]:
            hint = ("for s_j = +1 the server compares x with y = T_j + 1, so that delta = [x < T_j + 1] = "
                    "[x <= T_j]; a record whose code equals T_j shows the difference")
        elif got_d == v["sign_ignored"]:
            hint = ("the sign changes the test: with s = -1 a zero means x > y, with s = +1 x < y; pass "
                    "each node's s_j to the comparison values")
        elif got_d == right_b:
            hint = ("those are the comparison results b_j; delta_j is the client's share: 1 exactly when "
                    "one of the node's c_i is zero")
        elif got_d == [1 - d for d in right_d]:
            hint = "delta_j = 1 when some c_i is zero (the client's zero test), not when none is"
        else:
            hint = ("delta_j = 1 when some c_i of the comparison of x (the record's code of feature j) "
                    "with y = T_j (s_j = -1) or y = T_j + 1 (s_j = +1), with sign s_j, is zero")
        raise ex.fail(expected, None, hint, shown=shown)
    if got_b != right_b:
        if got_b == got_d:
            hint = ("for s = -1 the client's share is delta = [x > T]: the record goes left when b = 1 - "
                    "delta; b = delta only for s = +1")
        elif got_b == [1 - b for b in right_b]:
            hint = "b_j = [x <= T_j] is 1 when the record goes left: yours are flipped"
        else:
            hint = "b_j = delta_j when s_j = +1 and 1 - delta_j when s_j = -1"
        raise ex.fail(expected, None, hint, shown=shown)
    flips = sum(d != b for d, b in zip(right_d, right_b, strict=True))
    return ok(f"the client holds {sum(right_d)} ones among its {n} shares and cannot read them: b_j = "
              f"delta_j XOR [s_j = -1], and the server's secret sign flipped {flips} of them. The record "
              f"goes left at {sum(right_b)} of the {n} nodes, whatever the signs")


def _cost_variants(layout, bits: list[int]) -> dict[str, list[int]]:
    """The right leaf costs, and the costs a plausible mistake gives."""
    from ..protocol.label_only.plain import path_costs

    right = path_costs(layout, bits)
    return {
        "right": right,
        "taken": [len(path) - c for path, c in zip(layout.paths, right, strict=True)],
        "left_only": [sum(1 - bits[j] for j, left in path if left) for path in layout.paths],
        "right_only": [sum(bits[j] for j, left in path if not left) for path in layout.paths],
    }


def check_06_path_costs(costs, label, bits, server) -> str:
    r"""Exercise 06.4: every leaf's path cost from the comparison bits ``bits``, and the label.

    ``costs`` must list, in the order of ``server.layout.paths``, the wrong
    turns :math:`\sum_{j:\,\ell \text{ left of } j} (1 - b_j) + \sum_{j:\,\ell \text{ right of } j} b_j`
    (:func:`~encmed_lib.protocol.label_only.plain.path_costs`); ``label`` is
    the class of the leaf of cost zero.
    """
    from ..errors import ArgumentError
    from .core import labels_equal

    layout = server.layout
    bits = [int(b) for b in bits]
    if len(bits) != layout.n_comparisons or any(b not in (0, 1) for b in bits):
        raise ArgumentError(f"bits must hold one bit per comparison node ({layout.n_comparisons}); "
                            f"got {bits!r}")
    ex = Exercise("06.4 (path costs)", f'{_S06}, section "4 · Path costs (Tai et al.)"')
    n = layout.n_leaves
    expected = (f"a list of {n} whole numbers (the wrong turns of each leaf, in the order of "
                "server.layout.paths) and the label of the leaf of cost 0")
    if costs is None or isinstance(costs, (str, numbers.Number)) or not hasattr(costs, "__len__"):
        raise ex.fail(expected, costs, "costs_ex is a list with one cost per leaf (server.layout.paths)")
    got = [as_number(c, ex, expected, integer=True) for c in costs]
    v = _cost_variants(layout, bits)
    right = v["right"]
    if len(got) != n:
        raise ex.fail(expected, costs, f"one cost per leaf: {n} leaves in server.layout.paths",
                      shown=f"{len(got)} costs")
    if got != right:
        if got == v["taken"]:
            hint = ("that counts the turns the record does take: a leaf left of node j is a wrong turn "
                    "when b_j = 0, a leaf right of it when b_j = 1")
        elif got == v["left_only"]:
            hint = "a leaf right of node j is a wrong turn too, when b_j = 1 (the record went left)"
        elif got == v["right_only"]:
            hint = "a leaf left of node j is a wrong turn too, when b_j = 0 (the record went right)"
        elif sorted(got) == sorted(right):
            hint = "the right costs in another order: one cost per leaf, in the order of server.layout.paths"
        else:
            hint = ("for each leaf, walk its path, a list of (node j, went_left) pairs: add 1 - b_j when "
                    "went_left, b_j otherwise")
        raise ex.fail(expected, costs, hint)
    leaf = right.index(0)
    right_label = server.classes[layout.leaf_class[leaf]]
    if not labels_equal(label, right_label):
        if labels_equal(label, leaf) or labels_equal(label, got.index(0)):
            hint = ("that is the leaf's position in the layout; its class is "
                    "server.classes[server.layout.leaf_class[leaf]]")
        else:
            hint = "the record's leaf is the one of cost 0: read its class in server.layout.leaf_class"
        raise ex.fail(expected, label, hint)
    same = sum(c == layout.leaf_class[leaf] for c in layout.leaf_class) - 1
    return ok(f"exactly one of the {n} leaves has cost 0, reached through {len(layout.paths[leaf])} "
              f"nodes; every other leaf has at least one wrong turn (up to {max(right)}), the {same} other "
              f"leaves of class {right_label} included. Masked as E(label + rho * cost), only that leaf "
              "decrypts to a class")
