"""CKKS through the protocol interface: a square-activation network on TenSEAL, one round.

The client's public context (public, relinearisation and Galois keys; never the secret key) is
its :meth:`~CKKSClientSide.hello`, sent once; each query is one CKKS ciphertext of the
standardised record and each reply one ciphertext of the score, base64 in JSON
(:mod:`encmed_lib.crypto.ckks`).  The client side does not use a Paillier key: ``source`` is ignored.
TenSEAL is imported when a side is built, not when this module is.
"""

from __future__ import annotations

import base64
import hashlib
import json

from ...errors import MalformedMessageError, ProtocolError
from ..base import ProtocolClient, ProtocolEntry, ProtocolServer, register


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _field(message: str, kind: str, name: str) -> bytes:
    try:
        data = json.loads(message)
        if data.get("type") != kind:
            raise MalformedMessageError(f"expected a {kind!r} message, got type {data.get('type')!r}")
        return base64.b64decode(data[name], validate=True)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MalformedMessageError(f"a {kind!r} message needs a base64 field {name!r} ({exc})") from exc


def _context_id(context: bytes) -> str:
    return hashlib.sha256(context).hexdigest()[:16]


class CKKSServerSide(ProtocolServer):
    """:class:`~encmed_lib.crypto.ckks.CKKSServer` ``(model, strategy="fold")``, with the client's context."""

    def __init__(self, model, **options):
        from ...crypto.ckks import CKKSServer

        self.server = CKKSServer(model, **options)
        self.classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
        self._context: bytes | None = None

    def public(self) -> dict:
        spec = self.server.public_spec()
        params = spec["parameters"]
        return {"spec": spec, "classes": self.classes, "parameters":
                f"N = {params['poly_modulus_degree']}, primes {list(params['coeff_mod_bit_sizes'])}"}

    def setup(self, message: str) -> None:
        context = _field(message, "ckks-context", "context")
        self.server.load_context(context)  # refuses a context with the secret key
        self._context = context

    def evaluate(self, message: str):
        if self._context is None:
            raise ProtocolError("no public context: the client's hello (ckks-context) must come first")
        if json.loads(message).get("context_id") != _context_id(self._context):
            raise ProtocolError("the query was encrypted under another context than the one received")
        score = self.server.evaluate(self._context, _field(message, "ckks-query", "ciphertext"))
        return {"type": "ckks-reply", "ciphertext": _b64(score), "classes": self.classes}


class CKKSClientSide(ProtocolClient):
    """A :class:`~encmed_lib.crypto.ckks.CKKSClient` for the server's strategy and public spec."""

    def __init__(self, public: dict):
        from ...crypto.ckks import CKKSClient

        self.spec = public["spec"]
        self.classes = public["classes"]
        self.client = CKKSClient.for_strategy(self.spec["strategy"])
        self._hello: dict | None = None

    def hello(self) -> dict:
        if self._hello is None:
            self._hello = {"type": "ckks-context", "context": _b64(self.client.public_context())}
        return self._hello

    def encrypt(self, record):
        return {"type": "ckks-query", "context_id": _context_id(self.client.public_context()),
                "ciphertext": _b64(self.client.encrypt(record, self.spec))}

    def decrypt(self, message: str):
        score = self.client.decrypt_score(_field(message, "ckks-reply", "ciphertext"))
        return self.classes[int(score >= 0)]


register(ProtocolEntry(
    "ckks", "square-activation network on CKKS (TenSEAL): the client learns an approximate score",
    "mlp", server=CKKSServerSide, client=lambda source, public: CKKSClientSide(public),
    requires=("tenseal",), per_key_size=False))
