r"""The DP random-split forest trained by MPyC processes, the noise added inside the computation.

``python -m encmed_lib.privacy.mpc_forest --parties 3 --epsilon 1``

Each provider runs in its own process (:mod:`encmed_lib.federated.run` starts
them on loopback, one file of records each) and talks to the others only
through MPyC (Shamir shares over a prime field, threshold
:math:`t = \lfloor (K-1)/2 \rfloor`; the threat model of
:mod:`encmed_lib.federated.mpc_tree`).  The protocol of one party:

1. **Structure** (public): the :math:`T` random-split trees are drawn from the
   public ranges with a public ``structure_seed`` every party knows (public
   randomness, e.g. a coin flipped together; it costs no budget, as in
   :func:`~encmed_lib.privacy.dp_random_forest`).
2. **Own table**: :func:`~encmed_lib.privacy.forest.leaf_table` of its own
   records (margins per leaf, or class counts).
3. **Own noise share**: :math:`X_i - Y_i`, two Polya(:math:`1/K`,
   :math:`1 - \alpha`) arrays, :math:`\alpha = e^{-\varepsilon / T}`
   (:func:`~encmed_lib.privacy.distributed_discrete_laplace_shares`: the
   project's own Polya sampler, no library has distributed shares), drawn from
   the party's own NumPy generator seeded with 128 bits of :mod:`secrets`
   (a test fixes ``noise_seed`` instead; a floating-point Polya sampler is not
   an exact one, the caveat of Mironov 2012 applies), added to its own table
   **before** the table is secret-shared: the shares it sends are shares of a
   noisy table.
4. **Secure sum**: every party ``mpc.input``\ s its noisy table; the shared
   tables are added (local).
5. **One opening**: ``mpc.output`` of the sum.  The opened vector is
   :math:`\sum_i (\text{table}_i + X_i - Y_i)`: the exact total plus
   :math:`\sum_i (X_i - Y_i)`, exactly discrete Laplace(:math:`\alpha`), i.e. the
   central mechanism of sensitivity :math:`T`.  Nothing else is opened (no
   comparison, so no masked opening either): the accountant's one row
   (:math:`\varepsilon`, sensitivity :math:`T`) covers every value of the run.
6. **Post-processing** (no data): every party turns the opened vector into the
   same members (:func:`~encmed_lib.privacy.forest.release_members`).

Who sees what: a peer's table only as Shamir shares (uniform field
elements); the total only with the full noise of all :math:`K` shares.  A
party knows its own share, so against an insider the total carries
:math:`K - 1` shares: :func:`~encmed_lib.privacy.insider_epsilon`, recorded in
``meta["insider_epsilon"]`` (the caveat of :class:`~encmed_lib.privacy.DistributedNoise`).

**Central noise** (``--mode central``, :attr:`ForestSpec.mode`): party 0 is the
trusted curator.  It draws the whole discrete Laplace vector (scale
:math:`T/\varepsilon`) and adds it to its own table before secret-sharing it;
the others add nothing.  The opening is the same central mechanism, one
ledger row.  The draw comes from OpenDP's sampler, from the operating
system's randomness (:class:`~encmed_lib.privacy.OpenDPSampler`; a test fixes
``noise_seed`` and uses the seeded sampler instead).  The threat model is the
curator's: the other parties and every reader see the total with the full
noise, but party 0 knows its draw and so reads the exact total.  That is
``meta["insider_epsilon"] = None`` (no guarantee towards the curator), as with
the key holder of the Paillier back-end.
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ArgumentError, PartyConfigError, PartyError
from ..federated.aggregation import EVERYONE, RevealInfo, Transcript
from ..federated.mpc_tree import MPyCParty, PartyLog, PartySpec
from ..federated.run import (
    DATASETS,
    RunResult,
    demo_providers,
    parse_addresses,
    read_bounded_provider,
    run_mpc_party,
    run_on_loopback,
)
from ..federated.trainer import Binning, Provider
from .accountant import PrivacyAccountant, check_epsilon, laplace_epsilon
from .forest import FOREST_ROUND, DPForest, leaf_table, random_split_tree, release_members
from .mechanisms import distributed_discrete_laplace_shares, insider_epsilon
from .noise import LEAF_KIND
from .samplers import OpenDPSampler, SeededSampler
from .schedule import auto_statistic, fill_schedule, split_features

MODES = ("distributed", "central")
"""``ForestSpec.mode``: every party adds a Polya share, or party 0 (the curator) the whole draw."""

CURATOR = 0
"""The index of the party that draws the central noise (``mode="central"``)."""

SPLITS = ("auto", "all")
"""``ForestSpec.split``: the features of :func:`~encmed_lib.privacy.schedule.split_features`, or all."""


def _split_names(ranges, epsilon: float, split: str) -> list[str]:
    """The split features of ``ForestSpec.split``: ``split_features`` of the ranges, or all of them."""
    return split_features(ranges, epsilon) if split == "auto" else list(ranges)


@dataclass(frozen=True)
class ForestSpec:
    """The public parameters of one MPyC forest run (the same for every party).

    Attributes
    ----------
    epsilon : float
        The whole budget, spent by the one opening.
    n_trees, depth : int
    statistic : {"margin", "counts"}
    structure_seed : int
        Public randomness of the random splits.
    split : {"auto", "all"}
        The features the splits are drawn among: :func:`~encmed_lib.privacy.schedule.split_features`
        of the public ranges and epsilon (as ``dp_random_forest(features="auto")``), or every feature.
    mode : {"distributed", "central"}
        Who draws the noise: every party a Polya share, or party :data:`CURATOR` the whole
        vector (module docstring: the curator reads the exact total).
    """

    epsilon: float
    n_trees: int
    depth: int
    statistic: str
    structure_seed: int = 0
    split: str = "auto"
    mode: str = "distributed"

    def __post_init__(self):
        check_epsilon(self.epsilon, PartyConfigError)  # finite: an infinite one opens the exact table
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                   for v in (self.n_trees, self.depth, self.structure_seed)):
            raise PartyConfigError(f"trees, depth, structure_seed: expected integers, got {self.n_trees!r}, "
                                   f"{self.depth!r}, {self.structure_seed!r}")
        if self.n_trees < 1 or self.depth < 0:
            raise PartyConfigError(f"trees, depth: expected >= 1 and >= 0, got {self.n_trees}, {self.depth}")
        if self.statistic not in ("margin", "counts"):
            raise PartyConfigError(f"statistic: expected 'margin' or 'counts', got {self.statistic!r}")
        if self.split not in SPLITS:
            raise PartyConfigError(f"split: expected one of {SPLITS}, got {self.split!r}")
        if self.mode not in MODES:
            raise PartyConfigError(f"mode: expected one of {MODES}, got {self.mode!r}")

    @classmethod
    def auto(cls, epsilon: float, n_trees: int | None = None, depth: int | None = None, n_classes: int = 2,
             structure_seed: int = 0, *, ranges=None, split: str = "auto") -> ForestSpec:
        """The spec ``dp_random_forest`` would use: its ``"auto"`` statistic and (given ``ranges``) schedule.

        ``n_trees`` and ``depth`` default to :func:`~encmed_lib.privacy.schedule.forest_schedule`
        of ``epsilon`` and the number of split features, which needs the public ``ranges``.
        """
        check_epsilon(epsilon, PartyConfigError)
        if split not in SPLITS:
            raise PartyConfigError(f"split: expected one of {SPLITS}, got {split!r}")
        if n_trees is None or depth is None:
            if ranges is None:
                raise PartyConfigError("ranges: the schedule of n_trees/depth needs the public ranges")
            n_trees, depth = fill_schedule(epsilon, len(_split_names(ranges, epsilon, split)), n_trees, depth)
        return cls(float(epsilon), int(n_trees), int(depth), auto_statistic(epsilon, n_classes),
                   int(structure_seed), split)

    def split_features(self, ranges) -> list[str]:
        """The features the splits are drawn among (public: the ranges' kinds and epsilon)."""
        return _split_names(ranges, self.epsilon, self.split)

    def trees(self, ranges, classes) -> list:
        """The public structure: ``n_trees`` random-split trees from ``structure_seed``."""
        gen = np.random.default_rng(self.structure_seed)
        features = self.split_features(ranges)
        return [random_split_tree(ranges, self.depth, classes, gen, features=features)
                for _ in range(self.n_trees)]


def party_noise_rng(noise_seed: int | None, index: int) -> np.random.Generator:
    """Party ``index``'s own noise generator: seeded from :mod:`secrets`, or (tests) from ``noise_seed``."""
    if noise_seed is None:
        return np.random.default_rng(secrets.randbits(128))
    return np.random.default_rng([int(noise_seed), int(index)])


class PolyaShare:
    """``noise_share`` of one party: its Polya share of the forest's discrete Laplace noise."""

    def __init__(self, forest: ForestSpec, n_parties: int, rng: np.random.Generator):
        self.forest, self.k, self.rng = forest, int(n_parties), rng

    def __call__(self, name: str, shape: tuple, info: RevealInfo) -> np.ndarray:
        if info.kind != LEAF_KIND:
            raise PartyError(f"noise_share: only the forest's leaf release is planned, got {info.kind!r}")
        f = self.forest
        return distributed_discrete_laplace_shares(self.k, f.epsilon, f.n_trees, shape, self.rng)[0]


class CuratorDraw:
    """``noise_share`` of the curator (central mode): the whole discrete Laplace vector, scale T/eps."""

    def __init__(self, forest: ForestSpec, sampler):
        self.forest, self.sampler = forest, sampler

    def __call__(self, name: str, shape: tuple, info: RevealInfo) -> np.ndarray:
        if info.kind != LEAF_KIND:
            raise PartyError(f"noise_share: only the forest's leaf release is planned, got {info.kind!r}")
        return self.sampler(shape, self.forest.epsilon, self.forest.n_trees)


def party_noise(forest: ForestSpec, index: int, n_parties: int, noise_seed: int | None = None):
    """Party ``index``'s ``noise_share``: a Polya share, the curator's whole draw, or ``None``.

    Distributed: :class:`PolyaShare` from :func:`party_noise_rng`.  Central:
    party :data:`CURATOR` draws with :class:`~encmed_lib.privacy.OpenDPSampler`
    (OS randomness), or with :class:`~encmed_lib.privacy.SeededSampler` of
    :func:`party_noise_rng` when a test fixes ``noise_seed``; the others add nothing.
    """
    if forest.mode == "distributed":
        return PolyaShare(forest, n_parties, party_noise_rng(noise_seed, index))
    if index != CURATOR:
        return None
    sampler = OpenDPSampler() if noise_seed is None else SeededSampler(party_noise_rng(noise_seed, index))
    return CuratorDraw(forest, sampler)


@dataclass
class ForestRelease:
    """What one party holds at the end: the opened vector and the members built from it."""

    members: list
    opened: np.ndarray
    meta: dict

    def to_dict(self) -> dict:
        return {"trees": [t.to_dict() for t in self.members], "opened": self.opened.tolist(),
                "meta": self.meta}


class MPyCForestParty(MPyCParty):
    """One provider's process of the forest protocol (module docstring): one secure sum, one opening."""

    def __init__(self, mpc, spec: PartySpec, forest: ForestSpec, provider: Provider, ranges, classes,
                 log: PartyLog, noise_share=None):
        binning = Binning.from_ranges(ranges, 2)  # unused by the forest; the base class wants one
        super().__init__(mpc, spec, provider, binning, classes, log, noise_share)
        self.forest, self.ranges = forest, ranges

    async def grow(self) -> ForestRelease:
        """Own table + own noise share, secret-shared, summed, opened once; members from the total."""
        f, k, self.level = self.forest, len(self.spec.addresses), 0
        trees = f.trees(self.ranges, self.classes)
        table = leaf_table(self.provider._X, self.provider._y, trees, self.classes, f.statistic)  # noqa: SLF001
        info = RevealInfo(LEAF_KIND, FOREST_ROUND, (), f.n_trees, k)
        central = f.mode == "central"
        inside = f"party {CURATOR}'s central draw" if central else "all K noise shares"
        total = await self.open(await self.share_tables(table, info),
                                f"noisy leaf table of every tree ({inside} inside)")
        accountant = PrivacyAccountant(f.epsilon)
        noise = f"central noise drawn by party {CURATOR}" if central else "distributed noise"
        accountant.spend(f.epsilon, f"{FOREST_ROUND}: {LEAF_KIND} (sensitivity {f.n_trees}, {noise} "
                                    f"inside MPyC, {total.size} values opened)")
        self.log.write("accounted", epsilon=f.epsilon, sensitivity=f.n_trees, values=int(total.size))
        alpha = math.exp(-f.epsilon / f.n_trees)
        meta = {"epsilon": f.epsilon, "mode": f.mode, "n_trees": f.n_trees, "max_depth": f.depth,
                "sensitivity": f.n_trees, "statistic": f.statistic,
                "split_features": f.split_features(self.ranges), "aggregator": "MPyC processes",
                "published_to": EVERYONE, "values_opened": int(total.size),
                "ledger": accountant.ledger.to_dict("records"),
                "insider_epsilon": None if central else insider_epsilon(f.epsilon, f.n_trees, k, 1),
                "noise_sd": math.sqrt(2 * alpha) / (1 - alpha),
                "opendp_epsilon": laplace_epsilon(f.n_trees, f.n_trees / f.epsilon),
                **({"curator": CURATOR} if central else {})}
        members = release_members(trees, total, f.statistic, f.n_trees / f.epsilon)
        return ForestRelease(members, total, meta)


# ------------------------------------------------------------------ running it
def forest_from_file(path: str | Path, classes: Sequence) -> DPForest:
    """The :class:`~encmed_lib.privacy.DPForest` a party wrote (``forest-<i>.json``)."""
    from ..tree import PortableTree

    data = json.loads(Path(path).read_text())
    meta = data["meta"]
    accountant = PrivacyAccountant(meta["epsilon"])
    for row in meta["ledger"]:
        accountant.spend(row["epsilon"], row["what"])
    members = [PortableTree.from_dict(t) for t in data["trees"]]
    return DPForest(members, list(classes), accountant, Transcript(), dict(meta, opened=data["opened"]))


@dataclass
class ForestRun(RunResult):
    """A finished MPyC forest run (its logs, and each party's forest)."""

    classes: tuple = (0, 1)

    @property
    def forests(self) -> list[DPForest]:
        return [forest_from_file(Path(self.folder) / f"forest-{i}.json", self.classes)
                for i in range(len(self.names))]


def launch_forest(forest: ForestSpec, parties: int = 3, dataset: str = "heart", *,
                  folder: str | Path | None = None, noise_seed: int | None = None,
                  timeout: float = 300.0, step_timeout: float = 120.0,
                  providers: Sequence[Provider] | None = None) -> ForestRun:
    """Train the forest with one MPyC process per provider on loopback.

    ``providers`` default to the demo split of :func:`~encmed_lib.federated.run.demo_providers`;
    each is written to its own file, which only its process reads.
    """
    providers = list(providers) if providers is not None else demo_providers(dataset, parties)
    options = ["--dataset", dataset, "--epsilon", repr(forest.epsilon), "--trees", str(forest.n_trees),
               "--depth", str(forest.depth), "--statistic", forest.statistic,
               "--structure-seed", str(forest.structure_seed), "--split", forest.split, "--mode", forest.mode,
               "--timeout", str(step_timeout),
               *(["--noise-seed", str(noise_seed)] if noise_seed is not None else [])]

    def command(addresses, i, data, where):
        spec = ",".join(f"{h}:{p}" for h, p in addresses)
        return [sys.executable, "-m", "encmed_lib.privacy.mpc_forest", "--parties", spec, "--index", str(i),
                "--data", str(data), "--log", str(where / f"party-{i}.jsonl"),
                "--out", str(where / f"forest-{i}.json"), *options]

    folder, seconds = run_on_loopback(providers, command, folder, timeout, prefix="encmed-mpc-forest-")
    return ForestRun(folder, [p.name for p in providers], "forest", seconds,
                     tuple(DATASETS[dataset][1]))


def party_main(args: argparse.Namespace) -> int:
    """Run one party of the forest (this process)."""
    addresses = parse_addresses(args.parties)
    ranges, classes = DATASETS[args.dataset]
    forest = ForestSpec(args.epsilon, args.trees, args.depth, args.statistic, args.structure_seed, args.split,
                        args.mode)
    name = args.name or Path(args.data).stem
    spec = PartySpec(args.index, addresses, name, max_records=args.max_records, step_timeout=args.timeout)
    provider = read_bounded_provider(args.data, name, list(ranges), spec.max_records)
    log = PartyLog(args.log)
    log.write("start", party=args.index, name=name, records=provider.n_records, data=str(args.data),
              backend="forest", epsilon=forest.epsilon, trees=forest.n_trees, depth=forest.depth,
              parties=[f"{h}:{p}" for h, p in addresses])
    noise = party_noise(forest, args.index, len(addresses), args.noise_seed)
    release = run_mpc_party(addresses, args.index, log, lambda mpc: MPyCForestParty(
        mpc, spec, forest, provider, ranges, classes, log, noise))
    Path(args.out).write_text(json.dumps(release.to_dict()))
    log.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m encmed_lib.privacy.mpc_forest",
                                     description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--parties", required=True, help="a number (all on loopback) or host:port,host:port,...")
    add("--index", type=int)
    add("--data")
    add("--name")
    add("--dataset", choices=sorted(DATASETS), default="heart")
    add("--epsilon", type=float, default=1.0)
    add("--trees", type=int, default=None, help="default: the schedule of epsilon and the split features")
    add("--depth", type=int, default=None, help="default: the schedule of epsilon and the split features")
    add("--split", choices=SPLITS, default="auto", help="features the splits are drawn among")
    add("--mode", choices=MODES, default="distributed",
        help="every party adds a Polya share, or party 0 (a trusted curator) draws all the noise")
    add("--statistic", choices=("auto", "margin", "counts"), default="auto")
    add("--structure-seed", type=int, default=0, help="public randomness of the splits")
    add("--noise-seed", type=int, default=None, help="tests only: seed every party's noise")
    add("--max-records", type=int, default=1024)
    add("--timeout", type=float, default=120.0)
    add("--log")
    add("--out", help="party: its forest (JSON); launcher: the run folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ranges, classes = DATASETS[args.dataset]
    if args.noise_seed is not None:
        print("warning: --noise-seed seeds every party's noise (tests only): anyone who knows the seed "
              "can subtract it, so this run is not differentially private", file=sys.stderr, flush=True)
    try:
        auto = ForestSpec.auto(args.epsilon, args.trees, args.depth, len(classes), args.structure_seed,
                               ranges=ranges, split=args.split)
        args.trees, args.depth = auto.n_trees, auto.depth
        args.statistic = auto.statistic if args.statistic == "auto" else args.statistic
        if args.parties.isdigit():
            forest = ForestSpec(args.epsilon, args.trees, args.depth, args.statistic, args.structure_seed,
                                args.split, args.mode)
            run = launch_forest(forest, int(args.parties), args.dataset, folder=args.out,
                                noise_seed=args.noise_seed, step_timeout=args.timeout)
            print(f"{len(run.names)} provider processes, logs in {run.folder}")
            print(json.dumps(run.cost()))
            print(run.forests[0].accountant.ledger.to_string())
            return 0
        if args.index is None or args.data is None or args.out is None:
            raise PartyConfigError("index, data, out: a party needs --index, --data and --out")
        return party_main(args)
    except (PartyError, ArgumentError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
