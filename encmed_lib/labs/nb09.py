"""Exercises of notebook 09 (differential privacy): their checkers.

Each ``check_09_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import math

from .core import (
    Exercise,
    as_number,
    is_close,
    ok,
)

_S09 = "09_differential_privacy.ipynb"


def check_09_level_epsilon(epsilon, *, total_epsilon: float = 2.0, max_depth: int = 3, n_features: int = 13,
                           leaf_fraction: float = 0.25, binning_epsilon: float = 0.0) -> str:
    """Exercise 09.1: the epsilon of one level of split tables, as ``plan_tree_budget`` splits a budget.

    Recomputed as ``plan_tree_budget(total_epsilon, max_depth, n_features,
    binning_epsilon=binning_epsilon, leaf_fraction=leaf_fraction)["per_level"]``;
    within 0.0005, so an answer rounded to 3 decimals is accepted.
    """
    from ..privacy import plan_tree_budget

    ex = Exercise("09.1 (epsilon per level)", f'{_S09}, section "2 · The accounting, written down"')
    plan = plan_tree_budget(total_epsilon, max_depth, n_features, binning_epsilon=binning_epsilon,
                            leaf_fraction=leaf_fraction)
    D, F = plan["n_levels"], plan["n_features"]
    binning = f", binning epsilon {plan['binning']:g}" if plan["binning"] else ", public bins"
    expected = (f"the epsilon spent on one level of split tables (a number): depth {max_depth}, "
                f"{F} features, total epsilon {plan['total']:g}, leaf fraction {leaf_fraction:g}{binning}")
    value = as_number(epsilon, ex, expected)
    right, tol = plan["per_level"], 5e-4
    if is_close(value, right, tol):
        spent = f"{plan['binning']:g} (binning) + " if plan["binning"] else ""
        return ok(f"each of the {D} levels spends {right:.4g}: {spent}{D} × {right:.4g} (split tables) + "
                  f"{plan['leaves']:.4g} (leaf counts) = {plan['total']:g}; with sensitivity {F} the noise "
                  f"on one count of a level has sd {plan['level_noise_sd']:.1f}")
    rest = plan["total"] - plan["binning"]
    per_feature = ("the sensitivity does not divide the budget, it sets the noise (scale F / epsilon): a "
                   "level costs its epsilon whatever the number of features")
    mistakes = [
        (rest / D, "the leaves' share is missing: leaf_fraction of the budget goes to the leaf class counts "
                   "first, and only the rest is split evenly over the levels"),
        (right / F, per_feature),
        (rest / D / F, per_feature),
        (right * D / (D + 1), f"a depth-{D} tree has {D} levels of split tables (the leaf class counts are a "
                              "separate release, with their own share), not depth + 1"),
        (rest / (D + 1), f"the leaf counts are not one more level: they get leaf_fraction of the budget, and "
                         f"the {D} levels share the rest"),
        (plan["levels"], f"that is all the levels together: divide it between the {D} levels"),
        (plan["leaves"], "that is the leaves' budget (leaf_fraction of it); the levels share the rest"),
        (plan["total"], "that is the whole budget: a tree makes several releases, whose epsilons add up "
                        "(sequential composition)"),
    ]
    if plan["binning"]:
        mistakes.append((plan["total"] * (1 - leaf_fraction) / D,
                         "take the binning's epsilon off the total first, then the leaves' share"))
    for candidate, hint in mistakes:
        if is_close(value, candidate, tol):
            raise ex.fail(expected, epsilon, hint)
    raise ex.fail(expected, epsilon, "plan_tree_budget(total, max_depth=..., n_features=..., "
                  "leaf_fraction=...) writes the plan down: read its 'per_level' entry, or check "
                  "budget_table(plan)")


def _feature_names(features) -> list[str]:
    """The feature names of a Binning, of a ranges mapping, of a DataFrame or of a list of names."""
    if hasattr(features, "feature_names"):
        return list(features.feature_names)
    if hasattr(features, "columns"):
        return [str(c) for c in features.columns]
    if isinstance(features, str) or not hasattr(features, "__iter__"):
        raise TypeError(f"features must be a Binning, a ranges mapping or a list of names, got {features!r}")
    return [str(name) for name in features]


def check_09_level_sensitivity(sensitivity, features=None, n_classes: int = 2) -> str:
    """Exercise 09.2: the L1 sensitivity of one level's count tables: the number of features.

    ``features`` describes the data: a :class:`~encmed_lib.federated.Binning`,
    a ranges mapping, a DataFrame or a list of feature names (default: the
    Synthea features, 8 bins over ``SYNTHEA_RANGES``).  One record adds 1 to
    one (bin, class) cell of each feature's histogram, in its own node of the
    level.
    """
    from ..federated import HEART_RANGES, SYNTHEA_RANGES, Binning

    ex = Exercise("09.2 (sensitivity of a level)", f'{_S09}, section "2 · The accounting, written down" '
                  '(What one record changes)')
    binning = Binning.from_ranges(SYNTHEA_RANGES, n_bins=8) if features is None else features
    names = _feature_names(binning)
    F = len(names)
    expected = ("the L1 sensitivity of the count tables of one level: the largest total change one record "
                "makes to them (a whole number)")
    value = as_number(sensitivity, ex, expected, integer=True)
    if value == F:
        return ok(f"one record adds 1 to one (bin, class) cell of each of the {F} features' histograms, "
                  f"in its own node: Δ = {F}, so each count of a level gets noise of scale {F} / ε_ℓ, "
                  f"{F} times what a single histogram would need")
    if value == 1:
        hint = ("1 is the sensitivity of one histogram; a level releases one histogram per feature, and a "
                "record falls in one bin of each of them")
    elif value == 2 * F:
        hint = ("neighbours differ by one record added or removed, not replaced: each feature's histogram "
                "changes by 1, not 2")
    elif value == len(HEART_RANGES) and F != len(HEART_RANGES):
        hint = "13 is the sensitivity for the heart data (section 2); count the features of this data set"
    else:
        cells = set()
        if isinstance(binning, Binning):
            bins = sum(binning.n_bins.values())
            cells = {bins, bins * n_classes, F * binning.max_bins, F * binning.max_bins * n_classes}
        if value in cells:
            hint = ("that counts the cells of the table: a record sits in only one (bin, class) cell of each "
                    "feature")
        else:
            hint = ("add one patient and count how much the level's table changes, as section 2 did for the "
                    "heart data (table.sum() of a provider holding a single record)")
    raise ex.fail(expected, sensitivity, hint)


def _smallest_epsilon(acc, name: str, target: float, how: str = "median",
                      largest: bool = False) -> float | None:
    """The smallest (or largest) epsilon where the ``how`` of ``name``'s accuracies reaches ``target``."""
    stats = acc[acc["method"] == name].groupby("epsilon")["accuracy"].agg(how)
    reached = [float(e) for e in stats.index[stats >= target]]
    return (max(reached) if largest else min(reached)) if reached else None


def _epsilon_hints(acc, label: str, methods: list, target: float, on_grid: float, right: float | None,
                   medians) -> list[str]:
    """What a wrong epsilon of the grid most likely answers (another method, the mean, the largest...)."""
    hints = [f"that is where {other!r} reaches the target: the question is about {label!r} (the rows "
             f"where acc['method'] == {label!r})"
             for other in methods if other != label and _smallest_epsilon(acc, other, target) == on_grid]
    if _smallest_epsilon(acc, label, target, "mean") == on_grid:
        hints.append("that is where the *mean* accuracy reaches the target: take the median over the seeds "
                     "(.median())")
    if on_grid == _smallest_epsilon(acc, label, target, largest=True) and on_grid != right:
        hints.append("that is the largest epsilon of the grid whose median reaches the target: the question "
                     "asks for the smallest")
    if _smallest_epsilon(acc, label, target, "max") == on_grid:
        hints.append("some seeds reach the target there, not the median: group by epsilon and take the "
                     "median of the accuracies")
    if not hints:
        if right is None:
            hints.append(f"the median accuracy of {label!r} never reaches {target:g} on this grid: the "
                         "answer is None")
        elif on_grid < right:
            hints.append(f"at ε = {on_grid:g} the median accuracy is only {medians[on_grid]:.3f}, below "
                         f"{target:g}")
        else:
            hints.append("the median reaches the target at a smaller epsilon of the grid already")
    return hints


def check_09_epsilon_for_accuracy(epsilon, acc, target: float = 0.75, method: str = "central") -> str:
    """Exercise 09.3: the smallest epsilon of the grid where ``method``'s median accuracy reaches ``target``.

    ``acc`` is a table of :func:`~encmed_lib.privacy.accuracy_vs_epsilon`
    (columns ``method``, ``epsilon``, ``seed``, ``accuracy``); ``method`` is a
    key of :data:`~encmed_lib.privacy.METHODS` or its label.  The answer is
    recomputed from ``acc``: the median accuracy over the seeds at each
    epsilon, and the smallest epsilon where it is ``>= target``.  When no
    epsilon of the grid reaches the target, the right answer is ``None``.
    """
    from ..privacy import METHODS

    label = METHODS.get(method, method)
    methods = list(dict.fromkeys(acc["method"]))
    if label not in methods:
        raise ValueError(f"method {method!r} is not in the table; its methods are {methods}")
    ex = Exercise("09.3 (epsilon for a target accuracy)",
                  f'{_S09}, sections "5 · Accuracy against ε" and "7 · The trade-off, for a clinician"')
    rows = acc[acc["method"] == label]
    medians = rows.groupby("epsilon")["accuracy"].median()
    grid = [float(e) for e in medians.index]

    right = _smallest_epsilon(acc, label, target)
    expected = (f"the smallest epsilon of the grid {grid} at which the median accuracy of {label!r} over "
                f"the seeds is at least {target:g} (one number of the grid)")
    if right is None:
        expected = (f"None: no epsilon of the grid {grid} brings the median accuracy of {label!r} to "
                    f"{target:g}")
        if epsilon is None:
            return ok(f"the median accuracy of {label!r} stays below {target:g} on the whole grid "
                      f"(at most {medians.max():.3f}): change the model, not epsilon")
    value = as_number(epsilon, ex, expected)
    if right is not None and is_close(value, right, 1e-9 * max(1.0, right)):
        factor = math.exp(right)
        factor_text = f"{factor:,.2f}" if factor < 100 else f"{factor:,.0f}"
        below = [e for e in grid if e < right]
        before = f", against {medians[below[-1]]:.3f} at ε = {below[-1]:g}" if below else ""
        return ok(f"the median accuracy of {label!r} first reaches {target:g} at ε = {right:g} "
                  f"({medians[right]:.3f}{before}); the price: one patient may change the probability of "
                  f"any outcome by a factor e^ε = {factor_text}, and the bound on a membership test's "
                  f"advantage is tanh(ε/2) = {math.tanh(right / 2):.3f}")
    on_grid = next((e for e in grid if is_close(value, e, 1e-9 * max(1.0, e))), None)
    if on_grid is None:
        if 0 < value < 1 and any(is_close(value, float(m), 5e-4) for m in medians):
            hint = "that is an accuracy: give the epsilon at which the median reaches the target"
        else:
            hint = f"give one epsilon of the grid: {grid}"
        raise ex.fail(expected, epsilon, hint)
    hints = _epsilon_hints(acc, label, methods, target, on_grid, right, medians)
    raise ex.fail(expected, epsilon, "; or ".join(hints))


def check_09_advantage_bound(bound, epsilon: float = 1.0) -> str:
    """Exercise 09.4: the largest membership advantage an ``epsilon``-DP model allows, tanh(epsilon / 2).

    Within 0.0005, so the value rounded to 3 decimals is accepted.
    """
    ex = Exercise("09.4 (the membership bound)",
                  f'{_S09}, sections "1 · Why: the totals still describe patients" (Differential privacy, '
                  'in words) and "6 · Membership inference: does the model reveal who was in it?"')
    expected = (f"the largest advantage (TPR - FPR) any membership test can reach against an ε-DP model at "
                f"ε = {epsilon:g}, a number between 0 and 1")
    value = as_number(bound, ex, expected)
    right, tol = math.tanh(epsilon / 2), 5e-4
    if is_close(value, right, tol):
        return ok(f"at ε = {epsilon:g} no membership test, however clever, has TPR - FPR above "
                  f"tanh(ε/2) = {right:.3f}: on a balanced mix of members and new patients it guesses right "
                  f"at most {(1 + right) / 2:.1%} of the time")
    mistakes = [
        (math.tanh(epsilon), "that is tanh(ε): the bound is tanh(ε/2), halve epsilon first"),
        (math.exp(epsilon), "that is the factor e^ε on probabilities; an advantage (TPR - FPR) is at most 1"),
        (math.exp(epsilon) - 1, "e^ε - 1 is how much a probability may grow, relatively; the advantage is "
                                "tanh(ε/2)"),
        ((1 + right) / 2, "that is the best accuracy on a balanced mix of members and non-members, "
                          "e^ε / (1 + e^ε); the advantage is TPR - FPR = 2 · accuracy - 1"),
        (1 - right, "that is 1 minus the bound: give the largest advantage itself"),
    ]
    if 1 < value <= 100 and is_close(value / 100, right, tol):
        raise ex.fail(expected, bound, "this looks like a percentage: give a fraction between 0 and 1")
    for candidate, hint in mistakes:
        if is_close(value, candidate, tol):
            raise ex.fail(expected, bound, hint)
    raise ex.fail(expected, bound, "section 1 gives the bound for every epsilon: tanh(ε/2), or "
                  "dp_advantage_bound(epsilon)")
