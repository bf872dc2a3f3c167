"""The benchmark: what encrypted prediction costs, measured on this machine.

Run it with::

    python -m encmed_lib.bench            # the full grid (several minutes)
    python -m encmed_lib.bench --quick    # 1024/2048 bits, depths 3-5, fewer rows

For each key size and tree depth it trains a tree on the heart sample, then
runs every row through the protocol (JSON messages included) and reports the
**median** per-patient time of each phase, the bytes each way and the
agreement with plaintext scikit-learn.  ``encrypt`` is measured with
randomisers precomputed in a pool (the online cost) and without.  The
*all work* column counts everything for a batch of 30 patients: key
generation and table building once, then pool filling and the three phases
per patient, divided by 30.  Finally it measures batch throughput on 1 and 2
worker processes.  Timings are wall-clock and vary between machines and runs;
this is why they are printed here and never asserted in a test.

:func:`latency_breakdown` is the per-patient measurement behind it (one row
per patient, each phase timed, messages sized, the label checked), and
:func:`plot_latency_breakdown` draws its medians as stacked bars (notebook 05).

Every registered protocol (:data:`encmed_lib.protocol.base.REGISTRY`) is measured the same
way by :func:`measure_protocol` (one row per patient, through
:func:`~encmed_lib.protocol.base.run_exchange`) and summarised by :func:`protocol_table`: a
new protocol appears here, and in :func:`encmed_lib.evaluation.cost_report`, once registered.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
from collections.abc import Sequence

import pandas as pd

from .data.heart import load_heart
from .protocol import Client, TreeServer
from .protocol.base import REGISTRY, ProtocolClient, ProtocolServer, Trace, run_exchange, setup_exchange
from .scale import predict_encrypted
from .tree import train_tree

TARGET_KEY_BITS, TARGET_DEPTH, AMORTISE_OVER = 2048, 5, 30


def _median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def setup_cost(key_bits: int, n_features: int) -> tuple[Client, float]:
    """A fresh client and the seconds spent on its key, tables and first pool."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client(key_bits)
    client.precompute(n_features)  # builds the client's fixed-base tables
    return client, time.perf_counter() - start


PHASES = ("encrypt", "evaluate", "decrypt")
"""The three timed phases of one round trip, in protocol order."""

PHASE_COLOURS = {"encrypt": "#4C72B0", "evaluate": "#DD8452", "decrypt": "#55A868"}


def _drain_pool(client: Client) -> None:
    """Use up any randomisers left in the client's pool (so that none is precomputed)."""
    _drain_pool_of(client.pool)


def _drain_pool_of(pool) -> None:
    while len(pool):
        pool.take()


def _warm_up(client: Client, server: TreeServer, record: dict, pools: tuple[int, dict, int] | None) -> None:
    """One untimed round trip (the fixed-base tables for this key).

    ``pools = (n_features, key, per_query)`` fills both parties' pools first, as a timed patient's do.
    """
    if pools is not None:
        n_features, key, per_query = pools
        client.precompute(n_features)
        server.precompute(key, per_query)
    client.decrypt(server.evaluate(client.encrypt(record).to_json()).to_json())


def _timed_round_trip(client: Client, server: TreeServer, record: dict, plain) -> dict:
    """One patient's round trip: each phase in milliseconds, the JSON sizes and both labels."""
    t1 = time.perf_counter()
    query_json = client.encrypt(record).to_json()
    t2 = time.perf_counter()
    reply_json = server.evaluate(query_json).to_json()
    t3 = time.perf_counter()
    label = client.decrypt(reply_json)
    t4 = time.perf_counter()
    plain = plain.item() if hasattr(plain, "item") else plain
    return {"encrypt": 1000 * (t2 - t1), "evaluate": 1000 * (t3 - t2), "decrypt": 1000 * (t4 - t3),
            "total": 1000 * (t4 - t1), "query_bytes": len(query_json), "reply_bytes": len(reply_json),
            "label": label, "expected": plain, "agrees": bool(label == plain)}


def latency_breakdown(client: Client, server: TreeServer, X: pd.DataFrame, *, precompute: bool = True,
                      tree=None, warmup: bool = True) -> pd.DataFrame:
    """Time every phase of one round trip, for each row of ``X``.

    Per patient, with :func:`time.perf_counter`:

    * ``encrypt``: ``client.encrypt(record).to_json()``.  With ``precompute``
      the pool is filled (``client.precompute(n_features)``) *before* the clock
      starts, as a client would between patients; that filling time is the
      ``fill_pool`` column.  Without it every randomiser is computed online.
    * ``evaluate``: ``server.evaluate(query_json).to_json()`` (parsing included).
    * ``decrypt``: ``client.decrypt(reply_json)`` (parsing included).

    Parameters
    ----------
    client, server : Client, TreeServer
        The two parties (their keys and tables are reused across rows).
    X : pandas.DataFrame
        One record per row.
    precompute : bool
        Fill both parties' randomiser pools before each patient's clock starts
        (the time goes to ``fill_pool``).
    tree : fitted classifier or PortableTree, optional
        Whose plaintext ``predict`` the labels are compared with (default:
        the server's tree).
    warmup : bool
        Run one untimed round trip first, so that one-off work (the client's
        and the server's fixed-base tables for this key) is not counted.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``X``; columns ``fill_pool``, ``encrypt``, ``evaluate``,
        ``decrypt``, ``total`` (the three phases) in **milliseconds**,
        ``query_bytes``, ``reply_bytes`` (JSON lengths), ``label`` (decrypted),
        ``expected`` (plaintext) and ``agrees``.  ``attrs`` records
        ``key_bits`` and ``precompute``.
    """
    records = X.to_dict(orient="records")
    expected = (server.tree if tree is None else tree).predict(X)
    n_features = X.shape[1]
    key = client.public_key_message()  # the key as a query carries it: n and its certificate
    per_query = server.randomisers_per_query(client.key_bits)
    if warmup and records:
        _warm_up(client, server, records[0], (n_features, key, per_query) if precompute else None)
    if not precompute:
        _drain_pool(client)
        _drain_pool_of(server.pool(server._public_key(key)))
    rows = []
    for record, plain in zip(records, expected, strict=True):
        fill = 0.0
        if precompute:
            t0 = time.perf_counter()
            client.precompute(n_features)    # the client's encryption randomisers
            server.precompute(key, per_query)  # the server's re-randomisers, r^n
            fill = time.perf_counter() - t0
        rows.append({"fill_pool": 1000 * fill, **_timed_round_trip(client, server, record, plain)})
    columns = ["fill_pool", *PHASES, "total", "query_bytes", "reply_bytes", "label", "expected", "agrees"]
    df = pd.DataFrame(rows, index=X.index, columns=columns)
    df.attrs.update({"key_bits": client.key_bits, "precompute": precompute})
    return df


def _config_label(df: pd.DataFrame) -> str:
    bits = df.attrs.get("key_bits")
    pool = df.attrs.get("precompute")
    parts = [f"{bits} bits" if bits else "",
             "" if pool is None else ("precomputed pool" if pool else "no pool")]
    return ", ".join(p for p in parts if p) or "round trip"


def _ms(value: float) -> str:
    """Milliseconds with two decimals under 1 ms, one above."""
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def plot_latency_breakdown(df, ax=None, *, title: str = "One patient's round trip: median ms per phase"):
    """A stacked horizontal bar of the median milliseconds of each phase.

    Parameters
    ----------
    df : pandas.DataFrame or dict of label -> DataFrame
        Output(s) of :func:`latency_breakdown`; a dict draws one bar per
        configuration, top to bottom in its order (a single frame is labelled
        from its ``attrs``).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    title : str
        The axes' title.

    Returns
    -------
    matplotlib.figure.Figure
        Three bar segments (encrypt, evaluate, decrypt) per configuration,
        each annotated with its median; the bar's end shows the sum.
    """
    import matplotlib.pyplot as plt

    configs = dict(df) if isinstance(df, dict) else {_config_label(df): df}
    if not configs:
        raise ValueError("nothing to plot: give a latency_breakdown table or a dict of them")
    labels = list(configs)
    medians = pd.DataFrame({label: {p: float(frame[p].median()) for p in PHASES}
                            for label, frame in configs.items()}).T
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 1.1 + 0.75 * len(labels)))
    else:
        fig = ax.figure
    y = list(range(len(labels)))
    totals = medians.sum(axis=1)
    span = float(totals.max()) or 1.0
    left = pd.Series(0.0, index=labels)
    for phase in PHASES:
        widths = medians[phase]
        ax.barh(y, widths, left=left, height=0.6, color=PHASE_COLOURS[phase], label=phase,
                edgecolor="white", linewidth=0.8)
        for yi, label in zip(y, labels, strict=True):
            w = float(widths[label])
            if w >= 0.07 * span:  # narrow segments are named in the total instead
                ax.text(float(left[label]) + w / 2, yi, _ms(w), ha="center", va="center",
                        color="white", fontsize=9, fontweight="bold")
        left = left + widths
    for yi, label in zip(y, labels, strict=True):
        parts = " + ".join(_ms(medians.loc[label, p]) for p in PHASES)
        ax.text(float(totals[label]) + 0.01 * span, yi, f" {parts} = {_ms(totals[label])} ms",
                va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, span * 1.55)
    ax.set_xlabel("median milliseconds per patient (encrypt + evaluate + decrypt)")
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, frameon=False, fontsize=9,
              handlelength=1.2, borderaxespad=0.2)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def measure(tree, X: pd.DataFrame, key_bits: int, *, rows: int | None = None) -> dict:
    """Per-patient costs of the basic protocol for one tree and key size.

    The three phases come from :func:`latency_breakdown` (with a precomputed
    pool, then without it on the first 20 rows for ``encrypt_no_pool_ms``).
    """
    sample = X if rows is None else X.iloc[:rows]
    client, setup_s = setup_cost(key_bits, X.shape[1])
    server = TreeServer(tree)
    online = latency_breakdown(client, server, sample, precompute=True, tree=tree)
    no_pool = latency_breakdown(client, server, sample.iloc[:20], precompute=False, tree=tree,
                                warmup=False)
    med = {phase: float(online[phase].median()) for phase in (*PHASES, "fill_pool")}
    total = med["encrypt"] + med["evaluate"] + med["decrypt"]
    enc_nopool = float(no_pool["encrypt"].median())
    return {
        "key_bits": key_bits, "depth": tree.get_depth(), "internal_nodes": tree.tree_.node_count // 2,
        "encrypt_ms": med["encrypt"], "encrypt_no_pool_ms": enc_nopool,
        "evaluate_ms": med["evaluate"], "decrypt_ms": med["decrypt"], "total_ms": total,
        "total_no_pool_ms": total - med["encrypt"] + enc_nopool,
        "setup_ms": 1000 * setup_s,
        "all_work_ms_per_patient": 1000 * setup_s / AMORTISE_OVER + med["fill_pool"] + total,
        "query_bytes": int(online["query_bytes"].iloc[-1]),
        "reply_bytes": int(online["reply_bytes"].iloc[-1]),
        "agreement": f"{int(online['agrees'].sum())}/{len(online)}",
    }


def throughput(tree, X: pd.DataFrame, key_bits: int, n_jobs: int, n_patients: int = 200) -> float:
    """Patients per second for a batch, key generation and all per-patient work included.

    Worker processes are started before the clock (as a scoring service keeps
    them running); the key pair, the tables, the randomisers of both parties and
    every round trip are timed.
    """
    if n_jobs > 1:
        from joblib import Parallel, delayed

        Parallel(n_jobs=n_jobs, backend="loky")(delayed(abs)(i) for i in range(2 * n_jobs))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client(key_bits)
    labels = predict_encrypted(client, TreeServer(tree), X.iloc[:n_patients], n_jobs=n_jobs,
                               progress=False)
    elapsed = time.perf_counter() - start
    if not (labels == tree.predict(X.iloc[:n_patients])).all():
        raise AssertionError("batch scoring disagrees with the plaintext tree")
    return n_patients / elapsed


def run(key_sizes=(1024, 2048, 3072), depths=range(3, 9), *, rows: int | None = None,
        throughput_patients: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The benchmark grid and the throughput table."""
    X, y = load_heart()
    table = []
    for depth in depths:
        tree = train_tree(X, y, max_depth=depth, random_state=0)
        for bits in key_sizes:
            table.append(measure(tree, X, bits, rows=rows))
            row = table[-1]
            print(f"  {bits} bits, depth {depth}: total {row['total_ms']:.1f} ms, "
                  f"agreement {row['agreement']}", flush=True)
    tree = train_tree(X, y, max_depth=TARGET_DEPTH, random_state=0)
    tput = pd.DataFrame([{"key_bits": TARGET_KEY_BITS, "depth": TARGET_DEPTH, "processes": j,
                          "patients": throughput_patients,
                          "patients_per_s": throughput(tree, X, TARGET_KEY_BITS, j, throughput_patients)}
                         for j in (1, 2)])
    return pd.DataFrame(table), tput


STEP_COLUMNS = {"encrypt": "client_encrypt_ms", "evaluate": "server_evaluate_ms",
                "answer": "client_answer_ms", "finish": "server_finish_ms", "decrypt": "client_decrypt_ms"}
"""The steps of :func:`~encmed_lib.protocol.base.run_exchange` and their columns (ms per patient)."""

EXCHANGE_COLUMNS = [*STEP_COLUMNS.values(), "bytes_to_server", "bytes_to_client", "rounds", "label",
                    "expected"]


def exchange_breakdown(client_side: ProtocolClient, server_side: ProtocolServer, X: pd.DataFrame,
                       expected: Sequence | None = None, *, warmup: bool = True,
                       setup: bool = True) -> pd.DataFrame:
    """Time every step of any registered protocol, one row per patient of ``X``.

    Each record goes through :func:`~encmed_lib.protocol.base.run_exchange` (every message
    serialised to JSON and parsed back, no randomiser precomputed).  The client's hello, when
    the protocol has one, is sent once first (``setup``); with ``warmup`` one untimed exchange
    follows, so that one-off work (fixed-base tables, a DGK key made on first use) is not counted.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``X``: the milliseconds of each step (:data:`STEP_COLUMNS`; NaN for a step
        the protocol does not have, e.g. ``client_answer_ms`` of a one-round mode), the bytes
        (JSON characters) each way, the rounds of answer -> finish, the decrypted ``label`` and
        the ``expected`` one.  ``attrs`` holds ``setup_ms`` and ``setup_bytes`` (the hello).
    """
    records = X.to_dict(orient="records")
    expected = [None] * len(records) if expected is None else list(expected)
    hello = Trace()
    if setup:
        setup_exchange(client_side, server_side, trace=hello)
    if warmup and records:
        run_exchange(client_side, server_side, records[0], setup=False)
    rows = []
    for record, plain in zip(records, expected, strict=True):
        trace = Trace()
        label = run_exchange(client_side, server_side, record, setup=False, trace=trace)
        row = {column: trace.ms.get(step, math.nan) for step, column in STEP_COLUMNS.items()}
        row.update(bytes_to_server=trace.bytes_to_server, bytes_to_client=trace.bytes_to_client,
                   rounds=trace.rounds, label=label, expected=plain)
        rows.append(row)
    df = pd.DataFrame(rows, index=X.index, columns=EXCHANGE_COLUMNS)
    df.attrs.update(setup_ms=hello.ms.get("setup", 0.0), setup_bytes=hello.setup_bytes)
    return df


def measure_protocol(name: str, model, X: pd.DataFrame, source: int | Client = 2048, *,
                     warmup: bool = True, **options) -> pd.DataFrame:
    """:func:`exchange_breakdown` of the registered mode ``name`` serving ``model`` on ``X``.

    Parameters
    ----------
    name : str
        A key of :data:`~encmed_lib.protocol.base.REGISTRY`.
    model
        A fitted model of the entry's ``model_kind``.
    X : pandas.DataFrame
        The patients; their labels are checked against the entry's expected (plaintext) labels.
    source : int or Client
        The client's key size, or a :class:`~encmed_lib.protocol.client.Client` to reuse.
    options
        Keyword arguments of the entry's server side (e.g. ``depth`` for label-only).

    Returns
    -------
    pandas.DataFrame
        :func:`exchange_breakdown`'s table; ``attrs`` adds ``mode``, ``public`` (the server
        side's public description) and ``setup_ms`` (the client side's construction and hello).
    """
    entry = REGISTRY[name]
    server_side = entry.server(model, **options)
    public = server_side.public()
    start = time.perf_counter()
    client_side = entry.client(source, public)
    build_ms = 1000 * (time.perf_counter() - start)
    df = exchange_breakdown(client_side, server_side, X, entry.expected_labels(model, X), warmup=warmup)
    df.attrs.update(mode=name, public=public, setup_ms=build_ms + df.attrs["setup_ms"])
    return df


def logistic_model(X: pd.DataFrame, y, seed: int = 0):
    """The course's linear model: ``StandardScaler`` then ``LogisticRegression``, fitted on ``(X, y)``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed)).fit(X, y)


def summarise(df: pd.DataFrame) -> dict:
    """One row of medians from :func:`measure_protocol`: ms per step, total, bytes, agreement."""
    row = {column: float(df[column].median()) if df[column].notna().any() else math.nan
           for column in STEP_COLUMNS.values()}
    row["total_ms"] = sum(v for v in row.values() if not math.isnan(v))
    row.update(bytes_to_server=int(df["bytes_to_server"].median()),
               bytes_to_client=int(df["bytes_to_client"].median()),
               setup_ms=float(df.attrs.get("setup_ms", math.nan)),
               setup_bytes=int(df.attrs.get("setup_bytes", 0)),
               agreement=f"{int((df['label'] == df['expected']).sum())}/{len(df)}")
    return row


def protocol_table(key_bits: int = TARGET_KEY_BITS, depth: int = TARGET_DEPTH, *, rows: int = 10,
                   modes: Sequence[str] | None = None, verbose: bool = False) -> pd.DataFrame:
    """Every registered mode (or ``modes``) on the heart sample: medians per patient, one row each.

    Tree modes serve a tree of ``max_depth=depth``, linear modes a standardised logistic
    regression, ``"mlp"`` modes a :class:`~encmed_lib.crypto.ckks.SquareMLP`; one
    ``key_bits`` Client is shared by the Paillier modes.  A mode whose optional packages are
    missing is listed with a note instead of numbers.
    """
    from .crypto.ckks import SquareMLP
    from .protocol.modes.basic import paillier_client

    X, y = load_heart()
    models = {"tree": train_tree(X, y, max_depth=depth, random_state=0),
              "linear": logistic_model(X, y), "mlp": SquareMLP(hidden=8, random_state=0).fit(X, y)}
    client = paillier_client(key_bits)
    table = []
    for name in REGISTRY.check(REGISTRY if modes is None else modes):
        entry = REGISTRY[name]
        row = {"mode": name, "model": entry.model_kind, "key_bits": key_bits if entry.per_key_size else None}
        if entry.missing():
            table.append({**row, "note": f"not measured: {', '.join(entry.missing())} not installed"})
            continue
        df = measure_protocol(name, models[entry.model_kind], X.iloc[:rows], client)
        table.append({**row, **summarise(df), "note": df.attrs["public"].get("parameters", "")})
        if verbose:
            print(f"  {name}: {table[-1]['total_ms']:.1f} ms, agreement {table[-1]['agreement']}", flush=True)
    return pd.DataFrame(table)


def main(argv=None) -> None:
    from .bench_label_only import phe_encryption_ms, refusal_times, run_label_only

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1024/2048 bits, depths 3-5, 100 rows")
    args = parser.parse_args(argv)
    if args.quick:
        grid, tput = run((1024, 2048), range(3, 6), rows=100, throughput_patients=100)
        label_only = run_label_only(TARGET_KEY_BITS, range(3, 6), rows=5)
    else:
        grid, tput = run()
        label_only = run_label_only(TARGET_KEY_BITS, range(3, 7), rows=30)
    phe_ms = {bits: phe_encryption_ms(bits) for bits in sorted(set(grid.key_bits))}
    grid["phe_encryptions"] = [ms / phe_ms[b] for ms, b in zip(grid.all_work_ms_per_patient, grid.key_bits,
                                                              strict=True)]
    pd.set_option("display.width", 250)
    print("\nOne plain phe encryption (median ms): "
          + ", ".join(f"{b} bits {ms:.2f}" for b, ms in phe_ms.items()))
    print("\nBasic mode, per patient (median ms; bytes of the JSON messages; agreement with sklearn "
          "on every row; all work in plain phe encryptions):")
    print(grid.round(2).to_string(index=False))
    print("\nLabel-only mode (DGK comparisons), per patient at 2048 bits, everything counted (key "
          f"generation over {AMORTISE_OVER} patients, every randomiser, JSON):")
    print(label_only.round(1).to_string(index=False))
    print(f"\nEvery registered protocol, per patient at {TARGET_KEY_BITS} bits, depth {TARGET_DEPTH} "
          "(median ms, JSON bytes each way, no randomiser precomputed):")
    print(protocol_table(rows=5 if args.quick else 20).round(1).to_string(index=False))
    print("\nMalformed client keys: time to refuse (ms, before any exponentiation):")
    print(refusal_times(TARGET_KEY_BITS).round(3).to_string(index=False))
    print("\nBatch throughput (2048 bits, depth 5, key generation included):")
    print(tput.round(1).to_string(index=False))
    target = grid[(grid.key_bits == TARGET_KEY_BITS) & (grid.depth == TARGET_DEPTH)]
    if len(target):
        ratio = float(target.phe_encryptions.iloc[0])
        print(f"\nBasic mode, 2048 bits, depth 5, all work: {ratio:.1f} phe encryptions per patient "
              "(target <= 3.5)")
    lo = label_only[(label_only.tree_depth == TARGET_DEPTH) & (label_only["mode"] == "label-only")]
    if len(lo):
        print(f"Label-only mode, 2048 bits, depth 5, all work: {float(lo.phe_encryptions.iloc[0]):.1f} "
              "phe encryptions per patient (target <= 40)")
    print(f"Throughput with 2 processes: {float(tput.patients_per_s.iloc[-1]):.1f} patients/s")


if __name__ == "__main__":  # pragma: no cover
    main()
