"""Label-only mode: the client learns the diagnosis and (almost) nothing about the model.

In basic mode the client sees the tree's shape and every comparison's outcome.
This mode, after Tai et al. (*Privacy-preserving decision trees evaluation via
linear functions*, ESORICS 2017), uses Paillier only and one extra round:

1. client -> server: the encrypted record (the same :class:`~.messages.Query`).
2. server -> client (:class:`~.messages.Comparisons`): the tree is first padded
   to a *complete* tree of a public depth :math:`D` (dummy nodes below shallow
   leaves, whose leaves repeat the label), so the node count says nothing.  For
   every node :math:`j` the server computes
   :math:`v_j = \\sigma_j\\,(2(r_j d_j + s_j) + 1)` with a secret random sign
   :math:`\\sigma_j \\in \\{+1, -1\\}`: odd, so never zero, and flipping it is exact
   at ties.  The values go out packed, in a fresh random order.
3. client -> server (:class:`~.messages.Bits`): :math:`E(b_k)` with
   :math:`b_k = [w_k > 0]` for each received value, encrypted under the client's
   own key.
4. server: undoes the order and the flips homomorphically
   (:math:`E(c_j) = E(b)` or :math:`E(1)\\,E(b)^{-1}`, with :math:`c_j = [x \\le t_j]`)
   and computes each leaf's *path cost*, the number of wrong turns on its path:
   :math:`\\sum_{\\text{left turns}} (1 - c_j) + \\sum_{\\text{right turns}} c_j`, zero
   for exactly one leaf.  It sends each leaf as
   :math:`E(\\rho_\\ell\\,\\mathrm{cost}_\\ell)` and
   :math:`E(\\mathrm{label}_\\ell + u_\\ell\\,\\mathrm{cost}_\\ell)` with
   :math:`\\rho_\\ell \\in \\mathbb{Z}_n^*` and :math:`u_\\ell \\in \\mathbb{Z}_n`
   random, leaves shuffled (:class:`~.messages.LabelReply`).
5. client: decrypts; the one leaf with cost zero carries the label; every other
   pair is uniformly random.

**Security model: semi-honest** (both parties follow the protocol and try to
learn more from what they see).  The server sees only ciphertexts under the
client's key.  The client sees: the public depth :math:`D`, the class names,
:math:`2^D - 1` comparison values in random order with uniformly random signs,
and the leaf pairs.  **What remains**: each comparison value's *magnitude*
still carries a rough :math:`|T_j - X_f|` (about 40 bits of blinding hide its
low bits, not its size), unordered and unlabelled by feature; a client that
varies its own record across many queries can still probe those magnitudes.
**A cheating client** could send values other than bits in step 3 (e.g.
:math:`E(2^{20})`): the path costs then encode its choice and reveal more than
one leaf's label, or which comparisons went which way.  Defences (zero-knowledge
proofs that each :math:`E(b_k)` encrypts 0 or 1, or server-side randomisation of
the bit encoding) are beyond this course; a malicious *server* can likewise
return a wrong label, and nothing here detects it.
"""

from __future__ import annotations

import random
import secrets

import gmpy2

from ..crypto.encoding import encode_threshold
from ..errors import MalformedMessageError, ProtocolError, QueryMismatchError
from .messages import BLIND_BITS, LABEL_SLOT_BITS, Bits, Comparisons, LabelReply, Query, slots_per_pack
from .server import TreeServer, pack_ciphertexts

_system_random = random.SystemRandom()


def _shuffled(n: int) -> list[int]:
    order = list(range(n))
    _system_random.shuffle(order)
    return order


class LabelOnlyServer(TreeServer):
    r"""A :class:`TreeServer` in label-only mode (``TreeServer(tree, mode="label-only")``).

    Parameters
    ----------
    tree : DecisionTreeClassifier or PortableTree
    depth : int, optional
        The public depth :math:`D` of the padded complete tree; default the
        tree's own depth.  A larger ``D`` hides the real depth too, at a cost
        that doubles with each level.
    max_pending : int
        How many queries may wait for their bits at once (state is kept per query).
    compact : bool
        Send one ciphertext per leaf, :math:`E(\mathrm{label} + u\,\mathrm{cost})`,
        instead of the pair.  The client recognises the right leaf because its
        value is a class index (below the number of classes): any other leaf's
        value is uniform in :math:`\mathbb{Z}_n`, so it falls there with
        probability ``n_classes / n`` (about :math:`2^{-2000}`).  Same labels, half
        the server's exponentiations and randomisers and half the client's
        decryptions (the profiled dominant cost of this mode).
    """

    mode = "label-only"

    def __init__(self, tree, *, depth: int | None = None, max_pending: int = 1024, compact: bool = False,
                 **kwargs):
        kwargs.pop("mode", None)
        super().__init__(tree, mode="basic", **kwargs)
        self.compact = compact
        real_depth = self.tree.depth
        self.depth = real_depth if depth is None else int(depth)
        if self.depth < max(real_depth, 1):
            raise ValueError(f"the public depth must be at least the tree's depth ({real_depth}) and 1, "
                             f"got {self.depth}")
        self.max_pending = max_pending
        self._pending: dict[str, tuple] = {}
        self._pad()

    # -- the padded complete tree -----------------------------------------
    def _pad(self) -> None:
        """Lay the tree out as a complete tree of depth D in heap order (children 2j+1, 2j+2)."""
        D = self.depth
        n_internal = (1 << D) - 1
        self.node_feature: list[str] = [""] * n_internal
        self.node_T: list[int] = [0] * n_internal
        self.node_dummy: list[bool] = [False] * n_internal
        self.leaf_class: list[int] = [0] * (1 << D)
        classes = list(self.tree.classes)
        thresholds = [(n.feature, n.threshold) for n in self._internal]
        if not thresholds:  # a single-leaf tree: dummy comparisons on any feature
            thresholds = [(self.tree.feature_names[0], 0.0)]

        def place(node_id: int, heap: int, level: int) -> None:
            node = self.tree.nodes[node_id]
            if level == D:
                self.leaf_class[heap - n_internal] = classes.index(self.tree.leaf_label(node_id))
                return
            if node.is_leaf:
                feature, threshold = secrets.choice(thresholds)
                self.node_dummy[heap] = True
                left = right = node_id
            else:
                feature, threshold, left, right = node.feature, node.threshold, node.left, node.right
            self.node_feature[heap] = feature
            self.node_T[heap] = encode_threshold(threshold)
            place(left, 2 * heap + 1, level + 1)
            place(right, 2 * heap + 2, level + 1)

        place(0, 0, 0)
        used = set(self.node_feature)
        self._needed = [f for f in self.tree.feature_names if f in used]

    @property
    def required_features(self) -> list[str]:
        return self._needed

    def randomisers_per_query(self, key_bits: int) -> int:
        """Re-randomisers per query: one per comparison pack, two per leaf."""
        per = slots_per_pack(key_bits, LABEL_SLOT_BITS)
        return -(-len(self.node_T) // per) + (1 if self.compact else 2) * len(self.leaf_class)

    # -- round 1 -----------------------------------------------------------
    def evaluate(self, query: Query | str) -> Comparisons:
        """Round 1: the shuffled, sign-flipped comparisons for one query."""
        if not isinstance(query, Query):
            query = Query.from_json(query)
        key, negated = self.encrypted_inputs(query)
        n, n2 = key.n, key.nsquare
        offset = 1 << (LABEL_SLOT_BITS - 1)
        count = len(self.node_T)
        signs = [secrets.choice((1, -1)) for _ in range(count)]
        order = _shuffled(count)  # position k carries node order[k]
        originals: dict[str, object] = {}
        values = []
        for j in order:
            r = 1 + secrets.randbelow((1 << BLIND_BITS) - 1)
            s = secrets.randbelow(r)
            f, sign = self.node_feature[j], signs[j]
            if sign > 0:   # E(2r(T - X) + 2s + 1) = E(-X)^(2r) · g^(2rT + 2s + 1)
                base = negated[f]
            else:          # E(-(2r(T - X) + 2s + 1)) = E(X)^(2r) · g^(-(2rT + 2s + 1))
                if f not in originals:
                    originals[f] = gmpy2.invert(negated[f], n2)
                base = originals[f]
            plain = sign * (2 * r * self.node_T[j] + 2 * s + 1) + offset
            values.append(gmpy2.powmod(base, 2 * r, n2) * (1 + (plain % n) * n) % n2)
        pool = self.pool(key)
        packs = [key.rerandomise(c, pool.take()) for c in pack_ciphertexts(key, values, LABEL_SLOT_BITS)]
        if len(self._pending) >= self.max_pending:
            self._pending.pop(next(iter(self._pending)))
        self._pending[query.query_id] = (key, order, signs)
        return Comparisons(query.query_id, key.key_id, key.bits, [int(c) for c in packs],
                           {"n_values": count, "depth": self.depth, "slot_bits": LABEL_SLOT_BITS,
                            "classes": list(self.tree.classes), "mode": self.mode})

    # -- round 2 -----------------------------------------------------------
    def finish(self, bits: Bits | str) -> LabelReply:
        """Round 2: from the client's encrypted bits, the masked leaves."""
        if not isinstance(bits, Bits):
            bits = Bits.from_json(bits)
        state = self._pending.pop(bits.query_id, None)
        if state is None:
            raise QueryMismatchError(f"no comparisons are pending for query {bits.query_id}: send the "
                                     "query first (evaluate), and the bits only once")
        key, order, signs = state
        if bits.key_id != key.key_id:
            raise QueryMismatchError("these bits are under a different key than the query's")
        if len(bits.ciphertexts) != len(order):
            raise MalformedMessageError(f"expected {len(order)} encrypted bits, got {len(bits.ciphertexts)}")
        n, n2 = key.n, key.nsquare
        enc_one = 1 + n  # E(1) with randomiser 1: the final re-randomisation hides it
        went_left = [None] * len(order)  # E(c_j), c_j = 1 when the record goes left at j
        for k, c in enumerate(bits.ciphertexts):
            key.check_ciphertext(c, f"encrypted bit {k}")
            j = order[k]
            went_left[j] = c if signs[j] > 0 else enc_one * gmpy2.invert(c, n2) % n2
        went_right = [enc_one * gmpy2.invert(c, n2) % n2 for c in went_left]  # E(1 - c_j)

        n_internal = len(order)
        pool = self.pool(key)
        leaves = []
        for leaf in range(1 << self.depth):
            heap = n_internal + leaf
            cost = gmpy2.mpz(1)
            while heap > 0:  # climb to the root: add 1 for every wrong turn
                parent = (heap - 1) // 2
                wrong = went_right[parent] if heap == 2 * parent + 1 else went_left[parent]
                cost = cost * wrong % n2
                heap = parent
            u = secrets.randbelow(int(n))
            masked_label = key.rerandomise(gmpy2.powmod(cost, u, n2) * (1 + self.leaf_class[leaf] * n) % n2,
                                           pool.take())
            if self.compact:
                leaves.append((int(masked_label),))
                continue
            rho = 1 + secrets.randbelow(int(n) - 1)
            masked_cost = key.rerandomise(gmpy2.powmod(cost, rho, n2), pool.take())
            leaves.append((int(masked_cost), int(masked_label)))
        _system_random.shuffle(leaves)
        return LabelReply(bits.query_id, key.key_id, key.bits, [c for pair in leaves for c in pair],
                          {"classes": list(self.tree.classes), "n_leaves": len(leaves),
                           "compact": self.compact})


# ------------------------------------------------------------------- client side
def answer_comparisons(client, comparisons: Comparisons | str, *, view: list | None = None) -> Bits:
    """Client, round 2: decrypt the comparisons and return ``E([w_k > 0])`` for each."""
    from .client import unpack_values

    if not isinstance(comparisons, Comparisons):
        comparisons = Comparisons.from_json(comparisons)
    client.check_ids(comparisons.query_id, comparisons.key_id)
    count = int(comparisons.meta.get("n_values", -1))
    if comparisons.meta.get("slot_bits") != LABEL_SLOT_BITS or count < 1:
        raise MalformedMessageError("comparisons need n_values >= 1 and slot_bits "
                                    f"{LABEL_SLOT_BITS}")
    for c in comparisons.ciphertexts:
        client.public_key.check_ciphertext(c, "a comparison pack")
    values = unpack_values(client.private_key, comparisons.ciphertexts, count, LABEL_SLOT_BITS)
    if len(values) != count:
        raise MalformedMessageError(f"the packs hold {len(values)} values, not {count}")
    if view is not None:
        view.extend(values)
    pk = client.public_key
    bits = [int(pk.raw_encrypt(int(v > 0), client.pool.take())) for v in values]
    return Bits(comparisons.query_id, pk.key_id, pk.bits, bits)


def decrypt_label(client, reply: LabelReply | str, *, view: list | None = None):
    """Client, round 3: the label of the one leaf whose path cost is zero."""
    if not isinstance(reply, LabelReply):
        reply = LabelReply.from_json(reply)
    client.check_ids(reply.query_id, reply.key_id)
    classes = reply.meta.get("classes")
    cts = reply.ciphertexts
    if not isinstance(classes, list) or (len(cts) % 2 and not reply.meta.get("compact")):
        raise MalformedMessageError("a label reply needs 'classes' and pairs of ciphertexts")
    sk = client.private_key
    found = []
    if reply.meta.get("compact"):
        for c in cts:
            client.public_key.check_ciphertext(c, "a leaf ciphertext")
            value = sk.raw_decrypt(c)
            if view is not None:
                view.append(value)
            if value < len(classes):
                found.append(value)
        if len(found) != 1:
            raise ProtocolError(f"{len(found)} leaves carry a class index (expected exactly one): the "
                                "server or the client did not follow the protocol")
        return classes[found[0]]
    for k in range(0, len(cts), 2):
        for c in cts[k:k + 2]:
            client.public_key.check_ciphertext(c, "a leaf ciphertext")
        cost, label = sk.raw_decrypt(cts[k]), sk.raw_decrypt(cts[k + 1])
        if view is not None:
            view.extend((cost, label))
        if cost == 0:
            found.append(label)
    if len(found) != 1 or not 0 <= found[0] < len(classes):
        raise ProtocolError(f"{len(found)} leaves have path cost zero (expected exactly one): the "
                            "server or the client did not follow the protocol")
    return classes[found[0]]


def predict_label_only(client, server: LabelOnlyServer, record, *, view: list | None = None):
    """The whole label-only exchange for one record, JSON messages included; returns the label."""
    query = client.encrypt(record)
    comparisons = server.evaluate(query.to_json())
    bits = answer_comparisons(client, comparisons.to_json(), view=view)
    reply = server.finish(bits.to_json())
    return decrypt_label(client, reply.to_json(), view=view)
