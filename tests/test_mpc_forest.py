"""The DP forest over MPyC processes on loopback (encmed_lib.privacy.mpc_forest): small and fast."""

from __future__ import annotations

import json

import mpyc  # noqa: F401  (pinned in requirements.txt: the run needs it)
import numpy as np
import pytest

from encmed_lib.errors import PartyConfigError
from encmed_lib.federated import HEART_RANGES
from encmed_lib.federated.run import demo_providers
from encmed_lib.federated.trainer import Codes, Provider
from encmed_lib.privacy import distributed_discrete_laplace_shares, insider_epsilon
from encmed_lib.privacy.forest import leaf_table, release_members
from encmed_lib.privacy.mpc_forest import ForestSpec, launch_forest, party_noise_rng

CLASSES = [0, 1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    spec = ForestSpec(0.5, 4, 2, "margin", structure_seed=3)
    return spec, launch_forest(spec, 3, "heart", folder=tmp_path_factory.mktemp("forest"), noise_seed=5,
                               timeout=300.0, step_timeout=40.0)


def test_the_opened_total_is_the_exact_sum_plus_every_party_noise_share(run):
    spec, result = run
    trees = spec.trees(HEART_RANGES, CLASSES)
    exact = sum(leaf_table(p._X, p._y, trees, CLASSES, "margin")  # noqa: SLF001
                for p in demo_providers("heart", 3))
    noise = sum(distributed_discrete_laplace_shares(3, spec.epsilon, spec.n_trees, exact.shape,
                                                    party_noise_rng(5, i))[0] for i in range(3))
    assert exact.shape == (4 * 4,) and np.any(noise != 0)
    for i in range(3):
        assert result.opened(i) == (exact + noise).tolist()  # the only values opened: the noisy total
        log = result.log(i)
        events = [e["event"] for e in log]
        assert events.index("noise") < events.index("sent") < events.index("opened")  # noise before sharing
        shares = [v for e in log if e["event"] == "received" for v in e["share"]]
        assert len(shares) == 2 * exact.size and all(v > 10**6 for v in shares)  # peers: random shares only
    forests = result.forests
    assert len({json.dumps([t.to_dict() for t in f.trees]) for f in forests}) == 1
    expected = release_members(trees, exact + noise, "margin", spec.n_trees / spec.epsilon)
    assert [t.to_dict() for t in forests[0].trees] == [t.to_dict() for t in expected]


def test_the_accountant_covers_every_value_the_run_opens(run):
    spec, result = run
    cost = result.cost()
    assert cost["masked openings"] == 0 and cost["levels"] == 1  # one opening, no comparison inside
    for i, forest in enumerate(result.forests):
        ledger = forest.accountant.ledger
        assert ledger["epsilon"].tolist() == [spec.epsilon] and forest.accountant.remaining == 0
        assert f"sensitivity {spec.n_trees}" in ledger["what"][0]
        opened = [e for e in result.log(i) if e["event"] == "opened"]
        assert len(opened) == 1 and len(opened[0]["values"]) == forest.meta["values_opened"] == len(
            result.opened(i))
        assert forest.meta["insider_epsilon"] == pytest.approx(insider_epsilon(spec.epsilon, 4, 3, 1))
        assert forest.meta["opendp_epsilon"] == pytest.approx(spec.epsilon)  # OpenDP's map of the one opening
        alpha = np.exp(-spec.epsilon / spec.n_trees)
        assert forest.meta["noise_sd"] == pytest.approx(np.sqrt(2 * alpha) / (1 - alpha))
        assert set(forest.predict(demo_providers("heart", 3)[0]._X).tolist()) <= set(CLASSES)  # noqa: SLF001


def test_neighbouring_data_sets_open_totals_apart_by_the_accounted_sensitivity(run, tmp_path):
    """Same public structure and noise draws, one record removed: the opened vectors differ by T in L1."""
    spec, result = run
    providers = demo_providers("heart", 3)
    second = providers[1]
    smaller = Provider(second.name, second._X.iloc[1:], second._y[1:])  # noqa: SLF001
    neighbour = launch_forest(spec, 3, "heart", folder=tmp_path, noise_seed=5, timeout=300.0,
                              step_timeout=40.0, providers=[providers[0], smaller, providers[2]])
    a, b = np.array(result.opened(0)), np.array(neighbour.opened(0))
    assert a.shape == b.shape and int(np.abs(a - b).sum()) == spec.n_trees
    assert [(e["event"], e.get("kind")) for e in result.log(1) if e["event"] in ("sent", "opened")] == \
           [(e["event"], e.get("kind")) for e in neighbour.log(1) if e["event"] in ("sent", "opened")]


def test_forest_spec_rejects_bad_parameters():
    with pytest.raises(PartyConfigError, match="epsilon"):
        ForestSpec(0.0, 4, 2, "margin")
    with pytest.raises(PartyConfigError, match="statistic"):
        ForestSpec(1.0, 4, 2, "median")
    assert ForestSpec.auto(0.5, 4, 2).statistic == "margin"
    assert ForestSpec.auto(2.0, 4, 2).statistic == "counts"


def test_forest_spec_follows_the_schedule_and_the_split_features_of_the_central_forest():
    codes = [n for n, r in HEART_RANGES.items() if isinstance(r, Codes)]
    small = ForestSpec.auto(0.1, ranges=HEART_RANGES)
    assert (small.n_trees, small.depth, small.statistic, small.split) == (5, 3, "margin", "auto")
    assert small.split_features(HEART_RANGES) == codes
    assert {n.feature for t in small.trees(HEART_RANGES, CLASSES) for n in t.internal_nodes()} <= set(codes)
    every = ForestSpec.auto(0.1, ranges=HEART_RANGES, split="all")
    assert (every.n_trees, every.depth) == (5, 4) and every.split_features(HEART_RANGES) == list(HEART_RANGES)
    assert ForestSpec.auto(2.0, ranges=HEART_RANGES).split_features(HEART_RANGES) == list(HEART_RANGES)
    with pytest.raises(PartyConfigError, match="ranges"):
        ForestSpec.auto(0.1)
    with pytest.raises(PartyConfigError, match="split"):
        ForestSpec(0.1, 5, 3, "margin", split="codes")


def test_central_mode_the_curator_draws_all_the_noise_and_the_others_none(tmp_path):
    """Party 0 adds the whole discrete Laplace draw to its table; the opening is the central mechanism."""
    from encmed_lib.privacy import SeededSampler
    from encmed_lib.privacy.mpc_forest import CURATOR

    spec = ForestSpec(0.5, 4, 2, "margin", structure_seed=3, mode="central")
    result = launch_forest(spec, 3, "heart", folder=tmp_path, noise_seed=5, timeout=300.0, step_timeout=40.0)
    trees = spec.trees(HEART_RANGES, CLASSES)
    exact = sum(leaf_table(p._X, p._y, trees, CLASSES, "margin")  # noqa: SLF001
                for p in demo_providers("heart", 3))
    draw = SeededSampler(party_noise_rng(5, CURATOR))(exact.shape, spec.epsilon, spec.n_trees)
    assert np.any(draw != 0)
    for i in range(3):
        assert result.opened(i) == (exact + draw).tolist()
        noised = [e for e in result.log(i) if e["event"] == "noise"]
        assert len(noised) == (1 if i == CURATOR else 0)  # only the curator adds noise
    forest = result.forests[1]
    assert forest.meta["mode"] == "central" and forest.meta["curator"] == CURATOR
    assert forest.meta["insider_epsilon"] is None  # no guarantee towards the curator
    assert forest.accountant.ledger["epsilon"].tolist() == [0.5]
    assert "central noise drawn by party 0" in forest.accountant.ledger["what"][0]


def test_without_a_seed_the_curator_draws_from_opendp_and_peers_from_secrets():
    from encmed_lib.privacy import OpenDPSampler
    from encmed_lib.privacy.mpc_forest import CuratorDraw, PolyaShare, party_noise

    central = ForestSpec(0.5, 4, 2, "margin", mode="central")
    curator = party_noise(central, 0, 3)
    assert isinstance(curator, CuratorDraw) and isinstance(curator.sampler, OpenDPSampler)
    assert party_noise(central, 1, 3) is None and party_noise(central, 2, 3) is None
    shares = [party_noise(ForestSpec(0.5, 4, 2, "margin"), i, 3) for i in range(3)]
    assert all(isinstance(s, PolyaShare) for s in shares)
    draws = [s.rng.integers(2**62) for s in shares]
    assert len(set(draws)) == 3  # each party its own unseeded generator
    with pytest.raises(PartyConfigError, match="mode"):
        ForestSpec(0.5, 4, 2, "margin", mode="curated")


def test_a_seeded_run_is_announced_as_not_private(capsys):
    from encmed_lib.privacy.mpc_forest import main

    assert main(["--parties", "2", "--noise-seed", "1"]) == 2  # refused before any process starts
    err = capsys.readouterr().err
    assert "warning: --noise-seed" in err and "not differentially private" in err and "error:" in err
    assert main(["--parties", "2"]) == 2
    assert "warning" not in capsys.readouterr().err
