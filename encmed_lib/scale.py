"""Batch scoring: many patients, encrypted, on several processes.

A hospital scores a cohort: each record is encrypted by the client, evaluated
by the server and decrypted by the client, exactly as for one patient, with
every message serialised to JSON (so the cost measured is the protocol's real
cost).  Records are cut into chunks that run on ``joblib`` worker processes,
each holding a copy of the client and the server; a ``tqdm`` bar counts
patients as chunks finish.  The result does not depend on the number of
processes: the same labels, in the same order.

Two engines run the chunks:

``"joblib"``
    Worker processes on this machine (``n_jobs`` of them).
``"dask"``
    A ``dask.distributed`` cluster: pass ``scheduler="tcp://host:8786"`` for a
    real cluster (or an existing ``distributed.Client``); without one, a
    ``LocalCluster`` of ``n_jobs`` single-threaded worker processes is started
    for the call.  The client and the server are scattered to the workers once,
    and chunks run as tasks.

Either way the labels are the same; only the wall-clock time changes.  Note
that a cluster's workers then hold a copy of the client's private key: in a
real deployment the *client's* work (encrypt, decrypt) and the *server's*
(evaluate) run on different clusters, and this helper models the
hospital-side batch where both sides are simulated.
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


ENGINES = ("joblib", "dask")


def predict_encrypted(client, server, X: pd.DataFrame, *, n_jobs: int = 1, chunk_size: int | None = None,
                      progress: bool = True, engine: str = "joblib", scheduler=None) -> np.ndarray:
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
    engine : {"joblib", "dask"}
        Who runs the chunks (see the module docstring).
    scheduler : str or distributed.Client, optional
        With ``engine="dask"``: a scheduler address or a connected client (the
        chunks then run on ``n_jobs`` of its workers); default a temporary
        ``LocalCluster`` of ``n_jobs`` workers.

    Returns
    -------
    numpy.ndarray
        The decrypted labels, in the order of ``X``'s rows.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    rows = X.to_dict(orient="records")
    if not rows:
        return np.array([])
    chunk_size = chunk_size or max(1, -(-len(rows) // (4 * max(1, n_jobs))))
    chunks = [rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size)]
    bar = tqdm(total=len(rows), unit="patient", disable=not progress, desc="encrypted scoring")
    labels: list = []
    if engine == "dask":
        labels = _run_dask(client, server, chunks, bar, n_jobs, scheduler)
    elif n_jobs == 1:
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


def _run_dask(client, server, chunks: list, bar, n_jobs: int, scheduler) -> list:
    """Run the chunks as tasks on a dask.distributed cluster; results in chunk order."""
    from distributed import Client as DaskClient
    from distributed import LocalCluster, as_completed

    own_cluster = own_client = None
    if isinstance(scheduler, DaskClient):
        dask_client = scheduler
    elif scheduler is not None:
        dask_client = own_client = DaskClient(scheduler)
    else:
        own_cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        dask_client = own_client = DaskClient(own_cluster)
    try:
        # Use n_jobs of the cluster's workers (all of them for a temporary cluster).
        workers = sorted(dask_client.scheduler_info()["workers"])[:n_jobs]
        # hash=False: fresh keys each call, so a previous call's release cannot race with this one
        client_f, server_f = dask_client.scatter([client, server], workers=workers, broadcast=True,
                                                 hash=False)
        futures = [dask_client.submit(_score_chunk, client_f, server_f, chunk, pure=False,
                                      workers=workers) for chunk in chunks]
        position = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(chunks)
        for future in as_completed(futures):
            i = position[future.key]
            results[i] = future.result()
            bar.update(len(chunks[i]))
        return [label for chunk in results for label in chunk]
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def throughput_vs_workers(client, server, X: pd.DataFrame, workers=(1, 2), *, engine: str = "joblib",
                          scheduler=None) -> pd.DataFrame:
    """Patients per second for each number of workers (same rows, same labels checked).

    For ``engine="dask"`` without a scheduler a LocalCluster of each size is
    started *before* the clock; with ``engine="joblib"`` the workers are warmed
    up first.  Returns columns ``engine``, ``workers``, ``patients``, ``seconds``,
    ``patients_per_s``, ``speedup``.
    """
    import time

    rows = []
    reference = None
    for n in workers:
        if engine == "dask" and scheduler is None:
            from distributed import Client as DaskClient
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            target = DaskClient(cluster)
        else:
            cluster, target = None, scheduler
            if engine == "joblib" and n > 1:
                Parallel(n_jobs=n, backend="loky")(delayed(abs)(i) for i in range(2 * n))
        try:
            start = time.perf_counter()
            labels = predict_encrypted(client, server, X, n_jobs=n, progress=False, engine=engine,
                                       scheduler=target)
            seconds = time.perf_counter() - start
        finally:
            if cluster is not None:
                target.close()
                cluster.close()
        if reference is None:
            reference = labels
        elif not np.array_equal(labels, reference):
            raise AssertionError("labels differ between worker counts")
        rows.append({"engine": engine, "workers": n, "patients": len(X), "seconds": seconds,
                     "patients_per_s": len(X) / seconds})
    df = pd.DataFrame(rows)
    df["speedup"] = df.patients_per_s / df.patients_per_s.iloc[0]
    return df


def plot_throughput(df: pd.DataFrame):
    """Throughput against workers, one line per engine, with ideal linear scaling dashed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for engine, part in df.groupby("engine", sort=False):
        ax.plot(part.workers, part.patients_per_s, marker="o", label=engine)
        base = part.patients_per_s.iloc[0] / part.workers.iloc[0]
        ax.plot(part.workers, base * part.workers, ls="--", color="grey", lw=1)
    ax.set_xlabel("workers (processes)")
    ax.set_ylabel("patients per second")
    ax.set_xticks(sorted(df.workers.unique()))
    ax.set_title("Encrypted batch scoring: throughput vs workers (dashed: linear)")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
