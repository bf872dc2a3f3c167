"""The label-only benchmark: DGK comparisons, measured in plain ``phe`` encryptions of the same run.

Every cost here is reported twice: in milliseconds, and as a **ratio to one plain ``phe``
encryption** (``phe.paillier.PaillierPublicKey.encrypt`` of a small integer, obfuscation
included) timed in the same run at the same key size, so the numbers travel between machines.
*Everything counted* means: the client's DGK key generation amortised over
:data:`AMORTISE_OVER` patients, every randomiser drawn on line (none precomputed), every
message serialised to JSON and parsed back.  Timings are measured, never asserted in a test.

:func:`refusal_times` measures how fast a server refuses malformed keys (milliseconds: the
checks come before any exponentiation).
"""

from __future__ import annotations

import statistics
import time
import warnings

import pandas as pd

from .protocol import Client, TreeServer

AMORTISE_OVER = 30
LABEL_ONLY_PHASES = ("encrypt", "compare", "answer", "finish", "decrypt")
"""Client encrypt (round 1), server comparisons, client answers, server leaves, client label."""


def phe_encryption_ms(key_bits: int = 2048, repeats: int = 30) -> float:
    """Median milliseconds of one plain ``phe`` encryption at ``key_bits`` (the benchmark's unit)."""
    from phe import paillier

    public_key, _ = paillier.generate_paillier_keypair(n_length=key_bits)
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        public_key.encrypt(1000 + k)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def label_only_breakdown(client: Client, server, X: pd.DataFrame, *, tree=None) -> pd.DataFrame:
    """Time every phase of the label-only exchange (JSON included), one row per patient of ``X``.

    Columns: the phases of :data:`LABEL_ONLY_PHASES` (ms), ``total``, the bytes of the four
    messages, ``label`` and ``expected`` (the plaintext tree's prediction).
    """
    from .protocol.label_only import answer_comparisons, decrypt_label, encrypt_query

    records = X.to_dict(orient="records")
    expected = (server.tree if tree is None else tree).predict(X)
    rows = []
    for record, plain in zip(records, expected, strict=True):
        t = [time.perf_counter()]
        query = encrypt_query(client, record, server.schema).to_json()
        t.append(time.perf_counter())
        comparisons = server.evaluate(query).to_json()
        t.append(time.perf_counter())
        answers = answer_comparisons(client, comparisons).to_json()
        t.append(time.perf_counter())
        reply = server.finish(answers).to_json()
        t.append(time.perf_counter())
        label = decrypt_label(client, reply)
        t.append(time.perf_counter())
        row = {name: 1000 * (t[k + 1] - t[k]) for k, name in enumerate(LABEL_ONLY_PHASES)}
        row.update(total=1000 * (t[-1] - t[0]), query_bytes=len(query), comparisons_bytes=len(comparisons),
                   answers_bytes=len(answers), reply_bytes=len(reply), label=label,
                   expected=plain.item() if hasattr(plain, "item") else plain)
        rows.append(row)
    return pd.DataFrame(rows, index=X.index)


def measure_label_only(tree, X: pd.DataFrame, key_bits: int, *, rows: int = 30, depth: int | None = None,
                       phe_ms: float | None = None) -> dict:
    """Per-patient cost of label-only mode on the first ``rows`` rows, everything counted.

    ``depth`` pads to a complete tree of that public depth (default: the tree's own nodes).
    Returns median ms per phase, the amortised key generation, ``all_work_ms``, its ratio to one
    ``phe`` encryption (``phe_ms``, timed here when not given), bytes each way, and agreement.
    """
    phe_ms = phe_encryption_ms(key_bits) if phe_ms is None else phe_ms
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client(key_bits)
    start = time.perf_counter()
    client.dgk_keypair  # noqa: B018 (the key generation, timed)
    keygen_ms = 1000 * (time.perf_counter() - start)
    server = TreeServer(tree, mode="label-only", depth=depth)
    df = label_only_breakdown(client, server, X.iloc[:rows], tree=tree)
    sizes = server.public_sizes()
    row = {"mode": "label-only" + (f" (padded to depth {depth})" if depth else ""), "key_bits": key_bits,
           "tree_depth": int(tree.get_depth()), "comparisons": sizes["comparisons"],
           "leaves": sizes["leaves"], "width": sizes["width"]}
    row.update({f"{name}_ms": float(df[name].median()) for name in LABEL_ONLY_PHASES})
    row["keygen_ms_per_patient"] = keygen_ms / AMORTISE_OVER
    row["all_work_ms"] = sum(row[f"{name}_ms"] for name in LABEL_ONLY_PHASES) + row["keygen_ms_per_patient"]
    row["phe_encryption_ms"] = phe_ms
    row["phe_encryptions"] = row["all_work_ms"] / phe_ms
    row["bytes_to_server"] = int(df["query_bytes"].median() + df["answers_bytes"].median())
    row["bytes_to_client"] = int(df["comparisons_bytes"].median() + df["reply_bytes"].median())
    row["agreement"] = f"{int((df.label == df.expected).sum())}/{len(df)}"
    return row


def run_label_only(key_bits: int = 2048, depths=range(3, 7), *, rows: int = 30, padded: bool = True,
                   verbose: bool = True) -> pd.DataFrame:
    """Label-only mode on the heart sample at ``key_bits``, trees of ``depths`` (natural and padded)."""
    from .data.heart import load_heart
    from .tree import train_tree

    X, y = load_heart()
    phe_ms = phe_encryption_ms(key_bits)
    table = []
    for depth in depths:
        tree = train_tree(X, y, max_depth=depth, random_state=0)
        for pad in ((None, depth) if padded else (None,)):
            table.append(measure_label_only(tree, X, key_bits, rows=rows, depth=pad, phe_ms=phe_ms))
            if verbose:
                r = table[-1]
                print(f"  {r['mode']}, {key_bits} bits, depth {depth}: {r['all_work_ms']:.0f} ms = "
                      f"{r['phe_encryptions']:.1f} phe encryptions, agreement {r['agreement']}", flush=True)
    return pd.DataFrame(table)


def _timed_refusal(make) -> float:
    start = time.perf_counter()
    try:
        make()
    except Exception:  # noqa: BLE001 (the refusal is what is timed; its type is checked in tests)
        pass
    else:
        raise AssertionError("a malformed key was accepted")
    return 1000 * (time.perf_counter() - start)


def refusal_times(key_bits: int = 2048) -> pd.DataFrame:
    """Milliseconds a server takes to refuse each malformed client key (DGK for label-only mode)."""
    from .crypto.dgk import DGKPublicKey, generate_dgk_keypair

    good = generate_dgk_keypair(key_bits).public_key.to_dict()
    n, u = int(good["n"]), int(good["u"])
    cases = {
        "u not prime": {**good, "u": str(u * 3)}, "u of 17 bits": {**good, "u": "65537"},
        "g = 1": {**good, "g": "1"}, "n even": {**good, "n": str(n + 1)},
        "n of 14,200 bits": {**good, "n": str((1 << 14200) + 1)},
        "n of 100,000 digits": {**good, "n": "9" * 100_000}, "n not a number": {**good, "n": "12ab"},
    }
    rows = [{"key": name, "refused_in_ms": _timed_refusal(lambda d=data: DGKPublicKey.from_dict(d))}
            for name, data in cases.items()]
    return pd.DataFrame(rows)
