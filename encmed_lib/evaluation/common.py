"""Small helpers the evaluation's modules share: progress lines, a quiet client, plain values."""

from __future__ import annotations

from ..protocol.client import Client

__all__ = ["say", "quiet_client", "plain"]


def say(verbose: bool, text: str) -> None:
    """Print ``text`` (flushed) when ``verbose``."""
    if verbose:
        print(text, flush=True)


def quiet_client(bits: int) -> Client:
    """A :class:`Client` of ``bits`` bits, without the warning 1024-bit keys give (chosen for speed)."""
    from ..protocol.modes.basic import paillier_client

    return paillier_client(bits)


def plain(value):
    """A numpy scalar as the Python value (labels compare and print the same)."""
    return value.item() if hasattr(value, "item") else value
