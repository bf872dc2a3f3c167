"""``python -m encmed_lib.client predict``: a hospital's side of the service, as a command.

Usage::

    python -m encmed_lib.client predict --bucket URL --record patient.json [--timeout 30]
        [--key-bits 2048] [--allow-weak-key] [--mode basic|label-only]
        [--endpoint-url http://127.0.0.1:9000]

``patient.json`` is one JSON object ``{feature: number}`` (``-`` reads it from
standard input).  The command makes a fresh key pair, encrypts the record,
posts ``queries/<id>.json``, waits for ``replies/<id>.json``, decrypts it and
prints the label on standard output.  In label-only mode it also answers the
server's comparisons (``queries/<id>.answers.json``) and waits for the label
(``replies/<id>.answers.json``).

Exit status: 0 and the label; 2 bad arguments or record; 3 the server
answered with an error reply (:class:`~encmed_lib.errors.ServerErrorReply`);
4 no reply within ``--timeout`` (:class:`~encmed_lib.errors.ReplyTimeoutError`);
1 any other named error.  Errors are one line on standard error.

This module is the command; the protocol's client class is
:class:`encmed_lib.protocol.client.Client`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings

from .errors import DomainError, EncmedError, ReplyTimeoutError, ServerErrorReply

__all__ = ["check_reply_text", "load_record", "main", "predict"]

MAX_RECORD_BYTES = 1 << 20
MAX_REPLY_BYTES = 16 << 20


def load_record(path: str) -> dict[str, float]:
    """The record ``{feature: number}`` in a JSON file (``"-"``: standard input).

    Raises
    ------
    DomainError
        The file is unreadable, too large, not a JSON object, or a value is not
        a finite number (the error names the feature).
    """
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_RECORD_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise DomainError(f"cannot read the record file {path!r}: {exc}") from None
    if len(raw) > MAX_RECORD_BYTES:
        raise DomainError(f"the record file {path!r} is larger than {MAX_RECORD_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DomainError(f"the record file {path!r} is not UTF-8 JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict) or not data:
        raise DomainError(f"the record file {path!r} must hold one non-empty JSON object "
                          "{feature: number}")
    for name, value in data.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            raise DomainError(f"record feature {name[:60]!r} must be a finite number, got {value!r:.60}")
    return data


def check_reply_text(text: str) -> str:
    """Return ``text`` unless it is the server's error reply, which raises :class:`ServerErrorReply`."""
    if len(text) > MAX_REPLY_BYTES:
        raise ServerErrorReply(f"the reply is larger than {MAX_REPLY_BYTES} bytes", error="TooLarge")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text  # not JSON: the protocol's parser names what is wrong
    if isinstance(data, dict) and data.get("type") == "error":
        error, message = str(data.get("error", "error"))[:80], str(data.get("message", ""))[:2000]
        raise ServerErrorReply(f"the server refused the message: {error}: {message}",
                               query_id=str(data.get("query_id"))[:80], error=error)
    return text


def _wait(bucket, name: str, deadline: float, poll: float) -> str:
    remaining = max(0.0, deadline - time.monotonic())
    return check_reply_text(bucket.wait_for(name, timeout=remaining, poll=poll))


def predict(bucket, client, record, *, mode: str = "basic", timeout: float = 30.0,
            poll: float = 0.05):
    """Post ``record`` encrypted, wait for the server, decrypt; returns the label.

    Raises
    ------
    ServerErrorReply
        The server answered with an error reply.
    ReplyTimeoutError
        No answer within ``timeout`` seconds (over all rounds).
    """
    from .protocol.bucket_names import query_name, reply_name

    deadline = time.monotonic() + timeout
    if mode == "basic":
        query = client.post(bucket, record)
        return client.decrypt(_wait(bucket, reply_name(query.query_id), deadline, poll))
    from .data.records import record_items
    from .data.schema import schema_for
    from .protocol.label_only import decrypt_label

    # Label-only: the public grid of the record's features, then two rounds (the second: <id>.answers).
    query = client.encrypt_label_only(record, schema_for(name for name, _ in record_items(record)))
    bucket.put_text(query_name(query.query_id), query.to_json())
    comparisons = _wait(bucket, reply_name(query.query_id), deadline, poll)
    answers = f"{query.query_id}.answers"
    bucket.put_text(query_name(answers), client.answer(comparisons).to_json())
    return decrypt_label(client, _wait(bucket, reply_name(answers), deadline, poll))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m encmed_lib.client", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    q = sub.add_parser("predict", help="encrypt a record, post it, wait, decrypt, print the label")
    q.add_argument("--bucket", required=True, help="folder or fsspec URL (s3://bucket/prefix)")
    q.add_argument("--record", required=True, help="JSON file {feature: number}, or - for stdin")
    q.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server")
    q.add_argument("--poll", type=float, default=0.05, help="seconds between two looks")
    q.add_argument("--mode", choices=("basic", "label-only"), default="basic")
    q.add_argument("--key-bits", type=int, default=2048, choices=(1024, 2048, 3072, 4096))
    q.add_argument("--allow-weak-key", action="store_true",
                   help="accept --key-bits 1024 (tests and demonstrations only)")
    q.add_argument("--endpoint-url", default=None, help="S3-compatible endpoint (e.g. moto, MinIO)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (see the module docstring)."""
    args = _parser().parse_args(argv)
    if args.key_bits < 2048 and not args.allow_weak_key:
        print("encmed client: error: --key-bits 1024 is for tests only: add --allow-weak-key",
              file=sys.stderr)
        return 2
    if not (args.timeout >= 0 and args.poll > 0):
        print("encmed client: error: --timeout must be >= 0 and --poll > 0 seconds", file=sys.stderr)
        return 2
    try:
        record = load_record(args.record)
        from .protocol.client import Client
        from .serve import open_bucket

        with warnings.catch_warnings():
            if args.allow_weak_key:
                warnings.simplefilter("ignore")
            client = Client(key_bits=args.key_bits)
        bucket = open_bucket(args.bucket, args.endpoint_url)
        label = predict(bucket, client, record, mode=args.mode, timeout=args.timeout, poll=args.poll)
    except DomainError as exc:
        return _fail(exc, 2)
    except ServerErrorReply as exc:
        return _fail(exc, 3)
    except ReplyTimeoutError as exc:
        return _fail(exc, 4)
    except EncmedError as exc:
        return _fail(exc, 1)
    print(label)
    return 0


def _fail(exc: Exception, code: int) -> int:
    print(f"encmed client: error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
