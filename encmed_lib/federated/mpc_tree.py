"""One provider's process in a multi-process federated training over MPyC.

Every provider ("hospital") runs this code in **its own process**, on its own
machine or on a loopback port, and holds only its own records.  The processes
talk only through MPyC (Schoenmakers' *MPyC*, Shamir secret sharing over a
prime field, parties connected by TCP); :mod:`encmed_lib.federated.run` starts
them.  Level by level, as the in-process :class:`~.trainer.FederatedTreeTrainer`:
each provider computes the count tables ``counts[node, feature, bin, class]``
of its own records at the open nodes, **secret-shares** them with
``mpc.input`` (each peer receives one Shamir share: a uniformly random field
element), the shared tables are added (local, no communication), and then one
of two back-ends decides the splits.

``"reveal-sums"`` (the existing secure aggregation, for comparison)
    ``mpc.output`` opens the **summed** tables to every party, and each party
    chooses the splits in clear with the in-process rules
    (:meth:`FederatedTreeTrainer._best_split`), so the tree equals the
    in-process tree exactly, class counts and impurities included.

``"split-only"`` (secure Gini argmax, as MPyC's ID3 demo, de Hoogh et al. 2014)
    The summed tables stay secret-shared.  For every candidate cut ``j`` of
    every feature (``bin <= j`` goes left) the parties compute, on shares,
    the left and right class counts :math:`L_c, R_c` (prefix sums over the
    bins), the Gini score as a fraction

    .. math::  \\frac{\\sum_c L_c^2}{n_L} + \\frac{\\sum_c R_c^2}{n_R}
               = \\frac{n_R \\sum_c L_c^2 + n_L \\sum_c R_c^2}{n_L\\, n_R},

    compared without division (:math:`a/b < c/d \\iff a d < c b`, :math:`b, d > 0`),
    and whether the cut is a *candidate* of the in-process trainer: bin ``j``
    non-empty and some later bin non-empty (then ``j`` is the ``lo`` of a pair
    of consecutive non-empty bins ``(lo, hi)``, and ``hi - j`` comes from a
    secure suffix scan :math:`d_j = d_{j+1} + 1 - [\\text{bin } j{+}1 \\ne \\emptyset]\\, d_{j+1}`).
    A secure argmax (first maximum: lowest feature, then lowest bin, the
    in-process tie-break) picks the cut; the threshold bin is
    :math:`k = j + \\lfloor d_j / 2 \\rfloor = \\lfloor (lo + hi) / 2 \\rfloor`
    (a secure least significant bit).  Leaf rules (pure node:
    :math:`n^2 = \\sum_c n_c^2`; fewer than ``min_samples_split`` records; no
    candidate) and the majority label are computed on shares too.  **One
    value per node is opened**: ``f * B + k`` for a split on feature ``f`` at
    bin ``k``, or ``-(label + 1)`` for a leaf.  Nothing else is revealed: no
    count, no total, no per-provider table.  (MPyC's comparison sub-protocols
    open random-masked values internally; these are uniformly masked with
    ``sec_param`` = 30 extra bits and are counted in the log as
    ``masked_openings``.)  The tree is the in-process tree's splits and leaf
    labels; its nodes carry no class counts (``value`` is one-hot at leaves,
    zero elsewhere; ``n_samples = 0``).

Ties
----
Scores are compared exactly (integers, no rounding), and the secure argmax
returns the **first** maximum in (feature, bin) order: the in-process
trainer's rule (lowest feature index, then lowest bin), so the split-only
tree equals the in-process tree even where a tie decides a node (the bundled
Synthea sample at depth 3 without ``min_samples_split`` has one).
scikit-learn breaks such ties by its random feature order instead, so there
the tree may differ from scikit-learn's (see :func:`~.report.decisive_ties`).
Leaf labels take the first largest class count, as scikit-learn.

Threat model
------------
Semi-honest (passive) parties and Shamir threshold ``t = (K - 1) // 2``
(MPyC's default): **any coalition of at most t parties, i.e. fewer than half
of the K providers, learns nothing** beyond what the back-end opens (and
what its own records imply); ``t + 1`` or more colluding parties can
reconstruct every shared value, including other providers' tables.  With
``K = 3`` no single provider learns anything, two colluding can; ``K = 5``
tolerates two.  MPyC needs an honest majority, so at least 3 parties are
required.  Channels must be private (``--ssl`` of MPyC, or a VPN) across
machines; actively cheating parties are not covered.  Public: the binning,
the classes, ``max_depth``, the stopping rules, the number of providers, and
a public bound ``max_records`` on each provider's record count (it sizes the
secure integers; a provider with more records refuses to start).

Differential privacy
--------------------
``noise_share(name, shape, info)`` (a per-provider callable, or an object
with that ``provider_share`` method, as the privacy module's distributed
noise) returns a signed integer array
that the provider adds to its **own** table before sharing it: the noise
enters inside the computation, and nobody sees another provider's noise or
the exact total.  In the split-only back-end the noisy shared counts are used
as they are (a bin whose count is <= 0 counts as empty); in reveal-sums the
opened total passes through ``noise_share.finish(total, info)`` if it has one.
``info`` is a :class:`~.aggregation.RevealInfo` (kind ``"counts"`` or
``"class counts"`` for the last level, the level, the node numbers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import PartyConfigError, PartyError
from ..tree import Node, PortableTree
from .aggregation import RevealInfo
from .mpc_log import ACTIVITY, MESSAGES, PartyLog, count_network
from .trainer import Binning, Draft, FederatedTreeTrainer, Provider, depth_first, plain_number

MPC_BACKENDS = ("split-only", "reveal-sums")
"""The two back-ends of a multi-process run."""

NoiseShare = Callable[[str, tuple, RevealInfo], np.ndarray]
"""``noise_share(provider name, table shape, info) -> signed int array`` added to its own table."""


@dataclass
class PartySpec:
    """What one party needs to know (all public except its own records).

    Attributes
    ----------
    index : int
        This party's position in ``addresses`` (MPyC's party id).
    addresses : list of (host, port)
        Every party's address, the same list for all parties.
    name : str
        This provider's name (in its log).
    backend : {"split-only", "reveal-sums"}
    max_depth, min_samples_split, min_samples_leaf
        The in-process trainer's rules (``min_impurity_decrease`` is 0).
    max_records : int
        Public bound on any provider's record count (sizes the secure integers).
    connect_timeout, step_timeout : float
        Seconds to wait for every peer to connect, and for a message from
        any peer during the run (silence for longer stops the run with
        :class:`PartyError`; a closed connection stops it at once).
    """

    index: int
    addresses: list
    name: str
    backend: str = "split-only"
    max_depth: int | None = 4
    min_samples_split: int = 2
    min_samples_leaf: int = 1
    max_records: int = 1024
    connect_timeout: float = 30.0
    step_timeout: float = 120.0

    def __post_init__(self):
        k = len(self.addresses)
        if k < 3:
            raise PartyConfigError(f"parties: MPyC needs an honest majority, so at least 3 parties, got {k}")
        if not 0 <= self.index < k:
            raise PartyConfigError(f"index: expected 0 <= index < {k}, got {self.index}")
        if self.backend not in MPC_BACKENDS:
            raise PartyConfigError(f"backend: expected one of {MPC_BACKENDS}, got {self.backend!r}")

    def score_bits(self) -> int:
        """Bit length of the secure integers: Gini cross products stay below ``N^5 / 16``."""
        total = len(self.addresses) * self.max_records
        return max(32, 5 * total.bit_length() + 1)


# ------------------------------------------------------------------ the party
class MPyCParty:
    """The protocol of one provider's process (``mpc`` is the process's MPyC runtime)."""

    def __init__(self, mpc, spec: PartySpec, provider: Provider, binning: Binning, classes: list,
                 log: PartyLog, noise_share: NoiseShare | None = None):
        self.mpc, self.spec, self.provider, self.binning = mpc, spec, provider, binning
        self.classes, self.log, self.noise_share = list(classes), log, noise_share
        self.rules = FederatedTreeTrainer(spec.max_depth, binning, None,
                                          min_samples_split=spec.min_samples_split,
                                          min_samples_leaf=spec.min_samples_leaf, classes=classes)
        self.rules.classes_ = list(classes)
        self.rules._n_root = None
        self.announced: dict[int, list] = {}
        self.stype = mpc.SecInt(spec.score_bits())
        self.opened: list = []
        self.n_openings = 0
        self.progress = time.monotonic()
        self.level = -1

    @property
    def peers(self) -> list[int]:
        return [i for i in range(len(self.spec.addresses)) if i != self.spec.index]

    # -- sharing -----------------------------------------------------------------
    async def share_tables(self, table: np.ndarray, info: RevealInfo):
        """Secret-share this provider's table; return the shared sum over all providers."""
        if self.noise_share is not None:  # a callable, or an object with provider_share()
            share = getattr(self.noise_share, "provider_share", self.noise_share)
            noise = np.asarray(share(self.spec.name, table.shape, info), dtype=np.int64)
            if noise.shape != table.shape:
                raise PartyError(f"noise_share: returned shape {noise.shape}, expected {table.shape}")
            table = table + noise
            self.log.write("noise", level=self.level, shape=list(table.shape),
                           summary="own noise share added to own table before sharing")
        self.log.write("sent", level=self.level, kind="shares of own table", to=self.peers,
                       shape=list(table.shape), values=int(table.size),
                       summary="one Shamir share of each count to each peer")
        shares = self.mpc.input(self.stype.array(table.astype(object)))
        for j in self.peers:
            mine = await self.mpc.gather(shares[j])
            self.log.write("received", level=self.level, kind="share of a peer's table", peer=j,
                           shape=list(table.shape), share=[int(v) for v in np.ravel(mine.value)])
        total = shares[0]
        for s in shares[1:]:
            total = total + s
        return total

    async def open(self, x, what: str) -> np.ndarray:
        """Open a shared value to every party, and log it (the only openings of this module)."""
        self.n_openings += 1
        values = np.asarray(await self.mpc.output(x), dtype=object)
        values = np.array([int(v) for v in values.ravel()], dtype=np.int64).reshape(values.shape)
        self.opened.append(values)
        self.log.write("opened", level=self.level, what=what, values=values.ravel().tolist())
        self.progress = time.monotonic()
        return values

    # -- the tree ----------------------------------------------------------------
    async def grow(self) -> PortableTree:
        """Grow the tree level by level; every party ends with the same tree."""
        self.provider.prepare(self.binning, self.classes)
        root = Draft(0, 0)
        keys, open_nodes, self.level = 1, [root], 0
        while open_nodes:
            if self.spec.backend == "reveal-sums":
                split_nodes = await self._level_reveal_sums(open_nodes)
            else:
                split_nodes = await self._level_split_only(open_nodes)
            next_open, routing = [], {}
            for d in split_nodes:
                f, _, _, k = d.split
                left, right = Draft(keys, d.depth + 1), Draft(keys + 1, d.depth + 1)
                if d.record.get("child_counts") is not None:
                    left.counts, right.counts = d.record.pop("child_counts")
                keys += 2
                d.children = (left, right)
                next_open += [left, right]
                routing[d.key] = (f, k, left.key, right.key)
            self.provider.route(routing)
            self.log.write("level", level=self.level,
                           splits={str(d.key): self.announced[d.key] for d in split_nodes})
            open_nodes, self.level = next_open, self.level + 1
        if self.spec.backend == "reveal-sums":
            tree = self.rules._build(root, len(self.spec.addresses))[0]
        else:
            tree = _build_split_only(root, self.binning, self.classes, len(self.spec.addresses))
        tree.meta.update(backend=self.spec.backend, trainer="federated, MPyC processes")
        return tree

    async def _level_reveal_sums(self, drafts: list[Draft]) -> list[Draft]:
        """Open the summed tables, choose splits in clear with the in-process rules."""
        rules, b = self.rules, self.binning
        query = [d for d in drafts if d.counts is None or not rules._leaf_by_counts(d)]
        if not query:
            return []
        ids = [d.key for d in query]
        table = b.flatten(self.provider.count_tables(ids))
        info = RevealInfo("counts", f"level {self.level}", tuple(ids), len(b.feature_names),
                          len(self.spec.addresses))
        total = await self.open(await self.share_tables(table, info), "summed count tables")
        finish = getattr(self.noise_share, "finish", None)
        if finish is not None:
            total = np.asarray(finish(total, info))
        totals = b.unflatten(total, len(self.classes))
        chosen = []
        for d, T in zip(query, totals, strict=True):
            if d.counts is None:
                d.counts = T[0].sum(axis=0)
                if rules._n_root is None:
                    rules._n_root = plain_number(d.counts.sum())
                if rules._leaf_by_counts(d):
                    continue
            best = rules._best_split(T, d.counts)
            if best is None:
                continue
            f, lo, hi, k, left_counts, right_counts, record = best
            d.split, d.record = (f, lo, hi, k), dict(record, child_counts=(left_counts, right_counts))
            self.announced[d.key] = [b.feature_names[f], k]
            chosen.append(d)
        return chosen

    async def _level_split_only(self, drafts: list[Draft]) -> list[Draft]:
        """Decide every node on shares; open one code per node (split or leaf label)."""
        b, spec = self.binning, self.spec
        F, B, C = len(b.feature_names), b.max_bins, len(self.classes)
        ids = [d.key for d in drafts]
        last = spec.max_depth is not None and drafts[0].depth >= spec.max_depth
        tables = self.provider.count_tables(ids)  # (m, F, B, C)
        if last:  # labels only: the class counts of each node suffice
            info = RevealInfo("class counts", f"level {self.level}", tuple(ids), 1, len(spec.addresses))
            T = await self.share_tables(tables[:, 0].sum(axis=1), info)
            codes = -(_secure_label(self.mpc, T) + 1)
        else:
            info = RevealInfo("counts", f"level {self.level}", tuple(ids), F, len(spec.addresses))
            T = await self.share_tables(tables, info)
            codes = secure_node_codes(self.mpc, T, [b.n_bins[n] for n in b.feature_names], B, C,
                                      max(spec.min_samples_split, 2 * spec.min_samples_leaf),
                                      spec.min_samples_leaf, noisy=self.noise_share is not None)
        opened = await self.open(codes, "node codes: f * B + k (split) or -(label + 1) (leaf)")
        chosen = []
        for d, code in zip(drafts, opened.tolist(), strict=True):
            if code < 0:
                d.record = {"label": -code - 1}
                continue
            f, k = divmod(code, B)
            d.split, d.record = (f, None, None, k), {}
            self.announced[d.key] = [b.feature_names[f], k]
            chosen.append(d)
        return chosen


# ------------------------------------------------------------------ secure split choice
def _secure_label(mpc, counts):
    """Index of the first largest class count of each row (scikit-learn's leaf label)."""
    return mpc.np_argmax(counts, axis=1)


class _Fraction:
    """Key for ``mpc.np_argmax``: rows ``[num, den]`` compared as fractions (den > 0)."""

    size = 2

    def __init__(self, a):
        self.a = a

    def __lt__(self, other):
        a, b = self.a, other.a
        return a[..., 0] * b[..., 1] < b[..., 0] * a[..., 1]


def _candidates(n_bins: list[int], B: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions ``f * B + j`` of the cuts ``bin <= j``, ``j < n_bins[f] - 1``, and of the real bins."""
    cuts = [f * B + j for f, nb in enumerate(n_bins) for j in range(nb - 1)]
    real = [f * B + j for f, nb in enumerate(n_bins) for j in range(nb)]
    return np.array(cuts, dtype=np.int64), np.array(real, dtype=np.int64)


def secure_node_codes(mpc, T, n_bins: list[int], B: int, C: int, min_split: int, min_leaf: int, *,
                      noisy: bool = False):
    r"""The code of every node from its shared summed table ``T`` (m, F, B, C), on shares.

    Returns a shared vector (m,): ``f * B + k`` if the node splits on feature
    ``f`` at ``bin <= k``, else ``-(label + 1)``.  The rules are the
    in-process trainer's (see the module docstring); nothing is opened here.
    ``noisy``: counts may be negative, so a cut also needs :math:`n_L \ge 1`
    (exact counts imply it: bin ``j`` is non-empty).
    """
    m, F = T.shape[0], len(n_bins)
    cuts, real = _candidates(n_bins, B)
    counts = T[:, 0].sum(axis=1)                                     # (m, C)
    n = counts.sum(axis=1)
    pure = (n * n - (counts * counts).sum(axis=1)) == 0
    small = n < min_split if min_split > 2 else None                 # n < 2 is pure anyway
    label = _secure_label(mpc, counts)
    flat = T.sum(axis=3).reshape(m, F * B)                           # records per (feature, bin)
    select = np.zeros((len(real), F * B), dtype=np.int64)
    select[np.arange(len(real)), real] = 1
    nonempty = ((flat[:, real] >= 1) @ select).reshape(m, F, B)      # padded bins: public zeros
    left = mpc.np_cumsum(T, axis=2)
    right = left[:, :, B - 1:B, :] - left
    nL, nR = left.sum(axis=3), right.sum(axis=3)
    sL, sR = (left * left).sum(axis=3), (right * right).sum(axis=3)
    gap = _gaps(mpc, nonempty, B)                                    # hi - j for every cut j
    pick = lambda a: a.reshape(m, F * B)[:, cuts]  # noqa: E731
    nL, nR, sL, sR, ne = pick(nL), pick(nR), pick(sL), pick(sR), pick(nonempty)
    valid = ne * (nR >= max(1, min_leaf))
    if min_leaf > 1 or noisy:
        valid = valid * (nL >= max(1, min_leaf))
    num = valid * (sL * nR + sR * nL + 1) - 1                        # invalid cut: -1 / 1
    den = valid * (nL * nR - 1) + 1
    unit = mpc.np_argmax(mpc.np_stack([num, den], axis=2), axis=1, key=_Fraction, arg_unary=True)
    has = (unit * valid).sum(axis=1)
    d = (unit * pick(gap)).sum(axis=1)
    split_code = unit @ cuts + (d - mpc.np_lsb(d)) / 2               # f * B + j + floor(d / 2)
    go_on = has * (1 - pure)
    if small is not None:
        go_on = go_on * (1 - small)
    leaf_code = -(label + 1)
    return go_on * (split_code - leaf_code) + leaf_code


def _gaps(mpc, nonempty, B: int):
    """``d[..., j]`` = distance from bin ``j`` to the next non-empty bin (suffix scan, shared)."""
    d = nonempty[:, :, B - 1] * 0 + 1
    cols = [d]
    for j in range(B - 2, -1, -1):
        d = d + 1 - nonempty[:, :, j + 1] * d
        cols.append(d)
    return mpc.np_stack(cols[::-1], axis=2)


def _build_split_only(root: Draft, binning: Binning, classes: list, k: int) -> PortableTree:
    """The tree from the opened codes: splits and leaf labels only (no counts were revealed)."""
    order = depth_first(root)
    ids = {d.key: j for j, d in enumerate(order)}
    nodes = []
    for j, d in enumerate(order):
        if d.children is None:
            value = [1.0 if c == d.record["label"] else 0.0 for c in range(len(classes))]
            nodes.append(Node(j, None, None, None, None, value, 0, 0.0, 0.0))
            continue
        f, _, _, kbin = d.split
        name = binning.feature_names[f]
        nodes.append(Node(j, name, binning.threshold(name, kbin), ids[d.children[0].key],
                          ids[d.children[1].key], [0.0] * len(classes), 0, 0.0, 0.0))
    meta = {"criterion": "gini", "n_providers": k, "binning": binning.to_dict(),
            "counts": "not revealed (split-only back-end)"}
    tree = PortableTree(list(binning.feature_names), list(classes), nodes, meta)
    tree.validate()
    return tree


# ------------------------------------------------------------------ running it
async def run_party(mpc, party: MPyCParty) -> PortableTree:
    """Connect, grow the tree, shut down; a lost or silent peer raises :class:`PartyError`."""
    spec, log = party.spec, party.log
    counter = count_network(mpc)
    try:
        await asyncio.wait_for(mpc.start(), spec.connect_timeout)
    except TimeoutError:
        raise PartyError(f"could not connect to every party {spec.addresses} within "
                         f"{spec.connect_timeout:g} s") from None
    log.write("connected", parties=len(spec.addresses), threshold=mpc.threshold,
              bits=party.stype.bit_length)
    task = asyncio.ensure_future(party.grow())
    watch = asyncio.ensure_future(_watch(mpc, party))
    done, _ = await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        task.cancel()
        raise PartyError(watch.result())
    watch.cancel()
    tree = task.result()
    sent = {str(p.pid): p.protocol.nbytes_sent for p in mpc.parties if p.pid != spec.index}
    log.write("done", bytes_sent=sent, messages_sent=MESSAGES.get("sent", 0),
              rounds=MESSAGES.get("rounds", 0),
              bytes_received=MESSAGES.get("received", 0), own_openings=party.n_openings,
              masked_openings=counter[0] - party.n_openings, levels=party.level,
              tree=tree.to_dict())
    try:
        await asyncio.wait_for(mpc.shutdown(), spec.step_timeout)
    except TimeoutError:
        raise PartyError("a peer did not reach the end of the run (shutdown timed out)") from None
    return tree


async def _watch(mpc, party: MPyCParty) -> str:
    """Return a message as soon as a peer's connection closes or the run stalls."""
    spec = party.spec
    while True:
        await asyncio.sleep(0.1)
        for p in mpc.parties:
            if p.pid == spec.index:
                continue
            proto = p.protocol
            if proto is None or proto.transport is None or proto.transport.is_closing():
                host, port = spec.addresses[p.pid]
                return (f"party {spec.index} ({spec.name}): lost contact with party {p.pid} "
                        f"({host}:{port}) during level {party.level}; stopping")
        if time.monotonic() - max(party.progress, ACTIVITY[0]) > spec.step_timeout:
            return (f"party {spec.index} ({spec.name}): no message from any peer for "
                    f"{spec.step_timeout:g} s at level {party.level}; stopping")
