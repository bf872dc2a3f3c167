"""The client: it holds the patient's record and the private key.

1. :meth:`Client.encrypt` encodes **every** feature of the record with the one
   public scale (:mod:`encmed_lib.crypto.encoding`) and encrypts it: the client
   does not know, and need not learn, which features the model uses.
2. The server answers with one blinded value per internal node and the tree's
   shape (:mod:`encmed_lib.protocol.server`).
3. :meth:`Client.decrypt` decrypts each pack, reads the sign of every value
   (``v >= 0``: go left), walks from the root and returns the leaf's label.

Only the client can decrypt, so only the client learns the diagnosis.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

import numpy as np

from ..crypto.encoding import encode_value
from ..crypto.paillier import DEFAULT_KEY_BITS, Keypair, RandomiserPool, generate_keypair
from ..errors import DomainError, KeyMismatchError, MalformedMessageError, QueryMismatchError
from .messages import SLOT_BITS, Query, Reply, slots_per_pack


def record_items(record) -> list[tuple[str, object]]:
    """``(name, value)`` pairs of a pandas Series, a dict or a one-row DataFrame."""
    if hasattr(record, "iloc") and getattr(record, "ndim", 1) == 2:
        if len(record) != 1:
            raise DomainError(f"expected one record, got a table of {len(record)} rows: "
                              "encrypt rows one at a time (or use encmed_lib.scale)")
        record = record.iloc[0]
    if hasattr(record, "items"):
        items = [(str(k), v) for k, v in record.items()]
    elif isinstance(record, Mapping):
        items = [(str(k), v) for k, v in record.items()]
    else:
        raise DomainError(f"a record must be a pandas Series or a dict of feature -> number, "
                          f"got {type(record).__name__}")
    if not items:
        raise DomainError("the record has no features")
    return items


def _is_label_reply(message) -> bool:
    """Whether ``message`` is a label-only reply (an object, or JSON whose ``type`` is ``lo-reply``)."""
    from .label_only.messages import LabelReply

    if isinstance(message, LabelReply):
        return True
    if isinstance(message, dict):
        return message.get("type") == LabelReply.kind
    if isinstance(message, (str, bytes)):
        import json

        try:
            data = json.loads(message)
        except (ValueError, TypeError, RecursionError):
            return False
        return isinstance(data, dict) and data.get("type") == LabelReply.kind
    return False


def unpack_values(private_key, packs: list, n_values: int, slot_bits: int) -> list[int]:
    """Decrypt packs and read back the signed slot values (``slot - 2**(slot_bits-1)``)."""
    per = slots_per_pack(private_key.public_key.bits, slot_bits)
    mask, offset = (1 << slot_bits) - 1, 1 << (slot_bits - 1)
    values = []
    for k, c in enumerate(packs):
        m = private_key.raw_decrypt(c)
        for _ in range(max(0, min(per, n_values - k * per))):
            values.append((m & mask) - offset)
            m >>= slot_bits
    return values


class Client:
    """A hospital-side client holding a Paillier key pair.

    Parameters
    ----------
    key_bits : int
        Modulus length: 2048 by default; 1024 is accepted with a warning (tests,
        demos); less is refused.
    djn : bool
        Short-exponent (Damgård-Jurik-Nielsen) randomisers: much faster.
    crt : bool
        Compute the client's randomisers modulo p² and q² (it knows the factors).
    keypair : Keypair, optional
        Reuse an existing key pair instead of generating one.
    dgk_keypair : DGKKeypair, optional
        Reuse a DGK key pair for label-only mode (default: made on first use).
    """

    def __init__(self, key_bits: int = DEFAULT_KEY_BITS, *, djn: bool = True, crt: bool = True,
                 keypair: Keypair | None = None, dgk_keypair=None):
        self.keypair = keypair if keypair is not None else generate_keypair(key_bits, djn=djn)
        self.public_key = self.keypair.public_key
        self.private_key = self.keypair.private_key
        self.crt = crt
        self.pool = RandomiserPool(self.private_key if crt else self.public_key)
        self._issued: set[str] = set()
        self._dgk = dgk_keypair

    @property
    def dgk_keypair(self):
        """The client's DGK key pair for label-only mode (:mod:`encmed_lib.crypto.dgk`), made on first use.

        Same size as the Paillier key; the private part never leaves the client.
        """
        if self._dgk is None:
            from ..crypto.dgk import generate_dgk_keypair

            self._dgk = generate_dgk_keypair(max(self.key_bits, 1024))
        return self._dgk

    @property
    def key_bits(self) -> int:
        return self.public_key.bits

    def precompute(self, count: int) -> None:
        """Draw ``count`` randomisers now (before the patient is known): one per feature encrypted."""
        self.pool.fill(count)

    # -- step 1 --------------------------------------------------------------
    def encrypt(self, record, *, query_id: str | None = None) -> Query:
        """Encode and encrypt every feature of ``record``.

        Raises
        ------
        DomainError
            A value is missing, not a number, or outside the encodable domain
            (nothing is encrypted then).
        """
        items = record_items(record)
        encoded = [(name, encode_value(value, name)) for name, value in items]  # validate all first
        pk = self.public_key
        cts = [int(pk.raw_encrypt(x, self.pool.take())) for _, x in encoded]
        query_id = query_id or secrets.token_hex(16)
        self._issued.add(query_id)
        return Query(query_id, {"n": str(int(pk.n))}, [name for name, _ in encoded], cts)

    def post(self, bucket, record) -> Query:
        """Encrypt ``record`` and drop the query into ``bucket`` as ``queries/<id>.json``."""
        from ..transport import query_name

        query = self.encrypt(record)
        bucket.put_text(query_name(query.query_id), query.to_json())
        return query

    def collect(self, bucket, query_id: str, *, timeout: float = 30.0,
                return_distribution: bool = False):
        """Wait for ``replies/<query_id>.json`` in ``bucket`` and decrypt it."""
        from ..transport import reply_name

        text = bucket.wait_for(reply_name(query_id), timeout=timeout)
        return self.decrypt(text, return_distribution=return_distribution)

    # -- step 3 --------------------------------------------------------------
    def check_reply(self, reply: Reply | str) -> Reply:
        """Parse ``reply`` and check it is for this client's key and one of its queries."""
        if not isinstance(reply, Reply):
            reply = Reply.from_json(reply)
        self.check_ids(reply.query_id, reply.key_id)
        return reply

    def check_ids(self, query_id: str, key_id: str) -> None:
        """Refuse a message for another key or for a query this client did not send."""
        if key_id != self.public_key.key_id:
            raise KeyMismatchError(f"this message was computed under key {key_id}, not this "
                                   f"client's key {self.public_key.key_id}: it belongs to another client")
        if query_id not in self._issued:
            raise QueryMismatchError(f"this message answers query {query_id}, which this client "
                                     "did not send (or sent from another session)")

    # -- label-only mode ---------------------------------------------------------
    def encrypt_label_only(self, record, schema, *, query_id: str | None = None):
        """Label-only round 1: the proven DGK bits of every feature code (see :mod:`.label_only`).

        ``schema`` is the server's public :class:`~encmed_lib.data.schema.DatasetSpec`
        (``server.schema``).
        """
        from .label_only.client import encrypt_query

        return encrypt_query(self, record, schema, query_id=query_id)

    def answer(self, comparisons, *, view: list | None = None):
        """Label-only round 3: the proven share bit of every comparison (see :mod:`.label_only`)."""
        from .label_only.client import answer_comparisons

        return answer_comparisons(self, comparisons, view=view)

    def decrypt_values(self, reply: Reply | str) -> list[int]:
        """The blinded comparison values ``v_j``, one per internal node (slot order)."""
        reply = self.check_reply(reply)
        sk = self.private_key
        for c in reply.packs:
            self.public_key.check_ciphertext(c, "a reply ciphertext")
        if not reply.packed:
            values = [sk.decrypt_signed(c) for c in reply.packs]
        else:
            if reply.slot_bits != SLOT_BITS:
                raise MalformedMessageError(f"reply slot_bits {reply.slot_bits} != {SLOT_BITS}")
            values = unpack_values(sk, reply.packs, reply.n_values, SLOT_BITS)
        if len(values) != reply.n_values:
            raise MalformedMessageError(f"the reply carries {len(values)} values for "
                                        f"{reply.n_values} nodes")
        return values

    def walk(self, reply: Reply, values: list[int]) -> int:
        """Follow the signs from the root; returns the leaf's node index."""
        nodes = reply.tree["nodes"]
        j = 0
        for _ in range(len(nodes)):
            node = nodes[j]
            if "slot" not in node:
                return j
            j = node["left"] if values[node["slot"]] >= 0 else node["right"]
        raise MalformedMessageError("the reply's tree has a cycle")

    def decrypt(self, reply: Reply | str, *, return_distribution: bool = False):
        """Decrypt a reply and return the predicted label (and the leaf's class shares).

        Raises
        ------
        KeyMismatchError, QueryMismatchError
            The reply is for another key or another query.
        """
        if _is_label_reply(reply):
            if return_distribution:
                raise ValueError("label-only mode reveals the label only, not a class distribution")
            from .label_only.client import decrypt_label

            return decrypt_label(self, reply)
        reply = self.check_reply(reply)
        leaf = reply.tree["nodes"][self.walk(reply, self.decrypt_values(reply))]
        label = leaf["label"]
        if isinstance(label, float) and label.is_integer():
            label = int(label)
        if not return_distribution:
            return label
        if "distribution" not in leaf:
            raise MalformedMessageError("the server did not share leaf class distributions "
                                        "(TreeServer(..., leaf_distribution=True))")
        return label, np.asarray(leaf["distribution"], dtype=float)
