"""Tests of encmed_lib.plots: each helper returns a labelled Figure with the expected marks."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import encmed_lib as em
from encmed_lib import plots
from encmed_lib.data.paths import data_dir
from encmed_lib.tree import depth_curve

HEART_FEATURES = ["cp", "thalach", "oldpeak", "ca", "thal", "age"]


@pytest.fixture(scope="module")
def heart() -> tuple[pd.DataFrame, pd.Series]:
    return em.load_heart()


@pytest.fixture(scope="module")
def synthea() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    return em.load_synthea(data_dir() / "synthea_sample")


@pytest.fixture(scope="module")
def heart_split(heart):
    X, y = heart
    return em.split_data(X, y, test_size=0.3, random_state=0)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close every figure a test made, whether or not pyplot knows about it."""
    before = set(plt.get_fignums())
    yield
    for num in set(plt.get_fignums()) - before:
        plt.close(num)


def bars(ax) -> list[Rectangle]:
    """The bars of an axes (the patches drawn by ``bar``/``barh``/``hist``)."""
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def assert_labelled(ax) -> None:
    assert ax.get_xlabel(), "x axis has no label"
    assert ax.get_ylabel(), "y axis has no label"
    assert ax.get_title(), "axes has no title"


def test_no_figure_registered_with_pyplot(heart):
    X, y = heart
    before = plt.get_fignums()
    fig = plots.plot_class_balance(y)
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # shown once in a notebook, never auto-shown


def test_class_balance_one_bar_per_class(heart):
    _, y = heart
    fig = plots.plot_class_balance(y, title="balance")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert_labelled(ax)
    assert ax.get_title() == "balance"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["no disease", "disease"]
    heights = [b.get_height() for b in bars(ax)]
    assert heights == [int((y == 0).sum()), int((y == 1).sum())]
    assert len(ax.texts) == 2  # annotated counts


def test_class_balance_without_names_uses_labels():
    fig = plots.plot_class_balance(np.array([2, 5, 5, 7]), class_names=None)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "5", "7"]
    assert [b.get_height() for b in bars(ax)] == [1, 2, 1]


def test_feature_by_class_grid(heart):
    X, y = heart
    fig = plots.plot_feature_by_class(X, y, HEART_FEATURES)
    assert len(fig.axes) == len(HEART_FEATURES)  # 2 x 3 grid, nothing left over
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["no disease", "disease"]
    for ax, feature in zip(fig.axes, HEART_FEATURES, strict=True):
        assert_labelled(ax)
        assert ax.get_title().startswith(feature)
    by_name = dict(zip(HEART_FEATURES, fig.axes, strict=True))
    assert by_name["cp"].get_title() == "cp: chest-pain type"
    # cp has codes 1-4: 4 codes x 2 classes grouped bars, each class summing to 100 %.
    cp_bars = bars(by_name["cp"])
    assert len(cp_bars) == 8
    assert sum(b.get_height() for b in cp_bars) == pytest.approx(200)
    # ... named by the UCI codebook, the code in brackets
    assert [t.get_text() for t in by_name["cp"].get_xticklabels()] == [
        "typical\nangina\n(1)", "atypical\nangina\n(2)", "non-anginal\npain\n(3)", "asympto-\nmatic\n(4)"]
    assert by_name["cp"].get_xlabel() == "cp"
    # thalach is continuous: 2 histograms with the same 15 bins, its unit from the schema.
    assert len(bars(by_name["thalach"])) == 30
    assert by_name["thalach"].get_xlabel() == "thalach (beats/min)"
    assert by_name["oldpeak"].get_xlabel() == "oldpeak (mm)"
    assert by_name["age"].get_xlabel() == "age (years)"


def test_feature_by_class_units_and_code_names_follow_the_schema_and_layout(heart):
    from encmed_lib.data.schema import HEART

    X, y = heart
    assert plots.feature_units(list(X.columns)) == {f.name: f.unit for f in HEART.features if f.unit}
    assert plots.feature_units(["no such column"]) == {}
    # a table of another layout (Kaggle codes) keeps numbered codes: its codes mean other things
    kaggle = X.copy()
    kaggle.attrs["layout"] = "kaggle"
    ax = plots.plot_feature_by_class(kaggle, y, ["cp"]).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]
    assert ax.get_xlabel() == "cp (code)"
    # explicit units and names win; a mapping that misses a code keeps the numbers
    fig = plots.plot_feature_by_class(X, y, ["thalach", "cp"], units={"thalach": "bpm"},
                                      code_names={"cp": {1: "one"}})
    assert fig.axes[0].get_xlabel() == "thalach (bpm)"
    assert fig.axes[1].get_xlabel() == "cp (code)"


def test_feature_by_class_leftover_cells_removed_and_explicit_categorical(synthea):
    X, y, _ = synthea
    fig = plots.plot_feature_by_class(X, y, ["age", "ldl", "smoking", "diabetes"],
                                      class_names=("no CHD", "CHD"), ncols=3,
                                      categorical=["smoking"])
    assert len(fig.axes) == 4
    by_name = {ax.get_title(): ax for ax in fig.axes}
    assert len(bars(by_name["smoking"])) == 3 * 2
    assert by_name["diabetes"].get_xlabel() == "diabetes"  # not in `categorical`: histogram
    # ldl has missing values: they are left out, the shares still sum to 100 % per class.
    assert X["ldl"].isna().any()
    assert sum(b.get_height() for b in bars(by_name["ldl"])) == pytest.approx(200)


def test_feature_by_class_rejects_bad_input(heart):
    X, y = heart
    with pytest.raises(KeyError):
        plots.plot_feature_by_class(X, y, ["nope"])
    with pytest.raises(ValueError):
        plots.plot_feature_by_class(X, y[:10], ["age"])


def test_correlation_with_target_sorted_bars(heart, synthea):
    X, y = heart
    fig = plots.plot_correlation_with_target(X, y)
    (ax,) = fig.axes
    assert_labelled(ax)
    widths = [b.get_width() for b in bars(ax)]
    assert len(widths) == X.shape[1]
    assert widths == sorted(widths)  # drawn bottom to top: most positive on top
    expected = X.corrwith(y.astype(float)).sort_values()
    assert widths == pytest.approx(expected.to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == list(expected.index)

    Xs, ys, _ = synthea  # missing values are handled pairwise
    fig = plots.plot_correlation_with_target(Xs, ys)
    assert len(bars(fig.axes[0])) == Xs.shape[1]


def test_correlation_skips_constant_columns():
    X = pd.DataFrame({"a": [1.0, 2, 3, 4], "constant": [5.0] * 4})
    fig = plots.plot_correlation_with_target(X, [0, 0, 1, 1])
    assert len(bars(fig.axes[0])) == 1


def test_providers_letters_by_size_and_mapping(synthea):
    _, y, org = synthea
    fig, mapping = plots.plot_providers(org, y, positive_name="CHD")
    sizes = org.value_counts()
    assert list(mapping) == list(sizes.index)  # largest first
    assert list(mapping.values()) == [f"provider {c}" for c in "ABCD"]
    ax_n, ax_rate = fig.axes
    for ax in (ax_n, ax_rate):
        assert_labelled(ax)
        assert [t.get_text() for t in ax.get_xticklabels()] == list(mapping.values())
    assert [b.get_height() for b in bars(ax_n)] == sizes.tolist()
    rates = y.groupby(org).mean().loc[list(mapping)] * 100
    assert [b.get_height() for b in bars(ax_rate)] == pytest.approx(rates.to_numpy())
    (overall,) = ax_rate.get_lines()
    assert overall.get_linestyle() == "--"
    assert overall.get_ydata()[0] == pytest.approx(100 * y.mean())


def test_provider_labels_ties_and_many_organizations():
    orgs = ["z", "z", "b", "a"] + [f"o{i:02d}" for i in range(30)]
    mapping = plots.provider_labels(orgs)
    assert mapping["z"] == "provider A"
    assert mapping["a"] == "provider B"  # ties broken by id
    assert mapping["b"] == "provider C"
    assert sorted(mapping.values())[:2] == ["provider A", "provider AA"]
    assert len(set(mapping.values())) == len(mapping) == 33


def test_depth_curve_lines_and_baseline(heart_split):
    X_train, X_test, y_train, y_test = heart_split
    df = depth_curve(X_train, y_train, X_test, y_test, depths=range(1, 5))
    fig = plots.plot_depth_curve(df, baseline=0.54)
    (ax,) = fig.axes
    assert_labelled(ax)
    lines = ax.get_lines()
    assert len(lines) == 3
    assert list(lines[0].get_xdata()) == [1, 2, 3, 4]
    assert list(lines[1].get_ydata()) == pytest.approx(df["test_accuracy"].to_numpy())
    assert lines[2].get_linestyle() == "--"
    assert len(ax.get_legend().get_texts()) == 3

    fig = plots.plot_depth_curve(df, highlight=(2, 3))
    assert len(fig.axes[0].get_lines()) == 2
    assert len(fig.axes[0].get_legend().get_texts()) == 3  # train, held-out, shaded band


def test_confusion_counts_annotated(heart_split):
    X_train, X_test, y_train, y_test = heart_split
    tree = em.train_tree(X_train, y_train, max_depth=4, random_state=0)
    evaluation = em.evaluate(tree, X_test, y_test)
    fig = plots.plot_confusion(evaluation, ("no disease", "disease"))
    (ax,) = fig.axes
    assert_labelled(ax)
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    counts = [int(t.get_text().split("\n")[0]) for t in ax.texts]
    assert counts == evaluation.confusion.ravel().tolist()
    assert sum(counts) == len(y_test)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["no disease", "disease"]
    assert f"{evaluation.accuracy:.2f}" in ax.get_title()


def test_figures_are_deterministic(heart):
    X, y = heart

    def png(fig) -> bytes:
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()

    first = png(plots.plot_feature_by_class(X, y, HEART_FEATURES))
    assert png(plots.plot_feature_by_class(X, y, HEART_FEATURES)) == first
