"""Tests of encmed_lib.attacks: what a curious client learns about the model.

Where the design is broken the tests assert that the attack *succeeds*
(basic mode: every threshold from one query; malformed keys: exact weights).

Every attack gets only the client's view (its keys, its records, the replies);
the server is a black-box oracle and its true thresholds are read by the
scoring helpers alone.  The blinds come from :mod:`secrets` (unseeded), so the
bounds on the random outcomes below carry a wide margin over what was measured.
"""

from __future__ import annotations

import math
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import encmed_lib as em
from encmed_lib import attacks
from encmed_lib.crypto.encoding import D_BITS, SCALE, SCALE_BITS, encode_threshold
from encmed_lib.protocol.messages import BLIND_BITS

R = 1 << BLIND_BITS


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
    assert np.all(np.abs(errors) <= 2.0 ** -SCALE_BITS)
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
    record = X.iloc[0].to_dict() | {feature: t}  # floor(float32(t) * 2**26) == floor(t * 2**26): d = 0
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


# ------------------------------------------------ 4. breaking basic mode (v = r d + s)
def _distinct_truth(server) -> int:
    return len({(f, encode_threshold(t)) for f, t in attacks.true_thresholds(server)})


@pytest.fixture
def recorded_blinds(monkeypatch):
    """Every ``(r, s)`` the server draws, in order (a teacher's check: the attacks never see it)."""
    from encmed_lib.protocol import server as server_module

    drawn: list[tuple[int, int]] = []
    original = server_module.draw_blinds

    def spy(blinding):
        r, s = original(blinding)
        drawn.append((r, s))
        return r, s

    monkeypatch.setattr(server_module, "draw_blinds", spy)
    return drawn


def test_edge_record_is_an_ordinary_in_domain_record(client, heart):
    X, _ = heart
    record = attacks.edge_record(X.columns)
    client.encrypt(record)  # Client.encrypt validates the domain
    values = list(record.values())
    assert len(set(values)) == len(values) == X.shape[1]
    assert all(-(2 ** 16) < v < -(2 ** 15) for v in values)
    with pytest.raises(ValueError, match="spacing"):
        attacks.edge_record([f"x{i}" for i in range(64)])


@settings(max_examples=100, deadline=None)
@given(d=st.integers(2 ** 50, 2 ** 61), r=st.integers(1, R - 1), data=st.data())
def test_the_true_difference_always_fits(d, r, data):
    s = data.draw(st.integers(0, r - 1))
    assert attacks.fits(r * d + s, d)
    assert not attacks.fits(r * d + s, -d)


def test_sieve_breaks_basic_mode_in_one_query(client, heart, servers, candidates):
    X, _ = heart
    server = servers["full"]
    n_nodes = len(attacks.true_thresholds(server))
    complete = 0
    for _ in range(3):  # fresh blinds every run
        oracle = CountingOracle(server)
        result = attacks.sieve_attack(client, oracle, candidates, X.columns)
        assert oracle.calls == result.queries == 1
        exact = result.exact(server)
        assert all(ok for ok, node in zip(exact, result.nodes, strict=True) if node is not None)
        assert result.n_recovered >= n_nodes - 1  # an undecided node: about 1 reply in 100 (measured)
        complete += all(exact)
    assert complete >= 2
    summary = result.summary(server)
    assert summary["recovered"] == summary["exact"]


def test_sieve_settles_an_undecided_node_with_a_second_record(client, heart, servers, candidates):
    X, _ = heart
    server = servers["full"]
    oracle = CountingOracle(server)
    result = attacks.sieve_attack(client, oracle, candidates, X.columns, max_queries=3)
    assert oracle.calls == result.queries <= 3
    assert all(result.exact(server))
    assert result.summary(server)["distinct exact"] == _distinct_truth(server)
    assert attacks.threshold_recovery_rate(result.thresholds, server, tol=0.0) == 1.0


def test_sieve_recovers_the_blinds_too(client, heart, servers, candidates, recorded_blinds):
    X, _ = heart
    result = attacks.sieve_attack(client, servers["full"].evaluate, candidates, X.columns)
    first_reply = recorded_blinds[:len(result.nodes)]
    assert all(b == drawn for b, drawn, node in zip(result.blinds, first_reply, result.nodes, strict=True)
               if node is not None)
    assert result.n_recovered >= len(result.nodes) - 1


def _det(rows) -> Fraction:
    m = [[Fraction(x) for x in row] for row in rows]
    det = Fraction(1)
    for i in range(len(m)):
        pivot = next(k for k in range(i, len(m)) if m[k][i] != 0)
        if pivot != i:
            m[i], m[pivot] = m[pivot], m[i]
            det = -det
        det *= m[i][i]
        for k in range(i + 1, len(m)):
            factor = m[k][i] / m[i][i]
            m[k] = [a - factor * b for a, b in zip(m[k], m[i], strict=True)]
    return det


def test_lll_reduce_keeps_the_lattice_and_finds_a_short_vector():
    rng = np.random.default_rng(0)
    d = 2 ** 42 + 12345
    r = [int(x) for x in rng.integers(1, R, 5)]
    v = [ri * d + int(rng.integers(0, ri)) for ri in r]
    basis = [[R] + v[1:]] + [[0] * i + [-v[0]] + [0] * (4 - i) for i in range(1, 5)]
    reduced = attacks.lll_reduce(basis)
    assert abs(_det(reduced)) == abs(_det(basis))
    assert abs(reduced[0][0]) == r[0] * R  # the hidden (r_0 2^21, r_0 v_i - r_i v_0)
    assert sum(x * x for x in reduced[0]) < min(sum(x * x for x in row) for row in basis)


def test_lattice_attack_needs_a_few_queries_and_no_grid(client, heart, servers):
    X, _ = heart
    server = servers["full"]
    oracle = CountingOracle(server)
    result = attacks.lattice_attack(client, oracle, X.columns, 8, until_done=True)
    assert oracle.calls == result.queries <= 8
    assert all(result.exact(server))
    # from 3 replies on the attacker's own check never accepts a wrong answer (measured: none
    # in 20 runs of 3 replies; with 2, at the lattice's Gaussian bound, 5 wrong nodes in 300)
    three = attacks.lattice_attack(client, server.evaluate, X.columns, 3)
    exact = three.exact(server)
    assert all(ok for ok, node in zip(exact, three.nodes, strict=True) if node is not None)


def test_out_of_domain_split_gives_thresholds_and_blinds(heart, servers, recorded_blinds):
    X, _ = heart
    server = servers["full"]
    n_values = len(attacks.true_thresholds(server))
    attacker = attacks.attacker_client(attacks.split_key_bits(n_values))
    oracle = CountingOracle(server)
    result = attacks.out_of_domain_split(attacker, oracle, X.columns, n_values)
    assert oracle.calls == result.queries == 1
    assert all(result.exact(server))
    assert result.blinds == recorded_blinds


def test_out_of_domain_split_names_the_key_size_it_needs(client, heart, servers):
    X, _ = heart
    oracle = CountingOracle(servers["full"])
    with pytest.raises(ValueError, match=f"at least {attacks.split_key_bits(15)} bits"):
        attacks.out_of_domain_split(client, oracle, X.columns, 15)
    assert oracle.calls == 0


@pytest.fixture(scope="module")
def linear_model(heart):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = heart
    _, y = em.load_heart()
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


def test_malformed_modulus_reads_the_noisy_linear_weights_exactly(client, heart, linear_model):
    X, _ = heart
    server = em.LinearServer(linear_model, output="noisy", noise_scale=0.5)
    honest = em.score_encrypted(client, server, X.iloc[0])[0]
    assert honest != pytest.approx(server.plaintext_score(X.iloc[0].to_numpy()), abs=1e-6)  # noise is real
    calls = []
    result = attacks.malformed_modulus_linear(lambda q: calls.append(q) or server.evaluate(q), X.columns)
    # n = P q with P | q - 1 has no certificate: the server refuses the key before any arithmetic
    assert result.status == "refused" and len(calls) == 1 and "InvalidKeyError" in result.detail


def test_malformed_modulus_gives_basic_mode_blinds_and_thresholds(heart, servers, recorded_blinds):
    X, _ = heart
    server = servers["full"]
    oracle = CountingOracle(server)
    result = attacks.malformed_modulus_tree(oracle, X.columns, len(attacks.true_thresholds(server)))
    assert result.status == "refused" and oracle.calls == 1 and recorded_blinds == []  # no blind drawn
    assert result.n_recovered == 0


def test_attacks_report_a_refused_key(heart):
    X, _ = heart

    def refusing(query):
        raise em.KeyTooSmallError("this server certifies keys")

    weights = attacks.malformed_modulus_linear(refusing, X.columns[:2])
    assert weights.status == "refused" and "KeyTooSmallError" in weights.detail and weights.W == {}
    tree = attacks.malformed_modulus_tree(refusing, X.columns, 3)
    assert tree.status == "refused" and tree.nodes == []
    probe = attacks.dos_probe(type("S", (), {"evaluate": staticmethod(refusing)})(), X.columns, (1024,))
    assert probe["outcome"].tolist() == ["refused"]


def test_key_probe_shows_which_malformed_moduli_the_server_accepts(heart, servers):
    X, _ = heart
    table = attacks.key_probe(servers["full"], X.columns)
    outcome = dict(zip(table["modulus"], table["outcome"], strict=True))
    assert outcome["well-formed p*q"] == "accepted"
    # certified keys: every malformed modulus is refused, whatever certificate comes with it
    assert {outcome[k] for k in ("even n", "prime n", "perfect square p^2", "3 * q", "P * q, P | q - 1")} \
        == {"refused"}


def test_dos_probe_measures_the_server_and_its_accidental_limit(heart, servers):
    X, _ = heart
    table = attacks.dos_probe(servers["full"], X.columns, (1024, 2048, 14400))
    # a random modulus has no certificate: refused before any arithmetic, oversized ones by the parser
    assert table["outcome"].tolist() == ["refused", "refused", "refused"]
    assert "InvalidKeyError" in table["error"].iloc[0] and "MalformedMessageError" in table["error"].iloc[2]
    assert table["query_bytes"].is_monotonic_increasing


def test_sieve_slack_and_its_figure(client, heart, servers, candidates):
    X, _ = heart
    server = servers["full"]
    record = attacks.edge_record(X.columns)
    v = client.decrypt_values(server.evaluate(client.encrypt(record)))[0]
    slack = attacks.sieve_slack(v, record, candidates)
    feature, t = attacks.true_thresholds(server)[0]
    fitting = slack[slack["fits"]]
    assert (feature, t) in set(zip(fitting["feature"], fitting["threshold"], strict=True))
    assert len(fitting) <= 2  # a wrong survivor: about 1 node in 1,000
    assert (fitting["slack"] < 1).all() and (slack.loc[~slack["fits"], "slack"] >= 1).all()
    fig = attacks.plot_sieve(slack)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and f"{len(fitting)} of" in ax.get_title()


@pytest.mark.parametrize("output", ["noisy", "exact"])
def test_out_of_domain_plaintexts_read_linear_weights_under_a_sound_key(client, heart, linear_model, output):
    X, _ = heart
    server = em.LinearServer(linear_model, output=output, noise_scale=0.5)
    calls = []
    result = attacks.out_of_domain_linear(client, lambda q: calls.append(q) or server.evaluate(q), X.columns)
    assert result.status == "done" and len(calls) == result.queries == 2  # 10 weights per 1024-bit query
    assert all(result.exact(server))
