"""``python -m encmed_lib.serve``: the model server as a long-running process.

Usage::

    python -m encmed_lib.serve --model tree.json --bucket URL [--mode basic|label-only]
                               [--poll 0.2] [--endpoint-url http://127.0.0.1:9000]

``--model`` is a :class:`~encmed_lib.tree.PortableTree` JSON file
(``PortableTree.from_sklearn(tree).save("tree.json")``), ``--bucket`` a folder
or an fsspec URL such as ``s3://bucket/prefix`` (credentials from the usual
AWS variables; ``--endpoint-url`` for an S3-compatible server).  The process
answers each message exactly once, also when several servers share the bucket
(:mod:`encmed_lib.parties.service`), logs one line per message on stderr::

    2026-12-01 09:00:00,123 queries/3f2a....json answered 8.4 ms

and on SIGTERM or SIGINT (Ctrl-C) finishes the message in hand and exits 0.
Exit status 2: bad arguments or a model file that cannot be loaded.

:class:`ServerProcess` starts one in the background (notebooks, tests) and
:func:`measure_throughput` reports queries per second with 1 and 2 servers on
one bucket, for the evaluation.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .errors import EncmedError

__all__ = ["ServerProcess", "main", "measure_throughput", "open_bucket"]


def open_bucket(url: str, endpoint_url: str | None = None):
    """A :class:`~encmed_lib.transport.Bucket` for ``url``, optionally at an S3-compatible endpoint."""
    from .transport import Bucket

    options = {"client_kwargs": {"endpoint_url": endpoint_url}} if endpoint_url else {}
    return Bucket(url, **options)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m encmed_lib.serve", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="PortableTree JSON file")
    p.add_argument("--bucket", required=True, help="folder or fsspec URL (s3://bucket/prefix)")
    p.add_argument("--mode", choices=("basic", "label-only"), default="basic")
    p.add_argument("--poll", type=float, default=0.2, help="seconds between two looks when idle")
    p.add_argument("--endpoint-url", default=None, help="S3-compatible endpoint (e.g. moto, MinIO)")
    p.add_argument("--claim-ttl", type=float, default=600.0,
                   help="seconds after which a dead server's unanswered claim is taken over")
    p.add_argument("--stale-after", type=float, default=3600.0,
                   help="age in seconds beyond which *.tmp-* files are a killed writer's and removed")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the service until SIGTERM/SIGINT; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.poll > 0:
        print("encmed serve: error: --poll must be > 0 seconds", file=sys.stderr)
        return 2
    try:
        from .parties.service import ModelService
        from .protocol.server import TreeServer
        from .tree import PortableTree

        tree = PortableTree.load(args.model)
        server = TreeServer(tree, mode=args.mode)
        bucket = open_bucket(args.bucket, args.endpoint_url)
    except (EncmedError, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"encmed serve: error: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum, _frame):
        logging.getLogger("encmed.serve").info("received %s: finishing the current message",
                                               signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service = ModelService(server, bucket, claim_ttl=args.claim_ttl, stale_after=args.stale_after)
    service.run(stop, poll=args.poll)
    return 0


class ServerProcess:
    """``python -m encmed_lib.serve`` as a child process, its log collected line by line.

    Parameters
    ----------
    model, bucket : str or Path
        As the command's ``--model`` and ``--bucket``.
    *extra : str
        More command-line arguments (``"--mode", "label-only"``, ``"--poll", "0.05"``).
    env : dict, optional
        Environment of the child (default: this process's, with this
        ``encmed_lib`` first on ``PYTHONPATH``).

    Examples
    --------
    >>> with ServerProcess("tree.json", "bucket/") as proc:   # doctest: +SKIP
    ...     proc.wait_ready()
    """

    def __init__(self, model, bucket, *extra: str, env: dict | None = None):
        if env is None:
            env = dict(os.environ)
            here = str(Path(__file__).resolve().parent.parent)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", "encmed_lib.serve", "--model", str(model), "--bucket", str(bucket),
               *extra]
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, encoding="utf-8", errors="replace")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "serving bucket" in line:
                self._ready.set()
        self._ready.set()  # the process ended: nobody waits forever

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the server logged that it serves; EncmedError if it died or took too long."""
        if not self._ready.wait(timeout) or self.proc.poll() is not None:
            self.stop(timeout=5)
            tail = "\n".join(self.lines[-10:])
            raise EncmedError(f"the server did not start within {timeout:g} s; its log:\n{tail}")

    def answered(self) -> list[str]:
        """The inbound names this server answered (``answered`` or ``error-reply``), from its log."""
        out = []
        for line in list(self.lines):
            parts = line.split()
            if len(parts) >= 4 and parts[3] in ("answered", "error-reply"):
                out.append(parts[2])
        return out

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, wait (SIGKILL after ``timeout``); returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        self._reader.join(timeout=5)
        return code

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _demo_model(folder: Path):
    """A depth-4 tree on the bundled heart sample, saved as JSON; returns (path, tree, X)."""
    from .data.heart import load_heart
    from .tree import PortableTree, split_data, train_tree

    X, y = load_heart()
    X_train, X_test, y_train, _ = split_data(X, y, random_state=0)
    tree = train_tree(X_train, y_train, max_depth=4, random_state=0)
    path = folder / "tree.json"
    PortableTree.from_sklearn(tree).save(path)
    return path, tree, X_test


def _one_run(n_servers: int, model: Path, url: str, client, queries, timeout: float,
             endpoint_url: str | None) -> dict:
    from .transport import query_name, reply_name

    extra = ("--poll", "0.02") + (("--endpoint-url", endpoint_url) if endpoint_url else ())
    servers = [ServerProcess(model, url, *extra) for _ in range(n_servers)]
    try:
        for proc in servers:
            proc.wait_ready()
        bucket = open_bucket(url, endpoint_url)
        start = time.perf_counter()
        for query in queries:
            bucket.put_text(query_name(query.query_id), query.to_json())
        texts = [bucket.wait_for(reply_name(q.query_id), timeout=timeout, poll=0.01) for q in queries]
        seconds = time.perf_counter() - start
    finally:
        codes = [proc.stop() for proc in servers]
    answered = [name for proc in servers for name in proc.answered()]
    return {"servers": n_servers, "queries": len(queries), "seconds": seconds,
            "queries_per_second": len(queries) / seconds,
            "answered_per_server": [len(proc.answered()) for proc in servers],
            "each_answered_once": sorted(answered) == sorted(query_name(q.query_id) for q in queries),
            "labels": [client.decrypt(t) for t in texts], "exit_codes": codes}


def measure_throughput(n_queries: int = 40, server_counts=(1, 2), *, key_bits: int = 1024,
                       url: str | None = None, endpoint_url: str | None = None, timeout: float = 120.0):
    """Queries per second of the service with 1 and 2 server processes on one bucket.

    The queries are encrypted beforehand (the client's cost is not measured);
    the clock runs from posting the first query to reading the last reply, so
    it includes the bucket's latency and each server's polling.

    Parameters
    ----------
    n_queries : int
        Queries per run (held-out heart records, repeated if needed).
    server_counts : sequence of int
        How many server processes share the bucket in each run.
    key_bits : int
        The client's key size (1024 for a quick measurement, 2048 for the real cost).
    url, endpoint_url : str, optional
        A bucket URL prefix (a fresh ``/run-<k>`` below it per run) and an S3
        endpoint; default a temporary folder.
    timeout : float
        Seconds to wait for the replies of one run.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``servers``, ``queries``, ``seconds``,
        ``queries_per_second``, ``answered_per_server``,
        ``each_answered_once`` (every query answered by exactly one server)
        and ``agrees`` (every decrypted label equals the plaintext tree's).
    """
    import warnings

    import pandas as pd

    from .protocol.client import Client

    if not (isinstance(n_queries, int) and n_queries > 0):
        raise EncmedError(f"n_queries must be a positive int, got {n_queries!r}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="encmed-throughput-") as tmp:
        model, tree, X_test = _demo_model(Path(tmp))
        records = X_test.iloc[[k % len(X_test) for k in range(n_queries)]]
        expected = list(tree.predict(records))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = Client(key_bits=key_bits)
        for k, count in enumerate(server_counts):
            queries = [client.encrypt(row) for _, row in records.iterrows()]
            run_url = f"{url.rstrip('/')}/run-{k}-{os.getpid()}" if url else str(Path(tmp) / f"bucket-{k}")
            row = _one_run(count, model, run_url, client, queries, timeout, endpoint_url)
            row["agrees"] = row.pop("labels") == expected
            rows.append(row)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    sys.exit(main())
