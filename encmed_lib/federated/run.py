"""Train together as separate processes: ``python -m encmed_lib.federated.run``.

Two ways to run it:

* **Everything on one machine** (``--parties 3``): the command splits the
  bundled data as the in-process simulation does (heart: the seeded
  :func:`~.trainer.split_providers` split, sizes 50/30/20 % for 3 providers;
  Synthea: one provider per organization, :func:`~.trainer.providers_from_organizations`
  with ``min_size=50``), writes **one file per provider** into the run folder,
  and starts one process per provider on free loopback ports.  Each process
  reads only its own file.  ::

      python -m encmed_lib.federated.run --parties 3 --dataset heart --depth 4

* **One party per machine** (``--parties host:port,host:port,... --index i``):
  every hospital runs the same command with the same address list, its own
  index and its own records (``--data``).  ``--write-data DIR`` writes the
  demo split's files, one per provider, to copy to the machines.

Each party writes a log of JSON lines (``party-<i>.jsonl``): what it sent
(shares of its own tables), what it received (one share of each peer's
table, uniformly random), every value it opened, bytes and messages.
:class:`RunResult` reads the logs back; :func:`measure` compares the two
back-ends' cost (:data:`~.mpc_tree.MPC_BACKENDS`).  The protocol and its
threat model are in :mod:`encmed_lib.federated.mpc_tree`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import PartyConfigError, PartyError
from ..tree import PortableTree
from .mpc_tree import MPC_BACKENDS, MPyCParty, PartyLog, PartySpec, run_party
from .trainer import (
    HEART_RANGES,
    SYNTHEA_RANGES,
    Binning,
    FederatedTreeTrainer,
    Provider,
    providers_from_organizations,
    split_providers,
)

DATASETS = {"heart": (HEART_RANGES, [0, 1]), "synthea": (SYNTHEA_RANGES, [0, 1])}
"""Public facts of each dataset: the feature ranges (binning) and the classes."""

LABEL = "label"
"""The label column of a provider's file."""


# ------------------------------------------------------------------ the providers' data
def demo_providers(dataset: str = "heart", parties: int | None = 3, *, min_size: int = 50) -> list[Provider]:
    """The bundled data split into providers exactly as the in-process simulation splits it.

    Heart: ``split_providers(X, y, k=parties, sizes=(0.5, 0.3, 0.2) if parties == 3, seed=0)``
    on the whole sample; Synthea: one provider per organization (``parties``
    must be ``None`` or the number of organizations kept).
    """
    from ..data.heart import load_heart
    from ..data.paths import data_dir
    from ..data.providers import provider_labels
    from ..data.synthea import load_synthea

    if dataset == "heart":
        X, y = load_heart()
        sizes = (0.5, 0.3, 0.2) if parties == 3 else None
        return split_providers(X, y, k=int(parties or 3), sizes=sizes, seed=0)
    if dataset == "synthea":
        X, y, org = load_synthea(data_dir() / "synthea_sample", missing="median")
        providers = providers_from_organizations(X, y, org, min_size=min_size, names=provider_labels(org))
        if parties not in (None, len(providers)):
            raise PartyConfigError(f"parties: the Synthea sample has {len(providers)} providers "
                                   f"(one per organization), got {parties}")
        return providers
    raise PartyConfigError(f"dataset: expected one of {sorted(DATASETS)}, got {dataset!r}")


def write_provider_files(providers: list[Provider], folder: str | Path) -> list[Path]:
    """One CSV per provider (its records and a ``label`` column), named after it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for p in providers:
        frame = p._X.copy()
        frame[LABEL] = p._y
        path = folder / f"{p.name.replace(' ', '-')}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def read_provider_file(path: str | Path, name: str, features: list[str]) -> Provider:
    """A provider from its own file; every feature of the binning and ``label`` must be present."""
    path = Path(path)
    if not path.is_file():
        raise PartyConfigError(f"data: no file {str(path)!r}")
    frame = pd.read_csv(path)
    for column in [*features, LABEL]:
        if column not in frame.columns:
            raise PartyConfigError(f"data: {str(path)!r} has no column {column!r} "
                                   f"(expected the features {features} and {LABEL!r})")
    return Provider(name, frame[features], frame[LABEL].to_numpy())


# ------------------------------------------------------------------ launching
def free_ports(k: int) -> list[int]:
    """``k`` TCP ports free on 127.0.0.1 right now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(k)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def party_command(addresses: list[tuple[str, int]], index: int, data: Path, folder: Path, *,
                  dataset: str, depth: int, backend: str, options: tuple = ()) -> list[str]:
    """The command line of party ``index`` (as run on its own machine)."""
    parties = ",".join(f"{h}:{p}" for h, p in addresses)
    return [sys.executable, "-m", "encmed_lib.federated.run", "--parties", parties, "--index", str(index),
            "--dataset", dataset, "--depth", str(depth), "--backend", backend, "--data", str(data),
            "--log", str(folder / f"party-{index}.jsonl"),
            "--tree-out", str(folder / f"tree-{index}.json"), *options]


def start_parties(commands: list[list[str]], folder: Path) -> list[subprocess.Popen]:
    """Start every party's process (stderr to ``party-<i>.err``); encmed_lib stays importable."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    procs = []
    for i, cmd in enumerate(commands):
        err = open(folder / f"party-{i}.err", "w")  # noqa: SIM115 (closed by the child's exit)
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env))
        err.close()
    return procs


def wait_parties(procs: list[subprocess.Popen], folder: Path, timeout: float) -> None:
    """Wait for every party; raise :class:`PartyError` (killing stragglers) if any fails or hangs."""
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    stuck = [i for i, p in enumerate(procs) if p.poll() is None]
    for i in stuck:
        procs[i].kill()
        procs[i].wait(10)
    failed = {i: p.returncode for i, p in enumerate(procs) if p.returncode != 0}
    if failed:
        lines = [f"party {i}: " + (f"did not finish within {timeout:g} s" if i in stuck
                                   else f"exit code {code}: {last_error(folder, i)}")
                 for i, code in failed.items()]
        raise PartyError("the run failed:\n  " + "\n  ".join(lines))


def last_error(folder: Path, index: int) -> str:
    """The last ``error:`` line a party wrote to its stderr (or its last line)."""
    path = Path(folder) / f"party-{index}.err"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()] if path.exists() else []
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or ["(no output)"])[-1]


def run_on_loopback(providers: Sequence[Provider], command, folder: str | Path | None, timeout: float, *,
                    prefix: str = "encmed-mpc-") -> tuple[Path, float]:
    """One process per provider on free ``127.0.0.1`` ports: files written, started, waited for.

    Returns ``(folder, seconds)``.

    ``command(addresses, index, data_file, folder)`` gives party ``index``'s
    command line; each provider's records go to its own file, which only its
    process reads (:func:`write_provider_files`).  Raises :class:`PartyError`
    as :func:`wait_parties` does, and :class:`PartyConfigError` before writing or starting anything
    for fewer than 3 providers (MPyC needs an honest majority).
    """
    providers = list(providers)
    if len(providers) < 3:
        raise PartyConfigError(f"parties: MPyC needs an honest majority, so at least 3 parties, "
                               f"got {len(providers)}")
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix=prefix))
    files = write_provider_files(providers, folder)
    addresses = [("127.0.0.1", port) for port in free_ports(len(files))]
    commands = [command(addresses, i, f, folder) for i, f in enumerate(files)]
    start = time.perf_counter()
    wait_parties(start_parties(commands, folder), folder, timeout)
    return folder, time.perf_counter() - start


def launch(parties: int = 3, dataset: str = "heart", depth: int = 3, backend: str = "split-only", *,
           folder: str | Path | None = None, timeout: float = 300.0, min_samples_split: int = 2,
           step_timeout: float = 120.0, noise_share: str | None = None) -> RunResult:
    """Run the whole training on loopback, one process per provider; return its :class:`RunResult`.

    Parameters
    ----------
    parties : int
        Number of providers (at least 3; Synthea: the number of organizations, 4).
    dataset : {"heart", "synthea"}
    depth : int
    backend : {"split-only", "reveal-sums"}
    folder : path, optional
        Where the providers' files, the logs and the trees go (a new temporary folder by default).
    timeout : float
        Seconds for the whole run; every party still running then is killed.
    min_samples_split : int
    step_timeout : float
        Seconds a party waits for a silent peer before stopping with an error.
    noise_share : str, optional
        ``"module:attribute"`` of a :data:`~.mpc_tree.NoiseShare` each party imports.
    """
    options = ("--min-samples-split", str(min_samples_split), "--timeout", str(step_timeout),
               *(("--noise-share", noise_share) if noise_share else ()))

    def command(addresses, i, data, where):
        return party_command(addresses, i, data, where, dataset=dataset, depth=depth, backend=backend,
                             options=options)

    providers = demo_providers(dataset, parties)
    folder, seconds = run_on_loopback(providers, command, folder, timeout, prefix="encmed-mpc-")
    return RunResult(folder, [p.name for p in providers], backend, seconds)


def in_process_trainer(dataset: str = "heart", parties: int | None = 3, depth: int = 3, *,
                       min_samples_split: int = 2, n_bins: int = 16) -> FederatedTreeTrainer:
    """The in-process federated trainer on the same providers (secret sharing), fitted."""
    ranges, classes = DATASETS[dataset]
    trainer = FederatedTreeTrainer(depth, Binning.from_ranges(ranges, n_bins),
                                   min_samples_split=min_samples_split, classes=classes)
    trainer.fit(demo_providers(dataset, parties))
    return trainer


def split_differences(a: PortableTree, b: PortableTree) -> list[str]:
    """Where two trees differ in shape, split features, thresholds or leaf labels (empty: same)."""
    if len(a.nodes) != len(b.nodes):
        return [f"{len(a.nodes)} nodes against {len(b.nodes)}"]
    out = []
    for x, y in zip(a.nodes, b.nodes, strict=True):
        if (x.feature, x.threshold, x.left, x.right) != (y.feature, y.threshold, y.left, y.right):
            out.append(f"node {x.id}: {x.feature} <= {x.threshold} against {y.feature} <= {y.threshold}")
        elif x.is_leaf and a.leaf_label(x.id) != b.leaf_label(y.id):
            out.append(f"leaf {x.id}: label {a.leaf_label(x.id)} against {b.leaf_label(y.id)}")
    return out


# ------------------------------------------------------------------ reading a run
@dataclass
class RunResult:
    """A finished multi-process run, read from its folder (logs ``party-<i>.jsonl``, trees)."""

    folder: Path
    names: list[str]
    backend: str
    wall_seconds: float = float("nan")

    def log(self, index: int) -> list[dict]:
        """Party ``index``'s log, one dict per line."""
        path = Path(self.folder) / f"party-{index}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    @property
    def trees(self) -> list[PortableTree]:
        return [PortableTree.from_json((Path(self.folder) / f"tree-{i}.json").read_text())
                for i in range(len(self.names))]

    @property
    def tree(self) -> PortableTree:
        """The tree (party 0's; every party holds the same one)."""
        return self.trees[0]

    def opened(self, index: int) -> list[int]:
        """Every value party ``index`` opened, in order."""
        return [v for e in self.log(index) if e["event"] == "opened" for v in e["values"]]

    def cost(self) -> dict:
        """Seconds (connected to done, slowest party), bytes, messages and rounds (see :func:`measure`)."""
        done = [next(e for e in self.log(i) if e["event"] == "done") for i in range(len(self.names))]
        start = [next(e for e in self.log(i) if e["event"] == "connected") for i in range(len(self.names))]
        return {"providers": len(self.names), "backend": self.backend,
                "seconds": max(d["t"] - s["t"] for d, s in zip(done, start, strict=True)),
                "wall seconds": self.wall_seconds,
                "bytes": sum(sum(d["bytes_sent"].values()) for d in done),
                "messages": sum(d["messages_sent"] for d in done),
                "rounds": max(d["rounds"] for d in done),
                "levels": done[0]["own_openings"],
                "values opened": len(self.opened(0)), "masked openings": done[0]["masked_openings"]}

    def views(self) -> pd.DataFrame:
        """What each party's process saw: its records, what it sent, received and opened."""
        rows = []
        for i, name in enumerate(self.names):
            log = self.log(i)
            got = [e for e in log if e["event"] == "received"]
            opened = self.opened(i)
            rows.append({"party": i, "provider": name,
                         "own records": next(e["records"] for e in log if e["event"] == "start"),
                         "sent": f"{sum(e['event'] == 'sent' for e in log)} shared tables",
                         "received": f"{len(got)} shares ({sum(len(e['share']) for e in got)} numbers)",
                         "values opened": len(opened),
                         "first opened": opened[:6]})
        return pd.DataFrame(rows).set_index("party")


def measure(parties: tuple[int, ...] = (3, 5), backends: tuple[str, ...] = MPC_BACKENDS, *,
            dataset: str = "heart", depth: int = 3, timeout: float = 600.0) -> pd.DataFrame:
    """Seconds, bytes, messages and openings per back-end and number of providers (real processes).

    Every configuration is one run on loopback (:func:`launch`); "seconds" is
    the protocol time of the slowest party, "wall seconds" includes starting
    the processes.  "messages" counts network messages (all parties),
    "rounds" the communication rounds of the busiest party (event-loop steps
    in which it sent anything: an upper bound, since independent steps MPyC
    could batch are counted apart), "levels" the tree levels (one secure
    aggregation each), "values opened" what :class:`RunResult.opened` lists, "masked
    openings" the random-masked values MPyC's comparisons open internally.
    """
    rows = [launch(k, dataset, depth, backend, timeout=timeout).cost()
            for k in parties for backend in backends]
    return pd.DataFrame(rows).set_index(["providers", "backend"])


# ------------------------------------------------------------------ the command
def tree_lines(tree: PortableTree) -> list[str]:
    """The tree as indented text: ``feature <= threshold`` and leaf labels."""
    lines = []

    def visit(j: int, depth: int) -> None:
        node = tree.nodes[j]
        if node.is_leaf:
            lines.append("  " * depth + f"leaf: {tree.leaf_label(j)}")
            return
        lines.append("  " * depth + f"{node.feature} <= {node.threshold:g}")
        visit(node.left, depth + 1)
        visit(node.right, depth + 1)

    visit(0, 0)
    return lines


def parse_addresses(text: str) -> list[tuple[str, int]]:
    """``"host:port,host:port,..."`` as a list of (host, port)."""
    out = []
    for item in text.split(","):
        host, sep, port = item.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise PartyConfigError(f"parties: expected host:port, got {item!r}")
        out.append((host, int(port)))
    return out


def _import(spec: str):
    module, sep, attr = spec.partition(":")
    if not sep:
        raise PartyConfigError(f"noise-share: expected module:attribute, got {spec!r}")
    return getattr(importlib.import_module(module), attr)


def read_bounded_provider(path, name: str, features: Sequence[str], max_records: int) -> Provider:
    """A party's own records (:func:`read_provider_file`), refused above the public ``max_records`` bound."""
    provider = read_provider_file(path, name, features)
    if provider.n_records > max_records:
        raise PartyConfigError(f"max-records: {name} holds {provider.n_records} records, above the "
                               f"public bound {max_records}")
    return provider


def run_mpc_party(addresses: list[tuple[str, int]], index: int, log: PartyLog, make_party, *,
                  ssl: bool = False):
    """Start MPyC as party ``index`` and run ``make_party(mpc)`` to its end; its result.

    MPyC reads its options from ``sys.argv`` when it is first imported, so
    they are set first.  On a :class:`PartyError` the error is logged and
    printed and the process exits with code 3 (pending MPyC tasks of a
    broken run must not keep it alive).
    """
    sys.argv = [sys.argv[0], *[a for h, p in addresses for a in ("-P", f"{h}:{p}")],
                "-I", str(index), "--no-log", *(["--ssl"] if ssl else [])]
    from mpyc.runtime import mpc

    party = make_party(mpc)
    try:
        return mpc.run(run_party(mpc, party))
    except PartyError as exc:
        log.write("error", message=str(exc))
        log.close()
        print(f"error: {exc}", file=sys.stderr, flush=True)
        os._exit(3)


def party_main(args: argparse.Namespace) -> int:
    """Run one party (this process) until the tree is grown; exit code 3 on a :class:`PartyError`."""
    if args.index is None or args.data is None:
        raise PartyConfigError("index, data: a party started with an address list needs --index "
                               "and --data (its own records)")
    addresses = parse_addresses(args.parties)
    ranges, classes = DATASETS[args.dataset]
    binning = Binning.from_ranges(ranges, args.bins)
    name = args.name or Path(args.data).stem
    spec = PartySpec(args.index, addresses, name, args.backend, args.depth, args.min_samples_split,
                     max_records=args.max_records, connect_timeout=args.connect_timeout,
                     step_timeout=args.timeout)
    provider = read_bounded_provider(args.data, name, binning.feature_names, spec.max_records)
    noise = _import(args.noise_share) if args.noise_share else None
    log = PartyLog(args.log)
    log.write("start", party=args.index, name=name, records=provider.n_records, data=str(args.data),
              backend=args.backend,
              dataset=args.dataset, depth=args.depth, parties=[f"{h}:{p}" for h, p in addresses])
    tree = run_mpc_party(addresses, args.index, log, ssl=args.ssl,
                         make_party=lambda mpc: MPyCParty(mpc, spec, provider, binning, classes, log, noise))
    if args.tree_out:
        Path(args.tree_out).write_text(tree.to_json())
    log.close()
    return 0


def launcher_main(args: argparse.Namespace) -> int:
    """Split the bundled data, start every party on loopback, print the tree and who saw what."""
    k = int(args.parties)
    if args.write_data:
        paths = write_provider_files(demo_providers(args.dataset, k), args.write_data)
        print("\n".join(str(p) for p in paths))
        return 0
    result = launch(k, args.dataset, args.depth, args.backend, folder=args.out, timeout=args.run_timeout,
                    min_samples_split=args.min_samples_split, step_timeout=args.timeout,
                    noise_share=args.noise_share)
    print(f"{len(result.names)} provider processes, back-end {result.backend}, logs in {result.folder}")
    print("\n".join(tree_lines(result.tree)))
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(result.views().to_string())
    print(json.dumps(result.cost()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m encmed_lib.federated.run",
                                     description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--parties", required=True, help="a number (all parties on loopback) or host:port,host:port,...")
    add("--index", type=int, help="this party's position in the address list")
    add("--dataset", choices=sorted(DATASETS), default="heart")
    add("--depth", type=int, default=4)
    add("--backend", choices=MPC_BACKENDS, default="split-only")
    add("--bins", type=int, default=16, help="equal-width bins per public range")
    add("--min-samples-split", type=int, default=2)
    add("--max-records", type=int, default=1024, help="public bound on any provider's record count")
    add("--data", help="this party's own records (CSV with the features and 'label')")
    add("--name", help="this provider's name (default: the data file's name)")
    add("--log", help="this party's JSON-lines log")
    add("--tree-out", help="where this party writes the tree (JSON)")
    add("--noise-share", help="module:attribute of a noise_share(name, shape, info) callable")
    add("--timeout", type=float, default=120.0, help="seconds a party waits for a silent peer")
    add("--ssl", action="store_true", help="MPyC's TLS connections (certificates in .config/)")
    add("--connect-timeout", type=float, default=30.0)
    add("--run-timeout", type=float, default=600.0, help="launcher: seconds for the whole run")
    add("--out", help="launcher: folder for the providers' files, logs and trees")
    add("--write-data", metavar="DIR", help="launcher: only write one file per provider to DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return launcher_main(args) if args.parties.isdigit() else party_main(args)
    except (PartyError, PartyConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
