"""Tests of the membership-inference attack (encmed_lib.membership).

* a fully grown tree and a 1-nearest-neighbour model leak: clearly positive
  advantage on the heart sample (measured: about 0.14 and 0.35), far above
  the level reached by shuffled labels;
* a model with constant probabilities leaks nothing (advantage 0, AUC 0.5);
* the advantage is in [0, 1], the confidence and loss scores agree, and a
  seed fixes everything;
* advantage_vs_epsilon: expected rows, the deep non-private tree leaks more
  than a DP tree at epsilon = 0.1, reproducible; the figure is drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

import encmed_lib as em
from encmed_lib.membership import (
    advantage_vs_epsilon,
    dp_advantage_bound,
    membership_advantage,
    plot_advantage_vs_epsilon,
    true_label_confidence,
)


@pytest.fixture(scope="module")
def heart_split():
    X, y = em.load_heart()
    return em.split_data(X, y, random_state=0)  # X_train, X_test, y_train, y_test


def attack(model, heart_split, **kwargs):
    X_train, X_test, y_train, y_test = heart_split
    return membership_advantage(model.predict_proba, X_train, y_train, X_test, y_test, **kwargs)


@pytest.mark.parametrize("model, at_least", [
    (DecisionTreeClassifier(random_state=0), 0.08),   # fully grown: measured 0.14
    (KNeighborsClassifier(n_neighbors=1), 0.25),      # measured 0.35
])
def test_overfitted_models_leak_membership(heart_split, model, at_least):
    X_train, _, y_train, _ = heart_split
    model.fit(X_train, y_train)
    result = attack(model, heart_split, seed=0, n_permutations=20)
    assert result["n_members"] == result["n_nonmembers"] == 177  # balanced: 177 held-out records
    assert at_least < result["advantage"] <= 1
    assert result["advantage"] > result["chance_advantage"] + 0.05
    assert result["auc"] > 0.5 + at_least / 2
    assert result["best_threshold"] == 1.0          # "member" iff the model is certain
    assert result["yeom_advantage"] > at_least      # the fixed-threshold attack works too


def test_constant_model_leaks_nothing(heart_split):
    X_train, X_test, y_train, y_test = heart_split

    def uniform(X):
        return np.full((len(X), 2), 0.5)

    result = membership_advantage(uniform, X_train, y_train, X_test, y_test, classes=[0, 1])
    assert result["advantage"] == 0.0 and result["auc"] == 0.5

    def skewed(X):  # constant, but the true label's probability depends on the label
        return np.tile([0.3, 0.7], (len(X), 1))

    for seed in range(5):
        result = membership_advantage(skewed, X_train, y_train, X_test, y_test, classes=[0, 1],
                                      seed=seed)
        assert 0.0 <= result["advantage"] <= 0.06  # only the class mix of the subsample differs


def test_advantage_is_in_unit_interval_and_scores_agree():
    rng = np.random.default_rng(0)
    X_m, X_n = rng.normal(size=(60, 2)), rng.normal(size=(80, 2))
    y_m, y_n = rng.integers(0, 3, 60), rng.integers(0, 3, 80)
    for trial in range(10):
        weights = np.random.default_rng(trial).normal(size=(2, 3))

        def proba(X, w=weights):
            e = np.exp(np.asarray(X) @ w)
            return e / e.sum(axis=1, keepdims=True)

        conf = membership_advantage(proba, X_m, y_m, X_n, y_n, classes=[0, 1, 2], seed=trial)
        loss = membership_advantage(proba, X_m, y_m, X_n, y_n, classes=[0, 1, 2], seed=trial,
                                    score="loss")
        assert 0.0 <= conf["advantage"] <= 1.0 and 0.0 <= conf["auc"] <= 1.0
        assert conf["advantage"] == pytest.approx(loss["advantage"])
        assert conf["auc"] == pytest.approx(loss["auc"])
        assert conf["n_members"] == conf["n_nonmembers"] == 60


def test_attack_is_deterministic_with_seeds(heart_split):
    X_train, _, y_train, _ = heart_split
    model = DecisionTreeClassifier(max_depth=6, random_state=0).fit(X_train, y_train)
    a = attack(model, heart_split, seed=3, n_permutations=10)
    b = attack(model, heart_split, seed=3, n_permutations=10)
    assert a == b
    c = attack(model, heart_split, seed=4, n_permutations=10)
    assert c["n_members"] == a["n_members"]  # another subsample of members, same size


def test_attack_refuses_bad_input(heart_split):
    X_train, X_test, y_train, y_test = heart_split
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X_train, y_train)
    with pytest.raises(ValueError, match="not one of the model's classes"):
        true_label_confidence(model.predict_proba, X_test, np.full(len(X_test), 5), [0, 1])
    with pytest.raises(ValueError, match="shape"):
        membership_advantage(model.predict_proba, X_train, y_train, X_test, y_test, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="score"):
        membership_advantage(model.predict_proba, X_train, y_train, X_test, y_test, score="margin")


def test_dp_bound():
    assert dp_advantage_bound(0.0) == 0.0
    assert float(dp_advantage_bound(1.0)) == pytest.approx((math.e - 1) / (math.e + 1))
    assert float(dp_advantage_bound(10.0)) > 0.999


def test_advantage_vs_epsilon(heart_split):
    X_train, X_test, y_train, y_test = heart_split
    args = (X_train, y_train, X_test, y_test, [0.1, 10.0], [0, 1])
    df = advantage_vs_epsilon(*args, n_permutations=5)
    methods = {"non-private tree (depth 8)", "non-private tree (depth 4)",
               "DP federated tree (central, depth 8)", "DP federated tree (central, depth 4)"}
    assert set(df["method"]) == methods
    assert len(df) == 2 * (2 + 2 * 2)
    assert df["advantage"].between(0, 1).all() and df["auc"].between(0, 1).all()
    plain = df[np.isinf(df["epsilon"])]
    assert set(plain["depth"]) == {4, 8}
    deep = plain[plain["depth"] == 8]
    assert (deep["train_accuracy"] > deep["test_accuracy"] + 0.1).all()  # it over-fits
    assert deep["advantage"].mean() > 0.1
    dp_small = df[(df["epsilon"] == 0.1) & df["method"].str.startswith("DP")]
    assert deep["advantage"].mean() > dp_small["advantage"].mean() + 0.05
    again = advantage_vs_epsilon(*args, n_permutations=5)
    pd.testing.assert_frame_equal(df, again)
    for value in ("advantage", "auc"):
        fig = plot_advantage_vs_epsilon(df, value=value)
        assert isinstance(fig, Figure) and fig.axes[0].get_xscale() == "log"
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any("bound" in label for label in labels)
