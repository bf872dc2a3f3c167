"""Figures of the attack lessons."""

from __future__ import annotations

import pandas as pd

from ..crypto.encoding import SCALE_BITS


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
