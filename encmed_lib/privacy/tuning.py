r"""Synthetic tuning samples: where the forest's hyper-parameters are chosen, never on scored data.

:func:`wide_sample` stands in for a wide table of skewed measurements (breast
cancer's 30 features); :func:`tune_schedule` scores candidate
``(n_trees, max_depth)`` pairs on it (or on any sample) over stratified splits.
The heart schedule was chosen the same way on ``make_heart_sample(600, seed=7)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..federated.aggregation import PlainAggregator
from ..federated.trainer import Codes, split_providers
from ..tree import split_data
from .forest import dp_random_forest


def wide_sample(n: int = 569, n_features: int = 30, seed: int = 11
                ) -> tuple[pd.DataFrame, pd.Series, dict[str, tuple[float, float]]]:
    r"""A synthetic two-class sample of many skewed measurements, and its public ranges.

    The tuning sample of the wide schedule (:func:`forest_schedule`), never a
    scored one.  Class 1 with probability 0.63; three equal groups of
    features, each driven by a latent factor (correlation 0.8 inside a group),
    log-normal with a random centre and spread :math:`s_f`, the classes apart by
    :math:`2.5\, s_f`, :math:`1.0\, s_f` and :math:`0.2\, s_f` in the log (strong,
    moderate and weak groups).  The ranges are the sample's minimum and maximum
    rounded outwards to two significant digits (as
    :data:`~encmed_lib.privacy.experiments.BREAST_CANCER_RANGES` are built from
    published minima and maxima).
    """
    gen = np.random.default_rng(seed)
    y = (gen.random(n) < 0.63).astype(np.int64)
    sign = np.where(y == 1, -0.5, 0.5)
    g = n_features // 3
    effects = np.r_[np.full(g, 2.5), np.full(g, 1.0), np.full(n_features - 2 * g, 0.2)]
    latent = gen.normal(size=(n, 3))
    columns = {}
    for f in range(n_features):
        e = 0.8 * latent[:, min(f // g, 2)] + 0.6 * gen.normal(size=n)
        centre, spread = gen.uniform(-3, 6), gen.uniform(0.15, 0.6)
        columns[f"x{f}"] = np.round(np.exp(centre + spread * (e + effects[f] * sign)), 4)
    X = pd.DataFrame(columns)
    ranges = {c: (_round_out(X[c].min(), False), _round_out(X[c].max(), True)) for c in X}
    return X, pd.Series(y, name="target"), ranges


def _round_out(v: float, up: bool) -> float:
    if v == 0:
        return 0.0
    e = math.floor(math.log10(abs(v))) - 1
    return float((math.ceil if up else math.floor)(v / 10 ** e) * 10 ** e)


def tune_schedule(X: pd.DataFrame, y, ranges: Mapping[str, tuple[float, float] | Codes],
                  epsilons: Sequence[float], candidates: Sequence[tuple[int, int] | None],
                  seeds: Sequence[int] = range(20), *, statistic: str = "auto",
                  scale: str = "auto", features: Sequence[str] | str | None = "auto") -> pd.DataFrame:
    """Median held-out accuracy of the forest per candidate ``(n_trees, max_depth)`` and epsilon.

    ``None`` as a candidate means the forest's own schedule
    (:func:`~encmed_lib.privacy.forest_schedule` of the split features).
    ``features`` is passed to :func:`~encmed_lib.privacy.dp_random_forest`.
    One stratified 70/30 split per seed, three providers, central noise
    (seeded by the seed and epsilon).  Use it on a tuning sample only.
    """
    rows = []
    y = np.asarray(y)
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = split_data(X, pd.Series(y), random_state=int(seed))
        providers = split_providers(X_tr, np.asarray(y_tr), k=3, seed=int(seed))
        for eps in epsilons:
            for cfg in candidates:
                T, d = cfg if cfg is not None else (None, None)
                forest = dp_random_forest(providers, eps, ranges, PlainAggregator(), classes=[0, 1],
                                          n_trees=T, max_depth=d, statistic=statistic, scale=scale,
                                          features=features,
                                          rng=np.random.SeedSequence([int(seed), T or 0, d or 0,
                                                                      int(eps * 1000)]))
                rows.append({"candidate": str(cfg or "schedule"), "epsilon": float(eps),
                             "accuracy": float(np.mean(forest.predict(X_te) == np.asarray(y_te)))})
    return pd.DataFrame(rows).groupby(["candidate", "epsilon"])["accuracy"].median().unstack()
