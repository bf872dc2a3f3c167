"""Batch scoring: many patients, encrypted, on several processes.

A hospital scores a cohort: each record is encrypted by the client, evaluated
by the server and decrypted by the client, exactly as for one patient, with
every message serialised to JSON (so the cost measured is the protocol's real
cost).  Records are cut into chunks that run on ``joblib`` worker processes,
each holding a copy of the client and the server; a ``tqdm`` bar counts
patients as chunks finish.  The result does not depend on the number of
processes: the same labels, in the same order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm


def _score_chunk(client, server, rows: list[dict]) -> list:
    labels = []
    for row in rows:
        query_json = client.encrypt(row).to_json()
        reply_json = server.evaluate(query_json).to_json()
        labels.append(client.decrypt(reply_json))
    return labels


def predict_encrypted(client, server, X: pd.DataFrame, *, n_jobs: int = 1, chunk_size: int | None = None,
                      progress: bool = True) -> np.ndarray:
    """Encrypted predictions for every row of ``X``.

    Parameters
    ----------
    client : Client
        Holds the key pair (copied to each worker process).
    server : TreeServer
        Holds the tree.
    X : pandas.DataFrame
        One record per row.
    n_jobs : int
        Worker processes (``1`` runs in this process).
    chunk_size : int, optional
        Records per task; default splits the rows into about ``4 * n_jobs`` chunks.
    progress : bool
        Show a tqdm progress bar (patients scored).

    Returns
    -------
    numpy.ndarray
        The decrypted labels, in the order of ``X``'s rows.
    """
    rows = X.to_dict(orient="records")
    if not rows:
        return np.array([])
    chunk_size = chunk_size or max(1, -(-len(rows) // (4 * max(1, n_jobs))))
    chunks = [rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size)]
    bar = tqdm(total=len(rows), unit="patient", disable=not progress, desc="encrypted scoring")
    labels: list = []
    if n_jobs == 1:
        for chunk in chunks:
            labels.extend(_score_chunk(client, server, chunk))
            bar.update(len(chunk))
    else:
        parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")
        for chunk, result in zip(chunks, parallel(delayed(_score_chunk)(client, server, c)
                                                  for c in chunks), strict=True):
            labels.extend(result)
            bar.update(len(chunk))
    bar.close()
    return np.array(labels)
