"""The accuracy of every model of the course and the training cost of each federated back-end.

Both are tables of :func:`~encmed_lib.evaluation.cost.cost_report` (``"accuracy"`` and
``"federated"``), measured on the same seeded held-out split as the cost.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

__all__ = ["federated_cost", "accuracy_table", "dp_accuracy"]


def federated_cost(X_train, y_train, depth: int, key_bits: int, unpacked: bool, seed: int,
                    dp_epsilon: float = 10.0):
    from ..federated import (
        HEART_RANGES,
        Binning,
        PaillierAggregator,
        PlainAggregator,
        SecretSharingAggregator,
        Transcript,
        split_providers,
    )
    from ..federated.report import compare_backends
    from ..privacy import dp_federated_tree

    providers = split_providers(X_train, y_train, k=3, sizes=(0.5, 0.3, 0.2), seed=seed)
    binning = Binning.from_ranges(HEART_RANGES, n_bins=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paillier = PaillierAggregator(key_bits=key_bits)
    backends = {"plain": PlainAggregator(), "secret sharing": SecretSharingAggregator(),
                f"paillier {key_bits}": paillier}
    if unpacked:
        backends[f"paillier {key_bits}, unpacked"] = PaillierAggregator(keypair=paillier.keypair, pack=False)
    costs, trainers = compare_backends(providers, binning, depth, backends, return_trainers=True)
    fed_tree = next(iter(trainers.values())).tree_
    rows = costs.reset_index().to_dict(orient="records")
    names = [p.name for p in providers]
    for mode in ("central", "distributed"):
        transcript = Transcript()
        start = time.perf_counter()
        tree, _ = dp_federated_tree(providers, dp_epsilon, depth, binning, SecretSharingAggregator(),
                                    rng=seed, mode=mode, classes=sorted(np.unique(y_train).tolist()),
                                    transcript=transcript)
        seconds = time.perf_counter() - start
        rows.append({"backend": f"secret sharing + DP ({mode}, epsilon {dp_epsilon:g})", "seconds": seconds,
                     "messages": len(transcript), "bytes": transcript.total_bytes,
                     "bytes per provider": max(sum(m.size for m in transcript.sent_by(n)) for n in names),
                     "rounds": len({m.round for m in transcript if m.round}), "nodes": len(tree.nodes),
                     "same tree": None})  # a noisy tree: not expected to be the same
    df = pd.DataFrame(rows)
    df.attrs.update(depth=depth, providers=len(providers), bins=16)
    return df, fed_tree


def accuracy_table(trees, depths, served_by: dict, logistic, mlp, fed_tree, fed_depth, X_train, y_train,
                   X_test, y_test, dp_epsilons, dp_seeds) -> pd.DataFrame:
    """Held-out accuracy of every model; ``served_by`` maps a depth, ``"linear"`` and ``"mlp"`` to the
    modes that serve that model (as one string)."""
    y = np.asarray(y_test)
    rows = []
    for d in depths:
        rows.append({"model": f"decision tree, max_depth {d}", "served by": served_by.get(d, "-"),
                     "accuracy": float(np.mean(trees[d].predict(X_test) == y)), "note": "seed 0"})
    rows.append({"model": "logistic regression (standardised)", "served by": served_by.get("linear", "-"),
                 "accuracy": float(np.mean(logistic.predict(X_test) == y)), "note": "seed 0"})
    if mlp is not None:
        rows.append({"model": "square-activation network (8 hidden)", "served by": served_by.get("mlp", "-"),
                     "accuracy": float(np.mean(mlp.predict(X_test) == y)), "note": "seed 0"})
    rows.append({"model": f"federated tree, depth {fed_depth} (16 public bins)",
                 "served by": "basic, label-only (trained by any back-end)",
                 "accuracy": float(np.mean(fed_tree.to_sklearn().predict(X_test) == y)),
                 "note": "3 providers; every back-end gives this tree"})
    if len(dp_epsilons) and len(dp_seeds):
        dp = dp_accuracy(X_train, y_train, X_test, y, dp_epsilons, dp_seeds, fed_depth)
        for (method, eps), part in dp.groupby(["method", "epsilon"], sort=True):
            rows.append({"model": f"{method}, depth {fed_depth}, epsilon {eps:g}",
                         "served by": "basic, label-only", "accuracy": float(part["accuracy"].median()),
                         "note": f"median over {part['seed'].nunique()} seeds (8 public bins)"})
    rows.append({"model": "majority class", "served by": "-",
                 "accuracy": float(pd.Series(y).value_counts(normalize=True).iloc[0]), "note": "baseline"})
    return pd.DataFrame(rows)


def dp_accuracy(X_train, y_train, X_test, y_test, epsilons, seeds, depth: int) -> pd.DataFrame:
    """Held-out accuracy of DP federated trees, as :func:`encmed_lib.privacy.accuracy_vs_epsilon` draws them.

    The same providers, binning (8 equal-width bins on the public ranges) and
    noise seeds as the DP notebook's ``"central"`` and ``"distributed"``
    methods, without importing diffprivlib (not needed for these two).
    """
    from ..federated import HEART_RANGES, Binning, PlainAggregator, split_providers
    from ..privacy import METHODS, dp_federated_tree
    from ..privacy import method_seed as _seed

    binning = Binning.from_ranges(HEART_RANGES, 8)
    columns = binning.feature_names
    classes = sorted(np.unique(np.asarray(y_train)).tolist())
    rows = []
    for seed in seeds:
        providers = split_providers(X_train[columns], np.asarray(y_train), k=3, seed=int(seed))
        for eps in epsilons:
            for mode in ("central", "distributed"):
                tree, _ = dp_federated_tree(providers, eps, depth, binning, PlainAggregator(),
                                            rng=_seed(seed, mode, eps), mode=mode, classes=classes)
                pred = tree.to_sklearn().predict(X_test[columns])
                rows.append({"method": METHODS[mode], "epsilon": float(eps), "seed": int(seed),
                             "accuracy": float(np.mean(pred == np.asarray(y_test)))})
    return pd.DataFrame(rows, columns=["method", "epsilon", "seed", "accuracy"])
