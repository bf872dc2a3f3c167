"""Tests of encmed_lib.attacks: what a curious client learns about the thresholds.

Every attack gets only the client's view (its keys, its records, the replies);
the server is a black-box oracle and its true thresholds are read by the
scoring helpers alone.  The blinds come from :mod:`secrets` (unseeded), so the
bounds on the random outcomes below carry a wide margin over what was measured.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import encmed_lib as em
from encmed_lib import attacks
from encmed_lib.crypto.encoding import D_BITS, SCALE, encode_threshold

R = 1 << 40


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def client() -> em.Client:
    return em.Client(key_bits=1024)


@pytest.fixture(scope="module")
def heart():
    X, y = em.load_heart()
    return X, em.train_tree(X, y, max_depth=4, random_state=0)


@pytest.fixture(scope="module")
def servers(heart) -> dict[str, em.TreeServer]:
    _, tree = heart
    return {b: em.TreeServer(tree, blinding=b) for b in ("none", "multiplicative", "full")}


@pytest.fixture(scope="module")
def candidates(heart) -> dict[str, np.ndarray]:
    X, _ = heart
    return attacks.grid_candidates(X)


@pytest.fixture(scope="module")
def domain(heart) -> dict[str, tuple[float, float]]:
    X, _ = heart
    return {c: (float(X[c].min()), float(X[c].max())) for c in X}


class CountingOracle:
    """The server as a black box that counts the queries it answers."""

    def __init__(self, server: em.TreeServer):
        self.server = server
        self.calls = 0

    def __call__(self, query: em.Query) -> em.Reply:
        self.calls += 1
        return self.server.evaluate(query)


# --------------------------------------------- 1. the unblinded design (v = d)
def test_unblinded_one_query_recovers_every_threshold(client, heart, servers):
    X, _ = heart
    server = servers["none"]
    oracle = CountingOracle(server)
    record = X.iloc[3]
    reply = oracle(client.encrypt(record))
    recovered = attacks.recover_thresholds_unblinded(client, record, reply)
    assert oracle.calls == 1
    assert sorted(recovered) == list(range(len(server.tree.internal_nodes())))
    errors = attacks.threshold_errors(recovered, server)
    assert np.all(np.abs(errors) <= 2.0 ** -40)
    assert attacks.threshold_recovery_rate(recovered, server) == 1.0
    assert attacks.threshold_recovery_rate(recovered, server, tol=0.0) == pytest.approx(1.0)


def test_unblinded_needs_the_original_design(client, heart, servers):
    X, _ = heart
    record = X.iloc[0]
    reply = servers["full"].evaluate(client.encrypt(record))
    with pytest.raises(ValueError, match="blinding='none'"):
        attacks.recover_thresholds_unblinded(client, record, reply)


def test_scoring_helpers_count_missing_nodes_as_failures(servers):
    server = servers["none"]
    truth = attacks.true_thresholds(server)
    recovered = {0: truth[0][1], 1: truth[1][1] + 1e-3}
    errors = attacks.threshold_errors(recovered, server)
    assert errors[0] == 0.0 and errors[1] == pytest.approx(1e-3)
    assert np.isnan(errors[2:]).all()
    assert attacks.threshold_recovery_rate(recovered, server) == pytest.approx(1 / len(truth))
    assert attacks.threshold_recovery_rate(recovered, server, tol=1e-2) == pytest.approx(2 / len(truth))


# ------------------------------------------------------------- candidates
def test_grid_candidates_follow_the_recording_grid(heart, candidates):
    X, _ = heart
    age = candidates["age"]
    assert age.min() == X["age"].min() + 0.5 and age.max() == X["age"].max() - 0.5
    assert set(np.unique(age % 1)) == {0.0, 0.5}  # neighbours k + 0.5, wider gaps give k
    # scikit-learn's float32 midpoint between 0.9 and 1.0, not 0.95
    assert attacks.sklearn_midpoint(0.9, 1.0) == 0.949999988079071
    assert 0.949999988079071 in set(candidates["oldpeak"])
    only_neighbours = attacks.grid_candidates(X[["age", "oldpeak"]], max_gap=1)
    assert np.array_equal(only_neighbours["age"], np.arange(X["age"].min(), X["age"].max()) + 0.5)
    assert len(only_neighbours["oldpeak"]) == round(X["oldpeak"].max() / 0.1)
    coarse = attacks.grid_candidates(X[["chol"]], step_for={"chol": 10})
    assert np.all(coarse["chol"] % 5 == 0)


def test_every_true_threshold_is_a_candidate(servers, candidates):
    for feature, t in attacks.true_thresholds(servers["full"]):
        assert encode_threshold(t) in {encode_threshold(c) for c in candidates[feature]}


# ------------------------------------ 2. multiplicative blinding (v = r d)
def test_divisor_attack_keeps_the_truth_among_few_survivors(client, heart, servers, candidates):
    X, _ = heart
    server = servers["multiplicative"]
    total = sum(len(c) for c in candidates.values())
    counts, rounds = [], []
    for i in range(4):
        record = X.iloc[i]
        survivors = attacks.divisor_attack(client, record, server.evaluate(client.encrypt(record)),
                                           candidates)
        assert len(survivors) == len(server.tree.internal_nodes())
        assert all(attacks.true_among_survivors(survivors, server))
        counts += [len(s) for s in survivors]
        rounds.append(survivors)
    # measured on 60 records: median 18, max 164 of 1,708 candidates
    assert np.median(counts) <= 60
    assert max(counts) <= total // 5
    # fresh blinds per query: the intersection of three queries is (nearly) the truth alone
    together = attacks.intersect_survivors(*rounds[:3])
    assert all(attacks.true_among_survivors(together, server))
    sizes = [len(s) for s in together]
    assert np.median(sizes) <= 2 and max(sizes) <= 16  # measured on 150 triples: 1 and 8


def test_divisor_attack_on_a_chosen_off_grid_record(client, heart, servers, candidates):
    X, _ = heart
    server = servers["multiplicative"]
    record = attacks.off_grid_record(X.iloc[0], rng=0)
    assert all(math.floor(v) != v for v in record.values())
    survivors = attacks.divisor_attack(client, record, server.evaluate(client.encrypt(record)), candidates)
    assert all(attacks.true_among_survivors(survivors, server))
    assert sum(len(s) == 1 for s in survivors) >= len(survivors) - 1  # measured: always 1


def test_divisor_attack_handles_a_record_on_the_threshold(client, heart, servers, candidates):
    X, _ = heart
    server = servers["multiplicative"]
    truth = attacks.true_thresholds(server)
    j, (feature, t) = next((j, ft) for j, ft in enumerate(truth) if ft[0] == "oldpeak")
    record = X.iloc[0].to_dict() | {feature: t}  # float32(t) * 2**40 == floor(t * 2**40): d = 0
    reply = server.evaluate(client.encrypt(record))
    assert client.decrypt_values(reply)[j] == 0
    survivors = attacks.divisor_attack(client, record, reply, candidates)
    assert attacks.true_among_survivors(survivors, server)[j]
    assert all(encode_threshold(c) == encode_threshold(record[f]) for f, c in survivors[j])


def test_full_blinding_defeats_the_divisor_attack(client, heart, servers, candidates):
    X, _ = heart
    server = servers["full"]
    found = []
    for i in range(2):
        record = X.iloc[i]
        survivors = attacks.divisor_attack(client, record, server.evaluate(client.encrypt(record)),
                                           candidates)
        found += attacks.true_among_survivors(survivors, server)
    assert np.mean(found) <= 0.2  # measured: the truth never survives


# ------------------------------------------ 3. full blinding (v = r d + s)
@settings(max_examples=300, deadline=None)
@given(r=st.integers(1, R - 1), s_fraction=st.floats(0, 1, exclude_max=True),
       d=st.integers(-(1 << D_BITS) + 1, (1 << D_BITS) - 1))
def test_sign_and_magnitude_interval_holds_the_truth(r, s_fraction, d):
    s = min(int(s_fraction * r), r - 1)
    goes_left, (low, high) = attacks.sign_and_magnitude(r * d + s)
    assert goes_left == (d >= 0)
    assert low <= abs(d) <= high


@given(d=st.integers(-(1 << D_BITS) + 1, (1 << D_BITS) - 1))
def test_sign_and_magnitude_interval_is_tight(d):
    # both ends are attained: the low end by r = R - 1 (any s), the high end by r = 1, s = 0
    for s in (0, R - 2):
        assert attacks.sign_and_magnitude((R - 1) * d + s)[1][0] == abs(d)
    assert attacks.sign_and_magnitude(d)[1][1] == abs(d)


def test_sign_and_magnitude_on_real_replies(client, heart, servers):
    X, _ = heart
    server = servers["full"]
    truth = attacks.true_thresholds(server)
    for i in range(3):
        record = X.iloc[i]
        values = client.decrypt_values(server.evaluate(client.encrypt(record)))
        for v, (feature, t) in zip(values, truth, strict=True):
            d = encode_threshold(t) - int(np.float32(record[feature]) * SCALE)
            goes_left, (low, high) = attacks.sign_and_magnitude(v)
            assert goes_left == (np.float32(record[feature]) <= t)
            assert low <= abs(d) <= high


def test_interval_attack_recovers_the_thresholds(client, heart, servers, domain):
    X, _ = heart
    server = servers["full"]
    oracle = CountingOracle(server)
    result = attacks.interval_attack(client, oracle, X.median(), 60, domain, discovery="binary")
    assert result.queries_used == oracle.calls <= 60
    assert result.discovery_queries == 2 + math.ceil(math.log2(X.shape[1]))
    truth = attacks.true_thresholds(server)
    assert result.undiscovered == []
    assert result.node_features == {j: f for j, (f, _) in enumerate(truth)}
    for j, (low, high) in result.intervals.items():
        assert low <= truth[j][1] < high
    errors = attacks.attack_errors(result, server)
    assert list(errors["queries"]) == list(range(1, result.queries_used + 1))
    assert (errors["phase"] == "discovery").sum() == result.discovery_queries
    assert errors["max_abs_error"].iloc[: result.discovery_queries - 1].isna().all()
    done = errors.iloc[result.discovery_queries - 1:]
    bound = done["max_error_bound"].to_numpy()
    assert np.all(np.diff(bound) <= 0)  # the guaranteed error never grows
    assert np.all(done["max_abs_error"] <= done["max_error_bound"])
    # measured over 40 runs: max error 2e-5 (worst 7e-5), median 8e-9 (worst 5e-8) after 60
    assert errors["max_abs_error"].iloc[-1] < 1e-3
    assert errors["median_abs_error"].iloc[-1] < 1e-5
    assert attacks.threshold_recovery_rate(result.final_estimates, server, tol=1e-3) == 1.0


def test_interval_attack_one_feature_at_a_time(client, heart, servers, domain):
    X, _ = heart
    server = servers["full"]
    oracle = CountingOracle(server)
    result = attacks.interval_attack(client, oracle, X.median(), 60, domain)
    assert result.discovery_queries == 1 + X.shape[1]
    assert result.queries_used == oracle.calls == 60
    errors = attacks.attack_errors(result, server)
    assert np.all(np.diff(errors["max_error_bound"].dropna()) <= 0)
    # measured over 40 runs: 1e-4 (worst 9e-4) after 60 queries, 1e-2 after 40
    assert errors["max_abs_error"].iloc[-1] < 1e-2
    assert errors["max_abs_error"].iloc[-1] < errors["max_abs_error"].iloc[result.discovery_queries]


def test_interval_attack_with_public_candidates_is_exact(client, heart, servers, domain, candidates):
    X, _ = heart
    server = servers["full"]
    oracle = CountingOracle(server)
    result = attacks.interval_attack(client, oracle, X.median(), 80, domain, discovery="binary",
                                     candidates=candidates)
    assert result.queries_used == oracle.calls <= 80  # stops once every node is resolved
    # measured over 40 runs: exact after 19-54 queries (median 24)
    assert attacks.threshold_recovery_rate(result.final_estimates, server, tol=1e-7) == 1.0


def test_interval_attack_reports_undiscovered_nodes(client, heart, servers, domain):
    X, _ = heart
    server = servers["full"]
    truth = attacks.true_thresholds(server)
    narrow = {f: r for f, r in domain.items() if f != "exang"}
    narrow["thalach"] = (140.0, 202.0)
    oracle = CountingOracle(server)
    result = attacks.interval_attack(client, oracle, X.median(), 20, narrow, discovery="binary")
    expected = [j for j, (f, t) in enumerate(truth) if f == "exang" or (f == "thalach" and t < 140)]
    assert result.undiscovered == expected
    assert set(result.node_features) == set(range(len(truth))) - set(expected)
    assert all(truth[j][0] == f for j, f in result.node_features.items())
    assert set(result.final_estimates) == set(result.node_features)
    assert result.queries_used == oracle.calls == 20


def test_interval_attack_refuses_a_budget_below_discovery(client, heart, servers, domain):
    X, _ = heart
    oracle = CountingOracle(servers["full"])
    with pytest.raises(ValueError, match="discovery"):
        attacks.interval_attack(client, oracle, X.median(), 5, domain)
    assert oracle.calls == 0


def test_plot_interval_attack(client, heart, servers, domain):
    X, _ = heart
    server = servers["full"]
    result = attacks.interval_attack(client, server.evaluate, X.median(), 12, domain, discovery="binary")
    errors = attacks.attack_errors(result, server)
    ax = attacks.plot_interval_attack(errors)
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "queries sent"
    assert any("discovery" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(ax.figure)
