r"""Measuring privacy: a membership-inference attack on trained trees.

:mod:`encmed_lib.privacy` *proves* a bound; this module *measures* a leak.
The question an attacker asks of a published model is the simplest one:
**was this patient's record in the training set?**  Knowing that a patient
was in a cardiology study's training set already says something about them.

The attack (Yeom et al., 2018)
------------------------------
A model is usually more confident on the records it was trained on than on
new ones: that is over-fitting seen from the outside.  The attacker computes
the model's confidence in a record's *true* label (or equivalently its loss,
:math:`-\log p_{\text{true}}`) and guesses "member" when it is above a
threshold.  We measure it on equal numbers of **members** (training records)
and **non-members** (held-out records from the same population):

* the **advantage** :math:`\max_t \text{TPR}(t) - \text{FPR}(t)`: how much
  better than a coin the best threshold does (0: no better than guessing,
  1: perfect).  The threshold is chosen knowing the answers, so this is an
  optimistic upper bound for this kind of attack, and on a finite sample it
  is positive even when nothing leaks: ``chance_advantage`` (the same
  statistic with the member/non-member labels shuffled) shows the level
  reached by luck alone;
* the **AUC** of the score (0.5: no signal);
* ``yeom_advantage``: the original attack's threshold, the average training
  loss (an attacker may know it, e.g. from a published training accuracy),
  fixed in advance: TPR - FPR at that threshold.

What differential privacy promises
----------------------------------
If training is :math:`\varepsilon`-DP, for any one record the attack's
true-positive and false-positive rates satisfy :math:`\text{TPR} \le
e^\varepsilon\,\text{FPR}` and :math:`1 - \text{FPR} \le e^\varepsilon (1 -
\text{TPR})`, hence

.. math::  \text{TPR} - \text{FPR} \le \frac{e^\varepsilon - 1}{e^\varepsilon + 1}
           = \tanh(\varepsilon / 2)

(:func:`dp_advantage_bound`: 0.05 at :math:`\varepsilon = 0.1`, 0.46 at 1,
1.00 at 10).  The measured advantage of a DP tree stays under it (up to the
sampling noise of ``chance_advantage``); a non-private tree has no such bound.

::

    from encmed_lib.membership import membership_advantage
    model = tree.to_sklearn()
    membership_advantage(model.predict_proba, X_train, y_train, X_test, y_test)
    # {'advantage': 0.2, 'auc': 0.6, ...}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from .federated.aggregation import PlainAggregator
from .federated.trainer import Binning, Codes, FederatedTreeTrainer, split_providers
from .privacy import (
    DEFAULT_LEAF_FRACTION,
    default_ranges,
    dp_federated_tree,
    dp_random_forest,
    median_bands,
    method_seed,
)
from .privacy.experiments import band_lines, epsilon_axes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["true_label_confidence", "membership_advantage", "dp_advantage_bound",
           "advantage_vs_epsilon", "plot_advantage_vs_epsilon", "forest_advantage_vs_epsilon"]

LOSS_FLOOR = 1e-12
"""Probabilities are floored here before taking the log loss (a pure leaf gives 0)."""


def true_label_confidence(predict_proba: Callable[[Any], np.ndarray], X, y,
                          classes: Sequence) -> np.ndarray:
    """The predicted probability of each record's true label.

    Parameters
    ----------
    predict_proba : callable
        ``predict_proba(X) -> (n, n_classes)``, columns in the order of ``classes``.
    X, y
        Records and their true labels.
    classes : sequence
        The labels of the columns.
    """
    proba = np.asarray(predict_proba(X), dtype=np.float64)
    y = np.asarray(y)
    if proba.shape != (len(y), len(classes)):
        raise ValueError(f"predict_proba returned shape {proba.shape}, expected "
                         f"({len(y)}, {len(classes)}) for classes {list(classes)}")
    column = {c.item() if isinstance(c, np.generic) else c: j for j, c in enumerate(classes)}
    try:
        idx = np.array([column[v.item() if isinstance(v, np.generic) else v] for v in y])
    except KeyError as exc:
        raise ValueError(f"label {exc.args[0]!r} is not one of the model's classes "
                         f"{list(classes)}") from None
    return proba[np.arange(len(y)), idx] if len(y) else np.zeros(0)


def _classes_of(predict_proba, y_members, y_nonmembers) -> list:
    owner = getattr(predict_proba, "__self__", None)
    classes = getattr(owner, "classes_", None)
    if classes is None:
        classes = np.unique(np.concatenate([np.asarray(y_members), np.asarray(y_nonmembers)]))
    return list(classes)


def _take(X, idx):
    return X.iloc[idx] if isinstance(X, (pd.DataFrame, pd.Series)) else np.asarray(X)[idx]


def _max_gap(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """``max_t TPR - FPR`` (member iff score >= t) and the threshold reaching it."""
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    gap = tpr - fpr
    best = int(np.argmax(gap))
    return max(float(gap[best]), 0.0), float(thresholds[best])


def membership_advantage(model_predict_proba: Callable[[Any], np.ndarray], X_members, y_members,
                         X_nonmembers, y_nonmembers, *, classes: Sequence | None = None,
                         score: str = "confidence", balance: bool = True, seed: int = 0,
                         n_permutations: int = 0) -> dict[str, float]:
    """The threshold membership-inference attack: advantage and AUC of the true-label confidence.

    Parameters
    ----------
    model_predict_proba : callable
        ``predict_proba(X)`` of the attacked model (e.g.
        ``tree.to_sklearn().predict_proba``).
    X_members, y_members
        Training records of the model.
    X_nonmembers, y_nonmembers
        Records of the same population it was not trained on.
    classes : sequence, optional
        The labels of ``predict_proba``'s columns; default the ``classes_`` of
        the method's owner, else the sorted labels seen.
    score : {"confidence", "loss"}
        Attack score: the true label's probability (member if high) or the
        log loss (member if low).  Both rank records the same way, so the
        advantage and AUC agree; only ``best_threshold``'s units differ.
    balance : bool
        Subsample the larger group (seeded) to the size of the smaller, so
        that guessing is right half the time.
    seed : int
        Seed of the subsample and of the permutations.
    n_permutations : int
        Shuffles of the member labels for ``chance_advantage`` (0: NaN).

    Returns
    -------
    dict
        ``advantage`` (max TPR - FPR, in [0, 1]), ``auc``, ``best_threshold``
        (member iff confidence >= it, or loss <= it), ``yeom_advantage``
        (threshold = mean member loss), ``chance_advantage``,
        ``n_members``, ``n_nonmembers``.
    """
    if score not in ("confidence", "loss"):
        raise ValueError(f"score must be 'confidence' or 'loss', got {score!r}")
    rng = np.random.default_rng(seed)
    n_m, n_n = len(y_members), len(y_nonmembers)
    if n_m == 0 or n_n == 0:
        raise ValueError("the attack needs at least one member and one non-member")
    if balance and n_m != n_n:
        n = min(n_m, n_n)
        if n_m > n:
            idx = np.sort(rng.choice(n_m, n, replace=False))
            X_members, y_members = _take(X_members, idx), np.asarray(y_members)[idx]
        else:
            idx = np.sort(rng.choice(n_n, n, replace=False))
            X_nonmembers, y_nonmembers = _take(X_nonmembers, idx), np.asarray(y_nonmembers)[idx]
    classes = list(classes) if classes is not None else _classes_of(model_predict_proba, y_members,
                                                                    y_nonmembers)
    conf_m = true_label_confidence(model_predict_proba, X_members, y_members, classes)
    conf_n = true_label_confidence(model_predict_proba, X_nonmembers, y_nonmembers, classes)
    labels = np.r_[np.ones(len(conf_m)), np.zeros(len(conf_n))].astype(int)
    conf = np.r_[conf_m, conf_n]
    loss = -np.log(np.maximum(conf, LOSS_FLOOR))
    scores = conf if score == "confidence" else -loss
    advantage, threshold = _max_gap(labels, scores)
    if score == "loss":
        threshold = -threshold
    auc = float(roc_auc_score(labels, scores))
    tau = float(loss[labels == 1].mean())  # Yeom et al.: the average training loss
    guess = loss <= tau + 1e-12
    yeom = float(guess[labels == 1].mean() - guess[labels == 0].mean())
    chance = math.nan
    if n_permutations > 0:
        chance = float(np.mean([_max_gap(rng.permutation(labels), scores)[0]
                                for _ in range(n_permutations)]))
    return {"advantage": advantage, "auc": auc, "best_threshold": threshold, "yeom_advantage": yeom,
            "chance_advantage": chance, "n_members": int(len(conf_m)),
            "n_nonmembers": int(len(conf_n))}


def dp_advantage_bound(epsilon) -> np.ndarray:
    r"""Largest membership advantage an :math:`\varepsilon`-DP model allows: :math:`\tanh(\varepsilon/2)`."""
    return np.tanh(np.asarray(epsilon, dtype=np.float64) / 2)


def advantage_vs_epsilon(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test,
                         epsilons: Sequence[float], seeds: Sequence[int], *, max_depth: int = 4,
                         deep_depth: int = 8, binning: Binning | None = None,
                         ranges: Mapping[str, tuple[float, float] | Codes] | None = None,
                         k_providers: int = 3, classes: Sequence | None = None,
                         modes: Sequence[str] = ("central",),
                         leaf_fraction: float = DEFAULT_LEAF_FRACTION,
                         n_permutations: int = 20) -> pd.DataFrame:
    """The attack against non-private and DP federated trees, at several epsilons and seeds.

    Members are the training records, non-members the held-out ones (the
    larger group subsampled per seed).  Models, all on the same public
    ``binning``:

    * ``non-private tree (depth {deep_depth})``: over-fits, so the attack works;
    * ``non-private tree (depth {max_depth})``: the course's depth;
    * ``DP federated tree ({mode}, depth {d})`` for ``d`` in both depths and
      every ``epsilon``: :func:`~encmed_lib.privacy.dp_federated_tree`.

    Parameters
    ----------
    X_train, y_train, X_test, y_test
    epsilons : sequence of float
    seeds : sequence of int
        Each fixes the subsample, the provider split and the noise.
    max_depth, deep_depth : int
    binning : Binning, optional
        Default: 8 equal-width bins over ``ranges``.
    ranges : mapping, optional
        Default :data:`~encmed_lib.federated.HEART_RANGES` or ``SYNTHEA_RANGES`` from the columns.
    k_providers : int
    classes : sequence, optional
        Public labels (default: those of ``y_train``).
    modes : sequence of {"central", "distributed"}
    leaf_fraction : float
    n_permutations : int
        For ``chance_advantage``.

    Returns
    -------
    pandas.DataFrame
        ``method``, ``epsilon`` (``inf`` for the non-private trees),
        ``seed``, ``depth``, ``advantage``, ``auc``, ``yeom_advantage``,
        ``chance_advantage``, ``train_accuracy``, ``test_accuracy``.
    """
    ranges = ranges if ranges is not None else default_ranges(X_train.columns)
    binning = binning if binning is not None else Binning.from_ranges(ranges, 8)
    X_train, X_test = X_train[binning.feature_names], X_test[binning.feature_names]
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = list(classes) if classes is not None else sorted(np.unique(y_train).tolist())
    depths = list(dict.fromkeys([deep_depth, max_depth]))
    rows = []

    def measure(method: str, eps: float, seed: int, depth: int, tree) -> None:
        model = tree.to_sklearn()
        result = membership_advantage(model.predict_proba, X_train, y_train, X_test, y_test,
                                      classes=classes, seed=int(seed), n_permutations=n_permutations)
        rows.append({"method": method, "epsilon": float(eps), "seed": int(seed), "depth": depth,
                     **{k: result[k] for k in ("advantage", "auc", "yeom_advantage",
                                               "chance_advantage")},
                     "train_accuracy": float(np.mean(model.predict(X_train) == y_train)),
                     "test_accuracy": float(np.mean(model.predict(X_test) == y_test))})

    for seed in seeds:
        providers = split_providers(X_train, y_train, k=k_providers, seed=int(seed))
        for depth in depths:
            trainer = FederatedTreeTrainer(depth, binning, PlainAggregator(), classes=classes)
            measure(f"non-private tree (depth {depth})", math.inf, seed, depth, trainer.fit(providers))
        for eps in epsilons:
            for mode in modes:
                for depth in depths:
                    method = f"DP federated tree ({mode}, depth {depth})"
                    tree, _ = dp_federated_tree(providers, eps, depth, binning, PlainAggregator(),
                                                rng=method_seed(seed, method, eps), mode=mode,
                                                classes=classes, leaf_fraction=leaf_fraction)
                    measure(method, eps, seed, depth, tree)
    return pd.DataFrame(rows, columns=["method", "epsilon", "seed", "depth", "advantage", "auc",
                                       "yeom_advantage", "chance_advantage", "train_accuracy",
                                       "test_accuracy"])


_DP_COLOURS = ("#4C72B0", "#55A868", "#8172B3", "#64B5CD")
_PLAIN_COLOURS = ("#C44E52", "#DD8452", "#937860")


def plot_advantage_vs_epsilon(df: pd.DataFrame, *, value: str = "advantage",
                              title: str = "Membership inference against the trees") -> Figure:
    r"""Attack advantage against epsilon: median and interquartile band per DP model.

    Non-private trees (``epsilon = inf``) are dashed horizontal lines, the
    :math:`\varepsilon`-DP bound :math:`\tanh(\varepsilon/2)` a dotted black
    curve, and the level reached by chance (shuffled membership, if
    measured) a grey band.

    Parameters
    ----------
    df : pandas.DataFrame
        :func:`advantage_vs_epsilon`'s output.
    value : str
        Column to draw (``"advantage"``, ``"auc"`` or ``"yeom_advantage"``).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.subplots()
    finite = df[np.isfinite(df["epsilon"])]
    top = band_lines(ax, median_bands(finite, value), lambda k, method: _DP_COLOURS[k % len(_DP_COLOURS)])
    for k, (method, part) in enumerate(df[~np.isfinite(df["epsilon"])].groupby("method", sort=False)):
        level = float(part[value].median())
        ax.axhline(level, color=_PLAIN_COLOURS[k % len(_PLAIN_COLOURS)], linestyle="--", linewidth=1.4,
                   label=f"{method} ({level:.2f})")
        top = max(top, level)
    if len(finite):
        grid = np.geomspace(finite["epsilon"].min(), finite["epsilon"].max(), 200)
        if value in ("advantage", "yeom_advantage"):
            ax.plot(grid, dp_advantage_bound(grid), color="black", linestyle=":", linewidth=1.2,
                    label=r"$\varepsilon$-DP bound $\tanh(\varepsilon/2)$")
        elif value == "auc":
            # AUC of the best test allowed by epsilon-DP is (1 + tanh(eps/2)) / 2 at most
            ax.plot(grid, (1 + dp_advantage_bound(grid)) / 2, color="black", linestyle=":",
                    linewidth=1.2, label=r"$\varepsilon$-DP bound")
        ax.set_xscale("log")
    if value == "advantage" and "chance_advantage" in df and df["chance_advantage"].notna().any():
        q1, q3 = df["chance_advantage"].quantile([0.25, 0.75])
        ax.axhspan(q1, q3, color="#7F7F7F", alpha=0.2, linewidth=0,
                   label="chance level (membership shuffled)")
        top = max(top, float(q3))
    low = 0.4 if value == "auc" else 0.0
    ax.set_ylim(low, min(1.0, max(top * 1.5, low + 0.1) + 0.02))
    ylabel = {"advantage": "attack advantage (max TPR - FPR)", "auc": "attack AUC",
              "yeom_advantage": "attack advantage (Yeom threshold)"}.get(value, value)
    epsilon_axes(ax, ylabel + f"\nmedian, IQR over {df['seed'].nunique()} seeds", title, "upper left")
    return fig


def forest_advantage_vs_epsilon(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test,
                                epsilons: Sequence[float], seeds: Sequence[int], *,
                                ranges: Mapping | None = None, classes: Sequence | None = None,
                                k_providers: int = 3, n_permutations: int = 0) -> pd.DataFrame:
    r"""Both membership attacks on the DP random-split forest, beside the bound :math:`\tanh(\varepsilon/2)`.

    For each seed and epsilon: a forest (:func:`~encmed_lib.privacy.dp_random_forest`,
    central noise, providers split by the seed) attacked through its
    ``predict_proba`` by :func:`membership_advantage`: ``advantage`` (the
    best threshold on the true-label confidence, chosen knowing the
    answers) and ``yeom_advantage`` (the loss-threshold attack of Yeom et
    al. 2018: member iff the loss is below the mean training loss).

    Returns
    -------
    pandas.DataFrame
        Columns ``epsilon, seed, advantage, yeom_advantage, chance_advantage, auc, bound``.
    """
    ranges = ranges if ranges is not None else default_ranges(X_train.columns)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = list(classes) if classes is not None else sorted(np.unique(y_train).tolist())
    rows = []
    for seed in seeds:
        providers = split_providers(X_train, y_train, k=k_providers, seed=int(seed))
        for eps in epsilons:
            forest = dp_random_forest(providers, eps, ranges, PlainAggregator(), classes=classes,
                                      rng=method_seed(seed, "forest", eps))
            res = membership_advantage(forest.predict_proba, X_train, y_train, X_test, y_test,
                                       classes=classes, seed=int(seed), n_permutations=n_permutations)
            rows.append({"epsilon": float(eps), "seed": int(seed), "advantage": res["advantage"],
                         "yeom_advantage": res["yeom_advantage"],
                         "chance_advantage": res["chance_advantage"], "auc": res["auc"],
                         "bound": float(dp_advantage_bound(eps))})
    return pd.DataFrame(rows, columns=["epsilon", "seed", "advantage", "yeom_advantage",
                                       "chance_advantage", "auc", "bound"])
