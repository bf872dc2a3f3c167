"""The client's side: encrypt a record at ``2**64``, decrypt the score, apply the sigmoid."""

from __future__ import annotations

import secrets

import numpy as np
from scipy.special import expit

from ...errors import DomainError, KeyMismatchError, MalformedMessageError
from ..client import Client, record_items
from ..schema import check_query_id
from .fixed_point import SCORE_FRAC_BITS, decode_score, encode_float64
from .messages import LinearQuery, LinearReply
from .server import LinearServer

__all__ = ["encrypt_float64", "decrypt_score", "predict_proba_encrypted", "predict_encrypted",
           "score_encrypted"]


def encrypt_float64(client: Client, record, *, query_id: str | None = None) -> LinearQuery:
    """Encode every feature of ``record`` as ``round(x * 2**64)`` and encrypt it.

    Uses the client's keys and randomiser pool, and registers the query id so
    that :meth:`Client.check_ids` accepts the reply.

    Raises
    ------
    DomainError
        A value is missing, not a number, infinite or ``|x| >= 2**20``, or a
        feature name repeats (nothing is encrypted then).
    """
    items = record_items(record)
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise DomainError(f"the record names some features twice: {names}")
    encoded = [encode_float64(value, name) for name, value in items]  # validate all first
    if query_id is not None:
        check_query_id(query_id)
    pk = client.public_key
    cts = [int(pk.raw_encrypt(X, client.pool.take())) for X in encoded]
    query_id = query_id or secrets.token_hex(16)
    client._issued.add(query_id)
    key = client.public_key_message() if hasattr(client, "public_key_message") else {"n": str(int(pk.n))}
    return LinearQuery(query_id, key, names, cts)


def _check_reply(client: Client, reply: LinearReply | str | bytes | dict) -> LinearReply:
    if isinstance(reply, LinearReply):
        reply.validate()
    else:
        reply = LinearReply.from_json(reply)
    client.check_ids(reply.query_id, reply.key_id)
    if reply.key_bits != client.key_bits:
        raise KeyMismatchError(f"the reply claims a {reply.key_bits}-bit key; this client's has "
                               f"{client.key_bits} bits")
    if reply.scale_bits != SCORE_FRAC_BITS:
        raise MalformedMessageError(f"the reply's score is scaled by 2**{reply.scale_bits}; this "
                                    f"library expects 2**{SCORE_FRAC_BITS}")
    client.public_key.check_ciphertext(reply.ciphertext, "the reply's ciphertext")
    return reply


def _score(client: Client, reply: LinearReply) -> float:
    s = decode_score(client.private_key.decrypt_signed(reply.ciphertext))
    if reply.output == "rounded":
        s = round(s, reply.decimals)  # the policy: see encmed_lib.protocol.linear
    return s


def decrypt_score(client: Client, reply: LinearReply | str | bytes | dict) -> float:
    """Decrypt the score ``s = S / 2**128`` (rounded when the reply says ``"rounded"``).

    Raises
    ------
    KeyMismatchError, QueryMismatchError
        The reply is for another key, or answers a query this client did not send.
    MalformedMessageError, CiphertextRangeError
        A malformed reply or ciphertext.
    """
    return _score(client, _check_reply(client, reply))


def _proba(score: float) -> np.ndarray:
    p = expit(np.float64(score))
    return np.array([1.0 - p, p])  # as scikit-learn: [1 - p, p]


def predict_proba_encrypted(client: Client, reply: LinearReply | str | bytes | dict) -> np.ndarray:
    """``[1 - p, p]`` with ``p = expit(s)``, as ``predict_proba`` returns one row."""
    return _proba(decrypt_score(client, reply))


def predict_encrypted(client: Client, reply: LinearReply | str | bytes | dict):
    """The predicted label: ``classes[1]`` if ``s > 0`` else ``classes[0]`` (scikit-learn's rule)."""
    reply = _check_reply(client, reply)
    label = reply.classes[1] if _score(client, reply) > 0 else reply.classes[0]
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    return label


def score_encrypted(client: Client, server: LinearServer, record) -> tuple[float, np.ndarray]:
    """One patient end to end, through the JSON wire format: ``(score, [1 - p, p])``."""
    query = encrypt_float64(client, record)
    reply = server.evaluate(query.to_json())
    score = decrypt_score(client, reply.to_json())
    return score, _proba(score)
