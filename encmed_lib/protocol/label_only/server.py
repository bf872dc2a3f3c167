r"""Label-only mode, server side: DGK comparisons at every node, then Tai et al.'s path costs.

After Tai, Ma, Chow and Yu, *Privacy-preserving decision trees evaluation via linear functions*
(ESORICS 2017), with the comparison of Damgård, Geisler and Krøigaard (2007).  The client holds
the record, the server the tree; features travel as :math:`\ell`-bit grid codes of the public
schema (:mod:`encmed_lib.data.schema`), thresholds are codes :math:`T_j` of the same grid, and
:math:`x \le T_j` holds exactly when scikit-learn sends the record left.

Round 1 (:class:`~.messages.LabelQuery`).  The client sends :math:`E(x_{f,i})` for every bit of
every feature's code under its own DGK key (:mod:`encmed_lib.crypto.dgk`), each with a proof
that it encrypts 0 or 1.  The server refuses the whole query unless every proof verifies.

Round 2 (:class:`~.messages.Comparisons`).  For node :math:`j` on feature :math:`f` the server
draws a secret sign :math:`s_j \in \{-1, +1\}` and compares with
:math:`y = T_j` (:math:`s_j = -1`) or :math:`y = T_j + 1` (:math:`s_j = +1`).  For every bit
position :math:`i < L` (the schema's widest code, so all groups have the same width)

.. math:: c_i = s_j + x_i - y_i + 3 \sum_{k > i} (x_k \oplus y_k),
          \qquad x_k \oplus y_k = x_k \text{ if } y_k = 0 \text{ else } 1 - x_k,

computed on ciphertexts.  Some :math:`c_i` is zero exactly when :math:`x > y` (for
:math:`s_j=-1`) or :math:`x < y` (for :math:`s_j=+1`): the first differing bit, from the top, has
:math:`x_i - y_i = -s_j`.  So the client's bit :math:`\delta_j = [\exists i: c_i = 0]` satisfies
:math:`\delta_j = [x > T_j]` or :math:`[x \le T_j]`: with :math:`s_j` uniform, a uniform bit
whatever the record, and the comparison result is :math:`b_j = [x \le T_j] = \delta_j` or
:math:`1 - \delta_j`, XOR-shared.  Every :math:`E(c_i)` is *blinded*, raised to a uniform
:math:`r \in [1, u)` and multiplied by the server's own uniform :math:`w^u`
(:meth:`~encmed_lib.crypto.dgk.DGKPublicKey.blind`): the client learns only whether
:math:`c_i = 0` (:math:`|c_i| \le 3L + 2 < u`, so zero mod :math:`u` means zero).  Values are
shuffled within a group, groups in a random node order.

Round 3 (:class:`~.messages.Answers`).  The client returns :math:`E(\delta_k)` per group, each
with a bit proof.  Bits proven, a cheating client can only flip comparisons it cannot name.

Round 4 (:class:`~.messages.LabelReply`).  The server turns the shares into :math:`E(b_j)`
(:math:`E(\delta)` or :math:`g\,E(\delta)^{-1}`), and for every leaf the path cost
:math:`\mathrm{cost}_\ell = \sum_{\text{left turns}} (1 - b_j) + \sum_{\text{right turns}} b_j`,
zero for exactly the leaf the record reaches.  It sends each leaf as
:math:`E(\mathrm{label}_\ell + \rho_\ell\,\mathrm{cost}_\ell)` (blinded: :math:`\rho_\ell`
uniform in :math:`[1, u)`), shuffled.  The client finds the one leaf whose value is a class
index; any other leaf's value is uniform among the :math:`u - 1` others.

**What the client learns**: the label, and the public sizes (number of comparisons, of leaves,
the width :math:`L`, the class names).  Its whole view (group zero-counts, blinded values, leaf
values) has the same distribution for any two trees of the same sizes.  **What the server
learns**: nothing (DGK ciphertexts under the client's key, bit proofs are zero-knowledge).
**Security model**: the client may deviate (non-bits are refused by the proofs; out-of-domain
codes are just other :math:`\ell`-bit inputs; flipping answers gives the label of another leaf,
one label per query); the server is semi-honest (a cheating server can return a wrong label).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

import gmpy2

from ...crypto.dgk import MAX_KEY_BITS, DGKPublicKey, RandomiserPool, verify_bits
from ...data.schema import DatasetSpec, schema_for
from ...errors import KeyMismatchError, MalformedMessageError, QueryMismatchError
from ...tree import as_portable, ensure_fitted
from ..messages import Query
from .layout import build_layout
from .messages import Answers, Comparisons, LabelQuery, LabelReply, answer_context, parse, query_context

_system_random = random.SystemRandom()


class DGKKeys:
    """The client DGK keys a server has met, checked once, each with the server's own ``w^u`` pool.

    :meth:`lookup` checks a key without caching it; :meth:`remember` caches it once the message
    carrying it has passed every check, so a rejected message leaves the cache as it was.
    """

    def __init__(self, limit: int = 64, max_bits: int = MAX_KEY_BITS):
        self.limit, self.max_bits = limit, max_bits
        self._keys: dict[tuple, tuple[DGKPublicKey, RandomiserPool]] = {}

    @staticmethod
    def _ident(data) -> tuple | None:
        return tuple(data.get(k) for k in ("n", "g", "u")) if isinstance(data, dict) else None

    def lookup(self, data: dict) -> tuple[DGKPublicKey, RandomiserPool]:
        """The checked key (public checks before any arithmetic) and a pool, cached or new."""
        known = self._keys.get(self._ident(data))
        if known is not None:
            return known
        key = DGKPublicKey.from_dict(data, max_bits=self.max_bits)
        return key, RandomiserPool(key)

    def remember(self, data: dict, entry: tuple[DGKPublicKey, RandomiserPool]) -> None:
        ident = self._ident(data)
        if ident not in self._keys:
            if len(self._keys) >= self.limit:
                self._keys.pop(next(iter(self._keys)))
            self._keys[ident] = entry

    def key(self, data: dict) -> tuple[DGKPublicKey, RandomiserPool]:
        """:meth:`lookup` then :meth:`remember` (for keys the server is given directly)."""
        entry = self.lookup(data)
        self.remember(data, entry)
        return entry


@dataclass
class _Pending:
    key: DGKPublicKey
    pool: RandomiserPool
    order: list[int]   # group k carries comparison order[k]
    signs: list[int]   # s_j per comparison


class LabelOnlyServer:
    r"""Evaluate a tree so that the client learns only the label (``TreeServer(tree, mode="label-only")``).

    Parameters
    ----------
    tree : DecisionTreeClassifier or PortableTree
    schema : DatasetSpec, optional
        The public grid the features travel on; default the known schema covering the
        tree's features (:func:`~encmed_lib.data.schema.schema_for`).
    depth : int, optional
        Pad to a complete tree of this public depth (hides the shape, costs :math:`2^D`).
        Default: the tree's own nodes (their number is public).
    max_pending : int
        Queries that may wait for their answers at once (the oldest is dropped beyond it).
    max_key_bits : int
        The largest client key accepted (a cap on the server's work per query).
    """

    mode = "label-only"

    def __init__(self, tree, *, schema: DatasetSpec | None = None, depth: int | None = None,
                 max_pending: int = 1024, max_key_bits: int = MAX_KEY_BITS, mode: str = "label-only"):
        if not hasattr(tree, "nodes"):
            ensure_fitted(tree)
        self.tree = as_portable(tree)
        self.schema = schema if schema is not None else schema_for(self.tree.feature_names)
        self.layout = build_layout(self.tree, self.schema, depth)
        self.depth = depth
        self.width = self.schema.bits
        self.max_pending = max_pending
        self.keys = DGKKeys(max_bits=max_key_bits)
        self._pending: dict[str, _Pending] = {}

    # -- what is public ----------------------------------------------------
    @property
    def classes(self) -> list:
        return list(self.tree.classes)

    def public_sizes(self) -> dict:
        """What the client learns besides the label: counts, width, classes, schema."""
        return {"comparisons": self.layout.n_comparisons, "leaves": self.layout.n_leaves,
                "width": self.width, "classes": self.classes, "schema_id": self.schema.schema_id,
                "padded_depth": self.depth}

    def randomisers_per_query(self) -> int:
        """Server randomisers :math:`w^u` one query uses: one per blinded value and per leaf."""
        return self.layout.n_comparisons * self.width + self.layout.n_leaves

    def precompute(self, public_key: dict, count: int) -> None:
        """Draw ``count`` randomisers for a client's DGK key (``{"n", "g", "u"}``) ahead of its patients."""
        self.keys.key(public_key)[1].fill(count)

    # -- round 1 -> 2 ------------------------------------------------------
    def _checked_query(self, query) -> tuple[LabelQuery, DGKPublicKey, RandomiserPool]:
        if isinstance(query, Query):
            raise MalformedMessageError("label-only mode needs a lo-query (DGK-encrypted bits), not a "
                                        "basic-mode query: use client.encrypt_label_only(record, "
                                        "server.schema) or em.predict_label_only(client, server, record)")
        query = parse(query, LabelQuery)
        key, pool = self.keys.lookup(query.public_key)
        if query.key_id != key.key_id or query.key_bits != key.bits:
            raise KeyMismatchError("the lo-query's key_id/key_bits do not match its public key")
        if query.schema_id != self.schema.schema_id or query.features != self.schema.names:
            raise MalformedMessageError(
                f"this server compares on the {self.schema.schema_id} schema: the query must carry its "
                f"features {self.schema.names} in that order (got {query.schema_id!r}, {query.features})")
        for spec, bits in zip(self.schema.features, query.bits, strict=True):
            if len(bits) != spec.bits:
                raise MalformedMessageError(f"feature {spec.name!r} needs {spec.bits} encrypted bits, "
                                            f"got {len(bits)}")
        cts, proofs, contexts = [], [], []
        for name, bits, row in zip(query.features, query.bits, query.proofs, strict=True):
            for i, (c, proof) in enumerate(zip(bits, row, strict=True)):
                cts.append(c)
                proofs.append(proof)
                contexts.append(query_context(query.query_id, name, i))
        verify_bits(key, cts, proofs, contexts)
        self.keys.remember(query.public_key, (key, pool))  # cached only once every check has passed
        return query, key, pool

    def evaluate(self, query) -> Comparisons:
        """Round 2: the blinded, shuffled DGK comparisons of every node for one query."""
        query, key, pool = self._checked_query(query)
        if query.query_id in self._pending:
            raise QueryMismatchError(f"query {query.query_id} is already being answered: a query id is "
                                     "used once")
        bits = dict(zip(query.features, query.bits, strict=True))
        inverses = {f: [gmpy2.invert(c, key.n) for c in cs] for f, cs in bits.items()}
        n_cmp = self.layout.n_comparisons
        order = list(range(n_cmp))
        _system_random.shuffle(order)
        signs = [secrets.choice((-1, 1)) for _ in range(n_cmp)]
        g_pow = {e: key.add_plain(1, e) for e in (-2, -1, 0, 1)}  # g^(s - y_i)
        groups = []
        for j in order:
            f = self.layout.features[j]
            y = self.layout.codes[j] + (1 if signs[j] > 0 else 0)
            group = self._compare(key, pool, bits[f], inverses[f], y, signs[j], g_pow)
            _system_random.shuffle(group)
            groups.append(group)
        if len(self._pending) >= self.max_pending:
            self._pending.pop(next(iter(self._pending)))
        self._pending[query.query_id] = _Pending(key, pool, order, signs)
        return Comparisons(query.query_id, key.key_id, key.bits, [[int(c) for c in g] for g in groups],
                           self.classes)

    def _compare(self, key: DGKPublicKey, pool, x_bits: list, x_inverses: list, y: int, s: int,
                 g_pow: dict) -> list:
        r"""Blinded :math:`E(c_i)` for :math:`i < L` (bits of ``x`` above its width are 0)."""
        n, g = key.n, key.g
        acc = gmpy2.mpz(1)  # E(sum_{k > i} x_k XOR y_k)
        out = []
        for i in reversed(range(self.width)):
            y_i = (y >> i) & 1
            x_i = x_bits[i] if i < len(x_bits) else gmpy2.mpz(1)  # E(0), no randomness: blinded below
            c = g_pow[s - y_i] * x_i % n * (acc * acc % n * acc) % n
            out.append(key.blind(c, pool.take()))
            xor = x_i if not y_i else (g * (x_inverses[i] if i < len(x_bits) else 1) % n)
            acc = acc * xor % n
        return out

    # -- round 3 -> 4 ------------------------------------------------------
    def finish(self, answers) -> LabelReply:
        """Round 4: from the client's proven answer bits, one masked ciphertext per leaf."""
        answers = parse(answers, Answers)
        state = self._pending.get(answers.query_id)
        if state is None:
            raise QueryMismatchError(f"no comparisons are pending for query {answers.query_id}: send the "
                                     "query first (evaluate), and the answers only once")
        key = state.key
        if answers.key_id != key.key_id:
            raise KeyMismatchError("these answers are under a different key than the query's")
        if len(answers.answers) != len(state.order):
            raise MalformedMessageError(f"expected {len(state.order)} answers, got {len(answers.answers)}")
        verify_bits(key, answers.answers, answers.proofs,
                    [answer_context(answers.query_id, k) for k in range(len(state.order))])
        del self._pending[answers.query_id]  # only a fully valid message consumes the state
        n, g = key.n, key.g
        went_left = [None] * len(state.order)  # E(b_j), b_j = [x <= T_j]
        for k, a in enumerate(answers.answers):
            j = state.order[k]
            went_left[j] = a if state.signs[j] > 0 else g * gmpy2.invert(a, n) % n
        went_right = [g * gmpy2.invert(c, n) % n for c in went_left]  # E(1 - b_j)
        leaves = []
        for label, path in zip(self.layout.leaf_class, self.layout.paths, strict=True):
            cost = gmpy2.mpz(1)
            for j, left in path:  # one wrong turn costs 1
                cost = cost * (went_right[j] if left else went_left[j]) % n
            leaves.append(int(key.add_plain(key.blind(cost, state.pool.take()), label)))
        _system_random.shuffle(leaves)
        return LabelReply(answers.query_id, key.key_id, key.bits, leaves, self.classes)
