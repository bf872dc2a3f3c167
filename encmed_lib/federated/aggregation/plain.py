"""The insecure baseline: every provider sends its table in clear to an aggregator."""

from __future__ import annotations

import numpy as np

from .base import Aggregator
from .transcript import COUNT_BYTES


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
