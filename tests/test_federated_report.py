"""Tests of encmed_lib.federated.report: transcript tables, provider view, back-end costs, tree comparison.

Paillier keys are 1024 bits (tests only).
"""

from __future__ import annotations

import functools
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.tree import DecisionTreeClassifier

import encmed_lib as em
from encmed_lib.crypto.paillier import generate_keypair
from encmed_lib.federated import (
    HEART_RANGES,
    MERSENNE_127,
    Binning,
    Codes,
    FederatedTreeTrainer,
    PaillierAggregator,
    PlainAggregator,
    Provider,
    SecretSharingAggregator,
    split_providers,
)
from encmed_lib.federated.report import (
    TABLE_KINDS,
    backend_label,
    compare_backends,
    decisive_ties,
    plot_backend_cost,
    provider_view,
    received_table,
    rounds_table,
    same_tree,
    table_index,
    tree_differences,
)


@functools.lru_cache(maxsize=1)
def keypair_1024():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return generate_keypair(1024)


@pytest.fixture(scope="module")
def heart_split():
    X, y = em.load_heart()
    return em.split_data(X, y, random_state=0)


@pytest.fixture(scope="module")
def binning() -> Binning:
    return Binning.from_ranges(HEART_RANGES, 16)


@pytest.fixture(scope="module")
def providers(heart_split):
    X_train, _, y_train, _ = heart_split
    return split_providers(X_train, y_train, k=3, sizes=(0.5, 0.3, 0.2), seed=0)


@pytest.fixture(scope="module")
def trained(providers, binning):
    trainer = FederatedTreeTrainer(4, binning, SecretSharingAggregator())
    trainer.fit(providers)
    return trainer


# ------------------------------------------------------------- transcript tables
def test_rounds_table(trained):
    table = rounds_table(trained.transcript_)
    assert list(table.index) == ["level 0", "level 1", "level 2", "level 3"]
    assert list(table.columns) == ["query", "share", "partial-sum", "split", "bytes"]
    # K = 3 providers: 3 queries, 6 shares, 3 partial sums, 3 split announcements per level
    assert table.drop(columns="bytes").to_numpy().tolist() == [[3, 6, 3, 3]] * 4
    assert table["bytes"].sum() == trained.transcript_.total_bytes
    assert table["bytes"].is_monotonic_increasing  # more open nodes, bigger tables


def test_received_table_shows_no_provider_gets_a_table(trained, providers):
    names = [p.name for p in providers]
    table = received_table(trained.transcript_, names)
    assert list(table.index) == names
    assert not set(TABLE_KINDS) & set(table.columns)
    assert (table["share"] == 2 * 4).all() and (table["partial-sum"] == 2 * 4).all()
    everyone = received_table(trained.transcript_)
    assert "coordinator" in everyone.index


def test_plain_aggregator_receives_tables(providers, binning):
    trainer = FederatedTreeTrainer(2, binning, PlainAggregator())
    trainer.fit(providers)
    table = received_table(trainer.transcript_)
    assert table.loc["aggregator", "table"] == 3 * 2
    assert (table.loc[[p.name for p in providers], "table"] == 0).all()


def test_table_index_matches_the_flat_tables(binning, providers):
    index = table_index(binning, [0, 1], nodes=(0, 1))
    assert len(index) == 2 * sum(binning.n_bins.values()) * 2
    assert index.names == ["node", "feature", "bin", "class"]
    assert index[0] == (0, "age", "age <= 24", 0)
    assert (0, "age", "52 < age <= 56", 1) in index
    assert (1, "thal", "thal > 6", 1) in index
    p = providers[0]
    p.prepare(binning, [0, 1])
    flat = binning.flatten(p.count_tables([0]))[0]
    assert len(flat) == len(table_index(binning, [0, 1]))


# ----------------------------------------------------------------- provider view
@pytest.mark.parametrize("round_", ["level 0", "level 1", "level 2", "level 3"])
def test_provider_view_own_tables_add_up_to_the_total(trained, providers, round_):
    views = [provider_view(trained, p, round=round_, nonzero=False) for p in providers]
    total = views[0]["total"]
    assert all(v["total"].equals(total) for v in views)
    own = sum(v["own table"] for v in views)
    pd.testing.assert_series_equal(own, total, check_names=False)
    assert (total >= 0).all() and total.sum() > 0
    for p, v in zip(providers, views, strict=True):
        share_cols = [c for c in v.columns if c.startswith("share from")]
        peers = {q.name for q in providers} - {p.name}
        assert {c.removeprefix("share from ") for c in share_cols} == peers
        for c in share_cols:
            assert all(isinstance(s, int) and 0 <= s < MERSENNE_127 for s in v[c])
    # the tree stays what it was
    assert trained.tree_.depth == 4


def test_provider_view_filters_and_refuses(trained, providers, binning):
    view = provider_view(trained, providers[2], feature="age")
    assert set(view.index.get_level_values("feature")) == {"age"}
    assert (view["total"] != 0).all()
    with pytest.raises(ValueError, match="no round"):
        provider_view(trained, providers[0], round="level 9")
    with pytest.raises(ValueError, match="unknown feature"):
        provider_view(trained, providers[0], feature="smoker")
    stranger = Provider("hospital-Z", providers[0]._X, providers[0]._y)
    with pytest.raises(ValueError, match="no share"):
        provider_view(trained, stranger)
    plain = FederatedTreeTrainer(1, binning, PlainAggregator())
    plain.fit(providers)
    with pytest.raises(ValueError, match="SecretSharingAggregator"):
        provider_view(plain, providers[0])


# ------------------------------------------------------------------- back-ends
def test_compare_backends(providers, binning):
    paillier = PaillierAggregator(keypair=keypair_1024())
    backends = [PlainAggregator(), SecretSharingAggregator(), paillier,
                PaillierAggregator(keypair=keypair_1024(), pack=False)]
    df, trainers = compare_backends(providers, binning, 2, backends, return_trainers=True)
    assert list(df.index) == ["plain", "secret sharing", "paillier 1024", "paillier 1024, unpacked"]
    assert df["same tree"].all() and (df["rounds"] == 2).all()
    assert set(trainers) == set(df.index)
    for label, trainer in trainers.items():
        assert df.loc[label, "bytes"] == trainer.transcript_.total_bytes
        assert df.loc[label, "messages"] == len(trainer.transcript_)
    # packing: far fewer bytes than one ciphertext per count
    assert df.loc["paillier 1024", "bytes"] * 10 < df.loc["paillier 1024, unpacked", "bytes"]
    # secret sharing: each provider sends 2 shares + 1 partial sum of 16-byte values per count
    assert df.loc["secret sharing", "bytes per provider"] > df.loc["plain", "bytes per provider"]
    # bytes and messages do not depend on the run (the random values have fixed sizes)
    again = compare_backends(providers, binning, 2, {"ss": SecretSharingAggregator(),
                                                     "he": PaillierAggregator(keypair=keypair_1024())})
    assert again.loc["ss", "bytes"] == df.loc["secret sharing", "bytes"]
    assert again.loc["he", "bytes"] == df.loc["paillier 1024", "bytes"]
    with pytest.raises(ValueError, match="distinct"):
        compare_backends(providers, binning, 1, [PlainAggregator(), PlainAggregator()])
    with pytest.raises(ValueError, match="no back-end"):
        compare_backends(providers, binning, 1, [])


def test_backend_label():
    assert backend_label(PlainAggregator()) == "plain"
    assert backend_label(SecretSharingAggregator()) == "secret sharing"
    assert backend_label(PaillierAggregator(keypair=keypair_1024(), pack=False)) == "paillier 1024, unpacked"


def test_plot_backend_cost():
    df = pd.DataFrame({"seconds": [0.01, 0.03, 0.2], "messages": [40, 60, 47],
                       "bytes": [102300, 448380, 136940],
                       "bytes per provider": [24720, 148320, 26624]},
                      index=pd.Index(["plain", "secret sharing", "paillier 2048"], name="backend"))
    before = plt.get_fignums()
    fig = plot_backend_cost(df)
    assert plt.get_fignums() == before  # not registered with pyplot
    assert isinstance(fig, Figure)
    ax_b, ax_t = fig.axes
    assert ax_b.get_xscale() == ax_t.get_xscale() == "log"
    assert len(ax_b.patches) == 2 * len(df) and len(ax_t.patches) == len(df)
    assert [t.get_text() for t in ax_b.get_yticklabels()] == list(df.index)
    assert ax_b.get_title() and ax_t.get_title() and ax_b.get_xlabel()
    texts = {t.get_text() for t in ax_b.texts}
    assert {"102.3 kB", "448.4 kB", "24.7 kB"} <= texts
    with pytest.raises(ValueError, match="seconds"):
        plot_backend_cost(df.drop(columns="seconds"))


# ------------------------------------------------------------- tree comparison
def test_same_tree_as_sklearn_on_binned_data(trained, heart_split, binning):
    X_train, X_test, y_train, _ = heart_split
    assert decisive_ties(trained) == []
    sk = DecisionTreeClassifier(criterion="gini", max_depth=4, random_state=0)
    sk.fit(binning.transform(X_train), y_train)
    assert tree_differences(trained, sk, X_train) == []
    assert same_tree(trained, sk, X_test)
    assert same_tree(trained, em.PortableTree.from_sklearn(sk))


def test_different_trees_are_reported(trained, heart_split, binning):
    X_train, _, y_train, _ = heart_split
    B = binning.transform(X_train)
    deeper = DecisionTreeClassifier(max_depth=5, random_state=0).fit(B, y_train)
    assert not same_tree(trained, deeper)
    assert "nodes" in tree_differences(trained, deeper)[0]
    # same size, other data: the root counts differ
    half = DecisionTreeClassifier(max_depth=4, random_state=0).fit(B.iloc[::2], y_train.iloc[::2])
    diffs = tree_differences(trained, half)
    assert diffs and not same_tree(trained, half)
    # raw data instead of bins: thresholds in raw units, not bin midpoints
    raw = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X_train, y_train)
    assert not same_tree(trained, raw)


def test_decisive_ties_are_found():
    """XOR-like data: both features tie at the root, the tie-break rule decides."""
    X = pd.DataFrame({"a": [0, 0, 1, 1] * 5, "b": [0, 1, 0, 1] * 5})
    y = np.array([0, 1, 1, 0] * 5)
    binning = Binning.from_ranges({"a": Codes(0, 1), "b": Codes(0, 1)})
    parts = [Provider(n, X.iloc[i::3], y[i::3]) for i, n in enumerate("PQR")]
    trainer = FederatedTreeTrainer(2, binning, PlainAggregator())
    trainer.fit(parts)
    ties = decisive_ties(trainer)
    assert ties and ties[0].node == 0 and ties[0].margin == 0
