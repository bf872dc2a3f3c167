"""Measured cost: every registered protocol, per patient and phase, next to plaintext scikit-learn.

:func:`cost_report` loops over :data:`encmed_lib.protocol.base.REGISTRY` (or the ``modes``
asked for): each entry says which model it serves and how to build its two sides, and
:func:`encmed_lib.bench.measure_protocol` measures it the same way for every mode (each step
timed, JSON bytes counted each way, every label checked against the plaintext model).  A
protocol registered later is measured, tabled and drawn without any change here.  The report
adds the held-out accuracy of every model, the training cost of each federated back-end and
batch throughput against workers (:mod:`.accuracy`, :func:`throughput_table`).  It is
size-configurable (:data:`CONFIGS`): ``"small"`` runs in seconds (notebooks), ``"full"`` in
minutes (the main job).
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ..bench import logistic_model, measure_protocol
from ..protocol.base import REGISTRY
from .accuracy import accuracy_table, federated_cost
from .common import plain, quiet_client, say

__all__ = ["COST_COLUMNS", "CONFIGS", "registered_modes", "cost_report", "throughput_table",
           "headline"]


def registered_modes() -> tuple[str, ...]:
    """The names of :data:`~encmed_lib.protocol.base.REGISTRY`, in registration order."""
    return tuple(REGISTRY)


def __getattr__(name: str):
    if name == "MODES":  # always the registry's current list
        return registered_modes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


_MODEL_NAMES = {"tree": "decision tree, max_depth {depth}", "linear": "logistic regression",
                "mlp": "square-activation network"}


def _agreement(labels, expected) -> str:
    agree = sum(int(plain(a) == plain(b)) for a, b in zip(labels, expected, strict=True))
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


PHASE_COLUMNS = ("client_encrypt_ms", "server_evaluate_ms", "client_answer_ms", "server_finish_ms",
                 "client_decrypt_ms")


def _cost_row(mode: str, model: str, per_row: pd.DataFrame, timed: int, plaintext_ms: float, *,
              key_bits=None, max_depth=None, depth=None, internal_nodes=None, setup_ms=math.nan,
              setup_bytes=0, parameters: str = "") -> dict:
    sample = per_row.iloc[:timed]
    row = {"mode": mode, "model": model, "key_bits": key_bits, "parameters": parameters,
           "max_depth": max_depth, "depth": depth, "internal_nodes": internal_nodes,
           "rows_timed": len(sample)}
    for phase in PHASE_COLUMNS:
        row[phase] = _median_ms(sample[phase].dropna()) if phase in sample else math.nan
    row["total_ms"] = float(np.nansum([row[p] for p in PHASE_COLUMNS]))
    row["plaintext_ms"] = plaintext_ms
    row["slowdown"] = row["total_ms"] / plaintext_ms if plaintext_ms else math.nan
    row["setup_ms"] = setup_ms
    row["bytes_to_server"] = int(sample["bytes_to_server"].median()) if len(sample) else 0
    row["bytes_to_client"] = int(sample["bytes_to_client"].median()) if len(sample) else 0
    row["setup_bytes"] = int(setup_bytes)
    row["agreement"] = _agreement(per_row["label"], per_row["expected"])
    return row


@dataclass
class _Setting:
    """The data and models every mode is measured on (one seeded split)."""

    X: pd.DataFrame
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: object
    y_test: object
    check: pd.DataFrame          # the agreement rows (every mode, smallest key size)
    trees: dict                  # max_depth -> fitted tree
    models: dict                 # "linear" / "mlp" -> fitted model


def _plan(modes: Sequence[str], depths, rows: int, mode_depths: Mapping, mode_rows: Mapping) -> dict:
    """``mode -> (depths or (), timed rows)``: tree modes at their depths, the others once."""
    plan = {}
    for name in modes:
        tree_kind = REGISTRY[name].model_kind == "tree"
        plan[name] = (tuple(int(d) for d in mode_depths.get(name, depths)) if tree_kind else (),
                      int(mode_rows.get(name, rows)))
    return plan


def _measure_one(name: str, model, client, bits, key_ms: float, smallest: bool, setting: _Setting,
                 timed: int, depth=None, verbose: bool = False) -> dict:
    """One row of the cost table: ``name`` serving ``model`` (a Paillier ``client``, or None)."""
    entry = REGISTRY[name]
    sample = setting.check if smallest else setting.X_test.iloc[:timed]
    per_row = measure_protocol(name, model, sample, client)
    public, tree_kind = per_row.attrs["public"], entry.model_kind == "tree"
    row = _cost_row(name, _MODEL_NAMES[entry.model_kind].format(depth=depth), per_row, timed,
                    _plaintext_ms(model, setting.X_test.iloc[:timed]), key_bits=bits,
                    max_depth=depth, depth=model.get_depth() if tree_kind else None,
                    internal_nodes=public.get("internal_nodes") if tree_kind else None,
                    setup_ms=key_ms + per_row.attrs["setup_ms"], setup_bytes=per_row.attrs["setup_bytes"],
                    parameters=public.get("parameters") or (f"Paillier {bits} bits" if bits else ""))
    where = ", ".join(p for p in (f"{bits} bits" if bits else "", f"depth {depth}" if depth else "") if p)
    say(verbose, f"  {name}{' ' + where if where else ''}: {row['total_ms']:.1f} ms, "
                 f"agreement {row['agreement']}")
    return row


def _measure_group(names: Sequence[str], plan: dict, setting: _Setting, client=None, bits=None,
                   key_ms: float = 0.0, smallest: bool = True, verbose: bool = False) -> list[dict]:
    """The rows of ``names`` sharing one client: tree modes depth by depth, then the others."""
    trees = [m for m in names if plan[m][0]]
    out = []
    for d in sorted({d for m in trees for d in plan[m][0]}):
        out += [_measure_one(m, setting.trees[d], client, bits, key_ms, smallest, setting, plan[m][1], d,
                             verbose) for m in trees if d in plan[m][0]]
    for m in names:
        if m not in trees:
            model = setting.models[REGISTRY[m].model_kind]
            out.append(_measure_one(m, model, client, bits, key_ms, smallest, setting, plan[m][1],
                                    verbose=verbose))
    return out


def _cost_rows(modes: Sequence[str], key_sizes: Sequence[int], plan: dict, setting: _Setting,
               verbose: bool) -> list[dict]:
    """Every row: the modes that use a Paillier key once per key size, then the others once."""
    keyed = [m for m in modes if REGISTRY[m].per_key_size]
    rows = []
    for bits in key_sizes if keyed else ():
        start = time.perf_counter()
        client = quiet_client(bits)
        key_ms = 1000 * (time.perf_counter() - start)
        rows += _measure_group(keyed, plan, setting, client, bits, key_ms, bits == key_sizes[0], verbose)
    rows += _measure_group([m for m in modes if m not in keyed], plan, setting, verbose=verbose)
    return rows


def _cost_frame(rows: list[dict]) -> pd.DataFrame:
    columns = [*COST_COLUMNS[:3], "parameters", *COST_COLUMNS[3:]]
    df = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    for col in ("key_bits", "max_depth", "depth", "internal_nodes"):
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    return df


def _available(modes: Sequence[str] | None, notes: list[str]) -> list[str]:
    """The modes asked for (default: all), in registry order; those missing a package are dropped."""
    asked = set(REGISTRY.check(registered_modes() if modes is None else modes))
    kept = []
    for name in (m for m in REGISTRY if m in asked):  # the registry's order
        missing = REGISTRY[name].missing()
        if missing:
            notes.append(f"{name} not measured: {', '.join(missing)} not installed")
        else:
            kept.append(name)
    return kept


def _served_by(modes: Sequence[str], plan: dict, depths: Sequence[int]) -> dict:
    """For the accuracy table: which measured modes serve each tree depth, the linear model, the network."""
    served = {d: ", ".join(m for m in modes if d in plan[m][0]) or "-" for d in depths}
    for kind in ("linear", "mlp"):
        served[kind] = ", ".join(m for m in modes if REGISTRY[m].model_kind == kind) or "-"
    return served


def _setting(seed: int, depths: set, agreement_rows: int | None, rows: int) -> _Setting:
    from ..crypto.ckks import SquareMLP
    from ..data.heart import load_heart
    from ..tree import split_data, train_tree

    X, y = load_heart()
    X_train, X_test, y_train, y_test = split_data(X, y, random_state=seed)
    check = X_test if agreement_rows is None else X_test.iloc[:max(agreement_rows, rows)]
    trees = {d: train_tree(X_train, y_train, max_depth=d, random_state=seed) for d in sorted(depths)}
    models = {"linear": logistic_model(X_train, y_train, seed),
              "mlp": SquareMLP(hidden=8, random_state=seed).fit(X_train, y_train)}  # numpy: no TenSEAL
    return _Setting(X, X_train, X_test, y_train, y_test, check, trees, models)


def cost_report(key_sizes: Sequence[int] = (1024, 2048, 3072), depths: Iterable[int] = range(3, 11), *,
                rows: int = 30, label_only_depths: Iterable[int] = (3, 4, 5, 6), label_only_rows: int = 5,
                agreement_rows: int | None = None, modes: Sequence[str] | None = None,
                mode_depths: Mapping[str, Iterable[int]] | None = None,
                mode_rows: Mapping[str, int] | None = None,
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
    modes : sequence of str, optional
        Names of :data:`~encmed_lib.protocol.base.REGISTRY` (default: every registered mode); a
        mode whose optional packages are missing (``"ckks"`` without TenSEAL) is skipped, and
        the config table says so.
    mode_depths, mode_rows : mappings, optional
        Per-mode depths and timed rows; default ``depths`` and ``rows``, except label-only
        (``label_only_depths``, ``label_only_rows``).
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
    started = time.perf_counter()
    notes: list[str] = []
    modes = _available(modes, notes)
    key_sizes = sorted(int(b) for b in key_sizes)
    depths, lo_depths = [int(d) for d in depths], [int(d) for d in label_only_depths]
    plan = _plan(modes, depths, rows, {"label-only": lo_depths, **(mode_depths or {})},
                 {"label-only": label_only_rows, **(mode_rows or {})})
    tree_depths = set(depths) | set(lo_depths) | {throughput_depth} | {d for p in plan.values() for d in p[0]}
    timed = max([rows, label_only_rows, *(p[1] for p in plan.values())])
    setting = _setting(seed, tree_depths, agreement_rows, timed)
    cost = _cost_frame(_cost_rows(modes, key_sizes, plan, setting, verbose))

    say(verbose, "  accuracy of every model")
    federated, fed_tree = federated_cost(setting.X_train, setting.y_train, federated_depth,
                                         federated_key_bits, federated_unpacked, seed, federated_dp_epsilon)
    accuracy = accuracy_table(setting.trees, depths, _served_by(modes, plan, depths),
                              setting.models["linear"], setting.models["mlp"], fed_tree, federated_depth,
                              setting.X_train, setting.y_train, setting.X_test, setting.y_test, dp_epsilons,
                              dp_seeds)
    throughput = _throughput_part(setting, throughput_rows, throughput_bits, throughput_depth,
                                  throughput_engines, verbose)
    config = _config_table(
        key_sizes=key_sizes, depths=depths, lo_depths=lo_depths, modes=modes, setting=setting, seed=seed,
        rows=rows, label_only_rows=label_only_rows, throughput=(throughput_rows, throughput_bits,
                                                                 throughput_depth, throughput_engines),
        notes=notes, elapsed=time.perf_counter() - started)
    return {"config": config, "cost": cost, "accuracy": accuracy, "federated": federated,
            "throughput": throughput}


def _throughput_part(setting: _Setting, n_rows: int, bits: int, depth: int, engines: Sequence[str],
                     verbose: bool) -> pd.DataFrame:
    """The report's throughput table: :func:`throughput_table` on the first ``n_rows`` records (0: empty)."""
    from ..protocol import TreeServer

    if not n_rows:
        return pd.DataFrame(columns=["engine", "key_bits", "depth", "workers", "patients", "seconds",
                                     "patients_per_s", "speedup"])
    say(verbose, f"  throughput: {n_rows} patients, {bits} bits, engines {list(engines)}")
    tree = setting.trees[depth]
    throughput = throughput_table(quiet_client(bits), TreeServer(tree), setting.X.iloc[:n_rows], (1, 2),
                                  engines=engines)
    throughput.insert(1, "key_bits", bits)
    throughput.insert(2, "depth", tree.get_depth())
    return throughput


def _config_table(*, key_sizes, depths, lo_depths, modes, setting: _Setting, seed: int, rows: int,
                  label_only_rows: int, throughput: tuple, notes: list[str], elapsed: float) -> pd.DataFrame:
    """What was measured, where and when (the report's first table)."""
    t_rows, t_bits, t_depth, t_engines = throughput
    return pd.DataFrame([
        ("measured", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"),
        ("python", platform.python_version()),
        ("Paillier key sizes (bits)", ", ".join(str(b) for b in key_sizes)),
        ("tree depths (max_depth)", ", ".join(str(d) for d in depths)),
        ("label-only depths", ", ".join(str(d) for d in lo_depths) if "label-only" in modes else "-"),
        ("modes", ", ".join(modes)),
        ("held-out split", f"{len(setting.X_test)} of {len(setting.X)} heart records (seed {seed})"),
        ("timed rows", f"{rows} per configuration ({label_only_rows} for label-only), median per phase; "
                       "no randomiser precomputed"),
        ("agreement", f"checked on {len(setting.check)} held-out rows at {key_sizes[0]} bits (every mode), "
                      "on the timed rows at other key sizes"),
        ("throughput", f"{t_rows} patients, {t_bits} bits, depth {t_depth}, 1 and 2 workers, engines "
                       f"{', '.join(t_engines)}" if t_rows else "not measured in this configuration"),
        ("notes", "; ".join(notes) or "-"),
        ("wall time of the measurement (s)", f"{elapsed:.0f}"),
    ], columns=["item", "value"])


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
        ``key_bits``, ``depth`` (the server's tree), ``cores`` and ``same_labels`` (every engine and worker
        count returned the same labels, equal to the plaintext tree's).
    """
    from ..scale import predict_encrypted, throughput_vs_workers

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
        label, frame = _dask_throughput(client, server, X, warm, workers, scheduler)
        labels.append(label)
        frames.append(frame)
    columns = ["engine", "workers", "patients", "seconds", "patients_per_s", "speedup"]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    expected = server.tree.to_sklearn().predict(warm) if len(warm) else np.array([])
    same = all(np.array_equal(lab, expected) for lab in labels)
    df.attrs.update(key_bits=client.key_bits, depth=server.tree.depth, cores=os.cpu_count(),
                    same_labels=bool(same))
    return df


def _dask_throughput(client, server, X: pd.DataFrame, warm: pd.DataFrame, workers: tuple[int, ...],
                     scheduler) -> tuple[np.ndarray, pd.DataFrame]:
    """The dask engine's warm-up labels and its rows of :func:`throughput_table`.

    Without a ``scheduler``, a ``LocalCluster`` of ``max(workers)``
    single-threaded processes is started for the measurement and closed after it.
    """
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    from ..scale import predict_encrypted, throughput_vs_workers

    cluster = own = None
    target = scheduler
    if target is None:
        cluster = LocalCluster(n_workers=max(workers), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        target = own = DaskClient(cluster)
    try:
        label = predict_encrypted(client, server, warm, n_jobs=max(workers), progress=False,
                                  engine="dask", scheduler=target, chunk_size=1)
        frame = throughput_vs_workers(client, server, X, workers, engine="dask", scheduler=target)
    finally:
        if own is not None:
            own.close()
            cluster.close()
    return label, frame


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
