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

import numbers

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from .errors import ArgumentError, DataFormatError, IncompleteBatchError

MAX_JOBS = 1024
"""More worker processes than this is taken for a mistake."""


def _score_chunk(client, server, rows: list[dict]) -> list:
    labels = []
    for row in rows:
        query_json = client.encrypt(row).to_json()
        reply_json = server.evaluate(query_json).to_json()
        labels.append(client.decrypt(reply_json))
    return labels


def _score_numbered(client, server, index: int, rows: list[dict]) -> tuple[int, list]:
    return index, _score_chunk(client, server, rows)


ENGINES = ("joblib", "dask")


def _check_int(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``, or an :class:`ArgumentError` saying what was expected."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and value >= low and (high is None or value <= high):
        return int(value)
    span = f"at least {low}" + ("" if high is None else f" and at most {high}")
    raise ArgumentError(f"{name} must be {span} (an integer), got {value!r}")


def _records(X, feature_names) -> list[dict]:
    """The rows of ``X`` as dicts feature -> value (a DataFrame, or a 2-D array with ``feature_names``)."""
    if isinstance(X, pd.DataFrame):
        if feature_names is not None and list(feature_names) != [str(c) for c in X.columns]:
            raise DataFormatError(None, "feature_names", f"the columns of X {list(X.columns)}",
                                  f"{list(feature_names)}")
        if X.columns.duplicated().any():
            raise DataFormatError(None, "X", "distinct column names",
                                  f"{X.columns[X.columns.duplicated()][0]!r} twice")
        return X.to_dict(orient="records")
    array = np.asarray(X) if isinstance(X, np.ndarray | list | tuple) else None
    if array is None or array.ndim != 2:
        raise DataFormatError(None, "X", "a pandas DataFrame, or a 2-D array with feature_names=[...]",
                              type(X).__name__ if array is None else f"an array of shape {array.shape}")
    if feature_names is None:
        raise DataFormatError(None, "X", "a pandas DataFrame (a NumPy array has no feature names: "
                              "pass feature_names=[...], one per column)", f"an array of shape {array.shape}")
    names = [str(n) for n in feature_names]
    if len(names) != array.shape[1] or len(set(names)) != len(names):
        raise DataFormatError(None, "feature_names", f"{array.shape[1]} distinct names, one per column of X",
                              f"{len(names)} names ({len(set(names))} distinct)")
    return [dict(zip(names, row, strict=True)) for row in array.tolist()]


def predict_encrypted(client, server, X, *, n_jobs: int = 1, chunk_size: int | None = None,
                      progress: bool = True, engine: str = "joblib", scheduler=None,
                      feature_names: list[str] | None = None) -> np.ndarray:
    """Encrypted predictions for every row of ``X``.

    Parameters
    ----------
    client : Client
        Holds the key pair (copied to each worker process).
    server : TreeServer
        Holds the tree.
    X : pandas.DataFrame or 2-D array
        One record per row.  A NumPy array needs ``feature_names``.
    n_jobs : int
        Worker processes, 1 to :data:`MAX_JOBS` (``1`` runs in this process).
    chunk_size : int, optional
        Records per task (at least 1); default splits the rows into about
        ``4 * n_jobs`` chunks.
    progress : bool
        Show a tqdm progress bar (patients scored).
    engine : {"joblib", "dask"}
        Who runs the chunks (see the module docstring).
    scheduler : str or distributed.Client, optional
        With ``engine="dask"``: a scheduler address or a connected client (the
        chunks then run on ``n_jobs`` of its workers); default a temporary
        ``LocalCluster`` of ``n_jobs`` workers.
    feature_names : list of str, optional
        The name of each column when ``X`` is an array.

    Returns
    -------
    numpy.ndarray
        The decrypted labels, in the order of ``X``'s rows.

    Raises
    ------
    ArgumentError
        For an ``engine``, ``n_jobs``, ``chunk_size`` or ``progress`` of the
        wrong type or range (before any work starts).
    DataFormatError
        For an ``X`` that is not a DataFrame or a 2-D array with names.
    IncompleteBatchError
        With ``engine="joblib"``, when a worker process dies: the chunks it
        lost are retried once on fresh workers; if some die again, the error
        carries every label that was computed (``labels``) and the rows that
        were not scored (``missing``).  No finished chunk is ever lost.
    """
    if engine not in ENGINES:
        raise ArgumentError(f"engine must be one of {ENGINES}, got {engine!r}")
    n_jobs = _check_int("n_jobs", n_jobs, 1, MAX_JOBS)
    if chunk_size is not None:
        chunk_size = _check_int("chunk_size", chunk_size, 1)
    if not isinstance(progress, bool | np.bool_):
        raise ArgumentError(f"progress must be True or False, got {progress!r}")
    rows = _records(X, feature_names)
    if not rows:
        return np.array([])
    chunk_size = chunk_size or max(1, -(-len(rows) // (4 * n_jobs)))
    chunks = [rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size)]
    bar = tqdm(total=len(rows), unit="patient", disable=not progress, desc="encrypted scoring")
    try:
        if engine == "dask":
            labels = _run_dask(client, server, chunks, bar, n_jobs, scheduler)
        elif n_jobs == 1:
            labels = []
            for chunk in chunks:
                labels.extend(_score_chunk(client, server, chunk))
                bar.update(len(chunk))
        else:
            labels = _run_joblib(client, server, chunks, bar, n_jobs, chunk_size)
    finally:
        bar.close()
    return np.array(labels)


def _worker_died(exc: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    from joblib.externals.loky.process_executor import BrokenProcessPool as LokyBroken
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    return isinstance(exc, TerminatedWorkerError | LokyBroken | BrokenProcessPool)


def _run_joblib(client, server, chunks: list, bar, n_jobs: int, chunk_size: int) -> list:
    """Run the chunks on loky workers; retry once the chunks of a worker that died."""
    results: list = [None] * len(chunks)
    pending = list(range(len(chunks)))
    for attempt in (1, 2):
        parallel = Parallel(n_jobs=min(n_jobs, len(pending)), backend="loky",
                            return_as="generator_unordered")
        tasks = (delayed(_score_numbered)(client, server, i, chunks[i]) for i in pending)
        try:
            for i, labels in parallel(tasks):
                results[i] = labels
                bar.update(len(chunks[i]))
        except Exception as exc:
            if not _worker_died(exc):
                raise
            if attempt == 2:
                break
        pending = [i for i in pending if results[i] is None]
        if not pending:
            break
    lost = [i for i in range(len(chunks)) if results[i] is None]
    if lost:
        missing = [i * chunk_size + k for i in lost for k in range(len(chunks[i]))]
        labels = [label for i, chunk in enumerate(chunks)
                  for label in (results[i] if results[i] is not None else [None] * len(chunk))]
        raise IncompleteBatchError(
            f"{len(missing)} of {len(labels)} records were not scored: a worker process died while "
            f"scoring them, twice (rows {_ranges(missing)}); the other labels are in .labels, the "
            "rows in .missing", labels, missing)
    return [label for chunk in results for label in chunk]


def _ranges(rows: list[int]) -> str:
    """``[0, 1, 2, 7]`` as ``"0-2, 7"``."""
    parts, start = [], None
    for k, r in enumerate(rows):
        if start is None:
            start = r
        if k + 1 == len(rows) or rows[k + 1] != r + 1:
            parts.append(f"{start}" if start == r else f"{start}-{r}")
            start = None
    return ", ".join(parts)


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
    ``patients_per_s``, ``speedup``; ``attrs`` holds ``key_bits`` (the client's)
    and ``depth`` (the server's tree), for :func:`plot_throughput`.
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
    df.attrs.update(key_bits=getattr(client, "key_bits", None),
                    depth=getattr(getattr(server, "tree", None), "depth", None))
    return df


def _recorded(df: pd.DataFrame, name: str, given):
    """``given``, else the table's one value of column ``name``, else ``df.attrs[name]``, else None."""
    if given is not None:
        return int(given)
    if name in df.columns and df[name].notna().any():
        values = df[name].dropna().unique()
        if len(values) == 1:
            return int(values[0])
    value = df.attrs.get(name)
    return None if value is None else int(value)


def plot_throughput(df: pd.DataFrame, *, key_bits: int | None = None, depth: int | None = None):
    """Throughput against workers, one line per engine, with its ideal linear scaling dashed.

    Every line is in the legend: each engine's measured throughput (solid)
    and, in the same colour, the throughput it would reach if it scaled
    linearly from its first worker count (dashed).  The title gives the
    Paillier key size and the tree depth, read from ``key_bits`` / ``depth``,
    else from the table's columns of those names (the evaluation report's
    table), else from ``df.attrs`` (:func:`throughput_vs_workers`,
    :func:`encmed_lib.evaluation.throughput_table`).

    Raises
    ------
    ArgumentError
        ``df`` is empty, or the key size or the depth is known from nowhere.
    """
    from matplotlib.figure import Figure

    key_bits, depth = _recorded(df, "key_bits", key_bits), _recorded(df, "depth", depth)
    if not len(df):
        raise ArgumentError("plot_throughput needs at least one measured row")
    if key_bits is None or depth is None:
        raise ArgumentError("plot_throughput needs the key size and the tree depth: pass key_bits= and "
                            "depth=, or a table from throughput_vs_workers() or throughput_table()")
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.subplots()
    for k, (engine, part) in enumerate(df.groupby("engine", sort=False)):
        part = part.sort_values("workers")
        colour = f"C{k % 10}"
        ax.plot(part.workers, part.patients_per_s, marker="o", color=colour, label=f"{engine}: measured")
        first = int(part.workers.iloc[0])
        base = part.patients_per_s.iloc[0] / first
        ax.plot(part.workers, base * part.workers, ls="--", color=colour, lw=1,
                label=f"{engine}: linear scaling from {first} worker{'s' if first > 1 else ''}")
    patients = int(df["patients"].iloc[0]) if "patients" in df.columns else None
    cores = df.attrs.get("cores")
    ax.set_xlabel("workers (processes)")
    ax.set_ylabel("patients per second")
    ax.set_xticks(sorted(df.workers.unique()))
    ax.set_title(f"Encrypted batch scoring: Paillier {key_bits}-bit keys, depth-{depth} tree\n"
                 + (f"{patients} patients" if patients else "")
                 + (f", {cores} CPU cores" if cores else "")
                 + " (dashed: ideal linear scaling)", fontsize=10)
    # under the axes: no measured point or line can run under the legend
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="outside lower center", ncols=2,
               frameon=False)
    ax.grid(alpha=0.3)
    return fig
