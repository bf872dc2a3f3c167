r"""A DP federated forest whose only released statistics are noisy leaf counts.

The idea (Jagannathan, Pillaipakkamnatt & Wright 2009; Fletcher & Islam 2017)
------------------------------------------------------------------------------
The level-by-level tree of :mod:`encmed_lib.privacy.tree` pays for every split
it chooses: each level's tables have sensitivity :math:`F` (one histogram per
feature), so at small :math:`\varepsilon` its splits drown in noise.  A
**random-split tree** chooses nothing from the data: at every node a feature
is drawn at random, and a threshold inside the node's *public* interval of
that feature (:data:`~encmed_lib.federated.HEART_RANGES`; for a categorical
feature, a cut between two of its public codes).  The threshold is uniform in
the interval, except on a range that spans an order of magnitude
(:math:`0 \le lo`, :math:`hi \ge 10\, lo`, :func:`log_offset`): areas,
concentrations and measurement errors are right-skewed, and a uniform
threshold on such a range mostly falls in its empty upper tail, so there it is
uniform in :math:`\log(v + c)`.  The rule reads the public range only.  The
structure is public randomness, drawn before any record is touched, and
costs no budget.

The data enter once, at the leaves.  Each provider releases, per leaf of
every tree, either the **margin** :math:`m_\ell = c_\ell(1) - c_\ell(0)` of its
records there (two classes, :math:`\varepsilon <` :data:`COUNTS_FROM`), or the
class counts :math:`c_\ell(c)` (more classes, or larger :math:`\varepsilon`).
A record falls in exactly one leaf of each of the :math:`T` trees, so adding
or removing it changes :math:`T` released values by 1 each: the whole release
(all trees, all leaves) has L1 sensitivity :math:`\Delta = T` either way, and
discrete Laplace noise with :math:`\alpha = e^{-\varepsilon/T}` on every value
makes it :math:`\varepsilon`-DP (one release).  The margin carries what a
two-class vote needs with **one** noise draw per leaf instead of two (the
difference of two noisy counts has twice the variance): the gain is largest at
small :math:`\varepsilon`.  The counts also carry the leaf's size, so a leaf's
class shares can be normalised: once the noise is small, that is what the
vote needs (a large mixed leaf must not outvote a small pure one).
Everything else is post-processing: each leaf's class shares
:math:`\hat p_\ell(1) = (1 + \tanh(\hat m_\ell / b))/2` with :math:`b = T/\varepsilon`
the noise scale (a noisy margin of the size of the noise counts for little),
or :math:`(\max(\hat c_\ell(c), 0) + b) / (\sum_{c'} \max(\hat c_\ell(c'), 0) + C b)`
for counts (a pseudo-count of one noise scale per class); the internal nodes'
values (from sums over their leaves), and the prediction

.. math::  \hat y(x) = \arg\max_c \frac{1}{T} \sum_{t=1}^{T} \hat p_{\ell_t(x)}(c),

the average of the members' leaf distributions ("soft vote").  Each member
is a :class:`~encmed_lib.tree.PortableTree`: :class:`~encmed_lib.TreeServer`
serves it for encrypted prediction with ``leaf_distribution=True``, and the
client averages the decrypted distributions (:meth:`DPForest.predict_encrypted`).

Why more, shallower or deeper trees: the signal at a leaf is about
:math:`n/2^d` records and the noise on a count has standard deviation
:math:`\sqrt{2}\,T/\varepsilon`; averaging :math:`T` trees divides the noise
of the vote by :math:`\sqrt T` and adds diversity, so the vote's
signal-to-noise ratio is about :math:`n\varepsilon / (2^d \sqrt{T})`: few
trees at small :math:`\varepsilon`, many at large; with many features,
deeper trees (a path of random splits must meet the informative ones).
:func:`~encmed_lib.privacy.schedule.forest_schedule` fixes :math:`T` and
:math:`d` from :math:`\varepsilon` and the number of candidate features only,
and :func:`~encmed_lib.privacy.schedule.split_features` the candidates: at
small budgets on a narrow table, the categorical features alone (a cut
between two public codes always separates populated values; a threshold drawn
in a wide numeric range often isolates an empty tail, and the tree can be one
level shallower).  Those are public facts, so the choice releases nothing;
:mod:`~encmed_lib.privacy.schedule` says on which synthetic samples (never
the scored data) each rule was chosen.

The transcript
--------------
Messages: the coordinator sends the public structure to every provider; each
provider sends its leaf-count table (plus its noise share, in distributed
mode) to the aggregation back-end; the noisy total is published.  No record
count is announced: a back-end that sizes its slots from a bound (Paillier)
needs ``record_bound`` fixed in advance
(:class:`~encmed_lib.federated.PaillierAggregator`), so what is published
(the messages to everyone) is a function of the data only through the noisy
total, and the :class:`~encmed_lib.privacy.PrivacyAccountant` has one row,
:math:`\varepsilon`.  With central noise over secret sharing, whose
published partial sums add up to the total, the first provider (a trusted
curator) adds the whole draw to its table before sharing it.  Who sees more
than the noisy total: the plain back-end's aggregator (every table), and with
central noise the Paillier key holder and that curator (the exact total).
With the multi-process MPyC back-end (:mod:`~encmed_lib.privacy.mpc_forest`)
each provider adds its Polya share to its own table before secret-sharing it,
and the one value opened is the noisy total.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ArgumentError
from ..federated.aggregation import EVERYONE, Aggregator, RevealInfo, SecretSharingAggregator, Transcript
from ..federated.trainer import Codes, Provider
from ..tree import Node, PortableTree
from .accountant import PrivacyAccountant, check_epsilon, laplace_epsilon
from .mechanisms import RngLike, as_generator
from .noise import LEAF_KIND, NOISE_MODES
from .schedule import (  # noqa: F401  (re-exported: the public names of the schedule)
    COUNTS_FROM,
    LOG_RATIO,
    SMALL_EPSILON,
    WIDE_FEATURES,
    auto_statistic,
    fill_schedule,
    forest_schedule,
    log_offset,
    split_features,
)

FOREST_ROUND = "forest leaves"
"""Round label (and ``RevealInfo.round``) of the forest's one release."""


def _interval(spec) -> list[float] | tuple[float, float]:
    if isinstance(spec, Codes):
        return list(spec.codes)
    low, high = (float(v) for v in spec)
    if not low < high:
        raise ArgumentError(f"a public range needs low < high, got {spec!r}")
    return (low, high)


def random_split_tree(ranges: Mapping[str, tuple[float, float] | Codes], depth: int, classes: Sequence,
                      rng: RngLike = None, *, scale: str = "auto",
                      features: Sequence[str] | None = None) -> PortableTree:
    """A complete tree of random splits drawn from public ranges only (no data).

    At each node a feature is drawn uniformly among those whose public
    interval at the node can still be cut (and, if ``features`` is given,
    that are among ``features``; the tree still reads every feature of
    ``ranges``), then a threshold inside the
    interval (a range) or a cut between two consecutive codes (:class:`Codes`);
    the children inherit the two halves.  The threshold is uniform in the
    interval, or (``scale="auto"`` and :func:`log_offset` of the public range
    not ``None``) uniform in :math:`\\log(v + c)`.  Leaves carry uniform class
    shares until counts are filled in.  Nodes are numbered depth first, left first.
    """
    if int(depth) != depth or depth < 0:
        raise ArgumentError(f"depth must be an integer >= 0, got {depth}")
    if scale not in ("auto", "uniform"):
        raise ArgumentError(f"scale must be 'auto' or 'uniform', got {scale!r}")
    gen = as_generator(rng)
    names = list(ranges)
    allowed = set(names if features is None else _distinct_names(ranges, features))
    offsets = [log_offset(ranges[n]) if scale == "auto" else None for n in names]
    C = len(classes)
    nodes: list[Node] = []

    def grow(intervals: list, level: int) -> int:
        j = len(nodes)
        nodes.append(None)  # type: ignore[arg-type]
        ok = [f for f, iv in enumerate(intervals)
              if names[f] in allowed and (not isinstance(iv, list) or len(iv) > 1)]
        if level >= depth or not ok:
            nodes[j] = Node(j, None, None, None, None, [1.0 / C] * C, 0, 0.0, 1.0 - 1.0 / C)
            return j
        f = ok[int(gen.integers(len(ok)))]
        iv = intervals[f]
        if isinstance(iv, list):
            cut = int(gen.integers(len(iv) - 1))
            threshold, lo, hi = float(iv[cut]), iv[:cut + 1], iv[cut + 1:]
        else:
            c = offsets[f]
            u = gen.uniform(iv[0], iv[1]) if c is None else \
                math.exp(gen.uniform(math.log(iv[0] + c), math.log(iv[1] + c))) - c
            threshold = float(np.float32(min(max(u, iv[0]), iv[1])))
            lo, hi = (iv[0], threshold), (threshold, iv[1])
        left = grow(intervals[:f] + [lo] + intervals[f + 1:], level + 1)
        right = grow(intervals[:f] + [hi] + intervals[f + 1:], level + 1)
        nodes[j] = Node(j, names[f], threshold, left, right, [1.0 / C] * C, 0, 0.0, 1.0 - 1.0 / C)
        return j

    grow([_interval(ranges[n]) for n in names], 0)
    tree = PortableTree(names, list(classes), nodes, {"trainer": "random splits", "max_depth": int(depth)})
    tree.validate()
    return tree


@dataclass
class _Compiled:
    """A tree as arrays, for routing many records at once."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaves: np.ndarray  # node ids of the leaves, in order
    leaf_index: np.ndarray  # node id -> position among the leaves (-1 for internal nodes)

    @classmethod
    def of(cls, tree: PortableTree) -> _Compiled:
        index = {n: f for f, n in enumerate(tree.feature_names)}
        feat = np.array([index[n.feature] if n.feature else -1 for n in tree.nodes])
        thr = np.array([n.threshold if n.threshold is not None else 0.0 for n in tree.nodes])
        left = np.array([n.left if n.left is not None else -1 for n in tree.nodes])
        right = np.array([n.right if n.right is not None else -1 for n in tree.nodes])
        leaves = np.flatnonzero(feat < 0)
        pos = np.full(len(tree.nodes), -1)
        pos[leaves] = np.arange(len(leaves))
        return cls(feat, thr, left, right, leaves, pos)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Position among the leaves of every row of ``X`` (float32 comparison, as PortableTree)."""
        at = np.zeros(len(X), dtype=np.int64)
        X32 = X.astype(np.float32).astype(np.float64)
        while True:
            inner = self.feature[at] >= 0
            if not inner.any():
                return self.leaf_index[at]
            rows = np.flatnonzero(inner)
            f, node = self.feature[at[rows]], at[rows]
            go = X32[rows, f] <= self.threshold[node]
            at[rows] = np.where(go, self.left[node], self.right[node])


STATISTICS = ("margin", "counts")
"""What a leaf releases: the two-class margin :math:`c(1) - c(0)`, or every class count."""


def leaf_table(X: pd.DataFrame, y, trees: Sequence[PortableTree], classes: Sequence,
               statistic: str = "counts") -> np.ndarray:
    r"""One provider's table, flat (``int64``): counts per (tree, leaf, class), or margins per (tree, leaf).

    A record adds 1 to one leaf's count of its class in each tree (or
    :math:`\pm 1` to one leaf's margin): ``len(trees)`` entries change by 1.
    """
    if statistic not in STATISTICS:
        raise ArgumentError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if statistic == "margin" and len(classes) != 2:
        raise ArgumentError(f"statistic: the margin needs exactly 2 classes, got {len(classes)}")
    index = {c: i for i, c in enumerate(classes)}
    cls = np.array([index[v.item() if isinstance(v, np.generic) else v] for v in np.asarray(y)],
                   dtype=np.int64)
    values = X[trees[0].feature_names].to_numpy(dtype=np.float64)
    out = []
    C = len(classes)
    for tree in trees:
        comp = _Compiled.of(tree)
        leaf = comp.apply(values) if len(values) else np.zeros(0, dtype=np.int64)
        counts = np.bincount(leaf * C + cls, minlength=len(comp.leaves) * C)
        if statistic == "margin":
            counts = counts.reshape(-1, 2)
            counts = counts[:, 1] - counts[:, 0]
        out.append(counts)
    return np.concatenate(out).astype(np.int64)


def _with_values(tree: PortableTree, released: np.ndarray, statistic: str, scale: float) -> PortableTree:
    r"""``tree`` with class shares computed from its leaves' noisy release (post-processing).

    Counts: clipped at 0, plus a pseudo-count of ``scale`` (the noise scale)
    per class, normalised.  Margins: :math:`p(1) = (1 + \tanh(m / b))/2`
    with :math:`b` the noise scale times :math:`\sqrt{\text{leaves below}}`
    for an internal node (whose margin is the sum of its leaves').
    """
    comp = _Compiled.of(tree)
    C = len(tree.classes)
    width = C if statistic == "counts" else 1
    per_node = np.zeros((len(tree.nodes), width))
    n_leaves = np.zeros(len(tree.nodes))
    per_node[comp.leaves] = np.asarray(released, dtype=np.float64).reshape(len(comp.leaves), width)
    n_leaves[comp.leaves] = 1
    for j in range(len(tree.nodes) - 1, -1, -1):  # children have larger ids
        if comp.feature[j] >= 0:
            per_node[j] = per_node[comp.left[j]] + per_node[comp.right[j]]
            n_leaves[j] = n_leaves[comp.left[j]] + n_leaves[comp.right[j]]
    nodes = []
    for node, row, m in zip(tree.nodes, per_node, n_leaves, strict=True):
        if statistic == "counts":
            n = float(np.maximum(row, 0).sum())
            value = [(max(float(c), 0.0) + scale) / (n + C * scale) for c in row]
        else:
            p1 = 0.5 * (1.0 + math.tanh(float(row[0]) / (scale * math.sqrt(m))))
            value, n = [1.0 - p1, p1], abs(float(row[0]))
        impurity = 1.0 - math.fsum(v * v for v in value)
        nodes.append(Node(node.id, node.feature, node.threshold, node.left, node.right, value,
                          int(round(n)), n, impurity))
    return PortableTree(list(tree.feature_names), list(tree.classes), nodes, dict(tree.meta))


def release_members(trees: Sequence[PortableTree], total: np.ndarray, statistic: str,
                    scale: float) -> list[PortableTree]:
    """The members with their leaf values, from the flat noisy release of every tree (post-processing).

    ``total`` is the published table (:func:`leaf_table`'s layout, noise
    included); ``scale`` the noise scale :math:`b = T/\\varepsilon`.
    """
    width = len(trees[0].classes) if statistic == "counts" else 1
    sizes = [len(_Compiled.of(t).leaves) * width for t in trees]
    total = np.asarray(total)
    if total.shape != (sum(sizes),):
        raise ArgumentError(f"total: expected {sum(sizes)} released values, got shape {total.shape}")
    parts = np.split(total, np.cumsum(sizes)[:-1])
    return [_with_values(t, part, statistic, scale) for t, part in zip(trees, parts, strict=True)]


@dataclass
class DPForest:
    """An ensemble of :class:`~encmed_lib.tree.PortableTree` members, predicting by soft vote.

    Attributes
    ----------
    trees : list of PortableTree
        The members (each servable by :class:`~encmed_lib.TreeServer`).
    classes : list
    accountant : PrivacyAccountant
        One row: the leaf counts of every member, released once.
    transcript : Transcript
    meta : dict
        ``epsilon``, ``mode``, ``n_trees``, ``max_depth``, ``sensitivity``, ``statistic``,
        ``split_features`` (the features the splits were drawn among), ``noise_sd``,
        and ``opendp_epsilon``: OpenDP's privacy map of the release
        (its discrete Laplace measurement of scale :math:`T/\varepsilon` at
        sensitivity :math:`T`), which must equal ``epsilon``.
    """

    trees: list[PortableTree]
    classes: list
    accountant: PrivacyAccountant
    transcript: Transcript
    meta: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Mean of the members' leaf class shares, shape ``(len(X), n_classes)``."""
        values = X[self.trees[0].feature_names].to_numpy(dtype=np.float64)
        total = np.zeros((len(values), len(self.classes)))
        for tree in self.trees:
            comp = _Compiled.of(tree)
            shares = np.array([tree.nodes[j].value for j in comp.leaves])
            total += shares[comp.apply(values)]
        return total / len(self.trees)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The class with the largest mean share (the first on ties)."""
        return np.asarray(self.classes, dtype=object)[np.argmax(self.predict_proba(X), axis=1)].astype(
            np.asarray(self.classes).dtype)

    def predict_encrypted(self, record: Mapping[str, float], client, *,
                          server_factory: Callable[[PortableTree], Any] | None = None) -> Any:
        """Encrypted prediction of one record: every member served by a ``TreeServer``, soft vote.

        The client encrypts the record once; each member's server evaluates
        it blindly and shares its leaves' class distributions
        (``leaf_distribution=True``); the client decrypts one distribution per
        member and averages them, exactly as :meth:`predict_proba`.
        """
        if server_factory is None:
            from ..protocol.server import TreeServer

            def server_factory(tree):
                return TreeServer(tree, leaf_distribution=True)

        query = client.encrypt(record)
        total = np.zeros(len(self.classes))
        for tree in self.trees:
            _, dist = client.decrypt(server_factory(tree).evaluate(query), return_distribution=True)
            total += dist
        return self.classes[int(np.argmax(total))]


def _split_names(ranges, features, epsilon: float) -> list[str]:
    """The split features of :func:`dp_random_forest`: ``"auto"``, ``None`` or names of ``ranges``."""
    if features is None:
        return list(ranges)
    if isinstance(features, str):
        if features != "auto":
            raise ArgumentError(f"features must be 'auto', None or a sequence of names, got {features!r}")
        return split_features(ranges, epsilon)
    return _distinct_names(ranges, features)


def _distinct_names(ranges, features) -> list[str]:
    """``features`` as a list, or :class:`ArgumentError` unless it holds distinct names of ``ranges``."""
    if isinstance(features, str) or not isinstance(features, (Sequence, np.ndarray, pd.Index)) \
            or np.ndim(features) != 1:
        raise ArgumentError(f"features: expected a sequence of names of the ranges, got {features!r}")
    names = list(features)
    if not names or not all(isinstance(n, str) and n in ranges for n in names) \
            or len(set(names)) != len(names):
        raise ArgumentError(f"features: expected distinct names of the ranges (at least one), got {names!r}")
    return [str(n) for n in names]


def _resolve(epsilon: float, ranges, n_classes: int, statistic: str, features, n_trees, max_depth
             ) -> tuple[str, list[str], int, int]:
    """``(statistic, split features, n_trees, depth)`` of :func:`dp_random_forest`, ``"auto"`` resolved."""
    if statistic == "auto":
        statistic = auto_statistic(epsilon, n_classes)
    if statistic not in STATISTICS:
        raise ArgumentError(f"statistic must be 'auto' or one of {STATISTICS}, got {statistic!r}")
    features = _split_names(ranges, features, epsilon)
    for name, v in (("n_trees", n_trees), ("max_depth", max_depth)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
            raise ArgumentError(f"{name}: expected an integer or None, got {v!r}")
    T, depth = (int(v) for v in fill_schedule(epsilon, len(features), n_trees, max_depth))
    if T < 1:
        raise ArgumentError(f"n_trees must be >= 1, got {n_trees}")
    return statistic, features, T, depth


def dp_random_forest(providers: Sequence[Provider], epsilon: float,
                     ranges: Mapping[str, tuple[float, float] | Codes], aggregator: Aggregator | None = None,
                     *, classes: Sequence, mode: str = "central", n_trees: int | None = None,
                     max_depth: int | None = None, statistic: str = "auto", scale: str = "auto",
                     features: Sequence[str] | str | None = "auto", rng: RngLike = None,
                     sampler=None, transcript: Transcript | None = None,
                     coordinator: str = "coordinator") -> DPForest:
    r"""Train an :math:`\varepsilon`-DP federated forest of random-split trees (module docstring).

    Parameters
    ----------
    providers : sequence of Provider
    epsilon : float
        The whole budget: the one release (every leaf of every tree) spends it.
    ranges : mapping
        Public ranges of the features (the structure's only input).
    aggregator : Aggregator, optional
        Any back-end; default :class:`~encmed_lib.federated.SecretSharingAggregator`.
        A Paillier back-end sizing its slots automatically needs a
        ``record_bound`` fixed in advance (no bound is announced here).
    classes : sequence
        The public class labels.
    mode : {"central", "distributed"}
        Where the noise is drawn: by the party that publishes the total (with
        secret sharing, whose published partial sums add up to the total, by
        the first provider, a trusted curator, before its table is shared), or
        as Polya shares each provider adds to its table before it leaves.
    n_trees, max_depth : int, optional
        Default :func:`forest_schedule` of ``epsilon`` and the number of split features.
    features : "auto", sequence of str or None
        The features splits are drawn among (every member still reads all of
        ``ranges``): ``"auto"`` is :func:`split_features` of ``ranges`` and
        ``epsilon`` (public facts only), ``None`` every feature.
    statistic : {"auto", "margin", "counts"}
        What each leaf releases (module docstring); ``"auto"``: the margin
        for two classes and :math:`\\varepsilon <` :data:`COUNTS_FROM`, else the counts.
    scale : {"auto", "uniform"}
        Thresholds of the random splits (:func:`random_split_tree`): log-scale
        on the ranges :func:`log_offset` selects, or uniform everywhere.
    rng : Generator or seed
        Statistical randomness of the structure and (without ``sampler``) of the noise.
    sampler : callable, optional
        ``sampler(shape, epsilon, sensitivity)`` for central noise, e.g.
        :class:`~encmed_lib.privacy.OpenDPSampler` in a deployment (refused in
        distributed mode, whose Polya shares come from ``rng``).
    transcript : Transcript, optional

    Returns
    -------
    DPForest
    """
    if mode not in NOISE_MODES:
        raise ArgumentError(f"mode must be one of {list(NOISE_MODES)}, got {mode!r}")
    epsilon = check_epsilon(epsilon)
    if sampler is not None and mode != "central":
        raise ArgumentError("sampler: only central noise is drawn by a sampler (distributed shares come "
                            f"from rng), got mode={mode!r}")
    if classes is None or len(classes) < 2:
        raise ArgumentError("classes: give the public class labels (at least 2)")
    aggregator = aggregator if aggregator is not None else SecretSharingAggregator()
    if getattr(aggregator, "auto_slots", False) and getattr(aggregator, "record_bound", None) is None:
        raise ArgumentError("aggregator: a Paillier back-end with slot_bits='auto' needs record_bound= "
                         "fixed in advance (announcing record counts would leak outside the budget)")
    providers = list(providers)
    statistic, features, T, depth = _resolve(epsilon, ranges, len(classes), statistic, features,
                                             n_trees, max_depth)
    gen = as_generator(rng)  # the structure is drawn first, then the noise
    trees = [random_split_tree(ranges, depth, classes, gen, scale=scale, features=features)
             for _ in range(T)]
    transcript = transcript if transcript is not None else Transcript()
    accountant = PrivacyAccountant(epsilon)
    hook = NOISE_MODES[mode](epsilon, T, gen, epsilon_leaves=epsilon, accountant=accountant,
                             sampler=sampler, clip=statistic == "counts")
    transcript.round = FOREST_ROUND
    text = json.dumps([t.to_dict() for t in trees])
    for p in providers:
        transcript.send(coordinator, p.name, "split", [t.to_dict() for t in trees],
                        summary=f"{T} random-split trees of depth {depth} (public structure)", size=len(text))
    tables = {p.name: leaf_table(p._X, p._y, trees, classes, statistic)  # noqa: SLF001
              for p in providers}
    info = RevealInfo(LEAF_KIND, FOREST_ROUND, (), T, len(providers))
    total = np.asarray(aggregator.aggregate(tables, transcript, noise=hook, info=info,
                                            signed=statistic == "margin"))
    transcript.round = ""
    members = release_members(trees, total, statistic, T / epsilon)
    alpha = math.exp(-epsilon / T)
    meta = {"epsilon": float(epsilon), "mode": mode, "n_trees": T, "max_depth": depth, "sensitivity": T,
            "statistic": statistic, "split_features": features,
            "opendp_epsilon": laplace_epsilon(T, T / epsilon), "noise_sd": math.sqrt(2 * alpha) / (1 - alpha),
            "aggregator": aggregator.name,
            "published_to": EVERYONE}
    return DPForest(members, list(classes), accountant, transcript, meta)
