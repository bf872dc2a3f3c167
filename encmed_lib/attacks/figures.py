"""Figures of the attack lessons.

:func:`plot_sieve` follows :mod:`encmed_lib.plots`: it builds and returns a
:class:`matplotlib.figure.Figure` (object-oriented API, never ``plt.show``);
:func:`plot_interval_attack` keeps its older pyplot signature (it draws on an
``ax`` and returns it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..crypto.encoding import SCALE_BITS

if TYPE_CHECKING:  # matplotlib is imported on use
    from matplotlib.figure import Figure

_NEUTRAL = "#7F7F7F"
_HIT = "#DD8452"


def plot_interval_attack(errors_df: pd.DataFrame, ax=None):
    """Error of the interval attack against the number of queries (log scale).

    Parameters
    ----------
    errors_df : pandas.DataFrame
        The output of :func:`attack_errors`.
    ax : matplotlib Axes, optional
        Where to draw (a new figure otherwise).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    df = errors_df
    n_discovery = int((df["phase"] == "discovery").sum()) if "phase" in df else 0
    if n_discovery:
        ax.axvspan(0.5, n_discovery + 0.5, color="0.9", zorder=0,
                   label=f"discovery ({n_discovery} queries)")
    floor = 2.0 ** -(SCALE_BITS + 1)  # zero errors would vanish on a log axis
    ax.plot(df["queries"], df["max_abs_error"].clip(lower=floor), "o-", ms=3, label="max |error|")
    ax.plot(df["queries"], df["median_abs_error"].clip(lower=floor), "s-", ms=3,
            label="median |error|")
    if "max_error_bound" in df:
        ax.plot(df["queries"], df["max_error_bound"], "--", color="0.4",
                label="attacker's error bound")
    ax.set_yscale("log")
    ax.set_xlabel("queries sent")
    ax.set_ylabel("threshold error (feature units)")
    ax.set_title("Full blinding: bisection with chosen queries")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax


def plot_sieve(slack: pd.DataFrame, *, title: str | None = None) -> Figure:
    """The one-query sieve at one node: every public candidate's slack, and the few that fit.

    Parameters
    ----------
    slack : pandas.DataFrame
        The output of :func:`~encmed_lib.attacks.sieve.sieve_slack`.
    title : str, optional
        Defaults to how many candidates fit.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, in the style of :mod:`encmed_lib.plots` (object-oriented, not shown).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    df = slack.reset_index(drop=True)
    finite = df[np.isfinite(df["slack"])]
    ax.scatter(finite.index, finite["slack"].clip(lower=1e-3), s=4, color=_NEUTRAL,
               label="public candidate")
    hits = df[df["fits"]]
    ax.scatter(hits.index, hits["slack"].clip(lower=1e-3), s=40, color=_HIT, zorder=3,
               label="fits: " + ", ".join(f"{f} <= {t:g}" for f, t in zip(hits["feature"], hits["threshold"],
                                                                         strict=True)))
    ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1)
    ax.text(0, 1.5, "fits below this line", fontsize=8, color="0.3")
    groups = df.groupby("feature", sort=False).apply(lambda g: (g.index.min(), g.index.max()),
                                                      include_groups=False)
    wide = [(f, lo, hi) for f, (lo, hi) in groups.items() if hi - lo >= 0.02 * len(df)]
    for k, (_, lo, hi) in enumerate(wide):
        if k % 2 == 0:
            ax.axvspan(lo - 0.5, hi + 0.5, color="0.94", zorder=0)
    ax.set_xticks([(lo + hi) / 2 for _, lo, hi in wide], [f for f, _, _ in wide], fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("public candidate, grouped by feature (features with few candidates unlabelled)")
    ax.set_ylabel("slack (v - r'd') / r'")
    ax.set_title(title or f"One reply, one node: {len(hits)} of {len(df):,} public candidates fit")
    ax.legend(loc="upper right", fontsize=8)
    return fig
