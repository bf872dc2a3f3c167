"""Adversarial review of the DP forest: attacks on the release, and input validation.

Each test is an attack or a bad input found in review: it failed before its fix.
"""

from __future__ import annotations

import numpy as np
import pytest

import encmed_lib as em
from encmed_lib.federated import EVERYONE, HEART_RANGES, SecretSharingAggregator, split_providers
from encmed_lib.privacy import SeededSampler, dp_random_forest
from encmed_lib.privacy.forest import leaf_table

CLASSES = [0, 1]


@pytest.fixture(scope="module")
def heart():
    X, y = em.load_heart()
    return em.split_data(X, y, random_state=0)


@pytest.fixture(scope="module")
def providers(heart):
    X_tr, _, y_tr, _ = heart
    return split_providers(X_tr, y_tr, k=3, seed=0)


def _published_sum(forest, prime: int) -> np.ndarray:
    """What any reader of the transcript computes: the sum of the partial sums published to everyone."""
    parts = [m.payload for m in forest.transcript if m.kind == "partial-sum" and m.receiver == EVERYONE]
    assert len(parts) == 3
    summed = [sum(int(v) for v in col) % prime for col in zip(*parts, strict=True)]
    return np.array([v - prime if v > prime // 2 else v for v in summed], dtype=np.int64)


def _exact(providers, forest) -> np.ndarray:
    return sum(leaf_table(p._X, p._y, forest.trees, CLASSES, forest.meta["statistic"])  # noqa: SLF001
               for p in providers)


@pytest.mark.parametrize("epsilon", [0.1, 1.0])
def test_central_secret_sharing_publishes_only_the_noisy_total(providers, epsilon):
    """Attack: add up the partial sums published to everyone; central mode used to give the exact table."""
    agg = SecretSharingAggregator()
    forest = dp_random_forest(providers, epsilon, HEART_RANGES, agg, classes=CLASSES, mode="central",
                              rng=4, sampler=SeededSampler(9))
    published = _published_sum(forest, agg.prime)
    exact = _exact(providers, forest)
    assert not np.array_equal(published, exact)
    noise = SeededSampler(9)(exact.shape, epsilon, forest.meta["n_trees"])
    assert np.array_equal(published, exact + noise)  # exactly the accounted discrete Laplace draw
    assert len(forest.accountant.ledger) == 1 and forest.accountant.spent == epsilon
