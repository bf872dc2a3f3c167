"""Encrypted prediction: the protocol interface and registry, the messages, the clients and servers."""

from . import modes  # noqa: F401 (registers the built-in modes in REGISTRY)
from .base import REGISTRY, ProtocolClient, ProtocolEntry, ProtocolServer, register, run_exchange, unregister
from .client import Client
from .label_only import LabelOnlyServer, predict_label_only
from .linear import LinearServer, encrypt_float64, score_encrypted
from .messages import PROTOCOL_VERSION, SLOT_BITS, Query, Reply
from .server import TreeServer

__all__ = ["Client", "TreeServer", "LabelOnlyServer", "LinearServer", "Query", "Reply",
           "predict_label_only", "encrypt_float64", "score_encrypted", "PROTOCOL_VERSION", "SLOT_BITS",
           "REGISTRY", "ProtocolClient", "ProtocolServer", "ProtocolEntry", "register", "unregister",
           "run_exchange"]
