r"""Synthetic tuning samples: where the forest's hyper-parameters are chosen, never on scored data.

:func:`wide_sample` stands in for a wide table of skewed measurements (breast
cancer's 30 features); :func:`tune_schedule` scores candidate
``(n_trees, max_depth)`` pairs on it (or on any sample) over stratified splits.
The heart schedule was chosen the same way on ``make_heart_sample(600, seed=7)``.
:func:`heart_tuning_sample` draws heart samples with other seeds than the
bundled one, and :func:`compare_split_features` measures, on them, the
small-budget rule of :func:`~encmed_lib.privacy.schedule.split_features`
(``python -m encmed_lib.privacy.tuning`` prints it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..data.heart import FEATURES
from ..data.samples import HEART_SEED, make_heart_sample
from ..errors import ArgumentError
from ..federated.aggregation import PlainAggregator
from ..federated.ranges import HEART_RANGES
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
    for seed, providers, X_te, y_te in _provider_splits(X, pd.Series(np.asarray(y)), seeds):
        for eps in epsilons:
            for cfg in candidates:
                T, d = cfg if cfg is not None else (None, None)
                forest = dp_random_forest(providers, eps, ranges, PlainAggregator(), classes=[0, 1],
                                          n_trees=T, max_depth=d, statistic=statistic, scale=scale,
                                          features=features,
                                          rng=np.random.SeedSequence([int(seed), T or 0, d or 0,
                                                                      int(eps * 1000)]))
                rows.append({"candidate": str(cfg or "schedule"), "epsilon": float(eps),
                             "accuracy": _accuracy(forest, X_te, y_te)})
    return pd.DataFrame(rows).groupby(["candidate", "epsilon"])["accuracy"].median().unstack()


SPLIT_SAMPLES = range(17, 57)
"""Heart tuning seeds of the small-budget rule's confirmation (seeds 7-16 were used to explore it)."""

TUNING_STREAM = 90210
"""Tag of the tuning runs' random streams, apart from the benchmark's (``method_seed``)."""


def heart_tuning_sample(seed: int, n: int = 600) -> tuple[pd.DataFrame, pd.Series]:
    """A synthetic heart sample drawn with ``seed``, rows with a missing value dropped, as ``(X, y)``.

    Raises
    ------
    ArgumentError
        For the bundled sample's seed (:data:`~encmed_lib.data.samples.HEART_SEED`):
        it is scored, never tuned on.
    """
    if int(seed) == HEART_SEED:
        raise ArgumentError(f"seed: {seed} draws the bundled (scored) sample; tune on another seed")
    table = make_heart_sample(n, int(seed))
    keep = ~np.isnan(table).any(axis=1)
    X = pd.DataFrame(table[keep, :13], columns=list(FEATURES))
    return X, pd.Series((table[keep, 13] > 0).astype(np.int64), name="target")


def _provider_splits(X: pd.DataFrame, y: pd.Series, splits: Sequence[int]):
    """``(split, providers, X_test, y_test)`` per stratified 70/30 split (three providers, seeded by it)."""
    for k in splits:
        X_tr, X_te, y_tr, y_te = split_data(X, y, random_state=int(k))
        yield int(k), split_providers(X_tr, np.asarray(y_tr), k=3, seed=int(k)), X_te, y_te


def _heart_splits(samples: Sequence[int], splits: Sequence[int], n: int = 600):
    """``(sample, split, providers, X_test, y_test)`` per heart tuning sample and :func:`_provider_splits`."""
    for sample in samples:
        for k, providers, X_te, y_te in _provider_splits(*heart_tuning_sample(sample, n), splits):
            yield int(sample), k, providers, X_te, y_te


def _accuracy(forest, X_te, y_te) -> float:
    return float(np.mean(forest.predict(X_te) == np.asarray(y_te)))


def compare_split_features(epsilons: Sequence[float], samples: Sequence[int] = SPLIT_SAMPLES,
                           splits: Sequence[int] = range(12)) -> pd.DataFrame:
    """Held-out accuracy of the forest split on the categorical features only, and on every feature.

    For every heart tuning sample (:func:`heart_tuning_sample`), stratified
    70/30 split (``random_state``), three providers and epsilon: the forest
    with ``features`` the public codes of :data:`~encmed_lib.federated.HEART_RANGES`
    and with every feature, each with :func:`~encmed_lib.privacy.forest_schedule`
    of its number of features, central noise from a stream of its own
    (:data:`TUNING_STREAM`).  Rows: ``sample, split, epsilon, features, accuracy``.
    """
    codes = [n for n, r in HEART_RANGES.items() if isinstance(r, Codes)]
    rows = []
    for sample, k, providers, X_te, y_te in _heart_splits(samples, splits):
        for eps in epsilons:
            for name, features in (("categorical", codes), ("all", None)):
                rng = np.random.SeedSequence([TUNING_STREAM, sample, k, int(round(eps * 1000)),
                                              len(features or HEART_RANGES)])
                forest = dp_random_forest(providers, eps, HEART_RANGES, PlainAggregator(), classes=[0, 1],
                                          features=features, rng=rng)
                rows.append({"sample": sample, "split": k, "epsilon": float(eps), "features": name,
                             "accuracy": _accuracy(forest, X_te, y_te)})
    return pd.DataFrame(rows)


def compare_tree_counts(epsilons: Sequence[float], counts: Sequence[int] = (10, 20), *, n: int = 600,
                        samples: Sequence[int] = SPLIT_SAMPLES, splits: Sequence[int] = range(6)
                        ) -> pd.DataFrame:
    """Held-out accuracy of the forest with each number of trees in ``counts`` (depth of the schedule).

    The same protocol as :func:`compare_split_features`, on heart tuning
    samples of ``n`` records, every feature a split candidate, depth
    :func:`~encmed_lib.privacy.forest_schedule`'s; a stream of its own per
    count.  Rows: ``sample, split, epsilon, n_trees, accuracy``.
    """
    rows = []
    for sample, k, providers, X_te, y_te in _heart_splits(samples, splits, n):
        for eps in epsilons:
            for T in counts:
                rng = np.random.SeedSequence([TUNING_STREAM, 1, int(n), sample, k, int(round(eps * 1000)),
                                              int(T)])
                forest = dp_random_forest(providers, eps, HEART_RANGES, PlainAggregator(), classes=[0, 1],
                                          features=None, n_trees=int(T), rng=rng)
                rows.append({"sample": sample, "split": k, "epsilon": float(eps), "n_trees": int(T),
                             "accuracy": _accuracy(forest, X_te, y_te)})
    return pd.DataFrame(rows)


def paired_gain(df: pd.DataFrame, column: str = "features", variant="categorical",
                reference="all") -> pd.DataFrame:
    """Per epsilon: both variants' mean accuracy, ``variant``'s mean paired gain on ``reference``, SE."""
    wide = df.pivot_table(index=["epsilon", "sample", "split"], columns=column, values="accuracy")
    gain = (wide[variant] - wide[reference]).groupby(level="epsilon")
    return pd.DataFrame({str(variant): wide[variant].groupby(level="epsilon").mean(),
                         str(reference): wide[reference].groupby(level="epsilon").mean(), "gain": gain.mean(),
                         "se": gain.std(ddof=1) / np.sqrt(gain.size()), "runs": gain.size()})


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m encmed_lib.privacy.tuning [--quick]``: the heart schedule's choices, on tuning samples."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="4 samples x 3 splits instead of 40 x 12 (x 6)")
    args = parser.parse_args(argv)
    samples = SPLIT_SAMPLES[:4] if args.quick else SPLIT_SAMPLES
    splits, few = (range(3), range(3)) if args.quick else (range(12), range(6))
    table = paired_gain(compare_split_features((0.1, 0.2, 0.5), samples, splits))
    print(f"heart tuning samples {samples.start}-{samples.stop - 1}, {len(splits)} splits each: "
          "forest split on the 8 codes against every feature (mean held-out accuracy, paired gain)")
    print(table.round(4).to_string())
    for n in (600, 300):
        df = compare_tree_counts((0.3, 0.5, 1.0), (10, 20), n=n, samples=samples, splits=few)
        print(f"\n{n}-record heart tuning samples {samples.start}-{samples.stop - 1}, {len(few)} splits "
              "each: 10 trees against 20 (depth 4, every feature)")
        print(paired_gain(df, "n_trees", 10, 20).round(4).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
