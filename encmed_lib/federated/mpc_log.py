"""The log of one party of a multi-process run, and its network counters.

:class:`PartyLog` writes one JSON object per line (what the party sent,
received and opened); :func:`count_network` counts, inside that party's own
process, every ``mpc.output`` call and every MPyC network message.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np


class PartyLog:
    """JSON lines: what this party sent, received and opened (one object per line)."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        self._file = open(self.path, "w", encoding="utf-8") if self.path else None  # noqa: SIM115
        self.start = time.perf_counter()

    def write(self, event: str, **fields) -> None:
        if self._file is None:
            return
        fields = {"event": event, "t": round(time.perf_counter() - self.start, 4), **fields}
        self._file.write(json.dumps(fields, default=_jsonable) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


MESSAGES: dict[str, int] = {}
ACTIVITY = [time.monotonic()]  # when this process last received data from a peer


def count_network(mpc) -> list[int]:
    """Count every ``mpc.output`` (ours and MPyC's masked ones) and every network message."""
    from mpyc import asyncoro

    counter = [0]
    output = mpc.output

    def counted(*args, **kwargs):
        counter[0] += 1
        return output(*args, **kwargs)

    mpc.output = counted
    send, received = asyncoro.MessageExchanger.send, asyncoro.MessageExchanger.data_received

    def counting_send(self, pc, payload):
        MESSAGES["sent"] = MESSAGES.get("sent", 0) + 1
        if not MESSAGES.get("batch open"):  # messages of one event-loop step: one round
            MESSAGES["batch open"] = 1
            MESSAGES["rounds"] = MESSAGES.get("rounds", 0) + 1
            asyncio.get_running_loop().call_soon(MESSAGES.__setitem__, "batch open", 0)
        return send(self, pc, payload)

    def counting_received(self, data):
        MESSAGES["received"] = MESSAGES.get("received", 0) + len(data)
        ACTIVITY[0] = time.monotonic()
        return received(self, data)

    asyncoro.MessageExchanger.send = counting_send
    asyncoro.MessageExchanger.data_received = counting_received
    return counter
