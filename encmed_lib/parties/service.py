"""The model server as a service: watch a bucket, answer every message exactly once, until stopped.

:class:`ModelService` repeats the protocol's pass
(:class:`~encmed_lib.protocol.answering.BucketAnswerer`: claims, error replies,
quarantine, clean-up; its module docstring explains the names, the
exactly-once claims and the treatment of hostile input) until a stop event is
set, logging one line per message on the ``encmed.serve`` logger; ``python -m
encmed_lib.serve`` runs it in its own process.  The pass's names stay
importable from here.
"""

from __future__ import annotations

import threading

from ..errors import TransportError
from ..protocol.answering import (
    CLAIMS,
    INBOX,
    MAX_MESSAGE_BYTES,
    MESSAGE_RE,
    OUTBOX,
    PROTOCOL,
    PROTOCOL_VERSION,
    QUARANTINE,
    BucketAnswerer,
    Handlers,
    Outcome,
    error_reply,
    handlers_for,
    log,
)
from ..protocol.answering import answer_pending as serve_pending

__all__ = ["ModelService", "Outcome", "error_reply", "handlers_for", "serve_pending",
           "CLAIMS", "INBOX", "MAX_MESSAGE_BYTES", "MESSAGE_RE", "OUTBOX", "PROTOCOL", "PROTOCOL_VERSION",
           "QUARANTINE", "Handlers"]


class ModelService(BucketAnswerer):
    """Answer the messages of a bucket with a model server, each exactly once, pass after pass.

    The constructor and its parameters are :class:`~encmed_lib.protocol.answering.BucketAnswerer`'s
    (``server``, ``bucket``, ``handlers``, ``claim_ttl``, ``stale_after``,
    ``cleanup_every``); this class adds the polling loop (:meth:`run`), which
    logs and retries when the bucket cannot be reached.
    """

    def run(self, stop: threading.Event, poll: float = 0.2) -> None:
        """Poll until ``stop`` is set; the message being handled is always finished first."""
        log.info("serving bucket %s (%s mode, types %s) as %s", self.bucket.url,
                 getattr(self.server, "mode", "basic"), sorted(self.handlers), self.token)
        last_failure = ""
        while not stop.is_set():
            try:
                handled = self.poll_once(stop)
                last_failure = ""
            except TransportError as exc:  # unreachable bucket, a link at queries/: log once, retry
                if str(exc) != last_failure:
                    log.warning("poll failed (retrying every %g s): %s", poll, exc)
                last_failure, handled = str(exc), []
            if not handled:
                stop.wait(poll)
        log.info("stopped: %s", ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items())) or "idle")
