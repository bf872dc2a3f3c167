"""Encrypted tree prediction: the messages, the client and the server."""

from .client import Client
from .messages import PROTOCOL_VERSION, SLOT_BITS, Query, Reply
from .server import TreeServer

__all__ = ["Client", "TreeServer", "Query", "Reply", "PROTOCOL_VERSION", "SLOT_BITS"]
