"""The out-of-domain split: one query with a huge plaintext splits every pack into values and blinds.

:meth:`Client.encrypt` refuses values outside the domain, but the attacker's
client need not use it: it holds the key and may encrypt any
:math:`M \\in \\mathbb{Z}_n`.  The server cannot tell (semantic security).
Send, for feature ``i``, :math:`E(X_f)` with

.. math::  X_f = -(K + D_f), \\qquad K = 2^{w m}, \\qquad D_f = i \\cdot \\text{spacing} \\cdot 2^{26}

where :math:`w` = ``SLOT_BITS`` and :math:`m` is the number of slots in a
pack.  Slot :math:`k` of a pack then holds
:math:`u_k = r_k (T_k + K + D_f) + s_k + 2^{w-1}`, and the pack is

.. math::  P = \\underbrace{\\sum_k \\big(r_k (T_k + D_f) + s_k + 2^{w-1}\\big) 2^{wk}}_{< 2^{wm}}
           \\; + \\; 2^{wm} \\underbrace{\\sum_k r_k\\, 2^{wk}}_{\\text{the blinds}} .

If :math:`P < n` the client decrypts it without reduction: the low
:math:`wm` bits give each :math:`e_k = r_k (T_k + D_f) + s_k`, the high bits
each :math:`r_k`, and :math:`T_k + D_f = \\lfloor e_k / r_k \\rfloor`,
:math:`s_k = e_k \\bmod r_k`: **every threshold and every blind from one
query**.  :math:`P < 2^{2wm - w + 21}` must stay below :math:`n`: the attacker
picks its key size (the tree's size is public: every reply carries it), e.g.
1,936 bits for the 15 nodes of a depth-4 tree (an ordinary 2048-bit key does)
and 3,256 bits for the 25 of the heart depth-5 tree; nothing in basic mode
refuses such a key.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import gmpy2

from ..crypto.encoding import SCALE
from ..crypto.paillier import Keypair, PrivateKey, PublicKey
from ..errors import EncmedError
from ..protocol.client import Client
from ..protocol.messages import BLIND_BITS, SLOT_BITS, Query, slots_per_pack
from .common import Oracle, ThresholdRecovery, WeightRecovery, identify_feature
from .sieve import SPACING


def attacker_client(key_bits: int) -> Client:
    """A client with a fresh key of exactly ``key_bits`` bits, of any size (primes from :mod:`secrets`).

    A cheating client picks its own key size; this one generates its primes
    with ``gmpy2.next_prime`` (fast, also for 3,000 bits and more).
    """
    half = key_bits // 2
    while True:
        p = gmpy2.next_prime(secrets.randbits(half) | (3 << (half - 2)))
        q = gmpy2.next_prime(secrets.randbits(key_bits - half) | (3 << (key_bits - half - 2)))
        if p != q and (p * q).bit_length() == key_bits:
            break
    public = PublicKey(p * q)
    return Client(keypair=Keypair(public, PrivateKey(public, p, q)))


def key_message(client: Client) -> dict:
    """The query's ``public_key``: with the key's certificate when one can be made (an honest key).

    A malformed modulus (say :math:`n = Pq`, :math:`P \\mid q - 1`) has no valid certificate: the
    attacker then sends ``n`` alone, and a server that certifies keys refuses it.
    """
    try:
        return client.public_key_message()
    except EncmedError:
        return {"n": str(int(client.public_key.n))}


def split_key_bits(n_values: int, slot_bits: int = SLOT_BITS) -> int:
    """The smallest key for which one pack holds every value and :math:`P < n` (see the module docstring)."""
    bits = 2 * slot_bits * n_values - slot_bits + BLIND_BITS + 1
    while slots_per_pack(bits, slot_bits) < n_values:
        bits += 1
    return bits


def raw_query(client: Client, plaintexts: dict[str, int]) -> Query:
    """A :class:`Query` of arbitrary plaintexts (taken modulo n), registered with the client."""
    pk = client.public_key
    query_id = secrets.token_hex(16)
    client._issued.add(query_id)
    cts = [int(pk.raw_encrypt(m, client.pool.take())) for m in plaintexts.values()]
    return Query(query_id, key_message(client), list(plaintexts), cts)


def out_of_domain_split(client: Client, oracle: Oracle, features: Iterable[str], n_values: int, *,
                        spacing: float = SPACING) -> ThresholdRecovery:
    """Recover every threshold *and* the blinds ``(r_j, s_j)`` of basic mode from one out-of-domain query.

    Parameters
    ----------
    client : Client
        The attacker's client; its key must have at least
        :func:`split_key_bits` ``(n_values)`` bits unless the packs are small
        (:func:`attacker_client` makes one).
    oracle : callable
        ``oracle(query) -> Reply``.
    features : iterable of str
        Every feature the query must carry.
    n_values : int
        The number of internal nodes (public: every reply's ``n_values``).
    spacing : float
        Distance, in feature units, between two features' offsets :math:`D_f`.

    Returns
    -------
    ThresholdRecovery
        With ``blinds``; ``status="refused"`` if the server refused the query.

    Raises
    ------
    ValueError
        The client's key is too small for the split.
    """
    w, bits = SLOT_BITS, client.key_bits
    m = min(slots_per_pack(bits), n_values)
    if 2 * w * m - w + BLIND_BITS > bits - 1:
        raise ValueError(f"a {bits}-bit key cannot hold a split pack of {m} slots: use at least "
                         f"{split_key_bits(n_values)} bits (attacks.attacker_client)")
    K = 1 << (w * m)
    offsets = {str(f): round(i * spacing * SCALE) for i, f in enumerate(features)}
    try:
        reply = oracle(raw_query(client, {f: -(K + D) for f, D in offsets.items()}))
    except EncmedError as exc:
        return ThresholdRecovery("out-of-domain", 1, status="refused", detail=f"{type(exc).__name__}: {exc}")
    mask, off = (1 << w) - 1, 1 << (w - 1)
    nodes, blinds = [], []
    for c in reply.packs:
        P = client.private_key.raw_decrypt(c)
        low, high = P & ((1 << (w * m)) - 1), P >> (w * m)
        for k in range(min(m, reply.n_values - len(nodes))):
            e, r = ((low >> (w * k)) & mask) - off, (high >> (w * k)) & mask
            if r == 0:
                nodes.append(None)
                blinds.append(None)
                continue
            nodes.append(identify_feature(e // r, {f: -D for f, D in offsets.items()}))
            blinds.append((r, e % r))
    return ThresholdRecovery("out-of-domain", 1, nodes, blinds=blinds,
                             detail=f"K = 2**{w * m}, a {bits}-bit key")


def out_of_domain_linear(client: Client, oracle, features: Iterable[str], *, weight_bits: int = 80,
                         noise_bits: int = 152) -> WeightRecovery:
    """Every weight of a :class:`~encmed_lib.LinearServer`, exactly, with a well-formed key, noise or not.

    The server returns :math:`E(S + N)` with :math:`S = \\sum_i W_i M_i + B`.
    Encrypt :math:`M_i = 2^{L_i}` (out of the domain; the client holds the key)
    with :math:`L_i = \\text{noise\\_bits} + k\\cdot(\\text{weight\\_bits} + 1)`
    for the :math:`k`-th feature read by this query, :math:`M = 0` for the
    others.  Then :math:`S + N = \\sum_k W_k 2^{L_k} + (B + N)`: the intercept
    and the noise (:math:`|B + N| < 2^{\\text{noise\\_bits} - 1}`, i.e.
    :math:`|b| + 6\\sigma < 2^{23}`) stay in the low bits, each
    :math:`W_k` in its own window above them, read off as signed digits.
    As many features per query as the key holds (10 at 1,024 bits): the
    noise, added to the plaintext, never reaches the windows.  Key
    certification does not help here; only a server that bounds what it
    multiplies (or returns less) does.

    Returns
    -------
    WeightRecovery
        ``status="refused"`` when the server refuses a query.
    """
    from ..protocol.linear import LinearQuery

    names = [str(f) for f in features]
    window = weight_bits + 1
    per = (client.key_bits - 2 - noise_bits) // window
    if per < 1:
        raise ValueError(f"a {client.key_bits}-bit key leaves no room above {noise_bits} noise bits")
    pk, W, queries = client.public_key, {}, 0
    for start in range(0, len(names), per):
        group = names[start:start + per]
        plain = {f: 0 for f in names} | {f: 1 << (noise_bits + k * window) for k, f in enumerate(group)}
        query_id = secrets.token_hex(16)
        client._issued.add(query_id)
        cts = [int(pk.raw_encrypt(m, client.pool.take())) for m in plain.values()]
        queries += 1
        try:
            reply = oracle(LinearQuery(query_id, key_message(client), names, cts))
        except EncmedError as exc:
            return WeightRecovery("out-of-domain", queries, "refused", f"{type(exc).__name__}: {exc}",
                                  key_bits=client.key_bits)
        rest = client.private_key.decrypt_signed(reply.ciphertext)
        rest = (rest - _signed_digit(rest, noise_bits)) >> noise_bits  # drop B + N
        for f in group:
            W[f] = _signed_digit(rest, window)
            rest = (rest - W[f]) >> window
    return WeightRecovery("out-of-domain", queries, W=W, key_bits=client.key_bits,
                          detail=f"{per} weights per query above {noise_bits} bits of intercept and noise")


def _signed_digit(x: int, bits: int) -> int:
    """The low ``bits`` of ``x`` as a signed digit in :math:`[-2^{bits-1}, 2^{bits-1})`."""
    digit = x & ((1 << bits) - 1)
    return digit - (1 << bits) if digit >= 1 << (bits - 1) else digit
