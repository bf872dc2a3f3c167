"""``python -m encmed_lib.privacy.benchmark``: the DP random-split forest beside diffprivlib.

For every seed, one stratified 70/30 split (``random_state=seed``) shared by
every method; the training part is split into 3 providers, and each method is
trained at every epsilon of :data:`EPSILONS` (:func:`accuracy_vs_epsilon`).
Printed: the median held-out accuracy and its interquartile range per data
set, method and epsilon, and the targets: on the bundled heart sample and on
breast cancer, the forest's median reaches the best of diffprivlib's tree and
forest at every epsilon; on the UCI Cleveland file, its median is at least
:data:`CLEVELAND_TARGET` (0.76 at epsilon 1; its gap line is printed too, for
information).

Data: the bundled heart sample (:func:`encmed_lib.load_heart`) and
scikit-learn's breast cancer (:data:`BREAST_CANCER_RANGES` as public bounds);
``--cleveland PATH`` adds a UCI ``processed.cleveland.data`` file (never needed
by a test).  ``--quick`` runs 3 seeds; ``--membership`` adds both membership
attacks on the forest (:mod:`encmed_lib.membership`: this module is on the
evaluation floor of ``docs/architecture.md``, above the attacks).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ArgumentError
from ..tree import split_data
from .experiments import (
    BREAST_CANCER_RANGES,
    METHODS,
    accuracy_vs_epsilon,
    load_breast_cancer_frame,
)

EPSILONS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
"""The epsilons of the benchmark table."""

DEFAULT_METHODS = ("forest", "diffprivlib tree", "diffprivlib forest", "non-private")

CLEVELAND = "UCI Cleveland"
CLEVELAND_TARGET = (1.0, 0.76)
"""``(epsilon, accuracy)``: the forest's median on the UCI Cleveland file must reach 0.76 at epsilon 1."""


def run(X: pd.DataFrame, y, seeds: Sequence[int], *, ranges=None, epsilons: Sequence[float] = EPSILONS,
        methods: Sequence[str] = DEFAULT_METHODS, name: str = "data") -> pd.DataFrame:
    """Accuracy rows (``data, method, epsilon, seed, accuracy``), one stratified split per seed.

    ``name`` fills the ``data`` column, so that frames of several data sets
    can be concatenated and still be told apart (:func:`targets_met`).
    """
    frames = []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = split_data(X, y, random_state=int(seed))
        frames.append(accuracy_vs_epsilon(X_tr, y_tr, X_te, y_te, list(epsilons), [int(seed)],
                                          ranges=ranges, classes=[0, 1], methods=list(methods)))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "data", name)
    return out


def one_data_set(df: pd.DataFrame, data: str | None = None) -> pd.DataFrame:
    """The rows of one data set: ``data`` by name, or the only one the frame holds.

    Raises
    ------
    ArgumentError
        If the frame holds several data sets and ``data`` is not given (their
        medians would be mixed), or ``data`` is not among them.
    """
    if "data" not in df.columns:
        if data is not None:
            raise ArgumentError(f"data: the frame has no 'data' column, cannot select {data!r}")
        return df
    names = list(pd.unique(df["data"]))
    if data is None:
        if len(names) > 1:
            raise ArgumentError(f"data: the frame holds {len(names)} data sets {names}; name one")
        return df
    if data not in names:
        raise ArgumentError(f"data: expected one of {names}, got {data!r}")
    return df[df["data"] == data]


def summarise(df: pd.DataFrame, data: str | None = None) -> pd.DataFrame:
    """``median (q1-q3)`` per method (rows) and epsilon (columns), of one data set (:func:`one_data_set`)."""
    g = one_data_set(df, data).groupby(["method", "epsilon"])["accuracy"]
    stats = pd.DataFrame({"median": g.median(), "q1": g.quantile(0.25), "q3": g.quantile(0.75)})
    cells = stats.apply(lambda r: f"{r['median']:.3f} ({r['q1']:.3f}-{r['q3']:.3f})", axis=1)
    table = cells.unstack("epsilon")
    table.columns = ["non-private" if not np.isfinite(c) else f"eps {c:g}" for c in table.columns]
    return table


def targets_met(df: pd.DataFrame, data: str | None = None) -> pd.Series:
    """Per epsilon: the forest's median minus the best diffprivlib median (>= 0: target met).

    Of one data set (:func:`one_data_set`): a frame of several data sets needs ``data``.
    """
    df = one_data_set(df, data)
    med = df[np.isfinite(df["epsilon"])].groupby(["method", "epsilon"])["accuracy"].median().unstack()
    needed = [METHODS["forest"], METHODS["diffprivlib tree"], METHODS["diffprivlib forest"]]
    missing = [m for m in needed if m not in med.index]
    if missing:
        raise ArgumentError(f"df: no rows of {missing} (run the forest and both diffprivlib methods)")
    best = med.loc[needed[1:]].max()
    return (med.loc[needed[0]] - best).rename("forest - best diffprivlib")


def forest_median(df: pd.DataFrame, epsilon: float, data: str | None = None) -> float:
    """The forest's median held-out accuracy at ``epsilon``, of one data set (:func:`one_data_set`)."""
    df = one_data_set(df, data)
    rows = df[(df["method"] == METHODS["forest"]) & np.isclose(df["epsilon"], epsilon)]
    if rows.empty:
        raise ArgumentError(f"epsilon: no forest rows at {epsilon:g}")
    return float(rows["accuracy"].median())


def missed_targets(df: pd.DataFrame, name: str) -> list[str]:
    """The targets of data set ``name`` that the frame misses (empty: every target met).

    UCI Cleveland: the median at :data:`CLEVELAND_TARGET`; any other data set:
    the forest at or above the best diffprivlib median at every epsilon (:func:`targets_met`).
    """
    if name == CLEVELAND:
        eps, level = CLEVELAND_TARGET
        median = forest_median(df, eps, name)
        return [] if median >= level else [f"{name} at eps {eps:g}: {median:.3f} < {level}"]
    return [f"{name} at eps {e:g}" for e, v in targets_met(df, name).items() if v < 0]


def gap_line(gap: pd.Series, name: str) -> str:
    """The printed gap line of one data set, named so that it cannot be read as another's."""
    return f"{name}: forest - best diffprivlib: " + ", ".join(f"eps {e:g}: {v:+.3f}" for e, v in gap.items())


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    import warnings

    from ..data.heart import load_heart

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds instead of 20")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 20)")
    parser.add_argument("--cleveland", default=None, help="a UCI processed.cleveland.data file")
    parser.add_argument("--distributed", action="store_true", help="also the distributed forest")
    parser.add_argument("--membership", action="store_true",
                        help="also both membership attacks on the forest (bundled heart sample)")
    args = parser.parse_args(argv)
    n = args.seeds or (3 if args.quick else 20)
    methods = DEFAULT_METHODS + (("forest distributed",) if args.distributed else ())
    data = {"bundled heart sample": (*load_heart(), None),
            "breast cancer (scikit-learn)": (*load_breast_cancer_frame(), BREAST_CANCER_RANGES)}
    if args.cleveland:
        data[CLEVELAND] = (*load_heart(args.cleveland), None)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    missed, frames = [], []
    for name, (X, y, ranges) in data.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frames.append(run(X, y, range(n), ranges=ranges, methods=methods, name=name))
        df = pd.concat(frames, ignore_index=True)
        print(f"\n== {name}: {len(X)} records, {n} seeds, median (IQR) held-out accuracy")
        print(summarise(df, name).to_string())
        print(gap_line(targets_met(df, name), name))
        if name == CLEVELAND:
            eps, level = CLEVELAND_TARGET
            print(f"{name}: target: forest median >= {level} at eps {eps:g} "
                  f"(the gap line above is for information): {forest_median(df, eps, name):.3f}")
        missed += missed_targets(df, name)
    print("\nevery target met" if not missed else "\ntargets NOT met: " + "; ".join(missed))
    if args.membership:
        print_membership(*load_heart(), range(min(n, 10)))
    return 0


def print_membership(X: pd.DataFrame, y, seeds: Sequence[int]) -> None:
    """Median advantage of both attacks on the forest per epsilon, beside ``tanh(eps/2)``."""
    from ..membership import forest_advantage_vs_epsilon

    X_tr, X_te, y_tr, y_te = split_data(X, y, random_state=0)
    adv = forest_advantage_vs_epsilon(X_tr, y_tr, X_te, y_te, EPSILONS, seeds, classes=[0, 1],
                                      n_permutations=20)
    cols = ["advantage", "yeom_advantage", "chance_advantage", "bound"]
    print(f"\n== membership inference on the forest (bundled heart sample, {len(list(seeds))} seeds)")
    print(adv.groupby("epsilon")[cols].median().round(3).to_string())


if __name__ == "__main__":
    raise SystemExit(main())
