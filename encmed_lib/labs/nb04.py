"""Exercises of notebook 04 (the server): their checkers.

Each ``check_04_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import (
    Exercise,
    as_number,
    as_portable_tree,
    is_close,
    ok,
    record_dict,
)

_S04 = "04_encrypted_server.ipynb"


def check_04_recovered_threshold(recovered, server_or_tree, slot: int = 1) -> str:
    """Exercise 04.1: the threshold of internal node ``slot`` recovered from one unblinded reply.

    ``server_or_tree`` is the :class:`~encmed_lib.TreeServer` (or its tree): the
    checker reads the true threshold, as the teacher's checks of notebook 04
    do.  The recovery is exact to ``2**-40``.
    """
    from ..crypto.encoding import SCALE

    ex = Exercise("04.1 (threshold from an unblinded reply)",
                  f'{_S04}, section "4a · The original design: no blinding"')
    nodes = as_portable_tree(server_or_tree).internal_nodes()
    if not 0 <= slot < len(nodes):
        raise ValueError(f"slot must be in [0, {len(nodes)}), got {slot}")
    node = nodes[slot]
    t = float(node.threshold)
    expected = f"the threshold of slot {slot} in feature units (a number such as 0.95), exact to 2**-40"
    value = as_number(recovered, ex, expected)
    if is_close(value, t, 2.0 ** -39):
        return ok(f"slot {slot} compares {node.feature} with {t!r}: one unblinded reply gives it exactly")
    if is_close(value / SCALE, t, 2.0 ** -39):
        raise ex.fail(expected, recovered, "this is T = v + X on the integer scale: divide by 2**40 "
                      "(SCALE) to return to feature units")
    if is_close(value, t, 1e-3):
        raise ex.fail(expected, recovered, "close, but the recovery is exact: do not round, and add the "
                      "encoded value X = encode_value(x) (not x itself) before dividing by 2**40")
    for j, other in enumerate(nodes):
        if j != slot and is_close(value, float(other.threshold), 2.0 ** -39):
            raise ex.fail(expected, recovered, f"that is the threshold of slot {j}: use value number "
                          f"{slot} of client.decrypt_values(reply) and reply.features[{slot}]")
    raise ex.fail(expected, recovered, "with no blinding v = T - X: add the encoded value of the feature "
                  f"that slot {slot} compares (reply.features[{slot}]), X = encode_value(record[feature]), "
                  "then divide by SCALE = 2**40")


def check_04_blinded_value(ciphertext, client, record, server_or_tree, r: int, s: int, slot: int = 0) -> str:
    """Exercise 04.2: ``ciphertext`` must be E(r·(T - X) + s) for internal node ``slot`` and ``record``.

    Decrypted with ``client``'s private key (a teacher's check); ``T`` is the
    node's encoded threshold, ``X`` the record's encoded value of its feature.
    """
    from phe import EncryptedNumber

    from ..crypto.encoding import encode_threshold, encode_value
    from ..errors import CiphertextRangeError

    ex = Exercise("04.2 (one node, by hand)", f'{_S04}, section "One node, by hand"')
    node = as_portable_tree(server_or_tree).internal_nodes()[slot]
    T = encode_threshold(node.threshold)
    X = encode_value(record_dict(record)[node.feature], node.feature)
    right = r * (T - X) + s
    expected = f"a ciphertext under the client's key of v = r·(T - X) + s for slot {slot} ({node.feature})"
    if isinstance(ciphertext, EncryptedNumber):
        ciphertext = ciphertext.ciphertext(be_secure=False)
    if isinstance(ciphertext, (bool, np.bool_)) or not isinstance(ciphertext, numbers.Integral):
        raise ex.fail(expected, ciphertext, "build it with key.mul_plain(...) and key.add_plain(...) from "
                      "E(-X) = negated[feature] (server.encrypted_inputs(query))")
    key = client.public_key
    try:
        if int(ciphertext) < key.n:  # a ciphertext below n happens with probability about 1/n
            raise CiphertextRangeError("a plain number")
        key.check_ciphertext(int(ciphertext))
    except CiphertextRangeError:
        raise ex.fail(expected, ciphertext, "this is not a ciphertext under the client's key: did you "
                      "compute v in clear? The server never decrypts") from None
    v = client.private_key.decrypt_signed(int(ciphertext))
    if v == right:
        side = "left" if v >= 0 else "right"
        return ok(f"E(v) decrypts to r·(T - X) + s = {v}; v {'>=' if v >= 0 else '<'} 0, so the record "
                  f"goes {side} at slot {slot} ({node.feature} <= {node.threshold!r})")
    shown = f"a ciphertext that decrypts to {v}"
    if v == r * (X - T) + s:
        raise ex.fail(expected, None, "the sign of d is reversed: start from E(-X) (negated[feature]), "
                      "multiply it by r, then add r·T + s", shown=shown)
    if v == r * (T - X):
        raise ex.fail(expected, None, "you forgot the additive blind: add r·T + s, not r·T", shown=shown)
    if v in (T - X, T - X + s):
        raise ex.fail(expected, None, "the multiplicative blind is missing: key.mul_plain(E(-X), r) "
                      "gives E(-r·X)", shown=shown)
    if v == -X * r or v == -X:
        raise ex.fail(expected, None, "now add the known number r·T + s with key.add_plain", shown=shown)
    raise ex.fail(expected, None, "E(v) = E(-X)^r · (1 + (r·T + s)·n): key.add_plain(key.mul_plain("
                  "negated[feature], r), r * T + s) with T = encode_threshold(threshold)", shown=shown)


def check_04_pack_count(packs, tree, key_bits: int) -> str:
    """Exercise 04.3: how many ciphertexts (packs) the server returns for ``tree`` at ``key_bits``."""
    from ..protocol.messages import SLOT_BITS, slots_per_pack

    ex = Exercise("04.3 (packs)", f'{_S04}, section "Packing"')
    expected = (f"the number of packed ciphertexts in one reply for this tree at {key_bits} bits "
                "(a whole number)")
    value = as_number(packs, ex, expected, integer=True)
    pt = as_portable_tree(tree)
    n_values = len(pt.internal_nodes())
    per = slots_per_pack(key_bits)
    right = -(-n_values // per)
    if value == right:
        return ok(f"{n_values} blinded values, {per} slots of {SLOT_BITS} bits per {key_bits}-bit pack: "
                  f"{right} ciphertext(s) instead of {n_values}")
    if value == n_values:
        raise ex.fail(expected, packs, "that is one ciphertext per internal node: the unpacked count. "
                      "How many values fit in one pack?")
    if value == n_values // per:
        raise ex.fail(expected, packs, "round up: a partly filled pack is still a ciphertext to send")
    if value == per:
        raise ex.fail(expected, packs, "that is the number of slots per pack, not the number of packs")
    if value == -(-len(pt.nodes) // per):
        raise ex.fail(expected, packs, "only internal nodes carry a blinded value; leaves do not")
    raise ex.fail(expected, packs, "one value per internal node; slots_per_pack(key_bits) of them per "
                  "ciphertext; the number of packs is the ceiling of their ratio")
