"""Secure aggregation: the sum of the providers' count tables, and nothing else.

Every round of federated tree training (:mod:`encmed_lib.federated.trainer`)
needs one thing from the providers: the **elementwise sum** of their count
tables.  Three interchangeable back-ends compute it; all take the same input
(``{provider name: table of non-negative int64 counts}``, every table the same
shape) and return the same ``int64`` total, exactly:

:class:`PlainAggregator` (insecure baseline)
    Every provider sends its table in clear to an aggregator, who adds them
    and publishes the total.  The aggregator sees every table.

:class:`SecretSharingAggregator` (SMPC, additive secret sharing modulo a prime)
    Each provider splits its table into ``K`` random shares that add up to it
    modulo ``p``, **keeps one** and sends one to each of its ``K - 1`` peers.
    Each provider adds the shares it holds (its own kept share and the ``K - 1``
    it received) and publishes that sum; the total is the sum of the ``K``
    published sums modulo ``p``.  No aggregator is needed, and no party ever
    holds another provider's table.

:class:`PaillierAggregator` (HE, additively homomorphic encryption)
    A key holder publishes a Paillier public key; providers encrypt their
    tables under it and send the ciphertexts to an untrusted aggregator, who
    multiplies them (adding the plaintexts) and hands only the product to the
    key holder, who decrypts the total.  Many counts are packed into each
    plaintext to cut the cost.

Every message is a :class:`Message` recorded in a :class:`Transcript`
(sender, receiver, kind, a one-line summary of the payload, its size in
bytes), so a notebook can print who received what, and a test can check that
no provider ever receives another provider's plaintext table.

What the total itself reveals
-----------------------------
All three back-ends reveal the total, and only the total -- but the total is
information.  With ``K = 2`` each provider subtracts its own table from the
total and obtains the other's (which is why the course uses ``K >= 3``), and a
tree node whose records all come from one provider reveals that provider's
table for the node.  Differential privacy (a later module) addresses this: its
noise enters through the ``noise`` hook of :meth:`Aggregator.aggregate`,
applied to the total *before* it is revealed.  Where the exact total exists
before the noise, and so who must be trusted with it, depends on the
back-end and is stated in each class.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import gmpy2
import numpy as np
import pandas as pd

from ..crypto.paillier import DEFAULT_KEY_BITS, Keypair, generate_keypair

MERSENNE_127 = (1 << 127) - 1
"""The default prime of :class:`SecretSharingAggregator`: :math:`2^{127} - 1` (a Mersenne prime)."""

EVERYONE = "everyone"
"""Receiver name of a broadcast (a value published to every party)."""

COUNT_BYTES = 8
"""Bytes of one plaintext count on the wire (int64)."""


# ------------------------------------------------------------------ messages
@dataclass
class Message:
    """One message between two parties (or a broadcast to :data:`EVERYONE`).

    Attributes
    ----------
    sender, receiver : str
        Party names; ``receiver == "everyone"`` is a publication.
    kind : str
        What the payload is: ``"table"`` (a plaintext count table: only the
        insecure baseline sends one), ``"share"``, ``"partial-sum"``,
        ``"public-key"``, ``"ciphertexts"``, ``"ciphertext-sum"``, ``"total"``,
        ``"query"`` or ``"split"``.
    summary : str
        A one-line human description of the payload (never the data itself).
    size : int
        Bytes on the wire.
    round : str
        The training round (``"level 0"``, ``"binning"``...).
    payload : object
        The payload itself, kept for inspection and tests (not printed).
    """

    sender: str
    receiver: str
    kind: str
    summary: str
    size: int
    round: str = ""
    payload: Any = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        head = f"[{self.round}] " if self.round else ""
        return (f"{head}{self.sender} -> {self.receiver}: {self.kind} "
                f"({self.summary}, {_human_bytes(self.size)})")


class Transcript:
    """Every message sent during a protocol run, in order.

    Parameters
    ----------
    keep_payloads : bool
        Keep each message's payload (for inspection and tests).  ``False``
        keeps only the metadata (sizes, kinds), which is all a benchmark needs.

    Attributes
    ----------
    round : str
        Label stamped on the messages sent from now on (set by the trainer).
    """

    def __init__(self, *, keep_payloads: bool = True):
        self.messages: list[Message] = []
        self.keep_payloads = keep_payloads
        self.round = ""
        self._done: set = set()

    def send(self, sender: str, receiver: str, kind: str, payload: Any, *, summary: str,
             size: int) -> Message:
        """Record (and return) one message."""
        msg = Message(sender, receiver, kind, summary, int(size), self.round,
                      payload if self.keep_payloads else None)
        self.messages.append(msg)
        return msg

    def once(self, tag) -> bool:
        """True the first time ``tag`` is seen (e.g. a public key sent once per run)."""
        if tag in self._done:
            return False
        self._done.add(tag)
        return True

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.messages)

    @property
    def parties(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.messages:
            seen.setdefault(m.sender)
            if m.receiver != EVERYONE:
                seen.setdefault(m.receiver)
        return list(seen)

    def received_by(self, party: str, *, broadcasts: bool = True) -> list[Message]:
        """Messages addressed to ``party`` (and publications, unless ``broadcasts=False``)."""
        return [m for m in self.messages
                if m.receiver == party or (broadcasts and m.receiver == EVERYONE and m.sender != party)]

    def sent_by(self, party: str) -> list[Message]:
        return [m for m in self.messages if m.sender == party]

    def to_frame(self) -> pd.DataFrame:
        """One row per message (no payloads)."""
        return pd.DataFrame([{"round": m.round, "sender": m.sender, "receiver": m.receiver,
                              "kind": m.kind, "summary": m.summary, "bytes": m.size}
                             for m in self.messages],
                            columns=["round", "sender", "receiver", "kind", "summary", "bytes"])

    def summary(self) -> pd.DataFrame:
        """Messages and bytes sent and received per party (a publication counts once, as sent)."""
        rows = []
        for party in self.parties:
            sent = self.sent_by(party)
            got = [m for m in self.messages if m.receiver == party]
            rows.append({"party": party, "messages sent": len(sent),
                         "bytes sent": sum(m.size for m in sent),
                         "messages received": len(got),
                         "bytes received": sum(m.size for m in got)})
        return pd.DataFrame(rows).set_index("party") if rows else pd.DataFrame()

    def by_kind(self) -> pd.DataFrame:
        """Messages and bytes per kind of payload."""
        frame = self.to_frame()
        return frame.groupby("kind", sort=False)["bytes"].agg(messages="count", bytes="sum")

    def show(self, limit: int | None = 30, *, round: str | None = None) -> str:
        """The messages as text, one per line (at most ``limit`` lines)."""
        msgs = [m for m in self.messages if round is None or m.round == round]
        lines = [str(m) for m in (msgs if limit is None else msgs[:limit])]
        if limit is not None and len(msgs) > limit:
            lines.append(f"... and {len(msgs) - limit} more messages")
        return "\n".join(lines)

    def __str__(self) -> str:
        return (f"Transcript: {len(self)} messages, {_human_bytes(self.total_bytes)}, "
                f"parties {self.parties}")


@dataclass(frozen=True)
class RevealInfo:
    """What a ``noise`` hook is told about the aggregate it may perturb.

    Attributes
    ----------
    kind : str
        ``"counts"`` (per-node (feature, bin, class) counts) or ``"histogram"``
        (per-feature bin counts, for quantile binning).
    round : str
        The round label (``"level 2"``).
    nodes : tuple
        The tree nodes covered, one per row of the table (empty for a histogram).
    n_features : int
        Features per node: one record adds 1 to exactly ``n_features``
        entries of its node's row (its L1 sensitivity is ``n_features``).
    n_providers : int
    """

    kind: str
    round: str = ""
    nodes: tuple = ()
    n_features: int = 0
    n_providers: int = 0


NoiseHook = Callable[[np.ndarray, RevealInfo], np.ndarray]
"""``noise(total, info) -> noisy total``: applied to an aggregate before it is revealed."""


# ------------------------------------------------------------------ back-ends
def check_tables(tables: Mapping[str, np.ndarray], *, signed: bool = False
                 ) -> tuple[list[str], tuple[int, ...]]:
    """Validate the providers' tables: at least one, same shape, integers (non-negative unless ``signed``)."""
    if not tables:
        raise ValueError("no tables to aggregate: at least one provider is needed")
    names = list(tables)
    shape = None
    for name in names:
        t = np.asarray(tables[name])
        if t.dtype.kind not in "iu":
            raise ValueError(f"provider {name!r}: a count table must hold integers, "
                             f"got dtype {t.dtype}")
        if shape is None:
            shape = t.shape
        elif t.shape != shape:
            raise ValueError(f"provider {name!r}: table of shape {t.shape}, expected {shape} "
                             "(every provider must use the same public binning)")
        if not signed and t.size and t.min() < 0:
            raise ValueError(f"provider {name!r}: counts must be non-negative")
    return names, shape


class Aggregator:
    """Interface of the back-ends: :meth:`aggregate` returns the elementwise sum.

    Subclasses implement :meth:`_aggregate`; this class validates the input,
    applies the optional ``noise`` hook at the moment the total is revealed
    and records the publication of the (possibly noisy) total.
    """

    name = "abstract"
    supports_provider_noise = True
    """Whether providers can add their own (signed) noise shares before aggregation."""

    def aggregate(self, tables: Mapping[str, np.ndarray], transcript: Transcript | None = None, *,
                  noise: NoiseHook | None = None, info: RevealInfo | None = None,
                  signed: bool = False) -> np.ndarray:
        """The elementwise sum of ``tables`` (``{provider: int64 array}``, same shapes).

        Parameters
        ----------
        tables : mapping
            One table of non-negative integer counts per provider.
        transcript : Transcript, optional
            Where the messages are recorded (a throw-away one if omitted).
        noise : callable, optional
            ``noise(total, info)``, applied to the total before it is published
            (the differential-privacy hook).  Without it the result is exact.
            A hook with ``per_provider = True`` (distributed noise) instead has
            each provider add ``noise.provider_share(name, shape, info)`` to
            its own table first, then ``noise.finish(total, info)`` on the
            total, where the back-end allows signed tables.
        info : RevealInfo, optional
            Passed to ``noise``.
        signed : bool
            Accept tables with negative entries (e.g. differences of counts);
            every back-end sums signed integers exactly.

        Returns
        -------
        numpy.ndarray
            The total (``int64``; whatever ``noise`` returns if it is given).
        """
        names, shape = check_tables(tables, signed=signed)
        transcript = transcript if transcript is not None else Transcript()
        info = info if info is not None else RevealInfo("counts", transcript.round,
                                                        n_providers=len(names))
        arrays = {n: np.asarray(tables[n], dtype=np.int64) for n in names}
        distributed = (noise is not None and getattr(noise, "per_provider", False)
                       and self.supports_provider_noise)
        if distributed:  # each provider perturbs its own table before anything leaves it
            arrays = {n: arrays[n] + np.asarray(noise.provider_share(n, shape, info), dtype=np.int64)
                      for n in names}
        total, revealer = self._aggregate(arrays, shape, transcript)
        total = np.asarray(total, dtype=np.int64).reshape(shape)
        if distributed:
            total = np.asarray(noise.finish(total, info))
        elif noise is not None:
            total = np.asarray(noise(total, info))
            if total.shape != shape:
                raise ValueError(f"the noise hook returned shape {total.shape}, expected {shape}")
        if revealer is not None:
            transcript.send(revealer, EVERYONE, "total", total,
                            summary=f"the sum over {len(names)} providers, {total.size} counts"
                            + (" (noisy)" if noise is not None else ""),
                            size=total.size * COUNT_BYTES)
        return total

    def _aggregate(self, tables: dict[str, np.ndarray], shape, transcript: Transcript
                   ) -> tuple[np.ndarray, str]:
        """Return the exact total and the party that publishes it (None: everyone computes it)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PlainAggregator(Aggregator):
    """Insecure baseline: providers send their tables in clear to an aggregator.

    The aggregator sees every provider's table (and the exact total, before
    any noise).  It is here to show what the secure back-ends avoid and what
    they cost in comparison.

    Parameters
    ----------
    aggregator : str
        Name of the aggregating party in the transcript.
    """

    name = "plain"

    def __init__(self, aggregator: str = "aggregator"):
        self.aggregator = aggregator

    def _aggregate(self, tables, shape, transcript):
        total = np.zeros(shape, dtype=np.int64)
        for name, t in tables.items():
            transcript.send(name, self.aggregator, "table", t,
                            summary=f"its plaintext count table, {t.size} counts",
                            size=t.size * COUNT_BYTES)
            total += t
        return total, self.aggregator


class SecretSharingAggregator(Aggregator):
    r"""SMPC back-end: additive secret sharing modulo a prime ``p``.

    Provider :math:`i` with table :math:`t_i` draws :math:`s_{ij}` uniform in
    :math:`\mathbb{Z}_p` for every peer :math:`j \ne i` (from :mod:`secrets`,
    never seeded), sets its kept share
    :math:`s_{ii} = t_i - \sum_{j \ne i} s_{ij} \bmod p`, and sends
    :math:`s_{ij}` to peer :math:`j`.  Provider :math:`j` publishes
    :math:`S_j = \sum_i s_{ij} \bmod p` (its kept share plus the ones it
    received), and :math:`\sum_j S_j \equiv \sum_i t_i \pmod p`: the total,
    exact because counts are far below :math:`p`.

    **Security** (honest-but-curious parties, private pairwise channels).  Any
    :math:`K - 1` shares of a table are independent and uniform, so they
    reveal nothing about it; a table is exposed only to whoever learns **all**
    :math:`K` of its shares.  Keeping one share is what guarantees that nobody
    does: :math:`s_{ii}` never leaves provider :math:`i`, and it appears
    publicly only inside :math:`S_i`, masked by the shares :math:`s_{ji}` the
    other providers sent to :math:`i`.  Even the other :math:`K-1` providers
    together learn only what the total tells them.

    **Why a provider must keep one share -- the math at K = 3.**  Suppose
    instead that every provider split its table into :math:`K` shares and sent
    *all* of them to its :math:`K - 1` peers (so one peer receives two), and
    that each provider published the sum of the shares it holds.  Then
    :math:`S_j` contains no share of :math:`t_j` at all, only shares of the
    other tables.  With :math:`K = 3`, take provider 1 sending shares
    :math:`a, b` to provider 2 and :math:`c` to provider 3
    (:math:`a + b + c = t_1`).  Provider 2 publishes
    :math:`S_2 = a + b + u`, where :math:`u` is what provider 3 sent to
    provider 2 from its own table -- which provider 3 knows.  So provider 3
    computes :math:`S_2 - u + c = a + b + c = t_1`: a single curious peer
    learns all shares of one table (two of them summed inside :math:`S_2`, one
    received directly) and reconstructs it.  With :math:`K \ge 4` a single
    peer can no longer do it (:math:`S_2` also holds shares from a provider it
    cannot subtract), but any :math:`K - 2` colluding peers can, by the same
    computation.  With one share kept, the same :math:`K - 2` peers learn
    :math:`S_1 - \sum_{\text{them}} s_{j1} = s_{11} + (\text{shares of the
    others})`: still masked by a share they do not know.

    A central ``noise`` hook is applied to the reconstructed total.  Anyone who
    reads the :math:`K` published sums can add them up, so a central hook
    protects the released model against outsiders, not the providers against
    each other.  Distributed noise (:class:`encmed_lib.privacy.DistributedNoise`)
    has each provider add its own share to its table before sharing it
    (shares are signed: modular arithmetic handles negative values), so the
    published sums are already noisy.

    Parameters
    ----------
    prime : int
        The modulus; :data:`MERSENNE_127` (:math:`2^{127} - 1`) by default.
        Any prime above every possible total works; at least 64 bits is
        required (shares of that size hide counts of any realistic size).
    """

    name = "secret sharing"

    def __init__(self, prime: int = MERSENNE_127):
        prime = int(prime)
        if prime.bit_length() < 64 or not gmpy2.is_prime(prime):
            raise ValueError(f"prime must be a prime of at least 64 bits, got {prime}")
        self.prime = prime
        self.share_bytes = (prime.bit_length() + 7) // 8

    def __repr__(self) -> str:
        return f"SecretSharingAggregator(prime={self.prime}, a {self.prime.bit_length()}-bit prime)"

    def random_vector(self, size: int) -> list[int]:
        """``size`` integers uniform in ``[0, p)`` (from :mod:`secrets`)."""
        return [secrets.randbelow(self.prime) for _ in range(size)]

    def share(self, table: np.ndarray, k: int) -> list[list[int]]:
        """Split a table (flattened) into ``k`` additive shares modulo ``p``.

        Share 0 is the one the owner keeps; shares ``1..k-1`` are uniform.
        Their elementwise sum modulo ``p`` is the table.
        """
        if k < 1:
            raise ValueError("k must be at least 1")
        p = self.prime
        values = [int(v) for v in np.asarray(table).ravel()]
        sent = [self.random_vector(len(values)) for _ in range(k - 1)]
        kept = [(v - sum(col)) % p for v, col in zip(values, zip(*sent, strict=True), strict=True)] \
            if sent else [v % p for v in values]
        return [kept, *sent]

    def _aggregate(self, tables, shape, transcript):
        names = list(tables)
        k, p, size = len(names), self.prime, int(np.prod(shape, dtype=np.int64))
        held: dict[str, list[list[int]]] = {n: [] for n in names}
        for i, name in enumerate(names):
            shares = self.share(tables[name], k)
            held[name].append(shares[0])  # the kept share never leaves its owner
            peers = names[:i] + names[i + 1:]
            for peer, share in zip(peers, shares[1:], strict=True):
                transcript.send(name, peer, "share", share,
                                summary=f"one random share of its table, {size} values mod p",
                                size=size * self.share_bytes)
                held[peer].append(share)
        published = []
        for name in names:
            partial = [sum(col) % p for col in zip(*held[name], strict=True)]
            transcript.send(name, EVERYONE, "partial-sum", partial,
                            summary=f"the sum of the {len(held[name])} shares it holds, "
                                    f"{size} values mod p",
                            size=size * self.share_bytes)
            published.append(partial)
        total = [sum(col) % p for col in zip(*published, strict=True)]
        half = p // 2
        signed = [v - p if v > half else v for v in total]
        # Everybody adds up the published sums: the total needs no further message.
        return np.array(signed, dtype=np.int64), None


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
        slots and :func:`~encmed_lib.federated.trainer.announce_bounds` then
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


BACKENDS = {"plain": PlainAggregator, "secret sharing": SecretSharingAggregator,
            "paillier": PaillierAggregator}
"""The back-ends by name."""


def _human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    exp = min(int(math.log(n, 1024)), 3)
    return f"{n / 1024 ** exp:.1f} {['B', 'kB', 'MB', 'GB'][exp]}"
