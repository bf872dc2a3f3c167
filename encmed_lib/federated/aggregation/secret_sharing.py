"""SMPC aggregation: additive secret sharing of the count tables modulo a prime."""

from __future__ import annotations

import secrets

import gmpy2
import numpy as np

from .base import Aggregator
from .transcript import EVERYONE

MERSENNE_127 = (1 << 127) - 1
"""The default prime of :class:`SecretSharingAggregator`: :math:`2^{127} - 1` (a Mersenne prime)."""


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

    Anyone who reads the :math:`K` published sums can add them up, so a central
    ``noise`` hook is not applied to the reconstructed total (the transcript
    would hold the exact total): the first provider, a trusted curator, draws
    the whole noise (``noise.draw``) and adds it to its table before sharing
    it (:attr:`~.base.Aggregator.publishes_partial_sums`).  The published sums
    then add up to the noisy total; the curator alone knows the exact one, so
    central noise protects the release against outsiders and the other
    providers, not against the curator.  Distributed noise (:class:`encmed_lib.privacy.DistributedNoise`)
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
    publishes_partial_sums = True

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
