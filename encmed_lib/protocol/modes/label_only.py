"""Label-only mode through the protocol interface: DGK comparisons, two rounds.

``encrypt`` sends the proven DGK bits of every feature code, ``evaluate`` the blinded comparisons,
``answer`` the proven share bits, ``finish`` one masked ciphertext per leaf, and ``decrypt`` reads
the one leaf that carries a class index (:mod:`encmed_lib.protocol.label_only`).
"""

from __future__ import annotations

import json

from ...data.schema import DatasetSpec, get_schema
from ..base import ProtocolClient, ProtocolEntry, ProtocolServer, register
from ..client import Client
from ..label_only import LabelOnlyServer, answer_comparisons, decrypt_label, encrypt_query
from ..label_only.messages import Comparisons
from .basic import paillier_client


class LabelOnlyServerSide(ProtocolServer):
    """:class:`LabelOnlyServer` ``(tree, **options)`` (``schema``, ``depth``...)."""

    def __init__(self, tree, **options):
        self.server = LabelOnlyServer(tree, **options)

    def public(self) -> dict:
        sizes = self.server.public_sizes()
        classes = [c.item() if hasattr(c, "item") else c for c in sizes["classes"]]
        return {**sizes, "classes": classes, "internal_nodes": sizes["comparisons"]}

    def evaluate(self, message: str):
        return self.server.evaluate(message)

    def finish(self, message: str):
        return self.server.finish(message)


class LabelOnlyClientSide(ProtocolClient):
    """The label-only functions of one :class:`Client` on the server's public schema."""

    def __init__(self, client: Client, schema: DatasetSpec):
        self.client, self.schema = client, schema

    def encrypt(self, record):
        return encrypt_query(self.client, record, self.schema)

    def answer(self, message: str):
        """The answers to a ``lo-comparisons`` message; ``None`` for anything else (the final reply)."""
        try:
            kind = json.loads(message).get("type")
        except (ValueError, AttributeError):
            kind = None
        return answer_comparisons(self.client, message) if kind == Comparisons.kind else None

    def decrypt(self, message: str):
        return decrypt_label(self.client, message)


register(ProtocolEntry(
    "label-only", "decision tree, DGK comparisons in two rounds: the client learns the label only",
    "tree", server=LabelOnlyServerSide,
    client=lambda source, public: LabelOnlyClientSide(paillier_client(source),
                                                      get_schema(public["schema_id"]))))
