"""Experiments: DP learners against diffprivlib over epsilon, and the figure."""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ArgumentError
from ..federated.aggregation import PlainAggregator, SecretSharingAggregator
from ..federated.trainer import (
    HEART_RANGES,
    SYNTHEA_RANGES,
    Binning,
    Codes,
    FederatedTreeTrainer,
    split_providers,
)
from .accountant import DEFAULT_LEAF_FRACTION
from .forest import dp_random_forest
from .tree import dp_federated_tree

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BREAST_CANCER_RANGES: dict[str, tuple[float, float]] = {
    "mean radius": (6.9, 29),
    "mean texture": (9.7, 40),
    "mean perimeter": (43, 190),
    "mean area": (140, 2600),
    "mean smoothness": (0.052, 0.17),
    "mean compactness": (0.019, 0.35),
    "mean concavity": (0.0, 0.43),
    "mean concave points": (0.0, 0.21),
    "mean symmetry": (0.1, 0.31),
    "mean fractal dimension": (0.049, 0.098),
    "radius error": (0.11, 2.9),
    "texture error": (0.36, 4.9),
    "perimeter error": (0.75, 22),
    "area error": (6.8, 550),
    "smoothness error": (0.0017, 0.032),
    "compactness error": (0.0022, 0.14),
    "concavity error": (0.0, 0.4),
    "concave points error": (0.0, 0.053),
    "symmetry error": (0.0078, 0.079),
    "fractal dimension error": (0.00089, 0.03),
    "worst radius": (7.9, 37),
    "worst texture": (12, 50),
    "worst perimeter": (50, 260),
    "worst area": (180, 4300),
    "worst smoothness": (0.071, 0.23),
    "worst compactness": (0.027, 1.1),
    "worst concavity": (0.0, 1.3),
    "worst concave points": (0.0, 0.3),
    "worst symmetry": (0.15, 0.67),
    "worst fractal dimension": (0.055, 0.21),
}
"""Public bounds of scikit-learn's breast-cancer features: the minimum and maximum printed in the
data set's documentation (``load_breast_cancer().DESCR``, "Summary Statistics"), rounded outwards to
two significant digits.  They are published with the data, so every method gets them for free
(diffprivlib as ``bounds``, the random-split forest as its ranges)."""


def load_breast_cancer_frame() -> tuple[pd.DataFrame, pd.Series]:
    """scikit-learn's breast-cancer data as ``(X, y)`` with named columns (569 records, 30 features)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    return data.data[list(BREAST_CANCER_RANGES)], data.target.rename("target")


def public_bounds(ranges: Mapping[str, tuple[float, float] | Codes]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """diffprivlib's ``bounds`` from public ranges: ``(low, high)`` or the smallest and largest code."""
    lows, highs = [], []
    for name, spec in ranges.items():
        lo, hi = (spec.codes[0], spec.codes[-1]) if isinstance(spec, Codes) else spec
        if not lo < hi:
            raise ValueError(f"feature {name!r}: bounds need low < high, got {(lo, hi)}")
        lows.append(float(lo))
        highs.append(float(hi))
    return np.array(lows), np.array(highs)


def default_ranges(columns) -> Mapping[str, tuple[float, float] | Codes]:
    """The public ranges whose features are exactly ``columns`` (heart, Synthea or breast cancer)."""
    for ranges in (HEART_RANGES, SYNTHEA_RANGES, BREAST_CANCER_RANGES):
        if set(ranges) == set(columns):
            return ranges
    raise ValueError("give the public ranges of the features (ranges=...); the columns match "
                     "neither HEART_RANGES nor SYNTHEA_RANGES")


def method_seed(seed: int, method: str, epsilon: float) -> np.random.SeedSequence:
    """One independent, reproducible stream per (seed, method, epsilon)."""
    return np.random.SeedSequence([int(seed), zlib.crc32(method.encode()),
                                   zlib.crc32(repr(float(epsilon)).encode())])


METHODS = {
    "central": "DP federated tree (central)",
    "distributed": "DP federated tree (distributed)",
    "diffprivlib tree": "diffprivlib DecisionTreeClassifier",
    "diffprivlib forest": "diffprivlib RandomForestClassifier",
    "non-private": "non-private federated tree",
    "forest": "DP random-split forest (central)",
    "forest distributed": "DP random-split forest (distributed)",
}
"""Method keys of :func:`accuracy_vs_epsilon` and the names written in its ``method`` column."""

TREE_METHODS = ("central", "distributed", "diffprivlib tree", "diffprivlib forest", "non-private")
"""The default methods of :func:`accuracy_vs_epsilon` (those of the level-by-level tree's lesson)."""

METHOD_COLOURS = {
    METHODS["central"]: "#4C72B0", METHODS["distributed"]: "#55A868",
    METHODS["diffprivlib tree"]: "#DD8452", METHODS["diffprivlib forest"]: "#C44E52",
    METHODS["non-private"]: "#333333", METHODS["forest"]: "#8172B2",
    METHODS["forest distributed"]: "#64B5CD",
}
"""Colour of each method in the figures."""


def fit_diffprivlib(key: str, epsilon: float, random_state: int, X: np.ndarray, y: np.ndarray, *,
                    max_depth: int, n_estimators: int, bounds, classes):
    """diffprivlib's tree or forest (``key``), with its own budget accountant, fitted on ``(X, y)``.

    diffprivlib's ``PrivacyLeakWarning`` is silenced: ``bounds`` and
    ``classes`` come from public knowledge (the ranges), not from the data.
    """
    from diffprivlib.accountant import BudgetAccountant
    from diffprivlib.models import DecisionTreeClassifier, RandomForestClassifier
    from diffprivlib.utils import PrivacyLeakWarning

    common = {"epsilon": epsilon, "bounds": bounds, "classes": classes, "random_state": random_state,
              "accountant": BudgetAccountant()}
    if key == "diffprivlib tree":
        model = DecisionTreeClassifier(max_depth, **common)
    elif key == "diffprivlib forest":
        model = RandomForestClassifier(n_estimators, max_depth=max_depth, **common)
    else:
        raise ArgumentError(f"key: expected 'diffprivlib tree' or 'diffprivlib forest', got {key!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        return model.fit(X, y)


def accuracy_vs_epsilon(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test,
                        epsilons: Sequence[float], seeds: Sequence[int], *, max_depth: int = 4,
                        binning: Binning | None = None,
                        ranges: Mapping[str, tuple[float, float] | Codes] | None = None,
                        k_providers: int = 3, n_estimators: int = 10, classes: Sequence | None = None,
                        leaf_fraction: float = DEFAULT_LEAF_FRACTION,
                        methods: Sequence[str] = TREE_METHODS) -> pd.DataFrame:
    """Held-out accuracy of DP trees against epsilon, several seeds each, and the non-private tree.

    Methods (keys of :data:`METHODS`):

    * ``"central"``, ``"distributed"``: :func:`dp_federated_tree` on
      ``k_providers`` providers (:func:`~encmed_lib.federated.split_providers`,
      split by the seed) with the given public ``binning``;
    * ``"diffprivlib tree"``: IBM diffprivlib's ``DecisionTreeClassifier``
      (``max_depth``, ``epsilon``, ``bounds`` from the public ``ranges``,
      ``classes``).  diffprivlib documents it as the base estimator of its
      forest, "not meant to be used separately": random splits drawn inside
      the bounds (no data used), the whole budget spent on the leaf labels;
    * ``"diffprivlib forest"``: its ``RandomForestClassifier``
      (``n_estimators`` trees, each trained on a disjoint part of the data,
      so each gets the whole ``epsilon``);
    * ``"non-private"``: the federated tree without noise (same binning;
      it equals scikit-learn's tree on the binned data), ``epsilon = inf``,
      one row per seed;
    * ``"forest"``, ``"forest distributed"``:
      :func:`~encmed_lib.privacy.dp_random_forest` on the public ``ranges``
      (:func:`~encmed_lib.privacy.forest_schedule` picks the trees and depth).

    The aggregator of central noise is
    :class:`~encmed_lib.federated.PlainAggregator` (the curator sees the
    exact total, as the Paillier key holder does); the secure back-ends
    return the same sums, so the same models, more slowly.  Distributed
    forests use :class:`~encmed_lib.federated.SecretSharingAggregator`, so
    that no party sees a table with less than the full noise; the
    level-by-level tree's ``"distributed"`` rows keep the plain aggregator
    (same distribution of the released tree, but there the aggregator sees
    each provider's table with one share of noise only: a simulation, not
    the protocol).

    Parameters
    ----------
    X_train, y_train, X_test, y_test
        Training and held-out records.
    epsilons : sequence of float
    seeds : sequence of int
        Each seed fixes the provider split and every random draw: the same
        call gives the same table.
    max_depth : int
    binning : Binning, optional
        Default: 8 equal-width bins over ``ranges``.
    ranges : mapping, optional
        Public ranges (default: :data:`HEART_RANGES` or :data:`SYNTHEA_RANGES`
        from the columns); also diffprivlib's bounds.
    k_providers, n_estimators : int
    classes : sequence, optional
        Public labels (default: sorted labels of ``y_train``).
    leaf_fraction : float
    methods : sequence of str

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``epsilon``, ``seed``, ``accuracy``.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ArgumentError(f"unknown methods {unknown}; choose among {list(METHODS)}")
    ranges = ranges if ranges is not None else default_ranges(X_train.columns)
    binning = binning if binning is not None else Binning.from_ranges(ranges, 8)
    columns = list(ranges)
    X_train, X_test = X_train[columns], X_test[columns]
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = list(classes) if classes is not None else sorted(np.unique(y_train).tolist())
    bounds = public_bounds(ranges)
    rows = []

    def add(method: str, eps: float, seed: int, pred) -> None:
        rows.append({"method": METHODS[method], "epsilon": float(eps), "seed": int(seed),
                     "accuracy": float(np.mean(np.asarray(pred) == y_test))})

    for seed in seeds:
        providers = split_providers(X_train, y_train, k=k_providers, seed=int(seed))
        if "non-private" in methods:
            trainer = FederatedTreeTrainer(max_depth, binning, PlainAggregator(), classes=classes)
            add("non-private", math.inf, seed, trainer.fit(providers).to_sklearn().predict(X_test))
        for eps in epsilons:
            for key, mode in (("forest", "central"), ("forest distributed", "distributed")):
                if key in methods:
                    agg = PlainAggregator() if mode == "central" else SecretSharingAggregator()
                    forest = dp_random_forest(providers, eps, ranges, agg, classes=classes, mode=mode,
                                              rng=method_seed(seed, key, eps))
                    add(key, eps, seed, forest.predict(X_test))
            for mode in ("central", "distributed"):
                if mode in methods:
                    tree, _ = dp_federated_tree(providers, eps, max_depth, binning, PlainAggregator(),
                                                rng=method_seed(seed, mode, eps), mode=mode,
                                                classes=classes, leaf_fraction=leaf_fraction)
                    add(mode, eps, seed, tree.to_sklearn().predict(X_test))
            for key in ("diffprivlib tree", "diffprivlib forest"):
                if key in methods:
                    state = int(method_seed(seed, key, eps).generate_state(1)[0])
                    model = fit_diffprivlib(key, eps, state, X_train.to_numpy(), y_train, max_depth=max_depth,
                                            n_estimators=n_estimators, bounds=bounds, classes=classes)
                    add(key, eps, seed, model.predict(X_test.to_numpy()))
    return pd.DataFrame(rows, columns=["method", "epsilon", "seed", "accuracy"])


def median_bands(df: pd.DataFrame, value: str) -> pd.DataFrame:
    """Median and quartiles of ``value`` per (method, epsilon)."""
    g = df.groupby(["method", "epsilon"], sort=True)[value]
    return pd.DataFrame({"median": g.median(), "q1": g.quantile(0.25), "q3": g.quantile(0.75)}
                        ).reset_index()


def plot_accuracy_vs_epsilon(df: pd.DataFrame, *, baseline: float | None = None,
                             title: str = "Held-out accuracy of DP trees against the privacy budget"
                             ) -> Figure:
    """Median accuracy (line) and interquartile range (band) per method, against epsilon (log scale).

    Parameters
    ----------
    df : pandas.DataFrame
        :func:`accuracy_vs_epsilon`'s output.  Rows with an infinite
        ``epsilon`` (the non-private reference) are drawn as a dashed
        horizontal line at their median.
    baseline : float, optional
        Accuracy of always predicting the majority class (dotted line).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # plotting stays out of the import of the library

    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.subplots()
    finite = df[np.isfinite(df["epsilon"])]
    band_lines(ax, median_bands(finite, "accuracy"), lambda k, method: METHOD_COLOURS.get(method, f"C{k}"))
    for method, part in df[~np.isfinite(df["epsilon"])].groupby("method", sort=False):
        level = float(part["accuracy"].median())
        ax.axhline(level, color=METHOD_COLOURS.get(method, "black"), linestyle="--", linewidth=1.2,
                   label=f"{method} ({level:.2f})")
    if baseline is not None:
        ax.axhline(baseline, color="#7F7F7F", linestyle=":", linewidth=1.2,
                   label=f"majority class ({baseline:.2f})")
    ax.set_xscale("log")
    epsilon_axes(ax, f"held-out accuracy (median, IQR over {df['seed'].nunique()} seeds)", title,
                 "lower right")
    return fig


def band_lines(ax, stats: pd.DataFrame, colour_of) -> float:
    """One median line (markers) and interquartile band per method of :func:`median_bands`' ``stats``.

    ``colour_of(k, method)`` gives the colour of the ``k``-th method.  Returns
    the highest upper quartile drawn (0 if none), for the caller's y limits.
    """
    top = 0.0
    for k, (method, part) in enumerate(stats.groupby("method", sort=False)):
        colour = colour_of(k, method)
        ax.plot(part["epsilon"], part["median"], marker="o", color=colour, label=method)
        ax.fill_between(part["epsilon"], part["q1"], part["q3"], color=colour, alpha=0.18, linewidth=0)
        top = max(top, float(part["q3"].max()))
    return top


def epsilon_axes(ax, ylabel: str, title: str, legend: str) -> None:
    """The common finish of an against-epsilon figure: x label, y label, title, grid, legend at ``legend``."""
    ax.set_xlabel(r"privacy budget $\varepsilon$ (log scale; smaller = more private)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc=legend, fontsize=8)
