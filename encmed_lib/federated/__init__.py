"""Federated tree training: providers grow one Gini tree, revealing only summed counts.

* :mod:`.aggregation`: secure sums of count tables -- additive secret sharing
  (SMPC), Paillier (HE) and an insecure plain baseline, one module each --
  with a transcript of every message.
* :mod:`.ranges` and :mod:`.binning`: the public ranges and the public bins
  every provider shares.
* :mod:`.providers`: the data holders, who only ever send count tables.
* :mod:`.splits`: a node's best Gini split from its summed table (exact scores,
  tie-break and stopping rules).
* :mod:`.assembly`: the drafts grown level by level, written as a tree.
* :mod:`.trainer`: the level-by-level trainer (and the names above, re-exported)
  whose result is a :class:`~encmed_lib.tree.PortableTree` that
  :class:`~encmed_lib.TreeServer` serves for encrypted prediction.

Example::

    from encmed_lib.federated import (Binning, FederatedTreeTrainer, HEART_RANGES,
                                      SecretSharingAggregator, split_providers)
    providers = split_providers(X, y, k=3, sizes=(0.5, 0.3, 0.2), seed=0)
    trainer = FederatedTreeTrainer(4, Binning.from_ranges(HEART_RANGES, 16),
                                   SecretSharingAggregator())
    tree = trainer.fit(providers)          # a PortableTree
    print(trainer.transcript_.show())      # who sent what to whom
"""

from .aggregation import (
    BACKENDS,
    EVERYONE,
    MERSENNE_127,
    Aggregator,
    Message,
    NoiseHook,
    PaillierAggregator,
    PlainAggregator,
    RevealInfo,
    SecretSharingAggregator,
    Transcript,
)
from .trainer import (
    HEART_RANGES,
    SYNTHEA_RANGES,
    Binning,
    Codes,
    FederatedTreeTrainer,
    Provider,
    SplitRecord,
    providers_from_organizations,
    split_providers,
)

__all__ = [
    "Aggregator", "PlainAggregator", "SecretSharingAggregator", "PaillierAggregator", "BACKENDS",
    "Message", "Transcript", "RevealInfo", "NoiseHook", "EVERYONE", "MERSENNE_127",
    "Binning", "Codes", "HEART_RANGES", "SYNTHEA_RANGES", "Provider", "split_providers",
    "providers_from_organizations", "FederatedTreeTrainer", "SplitRecord",
]
