"""HE aggregation: Paillier ciphertexts of packed counts, multiplied by an untrusted aggregator."""

from __future__ import annotations

import numpy as np

from ...crypto.paillier import DEFAULT_KEY_BITS, Keypair, generate_keypair
from .base import Aggregator

SIGNED_HEADROOM_BITS = 32
"""Extra bits per slot when provider tables carry signed noise shares (see :class:`PaillierAggregator`)."""

FALLBACK_SLOT_BITS = 32
"""Slot width of a Paillier aggregate when no public bound was announced."""


class PaillierAggregator(Aggregator):
    r"""HE back-end: Paillier encryption under a key holder's key, summed by an aggregator.

    1. The key holder sends its public key to every provider (once per run).
    2. Each provider encrypts its table and sends the ciphertexts to the
       aggregator.
    3. The aggregator multiplies the ciphertexts position by position
       (:math:`E(a)E(b) = E(a + b)`) and sends the products to the key holder.
    4. The key holder decrypts the total, applies the ``noise`` hook, and
       publishes it.

    **Non-collusion assumption.**  The aggregator and the key holder must not
    collude, and the key holder must never see an individual provider's
    ciphertexts (it could decrypt them): providers send only to the
    aggregator, and the aggregator forwards only products.  Under this
    assumption the aggregator learns nothing (it holds ciphertexts only,
    semantically secure under the decisional composite residuosity
    assumption) and the key holder learns the total only.  The key holder
    does see the exact total before any noise: for differential privacy it is
    the trusted curator.

    **Packing.**  Counts are bounded: every total is at most the number of
    records.  Each plaintext therefore holds ``(key_bits - 1) // slot_bits``
    counts in fixed-width slots, :math:`m = \sum_j v_j 2^{j w}` with
    :math:`w` = ``slot_bits`` (32 by default: 63 counts per 2048-bit
    plaintext).  Adding packed plaintexts adds every slot at once, and no
    slot overflows as long as the total stays below :math:`2^w`; each
    provider checks its counts are at most :math:`(2^w - 1) / K`, which
    guarantees it.

    Parameters
    ----------
    key_bits : int
        Paillier modulus length (2048 by default; 1024 for tests and demos,
        with a warning).
    keypair : Keypair, optional
        Reuse a key pair instead of generating one (it belongs to the key holder).
    pack : bool
        Pack ``slot_bits``-bit counts into each plaintext (default) or encrypt
        each count separately (the unpacked cost, for comparison).
    slot_bits : int or "auto"
        Width of a slot in bits.  ``"auto"`` sizes slots from a public bound
        on any total, announced before training (:meth:`set_public_bound`:
        each provider's record count rounded up to a power of two): 10 bits
        instead of 32 for the heart sample, so three times fewer ciphertexts
        to encrypt, send and decrypt.  Without an announced bound it falls
        back to 32 bits.
    key_holder, aggregator : str
        Party names in the transcript.
    record_bound : int, optional
        A public bound on the total number of records, **fixed in advance**
        (e.g. by the study protocol).  With ``slot_bits="auto"`` it sizes the
        slots and :func:`~encmed_lib.federated.providers.announce_bounds` then
        announces nothing: a DP transcript must not carry record counts that
        the budget does not pay for.

    **Signed tables (distributed noise).**  When a provider's table holds
    negative values (its own noise share added before encryption), slots are
    read as *balanced* digits: each plaintext is
    :math:`m = \sum_j v_j 2^{jw} \bmod N` with signed :math:`v_j`, the
    decrypted sum is lifted to :math:`(-N/2, N/2)` and peeled slot by slot,
    :math:`t = M \bmod 2^w` taken in :math:`[-2^{w-1}, 2^{w-1})`,
    :math:`M \leftarrow (M - t)/2^w`.  It is exact as long as every *total*
    satisfies :math:`|T_j| < 2^{w-1}`; the slots are widened by
    :data:`SIGNED_HEADROOM_BITS` for the noise (a discrete Laplace draw of
    scale :math:`t` exceeds :math:`2^{30}` with probability
    :math:`\approx e^{-2^{30}/t}`: never, for any scale used here).  So the
    key holder decrypts a total that already carries the full noise.
    """

    supports_provider_noise = True  # signed slots (balanced digits) carry the providers' noise shares
    name = "paillier"

    def __init__(self, key_bits: int = DEFAULT_KEY_BITS, keypair: Keypair | None = None, *,
                 pack: bool = True, slot_bits: int | str = "auto", key_holder: str = "key holder",
                 aggregator: str = "aggregator", record_bound: int | None = None):
        self.keypair = keypair if keypair is not None else generate_keypair(key_bits)
        self.public_key = self.keypair.public_key
        self.auto_slots = slot_bits == "auto"
        if self.auto_slots:
            slot_bits = FALLBACK_SLOT_BITS
        if not isinstance(slot_bits, int) or not 8 <= slot_bits <= self.public_key.bits - 2:
            raise ValueError(f"slot_bits must be 'auto' or between 8 and {self.public_key.bits - 2}")
        self.pack = pack
        self.slot_bits = slot_bits
        self.key_holder = key_holder
        self.aggregator = aggregator
        self.record_bound = None
        if record_bound is not None:
            if int(record_bound) != record_bound or record_bound < 1:
                raise ValueError(f"record_bound must be a positive integer, got {record_bound!r}")
            self.record_bound = int(record_bound)
            self.set_public_bound(self.record_bound)

    def __repr__(self) -> str:
        return (f"PaillierAggregator(key_bits={self.public_key.bits}, pack={self.pack}, "
                f"slot_bits={self.slot_bits})")

    def set_public_bound(self, bound: int) -> None:
        """Fix the slot width from a public upper bound on every total (``slot_bits="auto"`` only).

        A slot of ``w = bound.bit_length()`` bits holds any total up to ``bound``.
        """
        if self.auto_slots:
            self.slot_bits = max(8, int(bound).bit_length())

    @property
    def slots_per_plaintext(self) -> int:
        return (self.public_key.bits - 1) // self.slot_bits if self.pack else 1

    def _width(self, signed: bool) -> tuple[int, int]:
        """(slot width, slots per plaintext) of an unsigned or signed aggregate."""
        if not signed:
            return self.slot_bits, self.slots_per_plaintext
        w = self.slot_bits + SIGNED_HEADROOM_BITS
        return w, ((self.public_key.bits - 2) // w if self.pack else 1)

    def encode(self, values: list[int], *, signed: bool = False) -> list[int]:
        """Pack counts into plaintexts, ``slots_per_plaintext`` per plaintext (slot 0 lowest).

        ``signed``: balanced digits (see the class docstring), reduced modulo :math:`N`.
        """
        n = int(self.public_key.n)
        if not self.pack:
            return [int(v) % n for v in values] if signed else list(values)
        w, per = self._width(signed)
        out = []
        for start in range(0, len(values), per):
            m = 0
            for v in reversed(values[start:start + per]):
                m = (m << w) + int(v) if signed else (m << w) | v
            out.append(m % n if signed else m)
        return out

    def decode(self, plaintexts: list[int], size: int, *, signed: bool = False) -> list[int]:
        """Unpack ``size`` counts from plaintexts (inverse of :meth:`encode`)."""
        n = int(self.public_key.n)
        if signed:
            plaintexts = [int(m) - n if int(m) > n // 2 else int(m) for m in plaintexts]
        if not self.pack:
            return [int(m) for m in plaintexts]
        w, per = self._width(signed)
        mask, half = (1 << w) - 1, 1 << (w - 1)
        values = []
        for m in plaintexts:
            m = int(m)
            for _ in range(min(per, size - len(values))):
                t = m & mask
                if signed and t >= half:
                    t -= 1 << w
                values.append(t)
                m = (m - t) >> w
        return values

    def _aggregate(self, tables, shape, transcript):
        pk, sk = self.public_key, self.keypair.private_key
        names = list(tables)
        size = int(np.prod(shape, dtype=np.int64))
        key_size = pk.n_bytes + (2 * pk.n_bytes if pk.hs is not None else 0)
        for name in names:
            if transcript.once(("public-key", pk.key_id, name)):
                transcript.send(self.key_holder, name, "public-key", pk.to_dict(),
                                summary=f"Paillier public key, {pk.bits} bits, id {pk.key_id}",
                                size=key_size)
        bound = ((1 << self.slot_bits) - 1) // len(names)  # no slot overflows: K * bound < 2^w
        signed = any(t.size and int(t.min()) < 0 for t in tables.values())
        product = None
        for name in names:
            flat = tables[name].ravel()
            if not signed and flat.size and int(flat.max()) > bound:
                raise ValueError(f"provider {name!r}: a count of {int(flat.max())} does not fit "
                                 f"{len(names)} providers into {self.slot_bits}-bit slots "
                                 "(use a larger slot_bits)")
            plaintexts = self.encode([int(v) for v in flat], signed=signed)
            cts = [pk.raw_encrypt(m) for m in plaintexts]  # fresh randomiser each
            transcript.send(name, self.aggregator, "ciphertexts", cts,
                            summary=f"{len(cts)} Paillier ciphertexts of its table "
                                    f"({size} counts{', packed' if self.pack else ''})",
                            size=len(cts) * pk.ciphertext_bytes)
            product = cts if product is None else [pk.add(a, b) for a, b in
                                                   zip(product, cts, strict=True)]
        product = product or []
        transcript.send(self.aggregator, self.key_holder, "ciphertext-sum", product,
                        summary=f"{len(product)} ciphertexts of the total (products)",
                        size=len(product) * pk.ciphertext_bytes)
        total = self.decode([sk.raw_decrypt(c) for c in product], size, signed=signed)
        return np.array(total, dtype=np.int64), self.key_holder
