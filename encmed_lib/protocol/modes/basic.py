"""Basic mode through the protocol interface: :class:`TreeServer` and :class:`Client`, one round.

The client sends :math:`E(X_f)` for every feature, the server one blinded value per node and the
tree's shape; the client reads the signs and walks to the leaf (:mod:`encmed_lib.protocol.server`).
"""

from __future__ import annotations

import warnings

from ..base import ProtocolClient, ProtocolEntry, ProtocolServer, register
from ..client import Client
from ..server import TreeServer


def paillier_client(source) -> Client:
    """``source`` itself when it is a :class:`Client`, else a new Client with ``source`` bits (quietly).

    1024-bit keys warn that they are for tests and demonstrations: a caller who gives the key size
    to a benchmark chose it knowingly.
    """
    if isinstance(source, Client):
        return source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return Client(int(source))


class BasicServerSide(ProtocolServer):
    """:class:`TreeServer` ``(tree, **options)``: ``evaluate`` answers a :class:`~..messages.Query`."""

    def __init__(self, tree, **options):
        self.server = TreeServer(tree, **options)

    def public(self) -> dict:
        return {"internal_nodes": len(self.server.tree.internal_nodes()),
                "features": list(self.server.required_features)}

    def evaluate(self, message: str):
        return self.server.evaluate(message)


class BasicClientSide(ProtocolClient):
    """:meth:`Client.encrypt` and :meth:`Client.decrypt` of one :class:`Client`."""

    def __init__(self, client: Client):
        self.client = client

    def encrypt(self, record):
        return self.client.encrypt(record)

    def decrypt(self, message: str):
        return self.client.decrypt(message)


register(ProtocolEntry(
    "basic", "decision tree, one round: the client learns one sign per node and the leaf's label",
    "tree", server=BasicServerSide, client=lambda source, public: BasicClientSide(paillier_client(source))))
