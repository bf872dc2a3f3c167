"""Adversarial review of the DP forest: attacks on the release, and input validation.

Each test is an attack or a bad input found in review: it failed before its fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from encmed_lib.errors import ArgumentError, PartyConfigError
from encmed_lib.federated import (
    EVERYONE,
    HEART_RANGES,
    PlainAggregator,
    SecretSharingAggregator,
    Transcript,
    split_providers,
)
from encmed_lib.federated.trainer import Provider
from encmed_lib.privacy import SeededSampler, dp_random_forest, mpc_forest, random_split_tree
from encmed_lib.privacy.forest import leaf_table, release_members
from encmed_lib.privacy.mpc_forest import ForestSpec

CLASSES = [0, 1]


def _published_sum(forest, prime: int) -> np.ndarray:
    """What any reader of the transcript computes: the sum of the partial sums published to everyone."""
    parts = [m.payload for m in forest.transcript if m.kind == "partial-sum" and m.receiver == EVERYONE]
    assert len(parts) == 3
    summed = [sum(int(v) for v in col) % prime for col in zip(*parts, strict=True)]
    return np.array([v - prime if v > prime // 2 else v for v in summed], dtype=np.int64)


def _exact(heart_providers, forest) -> np.ndarray:
    return sum(leaf_table(p._X, p._y, forest.trees, CLASSES, forest.meta["statistic"])  # noqa: SLF001
               for p in heart_providers)


@pytest.mark.parametrize("epsilon", [0.1, 1.0])
def test_central_secret_sharing_publishes_only_the_noisy_total(heart_providers, epsilon):
    """Attack: add up the partial sums published to everyone; central mode used to give the exact table."""
    agg = SecretSharingAggregator()
    forest = dp_random_forest(heart_providers, epsilon, HEART_RANGES, agg, classes=CLASSES, mode="central",
                              rng=4, sampler=SeededSampler(9))
    published = _published_sum(forest, agg.prime)
    exact = _exact(heart_providers, forest)
    assert not np.array_equal(published, exact)
    noise = SeededSampler(9)(exact.shape, epsilon, forest.meta["n_trees"])
    assert np.array_equal(published, exact + noise)  # exactly the accounted discrete Laplace draw
    assert len(forest.accountant.ledger) == 1 and forest.accountant.spent == epsilon


# ------------------------------------------------------------------ input validation
@pytest.mark.parametrize("epsilon", [float("inf"), 1e400, float("nan"), 0.0, -1.0, "1", True])
def test_forest_refuses_a_budget_that_is_not_a_finite_positive_number(heart_providers, epsilon):
    """An infinite epsilon used to reach the noise (scale T/eps = 0) and fail with ZeroDivisionError."""
    transcript = Transcript()
    with pytest.raises(ArgumentError, match="epsilon: expected a finite number > 0"):
        dp_random_forest(heart_providers, epsilon, HEART_RANGES, PlainAggregator(), classes=CLASSES, rng=0,
                         transcript=transcript)
    assert len(transcript) == 0  # refused before any message


@pytest.mark.parametrize("features", [[], ["age", "weight"], ["age", "age"], [1, 2], {"age", "sex"}, 5,
                                      np.array([["age", "sex"]]), "codes"])
def test_forest_refuses_bad_split_features_before_any_message(heart_providers, features):
    transcript = Transcript()
    with pytest.raises(ArgumentError, match="features"):
        dp_random_forest(heart_providers, 0.1, HEART_RANGES, PlainAggregator(), classes=CLASSES, rng=0,
                         features=features, transcript=transcript)
    assert len(transcript) == 0
    with pytest.raises(ArgumentError, match="features"):
        random_split_tree(HEART_RANGES, 2, CLASSES, rng=0, features=features)


@pytest.mark.parametrize("field, value", [("n_trees", 2.5), ("n_trees", "5"), ("max_depth", 1.5),
                                          ("n_trees", True)])
def test_forest_refuses_a_non_integer_size_before_any_message(heart_providers, field, value):
    """``n_trees=2.5`` used to train 2 trees silently."""
    transcript = Transcript()
    with pytest.raises(ArgumentError, match=field):
        dp_random_forest(heart_providers, 1.0, HEART_RANGES, PlainAggregator(), classes=CLASSES, rng=0,
                         transcript=transcript, **{field: value})
    assert len(transcript) == 0


def test_distributed_mode_refuses_a_sampler_it_would_ignore(heart_providers):
    """The Polya shares come from ``rng``: a sampler (OpenDP, or zeros) used to be ignored silently."""
    zero = lambda shape, epsilon, sensitivity: np.zeros(shape, dtype=np.int64)  # noqa: E731
    with pytest.raises(ArgumentError, match="sampler"):
        dp_random_forest(heart_providers, 1.0, HEART_RANGES, PlainAggregator(), classes=CLASSES,
                         mode="distributed", n_trees=3, max_depth=2, rng=0, sampler=zero)


def test_split_features_may_be_an_array_of_names_and_meta_holds_plain_strings(heart_providers):
    forest = dp_random_forest(heart_providers, 0.1, HEART_RANGES, PlainAggregator(), classes=CLASSES, rng=0,
                              features=np.array(["sex", "cp", "fbs", "exang"]))
    assert forest.meta["split_features"] == ["sex", "cp", "fbs", "exang"]
    assert all(type(n) is str for n in forest.meta["split_features"])
    assert {n.feature for t in forest.trees for n in t.internal_nodes()} <= {"sex", "cp", "fbs", "exang"}


@pytest.mark.parametrize("field, value", [("epsilon", float("inf")), ("epsilon", float("nan")),
                                          ("epsilon", 0.0), ("trees", 2.5), ("depth", 1.5),
                                          ("structure_seed", "0"), ("mode", "curator"), ("split", "codes")])
def test_forest_spec_names_the_bad_field(field, value):
    args = {"epsilon": 1.0, "n_trees": 3, "depth": 2, "statistic": "margin"}
    args[{"trees": "n_trees"}.get(field, field)] = value
    with pytest.raises(PartyConfigError, match=field):
        ForestSpec(**args)
    if field == "epsilon":
        with pytest.raises(PartyConfigError, match="epsilon"):
            ForestSpec.auto(value, ranges=HEART_RANGES)


CLI_BAD = [(["--epsilon", e], "epsilon") for e in ("inf", "1e400", "nan", "0", "-1")]
CLI_BAD.append((["--parties", "2"], "3 parties"))


@pytest.mark.parametrize("argv, message", CLI_BAD)
def test_the_cli_fails_fast_without_starting_or_writing_anything(tmp_path, capsys, argv, message):
    """``--epsilon inf`` used to start 3 processes that opened the exact table; ``--parties 2`` wrote files.

    (Each case is refused before any process starts: none of them waits for a peer.)
    """
    out = tmp_path / "run"
    args = ["--parties", "3", *argv, "--out", str(out)]
    assert mpc_forest.main(args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


# ------------------------------------------------------------------ neighbours, both noise modes
def _neighbours(heart_split):
    X_tr, _, y_tr, _ = heart_split
    base = split_providers(X_tr.iloc[1:], y_tr.iloc[1:], k=3, seed=0)
    extra = Provider(base[0].name, pd.concat([base[0]._X, X_tr.iloc[[0]]]),  # noqa: SLF001
                     np.r_[base[0]._y, y_tr.iloc[[0]]])  # noqa: SLF001
    return base, [extra, *base[1:]]


@pytest.mark.parametrize("mode", ["central", "distributed"])
@pytest.mark.parametrize("epsilon", [0.1, 1.0])
def test_neighbours_published_sums_differ_by_t_and_members_are_post_processing(heart_split, mode, epsilon):
    """Same seeds, one record added: what a reader adds up moves by exactly T; the rest is identical."""
    agg = SecretSharingAggregator()
    runs = [dp_random_forest(d, epsilon, HEART_RANGES, agg, classes=CLASSES, mode=mode, rng=8,
                             sampler=SeededSampler(2) if mode == "central" else None)  # distributed: rng=8
            for d in _neighbours(heart_split)]
    T, statistic = runs[0].meta["n_trees"], runs[0].meta["statistic"]
    assert (T, statistic) == ((5, "margin") if epsilon < 0.3 else (20, "counts"))
    published = [_published_sum(r, agg.prime) for r in runs]
    assert int(np.abs(published[0] - published[1]).sum()) == T
    assert runs[0].meta == runs[1].meta
    for r, total in zip(runs, published, strict=True):
        released = np.maximum(total, 0) if statistic == "counts" else total  # the hook's clipping
        again = release_members(r.trees, released, statistic, T / epsilon)
        assert [t.to_dict() for t in again] == [t.to_dict() for t in r.trees]  # n_samples, value included
        assert [m.kind for m in r.transcript] == [m.kind for m in runs[0].transcript]


def test_mpc_central_neighbours_at_a_small_budget_open_totals_apart_by_t(tmp_path):
    """MPyC, curator mode, the categorical schedule: the opened vectors move by T; peers' logs match."""
    from encmed_lib.federated.run import demo_providers

    auto = ForestSpec.auto(0.1, ranges=HEART_RANGES)
    spec = ForestSpec(auto.epsilon, auto.n_trees, auto.depth, auto.statistic, 3, "auto", "central")
    providers = demo_providers("heart", 3)
    smaller = Provider(providers[1].name, providers[1]._X.iloc[1:], providers[1]._y[1:])  # noqa: SLF001
    runs = [mpc_forest.launch_forest(spec, 3, "heart", folder=tmp_path / str(k), noise_seed=5, timeout=300.0,
                                     step_timeout=40.0, providers=ps)
            for k, ps in enumerate((providers, [providers[0], smaller, providers[2]]))]
    a, b = (np.array(r.opened(0)) for r in runs)
    assert a.shape == (5 * 8,) and int(np.abs(a - b).sum()) == spec.n_trees == 5
    for i in (0, 2):  # the parties whose data are the same
        logs = [[{k: v for k, v in e.items() if k not in ("t", "share", "values", "tree", "bytes_sent",
                                                         "bytes_received", "data", "parties")}
                 for e in r.log(i)] for r in runs]
        assert logs[0] == logs[1]
    metas = [{k: v for k, v in r.forests[1].meta.items() if k != "opened"} for r in runs]
    assert metas[0] == metas[1] and metas[0]["split_features"] == auto.split_features(HEART_RANGES)
