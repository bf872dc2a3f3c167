"""Threat model, measured privacy and measured cost: the course's evaluation (notebook 10).

One idea per module:

* :mod:`.threat_model`: the threat model *as data*: :func:`threat_model` is the EHR setting as a
  table (system, assets, attackers, vulnerabilities, threats, risks) and :func:`protocol_matrix`
  says, for every protocol of the course, who sees what, which threat it stops and what it does
  not stop, in words for a hospital's privacy officer.  This text is teaching content; every
  *number* of the evaluation is measured by the modules below.
* :mod:`.measured_privacy`: :func:`threshold_recovery` (how many of the server's thresholds a
  curious client recovers with a budget of queries, per protocol), :func:`extraction_queries`
  (the queries needed to recover a logistic regression from exact, rounded or noisy scores),
  :func:`membership_summary` (membership-inference advantage with and without differential
  privacy) and :func:`privacy_report` (the three, as in notebook 10).
* :mod:`.cost`: :func:`cost_report` measures every mode of the protocol registry
  (:data:`encmed_lib.protocol.base.REGISTRY`: basic, label-only, linear, CKKS and any mode
  registered later) per patient and phase, counts the bytes each way, checks every encrypted
  label against the plaintext model and times plaintext scikit-learn on the same rows; it adds
  the held-out accuracy of every model and the training cost of each federated back-end
  (:mod:`.accuracy`) and batch throughput against workers (:func:`throughput_table`);
  :func:`headline` keeps one row per mode.  Size-configurable (:data:`CONFIGS`).
* :mod:`.report`: :func:`markdown_table` and :func:`write_report` (Markdown, CSV files, figures);
  :mod:`.plots`: the figures (matplotlib imported on use).

Run it with::

    python -m encmed_lib.evaluation            # the full report, into figures/
    python -m encmed_lib.evaluation --quick    # the small configuration

Randomness: every statistical draw (data split, models, DP noise, the
attacker's records) is seeded; cryptographic randomness (keys, blinds) never
is, so timings and a few sizes vary from run to run, the labels do not.
"""

from __future__ import annotations

from ..attacks.path_finding import (  # re-exported: the attack lives in attacks
    LabelBoundaryResult,
    base_records,
    boundary_recovery,
    label_boundary_attack,
    label_boundary_curve,
    public_domain,
)
from ..bench import logistic_model
from ..data.paths import figures_dir
from .accuracy import accuracy_table, dp_accuracy, federated_cost
from .cost import CONFIGS, COST_COLUMNS, cost_report, headline, registered_modes, throughput_table
from .measured_privacy import (
    extraction_queries,
    format_error,
    membership_summary,
    privacy_report,
    threshold_recovery,
)
from .plots import (
    MODE_STYLES,
    mode_style,
    plot_accuracy,
    plot_bytes_by_mode,
    plot_cost_by_depth,
    plot_privacy,
    plot_throughput,
)
from .report import PRIVACY_FILES, REPORT_FILES, main, markdown_table, parties_report, write_report
from .threat_model import MATRIX_COLUMNS, PROTOCOLS, THREAT_MODEL_COLUMNS, protocol_matrix, threat_model

_logistic = logistic_model  # the name the tests and notebooks used before the split
_MODE_STYLE = MODE_STYLES

__all__ = [
    "THREAT_MODEL_COLUMNS", "MATRIX_COLUMNS", "PROTOCOLS", "MODES", "CONFIGS", "COST_COLUMNS",
    "threat_model", "protocol_matrix",
    "LabelBoundaryResult", "label_boundary_attack", "boundary_recovery", "label_boundary_curve",
    "base_records", "public_domain", "threshold_recovery",
    "extraction_queries", "format_error", "membership_summary", "privacy_report",
    "throughput_table", "cost_report", "headline", "registered_modes", "logistic_model",
    "federated_cost", "accuracy_table", "dp_accuracy",
    "markdown_table", "MODE_STYLES", "mode_style", "plot_cost_by_depth", "plot_bytes_by_mode",
    "plot_accuracy", "plot_privacy", "plot_throughput", "REPORT_FILES", "PRIVACY_FILES", "write_report",
    "parties_report", "figures_dir", "main",
]


def __getattr__(name: str):
    if name == "MODES":  # the registry's modes, as they are now (a protocol may be registered later)
        return registered_modes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
