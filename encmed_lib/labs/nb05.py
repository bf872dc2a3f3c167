"""Exercises of notebook 05 (the client): their checkers.

Each ``check_05_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import (
    Exercise,
    as_number,
    as_portable_tree,
    is_close,
    labels_equal,
    ok,
    record_dict,
)

_S05 = "05_client_decryption.ipynb"


def check_05_agreement(encrypted_labels, tree, rows) -> str:
    """Exercise 05.1: the encrypted labels of ``rows`` (one per row, in order) equal ``tree.predict``."""
    ex = Exercise("05.1 (agreement)", f'{_S05}, section "4 · The whole held-out set"')
    n = len(rows)
    expected = f"a list of {n} labels, one per row, obtained by encrypt -> evaluate -> decrypt"
    if encrypted_labels is None or isinstance(encrypted_labels, (str, numbers.Number)):
        raise ex.fail(expected, encrypted_labels, "build a list with one decrypted label per row, e.g. "
                      "a list comprehension over rows.iterrows()")
    labels = list(encrypted_labels)
    if len(labels) != n:
        raise ex.fail(expected, encrypted_labels, f"{len(labels)} labels for {n} rows: one label per row",
                      shown=f"{len(labels)} labels")
    plain = np.asarray(tree.predict(rows))
    for i, (mine, truth) in enumerate(zip(labels, plain, strict=True)):
        if isinstance(mine, tuple):
            raise ex.fail(expected, mine, "a (label, distribution) pair: call client.decrypt(reply) without "
                          "return_distribution, or keep the label only")
        if not labels_equal(mine, truth):
            raise ex.fail(expected, None, f"row {i}: the plaintext tree predicts {truth!r}. Encrypt that "
                          "row, evaluate its query and decrypt its own reply",
                          shown=f"label {mine!r} for row {i}")
    return ok(f"{n}/{n} encrypted labels agree with tree.predict: the protocol is exact")


def check_05_leaf(leaf, tree, record) -> str:
    """Exercise 05.2: the leaf a record reaches, walked by hand from the decrypted signs.

    The right answer is scikit-learn's ``tree.apply`` (the reply's node
    indices are the tree's).
    """
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    ex = Exercise("05.2 (walk the tree)", f'{_S05}, section "Walk the tree"')
    expected = "the index of the leaf node reached (a whole number, an index into reply.tree['nodes'])"
    value = as_number(leaf, ex, expected, integer=True)
    pt = as_portable_tree(tree)
    rec = record_dict(record)
    if isinstance(tree, DecisionTreeClassifier):
        frame = pd.DataFrame([{f: rec[f] for f in pt.feature_names}])
        right = int(tree.apply(frame)[0])
    else:
        right = pt.walk(lambda nd: float(np.float32(rec[nd.feature])) <= nd.threshold)
    if value == right:
        return ok(f"node {right} is the leaf, as tree.apply gives; its label is {pt.leaf_label(right)!r}")
    if not 0 <= value < len(pt.nodes):
        raise ex.fail(expected, leaf, f"node indices run from 0 to {len(pt.nodes) - 1}")
    if not pt.nodes[value].is_leaf:
        raise ex.fail(expected, leaf, f"node {value} is an internal node (it has a slot): keep walking "
                      "until a node without 'slot'")
    flipped = pt.walk(lambda nd: not float(np.float32(rec[nd.feature])) <= nd.threshold)
    if value == flipped:
        raise ex.fail(expected, leaf, "you turned the wrong way: v >= 0 means left (X <= T), v < 0 right")
    raise ex.fail(expected, leaf, "start at node 0; at a node with a 'slot', go to 'left' if "
                  "values[slot] >= 0 and to 'right' otherwise, until a node without 'slot'")


def check_05_disease_share(share, tree, record) -> str:
    """Exercise 05.3: the leaf's share of class 1 (disease) for ``record``, as ``predict_proba`` gives."""
    import pandas as pd

    ex = Exercise("05.3 (class shares)", f'{_S05}, section "Walk the tree"')
    expected = "the share of class 1 (disease) at the record's leaf, a number between 0 and 1"
    if isinstance(share, tuple) and len(share) == 2:
        raise ex.fail(expected, share, "client.decrypt(..., return_distribution=True) returns (label, "
                      "shares): take the shares, then the entry of class 1")
    if hasattr(share, "__len__") and not isinstance(share, str):
        raise ex.fail(expected, share, "these are all the class shares: give the entry of class 1 only "
                      "(classes are [0, 1])")
    value = as_number(share, ex, expected)
    pt = as_portable_tree(tree)
    rec = record_dict(record)
    proba = tree.predict_proba(pd.DataFrame([{f: rec[f] for f in pt.feature_names}]))[0]
    classes = list(pt.classes)
    right = float(proba[classes.index(1)])
    if is_close(value, right, 1e-9):
        return ok(f"{right:.3f} of the training patients at this leaf had heart disease "
                  "(= tree.predict_proba)")
    if len(classes) == 2 and is_close(value, float(proba[classes.index(0)]), 1e-9):
        raise ex.fail(expected, share, "that is the share of class 0 (no disease): take index 1")
    if value in classes and not 0 < value < 1:
        raise ex.fail(expected, share, "that is a label; the question asks for the share of class 1")
    raise ex.fail(expected, share, "decrypt the reply of this record with client.decrypt(reply, "
                  "return_distribution=True) and take the second share")


def check_05_unpacked_values(values, reply, client) -> str:
    """Exercise 05.4: the signed slot values of a packed reply, unpacked by hand.

    The right answer is ``client.decrypt_values(reply)``: pack ``k`` decrypts to
    :math:`P_k = \\sum_i (v_{k m + i} + 2^{w-1}) 2^{i w}`, so slot ``i`` is
    ``(P >> i·w) & (2**w - 1)`` minus :math:`2^{w-1}`, read for ``n_values``
    values in all.
    """
    ex = Exercise("05.4 (unpack a reply)",
                  f'{_S05}, section "3 · Packing: fewer ciphertexts, fewer decryptions"')
    right = client.decrypt_values(reply)
    w, n = reply.slot_bits, reply.n_values
    expected = f"a list of the reply's {n} signed values v_j, in slot order"
    if isinstance(values, (str, numbers.Number)) or not hasattr(values, "__len__"):
        raise ex.fail(expected, values, "a list with one integer per internal node (slot order)")
    mine = list(values)
    if any(isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) for v in mine):
        raise ex.fail(expected, None, "integers only: use & and >> on the decrypted integer (no float "
                      "division, which loses the low bits)", shown="non-integer values")
    mine = [int(v) for v in mine]
    if mine == right:
        signs = "".join("L" if v >= 0 else "R" for v in right)
        return ok(f"{n} values from {len(reply.packs)} decryption(s); their signs read {signs}")
    offset = 1 << (w - 1)
    if len(mine) > n and mine[:n] == right:
        raise ex.fail(expected, None, f"the last pack is only partly filled: stop after n_values = {n}",
                      shown=f"{len(mine)} values")
    if len(mine) != n:
        raise ex.fail(expected, None, f"one value per internal node: n_values = {n}",
                      shown=f"{len(mine)} values")
    if mine == [v + offset for v in right]:
        raise ex.fail(expected, None, f"each slot holds v + 2**{w - 1}: subtract the offset",
                      shown="values without the offset removed")
    if sorted(mine) == sorted(right):
        raise ex.fail(expected, None, "the right values in the wrong order: slot 0 is the lowest bits of "
                      "the first pack, then shift right by w for the next", shown="values out of order")
    raise ex.fail(expected, None, "decrypt each pack (client.private_key.raw_decrypt), then read slot i "
                  f"as ((P >> (i*w)) & (2**w - 1)) - 2**(w-1) with w = reply.slot_bits = {w}",
                  shown="other values")
