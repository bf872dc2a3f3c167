"""The evaluation's figures: cost by depth, bytes by mode, accuracy, privacy, throughput.

matplotlib is imported inside each function (``import encmed_lib.evaluation`` loads no plotting
library).  A mode the registry gains later is drawn too: :func:`mode_style` gives any mode
without a style of its own a stable default colour.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MODE_STYLES", "mode_style", "plot_cost_by_depth", "plot_bytes_by_mode", "plot_accuracy",
           "plot_privacy", "plot_throughput"]

MODE_STYLES = {"basic": ("#4C72B0", "o", "-"), "label-only": ("#DD8452", "s", "-"),
               "label-only (compact)": ("#DD8452", "s", "-"), "linear": ("#55A868", None, "--"),
               "ckks": ("#8172B3", None, "-.")}
"""``mode -> (colour, marker, line style)`` of the built-in modes."""

_DEFAULT_COLOURS = ("#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD", "#C44E52")


def mode_style(mode: str) -> tuple[str, str | None, str]:
    """``(colour, marker, line style)`` of a mode: its own in :data:`MODE_STYLES`, else a stable default."""
    if mode in MODE_STYLES:
        return MODE_STYLES[mode]
    return _DEFAULT_COLOURS[zlib.crc32(str(mode).encode()) % len(_DEFAULT_COLOURS)], "D", ":"


def plot_cost_by_depth(cost: pd.DataFrame) -> Figure:
    """Median time per patient against tree depth, one panel per Paillier key size (log scale).

    Tree modes are lines over depth; linear scoring and CKKS do not depend on
    the depth (horizontal lines); plaintext scikit-learn is dotted grey.  A mode
    without a Paillier key (CKKS, or a registered tree mode with
    ``per_key_size=False``) appears in every panel.
    """
    from matplotlib.figure import Figure

    sizes = sorted(cost["key_bits"].dropna().astype(int).unique())
    fig = Figure(figsize=(4.2 * max(1, len(sizes)) + 0.5, 4.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(1, len(sizes)), sharey=True))
    flat = cost[cost["depth"].isna()]  # modes without a depth: one horizontal line each
    depth_values = cost["depth"].dropna().astype(int)
    span = (int(depth_values.min()) - 0.3, int(depth_values.max()) + 0.3) if len(depth_values) else (0, 1)
    for ax, bits in zip(axes, sizes or [None], strict=True):
        keyless = cost["key_bits"].isna()  # modes without a Paillier key are drawn in every panel
        part = cost[((cost["key_bits"] == bits).fillna(False).astype(bool) | keyless) if bits is not None
                    else keyless]
        # a larger max_depth can give the same tree (it stopped growing): one point per actual depth
        part = part.drop_duplicates(subset=["mode", "depth"], keep="first")
        basic = part[part["mode"] == "basic"].sort_values("depth")
        for mode, sub in part[part["depth"].notna()].groupby("mode", sort=False):
            colour, marker, style = mode_style(mode)
            sub = sub.sort_values("depth")
            ax.plot(sub["depth"].astype(int), sub["total_ms"], marker=marker, ls=style, color=colour,
                    label=mode)
        if len(basic):
            ax.plot(basic["depth"].astype(int), basic["plaintext_ms"], ls=":", color="0.45", marker=".",
                    label="plaintext scikit-learn (tree)")
        for mode, sub in flat.groupby("mode", sort=False):
            sub = sub[sub["key_bits"] == bits] if sub["key_bits"].notna().any() else sub
            if len(sub):
                colour, _, style = mode_style(mode)
                ax.hlines(float(sub["total_ms"].iloc[0]), *span, colors=colour, linestyles=style,
                          label=f"{mode} (no depth)")
        ax.set_yscale("log")
        ax.set_xlim(*span)
        if len(depth_values):
            ax.set_xticks(range(int(depth_values.min()), int(depth_values.max()) + 1))
        ax.set_xlabel("tree depth (actual)")
        ax.set_title(f"Paillier {bits} bits" if bits is not None else "no Paillier mode measured")
        ax.grid(alpha=0.3, which="major")
    axes[0].set_ylabel("median ms per patient (log scale)")
    handles: dict = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=min(5, len(handles)),
               fontsize=8, frameon=False)
    fig.suptitle("Time per patient: every phase, JSON messages included (median of the timed rows)")
    return fig


def _human(n: float) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def plot_bytes_by_mode(cost: pd.DataFrame, *, depth: int = 4) -> Figure:
    """Bytes on the wire per patient, each way, per mode and key size (tree modes at ``depth``).

    CKKS also sends its public context once per client key (shown as a third bar).
    """
    from matplotlib.figure import Figure

    parts = []
    for _, row in cost.iterrows():
        keyed = pd.notna(row["key_bits"])
        if pd.notna(row["max_depth"]):
            same_key = cost["key_bits"] == row["key_bits"] if keyed else cost["key_bits"].isna()
            ds = cost[(cost["mode"] == row["mode"]) & same_key.fillna(False).astype(bool)]["max_depth"]
            ref = min(ds.dropna().astype(int).unique(), key=lambda v: (abs(v - depth), v))
            if int(row["max_depth"]) != ref:
                continue
            bits = f"{int(row['key_bits'])} bits, " if keyed else ""
            label = f"{row['mode']}, {bits}depth {int(row['depth'])}"
        elif keyed:
            label = f"{row['mode']}, {int(row['key_bits'])} bits"
        else:
            label = f"{row['mode']} ({row['parameters']})" if row["parameters"] else str(row["mode"])
        parts.append((label, row))
    fig = Figure(figsize=(10, 1.5 + 0.5 * max(1, len(parts))), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(parts))
    h = 0.28
    for k, (_, row) in enumerate(parts):
        for off, value, colour, name in ((-h, row["bytes_to_server"], "#4C72B0", "client -> server"),
                                         (0, row["bytes_to_client"], "#DD8452", "server -> client"),
                                         (h, row["setup_bytes"], "#8172B3", "once per client key")):
            if value and value > 0:
                ax.barh(y[k] + off, value, height=h, color=colour, label=name if k == 0 or off == h else None)
                ax.annotate(_human(value), (value, y[k] + off), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=7)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    # outside the axes, under the x label: no bar and no value label can run under the legend
    fig.legend(unique.values(), unique.keys(), fontsize=8, loc="outside lower center", ncols=len(unique),
               frameon=False)
    ax.set_yticks(y, [label for label, _ in parts])
    ax.invert_yaxis()
    ax.set_xscale("log")
    values = [v for _, row in parts for v in (row["bytes_to_server"], row["bytes_to_client"],
                                              row["setup_bytes"]) if v and v > 0]
    if values:  # room on the right for the value label of the longest bar
        ax.set_xlim(right=max(values) * 6)
    ax.set_xlabel("bytes per patient (log scale; JSON messages, CKKS ciphertexts in base64)")
    ax.set_title("Bytes on the wire per patient")
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_accuracy(accuracy: pd.DataFrame) -> Figure:
    """Held-out accuracy of every model (one split), the majority class dashed."""
    from matplotlib.figure import Figure

    models = accuracy[accuracy["model"] != "majority class"]
    fig = Figure(figsize=(8, 1.0 + 0.36 * max(1, len(models))), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(models))
    colours = ["#8172B3" if "DP" in m else "#55A868" if ("logistic" in m or "network" in m)
               else "#DD8452" if "federated" in m else "#4C72B0" for m in models["model"]]
    ax.barh(y, models["accuracy"], color=colours, height=0.6)
    for k, v in enumerate(models["accuracy"]):
        ax.annotate(f"{v:.3f}", (v, y[k]), xytext=(3, 0), textcoords="offset points", va="center",
                    fontsize=8)
    base = accuracy.loc[accuracy["model"] == "majority class", "accuracy"]
    if len(base):
        ax.axvline(float(base.iloc[0]), color="0.3", ls="--", lw=1,
                   label=f"majority class ({float(base.iloc[0]):.3f})")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_yticks(y, models["model"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("held-out accuracy (same split for every model)")
    ax.set_title("Accuracy of every model of the course")
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_privacy(recovery: pd.DataFrame, membership: pd.DataFrame,
                 curve: pd.DataFrame | None = None) -> Figure:
    """Measured privacy in one figure.

    Left: the thresholds a curious client recovers per protocol, with the
    same budget (:func:`threshold_recovery`).  Middle (with ``curve``, from
    :func:`label_boundary_curve`): what label-only mode still leaks as the
    budget grows.  Right: membership advantage against epsilon, the
    non-private trees dashed, the DP bound dotted and the chance level grey
    (:func:`membership_summary`).
    """
    from matplotlib.figure import Figure

    panels = 3 if curve is not None and len(curve) else 2
    fig = Figure(figsize=(5.2 * panels, 4.2), layout="constrained")
    axes = fig.subplots(1, panels)
    ax1, ax2 = axes[0], axes[-1]
    _recovery_panel(ax1, recovery)
    if panels == 3:
        _curve_panel(axes[1], curve, recovery)
    _membership_panel(ax2, membership)
    return fig


def _recovery_panel(ax1, recovery: pd.DataFrame) -> None:
    y = np.arange(len(recovery))
    ax1.barh(y, recovery["rate"], color=["#C44E52", "#DD8452", "#55A868"][:len(recovery)], height=0.6)
    for k, (_, row) in enumerate(recovery.iterrows()):
        q = int(row["queries"])
        text = f"{int(row['recovered'])}/{int(row['thresholds'])} in {q} quer{'y' if q == 1 else 'ies'}"
        ax1.annotate(text,
                     (row["rate"], y[k]), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax1.set_yticks(y, recovery["protocol"])
    ax1.invert_yaxis()
    ax1.set_xlim(0, 1.6)
    tol = recovery.attrs.get("tol")
    ax1.set_xlabel("share of the thresholds recovered" + (f" (within {tol:g})" if tol else ""))
    ax1.set_title(f"A curious client, {recovery.attrs.get('budget', '?')} queries at most")
    ax1.grid(axis="x", alpha=0.3)


def _curve_panel(ax, curve: pd.DataFrame, recovery: pd.DataFrame) -> None:
    ax.plot(curve["queries"], curve["rate"], marker="o", color="#55A868", label="label-only")
    blinded = recovery[recovery["protocol"].str.startswith("blinded")]
    if len(blinded):
        ax.plot(blinded["queries"], blinded["rate"], marker="D", ls="", color="#DD8452",
                label="blinded basic mode")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("queries (label oracle; log scale)")
    ax.set_ylabel("share of the thresholds recovered")
    ax.set_title("Label-only: boundaries found by bisection")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def _membership_panel(ax2, membership: pd.DataFrame) -> None:
    dp = membership[np.isfinite(membership["epsilon"])]
    plain = membership[~np.isfinite(membership["epsilon"])]
    colours = ("#4C72B0", "#55A868", "#8172B3", "#64B5CD")
    for k, (model, part) in enumerate(dp.groupby("model", sort=False)):
        part = part.sort_values("epsilon")
        ax2.plot(part["epsilon"], part["advantage"], marker="o", color=colours[k % 4], label=model)
    for k, (_, row) in enumerate(plain.iterrows()):
        ax2.axhline(row["advantage"], color=("#C44E52", "#DD8452")[k % 2], ls="--", lw=1.2,
                    label=f"{row['model']}")
    if len(dp):
        grid = np.geomspace(dp["epsilon"].min(), dp["epsilon"].max(), 100)
        ax2.plot(grid, np.tanh(grid / 2), ":", color="black", label=r"DP bound $\tanh(\varepsilon/2)$")
        ax2.set_xscale("log")
    chance = membership["chance advantage"].dropna() if "chance advantage" in membership else pd.Series()
    if len(chance):
        ax2.axhspan(float(chance.min()), float(chance.max()), color="0.5", alpha=0.2, lw=0,
                    label="chance level (membership shuffled)")
    top = float(np.nanmax(plain["advantage"])) if len(plain) else 0.2
    ax2.set_ylim(0, min(1.0, max(0.1, 1.6 * top, float(dp["advantage"].max()) * 1.3 if len(dp) else 0)))
    ax2.set_xlabel(r"privacy budget $\varepsilon$ (log scale)")
    ax2.set_ylabel("membership advantage (median over seeds)")
    ax2.set_title("Membership inference, with and without DP")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7, loc="upper left")


def plot_throughput(throughput: pd.DataFrame) -> Figure:
    """:func:`encmed_lib.scale.plot_throughput`, or a note when throughput was not measured."""
    from matplotlib.figure import Figure

    from ..scale import plot_throughput as scale_plot_throughput

    if len(throughput):
        return scale_plot_throughput(throughput)
    fig = Figure(figsize=(6, 2))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, "throughput not measured in this configuration", ha="center", va="center")
    return fig

