"""Figures of a trained tree: accuracy against depth, the confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .common import CLASS_COLOURS, DEFAULT_CLASS_NAMES, NEUTRAL, class_name

__all__ = ["plot_depth_curve", "plot_confusion"]


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
    ax.plot(depth, df["train_accuracy"].to_numpy(), marker="o", color=NEUTRAL,
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


def plot_confusion(evaluation, class_names: Sequence[str] | None = DEFAULT_CLASS_NAMES,
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
    names = [class_name(labels, class_names, k) for k in range(len(labels))]
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
