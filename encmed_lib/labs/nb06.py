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
    choice_answer,
    labels_equal,
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

    ex = Exercise(f"06.1 (public depth {depth})", f'{_S06}, section "1 · The idea: a path cost per leaf"')
    names = ("comparisons", "dummies", "leaves")
    expected = (f"three whole numbers for a public depth D = {depth}: the comparisons the client receives, "
                "how many of them are dummies, the leaves of the reply")
    values = {name: as_number(v, ex, expected, integer=True)
              for name, v in zip(names, (comparisons, dummies, leaves), strict=True)}
    server = LabelOnlyServer(tree, depth=depth)
    right = {"comparisons": len(server.node_T), "dummies": sum(server.node_dummy),
             "leaves": len(server.leaf_class)}
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


def check_06_compact_label(label, values, tree, record) -> str:
    """Exercise 06.2: a compact label-only reply decrypted by hand.

    ``values`` are the raw decryptions of the reply's ciphertexts (one per
    leaf): exactly one must lie below the number of classes, and ``label``
    must be that class, which must equal ``tree.predict`` on ``record``.
    """
    import pandas as pd

    ex = Exercise("06.2 (a compact reply by hand)",
                  f'{_S06}, section "6 · What it costs, next to basic mode" (the compact form) and '
                  '"Step 5: what the client decrypts"')
    pt = as_portable_tree(tree)
    classes = list(pt.classes)
    n_classes = len(classes)
    expected_values = ("a list with one raw decryption (an integer in [0, n)) per ciphertext of the "
                       "compact reply")
    if values is None or isinstance(values, (str, numbers.Number)) or not hasattr(values, "__len__"):
        raise ex.fail(expected_values, values, "decrypt every ciphertext of the reply: "
                      "[client.private_key.raw_decrypt(c) for c in reply.ciphertexts]")
    values = list(values)
    if not all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) for v in values):
        raise ex.fail(expected_values, values, "raw decryptions are integers: use "
                      "client.private_key.raw_decrypt(c), not client.decrypt")
    values = [int(v) for v in values]
    leaves = 2 ** pt.depth
    if len(values) == 2 * leaves:
        raise ex.fail(expected_values, None, "two values per leaf: that is the pair form. Build the server "
                      'with em.TreeServer(tree, mode="label-only", compact=True)',
                      shown=f"{len(values)} values")
    if len(values) < leaves or len(values) & (len(values) - 1):
        raise ex.fail(expected_values, None, f"the compact reply has one ciphertext per leaf of the padded "
                      f"tree ({leaves} for this tree): decrypt all of reply.ciphertexts",
                      shown=f"{len(values)} values")
    if any(v < 0 for v in values):
        raise ex.fail(expected_values, None, "negative values: decrypt_signed maps the upper half of "
                      "[0, n) to negative numbers, so about half the random leaves would look like class "
                      "indices. Use client.private_key.raw_decrypt",
                      shown=f"{sum(v < 0 for v in values)} negative values among {len(values)}")
    small = [v for v in values if v < n_classes]
    if len(small) != 1:
        raise ex.fail(expected_values, None, "exactly one leaf decrypts to a class index: decrypt the "
                      "compact reply of this record with this client's key (the one that encrypted "
                      "the query)", shown=f"{len(small)} values below {n_classes}")
    found = classes[small[0]]
    expected = f"the label of the one leaf whose value is below {n_classes}: one of {classes}"
    rec = record_dict(record)
    truth = tree.predict(pd.DataFrame([{f: rec[f] for f in pt.feature_names}]))[0]
    if isinstance(label, (numbers.Integral, np.integer)) and not isinstance(label, bool) \
            and int(label) >= n_classes and int(label) in values:
        raise ex.fail(expected, label, "that is a random leaf value: the label is the one value below "
                      "the number of classes (classes[value])")
    if not labels_equal(label, found):
        raise ex.fail(expected, label, f"your values contain one class index, {small[0]}: the label is "
                      f"reply.meta['classes'][{small[0]}]")
    if not labels_equal(found, truth):
        raise ex.fail(expected, label, "these values do not decrypt this record's reply: send record_ex, "
                      "and decrypt the reply of that very exchange")
    return ok(f"one of the {len(values)} leaf values is a class index ({small[0]}), the other "
              f"{len(values) - 1} are uniform modulo n: the label is {found!r}, as tree.predict gives")


_CHEAT_CHOICES = {
    "a": "the bits are encrypted under the client's own key: the server cannot read them, and E(2) is a "
         "perfectly valid ciphertext. Nothing in the protocol lets the server check that it encrypts a bit.",
    "b": "the server undoes the flips homomorphically, E(1)·E(b)^(-1) = E(1 - b): with b = 2 that is "
         "E(-1). The path costs are computed from whatever the client encrypted.",
    "c": None,
    "d": "the blinds only enter round 1's values, which the client decrypts anyway; the bits message "
         "carries nothing about them back. What a cheat corrupts is the path costs of round 2.",
}


def check_06_cheating_client(choice) -> str:
    """Exercise 06.3: what a client that answers E(2) breaks (multiple choice: "a" to "d")."""
    ex = Exercise("06.3 (a cheating client)", f'{_S06}, section "A cheating client"')
    return choice_answer(ex, choice, _CHEAT_CHOICES,
                         "with E(2) every wrong-turn term is -1 or 2, so no leaf costs zero; cleverer "
                         "values make several leaves decodable. The one-label guarantee holds for "
                         "semi-honest clients only")
