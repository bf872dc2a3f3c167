"""Reading a federated training run: transcript tables, back-end costs, tree comparison.

Helpers for notebook 08 (and anyone inspecting a
:class:`~encmed_lib.federated.FederatedTreeTrainer`):

* :func:`rounds_table` and :func:`received_table`: the transcript, round by
  round and party by party (counts of messages, never payloads);
* :func:`provider_view`: what one provider holds in a secret-sharing round --
  its own table, the random shares it received, the published total;
* :func:`compare_backends` and :func:`plot_backend_cost`: the same training
  with several aggregation back-ends, its time, messages and bytes;
* :func:`tree_differences`, :func:`same_tree` and :func:`decisive_ties`: the
  federated tree against scikit-learn's tree fitted on the pooled *binned*
  data, node for node (the check ``tests/test_federated.py`` makes).

Nothing here is random: every function reads what a run recorded (the times
measured by :func:`compare_backends` excepted).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..colours import CLASS_COLOURS
from ..colours import NEUTRAL as _NEUTRAL
from ..tree import as_portable
from .aggregation import Aggregator, PaillierAggregator, SecretSharingAggregator, Transcript
from .trainer import Binning, FederatedTreeTrainer, Provider, SplitRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "backend_label",
    "compare_backends",
    "decisive_ties",
    "plot_backend_cost",
    "provider_view",
    "received_table",
    "rounds_table",
    "same_tree",
    "table_index",
    "tree_differences",
]

#: Kinds of message that carry a provider's own (plaintext or encrypted) table.
TABLE_KINDS = ("table", "ciphertexts")

#: A split whose Gini score leads the runner-up by no more than this was decided by a tie.
TIE_MARGIN = 1e-12


# ------------------------------------------------------------------ transcripts
def rounds_table(transcript: Transcript) -> pd.DataFrame:
    """Messages per round and kind of payload, plus the bytes of each round.

    Returns
    -------
    pandas.DataFrame
        One row per round (in the order of the run), one column per kind of
        message (in order of first appearance) holding the number of
        messages, and a last column ``bytes``.
    """
    frame = transcript.to_frame()
    if frame.empty:
        return pd.DataFrame(columns=["bytes"])
    frame["round"] = frame["round"].replace("", "(none)")
    rounds = list(dict.fromkeys(frame["round"]))
    kinds = list(dict.fromkeys(frame["kind"]))
    table = (frame.pivot_table(index="round", columns="kind", values="bytes", aggfunc="count",
                               fill_value=0)
             .reindex(index=rounds, columns=kinds, fill_value=0).astype(int))
    table["bytes"] = frame.groupby("round", sort=False)["bytes"].sum().reindex(rounds).astype(int)
    table.columns.name = None
    return table


def received_table(transcript: Transcript, parties: Sequence[str] | None = None, *,
                   broadcasts: bool = True) -> pd.DataFrame:
    """How many messages of each kind every party received.

    Parameters
    ----------
    transcript : Transcript
    parties : sequence of str, optional
        The rows (default: every party of the transcript).
    broadcasts : bool
        Count publications to everyone as received by every party but their sender.

    Returns
    -------
    pandas.DataFrame
        One row per party, one column per kind of message (0 when none).
    """
    parties = list(parties) if parties is not None else transcript.parties
    kinds = list(dict.fromkeys(m.kind for m in transcript))
    rows = {}
    for party in parties:
        got = transcript.received_by(party, broadcasts=broadcasts)
        rows[party] = {kind: sum(m.kind == kind for m in got) for kind in kinds}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=kinds).fillna(0).astype(int)
    table.index.name = "party"
    return table


def table_index(binning: Binning, classes: Sequence, nodes: Sequence[int] = (0,)) -> pd.MultiIndex:
    """Labels of the entries of a flat count table as it is sent (``Binning.flatten`` order).

    Each entry is ``(node, feature, bin, class)``; ``bin`` is written as the
    values it holds, e.g. ``"52 < age <= 56"``, ``"age <= 24"``, ``"age > 80"``.
    """
    labels = []
    for node in nodes:
        for name, edges in binning.edges.items():
            for b in range(len(edges) + 1):
                label = bin_label(name, edges, b)
                for c in classes:
                    labels.append((int(node), name, label, c))
    return pd.MultiIndex.from_tuples(labels, names=["node", "feature", "bin", "class"])


def bin_label(name: str, edges: np.ndarray, b: int) -> str:
    if b == 0:
        return f"{name} <= {edges[0]:g}"
    if b == len(edges):
        return f"{name} > {edges[-1]:g}"
    return f"{edges[b - 1]:g} < {name} <= {edges[b]:g}"


def provider_view(trainer: FederatedTreeTrainer, provider: Provider, *, round: str = "level 0",
                  feature: str | None = None, nonzero: bool = True) -> pd.DataFrame:
    """What ``provider`` holds in one round of a secret-sharing run.

    For every entry of the round's count table: the provider's **own** count
    (recomputed from its records, replaying the splits announced before the
    round -- only the provider itself can do this), the **shares** it received
    from each peer (uniform numbers modulo ``p``) and the **total**, which it
    computes, as everyone does, by adding the published partial sums.

    Parameters
    ----------
    trainer : FederatedTreeTrainer
        Fitted with a :class:`SecretSharingAggregator` and a transcript that
        kept its payloads (the default).
    provider : Provider
        One of the providers it was fitted on (its routing state is replayed,
        which does not change the fitted tree).
    round : str
        ``"level 0"`` (the root), ``"level 1"``...
    feature : str, optional
        Keep the rows of this feature only.
    nonzero : bool
        Keep only the entries whose total is not zero.

    Returns
    -------
    pandas.DataFrame
        Index ``(node, feature, bin, class)`` (:func:`table_index`); columns
        ``own table`` (int), ``share from <peer>`` for each peer (Python ints,
        random) and ``total`` (int).
    """
    msgs, shares, nodes = _round_messages(trainer, provider, round)
    binning, classes = trainer.binning, trainer.classes_
    own = _replay_own_table(trainer, provider, round, nodes)
    total = _published_total(msgs, trainer.aggregator.prime)

    index = table_index(binning, classes, nodes)
    data = {"own table": own.astype(np.int64)}
    for m in shares:
        data[f"share from {m.sender}"] = pd.Series(list(m.payload), dtype=object).to_numpy()
    data["total"] = np.asarray(total, dtype=np.int64)
    view = pd.DataFrame(data, index=index)
    if feature is not None:
        names = binning.feature_names
        if feature not in names:
            raise ValueError(f"unknown feature {feature!r}; the binning has {names}")
        view = view.xs(feature, level="feature", drop_level=False)
    if nonzero:
        view = view[view["total"] != 0]
    return view


def _round_messages(trainer: FederatedTreeTrainer, provider: Provider, round: str
                    ) -> tuple[list, list, list]:
    """The round's messages, the shares ``provider`` received in it, and the nodes it was asked about.

    Raises ``ValueError`` unless the run used secret sharing, kept its
    payloads, has the round, and ``provider`` took part in it.
    """
    if not isinstance(trainer.aggregator, SecretSharingAggregator):
        raise ValueError("provider_view reads a secret-sharing run: fit the trainer with "
                         "SecretSharingAggregator()")
    transcript = trainer.transcript_
    msgs = [m for m in transcript if m.round == round]
    if not msgs:
        rounds = list(dict.fromkeys(m.round for m in transcript))
        raise ValueError(f"no round {round!r} in the transcript (rounds: {rounds})")
    if any(m.payload is None for m in msgs if m.kind in ("share", "partial-sum", "query")):
        raise ValueError("the transcript kept no payloads (Transcript(keep_payloads=True))")
    shares = [m for m in msgs if m.kind == "share" and m.receiver == provider.name]
    if not shares:
        raise ValueError(f"{provider.name!r} received no share in {round!r}: is it one of the "
                         "trainer's providers?")
    queries = [m for m in msgs if m.kind == "query" and m.receiver == provider.name]
    return msgs, shares, list(queries[0].payload)


def _replay_own_table(trainer: FederatedTreeTrainer, provider: Provider, round: str,
                      nodes: list) -> np.ndarray:
    """The provider's own flat count table at ``nodes``: its records routed by the splits before ``round``.

    A split announced as "feature <= threshold" is routed as "bin <= k" with
    ``k`` the index of the threshold among the feature's edges (the
    threshold is the edge :math:`e_k`).
    """
    binning = trainer.binning
    provider.prepare(binning, trainer.classes_)
    names = binning.feature_names
    for m in trainer.transcript_:
        if m.round == round:
            break
        if m.kind == "split" and m.receiver == provider.name:
            routing = {}
            for node, split in m.payload.items():
                f = names.index(split["feature"])
                k = int(np.flatnonzero(binning.edges[split["feature"]] == split["threshold"])[0])
                routing[int(node)] = (f, k, split["left"], split["right"])
            provider.route(routing)
    return binning.flatten(provider.count_tables(nodes)).ravel()


def _published_total(msgs: list, prime: int) -> list[int]:
    """The total everyone computes from the published partial sums :math:`S_j`.

    :math:`T = \\sum_j S_j \\bmod p`, lifted to :math:`[-(p-1)/2, (p-1)/2]`
    (a noisy table may hold negative counts).
    """
    partial = [m.payload for m in msgs if m.kind == "partial-sum"]
    total = [sum(col) % prime for col in zip(*partial, strict=True)]
    return [v - prime if v > prime // 2 else v for v in total]


# --------------------------------------------------------------------- back-ends
def backend_label(aggregator: Aggregator) -> str:
    """A short name: ``"plain"``, ``"secret sharing"``, ``"paillier 2048"`` (``", unpacked"``)."""
    if isinstance(aggregator, PaillierAggregator):
        return (f"paillier {aggregator.public_key.bits}"
                + ("" if aggregator.pack else ", unpacked"))
    return aggregator.name


def compare_backends(providers: Sequence[Provider], binning: Binning, max_depth: int | None,
                     backends: Mapping[str, Aggregator] | Sequence[Aggregator], *,
                     return_trainers: bool = False, **trainer_kwargs):
    """Train the same tree once per back-end and tabulate what each run cost.

    Parameters
    ----------
    providers : sequence of Provider
    binning : Binning
    max_depth : int or None
    backends : mapping or sequence
        ``{label: aggregator}``, or aggregators labelled by :func:`backend_label`.
        Build them beforehand: a Paillier key generation is not part of the
        measured time.
    return_trainers : bool
        Also return ``{label: fitted trainer}``.
    **trainer_kwargs
        Passed to :class:`FederatedTreeTrainer` (``min_samples_split``...).

    Returns
    -------
    pandas.DataFrame
        One row per back-end (index ``backend``), columns ``seconds`` (wall
        time of ``fit``: varies from run to run), ``messages``, ``bytes``
        (everything on the wire), ``bytes per provider`` (the most any one
        provider sent), ``rounds``, ``nodes`` and ``same tree`` (the tree
        equals the first back-end's, node for node).
    dict
        Only with ``return_trainers=True``.
    """
    if isinstance(backends, Mapping):
        items = list(backends.items())
    else:
        items = [(backend_label(agg), agg) for agg in backends]
    if not items:
        raise ValueError("no back-end to compare")
    labels = [label for label, _ in items]
    if len(set(labels)) != len(labels):
        raise ValueError(f"back-end labels must be distinct, got {labels}: pass a mapping")
    names = [p.name for p in providers]
    rows, trainers, reference = [], {}, None
    for label, agg in items:
        trainer = FederatedTreeTrainer(max_depth, binning, agg, **trainer_kwargs)
        start = time.perf_counter()
        tree = trainer.fit(providers)
        seconds = time.perf_counter() - start
        t = trainer.transcript_
        nodes = tree.to_dict()["nodes"]
        reference = nodes if reference is None else reference
        rows.append({"backend": label, "seconds": seconds, "messages": len(t),
                     "bytes": t.total_bytes,
                     "bytes per provider": max(sum(m.size for m in t.sent_by(n)) for n in names),
                     "rounds": trainer.n_rounds_, "nodes": len(nodes), "same tree": nodes == reference})
        trainers[label] = trainer
    df = pd.DataFrame(rows).set_index("backend")
    return (df, trainers) if return_trainers else df


def _human(n: float) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def plot_backend_cost(df: pd.DataFrame, *,
                      title: str = "The cost of one federated training, per back-end") -> Figure:
    """Bytes on the wire and training time per back-end (the output of :func:`compare_backends`).

    Two panels with horizontal bars on logarithmic axes: bytes (all messages,
    and the most one provider sent) and seconds.  The bytes do not depend on
    the run; the seconds do.

    Returns
    -------
    matplotlib.figure.Figure
    """
    for col in ("bytes", "bytes per provider", "seconds"):
        if col not in df.columns:
            raise ValueError(f"missing column {col!r}: pass the output of compare_backends")
    labels = [str(i) for i in df.index]
    y = np.arange(len(labels))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 1.4 + 0.55 * len(labels)), layout="constrained")
    ax_b, ax_t = fig.subplots(1, 2, sharey=True)
    h = 0.38
    total = df["bytes"].to_numpy(dtype=float)
    per = df["bytes per provider"].to_numpy(dtype=float)
    ax_b.barh(y - h / 2, total, height=h, color=_NEUTRAL, label="all messages")
    ax_b.barh(y + h / 2, per, height=h, color=CLASS_COLOURS[0], label="sent by one provider (max)")
    for k in range(len(labels)):
        ax_b.annotate(_human(total[k]), (total[k], y[k] - h / 2), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=8)
        ax_b.annotate(_human(per[k]), (per[k], y[k] + h / 2), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=8)
    ax_b.set_xscale("log")
    ax_b.set_xlim(min(per.min(), total.min()) / 2, max(total.max(), per.max()) * 8)
    ax_b.set_yticks(y, labels)
    ax_b.invert_yaxis()
    ax_b.set_xlabel("bytes (log scale)")
    ax_b.set_ylabel("back-end")
    ax_b.set_title("Bytes on the wire")
    ax_b.legend(loc="upper right", fontsize=8)

    seconds = df["seconds"].to_numpy(dtype=float)
    ax_t.barh(y, seconds, height=0.6, color=CLASS_COLOURS[1])
    for k in range(len(labels)):
        ax_t.annotate(f"{seconds[k]:.3g} s", (seconds[k], y[k]), xytext=(3, 0),
                      textcoords="offset points", va="center", fontsize=8)
    ax_t.set_xscale("log")
    positive = seconds[seconds > 0]
    low = positive.min() / 2 if positive.size else 1e-3
    ax_t.set_xlim(low, max(seconds.max(), low) * 8)
    ax_t.set_xlabel("seconds to train (log scale, varies by machine)")
    ax_t.set_title("Training time")
    for ax in (ax_b, ax_t):
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    fig.suptitle(title)
    return fig


# ------------------------------------------------------------- tree comparison
def decisive_ties(trainer: FederatedTreeTrainer, margin: float = TIE_MARGIN) -> list[SplitRecord]:
    """The splits chosen by the tie-break rule (score lead over the runner-up ``<= margin``).

    At such a node scikit-learn may pick the other candidate (its choice
    depends on its random feature permutation), so a node-for-node comparison
    is only meaningful when this list is empty.
    """
    return [s for s in trainer.splits_ if not s.margin > margin]


def tree_differences(trainer: FederatedTreeTrainer, sklearn_tree, X: pd.DataFrame | None = None
                     ) -> list[str]:
    """Every difference between the federated tree and scikit-learn's on the pooled binned data.

    ``sklearn_tree`` is a :class:`~sklearn.tree.DecisionTreeClassifier` (or a
    :class:`~encmed_lib.tree.PortableTree`) fitted on ``trainer.binning.transform(X_pooled)``.
    Compared node for node, as ``tests/test_federated.py`` does: shape
    (feature, children), sample counts, class fractions and counts, impurity;
    for internal nodes the threshold in bin space (``(lo + hi) / 2``) and, on
    the raw tree, the edge ``binning.threshold(feature, floor(t))``.  With
    ``X`` (raw records), the predictions are compared too (the federated tree
    on raw records, sklearn's on their bins).

    Returns
    -------
    list of str
        Empty when the trees are the same; otherwise one line per difference.
    """
    ref = as_portable(sklearn_tree)
    fed, raw, binning = trainer.binned_tree_, trainer.tree_, trainer.binning
    out = []
    if list(ref.feature_names) != list(fed.feature_names):
        out.append(f"features: sklearn {ref.feature_names} vs federated {fed.feature_names}")
    if [_plain(c) for c in ref.classes] != [_plain(c) for c in fed.classes]:
        out.append(f"classes: sklearn {ref.classes} vs federated {fed.classes}")
    if len(ref.nodes) != len(fed.nodes):
        out.append(f"sklearn has {len(ref.nodes)} nodes, the federated tree {len(fed.nodes)}")
        return out
    for a, b, r in zip(ref.nodes, fed.nodes, raw.nodes, strict=True):
        where = f"node {a.id}"
        if (a.feature, a.left, a.right) != (b.feature, b.left, b.right):
            out.append(f"{where}: sklearn splits on {a.feature} (children {a.left}, {a.right}), "
                       f"federated on {b.feature} ({b.left}, {b.right})")
            continue
        if a.n_samples != b.n_samples or a.weighted_n_samples != b.weighted_n_samples:
            out.append(f"{where}: {a.n_samples} records in sklearn, {b.n_samples} federated")
        if not np.allclose(a.value, b.value, rtol=0, atol=1e-15):
            out.append(f"{where}: class fractions {a.value} vs {b.value}")
        if not np.allclose(a.counts, b.counts, rtol=0, atol=1e-9):
            out.append(f"{where}: class counts {a.counts} vs {b.counts}")
        if abs(a.impurity - b.impurity) > 1e-15:
            out.append(f"{where}: impurity {a.impurity!r} vs {b.impurity!r}")
        if not a.is_leaf:
            if a.threshold != b.threshold:
                out.append(f"{where}: bin threshold {a.threshold} vs {b.threshold}")
            else:
                edge = binning.threshold(a.feature, math.floor(a.threshold))
                if r.threshold != edge:
                    out.append(f"{where}: raw threshold {r.threshold} vs edge {edge}")
    if X is not None and not out:
        sk = ref.to_sklearn()
        B = binning.transform(X)
        expected = sk.predict(B)
        for name, pred in (("raw tree", trainer.predict(X)),
                           ("binned tree", trainer.predict_binned(X))):
            n = int(np.sum(np.asarray(pred) != expected))
            if n:
                out.append(f"the federated {name} predicts differently on {n} of {len(X)} records")
    return out


def same_tree(trainer: FederatedTreeTrainer, sklearn_tree, X: pd.DataFrame | None = None) -> bool:
    """True when :func:`tree_differences` finds nothing: the same tree, node for node."""
    return not tree_differences(trainer, sklearn_tree, X)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
