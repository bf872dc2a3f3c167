"""What every attack shares: the client's view of the server, and the scoring helpers.

An attack sees only what a curious client legitimately has: its
:class:`~encmed_lib.Client` (the keys), the records it chose, the replies and
public knowledge.  The server is a black box, an ``oracle`` ``query -> reply``.
The true thresholds are read only by the **scoring** helpers of this module
(:func:`true_thresholds`, :func:`threshold_errors`, :func:`threshold_recovery_rate`),
never by an attack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..crypto.encoding import SCALE, encode_threshold, encode_value
from ..protocol.client import record_items
from ..protocol.linear import INPUT_FRAC_BITS, LinearServer, encode_weight
from ..protocol.messages import BLIND_BITS, Query, Reply
from ..tree import as_portable

R_BOUND = 1 << BLIND_BITS
"""The multiplicative blind satisfies ``1 <= r < R_BOUND = 2**21`` (public)."""

Oracle = Callable[[Query], Reply]
"""The server as the client sees it: ``reply = oracle(query)``."""

Candidate = tuple[str, float]
"""A public guess ``(feature, threshold)`` for one node."""


def record_dict(record) -> dict[str, float]:
    """``{feature: value}`` of a record (pandas Series, dict or one-row DataFrame)."""
    return dict(record_items(record))


def encoded_record(record) -> dict[str, int]:
    """``{feature: X_f}`` as the client encodes it (:func:`~encmed_lib.crypto.encoding.encode_value`)."""
    return {name: encode_value(value, name) for name, value in record_items(record)}


# ---------------------------------------------------------- ground truth
def _server_tree(server):
    """The server's tree (a :class:`PortableTree`): for the scoring helpers only."""
    return as_portable(server.tree if hasattr(server, "tree") else server)


def true_thresholds(server) -> list[tuple[str, float]]:
    """Ground truth: ``(feature, threshold)`` of every internal node, in slot order.

    **Scoring only**: an attack never calls this.  ``server`` is a
    :class:`~encmed_lib.TreeServer`, a fitted tree or a :class:`PortableTree`.
    """
    return [(n.feature, float(n.threshold)) for n in _server_tree(server).internal_nodes()]


def threshold_errors(recovered: Mapping[int, float], server) -> np.ndarray:
    """Signed errors ``recovered - true`` in slot order (NaN where nothing was recovered).

    **Scoring only**: reads the server's true thresholds.
    """
    truth = true_thresholds(server)
    return np.array([recovered[j] - t if recovered.get(j) is not None else np.nan
                     for j, (_, t) in enumerate(truth)], dtype=float)


def threshold_recovery_rate(recovered: Mapping[int, float], server, tol: float = 1e-6) -> float:
    """Fraction of the server's thresholds recovered within ``tol`` (missing ones count as failures).

    **Scoring only**.  ``1.0`` means every threshold of the model is known.
    """
    err = threshold_errors(recovered, server)
    if err.size == 0:
        return 1.0
    return float(np.mean(np.nan_to_num(np.abs(err), nan=np.inf) <= tol))


# ------------------------------------------------------------ a result type
@dataclass
class ThresholdRecovery:
    """What one attack on the thresholds recovered, node by node.

    Attributes
    ----------
    attack : str
        Its name (``"sieve"``, ``"lattice"``, ``"out-of-domain"``, ...).
    queries : int
        Replies the attacker used.
    nodes : list
        Per internal node (slot order): the recovered ``(feature, T)``, with
        :math:`T = \\lfloor t\\,2^{26} \\rfloor` the encoded threshold the
        server compares with, or ``None`` where the attack did not decide.
    status : str
        ``"done"``, or ``"refused"`` when the server refused the query (the
        defence worked), ``"failed"`` when it broke in another way.
    detail : str
        The refusal's exception and message, or notes (e.g. survivors per node).
    blinds : list or None
        The server's blinds ``(r_j, s_j)`` where the attack recovered them too.
    """

    attack: str
    queries: int
    nodes: list[tuple[str, int] | None] = field(default_factory=list)
    status: str = "done"
    detail: str = ""
    blinds: list[tuple[int, int]] | None = None

    @property
    def n_recovered(self) -> int:
        """Nodes with a recovered ``(feature, threshold)``."""
        return sum(node is not None for node in self.nodes)

    @property
    def thresholds(self) -> dict[int, float]:
        """Slot -> recovered threshold in feature units (:math:`T / 2^{26}`), for the scoring helpers."""
        return {j: node[1] / SCALE for j, node in enumerate(self.nodes) if node is not None}

    def exact(self, server) -> list[bool]:
        """**Scoring only**: per node, whether feature *and* encoded threshold are the server's."""
        truth = true_thresholds(server)
        if not self.nodes:
            return [False] * len(truth)
        return [node is not None and node == (f, encode_threshold(t))
                for node, (f, t) in zip(self.nodes, truth, strict=True)]

    def summary(self, server=None) -> dict:
        """One line of numbers: queries, nodes recovered, distinct (feature, threshold) pairs, exact ones."""
        out = {"attack": self.attack, "status": self.status, "queries": self.queries,
               "nodes": len(self.nodes), "recovered": self.n_recovered,
               "distinct": len({node for node in self.nodes if node is not None})}
        if server is not None:
            exact = self.exact(server)
            out["exact"] = sum(exact)
            out["distinct exact"] = len({node for node, ok in zip(self.nodes, exact, strict=True) if ok})
        return out

    def table(self, server=None) -> pd.DataFrame:
        """One row per node: what was recovered (and, with ``server``, the truth: scoring only)."""
        rows = [{"slot": j, "feature": None if node is None else node[0],
                 "threshold": None if node is None else node[1] / SCALE}
                for j, node in enumerate(self.nodes)]
        df = pd.DataFrame(rows, columns=["slot", "feature", "threshold"])
        if server is not None and self.nodes:
            truth = true_thresholds(server)
            df["true feature"] = [f for f, _ in truth]
            df["true threshold"] = [t for _, t in truth]
            df["exact"] = self.exact(server)
        return df


@dataclass
class WeightRecovery:
    """What :func:`malformed_modulus_linear` recovered: fixed-point weights :math:`W_i = w_i 2^{64}`."""

    attack: str
    queries: int
    status: str = "done"
    detail: str = ""
    W: dict[str, int | None] = field(default_factory=dict)
    key_bits: int = 0

    @property
    def coef(self) -> dict[str, float | None]:
        """The weights in model units, :math:`W_i / 2^{64}`."""
        return {f: None if W is None else W / 2.0 ** INPUT_FRAC_BITS for f, W in self.W.items()}

    def exact(self, server: LinearServer) -> list[bool]:
        """**Scoring only**: per model feature, whether :math:`W_i` equals the server's exactly."""
        return [self.W.get(f) == encode_weight(w)
                for f, w in zip(server.feature_names, server.coef, strict=True)]


def identify_feature(d: int, encoded: Mapping[str, int]) -> tuple[str, int]:
    """The node's ``(feature, T)`` from a recovered difference :math:`d = T - X_f`.

    Each feature of the attacker's record sits at its own encoded value
    :math:`X_f`, the values ``2**11`` feature units apart by default
    (:func:`~encmed_lib.attacks.edge_record`).  Every candidate feature gives
    :math:`T = d + X_f`; the public assumption :math:`|t| < 2^{10}` (true of the
    heart and Synthea thresholds; a wider feature needs a wider ``spacing``)
    leaves one: the feature whose :math:`T` is smallest in absolute value.
    """
    f = min(encoded, key=lambda name: abs(d + encoded[name]))
    return f, d + encoded[f]
