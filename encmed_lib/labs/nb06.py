"""Exercises of notebook 06 (label-only mode): their checkers.

Each ``check_06_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

from .core import (
    Exercise,
    as_number,
    as_portable_tree,
    choice_answer,
    ok,
)

_S06 = "06_label_only.ipynb"


def check_06_public_depth(comparisons, dummies, leaves, tree, depth: int = 6) -> str:
    """Exercise 06.1: what a label-only client sees of ``tree`` padded to the public ``depth``.

    ``comparisons`` (values in the Comparisons message), ``dummies`` (how many
    of them are padding) and ``leaves`` (leaves in the reply) are recomputed by
    building the padded server, ``TreeServer(tree, mode="label-only", depth=depth)``.
    """
    from ..protocol.label_only import LabelOnlyServer

    ex = Exercise(f"06.1 (public depth {depth})", f'{_S06}, section "5 · Path costs"')
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

    ex = Exercise("06.2 (a secure comparison, in the clear)", f'{_S06}, section "3 · Comparing two numbers '
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


_CHEAT_CHOICES = {
    "a": None,
    "b": "the server never decrypts anything: it cannot read E(2). What it can do is check the bit proof "
         "that must come with every answer, and a proof made for 1 does not verify for 2.",
    "c": "that was the old design's weakness (no proofs: the costs then encode the cheat). Here the "
         "answers message is refused before any path cost is computed.",
    "d": "the pending comparisons are kept until a fully valid answers message arrives: the honest "
         "answers still finish the exchange, and a cheat is refused without consuming the session.",
}


def check_06_cheating_client(choice) -> str:
    """Exercise 06.3: what happens to a client that answers E(2) (multiple choice: "a" to "d")."""
    ex = Exercise("06.3 (a cheating client)", f'{_S06}, section "8 · Every attack, tried"')
    return choice_answer(ex, choice, _CHEAT_CHOICES,
                         "the bit proof of E(2) does not verify (InvalidProofError): the server refuses "
                         "the answers before computing any path cost, and the session survives for honest "
                         "answers. A cheater can only flip true bits, which gives the label of some other "
                         "leaf: one label per query")
