"""The server: it holds the tree and computes on ciphertexts only.

For every internal node :math:`j` comparing feature :math:`f` with threshold
:math:`t_j` the server knows :math:`T_j = \\lfloor t_j 2^{40} \\rfloor` and receives
:math:`E(X_f)`.  It computes, without decrypting anything,

.. math::

    E(v_j) = E(X_f)^{-r_j} \\cdot (1 + (r_j T_j + s_j)\\,n) = E(r_j (T_j - X_f) + s_j)

with :math:`r_j` uniform in :math:`[1, 2^{40})` and :math:`0 \\le s_j < r_j` drawn
from :mod:`secrets` for every query.  Then :math:`v_j \\ge 0` exactly when
:math:`X_f \\le T_j`, i.e. when the record goes left, and:

* :math:`r_j` hides the size of :math:`d_j = T_j - X_f`; without :math:`s_j` the
  client would know that :math:`d_j` divides :math:`v_j` (the *divisor attack*:
  :func:`encmed_lib.attacks.divisor_attack`);
* every returned ciphertext is re-randomised with a uniform :math:`\rho^n` that
  the server draws itself, otherwise the client, who knows :math:`E(X_f)`'s
  randomiser :math:`\rho_x`, would see :math:`\rho_x^{-r_j}` and find the 40-bit
  :math:`r_j` by a baby-step giant-step search.  The server does *not* use the
  client's short-exponent base: the client chose it (``h_s = 1`` would make
  re-randomising a no-op), and it knows the factors, so the DJN assumption says
  nothing about what it can see.  These randomisers cost a full exponentiation
  each, one per pack, and can be drawn ahead (:meth:`TreeServer.precompute`).

**Packing.** A Paillier plaintext has ~2048 bits and a blinded value ~103.
The server shifts each :math:`v_j` to be non-negative (``+ 2**(SLOT_BITS-1)``)
and packs up to ``(bits-1) // SLOT_BITS`` of them into one plaintext by
Horner's rule on ciphertexts,
:math:`E(P) = (\\cdots(E(u_{k-1})^{2^w} E(u_{k-2}))^{2^w} \\cdots) E(u_0)`,
re-randomises once per pack, and the client decrypts once per pack.
"""

from __future__ import annotations

import secrets

import gmpy2

from ..crypto.encoding import encode_threshold
from ..crypto.paillier import PublicKey, RandomiserPool
from ..errors import InvalidKeyError, KeyTooSmallError, MalformedMessageError, MissingFeatureError
from ..tree import PortableTree, as_portable, ensure_fitted
from .messages import (
    BLIND_BITS,
    BLINDINGS,
    SLOT_BITS,
    Query,
    Reply,
    parse_modulus,
    parse_public_key,
    slots_per_pack,
)


class ClientKeys:
    r"""The client keys a server has met: certified once, each with the server's own randomiser pool.

    Only ``n`` is ever taken from a client.  The server never re-randomises with
    a value the client chose (such as a DJN base ``h_s``: with ``h_s = 1`` the
    "re-randomisation" would do nothing and the client could recover every
    blind ``r_j``); it draws its own uniform :math:`r^n`, which can be
    precomputed per client key.

    That :math:`r^n` hides the client's planted randomness only if
    :math:`x \mapsto x^n` permutes :math:`\mathbb{Z}_n^*`, i.e. if
    :math:`\gcd(n, \varphi(n)) = 1` (with :math:`n = Pq`, :math:`P \mid q - 1`
    it does not, and one query returns the blinds).  So before any arithmetic a
    key from a message must pass :func:`~encmed_lib.crypto.keycert.verify_paillier_key`:
    a size cap (``max_bits``, default 4096), no prime factor below :math:`2^{16}`,
    not a prime, not a perfect power, and the client's GRSB proof
    (``public_key.proof``: :math:`n`-th roots of hash-derived challenges), verified
    once per key and remembered.

    Parameters
    ----------
    limit : int
        Keys (with their randomiser pools) kept at once.
    max_bits : int
        The largest client modulus accepted (a cap on the server's work).
    """

    def __init__(self, limit: int = 64, *, max_bits: int = 4096):
        from ..crypto.keycert import CertifiedKeys

        self.limit = limit
        self.max_bits = max_bits
        self.certified = CertifiedKeys(max_bits=max_bits, two_primes=False)
        self._keys: dict[str, PublicKey] = {}
        self._pools: dict[str, RandomiserPool] = {}

    def lookup(self, source) -> PublicKey:
        """The checked key of a :class:`~.messages.Query` or ``{"n": ..., "proof": [...]}``, a key or ``n``.

        The cached key (with its randomisers) when the server knows it, else a
        new :class:`PublicKey`: :meth:`remember` caches it once the message has
        passed every check, so a rejected message leaves the cache as it was.
        A key that comes in a message (a query or a dict) must be certified
        (verified once, then remembered); a key or modulus given directly is
        the server's own choice (e.g. :meth:`TreeServer.precompute`).

        Raises
        ------
        MalformedMessageError
            ``n`` is not a canonical decimal string of an odd integer of at most
            :data:`~.messages.MAX_KEY_BITS` bits.
        KeyTooSmallError
            ``n`` has fewer than :data:`~encmed_lib.crypto.paillier.MIN_KEY_BITS` bits.
        InvalidKeyError
            A key from a message is over the cap, has a small factor, is a prime
            or a perfect power, or comes without a valid proof.
        """
        if isinstance(source, Query):
            source = source.public_key
        if isinstance(source, PublicKey):
            source = source.n
        if isinstance(source, dict):
            data, n = parse_public_key(source)
            self._certify(n, data.get("proof"))
        else:
            n = parse_modulus(int(source) if isinstance(source, type(gmpy2.mpz(0))) else source,
                              "the client's modulus")
        key = self._keys.get(str(n))
        return key if key is not None else PublicKey(n)

    def _certify(self, n: int, proof) -> None:
        if n in self.certified:
            return
        if proof is None:
            raise InvalidKeyError("the query's public_key carries no proof: this server accepts only "
                                  "certified keys (encmed_lib.Client adds the proof; see crypto.keycert)")
        self.certified.verify(n, proof)

    def remember(self, key: PublicKey) -> PublicKey:
        """Cache ``key`` with a randomiser pool of the server's own (evicting all when full)."""
        n_text = str(int(key.n))
        if n_text not in self._keys:
            if len(self._keys) >= self.limit:
                self._keys.clear()
                self._pools.clear()
            self._keys[n_text] = key
            self._pools[n_text] = RandomiserPool(key)
        return self._keys[n_text]

    def key(self, source) -> PublicKey:
        """The key of a :class:`~.messages.Query`, a ``{"n": ...}`` dict or a modulus (checked, cached)."""
        return self.remember(self.lookup(source))

    def pool(self, key: PublicKey) -> RandomiserPool:
        """The server's own randomisers for a client key (uniform :math:`r^n`)."""
        return self._pools[str(int(key.n))]

    def precompute(self, source, count: int) -> None:
        """Draw ``count`` re-randomisers for a client's key before its patients arrive."""
        self.pool(self.key(source)).fill(count)


def ciphertexts_by_feature(query: Query, required: list[str]) -> dict:
    """``{feature: ciphertext}`` of a query; :class:`MissingFeatureError` names any required one missing."""
    if len(query.features) != len(query.ciphertexts):
        raise MalformedMessageError(f"the query names {len(query.features)} features but carries "
                                    f"{len(query.ciphertexts)} ciphertexts")
    given = dict(zip(query.features, query.ciphertexts, strict=True))
    missing = [f for f in required if f not in given]
    if missing:
        raise MissingFeatureError(
            f"the query lacks feature(s) {missing} that the model needs; the client must "
            f"encrypt every one of {list(required)}")
    return given


MODES = ("basic", "label-only")


def draw_blinds(blinding: str) -> tuple[int, int]:
    """One node's ``(r, s)``: ``r`` uniform in ``[1, 2**BLIND_BITS)``, ``0 <= s < r``."""
    if blinding == "none":
        return 1, 0
    r = 1 + secrets.randbelow((1 << BLIND_BITS) - 1)
    return r, (secrets.randbelow(r) if blinding == "full" else 0)


class TreeServer:
    """Evaluate a decision tree on a client's encrypted record.

    Parameters
    ----------
    tree : DecisionTreeClassifier or PortableTree
        A fitted scikit-learn tree or its portable form.
    mode : {"basic", "label-only"}
        ``"label-only"`` returns a :class:`~.label_only.LabelOnlyServer` (other
        keyword arguments go to it): the client learns the label and the
        public sizes only (DGK comparisons, two rounds).
    blinding : {"full", "multiplicative", "none"}
        ``"full"`` is the protocol; the other two reproduce weaker designs for
        the attack lessons of notebook 04.
    packing : bool
        Pack many blinded values per ciphertext (same results, much less work).
    leaf_distribution : bool
        Also send each leaf's class shares (so the client can report a confidence).

    Examples
    --------
    >>> server = TreeServer(tree)                      # doctest: +SKIP
    >>> reply = server.evaluate(query)                 # doctest: +SKIP
    """

    mode = "basic"

    def __new__(cls, tree=None, *args, mode: str = "basic", **kwargs):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if cls is TreeServer and mode == "label-only":
            from .label_only.server import LabelOnlyServer

            return LabelOnlyServer(tree, *args, **kwargs)  # not a TreeServer: __init__ is not called again
        return super().__new__(cls)

    def __init__(self, tree, *, mode: str = "basic", blinding: str = "full", packing: bool = True,
                 leaf_distribution: bool = True):
        if blinding not in BLINDINGS:
            raise ValueError(f"blinding must be one of {BLINDINGS}, got {blinding!r}")
        if not isinstance(tree, PortableTree):
            if hasattr(tree, "tree_") or hasattr(tree, "fit"):
                ensure_fitted(tree)
        self.tree = as_portable(tree)
        self.blinding = blinding
        self.packing = packing
        self.leaf_distribution = leaf_distribution
        self._internal = self.tree.internal_nodes()
        self._slot = {node.id: k for k, node in enumerate(self._internal)}
        self._T = [encode_threshold(node.threshold) for node in self._internal]
        self.client_keys = ClientKeys()

    @property
    def required_features(self) -> list[str]:
        """The features the tree compares: a query must carry each of them."""
        return self.tree.used_features

    def public_shape(self) -> dict:
        """The tree as the client may see it: children, slots and leaf labels only."""
        nodes = []
        for node in self.tree.nodes:
            if node.is_leaf:
                item = {"label": self.tree.leaf_label(node.id)}
                if self.leaf_distribution:
                    item["distribution"] = list(node.value)
            else:
                item = {"left": node.left, "right": node.right, "slot": self._slot[node.id]}
            nodes.append(item)
        return {"classes": list(self.tree.classes), "nodes": nodes}

    def _public_key(self, query: Query | dict | str) -> PublicKey:
        """The client's key, checked and cached with the server's own randomiser pool."""
        return self.client_keys.key(query)

    def pool(self, key: PublicKey) -> RandomiserPool:
        """The server's own randomisers for a client key (uniform :math:`r^n`, drawn by the server)."""
        return self.client_keys.pool(key)

    def randomisers_per_query(self, key_bits: int) -> int:
        """How many re-randomisers one query costs the server (one per returned ciphertext)."""
        if not self.packing:
            return len(self._internal)
        return -(-len(self._internal) // slots_per_pack(key_bits))

    def precompute(self, public_key, count: int) -> None:
        """Draw ``count`` re-randomisers for a client's key before its patients arrive.

        ``public_key`` is a :class:`~.messages.Query`, a ``{"n": ...}`` dict or the modulus.
        Each reply uses :meth:`randomisers_per_query` of them.
        """
        self.client_keys.precompute(public_key, count)

    def encrypted_inputs(self, query: Query | str | bytes | dict) -> tuple[PublicKey, dict]:
        """Check a query and return its key and ``{feature: E(-X_f)}`` for the features used.

        Every check (fields, key, features, ciphertext ranges) runs before any
        arithmetic and before the key is cached: a rejected query changes nothing.
        """
        if isinstance(query, Query):
            query.validate()
        else:
            query = Query.from_json(query)
        key = self.client_keys.lookup(query)
        given = ciphertexts_by_feature(query, self.required_features)
        for f in self.required_features:
            key.check_ciphertext(given[f], f"the ciphertext of feature {f!r}")
        key = self.client_keys.remember(key)
        negated = {f: gmpy2.invert(given[f], key.nsquare) for f in self.required_features}  # E(-X_f)
        return key, negated

    def blinded_values(self, key: PublicKey, negated: dict, *, offset: int = 0) -> list:
        """``E(r_j (T_j - X_f) + s_j + offset)`` for every internal node, in slot order."""
        out = []
        n, n2 = key.n, key.nsquare
        for node, T in zip(self._internal, self._T, strict=True):
            r, s = draw_blinds(self.blinding)
            c = negated[node.feature] if r == 1 else gmpy2.powmod(negated[node.feature], r, n2)
            out.append(c * (1 + ((r * T + s + offset) % n) * n) % n2)
        return out

    def serve(self, bucket) -> list[str]:
        """Answer every query in ``bucket`` (a :class:`~encmed_lib.transport.Bucket`) that has no reply yet.

        One pass of :class:`~encmed_lib.protocol.answering.BucketAnswerer` (claims, error
        replies, quarantine: :func:`~encmed_lib.protocol.answering.answer_pending`); returns
        the query ids answered.  For a long-running server: ``python -m encmed_lib.serve``
        (:class:`encmed_lib.parties.service.ModelService`).
        """
        from .answering import answer_pending

        return answer_pending(self, bucket)

    def evaluate(self, query: Query | str | bytes | dict) -> Reply:
        """Compute the reply to one query (a :class:`Query` or its JSON).

        Raises
        ------
        MalformedMessageError, ProtocolVersionError
            The query is malformed (see :mod:`.wire`).
        KeyTooSmallError, MissingFeatureError, CiphertextRangeError
            A short key, a feature the tree needs is absent, or a ciphertext is
            not in :math:`\\mathbb{Z}_{n^2}^*`.
        """
        if not isinstance(query, Query):
            query = Query.from_json(query)
        key, negated = self.encrypted_inputs(query)
        if self.packing:
            offset = 1 << (SLOT_BITS - 1)
            values = self.blinded_values(key, negated, offset=offset)
            packs = pack_ciphertexts(key, values)
        else:
            packs = self.blinded_values(key, negated)
        pool = self.pool(key)
        packs = [key.rerandomise(c, pool.take()) for c in packs]
        features = [n.feature for n in self._internal] if self.blinding == "none" else None
        return Reply(query_id=query.query_id, key_id=key.key_id, packs=[int(c) for c in packs],
                     n_values=len(self._internal), tree=self.public_shape(), key_bits=key.bits,
                     mode=self.mode, blinding=self.blinding, packed=self.packing,
                     features=features)


def pack_ciphertexts(key: PublicKey, values: list, slot_bits: int = SLOT_BITS) -> list:
    """Pack ciphertexts of non-negative slot values, ``slots_per_pack`` per ciphertext.

    Slot ``j`` of a pack holds bits ``[j·w, (j+1)·w)`` of the plaintext (Horner's rule).
    """
    per = slots_per_pack(key.bits, slot_bits)
    if per < 1:
        raise KeyTooSmallError(f"a {key.bits}-bit key cannot hold a {slot_bits}-bit slot")
    shift, n2 = 1 << slot_bits, key.nsquare
    packs = []
    for start in range(0, len(values), per):
        chunk = values[start:start + per]
        acc = chunk[-1]
        for c in reversed(chunk[:-1]):
            acc = gmpy2.powmod(acc, shift, n2) * c % n2
        packs.append(acc)
    return packs
