"""The evaluation's bytes and throughput figures: every line labelled, nothing under the legend.

Drawn from made-up tables shaped as the cost report's and the throughput table's (no timing is
measured here), then rendered with Agg to read where each artist lands.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D
from matplotlib.text import Text

from encmed_lib import evaluation
from encmed_lib.errors import ArgumentError
from encmed_lib.scale import plot_throughput


def rendered(fig):
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def legends(fig):
    found = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert found, "the figure has no legend"
    return found


def texts_outside_legends(fig, legend_list):
    inside = {id(t) for lg in legend_list for t in lg.findobj(Text)}
    return [t for t in fig.findobj(Text) if id(t) not in inside and t.get_visible() and t.get_text().strip()]


def assert_nothing_under_the_legend(fig):
    renderer = rendered(fig)
    legend_list = legends(fig)
    for legend in legend_list:
        box = legend.get_window_extent(renderer)
        for text in texts_outside_legends(fig, legend_list):
            assert not box.overlaps(text.get_window_extent(renderer)), f"{text.get_text()!r} under the legend"
    return renderer, legend_list


def cost_table():
    """The bytes columns of cost_report()["cost"], CKKS's setup bytes the longest bar (as measured)."""
    nan = math.nan
    return pd.DataFrame({
        "mode": ["basic", "label-only", "basic", "label-only", "linear", "ckks"],
        "parameters": ["Paillier 1024 bits"] * 5 + ["N = 8192, primes [60, 40, 40, 60]"],
        "key_bits": pd.array([1024] * 5 + [None], dtype="Int64"),
        "max_depth": pd.array([3, 3, 4, 4, None, None], dtype="Int64"),
        "depth": pd.array([3, 3, 4, 4, None, None], dtype="Int64"),
        "bytes_to_server": [7631, 63004, 7631, 69859, 7600, 442_100],
        "bytes_to_client": [1452, 14124, 2565, 29628, 580, 175_000],
        "setup_bytes": [0, 0, 0, 0, 0, 47_000_000],
        "total_ms": [3.0, 40.0, 5.0, 90.0, 3.0, nan]})


def test_bytes_by_mode_legend_is_clear_of_every_label_and_bar():
    fig = evaluation.plot_bytes_by_mode(cost_table())
    renderer, (legend,) = assert_nothing_under_the_legend(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in legend.get_texts()] == ["client -> server", "server -> client",
                                                           "once per client key"]
    # the legend sits outside the axes, so no bar runs under it either
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    # every value label (the 47.0 MB of CKKS's context included) lies inside the axes
    frame = ax.get_window_extent(renderer)
    labels = [t for t in ax.texts if re.fullmatch(r"[\d.]+ (MB|kB|B)", t.get_text())]
    assert "47.0 MB" in [t.get_text() for t in labels]
    for text in labels:
        box = text.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1, f"{text.get_text()} runs out of the axes"
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[:2] == ["basic, 1024 bits, depth 4", "label-only, 1024 bits, depth 4"]


def throughput_table():
    """Shaped as evaluation.throughput_table's output (made-up speeds)."""
    df = pd.DataFrame({"engine": ["joblib", "joblib", "dask", "dask"], "workers": [1, 2, 1, 2],
                       "patients": 500, "seconds": [13.4, 12.0, 9.5, 9.0],
                       "patients_per_s": [37.2, 41.5, 52.6, 55.4]})
    df["speedup"] = [1.0, 41.5 / 37.2, 1.0, 55.4 / 52.6]
    df.attrs.update(key_bits=1024, depth=4, cores=2, same_labels=True)
    return df


def test_throughput_names_key_size_depth_and_every_line():
    fig = plot_throughput(throughput_table())
    ax = fig.axes[0]
    title = ax.get_title()
    assert "1024-bit" in title and "depth-4" in title and "500 patients" in title and "2 CPU cores" in title
    assert "dashed" in title
    lines = [line for line in ax.get_lines() if isinstance(line, Line2D)]
    assert len(lines) == 4
    renderer, (legend,) = assert_nothing_under_the_legend(fig)
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    entries = [t.get_text() for t in legend.get_texts()]
    assert entries == ["joblib: measured", "joblib: linear scaling from 1 worker", "dask: measured",
                       "dask: linear scaling from 1 worker"]
    assert [line.get_label() for line in lines] == entries  # every line drawn is in the legend
    for measured, ideal in (lines[:2], lines[2:]):
        assert measured.get_linestyle() == "-" and ideal.get_linestyle() == "--"
        assert measured.get_color() == ideal.get_color()  # an engine and its ideal share a colour
        first = measured.get_ydata()[0]
        assert list(ideal.get_ydata()) == pytest.approx([first, 2 * first])
    assert lines[0].get_color() != lines[2].get_color()
    assert ax.get_xlabel() == "workers (processes)" and ax.get_ylabel() == "patients per second"


def test_throughput_reads_the_report_columns_and_explicit_arguments():
    report_table = throughput_table()
    report_table.insert(1, "key_bits", 2048)
    report_table.insert(2, "depth", 5)
    report_table.attrs.clear()
    title = plot_throughput(report_table).axes[0].get_title()
    assert "2048-bit" in title and "depth-5" in title and "CPU cores" not in title
    # the report's wrapper draws the same figure
    assert evaluation.plot_throughput(report_table).axes[0].get_title() == title
    bare = throughput_table()
    bare.attrs.clear()
    title = plot_throughput(bare, key_bits=3072, depth=6).axes[0].get_title()
    assert "3072-bit" in title and "depth-6" in title
    with pytest.raises(ArgumentError, match="key size and the tree depth"):
        plot_throughput(bare)
    with pytest.raises(ArgumentError, match="at least one measured row"):
        plot_throughput(bare.iloc[:0], key_bits=1024, depth=4)
