"""The report: numbers as Markdown tables, and the whole evaluation as files (``figures/``).

:func:`markdown_table` renders a DataFrame for reading (numbers rounded, no extra dependency);
:func:`write_report` writes the Markdown report, the CSV files and the figures; :func:`main` is
``python -m encmed_lib.evaluation [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data.paths import figures_dir
from .cost import CONFIGS, cost_report, headline
from .measured_privacy import privacy_report
from .plots import plot_accuracy, plot_bytes_by_mode, plot_cost_by_depth, plot_privacy, plot_throughput

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["markdown_table", "REPORT_FILES", "PRIVACY_FILES", "write_report", "parties_report", "main"]


def _format(value, column: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == int(v) and abs(v) < 1e15 and not column.endswith("ms"):
            return str(int(v))
        a = abs(v)
        if a >= 100:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        if a >= 0.01:
            return f"{v:.3g}" if a < 1 else f"{v:.2f}"
        return f"{v:.2g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, *, index: bool = False) -> str:
    """A DataFrame as a GitHub Markdown table (numbers rounded for reading; no extra dependency)."""
    frame = df.reset_index() if index else df
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(_format(row[c], str(c)) for c in frame.columns) + " |")
    return "\n".join(lines)



REPORT_FILES = ("evaluation_report.md", "evaluation_cost.csv", "evaluation_accuracy.csv",
                "evaluation_federated.csv", "evaluation_throughput.csv", "evaluation_cost_by_depth.png",
                "evaluation_bytes_by_mode.png", "evaluation_throughput.png", "evaluation_accuracy.png")
"""Files :func:`write_report` always writes (plus the privacy files when the report has them)."""

PRIVACY_FILES = ("evaluation_threshold_recovery.csv", "evaluation_label_only_curve.csv",
                 "evaluation_extraction.csv", "evaluation_membership.csv", "evaluation_privacy.png")


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
    return path


def write_report(report: Mapping[str, pd.DataFrame], out_dir: Path | str | None = None) -> list[Path]:
    """Write the report as Markdown, CSV files and figures; return the paths written.

    Parameters
    ----------
    report : mapping
        :func:`cost_report`'s tables, optionally merged with
        :func:`privacy_report`'s (``threshold_recovery``, ``extraction``,
        ``membership``).
    out_dir : path, optional
        Default :func:`~encmed_lib.data.paths.figures_dir` (``figures/``).

    Returns
    -------
    list of pathlib.Path
        ``evaluation_report.md``, the CSV files (``evaluation_cost.csv``,
        ``evaluation_accuracy.csv``, ``evaluation_federated.csv``,
        ``evaluation_throughput.csv``, and the privacy tables when given) and
        the figures (``evaluation_cost_by_depth.png``, ``evaluation_bytes_by_mode.png``,
        ``evaluation_throughput.png``, ``evaluation_accuracy.png``, ``evaluation_privacy.png`` when the
        privacy tables are given).
    """
    out = Path(out_dir) if out_dir is not None else figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for key, name in (("cost", "evaluation_cost.csv"), ("accuracy", "evaluation_accuracy.csv"),
                      ("federated", "evaluation_federated.csv"), ("throughput", "evaluation_throughput.csv"),
                      ("threshold_recovery", "evaluation_threshold_recovery.csv"),
                      ("label_only_curve", "evaluation_label_only_curve.csv"),
                      ("extraction", "evaluation_extraction.csv"),
                      ("membership", "evaluation_membership.csv"),
                      ("mpc_training", "evaluation_mpc_training.csv"),
                      ("service_throughput", "evaluation_service_throughput.csv")):
        if key in report:
            report[key].to_csv(out / name, index=False)
            written.append(out / name)
    written.append(_save(plot_cost_by_depth(report["cost"]), out / "evaluation_cost_by_depth.png"))
    written.append(_save(plot_bytes_by_mode(report["cost"]), out / "evaluation_bytes_by_mode.png"))
    written.append(_save(plot_throughput(report["throughput"]), out / "evaluation_throughput.png"))
    written.append(_save(plot_accuracy(report["accuracy"]), out / "evaluation_accuracy.png"))
    if "threshold_recovery" in report and "membership" in report:
        written.append(_save(plot_privacy(report["threshold_recovery"], report["membership"],
                                          report.get("label_only_curve")), out / "evaluation_privacy.png"))
    md = out / "evaluation_report.md"
    md.write_text(_markdown_report(report), encoding="utf-8")
    return [md, *written]


def _markdown_report(report: Mapping[str, pd.DataFrame]) -> str:
    config = dict(zip(report["config"]["item"], report["config"]["value"], strict=True))
    parts = [
        "# encmed: evaluation report",
        "",
        f"Measured {config.get('measured', '')} on {config.get('machine', '')} (Python "
        f"{config.get('python', '')}) by `python -m encmed_lib.evaluation` "
        f"({config.get('wall time of the measurement (s)', '?')} s for the cost measurements). "
        "Timings are wall-clock medians on this machine and vary between runs; labels, accuracies and "
        "privacy measurements are seeded and do not.",
        "",
        "## How it was measured",
        "",
        markdown_table(report["config"]),
        "",
        "## Headline: one patient, each mode",
        "",
        "At a reference configuration (the key size nearest 2048 bits and the depth nearest 4 among "
        "those measured), against scikit-learn predicting the same rows in clear.",
        "",
        markdown_table(headline(report)),
        "",
        "## Cost per patient, every configuration",
        "",
        "Median milliseconds per phase (client encrypt, server evaluate, label-only's client answer "
        "and server finish, client decrypt), bytes each way (JSON), plaintext scikit-learn time on the "
        "same rows, and agreement of the encrypted labels with the plaintext model.",
        "",
        markdown_table(report["cost"]),
        "",
        "## Accuracy of every model (same held-out split)",
        "",
        markdown_table(report["accuracy"]),
        "",
        "## Federated training cost per back-end",
        "",
        markdown_table(report["federated"]),
        "",
        "## Throughput against workers (batch scoring)",
        "",
        markdown_table(report["throughput"]) if len(report["throughput"]) else "Not measured.",
    ]
    parts += _parties_sections(report)
    parts += _privacy_sections(report)
    parts += ["", "## Figures", ""]
    for name, title in (("evaluation_cost_by_depth.png", "time per patient by depth"),
                        ("evaluation_bytes_by_mode.png", "bytes by mode"),
                        ("evaluation_throughput.png", "throughput"), ("evaluation_accuracy.png", "accuracy"),
                        ("evaluation_privacy.png", "measured privacy")):
        if name != "evaluation_privacy.png" or "threshold_recovery" in report:
            parts.append(f"![{title}]({name})")
    return "\n".join(parts) + "\n"


def _parties_sections(report: Mapping[str, pd.DataFrame]) -> list[str]:
    parts: list[str] = []
    if "mpc_training" in report:
        parts += ["", "## Training with every hospital its own process (MPyC, loopback)", "",
                  "Seconds of protocol (slowest party) and wall seconds with the processes' start, bytes "
                  "and messages on the network, rounds of the busiest party, values opened (split-only: "
                  "one per node) per back-end and number of providers (`encmed_lib.federated.run.measure`).",
                  "", markdown_table(report["mpc_training"])]
    if "service_throughput" in report:
        parts += ["", "## The model server as a service: queries per second", "",
                  "One bucket (a local folder), 1 and 2 server processes sharing it "
                  "(`encmed_lib.serve.measure_throughput`).", "",
                  markdown_table(report["service_throughput"])]
    return parts


def parties_report(*, parties=(3, 5), n_queries: int = 40, key_bits: int = 2048,
                   verbose: bool = True) -> dict:
    """Multi-process costs: MPyC training per back-end and providers, and the service's throughput."""
    from ..federated.run import measure
    from ..serve import measure_throughput

    if verbose:
        print("parties: MPyC training on loopback, then the service's throughput ...", flush=True)
    mpc = measure(tuple(parties))
    if not isinstance(mpc.index, pd.RangeIndex):  # (providers, back-end) as columns of the table
        mpc = mpc.reset_index()
    return {"mpc_training": mpc,
            "service_throughput": measure_throughput(n_queries, (1, 2), key_bits=key_bits)}


def _privacy_sections(report: Mapping[str, pd.DataFrame]) -> list[str]:
    parts: list[str] = []
    if "threshold_recovery" in report:
        rec = report["threshold_recovery"]
        parts += ["", "## Measured privacy", "",
                  f"### Thresholds recovered by a curious client (within {rec.attrs.get('tol', 1e-3):g}, "
                  f"budget {rec.attrs.get('budget', '?')} queries)", "", markdown_table(rec)]
    if "label_only_curve" in report:
        parts += ["", "### Label-only: thresholds found by bisection on the label, against the budget", "",
                  "With the plaintext tree as label oracle (label-only mode returns exactly its label).", "",
                  markdown_table(report["label_only_curve"])]
    if "extraction" in report:
        parts += ["", "### Queries to extract the logistic regression (relative error of the weights)", "",
                  markdown_table(report["extraction"])]
    if "membership" in report:
        parts += ["", "### Membership-inference advantage, with and without DP", "",
                  markdown_table(report["membership"])]
    return parts


# ============================================================== command line
def main(argv=None) -> list[Path]:
    """``python -m encmed_lib.evaluation [--quick] [--out DIR]``: measure and write the report."""
    parser = argparse.ArgumentParser(description="Measure the cost and the privacy of every protocol of "
                                                 "the course and write figures/evaluation_report.md.")
    parser.add_argument("--quick", action="store_true", help="the small configuration (about a minute)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: figures/)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    name = "quick" if args.quick else "full"
    print(f"cost report ({name} configuration) ...", flush=True)
    report = cost_report(**CONFIGS[name], verbose=True)
    report.update(privacy_report(verbose=True))
    if not args.quick:
        report.update(parties_report())
    paths = write_report(report, args.out)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print("\nHeadline (median ms per patient):")
    print(headline(report).to_string(index=False))
    print("\nThresholds recovered by a curious client:")
    print(report["threshold_recovery"][["protocol", "queries", "recovered", "thresholds", "rate"]]
          .to_string(index=False))
    print(f"\nwrote {len(paths)} files in {paths[0].parent} ({time.perf_counter() - start:.0f} s):")
    for path in paths:
        print(f"  {path.name}")
    return paths
