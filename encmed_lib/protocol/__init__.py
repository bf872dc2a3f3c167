"""Encrypted tree prediction: the messages, the client and the server."""

from .client import Client
from .label_only import LabelOnlyServer, predict_label_only
from .linear import LinearServer, encrypt_float64, score_encrypted
from .messages import PROTOCOL_VERSION, SLOT_BITS, Query, Reply
from .server import TreeServer

__all__ = ["Client", "TreeServer", "LabelOnlyServer", "LinearServer", "Query", "Reply",
           "predict_label_only", "encrypt_float64", "score_encrypted", "PROTOCOL_VERSION", "SLOT_BITS"]
