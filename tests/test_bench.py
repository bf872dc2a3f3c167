"""Tests of encmed_lib.bench: the per-patient breakdown, its figure and measure().

Timings are never asserted beyond "positive": they depend on the machine.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

import encmed_lib as em
from encmed_lib.bench import PHASES, latency_breakdown, measure, plot_latency_breakdown

COLUMNS = ["fill_pool", "encrypt", "evaluate", "decrypt", "total", "query_bytes", "reply_bytes",
           "label", "expected", "agrees"]
MEASURE_KEYS = {"key_bits", "depth", "internal_nodes", "encrypt_ms", "encrypt_no_pool_ms", "evaluate_ms",
                "decrypt_ms", "total_ms", "total_no_pool_ms", "setup_ms", "all_work_ms_per_patient",
                "query_bytes", "reply_bytes", "agreement"}


@pytest.fixture(scope="module")
def setting():
    X, y = em.load_heart()
    X_train, X_test, y_train, _ = em.split_data(X, y, random_state=0)
    tree = em.train_tree(X_train, y_train, max_depth=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 1024 bits: a test-only key size
        client = em.Client(key_bits=1024)
    return tree, em.TreeServer(tree), client, X_test.iloc[:5]


@pytest.fixture(scope="module")
def breakdowns(setting):
    tree, server, client, X = setting
    return {"pool": latency_breakdown(client, server, X, precompute=True, tree=tree),
            "no pool": latency_breakdown(client, server, X, precompute=False)}


def test_latency_breakdown_columns_and_agreement(setting, breakdowns):
    tree, _, _, X = setting
    for df in breakdowns.values():
        assert list(df.columns) == COLUMNS
        assert list(df.index) == list(X.index)
        assert df["agrees"].all()
        assert list(df["label"]) == list(tree.predict(X))
        assert df.attrs["key_bits"] == 1024
    assert breakdowns["pool"].attrs["precompute"] is True
    assert breakdowns["no pool"].attrs["precompute"] is False


def test_latency_breakdown_times_are_positive(breakdowns):
    for df in breakdowns.values():
        assert (df[list(PHASES)] > 0).all().all()
        assert (df["total"] >= df[list(PHASES)].sum(axis=1) * 0.99).all()
    assert (breakdowns["pool"]["fill_pool"] > 0).all()
    assert (breakdowns["no pool"]["fill_pool"] == 0).all()


def test_latency_breakdown_sizes_follow_the_key(setting, breakdowns):
    _, server, client, X = setting
    df = breakdowns["pool"]
    ct_bytes = client.public_key.ciphertext_bytes
    assert ct_bytes == 256
    # 13 base64 ciphertexts of 256 bytes each, plus the key and the names
    assert (df["query_bytes"] > X.shape[1] * ct_bytes).all()
    assert (df["query_bytes"] > X.shape[1] * 4 * ct_bytes // 3).all()
    # the reply: one pack per slots_per_pack values, each a base64 ciphertext
    assert (df["reply_bytes"] > 2 * 4 * ct_bytes // 3).all()
    assert df["reply_bytes"].nunique() == 1  # fixed given the key size and the tree


def test_plot_latency_breakdown_segments(breakdowns):
    fig = plot_latency_breakdown(breakdowns["pool"])
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].patches) == 3
    plt.close(fig)
    fig = plot_latency_breakdown(breakdowns, title="two configurations")
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * len(breakdowns)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(breakdowns)
    assert ax.get_title(loc="left") == "two configurations"
    plt.close(fig)


def test_plot_latency_breakdown_on_given_axes(breakdowns):
    fig, ax = plt.subplots()
    assert plot_latency_breakdown(breakdowns, ax=ax) is fig
    plt.close(fig)


def test_measure_reports_agreement_and_keys(setting):
    tree, _, _, X = setting
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = measure(tree, X, 1024, rows=5)
    assert set(result) == MEASURE_KEYS
    assert result["agreement"] == "5/5"
    assert result["key_bits"] == 1024 and result["depth"] == 4
    assert result["internal_nodes"] == 15
    for key in ("encrypt_ms", "encrypt_no_pool_ms", "evaluate_ms", "decrypt_ms", "total_ms"):
        assert result[key] > 0


def test_measure_label_only_reports_phases_bytes_ratio_and_agreement():
    from encmed_lib.bench_label_only import measure_label_only

    X, y = em.load_heart()
    tree = em.train_tree(X, y, max_depth=2, random_state=0)
    row = measure_label_only(tree, X, 1024, rows=3, phe_ms=2.0)
    assert row["agreement"] == "3/3" and row["mode"] == "label-only" and row["leaves"] == 4
    assert row["comparisons"] == 3 and row["width"] == 10
    phases = ["encrypt_ms", "compare_ms", "answer_ms", "finish_ms", "decrypt_ms"]
    assert all(row[p] > 0 for p in phases)
    assert abs(row["all_work_ms"] - sum(row[p] for p in phases) - row["keygen_ms_per_patient"]) < 1e-9
    assert row["phe_encryptions"] == row["all_work_ms"] / 2.0
    # 3 comparisons of 10 values each come back, one 128-byte (1024-bit) ciphertext each, as base64
    assert row["bytes_to_client"] > 3 * 10 * 128 * 4 // 3
    padded = measure_label_only(tree, X, 1024, rows=1, depth=3, phe_ms=2.0)
    assert (padded["comparisons"], padded["leaves"]) == (7, 8) and "padded" in padded["mode"]


def test_refusal_times_cover_every_malformed_key():
    from encmed_lib.bench_label_only import refusal_times

    df = refusal_times(1024)
    assert len(df) == 7 and (df["refused_in_ms"] >= 0).all()
