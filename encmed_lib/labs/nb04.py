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
    do.  The recovery is :math:`T / 2^{26}` with :math:`T = \\lfloor t\\,2^{26} \\rfloor`:
    within one grid step ``2**-26`` below the threshold.
    """
    from ..crypto.encoding import SCALE, SCALE_BITS, encode_threshold

    ex = Exercise("04.1 (threshold from an unblinded reply)",
                  f'{_S04}, section "4a · The original design: no blinding"')
    nodes = as_portable_tree(server_or_tree).internal_nodes()
    if not 0 <= slot < len(nodes):
        raise ValueError(f"slot must be in [0, {len(nodes)}), got {slot}")
    node = nodes[slot]
    t = float(node.threshold)
    step, grid = 2.0 ** -SCALE_BITS, encode_threshold(t) / SCALE  # what one reply gives: T / 2**26
    expected = (f"the threshold of slot {slot} in feature units (a number such as 0.95), exact to "
                f"2**-{SCALE_BITS}")
    value = as_number(recovered, ex, expected)
    if is_close(value, grid, 1e-12 * max(1.0, abs(grid))) or is_close(value, t, 1e-12 * max(1.0, abs(t))):
        return ok(f"slot {slot} compares {node.feature} with {t!r}: one unblinded reply gives it exactly")
    if is_close(value / SCALE, grid, step):
        raise ex.fail(expected, recovered, f"this is T = v + X on the integer scale: divide by "
                      f"2**{SCALE_BITS} (SCALE) to return to feature units")
    if is_close(value, t, 1e-3):
        raise ex.fail(expected, recovered, "close, but the recovery is exact: do not round, and add the "
                      f"encoded value X = encode_value(x) (not x itself) before dividing by 2**{SCALE_BITS}")
    for j, other in enumerate(nodes):
        if j != slot and is_close(value, float(other.threshold), step):
            raise ex.fail(expected, recovered, f"that is the threshold of slot {j}: use value number "
                          f"{slot} of client.decrypt_values(reply) and reply.features[{slot}]")
    raise ex.fail(expected, recovered, "with no blinding v = T - X: add the encoded value of the feature "
                  f"that slot {slot} compares (reply.features[{slot}]), X = encode_value(record[feature]), "
                  f"then divide by SCALE = 2**{SCALE_BITS}")


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


def _fitting_pairs(fitting, ex: Exercise, expected: str) -> set[tuple[str, int]]:
    """The answer of 04.4 as a set of ``(feature, T)``: ``T`` the encoded threshold of each pair."""
    from ..crypto.encoding import VALUE_BITS, encode_threshold

    if fitting is None or fitting is Ellipsis:
        raise ex.fail(expected, fitting, "no answer yet: assign the list of fitting candidates")
    if isinstance(fitting, tuple) and len(fitting) == 2 and isinstance(fitting[0], str):
        raise ex.fail(expected, fitting, "one pair: give a list of pairs, e.g. [(feature, t)], even when "
                      "a single candidate fits")
    if isinstance(fitting, (str, numbers.Number)) or not hasattr(fitting, "__iter__"):
        raise ex.fail(expected, fitting, "give a list of (feature, threshold) pairs")
    pairs = set()
    for item in fitting:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], (numbers.Real, np.number)) and not isinstance(item[1], bool)):
            raise ex.fail(expected, item, "each item is a pair (feature name, threshold t in feature units)")
        if abs(float(item[1])) >= 2 ** VALUE_BITS:
            raise ex.fail(expected, item, "give the threshold t in feature units, not the encoded "
                          "T = encode_threshold(t)")
        pairs.add((item[0], encode_threshold(item[1])))
    return pairs


def check_04_sieve_node(fitting, values, record, candidates, server_or_tree, slot: int = 0) -> str:
    """Exercise 04.4: the public candidates that fit node ``slot``'s value from an edge record.

    ``fitting`` lists ``(feature, t)`` pairs; the right answer is every candidate
    :math:`(f, t)` with :math:`d' = \\lfloor t 2^{26} \\rfloor - X_f > 0`,
    :math:`r' = \\lfloor v / d' \\rfloor \\in [1, 2^{21})` and :math:`v - r' d' < r'`
    (:func:`encmed_lib.attacks.sieve`), which always contains the node's true
    condition (read from the server's tree: a teacher's check).
    """
    from ..attacks.common import encoded_record
    from ..attacks.sieve import sieve
    from ..crypto.encoding import encode_threshold

    ex = Exercise("04.4 (the sieve, by hand)",
                  f'{_S04}, section "4d · One chosen query breaks full blinding: the sieve"')
    nodes = as_portable_tree(server_or_tree).internal_nodes()
    if not 0 <= slot < len(nodes):
        raise ValueError(f"slot must be in [0, {len(nodes)}), got {slot}")
    expected = (f"the list of public candidates (feature, t) that fit the value of slot {slot}: "
                "d' > 0, 1 <= r' < 2**21 and v - r'·d' < r'")
    mine = _fitting_pairs(fitting, ex, expected)
    right = set(sieve([values[slot]], encoded_record(record), candidates)[0])
    truth = (nodes[slot].feature, encode_threshold(nodes[slot].threshold))
    if mine == right:
        alone = "alone" if right == {truth} else f"with {len(right) - 1} accidental survivor(s)"
        return ok(f"the true condition of slot {slot} ({truth[0]} <= {nodes[slot].threshold!r}) fits, "
                  f"{alone}: one reply, and the blind r = v // d' comes out too")
    shown = f"{len(mine)} candidate(s)"
    if not mine:
        raise ex.fail(expected, None, "nothing fits, but the true candidate always does: encode both "
                      "sides (d' = encode_threshold(t) - encode_value(x_f), the record's encoded value), "
                      "then r' = v // d'", shown=shown)
    if truth not in mine:
        raise ex.fail(expected, None, f"the true condition is not among yours: use values[{slot}] and "
                      "the encoded record (encode_value), with integer division v // d'", shown=shown)
    if mine > right:
        raise ex.fail(expected, None, "some of your candidates do not fit: require both "
                      "1 <= r' < 2**21 and v - r'·d' < r' (the remainder is s, and s < r)", shown=shown)
    if mine < right:
        raise ex.fail(expected, None, "your test is stricter than the rule: a candidate that fits "
                      "(d' > 0, 1 <= r' < 2**21, v - r'·d' < r') is missing; try every feature's "
                      "candidates", shown=shown)
    raise ex.fail(expected, None, "test every public candidate of every feature with the rule "
                  "d' > 0, 1 <= r' < 2**21, v - r'·d' < r'", shown=shown)


def _pack_plaintexts(values: list[int], per: int, w: int, *, offset: bool = True,
                     reverse: bool = False) -> list[int]:
    out = []
    for start in range(0, len(values), per):
        chunk = values[start:start + per]
        if reverse:
            chunk = chunk[::-1]
        out.append(sum((v + ((1 << (w - 1)) if offset else 0)) << (i * w) for i, v in enumerate(chunk)))
    return out


def check_04_packed_reply(packs, blinded, client) -> str:
    """Exercise 04.3: ``packs`` must pack the per-node ciphertexts ``blinded`` as the server does.

    Pack ``k`` holds slots ``k·m .. k·m + m - 1`` (``m = slots_per_pack(bits)``),
    slot ``i`` of a pack at bits ``[i·w, (i+1)·w)`` as :math:`v + 2^{w-1}`
    (``w = SLOT_BITS``).  Both lists are decrypted with ``client``'s private key
    (a teacher's check).
    """
    from ..protocol.messages import SLOT_BITS, slots_per_pack

    ex = Exercise("04.3 (pack a reply)", f'{_S04}, section "Packing"')
    sk, n = client.private_key, int(client.public_key.n)
    w, per = SLOT_BITS, slots_per_pack(client.key_bits)
    values = [sk.decrypt_signed(int(c)) for c in blinded]
    count = -(-len(values) // per)
    expected = (f"a list of {count} ciphertexts under the client's key, pack k holding values "
                f"k·{per} .. k·{per} + {per - 1} as v + 2**{w - 1} in {w}-bit slots, slot 0 lowest")
    if isinstance(packs, (numbers.Number, str)) or not hasattr(packs, "__len__"):
        raise ex.fail(expected, packs, "a list of ciphertexts (Python ints), one per pack")
    if len(packs) != count:
        hints = {len(values): "one ciphertext per node is the unpacked reply: put up to "
                 "slots_per_pack(key bits) values in each",
                 len(values) // per: "round up: a partly filled pack is still a ciphertext"}
        raise ex.fail(expected, None, hints.get(len(packs), f"{len(values)} values, {per} per pack"),
                      shown=f"{len(packs)} ciphertext(s)")
    if any(isinstance(c, bool) or not isinstance(c, numbers.Integral) or not n <= int(c) < n * n
           for c in packs):
        raise ex.fail(expected, None, "every pack is a ciphertext modulo n**2: combine the ciphertexts "
                      "with key.mul_plain and key.add (never decrypt on the server)",
                      shown="a number that is not a ciphertext")
    got = [int(sk.raw_decrypt(int(c))) for c in packs]
    if got == _pack_plaintexts(values, per, w):
        return ok(f"{len(values)} values in {count} pack(s) of up to {per} slots of {w} bits: "
                  f"the client decrypts {count} ciphertext(s) instead of {len(values)}")
    if got == [p % n for p in _pack_plaintexts(values, per, w, offset=False)]:
        raise ex.fail(expected, None, f"shift every value by 2**{w - 1} first (key.add_plain): a "
                      "negative value would borrow from its neighbour's slot", shown="packs without offset")
    if got == _pack_plaintexts(values, per, w, reverse=True):
        raise ex.fail(expected, None, "the slots are in reverse order: slot 0 goes in the lowest bits, "
                      "so Horner's rule starts from the last value of the pack", shown="reversed packs")
    raise ex.fail(expected, None, f"Horner's rule: acc = E(u_last); then acc = acc**(2**{w}) · E(u_i) "
                  "for the earlier values (key.mul_plain(acc, 2**w), key.add)", shown="other packs")
