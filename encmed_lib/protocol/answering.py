"""Answering the messages of a bucket, each exactly once: one pass of the model server.

One pass (:meth:`ModelService.poll_once`) lists the bucket and handles each
inbound message that nobody has answered, claimed or set aside yet:

======================================  =============================================
inbound (client -> server)              outbound (server -> client)
======================================  =============================================
``queries/<id>.json``                   ``replies/<id>.json``
``queries/<id>.<step>.json``            ``replies/<id>.<step>.json`` (later rounds)
======================================  =============================================

``<id>`` is 8 to 64 lower-case hex digits (the client draws 32), ``<step>``
lower-case letters (``answers`` in label-only mode).  What to do with a
message is looked up by its JSON ``type`` in a table ``{type: server method}``
(:func:`handlers_for`): basic mode answers ``"query"`` with
:meth:`~encmed_lib.protocol.server.TreeServer.evaluate`, label-only mode
``"lo-query"`` with ``evaluate`` and ``"lo-answers"`` with ``finish``.  A
handler takes the message text and returns a message with ``to_json()``.

**Exactly once.**  Before handling ``<key>`` a server creates
``claims/<key>.c1`` with :meth:`~encmed_lib.transport.Bucket.create_exclusive`:
on a folder a hard link, which fails if the name exists; on S3 a conditional
``PUT`` (``If-None-Match: *``).  One server wins, the others move on.  The
winner checks that no reply exists yet (a reply may have been written and its
claim removed since it listed the bucket), writes the reply, then deletes the
claim.  A claim older than ``claim_ttl`` seconds without a reply belongs to a
server that died: the next claim ``claims/<key>.c2`` is again created
exclusively, so exactly one survivor takes over.  Later rounds of a message
(``<id>.answers``) are handled only by the server that answered ``<id>``, since it
holds that query's state in memory.  On fsspec filesystems other than a folder
and S3 the claim is a check followed by a write: two servers may then both
answer (documented in :meth:`~encmed_lib.transport.Bucket.create_exclusive`).

**Hostile input.**  A message that cannot be parsed or evaluated gets an error
reply ``{"type": "error", "error": <class name>, "message": ...}`` (for errors
that are not :class:`~encmed_lib.errors.EncmedError` the message is generic,
so that nothing internal leaks) and the loop goes on.  A message that cannot
even be answered -- a name that is not ``queries/<hex id>[.<step>].json``
(nested keys, odd characters, lone surrogates), a symbolic link, or a reply
path that is a link -- is set aside as ``quarantine/<sha256 of the name>.json``
with the name and the reason, and skipped from then on.  Every
``cleanup_every`` seconds the service removes stale temporary files of killed
writers (``*.tmp-*`` older than ``stale_after`` seconds) and the claims of
messages that have a reply.

The pass needs only the bucket's methods (``list``, ``scan``, ``exists``,
``get_text``, ``put_text``, ``create_exclusive``, ``delete``,
``remove_stale_temporaries``: :class:`MessageBucket`) and the server's
methods named in :func:`handlers_for`, so it lives with the protocol:
:meth:`~encmed_lib.protocol.server.TreeServer.serve` makes one pass
(:func:`answer_pending`), and :class:`encmed_lib.parties.service.ModelService`
repeats it as a long-running service.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..errors import EncmedError, TransportError, UnsafePathError

__all__ = ["BucketAnswerer", "MessageBucket", "Outcome", "answer_pending", "error_reply", "handlers_for",
           "INBOX", "OUTBOX", "CLAIMS", "QUARANTINE", "MESSAGE_RE", "MAX_MESSAGE_BYTES"]

INBOX, OUTBOX, CLAIMS, QUARANTINE = "queries/", "replies/", "claims/", "quarantine/"
#: Inbound names the service answers: ``queries/<hex id>.json`` or ``queries/<hex id>.<step>.json``.
MESSAGE_RE = re.compile(r"queries/(?P<id>[0-9a-f]{8,64})(?:\.(?P<step>[a-z]{1,16}))?\.json")
MAX_MESSAGE_BYTES = 16 * 2**20
PROTOCOL, PROTOCOL_VERSION = "encmed-tree", 1

log = logging.getLogger("encmed.serve")

Handlers = Mapping[str, Callable[[str], object]]


class MessageBucket(Protocol):
    """What a pass needs of a bucket (:class:`~encmed_lib.transport.Bucket` has it all)."""

    def list(self, prefix: str = "") -> list[str]: ...
    def scan(self, prefix: str = "") -> list[str]: ...
    def exists(self, name: str) -> bool: ...
    def get_text(self, name: str, max_bytes: int | None = None) -> str: ...
    def put_text(self, name: str, text: str) -> str: ...
    def create_exclusive(self, name: str, text: str) -> bool: ...
    def delete(self, name: str, missing_ok: bool = False) -> None: ...
    def remove_stale_temporaries(self, older_than: float = 3600.0) -> list[str]: ...


@dataclass
class Outcome:
    """What happened to one inbound message: ``answered``, ``error-reply`` or ``quarantined``."""

    name: str
    outcome: str
    ms: float
    detail: str = ""

    def log_line(self) -> str:
        text = f"{ascii(self.name)[1:-1]} {self.outcome} {self.ms:.1f} ms"
        detail = " ".join(self.detail.split())  # one line, whatever the reason says
        return f"{text} ({detail})" if detail else text


def handlers_for(server) -> dict[str, Callable[[str], object]]:
    """The server's table ``{message type: method}``, from its mode's message classes.

    Basic mode: ``{"query": evaluate}``.  Label-only mode: its first message
    (:class:`~encmed_lib.protocol.label_only.messages.LabelQuery`) to
    ``evaluate`` and the client's answers
    (:class:`~encmed_lib.protocol.label_only.messages.Answers`) to ``finish``.
    """
    if getattr(server, "mode", "basic") != "label-only":
        return {"query": server.evaluate}
    from ..protocol.label_only.messages import Answers, LabelQuery

    return {LabelQuery.kind: server.evaluate, Answers.kind: server.finish}


def error_reply(key: str, exc: BaseException) -> str:
    """The JSON error reply to message ``key``: the error's class and, if ours, its message."""
    if isinstance(exc, EncmedError):
        name, message = type(exc).__name__, str(exc)[:2000]
    else:
        name, message = "InternalError", "the server could not process this message (see its log)"
    return json.dumps({"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "type": "error",
                       "query_id": key.split(".")[0], "message_key": key, "error": name,
                       "message": message})


def _message_type(text: str, query_id: str) -> str:
    """The ``type`` of a message, after checking that its ``query_id`` is the one in its name."""
    from ..errors import MalformedMessageError

    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessageError(f"a message must be a JSON object; could not parse it: "
                                    f"{str(exc)[:200]}") from None
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str):
        raise MalformedMessageError("a message must be a JSON object with a string 'type' field")
    if data.get("query_id") != query_id:
        raise MalformedMessageError(f"the message's query_id {str(data.get('query_id'))[:80]!r} is not "
                                    f"the id in its name, {query_id!r}")
    return kind


class BucketAnswerer:
    """One pass at a time: answer the messages of a bucket with a model server, each exactly once.

    Parameters
    ----------
    server : TreeServer
        The model (basic or label-only).
    bucket : MessageBucket
        Where the messages are (a :class:`~encmed_lib.transport.Bucket`).
    handlers : mapping, optional
        ``{message type: callable(text) -> message}``; default :func:`handlers_for`.
    claim_ttl : float
        Seconds after which an unanswered claim is taken for a dead server's.
    stale_after : float
        Age (seconds) of a ``*.tmp-*`` file beyond which it is a killed writer's.
    cleanup_every : float
        Seconds between two sweeps of stale temporaries.
    """

    def __init__(self, server, bucket: MessageBucket, *, handlers: Handlers | None = None,
                 claim_ttl: float = 600.0, stale_after: float = 3600.0, cleanup_every: float = 60.0):
        self.server, self.bucket = server, bucket
        self.handlers = dict(handlers if handlers is not None else handlers_for(server))
        self.claim_ttl, self.stale_after, self.cleanup_every = claim_ttl, stale_after, cleanup_every
        self.token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        self.owned: set[str] = set()  # ids this process answered (it holds their later rounds)
        self._seen_claimed: dict[str, float] = {}
        self._set_aside: set[str] = set()
        self._last_cleanup = 0.0
        self.counts: dict[str, int] = {}

    # -------------------------------------------------------------- one pass
    def pending(self) -> list[tuple[str, int]]:
        """Inbound names to handle now, each with the claim attempt to make."""
        replies = {n[len(OUTBOX):-5] for n in self.bucket.list(OUTBOX) if n.endswith(".json")}
        claims: dict[str, int] = {}
        for name in self.bucket.list(CLAIMS):
            key, _, attempt = name[len(CLAIMS):].rpartition(".c")
            if attempt.isdigit():
                claims[key] = max(claims.get(key, 0), int(attempt))
        quarantined = {n[len(QUARANTINE):-5] for n in self.bucket.list(QUARANTINE)}
        out = []
        now = time.monotonic()
        for name in self.bucket.scan(INBOX):
            if name in self._set_aside or _quarantine_key(name) in quarantined:
                continue
            match = MESSAGE_RE.fullmatch(name)
            if match is None:
                out.append((name, 0))  # to quarantine
                continue
            key = name[len(INBOX):-5]
            if key in replies:
                continue
            if match["step"] and match["id"] not in self.owned:
                continue  # a later round of another server's query
            if key not in claims:
                out.append((name, 1))
            elif now - self._seen_claimed.setdefault(key, now) > self.claim_ttl:
                out.append((name, claims[key] + 1))  # its server died: take over
        return out

    def poll_once(self, stop: threading.Event | None = None) -> list[Outcome]:
        """Handle every pending message once (stopping early if ``stop`` is set)."""
        self._maybe_cleanup()
        outcomes = []
        for name, attempt in self.pending():
            if stop is not None and stop.is_set():
                break
            outcome = self.handle(name, attempt)
            if outcome is not None:
                outcomes.append(outcome)
                self.counts[outcome.outcome] = self.counts.get(outcome.outcome, 0) + 1
                log.info(outcome.log_line())
        return outcomes

    # -------------------------------------------------------- one message
    def handle(self, name: str, attempt: int) -> Outcome | None:
        """Claim, answer and release one inbound message; None if another server has it."""
        start = time.perf_counter()
        if attempt == 0:
            return self._quarantine(name, start, "not a message name this service answers: expected "
                                    "queries/<8-64 lower-case hex digits>[.<step>].json")
        key = name[len(INBOX):-5]
        claim = f"{CLAIMS}{key}.c{attempt}"
        try:
            if not self.bucket.create_exclusive(claim, json.dumps({"server": self.token,
                                                                   "time": time.time()})):
                return None
        except UnsafePathError as exc:
            return self._quarantine(name, start, str(exc))
        try:
            return self._answer(name, key, start)
        finally:
            self._seen_claimed.pop(key, None)
            try:
                self.bucket.delete(claim, missing_ok=True)
            except TransportError as exc:  # the reply is written; a leftover claim is harmless
                log.warning("could not release %s: %s", claim, exc)

    def _answer(self, name: str, key: str, start: float) -> Outcome | None:
        reply = f"{OUTBOX}{key}.json"
        try:
            if self.bucket.exists(reply):
                return None  # answered meanwhile by a server whose claim is gone
        except UnsafePathError as exc:
            return self._quarantine(name, start, str(exc))
        outcome, detail = "answered", ""
        try:
            # Too large, not UTF-8, a link: a property of the message, answered like a bad message.
            text = self.bucket.get_text(name, max_bytes=MAX_MESSAGE_BYTES)
            kind = _message_type(text, key.split(".")[0])
            handler = self.handlers.get(kind)
            if handler is None:
                from ..errors import MalformedMessageError

                raise MalformedMessageError(f"this server answers messages of type {sorted(self.handlers)}"
                                            f", not {kind[:40]!r}")
            answer = handler(text).to_json()
        except Exception as exc:  # one bad message never stops the service
            if isinstance(exc, UnsafePathError):
                return self._quarantine(name, start, str(exc))
            answer, outcome, detail = error_reply(key, exc), "error-reply", type(exc).__name__
            if not isinstance(exc, EncmedError):
                log.exception("internal error on %s", ascii(name))
        try:
            self.bucket.put_text(reply, answer)
        except UnsafePathError as exc:
            return self._quarantine(name, start, str(exc))
        self.owned.add(key.split(".")[0])
        return Outcome(name, outcome, 1000 * (time.perf_counter() - start), detail)

    def _quarantine(self, name: str, start: float, reason: str) -> Outcome:
        entry = f"{QUARANTINE}{_quarantine_key(name)}.json"
        record = json.dumps({"name": name, "reason": reason, "time": time.time(), "server": self.token})
        self._set_aside.add(name)
        try:
            self.bucket.put_text(entry, record)
        except TransportError as exc:
            reason = f"{reason}; could not write {entry}: {exc}"
        return Outcome(name, "quarantined", 1000 * (time.perf_counter() - start), reason[:300])

    def _maybe_cleanup(self) -> None:
        now = time.monotonic()
        if now - self._last_cleanup < self.cleanup_every:
            return
        self._last_cleanup = now
        try:
            for name in self.bucket.remove_stale_temporaries(self.stale_after):
                log.info("removed stale temporary %s", ascii(name))
            # A claim whose message has a reply is a leftover (of a server that died after
            # replying); removing one is harmless even if its server is about to remove it.
            replies = set(self.bucket.list(OUTBOX))
            for claim in self.bucket.list(CLAIMS):
                key = claim[len(CLAIMS):].rpartition(".c")[0]
                if f"{OUTBOX}{key}.json" in replies:
                    self.bucket.delete(claim, missing_ok=True)
                    log.info("removed leftover claim %s", claim)
        except TransportError as exc:
            log.warning("clean-up sweep failed: %s", exc)


def _quarantine_key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]



def answer_pending(server, bucket: MessageBucket) -> list[str]:
    """One pass over ``bucket``: the keys answered (errors and quarantine are logged)."""
    answerer = BucketAnswerer(server, bucket, cleanup_every=float("inf"))
    return [o.name[len(INBOX):-5] for o in answerer.poll_once() if o.outcome == "answered"]
