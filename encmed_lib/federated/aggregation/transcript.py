"""Who sent what to whom: the messages of a protocol run, and their sizes.

Every message of federated training -- a count table, a share, a ciphertext,
a published total, a query or a split -- is a :class:`Message` recorded in a
:class:`Transcript`: sender, receiver, kind, a one-line summary of the
payload (never the data) and its size in bytes.  A notebook prints who
received what; a test checks that no provider ever receives another
provider's plaintext table; a benchmark adds up the bytes (the cost
accounting of every back-end: a plaintext count is :data:`COUNT_BYTES` bytes
on the wire, a share or a ciphertext its own size).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

EVERYONE = "everyone"
"""Receiver name of a broadcast (a value published to every party)."""

COUNT_BYTES = 8
"""Bytes of one plaintext count on the wire (int64)."""


# ------------------------------------------------------------------ messages
@dataclass
class Message:
    """One message between two parties (or a broadcast to :data:`EVERYONE`).

    Attributes
    ----------
    sender, receiver : str
        Party names; ``receiver == "everyone"`` is a publication.
    kind : str
        What the payload is: ``"table"`` (a plaintext count table: only the
        insecure baseline sends one), ``"share"``, ``"partial-sum"``,
        ``"public-key"``, ``"ciphertexts"``, ``"ciphertext-sum"``, ``"total"``,
        ``"query"`` or ``"split"``.
    summary : str
        A one-line human description of the payload (never the data itself).
    size : int
        Bytes on the wire.
    round : str
        The training round (``"level 0"``, ``"binning"``...).
    payload : object
        The payload itself, kept for inspection and tests (not printed).
    """

    sender: str
    receiver: str
    kind: str
    summary: str
    size: int
    round: str = ""
    payload: Any = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        head = f"[{self.round}] " if self.round else ""
        return (f"{head}{self.sender} -> {self.receiver}: {self.kind} "
                f"({self.summary}, {human_bytes(self.size)})")


class Transcript:
    """Every message sent during a protocol run, in order.

    Parameters
    ----------
    keep_payloads : bool
        Keep each message's payload (for inspection and tests).  ``False``
        keeps only the metadata (sizes, kinds), which is all a benchmark needs.

    Attributes
    ----------
    round : str
        Label stamped on the messages sent from now on (set by the trainer).
    """

    def __init__(self, *, keep_payloads: bool = True):
        self.messages: list[Message] = []
        self.keep_payloads = keep_payloads
        self.round = ""
        self._done: set = set()

    def send(self, sender: str, receiver: str, kind: str, payload: Any, *, summary: str,
             size: int) -> Message:
        """Record (and return) one message."""
        msg = Message(sender, receiver, kind, summary, int(size), self.round,
                      payload if self.keep_payloads else None)
        self.messages.append(msg)
        return msg

    def once(self, tag) -> bool:
        """True the first time ``tag`` is seen (e.g. a public key sent once per run)."""
        if tag in self._done:
            return False
        self._done.add(tag)
        return True

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.messages)

    @property
    def parties(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.messages:
            seen.setdefault(m.sender)
            if m.receiver != EVERYONE:
                seen.setdefault(m.receiver)
        return list(seen)

    def received_by(self, party: str, *, broadcasts: bool = True) -> list[Message]:
        """Messages addressed to ``party`` (and publications, unless ``broadcasts=False``)."""
        return [m for m in self.messages
                if m.receiver == party or (broadcasts and m.receiver == EVERYONE and m.sender != party)]

    def sent_by(self, party: str) -> list[Message]:
        return [m for m in self.messages if m.sender == party]

    def to_frame(self) -> pd.DataFrame:
        """One row per message (no payloads)."""
        return pd.DataFrame([{"round": m.round, "sender": m.sender, "receiver": m.receiver,
                              "kind": m.kind, "summary": m.summary, "bytes": m.size}
                             for m in self.messages],
                            columns=["round", "sender", "receiver", "kind", "summary", "bytes"])

    def summary(self) -> pd.DataFrame:
        """Messages and bytes sent and received per party (a publication counts once, as sent)."""
        rows = []
        for party in self.parties:
            sent = self.sent_by(party)
            got = [m for m in self.messages if m.receiver == party]
            rows.append({"party": party, "messages sent": len(sent),
                         "bytes sent": sum(m.size for m in sent),
                         "messages received": len(got),
                         "bytes received": sum(m.size for m in got)})
        return pd.DataFrame(rows).set_index("party") if rows else pd.DataFrame()

    def by_kind(self) -> pd.DataFrame:
        """Messages and bytes per kind of payload."""
        frame = self.to_frame()
        return frame.groupby("kind", sort=False)["bytes"].agg(messages="count", bytes="sum")

    def show(self, limit: int | None = 30, *, round: str | None = None) -> str:
        """The messages as text, one per line (at most ``limit`` lines)."""
        msgs = [m for m in self.messages if round is None or m.round == round]
        lines = [str(m) for m in (msgs if limit is None else msgs[:limit])]
        if limit is not None and len(msgs) > limit:
            lines.append(f"... and {len(msgs) - limit} more messages")
        return "\n".join(lines)

    def __str__(self) -> str:
        return (f"Transcript: {len(self)} messages, {human_bytes(self.total_bytes)}, "
                f"parties {self.parties}")



def human_bytes(n: int) -> str:
    """``n`` bytes for people: ``512 B``, ``1.5 kB``, ``2.0 MB``."""
    if n < 1024:
        return f"{n} B"
    exp = min(int(math.log(n, 1024)), 3)
    return f"{n / 1024 ** exp:.1f} {['B', 'kB', 'MB', 'GB'][exp]}"
