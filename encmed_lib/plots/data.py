"""Figures of a data set: class balance, features by class, correlations, providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..data.schema import HEART, SYNTHEA
from .common import (
    CLASS_COLOURS,
    DEFAULT_CLASS_NAMES,
    NEUTRAL,
    as_array,
    class_name,
    colour,
    is_categorical,
    tidy_grid,
)

__all__ = ["plot_class_balance", "plot_feature_by_class", "plot_correlation_with_target",
           "provider_labels", "plot_providers", "UCI_CODE_NAMES", "feature_units"]

#: Names of the codes of the UCI heart layout (the Kaggle layout's codes differ and are not named).
UCI_CODE_NAMES: dict[str, dict[float, str]] = {
    "cp": {1: "typical\nangina", 2: "atypical\nangina", 3: "non-anginal\npain", 4: "asympto-\nmatic"},
    "thal": {3: "normal", 6: "fixed\ndefect", 7: "reversible\ndefect"},
    "slope": {1: "up", 2: "flat", 3: "down"},
    "restecg": {0: "normal", 1: "ST-T\nabnormal", 2: "LV hyper-\ntrophy"},
    "ca": {0: "none", 1: "one", 2: "two", 3: "three"},
    "sex": {0: "female", 1: "male"},
    "fbs": {0: "no", 1: "yes"},
    "exang": {0: "no", 1: "yes"},
}

#: What the heart table's columns measure, for the titles of :func:`plot_feature_by_class`.
HEART_MEANINGS: dict[str, str] = {
    "age": "age", "sex": "sex", "cp": "chest-pain type", "trestbps": "resting blood pressure",
    "chol": "serum cholesterol", "fbs": "fasting blood sugar > 120 mg/dl", "restecg": "resting ECG",
    "thalach": "maximum heart rate", "exang": "exercise-induced angina",
    "oldpeak": "ST depression (exercise)", "slope": "slope of the ST segment",
    "ca": "vessels coloured (fluoroscopy)", "thal": "thallium stress test",
}


def feature_units(columns: Sequence[str]) -> dict[str, str]:
    """Units of the columns, from the data schema whose features they are (``{}`` if none).

    The heart table's columns take their units from
    :data:`encmed_lib.data.schema.HEART`, the Synthea table's from
    :data:`~encmed_lib.data.schema.SYNTHEA` (:attr:`FeatureSpec.unit`);
    a column without a unit (a code) is left out.
    """
    for schema in (HEART, SYNTHEA):
        if set(columns) <= set(schema.names):
            return {name: schema.feature(name).unit for name in columns if schema.feature(name).unit}
    return {}

from ..data.providers import provider_labels  # noqa: E402 (re-exported: names, not a plot)


def plot_class_balance(y, title: str = "How many patients have the disease?",
                       class_names: Sequence[str] | None = DEFAULT_CLASS_NAMES) -> Figure:
    """Bar chart of the number of records per class, annotated with counts and shares.

    Parameters
    ----------
    y : array-like
        Class labels (for the course: 0 no disease, 1 disease).
    title : str
        Title of the axes.
    class_names : sequence of str, optional
        Display name of each class, in the sorted order of the labels; the
        labels themselves are shown when ``None``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one bar per class.
    """
    labels = as_array(y)
    classes, counts = np.unique(labels, return_counts=True)
    names = [class_name(classes, class_names, k) for k in range(len(classes))]
    total = counts.sum()

    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    bars = ax.bar(names, counts, color=[colour(k) for k in range(len(classes))], width=0.6)
    for bar, count in zip(bars, counts, strict=True):
        ax.annotate(f"{count} ({100 * count / total:.0f} %)",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 3), textcoords="offset points", ha="center", va="bottom")
    ax.set_ylim(0, counts.max() * 1.15)
    ax.set_ylabel("patients")
    ax.set_xlabel("class")
    ax.set_title(title)
    tidy_grid(ax)
    return fig


def plot_feature_by_class(X: pd.DataFrame, y, features: Sequence[str],
                          class_names: Sequence[str] | None = DEFAULT_CLASS_NAMES, *,
                          categorical: Sequence[str] | None = None, ncols: int = 3,
                          bins: int = 15, units: Mapping[str, str] | None = None,
                          code_names: Mapping[str, Mapping[float, str]] | None = None) -> Figure:
    """A grid of small plots comparing the distribution of each feature between the classes.

    A continuous feature gets two overlaid histograms (same bins for both
    classes); a categorical one (a few whole-number codes) gets grouped bars,
    one bar per code and class.  Heights are the share *of each class* (in %),
    so that a rare class is not dwarfed by a common one.  Missing values are
    left out.

    Parameters
    ----------
    X : pandas.DataFrame
        The records.
    y : array-like
        Class labels, in the order of the rows of ``X``.
    features : sequence of str
        Columns of ``X`` to draw, one small plot each, in this order.
    class_names : sequence of str, optional
        Display name of each class, in the sorted order of the labels.
    categorical : sequence of str, optional
        Columns to draw as codes.  By default a column with at most six
        distinct whole-number values is categorical.
    ncols : int
        Plots per row.
    bins : int
        Number of histogram bins of a continuous feature.
    units : mapping of str to str, optional
        Unit of each measurement, shown in its axis label.  By default taken
        from the data schema of the table (:func:`feature_units`): years,
        beats/min, mm...
    code_names : mapping of str to mapping, optional
        For a code column, the name of each code, shown under its bar.  By
        default :data:`UCI_CODE_NAMES` when ``X.attrs["layout"]`` is ``"uci"``
        (what :func:`~encmed_lib.load_heart` records for the UCI layout), none
        otherwise; a column with a code missing from its mapping keeps numbers.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(features)`` axes (unused grid cells are removed) and one legend.
    """
    features = list(features)
    if not features:
        raise ValueError("features must name at least one column")
    missing = [f for f in features if f not in X.columns]
    if missing:
        raise KeyError(f"no such column(s) in X: {missing}")
    labels = as_array(y)
    if len(labels) != len(X):
        raise ValueError(f"y has {len(labels)} labels for {len(X)} rows of X")
    classes = np.unique(labels)
    names = [class_name(classes, class_names, k) for k in range(len(classes))]
    units = feature_units(list(X.columns)) if units is None else dict(units)
    if code_names is None:
        code_names = UCI_CODE_NAMES if X.attrs.get("layout") == "uci" else {}

    ncols = max(1, min(ncols, len(features)))
    nrows = -(-len(features) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 2.9 * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[len(features):]:
        fig.delaxes(ax)

    for ax, feature in zip(axes, features, strict=False):
        column = X[feature].reset_index(drop=True)
        is_codes = (feature in categorical) if categorical is not None else is_categorical(column)
        if is_codes:
            named = _code_bars(ax, column, labels, classes, names, code_names.get(feature, {}))
            ax.set_xlabel(feature if named else f"{feature} (code)")
        else:
            _class_histograms(ax, column, labels, classes, names, bins)
            ax.set_xlabel(f"{feature} ({units[feature]})" if units.get(feature) else feature)
        ax.set_ylabel("% of class")
        meaning = HEART_MEANINGS.get(feature) if set(X.columns) <= set(HEART.names) else None
        ax.set_title(f"{feature}: {meaning}" if meaning and meaning != feature else feature)
        tidy_grid(ax)

    handles, legend_labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, legend_labels, loc="outside upper center", ncols=len(classes))
    return fig


def _code_bars(ax, column: pd.Series, labels: np.ndarray, classes: np.ndarray, names: list[str],
               code_names: Mapping[float, str]) -> bool:
    """Grouped bars: for each code, the share (in %) of each class's records that carry it.

    Ticks show ``code_names`` (with the code) when it names every code present; returns whether it did.
    """
    codes = np.unique(column.dropna().to_numpy(dtype=float))
    width = 0.8 / len(classes)
    for k, cls in enumerate(classes):
        values = column[labels == cls].dropna()
        share = [100 * float((values == c).mean()) if len(values) else 0.0 for c in codes]
        offset = (k - (len(classes) - 1) / 2) * width
        ax.bar(np.arange(len(codes)) + offset, share, width=width * 0.95,
               color=colour(k), label=names[k])
    named = all(c in code_names for c in codes)
    ticks = [f"{code_names[c]}\n({c:g})" if named else f"{c:g}" for c in codes]
    ax.set_xticks(np.arange(len(codes)), ticks, fontsize=8 if named else None)
    return named


def _class_histograms(ax, column: pd.Series, labels: np.ndarray, classes: np.ndarray, names: list[str],
                      bins: int) -> None:
    """Overlaid histograms on the same bins, each class's heights summing to 100 %."""
    edges = np.histogram_bin_edges(column.dropna().to_numpy(dtype=float), bins=bins)
    for k, cls in enumerate(classes):
        values = column[labels == cls].dropna().to_numpy(dtype=float)
        weights = np.full(values.size, 100 / values.size) if values.size else None
        ax.hist(values, bins=edges, weights=weights, color=colour(k), alpha=0.55,
                label=names[k], edgecolor="white", linewidth=0.5)


def plot_correlation_with_target(X: pd.DataFrame, y,
                                 title: str = "Correlation of each feature with the label") -> Figure:
    """Horizontal bars of each feature's Pearson correlation with the 0/1 label, sorted.

    With a binary label, Pearson's *r* is the point-biserial correlation: its
    sign says whether the feature is higher (positive) or lower (negative) in
    the positive class, its size how cleanly the feature alone separates the
    classes.  Rows with a missing value are left out pairwise; constant
    columns (no correlation defined) are not drawn.

    Parameters
    ----------
    X : pandas.DataFrame
        The records (numeric columns).
    y : array-like
        Binary labels, in the order of the rows of ``X``.
    title : str
        Title of the axes.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one bar per feature, the most positive at the top.
    """
    labels = pd.Series(as_array(y).astype(float))
    if len(labels) != len(X):
        raise ValueError(f"y has {len(labels)} labels for {len(X)} rows of X")
    table = X.reset_index(drop=True).astype(float)
    r = table.corrwith(labels).dropna().sort_values()

    fig = Figure(figsize=(6.5, 0.9 + 0.32 * max(len(r), 1)), layout="constrained")
    ax = fig.subplots()
    colours = [CLASS_COLOURS[1] if v > 0 else CLASS_COLOURS[0] for v in r.to_numpy()]
    ax.barh(r.index.astype(str), r.to_numpy(), color=colours)
    for i, v in enumerate(r.to_numpy()):
        ax.annotate(f"{v:+.2f}", (v, i), xytext=(3 if v >= 0 else -3, 0),
                    textcoords="offset points", ha="left" if v >= 0 else "right",
                    va="center", fontsize=8)
    limit = max(0.1, float(np.abs(r.to_numpy()).max(initial=0.0))) * 1.25
    ax.set_xlim(-limit, limit)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("correlation with the label (point-biserial r)")
    ax.set_ylabel("feature")
    ax.set_title(title)
    tidy_grid(ax, "x")
    return fig


def plot_providers(organization, y, *, positive_name: str = "disease"
                   ) -> tuple[Figure, dict[str, str]]:
    """Patients and positive rate per organization, side by side.

    Organization ids (long UUIDs in Synthea) are replaced by ``"provider A"``,
    ``"provider B"``... in decreasing order of size (:func:`provider_labels`).

    Parameters
    ----------
    organization : array-like
        The organization of each patient.
    y : array-like
        Binary labels, in the same order as ``organization``.
    positive_name : str
        What the positive class is called, for the second panel's labels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two axes, each with one bar per organization; the overall positive
        rate is a dashed line on the second.
    mapping : dict
        Organization id -> display name, largest organization first.
    """
    orgs = as_array(organization)
    labels = as_array(y).astype(float)
    if len(orgs) != len(labels):
        raise ValueError(f"{len(labels)} labels for {len(orgs)} organizations")
    mapping = provider_labels(orgs)
    table = (pd.DataFrame({"organization": orgs, "y": labels})
             .groupby("organization")["y"].agg(["size", "mean"]))
    table = table.loc[list(mapping)]
    names = [mapping[o] for o in table.index]
    overall = 100 * float(labels.mean())

    fig = Figure(figsize=(10, 3.8), layout="constrained")
    ax_n, ax_rate = fig.subplots(1, 2)
    bars = ax_n.bar(names, table["size"].to_numpy(), color=NEUTRAL, width=0.6)
    ax_n.bar_label(bars, padding=2)
    ax_n.set_ylim(0, table["size"].max() * 1.15)
    ax_n.set_xlabel("organization (largest first)")
    ax_n.set_ylabel("patients")
    ax_n.set_title("Patients per provider")

    rates = 100 * table["mean"].to_numpy()
    bars = ax_rate.bar(names, rates, color=CLASS_COLOURS[1], width=0.6)
    ax_rate.bar_label(bars, labels=[f"{r:.0f} %" for r in rates], padding=2,
                      bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax_rate.axhline(overall, color="black", linestyle="--", linewidth=1,
                    label=f"all providers ({overall:.0f} %)")
    ax_rate.set_ylim(0, max(rates.max(), overall) * 1.25)
    ax_rate.set_xlabel("organization (largest first)")
    ax_rate.set_ylabel(f"% of patients with {positive_name}")
    ax_rate.set_title(f"Rate of {positive_name} per provider")
    ax_rate.legend(loc="upper right")
    for ax in (ax_n, ax_rate):
        tidy_grid(ax)
    return fig, mapping


