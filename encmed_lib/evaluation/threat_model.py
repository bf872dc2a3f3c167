"""The threat model as data: the EHR setting's table and, per protocol, who sees what.

:func:`threat_model` is the setting as a table (system, assets, attackers, vulnerabilities,
threats, risks); :func:`protocol_matrix` says, for every protocol of the course, who sees what,
which threat it stops and what it does not stop, in words for a hospital's privacy officer.  This
text is teaching content; every *number* of the evaluation is measured elsewhere
(:mod:`.measured_privacy`, :mod:`.cost`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["THREAT_MODEL_COLUMNS", "MATRIX_COLUMNS", "PROTOCOLS", "threat_model", "protocol_matrix"]

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

