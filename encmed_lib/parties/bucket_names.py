"""Moved to :mod:`encmed_lib.protocol.bucket_names`: the naming convention is the protocol's.

Kept importable under its old name.
"""

from ..protocol.bucket_names import (
    NAME_RULES,
    PART_RE,
    TMP_MARKER,
    check_part,
    is_valid_name,
    query_name,
    reply_name,
    validate_name,
    validate_query_id,
)

__all__ = ["NAME_RULES", "PART_RE", "TMP_MARKER", "check_part", "is_valid_name", "query_name", "reply_name",
           "validate_name", "validate_query_id"]
