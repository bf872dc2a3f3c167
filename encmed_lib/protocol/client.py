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

import numpy as np

from ..crypto.encoding import encode_value
from ..crypto.paillier import DEFAULT_KEY_BITS, Keypair, RandomiserPool, generate_keypair
from ..data.records import record_items  # noqa: F401 (re-exported: the one record reader)
from ..errors import KeyMismatchError, MalformedMessageError, ProtocolError, QueryMismatchError
from .bucket_names import query_name, reply_name
from .label_only.messages import LabelReply
from .messages import SLOT_BITS, Query, Reply, slots_per_pack
from .schema import check_query_id
from .wire import parse_message


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
        self._certificate: list[str] | None = None

    def public_key_message(self) -> dict:
        """``{"n": ..., "proof": [...]}``: the modulus and its certificate, as every query carries them.

        The proof (Goldberg, Reyzin, Sagga and Baldimtsi 2019,
        :func:`~encmed_lib.crypto.keycert.prove_paillier_key`) shows :math:`\\gcd(n, \\varphi(n)) = 1`;
        it is made once per key and kept.
        """
        if self._certificate is None:
            from ..crypto.keycert import prove_paillier_key

            self._certificate = [str(int(z)) for z in prove_paillier_key(self.private_key, two_primes=False)]
        return {"n": str(int(self.public_key.n)), "proof": list(self._certificate)}

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
        MalformedMessageError
            ``query_id`` is not 1 to 128 characters of ``A-Z a-z 0-9 . _ -``.
        """
        items = record_items(record)
        encoded = [(name, encode_value(value, name)) for name, value in items]  # validate all first
        if query_id is not None:
            check_query_id(query_id)
        pk = self.public_key
        cts = [int(pk.raw_encrypt(x, self.pool.take())) for _, x in encoded]
        query_id = query_id or secrets.token_hex(16)
        self._issued.add(query_id)
        return Query(query_id, self.public_key_message(), [name for name, _ in encoded], cts)

    def post(self, bucket, record) -> Query:
        """Encrypt ``record`` and drop the query into ``bucket`` as ``queries/<id>.json``.

        ``bucket`` is a :class:`~encmed_lib.transport.Bucket` or any object with
        its ``put_text(name, text)`` method.
        """
        query = self.encrypt(record)
        bucket.put_text(query_name(query.query_id), query.to_json())
        return query

    def collect(self, bucket, query_id: str, *, timeout: float = 30.0,
                return_distribution: bool = False):
        """Wait for ``replies/<query_id>.json`` in ``bucket`` and decrypt it.

        ``bucket`` is a :class:`~encmed_lib.transport.Bucket` or any object with
        its ``wait_for(name, timeout=...)`` method.
        """
        text = bucket.wait_for(reply_name(query_id), timeout=timeout)
        return self.decrypt(text, return_distribution=return_distribution)

    # -- step 3 --------------------------------------------------------------
    def check_reply(self, reply: Reply | str | bytes | dict) -> Reply:
        """Parse ``reply`` (or check a :class:`Reply` object) and check it is for this client.

        Raises
        ------
        MalformedMessageError
            A field, the number of packs or the tree is malformed (:meth:`Reply.validate`).
        KeyMismatchError, QueryMismatchError
            Another key (or key size), or a query this client did not send.
        """
        if isinstance(reply, Reply):
            reply.validate()
        else:
            reply = Reply.from_json(reply)
        return self._accept(reply)

    def _accept(self, reply: Reply) -> Reply:
        """The checks of a validated reply against this client: ids, key size, slots, ciphertexts."""
        self.check_ids(reply.query_id, reply.key_id)
        if reply.key_bits != self.key_bits:
            raise KeyMismatchError(f"the reply claims a {reply.key_bits}-bit key; this client's has "
                                   f"{self.key_bits} bits")
        if reply.packed and reply.slot_bits != SLOT_BITS:
            raise MalformedMessageError(f"reply slot_bits {reply.slot_bits} != {SLOT_BITS}")
        for c in reply.packs:
            self.public_key.check_ciphertext(c, "a reply ciphertext")
        return reply

    @staticmethod
    def parse_reply(reply) -> Reply | LabelReply:
        """A basic :class:`Reply` or a label-only :class:`LabelReply`, told apart by the parsed ``type``."""
        if isinstance(reply, LabelReply):
            return reply
        if isinstance(reply, Reply):
            reply.validate()
            return reply
        data = parse_message(reply, kind=("reply", LabelReply.kind), max_bytes=LabelReply.max_bytes)
        return LabelReply.from_json(data) if data["type"] == LabelReply.kind else Reply.from_data(data)

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
        return self._values(self.check_reply(reply))

    def _values(self, reply: Reply) -> list[int]:
        sk = self.private_key
        if not reply.packed:
            values = [sk.decrypt_signed(c) for c in reply.packs]
        else:
            values = unpack_values(sk, reply.packs, reply.n_values, SLOT_BITS)
        if len(values) != reply.n_values:
            raise MalformedMessageError(f"the reply carries {len(values)} values for "
                                        f"{reply.n_values} nodes")
        return values

    def walk(self, reply: Reply, values: list[int]) -> int:
        """Follow the signs from the root; returns the leaf's node index.

        ``reply`` has passed :meth:`Reply.validate` (a tree, slots in range), and
        ``values`` holds one value per slot.
        """
        if len(values) != reply.n_values:
            raise MalformedMessageError(f"{len(values)} values for a tree of {reply.n_values} slots")
        nodes = reply.tree["nodes"]
        j = 0
        for _ in range(len(nodes)):
            node = nodes[j]
            if "slot" not in node:
                return j
            j = node["left"] if values[node["slot"]] >= 0 else node["right"]
        raise MalformedMessageError("the reply's tree has a cycle")

    def decrypt(self, reply: Reply | LabelReply | str | bytes | dict, *, return_distribution: bool = False):
        """Decrypt a reply and return the predicted label (and the leaf's class shares).

        ``reply`` is a basic-mode :class:`Reply` or a label-only
        :class:`LabelReply` (an object, JSON text, UTF-8 bytes or a dict): the
        parsed ``type`` field tells them apart.

        Raises
        ------
        MalformedMessageError, ProtocolVersionError
            The reply is malformed (nothing is decrypted then).
        KeyMismatchError, QueryMismatchError
            The reply is for another key or another query.
        """
        reply = self.parse_reply(reply)
        if isinstance(reply, LabelReply):
            if return_distribution:
                raise ProtocolError("label-only mode reveals the label only, not a class distribution")
            from .label_only.client import decrypt_label

            return decrypt_label(self, reply)
        reply = self._accept(reply)
        leaf = reply.tree["nodes"][self.walk(reply, self._values(reply))]
        label = leaf["label"]
        if isinstance(label, float) and label.is_integer():
            label = int(label)
        if not return_distribution:
            return label
        if "distribution" not in leaf:
            raise MalformedMessageError("the server did not share leaf class distributions "
                                        "(TreeServer(..., leaf_distribution=True))")
        return label, np.asarray(leaf["distribution"], dtype=float)
