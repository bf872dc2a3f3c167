"""Exercises of notebook 02 (the tree): their checkers.

Each ``check_02_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.

* 02.1 :func:`check_02_best_split`: Gini impurity written by hand, and the best first question of
  the Synthea training set found by scanning every midpoint;
* 02.2 :func:`check_02_cv_depth`: the depth chosen by 5-fold cross-validation on the training set;
* 02.3 :func:`check_02_roundtrip_agreement`: a JSON round trip keeps every prediction.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .core import (
    Exercise,
    as_number,
    describe,
    heart_split,
    is_close,
    ok,
)

__all__ = ["check_02_best_split", "check_02_cv_depth", "check_02_roundtrip_agreement",
           "CV_DEPTHS", "scan_splits", "cv_accuracies"]

_S02 = "02_tree.ipynb"
_GINI = f'{_S02}, section "How a tree chooses a question: Gini impurity"'

# ------------------------------------------------------------------ 02.1
#: Class counts the checker feeds to the student's ``gini``, and pairs for ``split_score``.
_GINI_CASES = ([3, 1], [5, 0], [2, 2], [10, 30], [221, 190])
_SPLIT_CASES = (([3, 1], [0, 4]), ([5, 0], [2, 2]), ([1, 1], [7, 1]), ([12, 3], [40, 45]))


def _gini(counts) -> float:
    counts = np.asarray(counts, dtype=float)
    return float(1 - np.sum((counts / counts.sum()) ** 2))


def _split(left, right) -> float:
    n_left, n_right = float(np.sum(left)), float(np.sum(right))
    n = n_left + n_right
    return n_left / n * _gini(left) + n_right / n * _gini(right)


def _call(func: Callable, args: tuple, ex: Exercise, expected: str, name: str) -> float:
    try:
        value = func(*(np.asarray(a) for a in args))
    except NotImplementedError:
        raise  # the student version's stub: the exercise is not attempted yet
    except Exception as exc:  # noqa: BLE001 -- any error of the student's function becomes a hint
        shown = ", ".join(str(list(a)) for a in args)
        raise ex.fail(expected, func, f"{name}({shown}) raised {type(exc).__name__}: {exc}") from None
    return as_number(value, ex, f"{name} returns one number")


def _check_gini(gini: Callable, ex: Exercise) -> None:
    expected = "gini(counts): 1 - sum of the squared class shares, e.g. gini(np.array([3, 1])) = 0.375"
    if not callable(gini):
        raise ex.fail(expected, gini, "pass your function itself (gini, without parentheses)")
    for counts in _GINI_CASES:
        got, right = _call(gini, (counts,), ex, expected, "gini"), _gini(counts)
        if is_close(got, right, 1e-9):
            continue
        shares = np.asarray(counts) / np.sum(counts)
        shown = f"gini(np.array({counts})) = {got!r}"
        entropy = -sum(p * np.log2(p) for p in shares if p > 0)
        for wrong, hint in ((1 - right, "that is the sum of the squared shares: the impurity is 1 minus it"),
                            (1 - float(np.sum(np.square(counts))), "square the *shares* p_k = n_k / n, "
                             "not the counts"),
                            (entropy, "that is the entropy; the Gini impurity is 1 - sum(p_k ** 2)"),
                            (1 - shares.max(), "that is the misclassification rate 1 - max(p_k); the Gini "
                             "impurity is 1 - sum(p_k ** 2)")):
            if is_close(got, wrong, 1e-9):
                raise ex.fail(expected, None, hint, shown=shown)
        raise ex.fail(expected, None, "G = 1 - sum_k p_k**2 with p_k = counts[k] / counts.sum(); check "
                      "it on the section's example, 3 healthy and 1 sick: 0.375", shown=shown)


def _check_split_score(split_score: Callable, ex: Exercise) -> None:
    expected = ("split_score(left, right): n_L/n * gini(left) + n_R/n * gini(right), from the class "
                "counts of the two sides")
    if not callable(split_score):
        raise ex.fail(expected, split_score, "pass your function itself (split_score, without parentheses)")
    for left, right in _SPLIT_CASES:
        got, want = _call(split_score, (left, right), ex, expected, "split_score"), _split(left, right)
        if is_close(got, want, 1e-9):
            continue
        shown = f"split_score(np.array({left}), np.array({right})) = {got!r}"
        n_l, n_r = sum(left), sum(right)
        for wrong, hint in (((_gini(left) + _gini(right)) / 2, "you averaged the two impurities: weight "
                             "each side by its share of the records, n_L / n and n_R / n"),
                            (_gini(left) + _gini(right), "you added the two impurities: weight each by "
                             "its share of the records, n_L / n and n_R / n"),
                            ((n_r * _gini(left) + n_l * _gini(right)) / (n_l + n_r), "the weights are "
                             "swapped: the left impurity is weighted by n_L / n"),
                            (_gini(np.add(left, right)), "that is the impurity of the parent (both sides "
                             "together), not of the split")):
            if is_close(got, wrong, 1e-9):
                raise ex.fail(expected, None, hint, shown=shown)
        raise ex.fail(expected, None, "G_split = n_L/n * G(left) + n_R/n * G(right), with n = n_L + n_R",
                      shown=shown)


def scan_splits(X: pd.DataFrame, y) -> pd.DataFrame:
    """Every candidate first question: ``feature``, ``threshold`` (a midpoint) and its weighted Gini."""
    from ..models.gini import split_gini

    labels = np.asarray(y).astype(int)
    total = np.bincount(labels, minlength=2)
    rows = []
    for feature in X.columns:
        column = X[feature].to_numpy(dtype=float)
        values = np.unique(column)
        for threshold in (values[:-1] + values[1:]) / 2:
            left = np.bincount(labels[column <= threshold], minlength=2)
            rows.append((feature, float(threshold), float(split_gini(left, total - left))))
    return pd.DataFrame(rows, columns=["feature", "threshold", "score"])


def _read_question(best_split, columns, ex: Exercise, expected: str) -> tuple[str, float, float]:
    if isinstance(best_split, Mapping):
        best_split = tuple(best_split.get(k) for k in ("feature", "threshold", "score"))
    if isinstance(best_split, (str, bytes)) or not hasattr(best_split, "__len__") or len(best_split) != 3:
        raise ex.fail(expected, best_split, "give a tuple of three values: (feature name, threshold, "
                      "weighted Gini)")
    feature, threshold, score = best_split
    if isinstance(feature, (numbers.Integral, np.integer)) and not isinstance(feature, bool):
        raise ex.fail(expected, feature, "that is a column *index*: give the column name, e.g. "
                      "X.columns[index]")
    if not isinstance(feature, str) or feature not in columns:
        from ..data.heart import FEATURES

        hint = (f"{feature!r} is a column of the *heart* table: scan the data passed to the checker "
                "(Xs_train, ys_train)" if feature in FEATURES else
                f"the first value must be a column name, one of {list(columns)}")
        raise ex.fail(expected, feature, hint)
    return feature, as_number(threshold, ex, "a threshold"), as_number(score, ex, "a weighted Gini")


def check_02_best_split(gini: Callable, split_score: Callable, best_split, X: pd.DataFrame, y) -> str:
    """Exercise 02.1: Gini by hand, and the best first question of ``X, y`` by scanning midpoints.

    ``gini(counts)`` and ``split_score(left, right)`` are tested on class counts (NumPy arrays);
    ``best_split`` is ``(feature, threshold, score)``: the question ``feature <= threshold`` of
    lowest weighted Gini over every feature and every midpoint between two neighbouring distinct
    values (a tie is accepted; the threshold within 1e-4, as scikit-learn's float32 one).
    """
    ex = Exercise("02.1 (the best first question)", _GINI)
    _check_gini(gini, ex)
    _check_split_score(split_score, ex)
    expected = "(feature, threshold, score): the first question of lowest weighted Gini on the given data"
    feature, threshold, score = _read_question(best_split, X.columns, ex, expected)
    table = scan_splits(X, y)
    best = table["score"].min()
    column = X[feature].to_numpy(dtype=float)
    left = np.bincount(np.asarray(y).astype(int)[column <= threshold], minlength=2)
    from ..models.gini import split_gini

    total = np.bincount(np.asarray(y).astype(int), minlength=2)
    own = float(split_gini(left, total - left)) if 0 < left.sum() < total.sum() else np.nan
    below, above = column[column <= threshold], column[column > threshold]
    midpoint = (below.max() + above.min()) / 2 if len(below) and len(above) else np.nan
    if is_close(score, table["score"].max(), 1e-9):
        raise ex.fail(expected, best_split, "that is the *worst* question: the tree keeps the lowest "
                      "weighted Gini")
    if not is_close(own, best, 1e-9):
        raise ex.fail(expected, best_split, f"{feature} <= {threshold:g} is not the best question: scan "
                      "every feature and every midpoint and keep the lowest weighted Gini")
    if not is_close(threshold, midpoint, 1e-4):
        raise ex.fail(expected, best_split, "the split is right but the threshold should be the midpoint "
                      "between two neighbouring distinct values, as a tree places it: "
                      "(values[:-1] + values[1:]) / 2 of np.unique")
    if not is_close(score, best, 1e-6):
        raise ex.fail(expected, best_split, "the question is right but the score is not its weighted Gini: "
                      "compute it with your split_score")
    n_best = int((table["score"] - best).abs().le(1e-12).sum())
    ties = f" ({n_best} questions tie)" if n_best > 1 else ""
    return ok(f"'{feature} <= {midpoint:g}' has the lowest weighted Gini, {best:.4f}{ties}, against "
              f"{_gini(total):.4f} at the root before splitting")


# ------------------------------------------------------------------ 02.2
#: The depths the cross-validation of exercise 02.2 compares.
CV_DEPTHS = tuple(range(1, 11))


def cv_accuracies(X, y, cv) -> pd.Series:
    """Mean accuracy over the folds of ``cv`` of ``train_tree(max_depth=d, random_state=0)``, per depth."""
    from ..tree import train_tree

    X, y = pd.DataFrame(X), pd.Series(np.asarray(y), index=X.index)
    means = {}
    for depth in CV_DEPTHS:
        scores = []
        for fit, held in cv.split(X, y):
            model = train_tree(X.iloc[fit], y.iloc[fit], max_depth=depth, random_state=0)
            scores.append(model.score(X.iloc[held], y.iloc[held]))
        means[depth] = float(np.mean(scores))
    return pd.Series(means, name="cv_accuracy").rename_axis("max_depth")


def _read_cv_table(cv_accuracy, ex: Exercise, expected: str) -> pd.Series:
    if isinstance(cv_accuracy, Mapping):
        cv_accuracy = pd.Series(dict(cv_accuracy))
    if not isinstance(cv_accuracy, pd.Series):
        raise ex.fail(expected, cv_accuracy, "give a pandas Series indexed by the depth, e.g. "
                      "pd.Series(means, index=range(1, 11)) or a dict {depth: mean accuracy}")
    index = [int(i) if isinstance(i, (numbers.Integral, np.integer)) else i for i in cv_accuracy.index]
    if index == list(range(len(CV_DEPTHS))):
        raise ex.fail(expected, cv_accuracy, "the index runs 0-9: index the means by the depth itself, "
                      "1 to 10")
    if sorted(index, key=str) != sorted(CV_DEPTHS, key=str):
        raise ex.fail(expected, cv_accuracy, "one mean accuracy for each depth from 1 to 10")
    values = pd.Series(cv_accuracy.to_numpy(), index=index)
    try:
        return values[list(CV_DEPTHS)].astype(float)
    except (TypeError, ValueError):
        raise ex.fail(expected, cv_accuracy, "the values must be accuracies (numbers)") from None


def check_02_cv_depth(cv_accuracy, cv_depth, X_train: pd.DataFrame, y_train) -> str:
    """Exercise 02.2: mean 5-fold cross-validated accuracy per depth 1-10, and the depth chosen.

    The folds are ``StratifiedKFold(n_splits=5, shuffle=True, random_state=0)`` on ``X_train,
    y_train``; accuracies within 1e-9.  ``cv_depth`` is the depth of highest mean (the smallest
    on a tie).
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    ex = Exercise("02.2 (depth by cross-validation)", f'{_S02}, section "How deep should the tree be?"')
    expected = "a Series of 10 mean cross-validated accuracies indexed by the depth 1-10"
    got = _read_cv_table(cv_accuracy, ex, expected)
    right = cv_accuracies(X_train, y_train, StratifiedKFold(n_splits=5, shuffle=True, random_state=0))
    if not np.allclose(got, right, rtol=0, atol=1e-9):
        raise ex.fail(expected, cv_accuracy, _cv_hint(got, X_train, y_train,
                                                      {"StratifiedKFold(n_splits=5) without shuffle":
                                                       StratifiedKFold(n_splits=5),
                                                       "KFold": KFold(n_splits=5, shuffle=True,
                                                                      random_state=0)}),
                      shown=describe(got.round(4).to_dict()))
    best = int(right.index[np.flatnonzero(right.to_numpy() >= right.max() - 1e-12)[0]])
    expected = "the depth (1-10) of highest mean cross-validated accuracy, an integer"
    depth = as_number(cv_depth, ex, expected, integer=True)
    if depth != best:
        if is_close(right.get(depth, np.nan), right.max(), 1e-12):
            hint = "on a tie, choose the shallower tree (smaller, and cheaper to evaluate encrypted)"
        elif is_close(right.get(depth, np.nan), right.min(), 1e-12):
            hint = "that is the depth of the *lowest* mean accuracy: take the highest"
        else:
            hint = "take the depth of your highest mean, e.g. int(cv_accuracy.idxmax())"
        raise ex.fail(expected, cv_depth, hint)
    return ok(f"5-fold cross-validation on the training set chooses depth {best} (mean accuracy "
              f"{right[best]:.3f}, depth 4: {right[4]:.3f}), without looking at the held-out patients")


def _cv_hint(got: pd.Series, X_train, y_train, schemes: dict) -> str:
    from ..tree import depth_curve

    _, X_test, _, y_test = heart_split()
    if len(X_test) and not X_train.index.isin(X_test.index).any():
        curve = depth_curve(X_train, y_train, X_test, y_test, depths=CV_DEPTHS, random_state=0)
        if np.allclose(got, curve["test_accuracy"], atol=1e-9):
            return ("these are the held-out accuracies of the depth curve: cross-validation uses the "
                    "training set only, so that X_test stays untouched for the final estimate")
        if np.allclose(got, curve["train_accuracy"], atol=1e-9):
            return "these are training accuracies: score each tree on the fold it was *not* trained on"
    for name, cv in schemes.items():
        if np.allclose(got, cv_accuracies(X_train, y_train, cv), atol=1e-9):
            return (f"those folds come from {name}: use StratifiedKFold(n_splits=5, shuffle=True, "
                    "random_state=0) as the task says")
    return ("for each depth: train em.train_tree(X_fit, y_fit, max_depth=depth, random_state=0) on four "
            "folds, score it on the fifth, average the five scores")


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
