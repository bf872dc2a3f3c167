"""Names of messages in a bucket: what a key may look like, and the query/reply names.

The naming convention is the protocol's: a client posts query ``<id>`` as
``queries/<id>.json`` and reads its reply at ``replies/<id>.json``
(:func:`query_name`, :func:`reply_name`), whatever carries the text
(:class:`~encmed_lib.transport.Bucket`, or any object with the same methods).

A message name is a relative key such as ``"queries/3f2a.json"``: parts
separated by ``/``, each made of letters, digits, ``.``, ``_`` and ``-``.
Absolute paths, ``..`` and empty parts are refused, so that a name can never
escape from the bucket; names containing ``.tmp-`` are reserved for temporary
files.  Every refusal is a :class:`~encmed_lib.errors.BucketNameError` (also a
``ValueError``) that quotes the name and states the rule.
"""

from __future__ import annotations

import re

from ..errors import BucketNameError

__all__ = ["NAME_RULES", "PART_RE", "TMP_MARKER", "check_part", "is_valid_name", "query_name", "reply_name",
           "validate_name", "validate_query_id"]

#: Temporary files of writes in progress are named ``<name>.tmp-<random>``: names containing it are reserved.
TMP_MARKER = ".tmp-"
#: Characters allowed in one part of a message name.
PART_RE = re.compile(r"[A-Za-z0-9._-]+")
NAME_RULES = (
    "message names are relative keys such as 'queries/<query_id>.json': parts "
    "separated by '/', each part non-empty, not '.' or '..', and made only of "
    "the characters A-Z a-z 0-9 '.' '_' '-'"
)

def check_part(part: str, what: str, value: str) -> None:
    """Raise :class:`BucketNameError` unless `part` is one valid part of a name."""
    if part == "":
        raise BucketNameError(f"invalid {what} {value!r}: empty part; {NAME_RULES}")
    if part in (".", ".."):
        raise BucketNameError(f"invalid {what} {value!r}: part {part!r} is not allowed; {NAME_RULES}")
    if not PART_RE.fullmatch(part):
        bad = sorted({c for c in part if not PART_RE.fullmatch(c)})
        raise BucketNameError(
            f"invalid {what} {value!r}: character(s) {''.join(bad)!r} not allowed; {NAME_RULES}"
        )
    if TMP_MARKER in part:
        raise BucketNameError(f"invalid {what} {value!r}: {TMP_MARKER!r} is reserved for temporary files")


def validate_name(name: str) -> str:
    """Return `name` if it is a valid message name, else raise :class:`BucketNameError`.

    Parameters
    ----------
    name : str
        Candidate name, e.g. ``"queries/abc.json"``.

    Returns
    -------
    str
        The same name.

    Raises
    ------
    BucketNameError
        If the name is not a string, is absolute, contains ``..``, an empty
        part, a character outside ``[A-Za-z0-9._-]`` and ``/``, or the
        reserved ``.tmp-`` (also a ``ValueError``).
    """
    if not isinstance(name, str):
        raise BucketNameError(f"message name must be a str, not {type(name).__name__}; {NAME_RULES}")
    if name.startswith("/"):
        raise BucketNameError(f"invalid message name {name!r}: absolute paths are not allowed; {NAME_RULES}")
    for part in name.split("/"):
        check_part(part, "message name", name)
    return name


def is_valid_name(name: str) -> bool:
    try:
        validate_name(name)
    except ValueError:
        return False
    return True


def validate_query_id(query_id: str) -> str:
    if not isinstance(query_id, str):
        raise BucketNameError(f"query id must be a str, not {type(query_id).__name__}")
    if "/" in query_id:
        raise BucketNameError(f"invalid query id {query_id!r}: it must not contain '/'")
    check_part(query_id, "query id", query_id)
    return query_id


def _message_name(folder: str, query_id: str) -> str:
    """``"<folder>/<query_id>.json"``, after checking ``query_id`` (:func:`validate_query_id`)."""
    return f"{folder}/{validate_query_id(query_id)}.json"


def query_name(query_id: str) -> str:
    """Name of the message that carries query `query_id`: ``"queries/<query_id>.json"``.

    Raises
    ------
    BucketNameError
        If `query_id` is not a valid single name part (also a ``ValueError``).
    """
    return _message_name("queries", query_id)


def reply_name(query_id: str) -> str:
    """Name of the message that carries the reply to query `query_id`: ``"replies/<query_id>.json"``.

    Raises
    ------
    BucketNameError
        If `query_id` is not a valid single name part (also a ``ValueError``).
    """
    return _message_name("replies", query_id)
