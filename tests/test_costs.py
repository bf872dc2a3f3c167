"""Tests of encmed_lib.crypto.costs: operation timings, ciphertext sizes, the figure."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.axes import Axes

from encmed_lib.crypto.costs import (
    OPERATIONS,
    ciphertext_sizes,
    operation_table,
    plot_operation_times,
    time_operations,
)
from encmed_lib.crypto.paillier import generate_keypair


@pytest.fixture(scope="module")
def timings() -> pd.DataFrame:
    return time_operations((1024,), repeats=2, repeats_keygen=1)


def test_time_operations_columns_and_values(timings):
    assert list(timings.columns) == ["key_bits", "operation", "ms"]
    assert list(timings["operation"]) == list(OPERATIONS)
    assert set(timings["key_bits"]) == {1024}
    assert (timings["ms"] > 0).all()
    assert timings["ms"].notna().all()


def test_time_operations_without_keygen_and_with_given_keypair():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the 1024-bit "demonstrations only" warning
        keypair = generate_keypair(1024)
    df = time_operations((1024,), repeats=1, repeats_keygen=0, keypairs={1024: keypair})
    assert "key generation (phe)" not in set(df["operation"])
    assert len(df) == len(OPERATIONS) - 1


def test_time_operations_emits_no_warning(recwarn):
    time_operations((1024,), repeats=1, repeats_keygen=0)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_operation_table_keeps_operation_order(timings):
    table = operation_table(timings)
    assert list(table.index) == list(OPERATIONS)
    assert list(table.columns) == [1024]


def test_ciphertext_sizes():
    sizes = ciphertext_sizes((1024, 2048))
    assert list(sizes.columns) == ["key_bits", "plaintext_bits", "ciphertext_bytes", "base64_chars"]
    assert list(sizes["ciphertext_bytes"]) == [256, 512]
    assert list(sizes["plaintext_bits"]) == [1024, 2048]
    assert list(sizes["base64_chars"]) == [344, 684]


def test_plot_operation_times_one_bar_per_operation_and_key_size(timings):
    other = timings.assign(key_bits=2048, ms=timings["ms"] * 5)
    df = pd.concat([timings, other], ignore_index=True)
    ax = plot_operation_times(df)
    try:
        assert isinstance(ax, Axes)
        assert len(ax.patches) == len(OPERATIONS) * 2
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_yticklabels()] == list(OPERATIONS)
        assert len(ax.get_legend().get_texts()) == 2
    finally:
        plt.close(ax.figure)


def test_plot_operation_times_on_given_axes(timings):
    fig, ax = plt.subplots()
    try:
        assert plot_operation_times(timings, ax=ax) is ax
        assert len(ax.patches) == len(OPERATIONS)
    finally:
        plt.close(fig)
