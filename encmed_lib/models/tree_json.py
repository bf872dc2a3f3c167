"""Checking a portable tree that arrives as JSON, field by field.

:meth:`encmed_lib.tree.PortableTree.from_json` may be handed anything: a file
from another hospital, a message from the network.  These checks run before any
field is used, so a wrong type (a threshold written as the text ``"0.5"``, a
child id ``1.0``, a NaN in a class distribution) is a
:class:`~encmed_lib.errors.DataFormatError` that names the field
(``nodes[3].threshold``), never a NumPy ``TypeError`` deep inside scikit-learn.
"""

from __future__ import annotations

import json
import math

import numpy as np

from ..errors import DataFormatError


def parse_json(text) -> object:
    """Decode JSON text (``str`` or UTF-8 ``bytes``) of bounded size; every failure a DataFormatError."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bad(None, "UTF-8 JSON text", f"a byte that is not UTF-8 at offset {exc.start}") from None
    if not isinstance(text, str):
        raise bad(None, "JSON text (str or bytes)", type(text).__name__)
    if len(text) > MAX_JSON_CHARS:
        raise bad(None, f"at most {MAX_JSON_CHARS} characters of JSON", f"{len(text)}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge integers, deep nesting
        raise bad(None, "valid JSON", f"{type(exc).__name__}: {str(exc)[:200]}") from None


MAX_JSON_CHARS = 50_000_000
"""Longest JSON text :meth:`PortableTree.from_json` parses (a depth-20 tree is ~50 MB)."""

NODE_FIELDS = frozenset({"id", "feature", "threshold", "left", "right", "value", "n_samples",
                         "weighted_n_samples", "impurity", "missing_go_to_left"})
"""The fields of :class:`encmed_lib.tree.Node` (the last two may be absent)."""
_NODE_REQUIRED = NODE_FIELDS - {"impurity", "missing_go_to_left"}


def bad(field: str | None, expected: str, found: str | None = None) -> DataFormatError:
    return DataFormatError("portable tree", field, expected, found)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def check_header(data, fmt: str, version: int) -> None:
    """Check the top level of a portable-tree dict: format, version and the types of the lists."""
    if not isinstance(data, dict) or data.get("format") != fmt:
        found = type(data).__name__ if not isinstance(data, dict) else repr(data.get("format"))[:80]
        raise bad("format", f"not a portable tree: expected a JSON object with format {fmt!r}", found)
    if data.get("version") != version:
        raise bad("version", f"portable tree version {data.get('version')!r} is not supported "
                   f"(expected {version})"[:200])
    for key, kind in (("feature_names", list), ("classes", list), ("nodes", list)):
        if key not in data:
            raise bad(key, f"malformed portable tree: a field {key!r}", "none")
        if not isinstance(data[key], kind):
            raise bad(key, f"malformed portable tree: a list for {key!r}", type(data[key]).__name__)
    if not isinstance(data.get("meta", {}), dict):
        raise bad("meta", "malformed portable tree: an object for 'meta'", type(data["meta"]).__name__)
    if not all(isinstance(name, str) for name in data["feature_names"]):
        raise bad("feature_names", "malformed portable tree: feature names that are strings")
    classes = data["classes"]
    if not classes or not all(isinstance(c, str | int | float) and not isinstance(c, bool) for c in classes) \
            or len(set(classes)) != len(classes):
        raise bad("classes", "malformed portable tree: at least one class, distinct strings or numbers")


def check_node(raw, j: int) -> dict:
    """Check one node's fields (JSON types, finite numbers); return them ready for ``Node(**fields)``."""
    where = f"nodes[{j}]"
    if not isinstance(raw, dict):
        raise bad(where, "malformed portable tree: a JSON object per node", type(raw).__name__)
    unknown, absent = set(raw) - NODE_FIELDS, _NODE_REQUIRED - set(raw)
    if unknown or absent:
        raise bad(where, f"malformed portable tree: node fields {sorted(_NODE_REQUIRED)}",
                   f"unknown {sorted(unknown)[:5]}, missing {sorted(absent)}")
    leaf = raw["feature"] is None
    checks = [
        ("id", is_int(raw["id"]), "an integer id"),
        ("feature", leaf or isinstance(raw["feature"], str), "a feature name (a string) or null for a leaf"),
        ("threshold", (raw["threshold"] is None) if leaf else is_number(raw["threshold"]),
         "threshold must be a finite number (a JSON number, not text) at an internal node, null at a leaf"),
        ("left", (raw["left"] is None) if leaf else is_int(raw["left"]),
         "a child node id (or null at a leaf)"),
        ("right", (raw["right"] is None) if leaf else is_int(raw["right"]),
         "a child node id (or null at a leaf)"),
        ("value", isinstance(raw["value"], list) and all(is_number(v) and math.isfinite(v)
                                                         for v in raw["value"]),
         "a list of finite numbers, one per class"),
        ("n_samples", is_int(raw["n_samples"]), "an integer"),
        ("weighted_n_samples", is_number(raw["weighted_n_samples"])
         and math.isfinite(raw["weighted_n_samples"]), "a finite number"),
        ("impurity", is_number(raw.get("impurity", 0.0)) and math.isfinite(raw.get("impurity", 0.0)),
         "a finite number"),
        ("missing_go_to_left", isinstance(raw.get("missing_go_to_left", False), bool), "true or false"),
    ]
    for name, ok, expected in checks:
        if not ok:
            raise bad(f"{where}.{name}", f"node {j}: {expected}", repr(raw.get(name))[:80])
    fields = dict(raw)
    if not leaf:
        fields["threshold"] = float(raw["threshold"])
    return fields
