"""Threat model, measured privacy and measured cost: the course's evaluation (notebook 10).

Three kinds of content live here.

*The threat model, as data.*  :func:`threat_model` is the EHR setting as a
table (system, assets, attackers, vulnerabilities, threats, risks) and
:func:`protocol_matrix` says, for every protocol of the course, who sees what,
which threat it stops and what it does not stop, in words for a hospital's
privacy officer.  This text is teaching content; every *number* of the
evaluation is measured by the functions below.

*Measured privacy.*

* :func:`threshold_recovery`: how many of the server's thresholds a curious
  client recovers, within a tolerance, with a budget of queries: one query
  against the original unblinded design, the interval attack of
  :mod:`encmed_lib.attacks` against basic mode, and
  :func:`label_boundary_attack` against label-only mode (the client sees
  only the label there, so the best generic attack bisects where the label
  flips along one feature: it finds decision boundaries, not nodes);
* :func:`extraction_queries`: the queries needed to recover a logistic
  regression to a relative error, from exact, rounded or noisy scores
  (:func:`encmed_lib.protocol.linear.extraction_curve`);
* :func:`membership_summary`: the membership-inference advantage against
  trees with and without differential privacy
  (:func:`encmed_lib.membership.advantage_vs_epsilon`).

*Measured cost.*  :func:`cost_report` times every mode (basic, label-only,
linear, CKKS) per patient and phase, counts the bytes each way, checks every
encrypted label against the plaintext model, times plaintext scikit-learn on
the same rows, and adds the held-out accuracy of every model, the training
cost of each federated back-end and batch throughput against workers.  It is
size-configurable (:data:`CONFIGS`): ``"small"`` runs in seconds (notebooks),
``"full"`` in minutes (the main job).  :func:`write_report` writes it as
Markdown, CSV files and figures.

Run it with::

    python -m encmed_lib.evaluation            # the full report, into figures/
    python -m encmed_lib.evaluation --quick    # the small configuration

Randomness: every statistical draw (data split, models, DP noise, the
attacker's records) is seeded; cryptographic randomness (keys, blinds) never
is, so timings and a few sizes vary from run to run, the labels do not.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .attacks.path_finding import (  # re-exported: the attack lives in attacks
    LabelBoundaryResult,
    base_records,
    boundary_recovery,
    label_boundary_attack,
    label_boundary_curve,
    public_domain,
)
from .data.paths import figures_dir

__all__ = [
    "THREAT_MODEL_COLUMNS", "MATRIX_COLUMNS", "PROTOCOLS", "MODES", "CONFIGS",
    "threat_model", "protocol_matrix",
    "LabelBoundaryResult", "label_boundary_attack", "boundary_recovery", "label_boundary_curve",
    "threshold_recovery",
    "extraction_queries", "format_error", "membership_summary", "privacy_report",
    "throughput_table", "cost_report", "headline",
    "markdown_table", "plot_cost_by_depth", "plot_bytes_by_mode", "plot_accuracy", "plot_privacy",
    "plot_throughput", "write_report", "main",
]

# ============================================================== the threat model
THREAT_MODEL_COLUMNS = ("system", "assets", "attackers", "vulnerabilities", "threats", "risks")
"""The columns of :func:`threat_model` (and ``addressed in``, where the course answers)."""

MATRIX_COLUMNS = ("protocol", "notebook", "the server sees", "the client sees", "others see",
                  "stops", "does not stop")
"""The columns of :func:`protocol_matrix`."""

_THREATS = [
    {
        "system": "Hospital client: the EHR workstation running encmed_lib.Client",
        "assets": "Patients' records in clear; the Paillier private key; the diagnoses it decrypts",
        "attackers": "An intruder or malware on the workstation; an insider with EHR access",
        "vulnerabilities": "Records and the private key are in clear on this machine; the key can be "
                           "copied from memory or disk",
        "threats": "Theft of records, or of the key (which opens every query and reply ever sent "
                   "with it)",
        "risks": "Disclosure of every record the hospital holds. Encryption does not help here: "
                 "the course assumes this endpoint is secure",
        "addressed in": "Outside the course (endpoint security, key storage, access control)",
    },
    {
        "system": "Prediction server: the model owner's scoring service",
        "assets": "The diagnostic model (intellectual property, and a summary of its training "
                  "patients); the encrypted queries",
        "attackers": "A curious or compromised operator; the cloud provider",
        "vulnerabilities": "Receives every query; sees the key size, the feature names, when and "
                           "how often a hospital asks; chooses what it computes",
        "threats": "Reading patients' values; returning a wrong diagnosis (a malicious server); "
                   "linking queries by time or key fingerprint",
        "risks": "Disclosure of clinical values; wrong care decisions if the server cheats; "
                 "profiling of a hospital's activity",
        "addressed in": "Notebooks 04-07: only ciphertexts reach the server (semi-honest model)",
    },
    {
        "system": "Network and message bucket (a folder or an S3 prefix)",
        "assets": "Queries and replies in transit; their ids and times",
        "attackers": "An eavesdropper; the bucket's administrator",
        "vulnerabilities": "Sizes, times, ids and key fingerprints of messages are visible; files "
                           "can be deleted or replayed",
        "threats": "Traffic analysis (who is scored, how often); deletion or replay of messages",
        "risks": "Metadata disclosure; delayed diagnoses. Contents stay confidential",
        "addressed in": "Notebook 05 (ciphertexts only); transport security is outside the course",
    },
    {
        "system": "Client of the scoring service: any hospital or app allowed to query",
        "assets": "The server's model (thresholds, weights) and what it encodes about training "
                  "patients",
        "attackers": "A legitimate but curious client that chooses its own queries, made-up "
                     "records included",
        "vulnerabilities": "Basic mode returns one sign per node; linear scoring returns an exact "
                           "score; every mode returns a label",
        "threats": "Model extraction by chosen queries; then membership inference on the "
                   "extracted model",
        "risks": "Loss of the model owner's intellectual property; indirect disclosure about "
                 "training patients",
        "addressed in": "Notebooks 04 (attacks), 06 (label-only), 07 (extraction); measured here",
    },
    {
        "system": "Federated training consortium: hospitals, coordinator, aggregator, key holder",
        "assets": "Each hospital's patient records and its per-node count tables",
        "attackers": "A curious aggregator or key holder; a curious hospital; several parties "
                     "colluding",
        "vulnerabilities": "Every round's totals are revealed; plain aggregation shows each table; "
                           "secret sharing and Paillier assume the parties do not collude",
        "threats": "Reading another hospital's counts; colluding to rebuild one hospital's table; "
                   "inferring one patient from a small count",
        "risks": "Disclosure of a hospital's case mix, or of a single patient's diagnosis",
        "addressed in": "Notebook 08 (secure aggregation); differential privacy for the totals",
    },
    {
        "system": "The trained model, once published or served",
        "assets": "Whether a patient was in the training cohort, and their attributes",
        "attackers": "Anyone holding the model or enough of its predictions",
        "vulnerabilities": "Deep trees and small leaves memorise individual patients",
        "threats": "Membership inference: was this patient in the (cardiology) training set?",
        "risks": "Disclosure of a sensitive fact about a patient; re-identification",
        "addressed in": "Differential privacy (encmed_lib.privacy), measured here",
    },
]


def threat_model() -> pd.DataFrame:
    """The threat model of the EHR setting, one row per part of the system.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`THREAT_MODEL_COLUMNS` (system, assets, attackers,
        vulnerabilities, threats, risks) and ``addressed in`` (where the
        course answers the threat, or that it does not).
    """
    return pd.DataFrame(_THREATS, columns=[*THREAT_MODEL_COLUMNS, "addressed in"])


_MALICIOUS = ("A malicious server: it could return a wrong label and nothing here detects it "
              "(the course assumes honest-but-curious parties).")

_PROTOCOL_ROWS = [
    {
        "protocol": "Basic mode, no blinding (original design)",
        "notebook": "04",
        "the server sees": "Ciphertexts of every feature; the key size and the feature names",
        "the client sees": "Each node's feature and exact distance T - x: the whole model",
        "others see": "Message sizes and times",
        "stops": "The server reading the patient's record",
        "does not stop": "Model extraction (one query gives every threshold). " + _MALICIOUS
                         + " Timing and traffic analysis.",
    },
    {
        "protocol": "Basic mode, full blinding",
        "notebook": "04-05",
        "the server sees": "Ciphertexts of every feature; the key size and the feature names",
        "the client sees": "The tree's shape, every leaf's label, and which way the record goes at "
                           "every node (one sign per node)",
        "others see": "Message sizes and times",
        "stops": "The server reading the record; the client reading thresholds from one reply",
        "does not stop": "Model extraction by chosen queries (bisection on the signs). "
                         + _MALICIOUS + " Timing.",
    },
    {
        "protocol": "Label-only mode",
        "notebook": "06",
        "the server sees": "Ciphertexts only, including the client's encrypted bits",
        "the client sees": "The label; the public depth; shuffled, sign-flipped comparison values "
                           "whose magnitudes still leak a rough distance",
        "others see": "Message sizes and times (fixed by the public depth)",
        "stops": "The server reading the record; the client reading the path, the shape or the "
                 "signs",
        "does not stop": "Extraction of decision boundaries from labels alone (slower); a client "
                         "that sends values other than bits; " + _MALICIOUS[0].lower()
                         + _MALICIOUS[1:],
    },
    {
        "protocol": "Encrypted logistic regression (linear scoring)",
        "notebook": "07",
        "the server sees": "Ciphertexts of every feature",
        "the client sees": "The exact score: one linear equation in the model's weights per query",
        "others see": "Message sizes and times",
        "stops": "The server reading the record",
        "does not stop": "Model extraction: d + 1 queries give the weights exactly; rounding or "
                         "noise only slow it. " + _MALICIOUS + " Timing.",
    },
    {
        "protocol": "CKKS network (square activation)",
        "notebook": "07",
        "the server sees": "One CKKS ciphertext per patient and the client's public context",
        "the client sees": "An approximate score (to about 1e-5)",
        "others see": "Message sizes (a context of tens of MB once, then one ciphertext)",
        "stops": "The server reading the record",
        "does not stop": "Extraction from scores (a score is still a number per query). "
                         + _MALICIOUS + " Timing.",
    },
    {
        "protocol": "Federated training, plain aggregation",
        "notebook": "08",
        "the server sees": "(aggregator) every hospital's count table, in clear",
        "the client sees": "(each hospital) the totals and the tree",
        "others see": "The coordinator: the totals",
        "stops": "Pooling the records: no record leaves its hospital",
        "does not stop": "The aggregator reading each hospital's counts; inference from small "
                         "totals; an aggregator that lies about the sum.",
    },
    {
        "protocol": "Federated training, secret sharing",
        "notebook": "08",
        "the server sees": "(no aggregator) partial sums published by the hospitals",
        "the client sees": "(each hospital) uniformly random shares and the totals",
        "others see": "The coordinator: the totals",
        "stops": "Any one party reading another hospital's table",
        "does not stop": "Collusion: the other hospitals together rebuild a hospital's table; "
                         "inference from small totals; a hospital sending false counts.",
    },
    {
        "protocol": "Federated training, Paillier aggregation",
        "notebook": "08",
        "the server sees": "(aggregator) ciphertexts only; (key holder) the total only",
        "the client sees": "(each hospital) the public key and the totals",
        "others see": "The coordinator: the totals",
        "stops": "The aggregator reading any table; the key holder seeing any single table",
        "does not stop": "Collusion of the aggregator with the key holder (then every table is "
                         "read); inference from small totals; false counts.",
    },
    {
        "protocol": "Federated training + DP, central noise",
        "notebook": "09",
        "the server sees": "(the party adding noise) the exact totals, then releases noisy ones",
        "the client sees": "(each hospital) noisy totals and a tree",
        "others see": "Noisy totals and the tree (epsilon-DP for any patient)",
        "stops": "Inferring one patient from the totals or the model, to the budget epsilon "
                 "(membership advantage at most tanh(epsilon / 2))",
        "does not stop": "The noise-adding party seeing the exact totals (it must be trusted); "
                         "collusion as for its back-end; a large epsilon protects little.",
    },
    {
        "protocol": "Federated training + DP, distributed noise",
        "notebook": "09",
        "the server sees": "(no single party) shares of noisy tables",
        "the client sees": "(each hospital) noisy totals and a tree; its own noise share",
        "others see": "Noisy totals and the tree",
        "stops": "Inferring one patient from the totals or the model, without a trusted "
                 "noise-adding party",
        "does not stop": "A hospital knows its own share, so against it the guarantee is weaker; "
                         "collusion of all other hospitals; in this library the hook still adds "
                         "the shares to the reconstructed total.",
    },
]

PROTOCOLS = tuple(row["protocol"] for row in _PROTOCOL_ROWS)
"""Every protocol of the course, in the order of :func:`protocol_matrix`."""


def protocol_matrix() -> pd.DataFrame:
    """For every protocol of the course: who sees what, what it stops, what it does not stop.

    In plain words for a hospital's privacy officer.  The "does not stop"
    column names, where they apply, the four limits no protocol of the course
    removes: a malicious server, collusion, model extraction and timing.

    Returns
    -------
    pandas.DataFrame
        One row per entry of :data:`PROTOCOLS`; columns :data:`MATRIX_COLUMNS`.
    """
    return pd.DataFrame(_PROTOCOL_ROWS, columns=list(MATRIX_COLUMNS))


# ============================================================== measured privacy


def threshold_recovery(tree, X: pd.DataFrame, client, *, queries: int = 60, seed: int = 0,
                       tol: float = 1e-3) -> pd.DataFrame:
    """Thresholds a curious client recovers, within ``tol``, per protocol, with ``queries`` queries.

    * **original (no blinding)**: one query with a (seeded) record of ``X``,
      :func:`~encmed_lib.attacks.recover_thresholds_unblinded`;
    * **blinded (basic mode)**: :func:`~encmed_lib.attacks.sieve_attack`, one
      query at the edge of the domain (a second one only when a node stays
      undecided, about one reply in a hundred) against ``X``'s public candidate
      grid (:func:`~encmed_lib.attacks.grid_candidates`);
    * **label-only**: :func:`label_boundary_attack` through real label-only
      round trips, same ranges and budget, from the same median record and
      then ``X``'s records in a seeded order.  The interval attack
      does not apply: it needs one sign per *known* node, and label-only
      mode shuffles and flips the comparisons and returns only the label.

    The attacks use only what the client has (its keys, its records, the
    replies, the public sample ``X``); the true thresholds are read only to
    score them.

    Parameters
    ----------
    tree : fitted DecisionTreeClassifier or PortableTree
        The server's model.
    X : pandas.DataFrame
        A public sample: ranges, base record and the original protocol's record.
    client : Client
        The attacker's client (1024 bits is enough: the key size does not
        change what the client sees).
    queries : int
        Budget of the label-only attack (the sieve needs one or two).
    seed : int
        Picks the record of the one-query attack and the label attacker's
        order of base records.
    tol : float
        A threshold counts as recovered when the estimate is within ``tol``.

    Returns
    -------
    pandas.DataFrame
        One row per protocol: ``protocol``, ``attack``, ``the client uses``,
        ``queries`` (used), ``thresholds`` (internal nodes), ``recovered``,
        ``rate``; ``attrs`` holds ``tol``, ``budget`` and
        ``label_only_boundaries`` (what the label attacker found).
    """
    from . import attacks
    from .protocol import TreeServer
    from .protocol.label_only import predict_label_only

    domain = public_domain(X)
    rows = []

    server_none = TreeServer(tree, blinding="none")
    n_nodes = len(attacks.true_thresholds(server_none))
    record = X.iloc[int(np.random.default_rng(seed).integers(len(X)))]
    recovered = attacks.recover_thresholds_unblinded(client, record,
                                                     server_none.evaluate(client.encrypt(record)))
    rate = attacks.threshold_recovery_rate(recovered, server_none, tol=tol)
    rows.append({"protocol": "original (no blinding)", "attack": "read T = v + X from one reply",
                 "the client uses": "each node's feature and exact distance", "queries": 1,
                 "thresholds": n_nodes, "recovered": round(rate * n_nodes), "rate": rate})

    server = TreeServer(tree)
    result = attacks.sieve_attack(client, server.evaluate, attacks.grid_candidates(X), list(X.columns),
                                  max_queries=2)
    exact = sum(result.exact(server))
    rows.append({"protocol": "blinded (basic mode)", "attack": "one-query sieve at the domain edge",
                 "the client uses": "each node's blinded difference r d + s", "queries": result.queries,
                 "thresholds": n_nodes, "recovered": exact, "rate": exact / n_nodes if n_nodes else 1.0})

    lo_server = TreeServer(tree, mode="label-only")
    found = label_boundary_attack(lambda r: predict_label_only(client, lo_server, r),
                                  base_records(X, seed), queries, domain, resolution=tol / 2)
    hit = boundary_recovery(found.boundaries, lo_server, tol)
    rows.append({"protocol": "label-only", "attack": "bisection on the label, one feature at a time",
                 "the client uses": "the label only", "queries": found.queries_used,
                 "thresholds": n_nodes, "recovered": hit, "rate": hit / n_nodes if n_nodes else 1.0})
    df = pd.DataFrame(rows)
    df.attrs.update(tol=tol, budget=queries, label_only_boundaries=list(found.boundaries))
    return df


def extraction_queries(model, X_public, *, targets: Sequence[float] = (1e-6, 1e-3),
                       defences: Sequence[str] = ("exact", "rounded-2", "noisy-0.1"),
                       query_counts: Sequence[int] | None = None, seed: int = 0, repeats: int = 3,
                       client=None) -> pd.DataFrame:
    """Queries a client needs to recover a linear model to a relative error, per defence.

    Runs :func:`encmed_lib.protocol.linear.extraction_curve` (least squares on
    random records, the plaintext oracle: the encrypted protocol returns the
    same scores) over ``query_counts`` and reads, for each defence and target,
    the smallest count whose median relative error
    :math:`\\|\\hat w - w\\| / \\|w\\|` is below the target.  When none is, it
    extrapolates from the largest count with the measured :math:`1/\\sqrt{q}`
    law (marked ``"extrapolated"``).

    Parameters
    ----------
    model : LinearServer, LogisticRegression, Pipeline or (coef, intercept)
        The model under attack.
    X_public : pandas.DataFrame
        Public records (their mean and spread shape the attacker's records).
    targets : sequence of float
        Relative errors to reach.
    defences : sequence of str
        ``"exact"``, ``"rounded-<decimals>"``, ``"noisy-<std>"``.
    query_counts : sequence of int, optional
        Default ``d + 1, 30, 100, 300, 1000, 3000, 10000``.
    seed, repeats : int
        The attacker's records (seeded) and independent attacks per point.
    client : Client, optional
        Also run the exact attack with ``d + 1`` queries through the real
        encrypted protocol (a row ``"exact, through the protocol"``).

    Returns
    -------
    pandas.DataFrame
        ``defence``, ``target``, ``queries`` (needed), ``how`` (``"measured"``
        or ``"extrapolated"``), ``error at the largest count`` and
        ``largest count``; ``attrs["n_features"]``.
    """
    from .protocol.linear import LinearServer, extraction_curve, linear_parameters

    coef = model.coef if isinstance(model, LinearServer) else linear_parameters(model)[0]
    d = int(np.asarray(coef).size)
    counts = list(query_counts) if query_counts is not None else [d + 1, 30, 100, 300, 1000, 3000, 10000]
    curve = extraction_curve(model, X_public, counts, defences=defences, seed=seed, repeats=repeats)
    d = int(curve.attrs["n_features"])
    rows = []
    for spec in defences:
        part = curve[curve["defence"] == str(spec)].sort_values("queries")
        q_max = int(part["queries"].max())
        e_max = float(part.loc[part["queries"] == q_max, "rel_error"].iloc[0])
        for target in targets:
            ok = part[part["rel_error"] <= target]
            if len(ok):
                q, how = int(ok["queries"].min()), "measured"
            else:
                q, how = int(math.ceil(q_max * (e_max / target) ** 2)), "extrapolated (1/sqrt(q))"
            rows.append({"defence": str(spec), "target": float(target), "queries": q, "how": how,
                         "error at the largest count": e_max, "largest count": q_max})
    if client is not None:
        enc = extraction_curve(model, X_public, [d + 1], defences=("exact",), seed=seed,
                               encrypted=True, client=client, repeats=1)
        err = float(enc["rel_error"].iloc[0])
        for target in targets:
            rows.append({"defence": "exact, through the protocol", "target": float(target),
                         "queries": d + 1 if err <= target else np.nan,
                         "how": "measured" if err <= target else "not reached",
                         "error at the largest count": err, "largest count": d + 1})
    df = pd.DataFrame(rows, columns=["defence", "target", "queries", "how", "error at the largest count",
                                     "largest count"])
    df.attrs.update(n_features=d)
    return df


def format_error(error: float, *, floor: float = 1e-12) -> str:
    """A relative error for a table: ``"< 1e-12"`` at machine precision, else one significant digit.

    Least squares on exact scores recovers the weights to rounding noise (about
    ``1e-15``), whose digits change from run to run; below ``floor`` the table
    says so instead of printing them.
    """
    error = float(error)
    if math.isnan(error):
        return "nan"
    return f"< {floor:.0e}" if error < floor else f"{error:.0e}"


def membership_summary(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test, *,
                       epsilons: Sequence[float] = (0.1, 1.0, 10.0), seeds: Sequence[int] = range(5),
                       max_depth: int = 4, deep_depth: int = 8, n_permutations: int = 20) -> pd.DataFrame:
    """Membership-inference advantage against trees with and without differential privacy.

    :func:`encmed_lib.membership.advantage_vs_epsilon` (the DP notebook's
    measurement: members are the training records, non-members the held-out
    ones), summarised per model and epsilon by the median over ``seeds``.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``epsilon`` (``inf`` without DP), ``depth``,
        ``advantage`` (median of max TPR - FPR), ``auc``,
        ``chance advantage`` (membership shuffled), ``DP bound``
        (:math:`\\tanh(\\varepsilon/2)`, NaN without DP), ``test accuracy``
        and ``seeds``.
    """
    from .membership import advantage_vs_epsilon, dp_advantage_bound

    raw = advantage_vs_epsilon(X_train, y_train, X_test, y_test, list(epsilons), list(seeds),
                               max_depth=max_depth, deep_depth=deep_depth, n_permutations=n_permutations)
    g = raw.groupby(["method", "epsilon", "depth"], sort=False)
    df = pd.DataFrame({"advantage": g["advantage"].median(), "auc": g["auc"].median(),
                       "chance advantage": g["chance_advantage"].median(),
                       "test accuracy": g["test_accuracy"].median(),
                       "seeds": g["seed"].nunique()}).reset_index()
    df = df.rename(columns={"method": "model"})
    bound = dp_advantage_bound(df["epsilon"].to_numpy())
    df.insert(6, "DP bound", np.where(np.isfinite(df["epsilon"]), bound, np.nan))
    df = df.sort_values(["depth", "epsilon"], ascending=[False, False], kind="stable").reset_index(drop=True)
    return df


def privacy_report(*, depth: int = 4, key_bits: int = 1024, queries: int = 60, tol: float = 1e-3,
                   curve_budgets: Sequence[int] = (60, 100, 300, 1000, 3000),
                   epsilons: Sequence[float] = (0.1, 1.0, 10.0), seeds: Sequence[int] = range(5),
                   seed: int = 0, verbose: bool = False) -> dict[str, pd.DataFrame]:
    """The three privacy measurements on the heart data, as in notebook 10.

    Returns
    -------
    dict
        ``"threshold_recovery"`` (:func:`threshold_recovery` on a depth-``depth``
        tree, ``key_bits`` keys), ``"label_only_curve"`` (:func:`label_boundary_curve`
        at ``curve_budgets``), ``"extraction"`` (:func:`extraction_queries`
        on the logistic regression, with an encrypted check) and
        ``"membership"`` (:func:`membership_summary`).
    """
    from .data.heart import load_heart
    from .tree import split_data, train_tree

    X, y = load_heart()
    X_train, X_test, y_train, y_test = split_data(X, y, random_state=seed)
    tree = train_tree(X_train, y_train, max_depth=depth, random_state=seed)
    client = _client(key_bits)
    _say(verbose, f"privacy: threshold recovery (depth {depth}, {queries} queries, {key_bits} bits)")
    recovery = threshold_recovery(tree, X_train, client, queries=queries, seed=seed, tol=tol)
    _say(verbose, "privacy: label-only boundaries against the budget (plaintext label oracle)")
    curve = label_boundary_curve(tree, X_train, curve_budgets, seed=seed, tol=tol)
    _say(verbose, "privacy: linear model extraction")
    extraction = extraction_queries(_logistic(X_train, y_train, seed), X_test, seed=seed, client=client)
    _say(verbose, "privacy: membership inference with and without DP")
    membership = membership_summary(X_train, y_train, X_test, y_test, epsilons=epsilons, seeds=seeds)
    return {"threshold_recovery": recovery, "label_only_curve": curve, "extraction": extraction,
            "membership": membership}


# ============================================================== measured cost
MODES = ("basic", "label-only", "linear", "ckks")
"""The prediction modes :func:`cost_report` measures."""

COST_COLUMNS = ["mode", "model", "key_bits", "max_depth", "depth", "internal_nodes", "rows_timed",
                "client_encrypt_ms", "server_evaluate_ms", "client_answer_ms", "server_finish_ms",
                "client_decrypt_ms", "total_ms", "plaintext_ms", "slowdown", "setup_ms",
                "bytes_to_server", "bytes_to_client", "setup_bytes", "agreement"]

CONFIGS: dict[str, dict] = {
    "small": {"key_sizes": (1024,), "depths": (3, 4, 5, 6), "rows": 20, "label_only_depths": (3, 4),
              "label_only_rows": 10, "agreement_rows": 40, "dp_epsilons": (0.1, 1.0, 10.0),
              "dp_seeds": (0, 1, 2), "federated_key_bits": 2048, "federated_unpacked": False,
              "throughput_rows": 0},
    "full": {"key_sizes": (1024, 2048, 3072), "depths": tuple(range(3, 11)), "rows": 30,
             "label_only_depths": (3, 4, 5, 6), "label_only_rows": 5, "agreement_rows": None,
             "dp_epsilons": (0.1, 1.0, 10.0), "dp_seeds": tuple(range(5)), "federated_key_bits": 2048,
             "federated_unpacked": True, "throughput_rows": 300, "throughput_bits": 2048,
             "throughput_engines": ("joblib", "dask")},
}
CONFIGS["quick"] = {**CONFIGS["small"], "throughput_rows": 100, "throughput_bits": 1024}
"""Keyword arguments of :func:`cost_report`: ``"small"`` (seconds: notebooks and tests), ``"quick"``
(the small one with throughput: ``--quick``) and ``"full"`` (minutes: the main job)."""


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(text, flush=True)


def _client(bits: int):
    from .protocol import Client

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1024-bit keys warn: chosen knowingly, for speed
        return Client(bits)


def _logistic(X_train, y_train, seed: int = 0):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)).fit(
        X_train, y_train)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _agreement(labels, expected) -> str:
    agree = sum(int(_plain(a) == _plain(b)) for a, b in zip(labels, expected, strict=True))
    return f"{agree}/{len(expected)}"


def _plaintext_ms(model, X: pd.DataFrame) -> float:
    """Median milliseconds of ``model.predict`` on one row at a time (as the protocol scores)."""
    times = []
    for i in range(len(X)):
        row = X.iloc[[i]]
        start = time.perf_counter()
        model.predict(row)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) if times else math.nan


def _median_ms(values) -> float:
    return float(statistics.median(values)) if len(values) else math.nan


def _run_basic(client, tree, X: pd.DataFrame) -> pd.DataFrame:
    from .bench import latency_breakdown
    from .protocol import TreeServer

    df = latency_breakdown(client, TreeServer(tree), X, precompute=False, tree=tree, warmup=True)
    return pd.DataFrame({"client_encrypt_ms": df["encrypt"], "server_evaluate_ms": df["evaluate"],
                         "client_decrypt_ms": df["decrypt"], "bytes_to_server": df["query_bytes"],
                         "bytes_to_client": df["reply_bytes"], "label": df["label"],
                         "expected": df["expected"]}, index=X.index)


def _run_label_only(client, tree, X: pd.DataFrame) -> pd.DataFrame:
    from .bench_label_only import label_only_breakdown
    from .protocol import TreeServer

    server = TreeServer(tree, mode="label-only")
    raw = label_only_breakdown(client, server, X, tree=tree)
    df = pd.DataFrame({"client_encrypt_ms": raw["encrypt"], "server_evaluate_ms": raw["compare"],
                       "client_answer_ms": raw["answer"], "server_finish_ms": raw["finish"],
                       "client_decrypt_ms": raw["decrypt"],
                       "bytes_to_server": raw["query_bytes"] + raw["answers_bytes"],
                       "bytes_to_client": raw["comparisons_bytes"] + raw["reply_bytes"],
                       "label": raw["label"], "expected": raw["expected"]}, index=X.index)
    df.attrs["comparisons"] = server.public_sizes()["comparisons"]
    return df


def _run_linear(client, model, X: pd.DataFrame) -> pd.DataFrame:
    from .protocol.linear import LinearServer, encrypt_float64
    from .protocol.linear import predict_encrypted as linear_label

    server = LinearServer(model)
    records = X[server.feature_names].to_dict(orient="records")
    expected = model.predict(X)
    if records:
        linear_label(client, server.evaluate(encrypt_float64(client, records[0])))
    rows = []
    for record, plain in zip(records, expected, strict=True):
        t0 = time.perf_counter()
        query = encrypt_float64(client, record).to_json()
        t1 = time.perf_counter()
        reply = server.evaluate(query).to_json()
        t2 = time.perf_counter()
        label = linear_label(client, reply)
        t3 = time.perf_counter()
        rows.append({"client_encrypt_ms": 1000 * (t1 - t0), "server_evaluate_ms": 1000 * (t2 - t1),
                     "client_decrypt_ms": 1000 * (t3 - t2), "bytes_to_server": len(query),
                     "bytes_to_client": len(reply), "label": label, "expected": _plain(plain)})
    return pd.DataFrame(rows, index=X.index)


def _run_ckks(mlp, X: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    from .crypto.ckks import CKKSClient, CKKSServer, evaluate_ckks

    server = CKKSServer(mlp)
    client = CKKSClient.for_strategy(server.strategy)
    df = evaluate_ckks(mlp, X, client, server=server)
    out = pd.DataFrame({"client_encrypt_ms": df["encrypt_ms"], "server_evaluate_ms": df["evaluate_ms"],
                        "client_decrypt_ms": df["decrypt_ms"], "bytes_to_server": df["query_bytes"],
                        "bytes_to_client": df["reply_bytes"],
                        "label": [mlp.classes_[k] for k in df["encrypted_label"]],
                        "expected": [mlp.classes_[k] for k in df["plaintext_label"]]}, index=X.index)
    info = {"setup_ms": float(df.attrs["setup_ms"]), "setup_bytes": int(df["context_bytes"].iloc[0]),
            "parameters": f"N = {df.attrs['poly_modulus_degree']}, primes {df.attrs['coeff_mod_bit_sizes']}"}
    return out, info


def _cost_row(mode: str, model: str, per_row: pd.DataFrame, timed: int, plaintext_ms: float, *,
              key_bits=None, max_depth=None, depth=None, internal_nodes=None, setup_ms=math.nan,
              setup_bytes=0) -> dict:
    sample = per_row.iloc[:timed]
    row = {"mode": mode, "model": model, "key_bits": key_bits, "max_depth": max_depth, "depth": depth,
           "internal_nodes": internal_nodes, "rows_timed": len(sample)}
    for phase in ("client_encrypt_ms", "server_evaluate_ms", "client_answer_ms", "server_finish_ms",
                  "client_decrypt_ms"):
        row[phase] = _median_ms(sample[phase].dropna()) if phase in sample else math.nan
    row["total_ms"] = float(np.nansum([row[p] for p in ("client_encrypt_ms", "server_evaluate_ms",
                                                        "client_answer_ms", "server_finish_ms",
                                                        "client_decrypt_ms")]))
    row["plaintext_ms"] = plaintext_ms
    row["slowdown"] = row["total_ms"] / plaintext_ms if plaintext_ms else math.nan
    row["setup_ms"] = setup_ms
    row["bytes_to_server"] = int(sample["bytes_to_server"].median()) if len(sample) else 0
    row["bytes_to_client"] = int(sample["bytes_to_client"].median()) if len(sample) else 0
    row["setup_bytes"] = int(setup_bytes)
    row["agreement"] = _agreement(per_row["label"], per_row["expected"])
    return row


def throughput_table(client, server, X: pd.DataFrame, workers: Sequence[int] = (1, 2), *,
                     engines: Sequence[str] = ("joblib", "dask"), scheduler=None) -> pd.DataFrame:
    """Patients per second against workers, per engine (:func:`encmed_lib.scale.throughput_vs_workers`).

    A scoring service keeps its workers running, with the library imported:
    so the workers are started **and warmed up** (a few patients scored,
    untimed) before the clock.  For dask without a ``scheduler`` one
    ``LocalCluster`` of ``max(workers)`` single-threaded processes is started
    for the measurement, and each size uses that many of its workers.

    Parameters
    ----------
    client, server
        A :class:`~encmed_lib.Client` and a :class:`~encmed_lib.TreeServer`.
    X : pandas.DataFrame
        The cohort (every engine scores the same rows).
    workers : sequence of int
    engines : sequence of {"joblib", "dask"}
    scheduler : str or distributed.Client, optional
        For dask: an existing cluster.

    Returns
    -------
    pandas.DataFrame
        ``engine``, ``workers``, ``patients``, ``seconds``, ``patients_per_s``,
        ``speedup`` (against the engine's first row); ``attrs`` holds
        ``key_bits``, ``cores`` and ``same_labels`` (every engine and worker
        count returned the same labels, equal to the plaintext tree's).
    """
    from .scale import predict_encrypted, throughput_vs_workers

    workers = tuple(int(n) for n in workers)
    warm = X.iloc[:4 * max(workers)]
    frames, labels = [], []
    for engine in engines:
        if engine == "joblib":
            for n in workers:
                if n > 1:  # start the processes and import the library in them, untimed
                    predict_encrypted(client, server, warm, n_jobs=n, progress=False, chunk_size=1)
            frames.append(throughput_vs_workers(client, server, X, workers, engine="joblib"))
            labels.append(predict_encrypted(client, server, warm, progress=False))
            continue
        from distributed import Client as DaskClient
        from distributed import LocalCluster

        cluster = own = None
        target = scheduler
        if target is None:
            cluster = LocalCluster(n_workers=max(workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            target = own = DaskClient(cluster)
        try:
            labels.append(predict_encrypted(client, server, warm, n_jobs=max(workers), progress=False,
                                            engine="dask", scheduler=target, chunk_size=1))
            frames.append(throughput_vs_workers(client, server, X, workers, engine="dask", scheduler=target))
        finally:
            if own is not None:
                own.close()
                cluster.close()
    columns = ["engine", "workers", "patients", "seconds", "patients_per_s", "speedup"]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    expected = server.tree.to_sklearn().predict(warm) if len(warm) else np.array([])
    same = all(np.array_equal(lab, expected) for lab in labels)
    df.attrs.update(key_bits=client.key_bits, cores=os.cpu_count(), same_labels=bool(same))
    return df


def cost_report(key_sizes: Sequence[int] = (1024, 2048, 3072), depths: Iterable[int] = range(3, 11), *,
                rows: int = 30, label_only_depths: Iterable[int] = (3, 4, 5, 6), label_only_rows: int = 5,
                agreement_rows: int | None = None, modes: Sequence[str] = MODES,
                dp_epsilons: Sequence[float] = (0.1, 1.0, 10.0), dp_seeds: Sequence[int] = range(5),
                federated_depth: int = 4, federated_key_bits: int = 2048, federated_unpacked: bool = True,
                federated_dp_epsilon: float = 10.0,
                throughput_rows: int = 300, throughput_bits: int = 2048, throughput_depth: int = 5,
                throughput_engines: Sequence[str] = ("joblib", "dask"), seed: int = 0,
                verbose: bool = False) -> dict[str, pd.DataFrame]:
    """What every protocol costs, measured on this machine, next to plaintext scikit-learn.

    On the heart data's seeded held-out split (the same for every model):

    * **cost**: for each mode in ``modes``, each Paillier key size and each
      tree depth (label-only only at ``label_only_depths``; linear and CKKS do
      not depend on the depth, CKKS not on the Paillier key), the **median**
      milliseconds per patient of each phase over the first ``rows`` held-out
      rows (``label_only_rows`` for label-only), every message serialised to
      JSON (CKKS: serialised ciphertexts), no randomiser precomputed; the
      bytes each way; scikit-learn's ``predict`` on the same rows one at a
      time (``plaintext_ms``) and the ratio (``slowdown``).  At the smallest
      key size every mode runs on ``agreement_rows`` held-out rows (``None``:
      all) and ``agreement`` counts the encrypted labels equal to the
      plaintext model's; at other sizes it counts the timed rows.
    * **accuracy**: held-out accuracy of every model: trees of each depth
      (basic and label-only mode serve the same tree), the logistic
      regression (linear scoring), the square-activation network (CKKS), the
      federated tree and DP federated trees at ``dp_epsilons`` (median over
      ``dp_seeds``), and the majority class.
    * **federated**: :func:`encmed_lib.federated.report.compare_backends` for
      plain, secret-sharing and Paillier aggregation (``federated_unpacked``
      adds unpacked Paillier), plus secret sharing with central and
      distributed DP noise (``federated_dp_epsilon``; with a small epsilon the noisy
      tree stops early, which makes training cheaper, not comparable).
    * **throughput**: :func:`throughput_table` with ``throughput_rows``
      patients (0: skipped) at ``throughput_bits`` and a tree of depth
      ``throughput_depth``, on 1 and 2 workers per engine.
    * **config**: what was measured, where and when.

    Parameters
    ----------
    key_sizes, depths : sequences of int
        The grid (``depths`` are ``max_depth`` values; the tree may stop shallower).
    rows, label_only_rows, agreement_rows : int
        Row samples (see above).
    label_only_depths : sequence of int
        Label-only runs a DGK comparison per node (the tree's own nodes, not padded).
    modes : sequence of str
        Among :data:`MODES`; ``"ckks"`` is skipped (and said so) without TenSEAL.
    dp_epsilons, dp_seeds : sequences
        DP trees in the accuracy table.
    federated_depth, federated_key_bits, federated_unpacked, federated_dp_epsilon
        The federated training runs.
    throughput_rows, throughput_bits, throughput_depth, throughput_engines
        The scale-out measurement.
    seed : int
        The split, the models and the providers (statistical randomness).
    verbose : bool
        Print progress.

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``"config"``, ``"cost"`` (columns :data:`COST_COLUMNS`), ``"accuracy"``,
        ``"federated"``, ``"throughput"``.
    """
    from .crypto.ckks import TENSEAL_AVAILABLE
    from .data.heart import load_heart
    from .protocol import TreeServer
    from .tree import split_data, train_tree

    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown modes {unknown}; choose among {MODES}")
    started = time.perf_counter()
    key_sizes = sorted(int(b) for b in key_sizes)
    depths = [int(d) for d in depths]
    lo_depths = [int(d) for d in label_only_depths]
    X, y = load_heart()
    X_train, X_test, y_train, y_test = split_data(X, y, random_state=seed)
    check = X_test if agreement_rows is None else X_test.iloc[:max(agreement_rows, rows, label_only_rows)]
    notes = []
    if "ckks" in modes and not TENSEAL_AVAILABLE:
        notes.append("CKKS not measured: TenSEAL is not installed")
        modes = [m for m in modes if m != "ckks"]

    trees = {d: train_tree(X_train, y_train, max_depth=d, random_state=seed)
             for d in sorted(set(depths) | set(lo_depths) | {throughput_depth})}
    logistic = _logistic(X_train, y_train, seed)
    cost = []
    for bits in key_sizes:
        start = time.perf_counter()
        client = _client(bits)
        setup_ms = 1000 * (time.perf_counter() - start)
        smallest = bits == key_sizes[0]
        for d in sorted(set(depths) | (set(lo_depths) if "label-only" in modes else set())):
            tree = trees[d]
            if "basic" in modes and d in depths:
                sample = check if smallest else X_test.iloc[:rows]
                per_row = _run_basic(client, tree, sample)
                cost.append(_cost_row("basic", f"decision tree, max_depth {d}", per_row, rows,
                                      _plaintext_ms(tree, X_test.iloc[:rows]), key_bits=bits, max_depth=d,
                                      depth=tree.get_depth(), internal_nodes=tree.tree_.node_count // 2,
                                      setup_ms=setup_ms))
                _say(verbose, f"  basic {bits} bits, depth {d}: {cost[-1]['total_ms']:.1f} ms, "
                              f"agreement {cost[-1]['agreement']}")
            if "label-only" in modes and d in lo_depths:
                sample = check if smallest else X_test.iloc[:label_only_rows]
                per_row = _run_label_only(client, tree, sample)
                mode = "label-only"
                cost.append(_cost_row(mode, f"decision tree, max_depth {d}", per_row, label_only_rows,
                                      _plaintext_ms(tree, X_test.iloc[:label_only_rows]), key_bits=bits,
                                      max_depth=d, depth=tree.get_depth(),
                                      internal_nodes=per_row.attrs["comparisons"],
                                      setup_ms=setup_ms))
                _say(verbose, f"  {mode} {bits} bits, depth {d}: {cost[-1]['total_ms']:.1f} ms, "
                              f"agreement {cost[-1]['agreement']}")
        if "linear" in modes:
            sample = check if smallest else X_test.iloc[:rows]
            per_row = _run_linear(client, logistic, sample)
            cost.append(_cost_row("linear", "logistic regression", per_row, rows,
                                  _plaintext_ms(logistic, X_test.iloc[:rows]), key_bits=bits,
                                  setup_ms=setup_ms))
            _say(verbose, f"  linear {bits} bits: {cost[-1]['total_ms']:.1f} ms, "
                          f"agreement {cost[-1]['agreement']}")
    from .crypto.ckks import SquareMLP

    mlp = SquareMLP(hidden=8, random_state=seed).fit(X_train, y_train)  # numpy: no TenSEAL needed
    if "ckks" in modes:
        per_row, info = _run_ckks(mlp, check)
        cost.append(_cost_row("ckks", "square-activation network", per_row, rows,
                              _plaintext_ms(mlp, X_test.iloc[:rows]), setup_ms=info["setup_ms"],
                              setup_bytes=info["setup_bytes"]))
        cost[-1]["parameters"] = info["parameters"]
        _say(verbose, f"  ckks: {cost[-1]['total_ms']:.1f} ms, agreement {cost[-1]['agreement']}")
    cost_df = pd.DataFrame(cost)
    if "parameters" not in cost_df:
        cost_df["parameters"] = None
    cost_df["parameters"] = [p if isinstance(p, str) else
                             (f"Paillier {int(b)} bits" if pd.notna(b) else "")
                             for p, b in zip(cost_df["parameters"], cost_df["key_bits"], strict=True)]
    cost_df = cost_df[[*COST_COLUMNS[:3], "parameters", *COST_COLUMNS[3:]]] if len(cost_df) else \
        pd.DataFrame(columns=[*COST_COLUMNS[:3], "parameters", *COST_COLUMNS[3:]])
    for col in ("key_bits", "max_depth", "depth", "internal_nodes"):
        cost_df[col] = cost_df[col].astype("Int64")

    _say(verbose, "  accuracy of every model")
    federated, fed_tree = _federated_cost(X_train, y_train, federated_depth, federated_key_bits,
                                          federated_unpacked, seed, federated_dp_epsilon)
    accuracy = _accuracy_table(trees, depths, lo_depths, logistic, mlp, fed_tree, federated_depth,
                               X_train, y_train, X_test, y_test, dp_epsilons, dp_seeds, modes)

    if throughput_rows:
        _say(verbose, f"  throughput: {throughput_rows} patients, {throughput_bits} bits, "
                      f"engines {list(throughput_engines)}")
        client = _client(throughput_bits)
        throughput = throughput_table(client, TreeServer(trees[throughput_depth]), X.iloc[:throughput_rows],
                                      (1, 2), engines=throughput_engines)
        throughput.insert(1, "key_bits", throughput_bits)
        throughput.insert(2, "depth", trees[throughput_depth].get_depth())
    else:
        throughput = pd.DataFrame(columns=["engine", "key_bits", "depth", "workers", "patients", "seconds",
                                           "patients_per_s", "speedup"])
    elapsed = time.perf_counter() - started
    n_check = len(check)
    config = pd.DataFrame([
        ("measured", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"),
        ("python", platform.python_version()),
        ("Paillier key sizes (bits)", ", ".join(str(b) for b in key_sizes)),
        ("tree depths (max_depth)", ", ".join(str(d) for d in depths)),
        ("label-only depths", ", ".join(str(d) for d in lo_depths) if "label-only" in modes else "-"),
        ("modes", ", ".join(modes)),
        ("held-out split", f"{len(X_test)} of {len(X)} heart records (seed {seed})"),
        ("timed rows", f"{rows} per configuration ({label_only_rows} for label-only), median per phase; "
                       "no randomiser precomputed"),
        ("agreement", f"checked on {n_check} held-out rows at {key_sizes[0]} bits (every mode), on the "
                      "timed rows at other key sizes"),
        ("throughput", f"{throughput_rows} patients, {throughput_bits} bits, depth {throughput_depth}, "
                       f"1 and 2 workers, engines {', '.join(throughput_engines)}"
                       if throughput_rows else "not measured in this configuration"),
        ("notes", "; ".join(notes) or "-"),
        ("wall time of the measurement (s)", f"{elapsed:.0f}"),
    ], columns=["item", "value"])
    return {"config": config, "cost": cost_df, "accuracy": accuracy, "federated": federated,
            "throughput": throughput}


def _federated_cost(X_train, y_train, depth: int, key_bits: int, unpacked: bool, seed: int,
                    dp_epsilon: float = 10.0):
    from .federated import (
        HEART_RANGES,
        Binning,
        PaillierAggregator,
        PlainAggregator,
        SecretSharingAggregator,
        Transcript,
        split_providers,
    )
    from .federated.report import compare_backends
    from .privacy import dp_federated_tree

    providers = split_providers(X_train, y_train, k=3, sizes=(0.5, 0.3, 0.2), seed=seed)
    binning = Binning.from_ranges(HEART_RANGES, n_bins=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paillier = PaillierAggregator(key_bits=key_bits)
    backends = {"plain": PlainAggregator(), "secret sharing": SecretSharingAggregator(),
                f"paillier {key_bits}": paillier}
    if unpacked:
        backends[f"paillier {key_bits}, unpacked"] = PaillierAggregator(keypair=paillier.keypair, pack=False)
    costs, trainers = compare_backends(providers, binning, depth, backends, return_trainers=True)
    fed_tree = next(iter(trainers.values())).tree_
    rows = costs.reset_index().to_dict(orient="records")
    names = [p.name for p in providers]
    for mode in ("central", "distributed"):
        transcript = Transcript()
        start = time.perf_counter()
        tree, _ = dp_federated_tree(providers, dp_epsilon, depth, binning, SecretSharingAggregator(),
                                    rng=seed, mode=mode, classes=sorted(np.unique(y_train).tolist()),
                                    transcript=transcript)
        seconds = time.perf_counter() - start
        rows.append({"backend": f"secret sharing + DP ({mode}, epsilon {dp_epsilon:g})", "seconds": seconds,
                     "messages": len(transcript), "bytes": transcript.total_bytes,
                     "bytes per provider": max(sum(m.size for m in transcript.sent_by(n)) for n in names),
                     "rounds": len({m.round for m in transcript if m.round}), "nodes": len(tree.nodes),
                     "same tree": None})  # a noisy tree: not expected to be the same
    df = pd.DataFrame(rows)
    df.attrs.update(depth=depth, providers=len(providers), bins=16)
    return df, fed_tree


def _accuracy_table(trees, depths, lo_depths, logistic, mlp, fed_tree, fed_depth, X_train, y_train,
                    X_test, y_test, dp_epsilons, dp_seeds, modes) -> pd.DataFrame:
    y = np.asarray(y_test)
    rows = []
    for d in depths:
        served = "basic" + (", label-only" if "label-only" in modes and d in lo_depths else "")
        rows.append({"model": f"decision tree, max_depth {d}", "served by": served,
                     "accuracy": float(np.mean(trees[d].predict(X_test) == y)), "note": "seed 0"})
    rows.append({"model": "logistic regression (standardised)", "served by": "linear",
                 "accuracy": float(np.mean(logistic.predict(X_test) == y)), "note": "seed 0"})
    if mlp is not None:
        rows.append({"model": "square-activation network (8 hidden)", "served by": "ckks",
                     "accuracy": float(np.mean(mlp.predict(X_test) == y)), "note": "seed 0"})
    rows.append({"model": f"federated tree, depth {fed_depth} (16 public bins)",
                 "served by": "basic, label-only (trained by any back-end)",
                 "accuracy": float(np.mean(fed_tree.to_sklearn().predict(X_test) == y)),
                 "note": "3 providers; every back-end gives this tree"})
    if len(dp_epsilons) and len(dp_seeds):
        dp = _dp_accuracy(X_train, y_train, X_test, y, dp_epsilons, dp_seeds, fed_depth)
        for (method, eps), part in dp.groupby(["method", "epsilon"], sort=True):
            rows.append({"model": f"{method}, depth {fed_depth}, epsilon {eps:g}",
                         "served by": "basic, label-only", "accuracy": float(part["accuracy"].median()),
                         "note": f"median over {part['seed'].nunique()} seeds (8 public bins)"})
    rows.append({"model": "majority class", "served by": "-",
                 "accuracy": float(pd.Series(y).value_counts(normalize=True).iloc[0]), "note": "baseline"})
    return pd.DataFrame(rows)


def _dp_accuracy(X_train, y_train, X_test, y_test, epsilons, seeds, depth: int) -> pd.DataFrame:
    """Held-out accuracy of DP federated trees, as :func:`encmed_lib.privacy.accuracy_vs_epsilon` draws them.

    The same providers, binning (8 equal-width bins on the public ranges) and
    noise seeds as the DP notebook's ``"central"`` and ``"distributed"``
    methods, without importing diffprivlib (not needed for these two).
    """
    from .federated import HEART_RANGES, Binning, PlainAggregator, split_providers
    from .privacy import METHODS, _seed, dp_federated_tree

    binning = Binning.from_ranges(HEART_RANGES, 8)
    columns = binning.feature_names
    classes = sorted(np.unique(np.asarray(y_train)).tolist())
    rows = []
    for seed in seeds:
        providers = split_providers(X_train[columns], np.asarray(y_train), k=3, seed=int(seed))
        for eps in epsilons:
            for mode in ("central", "distributed"):
                tree, _ = dp_federated_tree(providers, eps, depth, binning, PlainAggregator(),
                                            rng=_seed(seed, mode, eps), mode=mode, classes=classes)
                pred = tree.to_sklearn().predict(X_test[columns])
                rows.append({"method": METHODS[mode], "epsilon": float(eps), "seed": int(seed),
                             "accuracy": float(np.mean(pred == np.asarray(y_test)))})
    return pd.DataFrame(rows, columns=["method", "epsilon", "seed", "accuracy"])


def headline(report: Mapping[str, pd.DataFrame], *, key_bits: int = 2048, depth: int = 4) -> pd.DataFrame:
    """One row per mode at a reference configuration: time, plaintext time, bytes, agreement.

    The reference is ``key_bits`` and ``depth`` when measured, else the
    nearest measured ones (linear and CKKS have no depth; CKKS no Paillier key).
    """
    cost = report["cost"]
    rows = []
    for _, part in cost.groupby("mode", sort=False):
        if part["key_bits"].notna().any():
            sizes = part["key_bits"].dropna().astype(int)
            bits = min(sizes.unique(), key=lambda b: (abs(b - key_bits), b))
            part = part[part["key_bits"] == bits]
        if part["max_depth"].notna().any():
            ds = part["max_depth"].dropna().astype(int)
            d = min(ds.unique(), key=lambda v: (abs(v - depth), v))
            part = part[part["max_depth"] == d]
        rows.append(part.iloc[0])
    cols = ["mode", "parameters", "max_depth", "total_ms", "plaintext_ms", "slowdown", "bytes_to_server",
            "bytes_to_client", "agreement"]
    return pd.DataFrame(rows)[cols].reset_index(drop=True)


# ============================================================== the report: tables
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


# ============================================================== the report: figures
_MODE_STYLE = {"basic": ("#4C72B0", "o", "-"), "label-only": ("#DD8452", "s", "-"),
               "label-only (compact)": ("#DD8452", "s", "-"), "linear": ("#55A868", None, "--"),
               "ckks": ("#8172B3", None, "-.")}


def plot_cost_by_depth(cost: pd.DataFrame) -> Figure:
    """Median time per patient against tree depth, one panel per Paillier key size (log scale).

    Tree modes are lines over depth; linear scoring and CKKS do not depend on
    the depth (horizontal lines); plaintext scikit-learn is dotted grey.
    """
    sizes = sorted(cost["key_bits"].dropna().astype(int).unique())
    fig = Figure(figsize=(4.2 * max(1, len(sizes)) + 0.5, 4.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(1, len(sizes)), sharey=True))
    ckks = cost[cost["mode"] == "ckks"]
    depth_values = cost["depth"].dropna().astype(int)
    span = (int(depth_values.min()) - 0.3, int(depth_values.max()) + 0.3) if len(depth_values) else (0, 1)
    for ax, bits in zip(axes, sizes or [None], strict=True):
        part = cost[cost["key_bits"] == bits] if bits is not None else cost.iloc[0:0]
        # a larger max_depth can give the same tree (it stopped growing): one point per actual depth
        part = part.drop_duplicates(subset=["mode", "depth"], keep="first")
        basic = part[part["mode"] == "basic"].sort_values("depth")
        for mode, sub in part[part["depth"].notna()].groupby("mode", sort=False):
            colour, marker, style = _MODE_STYLE.get(mode, ("0.3", "o", "-"))
            sub = sub.sort_values("depth")
            ax.plot(sub["depth"].astype(int), sub["total_ms"], marker=marker, ls=style, color=colour,
                    label=mode)
        if len(basic):
            ax.plot(basic["depth"].astype(int), basic["plaintext_ms"], ls=":", color="0.45", marker=".",
                    label="plaintext scikit-learn (tree)")
        for mode, sub in (("linear", part[part["mode"] == "linear"]), ("ckks", ckks)):
            if len(sub):
                colour, _, style = _MODE_STYLE[mode]
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
    parts = []
    for _, row in cost.iterrows():
        if pd.notna(row["max_depth"]):
            ds = cost[(cost["mode"] == row["mode"]) & (cost["key_bits"] == row["key_bits"])]["max_depth"]
            ref = min(ds.dropna().astype(int).unique(), key=lambda v: (abs(v - depth), v))
            if int(row["max_depth"]) != ref:
                continue
            label = f"{row['mode']}, {int(row['key_bits'])} bits, depth {int(row['depth'])}"
        elif pd.notna(row["key_bits"]):
            label = f"{row['mode']}, {int(row['key_bits'])} bits"
        else:
            label = f"{row['mode']} ({row['parameters']})" if row["parameters"] else str(row["mode"])
        parts.append((label, row))
    fig = Figure(figsize=(10, 1.2 + 0.5 * max(1, len(parts))), layout="constrained")
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
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="lower right")
    ax.set_yticks(y, [label for label, _ in parts])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("bytes per patient (log scale; JSON for Paillier modes, serialised CKKS)")
    ax.set_title("Bytes on the wire per patient")
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_accuracy(accuracy: pd.DataFrame) -> Figure:
    """Held-out accuracy of every model (one split), the majority class dashed."""
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
    panels = 3 if curve is not None and len(curve) else 2
    fig = Figure(figsize=(5.2 * panels, 4.2), layout="constrained")
    axes = fig.subplots(1, panels)
    ax1, ax2 = axes[0], axes[-1]
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

    if panels == 3:
        ax = axes[1]
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
    return fig


def plot_throughput(throughput: pd.DataFrame) -> Figure:
    """:func:`encmed_lib.scale.plot_throughput`, or a note when throughput was not measured."""
    from .scale import plot_throughput as _plot

    if len(throughput):
        return _plot(throughput)
    fig = Figure(figsize=(6, 2))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, "throughput not measured in this configuration", ha="center", va="center")
    return fig


# ============================================================== the report: files
REPORT_FILES = ("evaluation_report.md", "evaluation_cost.csv", "evaluation_accuracy.csv",
                "evaluation_federated.csv", "evaluation_throughput.csv", "10_cost_by_depth.png",
                "10_bytes_by_mode.png", "10_throughput.png", "10_accuracy.png")
"""Files :func:`write_report` always writes (plus the privacy files when the report has them)."""

PRIVACY_FILES = ("evaluation_threshold_recovery.csv", "evaluation_label_only_curve.csv",
                 "evaluation_extraction.csv", "evaluation_membership.csv", "10_privacy.png")


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
        the figures (``10_cost_by_depth.png``, ``10_bytes_by_mode.png``,
        ``10_throughput.png``, ``10_accuracy.png``, ``10_privacy.png`` when the
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
                      ("membership", "evaluation_membership.csv")):
        if key in report:
            report[key].to_csv(out / name, index=False)
            written.append(out / name)
    written.append(_save(plot_cost_by_depth(report["cost"]), out / "10_cost_by_depth.png"))
    written.append(_save(plot_bytes_by_mode(report["cost"]), out / "10_bytes_by_mode.png"))
    written.append(_save(plot_throughput(report["throughput"]), out / "10_throughput.png"))
    written.append(_save(plot_accuracy(report["accuracy"]), out / "10_accuracy.png"))
    if "threshold_recovery" in report and "membership" in report:
        written.append(_save(plot_privacy(report["threshold_recovery"], report["membership"],
                                          report.get("label_only_curve")), out / "10_privacy.png"))
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
    parts += ["", "## Figures", ""]
    for name, title in (("10_cost_by_depth.png", "time per patient by depth"),
                        ("10_bytes_by_mode.png", "bytes by mode"), ("10_throughput.png", "throughput"),
                        ("10_accuracy.png", "accuracy"), ("10_privacy.png", "measured privacy")):
        if name != "10_privacy.png" or "threshold_recovery" in report:
            parts.append(f"![{title}]({name})")
    return "\n".join(parts) + "\n"


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


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
