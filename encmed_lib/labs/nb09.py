"""Exercises of notebook 09 (differential privacy): their checkers.

Each ``check_09_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import math

import numpy as np

from .core import (
    Exercise,
    as_number,
    is_close,
    ok,
)

_S09 = "09_differential_privacy.ipynb"


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


#: Draws per setting when the checker tests a sampler's distribution (4 % on the variance is 8 sd).
_TEST_DRAWS = 200_000


def _noise_draws(ex: Exercise, expected: str, sampler, epsilon: float, sensitivity: float, size: int,
                 seed: int) -> np.ndarray:
    """``sampler(epsilon, sensitivity, size, rng)`` with a seeded generator, read as integer noise."""
    if not callable(sampler):
        raise ex.fail(expected, sampler, "give the function itself (def ...): the checker calls it")
    try:
        draws = sampler(epsilon, sensitivity, size, np.random.default_rng(seed))
    except Exception as exc:  # the student's code: any error is a hint
        raise ex.fail(expected, None, f"the function raised {type(exc).__name__}: {exc}",
                      shown=f"an error for epsilon = {epsilon:g}, sensitivity = {sensitivity:g}") from None
    arr = np.asarray(draws)
    if arr.shape != (size,):
        raise ex.fail(expected, None, f"return one draw per requested value: an array of shape ({size},)",
                      shown=f"an array of shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ex.fail(expected, None, "the noise of a count must be an integer: the difference of two "
                      "geometric draws is one (.astype(np.int64))", shown=f"an array of dtype {arr.dtype}")
    return arr.astype(np.int64)


def _laplace_hint(draws: np.ndarray, epsilon: float, sensitivity: float) -> str | None:
    """None if ``draws`` look like discrete Laplace(ε, Δ) noise, else the likeliest mistake."""
    from ..privacy.mechanisms import discrete_laplace_alpha, discrete_laplace_variance

    n, alpha = draws.size, discrete_laplace_alpha(epsilon, sensitivity)
    var, mean, p0 = float(draws.var()), float(draws.mean()), float(np.mean(draws == 0))
    right_var = discrete_laplace_variance(alpha)
    if abs(mean) > 8 * math.sqrt(right_var / n) + 1e-9:
        return ("the noise is not centred on 0: take the difference of two independent geometric draws, "
                "G1 - G2, not one of them")
    if abs(var / right_var - 1) > 0.04:
        for wrong, hint in [
            (discrete_laplace_variance(math.exp(-epsilon)), "α = exp(-ε / Δ): the sensitivity divides ε"),
            (discrete_laplace_variance(math.exp(-sensitivity / epsilon)), "α = exp(-ε / Δ), not exp(-Δ / ε)"),
            (2 * (1 - alpha) / alpha ** 2, "numpy's geometric(p) takes the success probability: p = 1 - α"),
            (math.exp(epsilon / sensitivity / 2) * alpha * (1 + alpha) / (1 - alpha) ** 2,
             "a rounded continuous Laplace is not the discrete Laplace: draw G1 - G2, two geometric "
             "variables of success probability 1 - α"),
        ]:
            if abs(var / wrong - 1) <= 0.04:
                return hint
        return (f"the variance is {var:.3g}, not 2α/(1-α)^2 = {right_var:.3g}: draw G1 - G2 with "
                "G ~ geometric(1 - α), α = exp(-ε / Δ)")
    right_p0 = (1 - alpha) / (1 + alpha)
    if abs(p0 - right_p0) > 6 * math.sqrt(right_p0 * (1 - right_p0) / n) + 1e-3:
        return (f"P[Z = 0] is {p0:.3f}, not (1 - α)/(1 + α) = {right_p0:.3f}: a rounded continuous Laplace "
                "has about the right variance but not the discrete Laplace's distribution")
    return None


def check_09_discrete_laplace(sampler, empirical_variance, theoretical_variance, *, epsilon: float = 0.5,
                              sensitivity: float = 2, size: int = 200_000, seed: int = 7) -> str:
    r"""Exercise 09.1: a discrete Laplace sampler by hand, and its variance measured and derived.

    ``sampler(epsilon, sensitivity, size, rng)`` is the student's function; it
    is called with seeded generators at ``(epsilon, sensitivity)`` and at two
    other settings (200 000 draws each), and its draws must have mean 0, variance
    :math:`2\alpha/(1-\alpha)^2` within 4 % and :math:`P[Z=0] = (1-\alpha)/(1+\alpha)`
    (:math:`\alpha = e^{-\varepsilon/\Delta}`).  ``empirical_variance`` must be the
    variance of ``sampler(epsilon, sensitivity, size, np.random.default_rng(seed))``,
    ``theoretical_variance`` the formula's (relative 1e-9).
    """
    from ..privacy.mechanisms import discrete_laplace_alpha, discrete_laplace_variance

    ex = Exercise("09.1 (the discrete Laplace mechanism)", f'{_S09}, section "3 · Central and distributed '
                  'noise" (Discrete Laplace draws)')
    expected = ("a function sampler(epsilon, sensitivity, size, rng) drawing `size` integers of discrete "
                "Laplace noise, α = exp(-ε/Δ), from the generator rng")
    for eps, sens in [(1.0, 1.0), (float(epsilon), float(sensitivity)), (2.0, 13.0)]:
        draws = _noise_draws(ex, expected, sampler, eps, sens, _TEST_DRAWS, seed)
        hint = _laplace_hint(draws, eps, sens)
        if hint is not None:
            raise ex.fail(expected, None, hint, shown=f"draws at ε = {eps:g}, Δ = {sens:g} with mean "
                          f"{draws.mean():.3f} and variance {draws.var():.4g}")
    first = _noise_draws(ex, expected, sampler, epsilon, sensitivity, size, seed)
    if not np.array_equal(first, _noise_draws(ex, expected, sampler, epsilon, sensitivity, size, seed)):
        raise ex.fail(expected, None, "draw from the generator rng passed in (rng.geometric), so that a "
                      "seed reproduces the draws", shown="different draws from the same seed")
    alpha = discrete_laplace_alpha(epsilon, sensitivity)
    right = discrete_laplace_variance(alpha)
    t_expected = f"2α/(1-α)^2 for ε = {epsilon:g}, Δ = {sensitivity:g} (a number)"
    t_value = as_number(theoretical_variance, ex, t_expected)
    if not is_close(t_value, right, 1e-9 * right):
        b = sensitivity / epsilon
        hint = ("that is the standard deviation: the variance is its square" if is_close(t_value ** 2, right,
                1e-9 * right) else "that is the continuous Laplace's variance 2b^2, b = Δ/ε; the discrete "
                "one is 2α/(1-α)^2" if is_close(t_value, 2 * b * b, 1e-9 * b * b) else
                "the variance of G1 - G2 is twice a geometric's, α/(1-α)^2: 2α/(1-α)^2, α = exp(-ε/Δ)")
        raise ex.fail(t_expected, theoretical_variance, hint)
    measured = float(first.var())
    e_expected = (f"the variance of your {size} draws at ε = {epsilon:g}, Δ = {sensitivity:g} from "
                  f"np.random.default_rng({seed}) (a number)")
    e_value = as_number(empirical_variance, ex, e_expected)
    if not is_close(e_value, measured, 1e-9 * measured):
        hint = ("that is the standard deviation: .var(), not .std()" if is_close(e_value ** 2, measured,
                1e-9 * measured) else f"measure it on sampler({epsilon:g}, {sensitivity:g}, {size}, "
                f"np.random.default_rng({seed})) with .var()")
        raise ex.fail(e_expected, empirical_variance, hint)
    return ok(f"integer noise, centred, with P[Z = 0] = (1-α)/(1+α) = {(1 - alpha) / (1 + alpha):.4f} and "
              f"variance 2α/(1-α)^2 = {right:.3f} at ε = {epsilon:g}, Δ = {sensitivity:g} (α = {alpha:.4f}); "
              "seeded draws agree within sampling error, at two other settings too")


def _epsilon_for_sd(sd: float, sensitivity: float) -> float:
    """The ε at which discrete Laplace noise of sensitivity Δ has standard deviation ``sd``."""
    v = sd * sd
    alpha = (v + 1 - math.sqrt(2 * v + 1)) / v
    return -sensitivity * math.log(alpha)


def _budget_mistakes(level_sd: float, leaf_sd: float, F: int) -> list[tuple[float, float, str]]:
    """(level ε, leaf ε, hint) of typical wrong ways to get ε from a standard deviation."""
    def solved_on_sd(sd, sens):  # 2α/(1-α)^2 = sd instead of sd^2
        return _epsilon_for_sd(math.sqrt(sd), sens)

    return [
        (math.sqrt(2) * F / level_sd, math.sqrt(2) / leaf_sd, "that is the continuous Laplace's answer, "
         "sd = √2 Δ/ε; the discrete Laplace has variance 2α/(1-α)^2, α = exp(-ε/Δ): solve that for α"),
        (F / level_sd, 1 / leaf_sd, "Δ/ε is the scale b of the noise, not its standard deviation"),
        (solved_on_sd(level_sd, F), solved_on_sd(leaf_sd, 1), "2α/(1-α)^2 is the variance: set it to "
         "sd^2, not to sd"),
        (_epsilon_for_sd(level_sd, 1), _epsilon_for_sd(leaf_sd, 1), f"α = exp(-ε/Δ): a level's tables have "
         f"sensitivity Δ = {F}, so ε = -Δ ln α"),
    ]


def check_09_budget_for_noise(level_epsilon, leaf_epsilon, total_epsilon, *, level_sd: float = 10.0,
                              leaf_sd: float = 2.0, max_depth: int = 3, n_features: int = 13) -> str:
    r"""Exercise 09.3: the epsilons that give the noise a chosen standard deviation, and their total.

    A level's split tables have sensitivity ``n_features``, the leaf class
    counts sensitivity 1; discrete Laplace noise has standard deviation
    :math:`\sqrt{2\alpha}/(1-\alpha)`, :math:`\alpha = e^{-\varepsilon/\Delta}`.  The
    total is ``max_depth`` levels plus the leaves (sequential composition).
    Relative tolerance 1e-6 (the continuous-Laplace answer differs by 1e-3).
    """
    from ..privacy import plan_tree_budget

    ex = Exercise("09.3 (ε for a noise level)", f'{_S09}, section "2 · The accounting, written down"')
    F, D = int(n_features), int(max_depth)
    right_level, right_leaf = _epsilon_for_sd(level_sd, F), _epsilon_for_sd(leaf_sd, 1)
    values = []
    for value, right, what, sd, sens, index in [
            (level_epsilon, right_level, "one level of split tables", level_sd, F, 0),
            (leaf_epsilon, right_leaf, "the leaf class counts", leaf_sd, 1, 1)]:
        expected = f"the smallest ε for {what} (Δ = {sens}) whose noise has standard deviation {sd:g}"
        got = as_number(value, ex, expected)
        if not is_close(got, right, 1e-6 * right):
            if got < 0:
                hint = "ε is positive: of the two roots of the quadratic in α, take the one below 1"
            else:
                hint = next((h for *cands, h in _budget_mistakes(level_sd, leaf_sd, F)
                             if is_close(got, cands[index], 1e-6 * cands[index])),
                            "solve sd^2 (1-α)^2 = 2α for α in (0, 1), then ε = -Δ ln α")
            raise ex.fail(expected, value, hint)
        values.append(got)
    right_total = D * right_level + right_leaf
    expected = f"the total ε of the depth-{D} tree: its {D} levels and its leaf counts"
    got = as_number(total_epsilon, ex, expected)
    if not is_close(got, right_total, 1e-6 * right_total):
        mistakes = [((D + 1) * right_level + right_leaf, f"a depth-{D} tree has {D} levels of split tables"),
                    (D * right_level, "the leaf counts are a release too: add their ε"),
                    (right_level + right_leaf, f"the {D} levels hold the same patients: their ε add up "
                                               "(sequential composition), D × ε_level"),
                    (max(right_level, right_leaf), "releases on the same patients compose sequentially: "
                                                   "add the epsilons, do not take the largest"),
                    (D * (right_level + right_leaf), "the leaf counts are released once, not per level")]
        hint = next((h for cand, h in mistakes if is_close(got, cand, 1e-6 * cand)),
                    "sequential composition: D × ε_level + ε_leaves")
        raise ex.fail(expected, total_epsilon, hint)
    plan = plan_tree_budget(right_total, D, F, leaf_fraction=right_leaf / right_total)
    return ok(f"ε_level = {right_level:.4f} (Δ = {F}, sd {plan['level_noise_sd']:.2f}) and ε_leaves = "
              f"{right_leaf:.4f} (Δ = 1, sd {plan['leaf_noise_sd']:.2f}): a total "
              f"ε = {D} × {right_level:.4f} + "
              f"{right_leaf:.4f} = {right_total:.3f}, as plan_tree_budget(..., leaf_fraction="
              f"{right_leaf / right_total:.3f}) confirms; a factor e^ε = {math.exp(right_total):,.0f} on any "
              "outcome's probability")


def _check_bound(ex: Exercise, bound, epsilon: float) -> float:
    """The largest membership advantage an ``epsilon``-DP release allows, tanh(epsilon / 2), within 0.0005."""
    expected = (f"the largest advantage (TPR - FPR) any membership test can reach against an ε-DP model at "
                f"ε = {epsilon:g}, a number between 0 and 1")
    value = as_number(bound, ex, expected)
    right, tol = math.tanh(epsilon / 2), 5e-4
    if is_close(value, right, tol):
        return right
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


def _threshold_advantage(epsilon: float, count: int, trials: int, seeds: tuple[int, int]) -> float:
    """TPR - FPR of the test "member if the release is >= count + 1", on the exercise's seeded draws."""
    from ..privacy.mechanisms import discrete_laplace

    with_her = count + 1 + discrete_laplace(epsilon, 1, size=trials, rng=np.random.default_rng(seeds[0]))
    without = count + discrete_laplace(epsilon, 1, size=trials, rng=np.random.default_rng(seeds[1]))
    return float(np.mean(with_her >= count + 1) - np.mean(without >= count + 1))


def check_09_membership_experiment(measured_advantage, bound, *, epsilon: float = 1.0, count: int = 40,
                                   trials: int = 100_000, seeds: tuple[int, int] = (11, 12)) -> str:
    """Exercise 09.4: a membership test against one noisy count, measured, and the bound tanh(ε/2).

    ``measured_advantage`` is TPR - FPR of the test "member if the release is
    at least ``count + 1``" over ``trials`` seeded releases of each world
    (``seeds``: the generators of the world with the patient, then without);
    it is recomputed exactly, and any other honest simulation within 5
    standard deviations of its expectation, tanh(ε/2), is accepted too (the
    bound itself is refused: it must be measured).  ``bound`` must be
    tanh(ε/2) within 0.0005.
    """
    ex = Exercise("09.4 (the membership bound, measured)",
                  f'{_S09}, sections "1 · Why: the totals still describe patients" (Differential privacy, '
                  'in words) and "6 · Membership inference: does the model reveal who was in it?"')
    right_bound = _check_bound(ex, bound, epsilon)
    expected = (f"TPR - FPR of the test 'member if the release is >= {count + 1}', measured on {trials:,} "
                "simulated releases of each world (a number)")
    value = as_number(measured_advantage, ex, expected)
    exact = _threshold_advantage(epsilon, count, trials, seeds)
    alpha = math.exp(-epsilon)
    p0 = (1 - alpha) / (1 + alpha)
    sd = math.sqrt(2 * (1 - p0 * p0) / 4 / trials)
    if is_close(value, right_bound, 1e-12) and not is_close(exact, right_bound, 1e-12):
        raise ex.fail(expected, measured_advantage, "that is the bound tanh(ε/2) itself: measure the test on "
                      "the simulated releases, np.mean(with >= c + 1) - np.mean(without >= c + 1)")
    if is_close(value, exact, 1e-12) or is_close(value, right_bound, 5 * sd):
        return ok(f"the test 'member if the release is >= c + 1' reaches TPR - FPR = {value:.3f} against "
                  f"the bound tanh(ε/2) = {right_bound:.3f} at ε = {epsilon:g}: with discrete Laplace noise "
                  "this simple test is the best possible one, the bound is reached, and no attacker, "
                  f"however clever, does better; on a balanced guess it is right {(1 + right_bound) / 2:.1%} "
                  "of the time")
    mistakes = [
        (-right_bound, "the sign is reversed: TPR is measured on the releases *with* the patient"),
        ((1 + p0) / 2, "that is the TPR alone: subtract the FPR (the same test on the releases without her)"),
        ((1 - p0) / 2, "that is the FPR alone: the advantage is TPR - FPR"),
        (1 - right_bound, "that is 1 minus the advantage"),
        (alpha * (1 - alpha) / (1 + alpha), f"the threshold is c + 1 = {count + 1}: a release of exactly c "
                                            "is likelier without her"),
    ]
    hint = next((h for cand, h in mistakes if is_close(value, cand, 5 * sd)),
                f"draw {trials:,} releases count + 1 + noise (with her, rng_in_ex) and count + noise "
                "(without, rng_out_ex) with discrete_laplace(eps_ex, 1, ...), and compare the shares "
                ">= count + 1")
    raise ex.fail(expected, measured_advantage, hint)
