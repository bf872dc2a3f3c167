"""Tests of differential privacy for the federated tree (encmed_lib.privacy).

* the mechanisms: discrete Laplace has variance 2a/(1-a)^2 and is symmetric;
  Polya variables have the right mean and k Polya(1/k) add up to a geometric;
  k distributed shares add up to discrete Laplace (KS against direct draws,
  chi-square against the pmf); the insider's epsilon is bracketed;
* the accounting: the accountant refuses overspending; the plan sums to the
  total and uses sensitivity = n_features per level, 1 for the leaves;
* the hooks charge the right budget with the right sensitivity, clip at 0,
  and the consistency post-processing leaves exact tables unchanged;
* dp_federated_tree: at epsilon = 1e6 it is the non-private federated tree;
  at a tiny epsilon it is still a valid tree that TreeServer serves; seeded
  runs reproduce (whatever the aggregator);
* accuracy_vs_epsilon on a small grid: expected rows, accuracy grows with
  epsilon, same seeds -> same table; the figure is drawn.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy.stats import chisquare, ks_2samp

import encmed_lib as em
from encmed_lib.federated import (
    HEART_RANGES,
    Binning,
    FederatedTreeTrainer,
    PlainAggregator,
    RevealInfo,
    SecretSharingAggregator,
    split_providers,
)
from encmed_lib.privacy import (
    METHODS,
    CentralNoise,
    DistributedNoise,
    PrivacyAccountant,
    PrivacyBudgetError,
    accuracy_vs_epsilon,
    budget_table,
    discrete_laplace,
    discrete_laplace_alpha,
    discrete_laplace_pmf,
    discrete_laplace_variance,
    distributed_discrete_laplace_shares,
    dp_federated_tree,
    insider_epsilon,
    laplace_counts,
    plan_tree_budget,
    plot_accuracy_vs_epsilon,
    polya,
    public_bounds,
)
from encmed_lib.tree import PortableTree

N_FEATURES = len(HEART_RANGES)  # 13


# -------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def heart_split():
    X, y = em.load_heart()
    return em.split_data(X, y, random_state=0)  # X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def binning() -> Binning:
    return Binning.from_ranges(HEART_RANGES, 8)


@pytest.fixture(scope="module")
def providers(heart_split):
    X_train, _, y_train, _ = heart_split
    return split_providers(X_train, y_train, k=3, seed=0)


def chi_square_vs_pmf(samples: np.ndarray, alpha: float, cut: int) -> float:
    """p-value of the samples against discrete Laplace(alpha), |z| > cut pooled in the tails."""
    z = np.clip(samples, -cut - 1, cut + 1)
    observed = np.bincount(z + cut + 1, minlength=2 * cut + 3)
    inner = discrete_laplace_pmf(np.arange(-cut, cut + 1), alpha)
    tail = alpha ** (cut + 1) / (1 + alpha)  # P[Z > cut] = P[Z < -cut]
    expected = np.r_[tail, inner, tail] * len(samples)
    return float(chisquare(observed, expected * observed.sum() / expected.sum()).pvalue)


# ------------------------------------------------------------------ mechanisms
@pytest.mark.parametrize("epsilon, sensitivity", [(1.0, 1.0), (0.5, 1.0), (2.0, N_FEATURES)])
def test_discrete_laplace_variance_and_symmetry(epsilon, sensitivity):
    alpha = discrete_laplace_alpha(epsilon, sensitivity)
    assert alpha == pytest.approx(math.exp(-epsilon / sensitivity))
    z = discrete_laplace(epsilon, sensitivity, 200_000, np.random.default_rng(1))
    assert z.dtype == np.int64 and z.shape == (200_000,)
    var = discrete_laplace_variance(alpha)
    assert np.var(z) == pytest.approx(var, rel=0.04)
    assert abs(z.mean()) < 4 * math.sqrt(var / len(z))          # centred
    for v in (1, 2, 3):                                           # P[Z = v] == P[Z = -v]
        a, b = int(np.sum(z == v)), int(np.sum(z == -v))
        assert abs(a - b) < 4 * math.sqrt(a + b)
    assert chi_square_vs_pmf(z, alpha, cut=6) > 1e-3
    # alpha given directly, and reproducibility with a seed
    np.testing.assert_array_equal(discrete_laplace(alpha=alpha, size=50, rng=7),
                                  discrete_laplace(alpha=alpha, size=50, rng=7))


def test_discrete_laplace_refuses_bad_parameters():
    with pytest.raises(ValueError, match="epsilon"):
        discrete_laplace(0.0, 1.0, 3, 0)
    with pytest.raises(ValueError, match="alpha"):
        discrete_laplace(alpha=1.0, size=3, rng=0)
    with pytest.raises(ValueError, match="give epsilon"):
        discrete_laplace(size=3, rng=0)
    assert discrete_laplace(1e6, 13, 1000, 0).tolist() == [0] * 1000  # alpha = 0: no noise


def test_polya_mean_and_infinite_divisibility():
    rng = np.random.default_rng(2)
    r, p = 0.3, 0.2
    x = polya(r, p, 200_000, rng)
    assert x.dtype == np.int64 and x.min() >= 0
    assert x.mean() == pytest.approx(r * (1 - p) / p, rel=0.03)
    # 4 Polya(1/4) add up to a geometric (failures before the first success)
    total = polya(0.25, p, (4, 100_000), rng).sum(axis=0)
    direct = rng.geometric(p, 100_000) - 1
    assert ks_2samp(total, direct, method="asymp").pvalue > 1e-3
    with pytest.raises(ValueError):
        polya(0, 0.5, 1, rng)
    with pytest.raises(ValueError):
        polya(1, 0, 1, rng)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_distributed_shares_add_up_to_discrete_laplace(k):
    epsilon, sensitivity, n = 1.0, 2.0, 60_000
    shares = distributed_discrete_laplace_shares(k, epsilon, sensitivity, n, np.random.default_rng(10 + k))
    assert shares.shape == (k, n) and shares.dtype == np.int64
    total = shares.sum(axis=0)
    direct = discrete_laplace(epsilon, sensitivity, n, np.random.default_rng(100 + k))
    assert ks_2samp(total, direct, method="asymp").pvalue > 1e-3
    alpha = discrete_laplace_alpha(epsilon, sensitivity)
    assert chi_square_vs_pmf(total, alpha, cut=8) > 1e-3
    assert np.var(total) == pytest.approx(discrete_laplace_variance(alpha), rel=0.05)
    # one share alone is much less noisy than the total
    assert np.var(shares[0]) < 0.6 * np.var(total)


def test_laplace_counts_are_clipped_integers():
    table = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    noisy = laplace_counts(table, 0.5, 13, np.random.default_rng(0))
    assert noisy.shape == table.shape and noisy.dtype == np.int64 and noisy.min() >= 0
    raw = laplace_counts(table, 0.5, 13, np.random.default_rng(0), clip=False)
    np.testing.assert_array_equal(noisy, np.maximum(raw, 0))
    assert raw.min() < 0
    np.testing.assert_array_equal(laplace_counts(table, 1e9, 1, 0), table)
    with pytest.raises(ValueError, match="integers"):
        laplace_counts(np.ones(3), 1.0, 1.0, 0)


def test_insider_epsilon_is_bracketed():
    eps, delta = 1.0, N_FEATURES
    assert insider_epsilon(eps, delta, k=3, colluders=0) == pytest.approx(eps, rel=1e-6)
    values = {k: insider_epsilon(eps, delta, k) for k in (2, 3, 5, 10)}
    for k, v in values.items():  # worse than the outsider's epsilon, within the analytic bound
        assert eps < v <= eps + delta * math.log(k / (k - 1)) + 1e-9
    assert values[2] > values[3] > values[5] > values[10]          # more providers, less to lose
    assert insider_epsilon(eps, delta, 3, colluders=2) > values[3]  # a coalition learns more
    assert insider_epsilon(eps, delta, 3, colluders=3) == math.inf
    assert 3.5 < values[3] < 4.3  # the figure quoted in the docstrings (about 3.9)


# ------------------------------------------------------------------ accounting
def test_accountant_refuses_overspending():
    acc = PrivacyAccountant(1.0)
    for i in range(10):
        acc.spend(0.1, f"release {i}")  # 10 x 0.1 == 1.0 despite rounding
    assert acc.remaining == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(PrivacyBudgetError, match="exceed the budget"):
        acc.spend(0.01, "one too many")
    assert len(acc.ledger) == 10  # the refused release is not recorded
    assert list(acc.ledger.columns) == ["what", "epsilon", "spent", "remaining"]
    assert acc.ledger["spent"].iloc[-1] == pytest.approx(1.0)
    acc2 = PrivacyAccountant(0.5)
    assert acc2.spend(0.2, "a") == pytest.approx(0.3)
    with pytest.raises(PrivacyBudgetError):
        acc2.spend(0.31, "b")
    with pytest.raises(ValueError):
        acc2.spend(-0.1, "negative")
    with pytest.raises(ValueError):
        PrivacyAccountant(0)


@pytest.mark.parametrize("total, depth, n_features, binning_eps, leaf_fraction", [
    (1.0, 4, 13, 0.0, 0.25), (0.1, 3, 13, 0.02, 0.0), (10.0, 8, 11, 1.0, 0.5), (2.0, 0, 5, 0.0, 0.25),
])
def test_budget_plan_sums_to_the_total(total, depth, n_features, binning_eps, leaf_fraction):
    plan = plan_tree_budget(total, depth, n_features, binning_eps, leaf_fraction)
    assert plan["binning"] + plan["n_levels"] * plan["per_level"] + plan["leaves"] == \
        pytest.approx(total, rel=1e-12)
    assert plan["levels"] == pytest.approx(plan["n_levels"] * plan["per_level"])
    assert plan["n_levels"] == max(depth, 1)
    assert plan["level_sensitivity"] == plan["binning_sensitivity"] == n_features
    assert plan["leaf_sensitivity"] == 1
    assert plan["leaves"] == pytest.approx(leaf_fraction * (total - binning_eps))
    alpha = math.exp(-plan["per_level"] / n_features)
    assert plan["level_noise_sd"] == pytest.approx(math.sqrt(discrete_laplace_variance(alpha)))
    table = budget_table(plan)
    assert table.loc["total", "epsilon total"] == pytest.approx(total)
    assert table.loc["split tables (one level)", "sensitivity"] == n_features


def test_budget_plan_refuses_bad_input():
    with pytest.raises(ValueError, match="max_depth"):
        plan_tree_budget(1.0, None, 13)
    with pytest.raises(ValueError, match="binning_epsilon"):
        plan_tree_budget(1.0, 4, 13, binning_epsilon=1.0)
    with pytest.raises(ValueError, match="leaf_fraction"):
        plan_tree_budget(1.0, 4, 13, leaf_fraction=1.0)


# ----------------------------------------------------------------------- hooks
def test_central_noise_charges_the_right_sensitivity():
    acc = PrivacyAccountant(0.9)
    hook = CentralNoise(0.3, N_FEATURES, np.random.default_rng(0), epsilon_leaves=0.1, accountant=acc)
    total = np.full((2, 40), 5, dtype=np.int64)
    out = hook(total, RevealInfo("counts", "level 1", (1, 2), N_FEATURES, 3))
    assert out.shape == total.shape and out.dtype == np.int64 and out.min() >= 0
    leaves = hook(np.full(6, 3, dtype=np.int64), RevealInfo("leaves", "leaves", (3, 4, 5), 1, 3))
    assert leaves.min() >= 0
    assert [r["sensitivity"] for r in hook.releases_] == [N_FEATURES, 1]
    assert [r["epsilon"] for r in hook.releases_] == [0.3, 0.1]
    assert acc.spent == pytest.approx(0.4)
    assert "sensitivity 13" in acc.ledger["what"].iloc[0]
    with pytest.raises(PrivacyBudgetError, match="histogram"):
        hook(np.zeros(5, np.int64), RevealInfo("histogram", "binning", (), N_FEATURES, 3))
    with pytest.raises(ValueError, match="12 features"):
        hook(total, RevealInfo("counts", "level 2", (1, 2), 12, 3))
    hook(total, RevealInfo("counts", "level 2", (1, 2), N_FEATURES, 3))
    with pytest.raises(PrivacyBudgetError):  # 0.3 + 0.1 + 0.3 of 0.9 spent: 0.3 more is too much
        hook(total, RevealInfo("counts", "level 3", (1, 2), N_FEATURES, 3))


def test_distributed_noise_is_the_sum_of_provider_shares():
    hook = DistributedNoise(0.5, N_FEATURES, np.random.default_rng(3), keep_shares=True, clip=False)
    total = np.full((3, 30), 7, dtype=np.int64)
    out = hook(total, RevealInfo("counts", "level 0", (0, 1, 2), N_FEATURES, 4))
    assert hook.last_shares_.shape == (4, 3, 30)
    np.testing.assert_array_equal(out, total + hook.last_shares_.sum(axis=0))
    insiders = hook.insider_epsilons(4)
    assert insiders["counts"] > 0.5
    assert insiders["counts"] == pytest.approx(insider_epsilon(0.5, N_FEATURES, 4))
    with pytest.raises(ValueError, match="providers"):
        DistributedNoise(0.5, N_FEATURES, 0)(total, RevealInfo("counts", "x", (), N_FEATURES, 0))


def test_consistency_postprocessing(binning, providers):
    p = providers[0]
    p.prepare(binning, [0, 1])
    flat = binning.flatten(p.count_tables([0]))
    hook = CentralNoise(1.0, N_FEATURES, 0, binning=binning)
    np.testing.assert_array_equal(hook.consistent(flat), flat)  # exact tables are already consistent
    noisy = flat + discrete_laplace(0.5, N_FEATURES, flat.shape, 1)
    fixed = hook.consistent(noisy)
    per_feature = binning.unflatten(fixed, 2)[0].sum(axis=1)     # (features, classes)
    assert np.ptp(per_feature, axis=0).max() <= 8                # equal up to rounding
    raw = binning.unflatten(noisy, 2)[0].sum(axis=1)
    assert np.ptp(raw, axis=0).max() > 8


# ---------------------------------------------------------------- the DP tree
@pytest.mark.parametrize("mode, aggregator", [("central", PlainAggregator),
                                              ("distributed", SecretSharingAggregator)])
def test_huge_epsilon_gives_the_non_private_tree(providers, binning, mode, aggregator):
    reference = FederatedTreeTrainer(4, binning, PlainAggregator(), classes=[0, 1]).fit(providers)
    tree, acc = dp_federated_tree(providers, 1e6, 4, binning, aggregator(), rng=0, mode=mode,
                                  classes=[0, 1])
    assert tree.nodes == reference.nodes
    assert tree.feature_names == reference.feature_names and tree.classes == reference.classes
    assert tree.meta["dp"]["mode"] == mode
    assert list(acc.ledger["what"].str.split(":").str[0]) == [f"level {i}" for i in range(4)] + ["leaves"]
    assert acc.spent == pytest.approx(1e6)


def test_tiny_epsilon_still_gives_a_servable_tree(providers, binning, heart_split):
    _, X_test, _, _ = heart_split
    tree, acc = dp_federated_tree(providers, 1e-3, 4, binning, rng=5, classes=[0, 1])
    tree.validate()
    copy = PortableTree.from_json(tree.to_json())
    assert acc.spent <= 1e-3 * (1 + 1e-9)
    server = em.TreeServer(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = em.Client(key_bits=1024)
    rows = X_test.iloc[:3]
    labels = [client.decrypt(server.evaluate(client.encrypt(rows.iloc[i]))) for i in range(len(rows))]
    assert labels == tree.to_sklearn().predict(rows).tolist()


def test_dp_tree_is_reproducible_and_backend_free(providers, binning):
    a, acc_a = dp_federated_tree(providers, 2.0, 3, binning, PlainAggregator(), rng=11, classes=[0, 1])
    b, acc_b = dp_federated_tree(providers, 2.0, 3, binning, SecretSharingAggregator(), rng=11,
                                 classes=[0, 1])
    c, _ = dp_federated_tree(providers, 2.0, 3, binning, PlainAggregator(), rng=12, classes=[0, 1])
    assert a.nodes == b.nodes
    assert acc_a.ledger.equals(acc_b.ledger)
    assert a.nodes != c.nodes


def test_quantile_binning_pays_its_budget(providers):
    tree, acc = dp_federated_tree(providers, 3.0, 2, HEART_RANGES, PlainAggregator(), rng=0,
                                  classes=[0, 1], binning_epsilon=0.5, mode="distributed")
    assert acc.ledger["what"].iloc[0].startswith("binning: histogram (sensitivity 13")
    assert acc.ledger["epsilon"].iloc[0] == 0.5
    assert tree.meta["binning"]["kinds"]["age"] == "quantiles"
    with pytest.raises(ValueError, match="binning_epsilon"):
        dp_federated_tree(providers, 1.0, 2, HEART_RANGES, rng=0, classes=[0, 1])
    with pytest.raises(ValueError, match="binning_epsilon"):
        dp_federated_tree(providers, 1.0, 2, Binning.from_ranges(HEART_RANGES, 8), rng=0,
                          classes=[0, 1], binning_epsilon=0.1)
    with pytest.warns(UserWarning, match="classes"):
        dp_federated_tree(providers, 1.0, 1, Binning.from_ranges(HEART_RANGES, 8), PlainAggregator(),
                          rng=0)


# --------------------------------------------------------------- experiments
def test_public_bounds():
    low, high = public_bounds(HEART_RANGES)
    assert len(low) == len(high) == N_FEATURES
    assert (low[0], high[0]) == (20.0, 84.0)     # age range
    assert (low[2], high[2]) == (1.0, 4.0)       # cp codes


def test_accuracy_vs_epsilon_small_grid(heart_split):
    X_train, X_test, y_train, y_test = heart_split
    kwargs = dict(max_depth=3)
    df = accuracy_vs_epsilon(X_train, y_train, X_test, y_test, [0.1, 10.0], [0, 1], **kwargs)
    assert list(df.columns) == ["method", "epsilon", "seed", "accuracy"]
    dp_methods = [METHODS[m] for m in ("central", "distributed", "diffprivlib tree", "diffprivlib forest")]
    assert set(df["method"]) == set(dp_methods) | {METHODS["non-private"]}
    assert len(df) == 4 * 2 * 2 + 2
    for method in dp_methods:
        part = df[df["method"] == method]
        assert sorted(part["epsilon"].unique()) == [0.1, 10.0]
        assert part.groupby("epsilon").size().tolist() == [2, 2]
    assert df["accuracy"].between(0, 1).all()
    plain = df[df["method"] == METHODS["non-private"]]
    assert np.isinf(plain["epsilon"]).all() and plain["accuracy"].nunique() == 1
    central = df[df["method"] == METHODS["central"]].groupby("epsilon")["accuracy"].mean()
    assert central[10.0] > central[0.1] + 0.1
    assert plain["accuracy"].iloc[0] >= central[10.0] - 0.02
    again = accuracy_vs_epsilon(X_train, y_train, X_test, y_test, [0.1, 10.0], [0, 1], **kwargs)
    pd.testing.assert_frame_equal(df, again)
    fig = plot_accuracy_vs_epsilon(df, baseline=float(np.mean(y_test == 0)))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert any(label.startswith(METHODS["non-private"]) for label in labels)


def test_distributed_noise_is_added_by_each_provider_before_sharing():
    """With secret sharing, every published partial sum already carries the providers' noise."""
    import encmed_lib as em
    from encmed_lib.federated import SecretSharingAggregator, Transcript
    from encmed_lib.federated.aggregation import RevealInfo
    from encmed_lib.privacy import DistributedNoise

    tables = {"A": np.full((2, 3, 2), 5), "B": np.full((2, 3, 2), 7), "C": np.full((2, 3, 2), 1)}
    noise = DistributedNoise(1.0, 2, rng=0, clip=False)
    transcript = Transcript()
    info = RevealInfo("counts", "level 0", n_features=2, n_providers=3)
    total = SecretSharingAggregator().aggregate(tables, transcript, noise=noise, info=info)
    shares = noise.provider_shares_["level 0"]
    assert set(shares) == {"A", "B", "C"}
    expected = 13 + sum(shares.values())
    assert np.array_equal(total, expected)  # the noise is inside the secure sum
    # nobody can reconstruct the exact total: the published partial sums add up to the noisy one
    partials = [m.payload for m in transcript.messages if m.kind == "partial-sum"]
    p = SecretSharingAggregator().prime
    summed = [sum(col) % p for col in zip(*partials, strict=True)]
    signed = np.array([v - p if v > p // 2 else v for v in summed]).reshape(total.shape)
    assert np.array_equal(signed, expected)
    assert not np.array_equal(signed, np.full((2, 3, 2), 13)) or not any(s.any() for s in shares.values())
    del em
