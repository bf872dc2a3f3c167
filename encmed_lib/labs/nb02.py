"""Exercises of notebook 02 (the tree): their checkers.

Each ``check_02_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import (
    Exercise,
    as_number,
    as_portable_tree,
    course_tree,
    heart_split,
    is_close,
    ok,
)

_S02 = "02_tree.ipynb"


def check_02_depth_accuracy(accuracy, depth: int = 3) -> str:
    """Exercise 02.1: held-out accuracy of a tree of depth ``depth`` (the course's split and seed).

    Recomputed with ``split_data(X, y, test_size=0.3, random_state=0)`` and
    ``train_tree(..., max_depth=depth, random_state=0)``; within 0.001, so an
    answer rounded to 3 decimals is accepted.
    """
    from ..tree import evaluate, train_tree

    ex = Exercise(f"02.1 (depth-{depth} accuracy)", f'{_S02}, section "How deep should the tree be?"')
    expected = (f"the held-out (X_test) accuracy of a depth-{depth} tree trained with random_state=0, "
                "a number between 0 and 1")
    value = as_number(accuracy, ex, expected)
    X_train, X_test, y_train, y_test = heart_split()
    model = train_tree(X_train, y_train, max_depth=depth, random_state=0)
    result = evaluate(model, X_test, y_test)
    right, tol = result.accuracy, 1e-3
    if is_close(value, right, tol):
        return ok(f"a depth-{depth} tree is right for {right:.3f} of the {len(X_test)} held-out patients "
                  f"(majority baseline {result.majority_accuracy:.3f})")
    if 1 < value <= 100 and is_close(value / 100, right, tol):
        raise ex.fail(expected, accuracy, "this looks like a percentage: give a fraction between 0 and 1")
    if is_close(value, model.score(X_train, y_train), tol):
        raise ex.fail(expected, accuracy, "that is the accuracy on the training set; measure it on the "
                      "held-out X_test, y_test (em.evaluate)")
    if is_close(value, result.majority_accuracy, tol):
        raise ex.fail(expected, accuracy, "that is the majority-class baseline, not the tree's accuracy")
    for other in range(1, 11):
        if other != depth:
            score = train_tree(X_train, y_train, max_depth=other, random_state=0).score(X_test, y_test)
            if is_close(value, score, tol):
                raise ex.fail(expected, accuracy, f"that is the accuracy of a depth-{other} tree: "
                              f"train with max_depth={depth}")
    raise ex.fail(expected, accuracy, "use the notebook's split (em.split_data(X, y, test_size=0.3, "
                  f"random_state=0)) and em.train_tree(X_train, y_train, max_depth={depth}, "
                  "random_state=0), then em.evaluate on X_test, y_test")


def check_02_root_split(feature, threshold, tree=None) -> str:
    """Exercise 02.2: the feature and threshold of the root node of ``tree``.

    ``tree`` is a fitted tree or a :class:`~encmed_lib.PortableTree` (default:
    the course's depth-4 tree).  The feature is a column name; the threshold is
    accepted within 0.005 (as read off the drawing, rounded to two decimals).
    """
    ex = Exercise("02.2 (root split)", f'{_S02}, sections "Drawing the tree" and "The portable tree"')
    pt = as_portable_tree(course_tree() if tree is None else tree)
    root = pt.nodes[0]
    if root.is_leaf:
        raise ex.fail("a tree with at least one split", tree, "this tree is a single leaf: train it first")
    expected = "the root's feature as a column name (a string such as 'age') and its threshold (a number)"
    if isinstance(feature, (numbers.Integral, np.integer)) and not isinstance(feature, bool):
        raise ex.fail(expected, feature, "that is a feature *index* (tree.tree_.feature holds indices); "
                      "give the column name, e.g. X.columns[index]")
    if not isinstance(feature, str):
        raise ex.fail(expected, feature, "give the feature's name as a string, e.g. 'age'")
    name = feature.strip().strip("'\"")
    if name not in pt.feature_names:
        raise ex.fail(expected, feature, f"{name!r} is not a column of the data; the columns are "
                      f"{pt.feature_names}")
    if name != root.feature:
        children = {pt.nodes[root.left].feature: "left", pt.nodes[root.right].feature: "right"}
        where = children.get(name)
        hint = (f"{name!r} is compared by the root's {where} child; the root is node 0, the top box of "
                "the drawing" if where else
                f"the root does not compare {name!r}: the root is node 0 (pt.nodes[0]), the top box of the "
                "drawing")
        raise ex.fail(expected, feature, hint)
    value = as_number(threshold, ex, "the root's threshold, a number")
    if not is_close(value, root.threshold, 5e-3):
        raise ex.fail("the root's threshold, a number (exact, or rounded to 2 decimals)", threshold,
                      f"the feature {name!r} is right; read the threshold from pt.nodes[0].threshold "
                      "(or the first line of the top box of the drawing)")
    return ok(f"the root asks '{root.feature} <= {root.threshold!r}' of every patient "
              f"({root.n_samples} training patients reach it)")


def check_02_roundtrip_agreement(agreeing, restored, original, X_rows) -> str:
    """Exercise 02.3: a JSON round trip of a tree keeps every prediction.

    ``restored`` is the model rebuilt from JSON, ``original`` the tree it was
    made from, ``X_rows`` the records predicted; ``agreeing`` is the number of
    rows on which their predictions agree (recomputed here).
    """
    from sklearn.tree import DecisionTreeClassifier

    from ..tree import PortableTree

    ex = Exercise("02.3 (portable round trip)", f'{_S02}, section "The portable tree"')
    expected = ("the number of rows of X_rows on which the restored model and the original tree predict "
                "the same label (a whole number)")
    for name, model in (("restored", restored), ("original", original)):
        if not isinstance(model, (DecisionTreeClassifier, PortableTree)):
            raise ex.fail("a fitted tree (DecisionTreeClassifier or PortableTree)", model,
                          f"the argument {name} must be a model; PortableTree.from_json(text).to_sklearn() "
                          "rebuilds one from the JSON text")
    if restored is original:
        raise ex.fail("a model rebuilt from JSON, a different object from the original", restored,
                      "you passed the same tree twice: convert it with em.PortableTree.from_sklearn(tree)"
                      ".to_json(), then em.PortableTree.from_json(text).to_sklearn()")
    value = as_number(agreeing, ex, expected, integer=False)
    n = len(X_rows)
    right = int((np.asarray(restored.predict(X_rows)) == np.asarray(original.predict(X_rows))).sum())
    if value == right and right == n:
        return ok(f"{right}/{n} predictions agree: the JSON round trip keeps the model exactly")
    if value == right:
        raise ex.fail(f"a restored model that agrees on all {n} rows", restored,
                      "your count is right but the two models disagree: was `restored` rebuilt from "
                      "the JSON of this very tree?", shown=f"a model agreeing on {right}/{n} rows")
    if is_close(value, right / n, 1e-9):
        raise ex.fail(expected, agreeing, "that is a share: give the number of agreeing rows (.sum(), "
                      "not .mean())")
    raise ex.fail(expected, agreeing, "compare restored.predict(X_rows) with original.predict(X_rows) "
                  "element by element and count the equal ones, e.g. int((a == b).sum())")
