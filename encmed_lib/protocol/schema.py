"""The protocol's field schemas: keys, feature lists, ciphertext lists and the tree of a reply.

Built on the generic helpers of :mod:`.wire`; used by :mod:`.messages` (parsing
and :meth:`~.messages.Reply.validate`) and by the servers (a key from a
:class:`~.messages.Query` object or a ``{"n": ...}`` dict).

A tree is checked in linear time without recursion.  With ``parent[c]`` the
node naming ``c`` as a child: node 0 has no parent, every other node exactly
one, and a walk from node 0 reaches all of them.  Then the nodes form a tree
(a cycle would need a node with two parents or one unreachable from the
root), so :meth:`~.client.Client.walk` stops at a leaf after at most
``len(nodes)`` steps and reads only slots ``0..n_values-1``.
"""

from __future__ import annotations

import re

from ..crypto.paillier import MIN_KEY_BITS
from ..errors import KeyTooSmallError, MalformedMessageError
from .wire import decimal_int, describe, int_field, list_field, number_field, str_field
from .wire import field as get_field

__all__ = ["MAX_KEY_BITS", "MAX_N_DIGITS", "MAX_PROOF_ITEMS", "MAX_FEATURES", "MAX_TREE_NODES", "MAX_CLASSES",
           "REPLY_MODES", "BLINDINGS", "ID_PATTERN", "KEY_ID_PATTERN", "parse_modulus",
           "parse_public_key", "check_query_id", "check_features", "check_ints", "check_classes",
           "check_tree", "present"]

MAX_KEY_BITS = 8192
"""The largest modulus a message may carry (2,467 decimal digits, far below ``int``'s 4,300)."""

MAX_N_DIGITS = len(str(1 << MAX_KEY_BITS))
"""Decimal digits of the largest modulus (2,467)."""
MAX_PROOF_ITEMS = 64
"""Items of an optional ``public_key.proof`` (key certification, not used yet)."""
MAX_FEATURES = 4096
"""Features of one query."""
MAX_TREE_NODES = 1 << 17
"""Nodes of a reply's tree (and values of a reply)."""
MAX_CLASSES = 1024
"""Class labels of a model."""
REPLY_MODES = ("basic",)
"""The ``mode`` of a :class:`~.messages.Reply` (label-only mode answers with other messages)."""
BLINDINGS = ("full", "multiplicative", "none")
"""The ``blinding`` of a reply (see :class:`~.server.TreeServer`)."""

ID_PATTERN = re.compile(r"[A-Za-z0-9._-]+")
"""Query ids are file-name safe (they name ``queries/<id>.json`` in a bucket)."""

KEY_ID_PATTERN = re.compile(r"[0-9A-Za-z]+")


def check_query_id(query_id, kind: str = "query") -> str:
    """A query id: 1 to 128 characters of ``A-Z a-z 0-9 . _ -`` (it names files in a bucket)."""
    return str_field({"query_id": query_id}, "query_id", kind=kind, max_len=128, pattern=ID_PATTERN)


# ------------------------------------------------------------------ keys
def parse_modulus(value, what: str = "the query's public_key.n") -> int:
    """The Paillier modulus ``n`` of a message: a canonical decimal string (or an int) of an odd n.

    Raises
    ------
    MalformedMessageError
        Not a decimal string, more than :data:`MAX_KEY_BITS` bits, even, or below 3.
    KeyTooSmallError
        Fewer than :data:`~encmed_lib.crypto.paillier.MIN_KEY_BITS` bits.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        n = decimal_int(value, MAX_N_DIGITS, what=what)
    bits = n.bit_length()
    if bits > MAX_KEY_BITS:
        raise MalformedMessageError(f"{what} has {bits} bits; at most {MAX_KEY_BITS} are accepted")
    if n < 3 or n % 2 == 0:
        raise MalformedMessageError(f"{what} must be an odd integer >= 3 (a product of two odd primes), "
                                    f"got {describe(n)}")
    if bits < MIN_KEY_BITS:
        raise KeyTooSmallError(f"the query's key has {bits} bits; this server accepts "
                               f"{MIN_KEY_BITS} bits or more (2048 recommended)")
    return n


def parse_public_key(key, kind: str = "query") -> tuple[dict, int]:
    """``({"n": text[, "proof": [...]]}, n)`` from a message's ``public_key`` object.

    Other fields (such as an old ``"hs": null``) are dropped: the server takes
    nothing but ``n`` from a client.  ``proof``, if present, is a list of at most
    :data:`MAX_PROOF_ITEMS` decimal strings, none longer than ``n``'s; it is kept
    for key certification and not used yet.
    """
    if not isinstance(key, dict):
        raise MalformedMessageError(f"the {kind}'s 'public_key' field must be an object, got {describe(key)}")
    if "n" not in key:
        raise MalformedMessageError(f"the {kind}'s public_key has no 'n' field")
    n_text = key["n"]
    if not isinstance(n_text, str):
        raise MalformedMessageError(f"the {kind}'s public_key.n must be a decimal string, got "
                                    f"{describe(n_text)}")
    parse_modulus(n_text, f"the {kind}'s public_key.n")
    n = int(n_text)
    out = {"n": n_text}
    if "proof" in key:
        proof = list_field(key, "proof", kind=kind, path="public_key.proof", max_len=MAX_PROOF_ITEMS)
        for i, item in enumerate(proof):
            decimal_int(item, len(out["n"]), what=f"the {kind}'s public_key.proof[{i}]")
        out["proof"] = list(proof)
    return out, n


def present(data: dict, name: str, kind: str):
    if name not in data:
        raise MalformedMessageError(f"the {kind} has no {name!r} field")
    return data[name]


def check_features(features, kind: str, count: int | None = None, path: str = "features") -> None:
    if not isinstance(features, list):
        raise MalformedMessageError(f"the {kind}'s {path!r} field must be a list, got {describe(features)}")
    holder = {path: features}
    list_field(holder, path, kind=kind, max_len=MAX_FEATURES, min_len=0 if count == 0 else 1, items=str)
    for i, name in enumerate(features):
        str_field({path: name}, path, kind=kind, path=f"{path}[{i}]", max_len=1024)
    if count is None and len(set(features)) != len(features):
        raise MalformedMessageError(f"the {kind}'s features must be distinct strings")
    if count is not None and len(features) != count:
        raise MalformedMessageError(f"the {kind} names {len(features)} features for {count} values")


def check_ints(values, kind: str, path: str, max_bits: int) -> None:
    if not isinstance(values, list):
        raise MalformedMessageError(f"the {kind}'s {path!r} must be a list, got {describe(values)}")
    for i, c in enumerate(values):
        if isinstance(c, bool) or not isinstance(c, int) or c < 0 or c.bit_length() > max_bits:
            raise MalformedMessageError(f"the {kind}'s {path}[{i}] must be an integer in [0, 2**{max_bits}), "
                                        f"got {describe(c)}")


# ------------------------------------------------------------------ reply
def _check_label(value, kind: str, path: str) -> None:
    if isinstance(value, str):
        str_field({path: value}, path, kind=kind, min_len=0, max_len=256)
    elif isinstance(value, bool | int):
        int_field({path: int(value)}, path, kind=kind, min=-(1 << 63), max=1 << 64)
    elif isinstance(value, float):
        number_field({path: value}, path, kind=kind)
    else:
        raise MalformedMessageError(f"the {kind}'s {path} must be a string or a number, "
                                    f"got {describe(value)}")


def check_classes(classes, kind: str, path: str = "classes") -> list:
    """Class labels: 1 to :data:`MAX_CLASSES` distinct strings or numbers."""
    list_field({path: classes}, path, kind=kind, min_len=1, max_len=MAX_CLASSES)
    for i, c in enumerate(classes):
        _check_label(c, kind, f"{path}[{i}]")
    if len(set(classes)) != len(classes):
        raise MalformedMessageError(f"the {kind}'s {path} must be distinct, got {describe(classes)}")
    return classes


def _check_node(node, i: int, n_nodes: int, n_values: int, classes: set, kind: str) -> tuple | None:
    """``(left, right, slot)`` of internal node ``i``, or None for a leaf (checked)."""
    path = f"tree.nodes[{i}]"
    if not isinstance(node, dict):
        raise MalformedMessageError(f"the {kind}'s {path} must be an object, got {describe(node)}")
    if "slot" in node or "left" in node or "right" in node:
        if "label" in node:
            raise MalformedMessageError(f"the {kind}'s {path} has both children and a label")
        left, right = (int_field(node, side, kind=kind, path=f"{path}.{side}", min=1, max=n_nodes - 1)
                       for side in ("left", "right"))
        if n_values < 1:
            raise MalformedMessageError(f"the {kind}'s {path} is an internal node but n_values is 0")
        slot = int_field(node, "slot", kind=kind, path=f"{path}.slot", min=0, max=n_values - 1)
        return left, right, slot
    if "label" not in node:
        raise MalformedMessageError(f"the {kind}'s {path} has neither children nor a 'label'")
    label = node["label"]
    _check_label(label, kind, f"{path}.label")
    if label not in classes:
        raise MalformedMessageError(f"the {kind}'s {path}.label {describe(label)} is not one of the classes")
    if "distribution" in node:
        shares = list_field(node, "distribution", kind=kind, path=f"{path}.distribution",
                            min_len=len(classes), max_len=len(classes))
        for k in range(len(shares)):
            number_field({"share": shares[k]}, "share", kind=kind, path=f"{path}.distribution[{k}]", min=0)
    return None


def check_tree(tree, n_values: int, kind: str = "reply") -> None:
    """Check a reply's public tree: a rooted binary tree whose internal nodes hold slots ``0..n_values-1``.

    Node 0 is the root; every other node is the child of exactly one node and
    is reached from the root (so there is no cycle); slots are distinct; every
    leaf's label is one of ``classes``.
    """
    if not isinstance(tree, dict):
        raise MalformedMessageError(f"the {kind}'s 'tree' field must be an object, got {describe(tree)}")
    classes = set(check_classes(get_field(tree, "classes", list, kind=kind, path="tree.classes"), kind,
                                "tree.classes"))
    nodes = list_field(tree, "nodes", kind=kind, path="tree.nodes", min_len=1, max_len=MAX_TREE_NODES)
    parent = [-1] * len(nodes)
    slots = [-1] * n_values
    for i, node in enumerate(nodes):
        internal = _check_node(node, i, len(nodes), n_values, classes, kind)
        if internal is None:
            continue
        left, right, slot = internal
        if slots[slot] >= 0:
            raise MalformedMessageError(f"the {kind}'s tree.nodes[{i}] and [{slots[slot]}] share slot {slot}")
        slots[slot] = i
        for child in (left, right):
            if child == i:
                raise MalformedMessageError(f"the {kind}'s tree.nodes[{i}] is its own child: not a tree")
            if parent[child] >= 0:
                raise MalformedMessageError(f"the {kind}'s tree.nodes[{child}] has two parents "
                                            f"({parent[child]} and {i}): not a tree")
            parent[child] = i
    if -1 in slots:
        raise MalformedMessageError(f"the {kind}'s tree has {n_values - slots.count(-1)} internal nodes "
                                    f"for n_values = {n_values}")
    reached, stack = 0, [0]
    while stack:  # every node has one parent, so this visits each reachable node once
        j = stack.pop()
        reached += 1
        node = nodes[j]
        if "slot" in node:
            stack.extend((node["left"], node["right"]))
    if reached != len(nodes):
        raise MalformedMessageError(f"the {kind}'s tree has {len(nodes) - reached} node(s) not reached "
                                    "from the root (a cycle, or a detached part)")


