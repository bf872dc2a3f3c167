"""Label-only mode, client side: encode, encrypt bits with proofs, answer, read the label.

These functions take the hospital's :class:`~encmed_lib.protocol.client.Client` (its DGK key pair
is :attr:`~encmed_lib.protocol.client.Client.dgk_keypair`, made on first use) and do not import it.

1. :func:`encrypt_query`: every feature of the public schema is encoded as its grid code
   (:meth:`~encmed_lib.data.schema.FeatureSpec.encode`: off-grid values rounded to the nearest
   grid value, out-of-range values refused), and each bit is DGK-encrypted with a bit proof.
2. :func:`answer_comparisons`: for each group, :math:`\\delta_k = 1` when some value decrypts to
   zero; returned encrypted, with a bit proof.
3. :func:`decrypt_label`: the one leaf whose value is a class index.
"""

from __future__ import annotations

import secrets

from ...crypto.dgk import encrypt_bit_with_proof
from ...data.records import record_items
from ...data.schema import DatasetSpec
from ...errors import KeyMismatchError, ProtocolError, QueryMismatchError
from .messages import Answers, Comparisons, LabelQuery, LabelReply, answer_context, parse, query_context


def _record_dict(record) -> dict:
    items = record_items(record)
    names = [k for k, _ in items]
    if len(set(names)) != len(names):
        raise ProtocolError(f"the record names a feature twice ({names}): each feature once")
    return dict(items)


def encrypt_query(client, record, schema: DatasetSpec, *, query_id: str | None = None) -> LabelQuery:
    """Round 1: the DGK-encrypted, proven bits of every feature code of ``record``.

    Raises
    ------
    MissingFeatureError, DomainError
        A schema feature is missing, not a number, or outside its public range (nothing is encrypted).
    """
    codes = schema.encode_record(_record_dict(record))  # every value validated first
    keypair = client.dgk_keypair
    pk, sk = keypair.public_key, keypair.private_key
    query_id = query_id or secrets.token_hex(16)
    bits, proofs = [], []
    for spec in schema.features:
        row, row_proofs = [], []
        for i in range(spec.bits):
            c, proof = encrypt_bit_with_proof(sk, (codes[spec.name] >> i) & 1,
                                              query_context(query_id, spec.name, i))
            row.append(int(c))
            row_proofs.append(proof.to_list())
        bits.append(row)
        proofs.append(row_proofs)
    client._issued.add(query_id)
    return LabelQuery(query_id, pk.key_id, pk.bits, public_key=pk.to_dict(), schema_id=schema.schema_id,
                      features=schema.names, bits=bits, proofs=proofs)


def _check_ids(client, message) -> None:
    if message.key_id != client.dgk_keypair.public_key.key_id:
        raise KeyMismatchError(f"this message was computed under DGK key {message.key_id}, not this "
                               "client's: it belongs to another client")
    if message.query_id not in client._issued:
        raise QueryMismatchError(f"this message answers query {message.query_id}, which this client did "
                                 "not send (or sent from another session)")


def answer_comparisons(client, comparisons, *, view: list | None = None) -> Answers:
    """Round 3: :math:`E(\\delta_k)` per group, :math:`\\delta_k = [\\text{some value is zero}]`, proven bits.

    ``view``, when given, receives one dict per group: ``zeros`` (how many values decrypted to 0)
    and ``classes`` (the low 32 bits of each value's class, a uniform-looking number).
    """
    comparisons = parse(comparisons, Comparisons)
    _check_ids(client, comparisons)
    sk = client.dgk_keypair.private_key
    answers, proofs = [], []
    for k, group in enumerate(comparisons.groups):
        if view is None:  # stop at the first zero: a group holds at most one (honest server)
            zeros = int(any(sk.is_zero(c) for c in group))
        else:
            classes = [sk.class_of(c) for c in group]
            zeros = sum(1 for x in classes if x == 1)
            view.append({"zeros": zeros, "classes": [int(x) & 0xFFFFFFFF for x in classes]})
        c, proof = encrypt_bit_with_proof(sk, int(zeros > 0), answer_context(comparisons.query_id, k))
        answers.append(int(c))
        proofs.append(proof.to_list())
    pk = sk.public_key
    return Answers(comparisons.query_id, pk.key_id, pk.bits, answers=answers, proofs=proofs)


def decrypt_label(client, reply, *, view: list | None = None):
    """Round 4's label: the class of the one leaf whose value is a class index.

    ``view``, when given, receives each leaf's decoded value (a class index or None).

    Raises
    ------
    ProtocolError
        Not exactly one leaf carries a class index: a party did not follow the protocol.
    """
    reply = parse(reply, LabelReply)
    _check_ids(client, reply)
    sk = client.dgk_keypair.private_key
    decoded = [sk.decrypt_small(c, len(reply.classes)) for c in reply.leaves]
    if view is not None:
        view.extend(decoded)
    found = [m for m in decoded if m is not None]
    if len(found) != 1:
        raise ProtocolError(f"{len(found)} leaves carry a class index (expected exactly one): the server "
                            "or the client did not follow the protocol")
    label = reply.classes[found[0]]
    return int(label) if isinstance(label, float) and label.is_integer() else label


def predict_label_only(client, server, record, *, view: list | None = None):
    """The whole label-only exchange for one record, every message through JSON; returns the label."""
    query = encrypt_query(client, record, server.schema)
    comparisons = server.evaluate(query.to_json())
    answers = answer_comparisons(client, comparisons.to_json(), view=view)
    reply = server.finish(answers.to_json())
    return decrypt_label(client, reply.to_json(), view=view)
