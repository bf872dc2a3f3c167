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

The package holds one idea per module:

* :mod:`.transcript`: :class:`Message`, :class:`Transcript` and the bytes on the wire;
* :mod:`.base`: the interface :class:`Aggregator` (validation, the ``noise``
  hook and its :class:`RevealInfo`, the publication of the total);
* :mod:`.plain`, :mod:`.secret_sharing`, :mod:`.paillier`: the three back-ends.
"""

from __future__ import annotations

from .base import Aggregator, NoiseHook, RevealInfo, check_tables
from .paillier import FALLBACK_SLOT_BITS, SIGNED_HEADROOM_BITS, PaillierAggregator
from .plain import PlainAggregator
from .secret_sharing import MERSENNE_127, SecretSharingAggregator
from .transcript import COUNT_BYTES, EVERYONE, Message, Transcript, human_bytes

BACKENDS = {"plain": PlainAggregator, "secret sharing": SecretSharingAggregator,
            "paillier": PaillierAggregator}
"""The back-ends by name."""

__all__ = [
    "Aggregator", "PlainAggregator", "SecretSharingAggregator", "PaillierAggregator", "BACKENDS",
    "Message", "Transcript", "RevealInfo", "NoiseHook", "check_tables", "human_bytes",
    "EVERYONE", "MERSENNE_127", "COUNT_BYTES", "SIGNED_HEADROOM_BITS", "FALLBACK_SLOT_BITS",
]
