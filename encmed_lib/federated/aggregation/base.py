"""The interface every aggregation back-end shares: validate, sum, perturb, publish.

:meth:`Aggregator.aggregate` is the one entry point of the trainer (and of
the differential-privacy code): it validates the providers' tables
(:func:`check_tables`), lets a distributed ``noise`` hook perturb each table
at its provider, asks the back-end for the exact total
(:meth:`Aggregator._aggregate`, the only method a back-end implements),
applies a central ``noise`` hook (told what it perturbs by a
:class:`RevealInfo`) and records the publication of the total in the
:class:`~.transcript.Transcript`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .transcript import COUNT_BYTES, EVERYONE, Transcript


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
    publishes_partial_sums = False
    """Whether the messages published to everyone add up to the total (secret sharing).  A central
    ``noise`` hook with a ``draw`` method is then drawn by the first provider, a trusted curator, and
    added to its table before sharing: applied to the reconstructed total it would leave the exact
    total in the transcript."""

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
            total, where the back-end allows signed tables.  On a back-end
            whose published messages add up to the total
            (:attr:`publishes_partial_sums`), a central hook with a ``draw``
            method has the first provider add ``noise.draw(shape, info)`` to
            its table first, then ``noise.finish(total, info)``.
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
        curator = (noise is not None and not distributed and self.publishes_partial_sums
                   and hasattr(noise, "draw"))
        if distributed:  # each provider perturbs its own table before anything leaves it
            arrays = {n: arrays[n] + np.asarray(noise.provider_share(n, shape, info), dtype=np.int64)
                      for n in names}
        elif curator:  # the whole central draw, in the first provider's table before it is shared
            arrays[names[0]] = arrays[names[0]] + np.asarray(noise.draw(shape, info), dtype=np.int64)
        total, revealer = self._aggregate(arrays, shape, transcript)
        total = np.asarray(total, dtype=np.int64).reshape(shape)
        if distributed or curator:
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
