"""Linear scoring through the protocol interface: :class:`LinearServer`, one round.

The client sends :math:`E(\\mathrm{round}(x_i 2^{64}))` for the model's features, the server
:math:`E(S)`, :math:`S = \\sum_i W_i X_i + B`, and the client reads the sign of the score
(:mod:`encmed_lib.protocol.linear`).
"""

from __future__ import annotations

from ...data.records import record_items
from ..base import ProtocolClient, ProtocolEntry, ProtocolServer, register
from ..client import Client
from ..linear import LinearServer, encrypt_float64, predict_encrypted
from .basic import paillier_client


class LinearServerSide(ProtocolServer):
    """:class:`LinearServer` ``(model, **options)`` (``output``, ``decimals``, ``noise_scale``)."""

    def __init__(self, model, **options):
        self.server = LinearServer(model, **options)

    def public(self) -> dict:
        return {"features": list(self.server.feature_names)}

    def evaluate(self, message: str):
        return self.server.evaluate(message)


class LinearClientSide(ProtocolClient):
    """:func:`encrypt_float64` of the server's features, :func:`predict_encrypted` of one :class:`Client`."""

    def __init__(self, client: Client, features: list[str] | None = None):
        self.client, self.features = client, features

    def encrypt(self, record):
        if self.features is not None:  # only the features the server publishes (in its order)
            values = dict(record_items(record))
            record = {f: values[f] for f in self.features if f in values}
        return encrypt_float64(self.client, record)

    def decrypt(self, message: str):
        return predict_encrypted(self.client, message)


register(ProtocolEntry(
    "linear", "logistic regression, one round: the client learns the exact score",
    "linear", server=LinearServerSide,
    client=lambda source, public: LinearClientSide(paillier_client(source), public.get("features"))))
