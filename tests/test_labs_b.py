"""The real-work exercises of notebooks 07, 08 and 09: each checker accepts the right answer
(computed here the way a student would) and names the typical wrong ones."""

from __future__ import annotations

import math
import secrets
import warnings

import nbformat
import numpy as np
import pandas as pd
import pytest
from lab_asserts import accepts, rejects

import encmed_lib as em
from encmed_lib import labs
from encmed_lib.data.paths import REPO_ROOT


@pytest.fixture(scope="module")
def heart():
    X, y = em.load_heart()
    return em.split_data(X, y, test_size=0.3, random_state=0)


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return em.Client(key_bits=1024)


@pytest.fixture(scope="module")
def linear(heart):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from encmed_lib.protocol.linear import LinearServer

    X_train, _, y_train, _ = heart
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    pipe.fit(X_train, y_train)
    return pipe, LinearServer(pipe)


# ------------------------------------------------------ 07 · a clinic's threshold
def test_check_07_clinic_threshold(heart, client, linear):
    from encmed_lib.protocol.linear import score_encrypted

    pipe, server = linear
    X_test, y_test = heart[1], heart[3]
    patients, labels = X_test.iloc[:40], y_test.iloc[:40].to_numpy()
    probs = np.array([score_encrypted(client, server, row)[1][1] for _, row in patients.iterrows()])
    assert np.allclose(probs, pipe.predict_proba(patients)[:, 1], atol=1e-9)
    sick = labels == 1

    def rates(values, t):
        flagged = values >= t
        return flagged[sick].mean(), (~flagged[~sick]).mean()

    sens, spec = rates(probs, 0.3)
    check = labs.check_07_clinic_threshold
    message = accepts(labs.check_07_clinic_threshold, sens, spec, server, patients, labels)
    assert f"sensitivity {sens:.3f}, specificity {spec:.3f}" in message
    accepts(check, np.float64(sens), float(spec), pipe, patients, pd.Series(labels), threshold=0.3)
    other = rates(probs, 0.7)
    accepts(check, *other, server, patients, labels, threshold=0.7)
    assert rates(probs, 0.5) != (sens, spec)  # the mistakes below are told apart on these patients
    rejects(check, spec, sens, server, patients, labels, hint="swapped")
    rejects(check, *rates(probs, 0.5), server, patients, labels, hint="default threshold 0.5")
    scores = np.log(probs / (1 - probs))
    rejects(check, *rates(scores, 0.3), server, patients, labels, hint="not the score")
    rejects(check, 1 - sens, spec, server, patients, labels, hint="*missed*")
    rejects(check, sens, 1 - spec, server, patients, labels, hint="false-positive rate")
    rejects(check, sens * sick.sum(), spec * (~sick).sum(), server, patients, labels, hint="counts")
    rejects(check, 100 * sens, 100 * spec, server, patients, labels, hint="percentages")
    rejects(check, sens, 0.123, server, patients, labels, hint="score every patient")
    rejects(check, None, spec, server, patients, labels, hint="no answer yet")
    rejects(check, probs, spec, server, patients, labels, hint="reduce it to one number")


# ------------------------------------------------------ 07 · the server's computation by hand
def server_by_hand(client, server, record, *, weights=None, intercept=None, absolute=False):
    """E(S) computed as a student would: c_i^W_i multiplied, then (1 + B n) for the intercept."""
    from encmed_lib.protocol.linear import encode_intercept, encode_weight, encrypt_float64

    query = encrypt_float64(client, record)
    by_name = dict(zip(query.features, query.ciphertexts, strict=True))
    n = int(client.public_key.n)
    n2 = n * n
    W = weights if weights is not None else [encode_weight(w) for w in server.coef]
    B = encode_intercept(server.intercept) if intercept is None else intercept
    c = 1
    for name, Wi in zip(server.feature_names, W, strict=True):
        c = c * pow(int(by_name[name]), abs(Wi) if absolute else Wi, n2) % n2
    return c * (1 + (B % n) * n) % n2


def test_check_07_server_by_hand(heart, client, linear):
    from encmed_lib.protocol.linear import INPUT_FRAC_BITS, encode_intercept, encode_weight, encrypt_float64

    pipe, server = linear
    record = heart[1].iloc[19]
    check = labs.check_07_server_by_hand
    c = server_by_hand(client, server, record)
    message = accepts(labs.check_07_server_by_hand, c, client, server, record)
    assert "to the last bit" in message
    # the library's own reply encrypts the same integer: accepted too (one check, another computation)
    accepts(check, server.evaluate(encrypt_float64(client, record)).ciphertext, client, server, record)
    accepts(check, server_by_hand(client, server, record.to_dict()), client, pipe, record.to_dict())
    rejects(check, server_by_hand(client, server, record, intercept=0), client, server, record,
            hint="intercept is missing")
    B64 = round(float(server.intercept) * 2.0 ** INPUT_FRAC_BITS)
    rejects(check, server_by_hand(client, server, record, intercept=B64), client, server, record,
            hint="score's scale, 2^128")
    assert (server.coef < 0).any()
    rejects(check, server_by_hand(client, server, record, absolute=True), client, server, record,
            hint="negative weight needs the inverse")
    W_tree = [round(float(w) * 2.0 ** 26) for w in server.coef]
    rejects(check, server_by_hand(client, server, record, weights=W_tree), client, server, record,
            hint="not the tree protocol's 2^26")
    n2 = int(client.public_key.nsquare)
    rejects(check, pow(c, -1, n2), client, server, record, hint="sign is reversed")
    other = heart[1].iloc[3]
    rejects(check, server_by_hand(client, server, other), client, server, record, hint="E(X)^W = E(W X)")
    W = [encode_weight(w) for w in server.coef]
    unreduced = c * n2 + c  # the same residue, never reduced
    rejects(check, unreduced, client, server, record, hint="reduce modulo n^2")
    rejects(check, float(c % 2 ** 60), client, server, record, hint="a float cannot hold")
    rejects(check, [c], client, server, record, hint="one ciphertext for the whole score")
    rejects(check, server.evaluate(encrypt_float64(client, record)), client, server, record,
            hint="not a reply object")
    rejects(check, None, client, server, record, hint="no answer yet")
    assert sum(W) != encode_intercept(server.intercept)  # the candidates differ from each other


# ------------------------------------------------------ 07 · a model from its probabilities
def test_check_07_model_from_probabilities(heart, linear):
    from scipy.special import expit

    from encmed_lib.protocol.linear import plaintext_oracle

    pipe, server = linear
    X_test = heart[1]
    d = server.n_features
    rng = np.random.default_rng(7)
    queries = X_test.mean().to_numpy() + X_test.std().to_numpy() * rng.standard_normal((d + 1, d))
    p = expit(plaintext_oracle(server.coef, server.intercept)(queries))
    A = np.column_stack([np.ones(d + 1), queries])
    theta = np.linalg.solve(A, np.log(p / (1 - p)))
    check = labs.check_07_model_from_probabilities
    message = accepts(labs.check_07_model_from_probabilities, theta[1:], theta[0], server, queries)
    assert f"from {d + 1} probabilities" in message and "exang" in message
    accepts(check, list(theta[1:]), np.float64(theta[0]), pipe, queries)
    rejects(check, theta, theta[0], server, queries, hint="split off the intercept")
    wrong = np.linalg.solve(A, p)
    rejects(check, wrong[1:], wrong[0], server, queries, hint="not linear in x")
    wrong = np.linalg.solve(A, np.log(p))
    rejects(check, wrong[1:], wrong[0], server, queries, hint="log(p) is not the score")
    wrong = np.linalg.solve(A, np.log((1 - p) / p))
    rejects(check, wrong[1:], wrong[0], server, queries, hint="sign is reversed")
    no_ones = np.linalg.lstsq(queries, np.log(p / (1 - p)), rcond=None)[0]
    rejects(check, no_ones, 0.0, server, queries, hint="column of ones")
    rejects(check, theta[1:], theta[0] + 0.5, server, queries, hint="the weights are right")
    rejects(check, theta[1:] * 1.01, theta[0], server, queries, hint="np.linalg.solve")
    rejects(check, theta[1:6], theta[0], server, queries, hint="one weight per feature")
    rejects(check, 0.5, theta[0], server, queries, hint="not a single value")


# ------------------------------------------------------ 08 · a hospital's count table
@pytest.fixture(scope="module")
def hospitals(heart):
    from encmed_lib.federated import HEART_RANGES, Binning, split_providers

    X_train, _, y_train, _ = heart
    perm = np.random.default_rng(0).permutation(len(X_train))
    parts = np.split(perm, [206, 206 + 123])
    hosp = [(X_train.iloc[np.sort(i)], y_train.iloc[np.sort(i)].to_numpy()) for i in parts]
    binning = Binning.from_ranges(HEART_RANGES, n_bins=16)
    providers = split_providers(X_train, y_train, k=3, sizes=(0.5, 0.3, 0.2), seed=0)
    assert [len(X) for X, _ in hosp] == [p.n_records for p in providers]  # the notebook's hospitals
    return hosp, binning


def make_count_table(binning, classes=(0, 1), *, side="left", float32=True, order=(0, 1, 2), swap=False,
                     dtype=np.int64):
    """The student's function, with switches for the typical mistakes."""
    def count_table(X, y):
        y = np.asarray(y)
        table = np.zeros((len(binning.feature_names), binning.max_bins, len(classes)), dtype=dtype)
        for f, name in enumerate(binning.feature_names):
            values = X[name].to_numpy(dtype=np.float64)
            if float32:
                values = values.astype(np.float32).astype(np.float64)
            bins = np.minimum(np.searchsorted(binning.edges[name], values, side=side), binning.max_bins - 1)
            for c, label in enumerate(classes):
                table[f, :, c] = np.bincount(bins[y == label], minlength=binning.max_bins)
        if swap:
            table = table[..., ::-1]
        return np.transpose(table, order)
    return count_table


def test_check_08_count_table(hospitals):
    hosp, binning = hospitals
    check = labs.check_08_count_table
    mine = make_count_table(binning)
    summed = sum(mine(X, y) for X, y in hosp)
    message = accepts(labs.check_08_count_table, mine, summed, hosp, binning)
    assert "13 features × 16 bins × 2 classes" in message and "411 records" in message
    accepts(check, make_count_table(binning, dtype=float), summed.tolist(), hosp, binning)
    rejects(check, make_count_table(binning, side="right"), summed, hosp, binning, hint="side='left'")
    rejects(check, make_count_table(binning, order=(0, 2, 1)), summed, hosp, binning, hint="axes")
    rejects(check, make_count_table(binning, swap=True), summed, hosp, binning, hint="classes are swapped")
    rejects(check, lambda X, y: mine(X, y)[:, :10], summed, hosp, binning, hint="padded")
    rejects(check, lambda X, y: mine(X, y) * 2, summed, hosp, binning, hint="counts once in each")
    rejects(check, lambda X, y: mine(X, y) + 0.5, summed, hosp, binning, hint="whole numbers")
    rejects(check, lambda X, y: 1 / 0, summed, hosp, binning, hint="ZeroDivisionError")
    rejects(check, summed, summed, hosp, binning, hint="must be a function")
    rejects(check, mine, mine(*hosp[0]), hosp, binning, hint="one hospital's table")
    rejects(check, mine, summed + 1, hosp, binning, hint="add every hospital's table")
    rejects(check, mine, summed[0], hosp, binning, hint="cell by cell")
    rejects(check, mine, None, hosp, binning, hint="sum(count_table")


def test_check_08_count_table_tests_values_outside_the_ranges(hospitals):
    """Right on every hospital, wrong on a value far outside its range (np.histogram drops those)."""
    hosp, binning = hospitals
    right = make_count_table(binning)

    def drops_outliers(X, y):
        keep = np.ones(len(X), dtype=bool)
        for name, edges in binning.edges.items():
            if len(edges):
                values = X[name].to_numpy(dtype=np.float64)
                keep &= (values > edges[0] - 500) & (values < edges[-1] + 500)
        return right(X[keep], np.asarray(y)[keep])

    for X, y in hosp:
        assert np.array_equal(drops_outliers(X, y), right(X, y))
    rejects(labs.check_08_count_table, drops_outliers, sum(right(X, y) for X, y in hosp), hosp, binning,
            hint="outside a range land in the first or last bin")


def test_check_08_inferred_count_from_the_published_partial_sums(heart):
    """Exercise 08.3 done from the transcript: the partial sums added modulo p, minus the own table."""
    import copy

    from encmed_lib.federated import (
        HEART_RANGES,
        Binning,
        FederatedTreeTrainer,
        SecretSharingAggregator,
        split_providers,
    )

    X_train, _, y_train, _ = heart
    providers = split_providers(X_train, y_train, k=3, sizes=(0.5, 0.3, 0.2), seed=0)
    binning = Binning.from_ranges(HEART_RANGES, n_bins=16)
    trainer = FederatedTreeTrainer(2, binning, SecretSharingAggregator())
    trainer.fit(providers)
    me = copy.copy(providers[2])
    me.prepare(binning, trainer.classes_)
    own = me.count_table(0)
    published = [m.payload for m in trainer.transcript_ if m.round == "level 0" and m.kind == "partial-sum"]
    assert len(published) == 3
    prime = trainer.aggregator.prime
    flat = [sum(column) % prime for column in zip(*published, strict=True)]
    total = binning.unflatten(np.array([flat], dtype=np.int64), len(trainer.classes_))[0]
    f = binning.feature_names.index("thal")
    where = dict(observer="hospital-C", feature="thal", bin=2, label=1)
    check = labs.check_08_inferred_count
    right = int(total[f, 2, 1] - own[f, 2, 1])
    assert "together hold" in accepts(labs.check_08_inferred_count, right, providers, binning, **where)
    rejects(check, int(total[f, 1, 1] - own[f, 1, 1]), providers, binning, hint="another bin of thal",
            **where)
    assert total[f, 1, 1] - own[f, 1, 1] != total[f, 2, 0] - own[f, 2, 0]  # the two hints are told apart
    rejects(check, 10 ** 6, providers, binning, hint="published partial sums", **where)


# ------------------------------------------------------ 08 · secret sharing by hand
def my_share(values, k, p):
    sent = [[secrets.randbelow(p) for _ in values] for _ in range(k - 1)]
    last = [(v - sum(col)) % p for v, col in zip(values, zip(*sent, strict=True), strict=True)] if sent else \
        [v % p for v in values]
    return [last, *sent]


def my_reconstruct(shares, p):
    return [sum(col) % p for col in zip(*shares, strict=True)]


def test_check_08_secret_sharing():
    from encmed_lib.federated.aggregation import MERSENNE_127

    check = labs.check_08_secret_sharing
    message = accepts(labs.check_08_secret_sharing, my_share, my_reconstruct)
    assert "2^127 - 1" in message and "k = 2, 3 and 5" in message
    accepts(check, my_share, my_reconstruct, prime=MERSENNE_127)
    rejects(check, my_share, lambda s, p: [sum(c) for c in zip(*s, strict=True)], hint="modulo p")
    rejects(check, my_share, lambda s, p: list(s[0]), hint="one share alone")
    rejects(check, my_share, lambda s, p: [0] * 6, hint="entry by entry")
    rejects(check, lambda v, k, p: my_share(v, k, p)[:-1], my_reconstruct, hint="k - 1 random ones")
    rejects(check, lambda v, k, p: [list(v)] + [[0] * len(v)] * (k - 1), my_reconstruct,
            hint="the table itself")
    rejects(check, lambda v, k, p: [[s - p if s > v[0] else s for s in r] for r in my_share(v, k, p)],
            my_reconstruct, hint="[0, p)")

    def unreduced(v, k, p):  # the last share is v - sum, never reduced
        sent = [[secrets.randbelow(p) for _ in v] for _ in range(k - 1)]
        return [[x - sum(col) for x, col in zip(v, zip(*sent, strict=True), strict=True)], *sent]
    rejects(check, unreduced, my_reconstruct, hint="(v - sum can be negative)")

    def independent(v, k, p):
        return [[secrets.randbelow(p) for _ in v] for _ in range(k)]
    rejects(check, independent, my_reconstruct, hint="do not add up")

    def numpy_draws(v, k, p):
        rng = np.random.default_rng()
        sent = [rng.integers(0, p, size=len(v)).tolist() for _ in range(k - 1)]
        return [[(x - sum(col)) % p for x, col in zip(v, zip(*sent, strict=True), strict=True)], *sent]
    rejects(check, numpy_draws, my_reconstruct, hint="int64")

    def seeded(v, k, p):  # the same shares at every call
        import random

        gen = random.Random(0)
        sent = [[gen.randrange(p) for _ in v] for _ in range(k - 1)]
        return [[(x - sum(col)) % p for x, col in zip(v, zip(*sent, strict=True), strict=True)], *sent]
    rejects(check, seeded, my_reconstruct, hint="fresh randomness")

    def small_range(v, k, p):  # random, but far from uniform modulo p
        sent = [[secrets.randbelow(2) for _ in v] for _ in range(k - 1)]
        return [[(x - sum(col)) % p for x, col in zip(v, zip(*sent, strict=True), strict=True)], *sent]
    rejects(check, small_range, my_reconstruct, hint="not uniform modulo p")
    rejects(check, lambda v, k, p: [[float(x) + 0.5 for x in r] for r in my_share(v, k, p)], my_reconstruct,
            hint="whole numbers")
    rejects(check, "share", my_reconstruct, hint="must be a function")


# ------------------------------------------------------ 09 · the discrete Laplace mechanism
def my_discrete_laplace(epsilon, sensitivity, size, rng):
    alpha = np.exp(-epsilon / sensitivity)
    return (rng.geometric(1 - alpha, size=size) - rng.geometric(1 - alpha, size=size)).astype(np.int64)


def test_check_09_discrete_laplace():
    from encmed_lib.privacy.mechanisms import discrete_laplace

    check = labs.check_09_discrete_laplace
    alpha = math.exp(-0.5 / 2)
    theory = 2 * alpha / (1 - alpha) ** 2
    measured = float(my_discrete_laplace(0.5, 2, 200_000, np.random.default_rng(7)).var())
    message = accepts(labs.check_09_discrete_laplace, my_discrete_laplace, measured, theory)
    assert f"variance 2α/(1-α)^2 = {theory:.3f}" in message
    assert abs(measured / theory - 1) < 0.03
    library = lambda e, s, n, rng: discrete_laplace(e, s, size=n, rng=rng)  # noqa: E731
    accepts(check, library, float(library(1.0, 1, 1000, np.random.default_rng(3)).var()), 2 * math.exp(-1)
            / (1 - math.exp(-1)) ** 2, epsilon=1.0, sensitivity=1, size=1000, seed=3)
    rejects(check, lambda e, s, n, rng: rng.geometric(1 - math.exp(-e / s), size=n), measured, theory,
            hint="not centred")
    rejects(check, lambda e, s, n, rng: my_discrete_laplace(e, 1, n, rng), measured, theory,
            hint="the sensitivity divides ε")
    rejects(check, lambda e, s, n, rng: my_discrete_laplace(s, e, n, rng), measured, theory,
            hint="not exp(-Δ / ε)")

    def success_alpha(e, s, n, rng):
        a = math.exp(-e / s)
        return rng.geometric(a, size=n) - rng.geometric(a, size=n)
    rejects(check, success_alpha, measured, theory, hint="p = 1 - α")
    rejects(check, lambda e, s, n, rng: np.round(rng.laplace(0, s / e, size=n)).astype(np.int64), measured,
            theory, hint="rounded continuous Laplace")
    rejects(check, lambda e, s, n, rng: rng.laplace(0, s / e, size=n), measured, theory, hint="integer")
    rejects(check, lambda e, s, n, rng: my_discrete_laplace(e, s, n, np.random.default_rng()), measured,
            theory, hint="generator rng passed in")
    rejects(check, lambda e, s, n, rng: my_discrete_laplace(e, s, 10, rng), measured, theory,
            hint="shape (200000,)")
    rejects(check, lambda e, s, n: 0, measured, theory, hint="TypeError")
    rejects(check, my_discrete_laplace, measured, math.sqrt(theory), hint="standard deviation")
    rejects(check, my_discrete_laplace, measured, 2 * (2 / 0.5) ** 2, hint="continuous Laplace's variance")
    rejects(check, my_discrete_laplace, measured, alpha / (1 - alpha) ** 2, hint="twice a geometric's")
    rejects(check, my_discrete_laplace, math.sqrt(measured), theory, hint=".var(), not .std()")
    rejects(check, my_discrete_laplace, theory + 1, theory, hint="np.random.default_rng(7)")
    rejects(check, my_discrete_laplace, None, theory, hint="no answer yet")


# ------------------------------------------------------ 09 · epsilon for a noise level
def epsilon_for_sd(sd, sensitivity):
    v = sd ** 2
    alpha = (v + 1 - math.sqrt(2 * v + 1)) / v
    return -sensitivity * math.log(alpha)


def test_check_09_budget_for_noise():
    from encmed_lib.privacy import plan_tree_budget
    from encmed_lib.privacy.mechanisms import discrete_laplace_variance

    check = labs.check_09_budget_for_noise
    level, leaf = epsilon_for_sd(10, 13), epsilon_for_sd(2, 1)
    assert math.isclose(math.sqrt(discrete_laplace_variance(math.exp(-level / 13))), 10)
    total = 3 * level + leaf
    plan = plan_tree_budget(total, 3, 13, leaf_fraction=leaf / total)
    assert math.isclose(plan["level_noise_sd"], 10) and math.isclose(plan["leaf_noise_sd"], 2)
    message = accepts(labs.check_09_budget_for_noise, level, leaf, total)
    assert f"= {total:.3f}" in message
    accepts(check, np.float64(level), leaf, total, level_sd=10.0, leaf_sd=2.0, max_depth=3, n_features=13)
    level5, leaf1 = epsilon_for_sd(5, 11), epsilon_for_sd(1, 1)
    accepts(check, level5, leaf1, 4 * level5 + leaf1, level_sd=5, leaf_sd=1, max_depth=4, n_features=11)
    rejects(check, math.sqrt(2) * 13 / 10, leaf, total, hint="continuous Laplace")
    rejects(check, level, math.sqrt(2) / 2, total, hint="continuous Laplace")
    rejects(check, 13 / 10, leaf, total, hint="scale b")
    rejects(check, epsilon_for_sd(math.sqrt(10), 13), leaf, total, hint="not to sd")
    rejects(check, epsilon_for_sd(10, 1), leaf, total, hint="sensitivity Δ = 13")
    v = 100
    other_root = (v + 1 + math.sqrt(2 * v + 1)) / v
    rejects(check, -13 * math.log(other_root), leaf, total, hint="the one below 1")
    rejects(check, level * 1.01, leaf, total, hint="solve sd^2 (1-α)^2 = 2α")
    rejects(check, level, leaf, 4 * level + leaf, hint="3 levels")
    rejects(check, level, leaf, 3 * level, hint="leaf counts are a release too")
    rejects(check, level, leaf, level + leaf, hint="sequential composition")
    rejects(check, level, leaf, 3 * (level + leaf), hint="released once")
    rejects(check, level, leaf, total + 1, hint="D × ε_level + ε_leaves")
    rejects(check, level, leaf, None, hint="no answer yet")


# ------------------------------------------------------ 09 · the membership bound, measured
def threshold_test(epsilon=1.0, count=40, trials=100_000, seeds=(11, 12), threshold=None, swap=False):
    """TPR and FPR of "member if the release is >= threshold", simulated as a student would."""
    from encmed_lib.privacy.mechanisms import discrete_laplace

    rng_in, rng_out = np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])
    released_in = count + 1 + discrete_laplace(epsilon, 1, size=trials, rng=rng_in)
    released_out = count + discrete_laplace(epsilon, 1, size=trials, rng=rng_out)
    if swap:
        released_in, released_out = released_out, released_in
    t = count + 1 if threshold is None else threshold
    return float(np.mean(released_in >= t)), float(np.mean(released_out >= t))


def test_check_09_membership_experiment():
    from encmed_lib.membership import dp_advantage_bound

    check = labs.check_09_membership_experiment
    tpr, fpr = threshold_test()
    bound = float(dp_advantage_bound(1.0))
    message = accepts(labs.check_09_membership_experiment, tpr - fpr, bound)
    assert "tanh(ε/2) = 0.462" in message and f"TPR - FPR = {tpr - fpr:.3f}" in message
    assert abs((tpr - fpr) - bound) < 0.01  # the threshold test reaches the bound, up to sampling error
    accepts(check, np.float64(tpr - fpr), 0.462)
    other = threshold_test(seeds=(5, 6))  # another honest simulation: accepted
    accepts(check, other[0] - other[1], bound)
    tpr3, fpr3 = threshold_test(epsilon=3.0, count=10, trials=20_000, seeds=(1, 2))
    accepts(check, tpr3 - fpr3, dp_advantage_bound(np.float64(3.0)), epsilon=3.0, count=10, trials=20_000,
            seeds=(1, 2))
    rejects(check, bound, bound, hint="the bound tanh(ε/2) itself")
    rejects(check, -(tpr - fpr), bound, hint="sign is reversed")
    rejects(check, tpr, bound, hint="TPR alone")
    rejects(check, fpr, bound, hint="FPR alone")
    rejects(check, 1 - (tpr - fpr), bound, hint="1 minus the advantage")
    low = threshold_test(threshold=40)
    rejects(check, low[0] - low[1], bound, hint="the threshold is c + 1 = 41")
    rejects(check, 0.3, bound, hint="discrete_laplace(eps_ex, 1")
    rejects(check, None, bound, hint="no answer yet")
    # the bound, as the former exercise 09.4 checked it
    rejects(check, tpr - fpr, np.tanh(1.0), hint="halve epsilon")
    rejects(check, tpr - fpr, np.e, hint="factor e^ε")
    rejects(check, tpr - fpr, np.e - 1, hint="e^ε - 1")
    rejects(check, tpr - fpr, np.e / (1 + np.e), hint="2 · accuracy - 1")
    rejects(check, tpr - fpr, 1 - bound, hint="1 minus the bound")
    rejects(check, tpr - fpr, 100 * bound, hint="percentage")
    rejects(check, tpr - fpr, 0.3, hint="dp_advantage_bound")
    rejects(check, tpr - fpr, [bound], hint="reduce it to one number")


# ------------------------------------------------------ the exercises in the notebooks
NOTEBOOKS = {"07": "07_beyond_trees.ipynb", "08": "08_collaborative_training.ipynb",
             "09": "09_differential_privacy.ipynb"}
NEW_CHECKERS = {"07": ["check_07_clinic_threshold", "check_07_server_by_hand",
                       "check_07_model_from_probabilities"],
                "08": ["check_08_count_table", "check_08_secret_sharing", "check_08_inferred_count"],
                "09": ["check_09_discrete_laplace", "check_09_budget_for_noise",
                       "check_09_membership_experiment"]}


@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_the_new_exercises_are_in_their_notebook_and_solved(number):
    cells = nbformat.read(REPO_ROOT / "notebooks" / NOTEBOOKS[number], as_version=4).cells
    for name in NEW_CHECKERS[number]:
        checks = [i for i, c in enumerate(cells) if c.cell_type == "code" and f"labs.{name}(" in c.source]
        assert len(checks) == 1, name
        solution = cells[checks[0] - 1]
        assert labs.SOLUTION_BEGIN in solution.source, name
        outputs = [o.get("text", "") for o in cells[checks[0]].outputs]
        assert outputs and outputs[0].startswith("✓ correct: "), name


def test_a_dataframe_record_is_read_like_a_series(heart, client, linear):
    """The checker of 07.2 takes the record as a Series, a dict or a one-row frame's row."""
    _, server = linear
    record = heart[1].iloc[[19]]
    c = server_by_hand(client, server, record.iloc[0])
    accepts(labs.check_07_server_by_hand, c, client, server, pd.Series(record.iloc[0].to_dict()))
