"""The course's plotting helpers for the data and the trees.

Every function draws one self-contained figure and returns it as a
:class:`matplotlib.figure.Figure`; none calls ``plt.show`` or touches pyplot's
list of open figures.  The figures are built with the object-oriented API
(``Figure(...)``), so that in a notebook the returned figure is shown exactly
once, when it is the last expression of a cell, and saving it is left to the
caller (:func:`encmed_lib.data.paths.save_figure`).  Nothing here is random:
the same data always give the same picture.

::

    from encmed_lib import plots
    fig = plots.plot_class_balance(y)
    save_figure(fig, "01_class_balance.png")
    fig                                         # shown by the notebook
"""

from __future__ import annotations

from collections.abc import Sequence
from string import ascii_uppercase

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "CLASS_COLOURS",
    "plot_class_balance",
    "plot_confusion",
    "plot_correlation_with_target",
    "plot_depth_curve",
    "plot_feature_by_class",
    "plot_providers",
    "provider_labels",
]

#: Colour of class 0 (no disease) and class 1 (disease), used by every figure.
CLASS_COLOURS: tuple[str, str] = ("#4C72B0", "#DD8452")
_NEUTRAL = "#7F7F7F"
_DEFAULT_CLASS_NAMES = ("no disease", "disease")


# ------------------------------------------------------------------ helpers
def _as_array(y) -> np.ndarray:
    return np.asarray(y).ravel()


def _class_name(classes: Sequence, class_names: Sequence[str] | None, k: int) -> str:
    """Name of the ``k``-th class: ``class_names[k]`` if given, else the label itself."""
    if class_names is not None and k < len(class_names):
        return str(class_names[k])
    return str(classes[k])


def _colour(k: int) -> str:
    return CLASS_COLOURS[k] if k < len(CLASS_COLOURS) else _NEUTRAL


def _is_categorical(values: pd.Series, max_codes: int = 6) -> bool:
    """A column of at most ``max_codes`` distinct whole numbers is treated as codes."""
    present = values.dropna().to_numpy(dtype=float)
    if present.size == 0:
        return False
    distinct = np.unique(present)
    return distinct.size <= max_codes and bool(np.all(distinct == np.round(distinct)))


def _letters(k: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, ... (spreadsheet column names)."""
    name = ""
    k += 1
    while k:
        k, rest = divmod(k - 1, 26)
        name = ascii_uppercase[rest] + name
    return name


# ------------------------------------------------------------------ the data
def plot_class_balance(y, title: str = "How many patients have the disease?",
                       class_names: Sequence[str] | None = _DEFAULT_CLASS_NAMES) -> Figure:
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
    labels = _as_array(y)
    classes, counts = np.unique(labels, return_counts=True)
    names = [_class_name(classes, class_names, k) for k in range(len(classes))]
    total = counts.sum()

    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    bars = ax.bar(names, counts, color=[_colour(k) for k in range(len(classes))], width=0.6)
    for bar, count in zip(bars, counts, strict=True):
        ax.annotate(f"{count} ({100 * count / total:.0f} %)",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 3), textcoords="offset points", ha="center", va="bottom")
    ax.set_ylim(0, counts.max() * 1.15)
    ax.set_ylabel("patients")
    ax.set_xlabel("class")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def plot_feature_by_class(X: pd.DataFrame, y, features: Sequence[str],
                          class_names: Sequence[str] | None = _DEFAULT_CLASS_NAMES, *,
                          categorical: Sequence[str] | None = None, ncols: int = 3,
                          bins: int = 15) -> Figure:
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
    labels = _as_array(y)
    if len(labels) != len(X):
        raise ValueError(f"y has {len(labels)} labels for {len(X)} rows of X")
    classes = np.unique(labels)
    names = [_class_name(classes, class_names, k) for k in range(len(classes))]

    ncols = max(1, min(ncols, len(features)))
    nrows = -(-len(features) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 2.9 * nrows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[len(features):]:
        fig.delaxes(ax)

    for ax, feature in zip(axes, features, strict=False):
        column = X[feature].reset_index(drop=True)
        is_codes = (feature in categorical) if categorical is not None else _is_categorical(column)
        if is_codes:
            codes = np.unique(column.dropna().to_numpy(dtype=float))
            width = 0.8 / len(classes)
            for k, cls in enumerate(classes):
                values = column[labels == cls].dropna()
                share = [100 * float((values == c).mean()) if len(values) else 0.0 for c in codes]
                offset = (k - (len(classes) - 1) / 2) * width
                ax.bar(np.arange(len(codes)) + offset, share, width=width * 0.95,
                       color=_colour(k), label=names[k])
            ax.set_xticks(np.arange(len(codes)), [f"{c:g}" for c in codes])
            ax.set_xlabel(f"{feature} (code)")
        else:
            edges = np.histogram_bin_edges(column.dropna().to_numpy(dtype=float), bins=bins)
            for k, cls in enumerate(classes):
                values = column[labels == cls].dropna().to_numpy(dtype=float)
                weights = np.full(values.size, 100 / values.size) if values.size else None
                ax.hist(values, bins=edges, weights=weights, color=_colour(k), alpha=0.55,
                        label=names[k], edgecolor="white", linewidth=0.5)
            ax.set_xlabel(feature)
        ax.set_ylabel("% of class")
        ax.set_title(feature)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)

    handles, legend_labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, legend_labels, loc="outside upper center", ncols=len(classes))
    return fig


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
    labels = pd.Series(_as_array(y).astype(float))
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
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def provider_labels(organization) -> dict[str, str]:
    """Short names for organization ids: ``"provider A"`` for the largest, then B, C...

    Ties in size are broken by the id, so the names are reproducible.

    Parameters
    ----------
    organization : array-like
        The organization of each patient (e.g. from :func:`encmed_lib.load_synthea`).

    Returns
    -------
    dict
        Organization id -> ``"provider A"``, ``"provider B"``..., largest first.
    """
    counts = pd.Series(_as_array(organization)).value_counts()
    order = sorted(counts.index, key=lambda org: (-int(counts[org]), str(org)))
    return {org: f"provider {_letters(k)}" for k, org in enumerate(order)}


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
    orgs = _as_array(organization)
    labels = _as_array(y).astype(float)
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
    bars = ax_n.bar(names, table["size"].to_numpy(), color=_NEUTRAL, width=0.6)
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
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    return fig, mapping


# ------------------------------------------------------------------ the trees
def plot_depth_curve(df: pd.DataFrame, baseline: float | None = None, *,
                     highlight: tuple[int, int] | None = None,
                     title: str = "Deeper trees: better on the training set, not on new patients"
                     ) -> Figure:
    """Training and held-out accuracy against the depth limit of the tree.

    Parameters
    ----------
    df : pandas.DataFrame
        The output of :func:`encmed_lib.tree.depth_curve` (columns
        ``max_depth``, ``train_accuracy``, ``test_accuracy``).
    baseline : float, optional
        Held-out accuracy of always predicting the majority class, drawn as a
        dashed horizontal line.
    highlight : (int, int), optional
        A range of depths to shade (e.g. the depths the course uses).
    title : str
        Title of the axes.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two lines (three with the baseline) and a legend.
    """
    depth = df["max_depth"].to_numpy()
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(depth, df["train_accuracy"].to_numpy(), marker="o", color=_NEUTRAL,
            label="training set")
    ax.plot(depth, df["test_accuracy"].to_numpy(), marker="s", color=CLASS_COLOURS[0],
            label="held-out set")
    if baseline is not None:
        ax.axhline(baseline, color="black", linestyle="--", linewidth=1,
                   label=f"majority class ({baseline:.2f})")
    if highlight is not None:
        ax.axvspan(highlight[0] - 0.5, highlight[1] + 0.5, color=CLASS_COLOURS[1], alpha=0.12,
                   label=f"depths used in the course ({highlight[0]}-{highlight[1]})")
    ax.set_xticks(depth)
    ax.set_xlabel("maximum depth of the tree")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return fig


def plot_confusion(evaluation, class_names: Sequence[str] | None = _DEFAULT_CLASS_NAMES,
                   title: str | None = None) -> Figure:
    """The confusion matrix of an :class:`encmed_lib.tree.Evaluation`, with counts written in.

    Parameters
    ----------
    evaluation : encmed_lib.tree.Evaluation
        The result of :func:`encmed_lib.evaluate` (``confusion``, ``labels``,
        ``accuracy``).
    class_names : sequence of str, optional
        Display name of each label, in the order of ``evaluation.labels``.
    title : str, optional
        Title; by default the accuracy.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: rows are the true class, columns the predicted class.
    """
    matrix = np.asarray(evaluation.confusion)
    labels = list(evaluation.labels)
    names = [_class_name(labels, class_names, k) for k in range(len(labels))]
    fig = Figure(figsize=(4.8, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max()), 1))
    total = max(int(matrix.sum()), 1)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            dark = matrix[i, j] > matrix.max() / 2
            ax.text(j, i, f"{matrix[i, j]}\n({100 * matrix[i, j] / total:.0f} %)",
                    ha="center", va="center", fontsize=11,
                    color="white" if dark else "black")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names, rotation=90, va="center")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title if title is not None else
                 f"Held-out accuracy {evaluation.accuracy:.2f} "
                 f"(majority {evaluation.majority_accuracy:.2f})")
    return fig
