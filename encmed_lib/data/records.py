"""One record: the ``(feature, value)`` pairs of a pandas Series, a dict or a one-row DataFrame."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import DomainError

__all__ = ["record_items"]


def record_items(record) -> list[tuple[str, object]]:
    """``(name, value)`` pairs of a pandas Series, a dict or a one-row DataFrame."""
    if hasattr(record, "iloc") and getattr(record, "ndim", 1) == 2:
        if len(record) != 1:
            raise DomainError(f"expected one record, got a table of {len(record)} rows: "
                              "encrypt rows one at a time (or use encmed_lib.scale)")
        record = record.iloc[0]
    if hasattr(record, "items"):
        items = [(str(k), v) for k, v in record.items()]
    elif isinstance(record, Mapping):
        items = [(str(k), v) for k, v in record.items()]
    else:
        raise DomainError(f"a record must be a pandas Series or a dict of feature -> number, "
                          f"got {type(record).__name__}")
    if not items:
        raise DomainError("the record has no features")
    return items
