"""Public bin edges: every provider places every value into the same bins.

A Gini split only needs, for every candidate threshold, how many records of
each class fall on each side.  If every provider places every feature value
into the *same* bins, those numbers are sums of per-provider **count tables**
``counts[feature, bin, class]``.  The bin edges must be agreed without looking
at anybody's data, so they come from public knowledge:

* :meth:`Binning.from_ranges`: equal-width bins over a **public clinical
  range** per feature (:data:`~.ranges.HEART_RANGES`,
  :data:`~.ranges.SYNTHEA_RANGES`); a categorical feature uses its codes as
  bins (:class:`~.ranges.Codes`).  Costs no privacy at all.
* :meth:`Binning.from_histograms`: quantile edges read off a **securely
  aggregated histogram** on a fine public grid.  This is one more aggregate
  revealed (counted in the transcript, and subject to the ``noise`` hook: a
  differential-privacy budget must pay for it too).

**Bin semantics.**  A feature's bins are defined by ``B - 1`` increasing
*interior edges* :math:`e_0 < \\dots < e_{B-2}`, each a float32 number:

.. math::  \\mathrm{bin}(x) = \\#\\{j : e_j < \\mathrm{float32}(x)\\},

so bin ``b`` holds :math:`e_{b-1} < x \\le e_b` (bin 0 everything up to
:math:`e_0`, the last bin everything above :math:`e_{B-2}`; values outside the
public range land in the end bins).  Hence, exactly,

.. math::  \\mathrm{bin}(x) \\le k \\iff \\mathrm{float32}(x) \\le e_k ,

which is the comparison a :class:`~encmed_lib.tree.PortableTree` node makes
(``float32(x) <= threshold``) and that the encrypted protocol reproduces
exactly (the edges are float32 numbers, so they are exact in the fixed-point
encoding too).  A split "bin <= k" learnt on binned data becomes the raw
threshold :math:`e_k`, and the tree on **raw** records predicts what the tree
on **binned** records predicts, record for record.

:meth:`Binning.flatten` and :meth:`Binning.unflatten` convert between padded
``(nodes, features, max_bins, classes)`` tables and the flat vectors actually
aggregated (the padding of features with fewer bins is never sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .aggregation import Aggregator, NoiseHook, RevealInfo, Transcript
from .providers import check_columns, check_providers
from .ranges import Codes

if TYPE_CHECKING:
    from .providers import Provider


class Binning:
    """Public bin edges per feature, and the bin of every value.

    Parameters
    ----------
    edges : mapping
        ``{feature: interior edges}``, strictly increasing; each edge is rounded
        to the nearest float32 (see the module docstring: bin ``b`` holds
        ``e[b-1] < float32(x) <= e[b]``).  A feature with ``B - 1`` edges has
        ``B`` bins; the order of the mapping is the feature order.
    kinds : mapping, optional
        ``{feature: "range" | "codes" | "quantiles" | "custom"}``, for display.
    """

    def __init__(self, edges: Mapping[str, Sequence[float]], *, kinds: Mapping[str, str] | None = None):
        if not edges:
            raise ValueError("a binning needs at least one feature")
        self.edges: dict[str, np.ndarray] = {}
        for name, e in edges.items():
            arr = np.asarray(e, dtype=np.float64).astype(np.float32).astype(np.float64)
            if arr.ndim != 1 or not np.all(np.isfinite(arr)):
                raise ValueError(f"feature {name!r}: edges must be a list of finite numbers")
            if np.any(np.diff(arr) <= 0):
                raise ValueError(f"feature {name!r}: edges must be strictly increasing "
                                 f"(after rounding to float32), got {arr.tolist()}")
            self.edges[str(name)] = arr
        self.kinds = {name: (kinds or {}).get(name, "custom") for name in self.edges}

    # -- construction ----------------------------------------------------------
    @classmethod
    def from_ranges(cls, ranges: Mapping[str, tuple[float, float] | Codes], n_bins: int = 16
                    ) -> Binning:
        """Equal-width bins over public ranges; :class:`Codes` features get one bin per code.

        Parameters
        ----------
        ranges : mapping
            ``{feature: (low, high)}`` or ``{feature: Codes(...)}``, e.g. :data:`HEART_RANGES`.
        n_bins : int
            Bins per range feature: edges at ``low + j (high - low) / n_bins``,
            ``j = 1 .. n_bins - 1``, rounded to float32.
        """
        if n_bins < 2:
            raise ValueError(f"n_bins must be at least 2, got {n_bins}")
        edges, kinds = {}, {}
        for name, spec in ranges.items():
            if isinstance(spec, Codes):
                edges[name], kinds[name] = list(spec.codes[:-1]), "codes"
                continue
            try:
                low, high = (float(v) for v in spec)
            except (TypeError, ValueError):
                raise ValueError(f"feature {name!r}: expected (low, high) or Codes(...), "
                                 f"got {spec!r}") from None
            if not low < high:
                raise ValueError(f"feature {name!r}: the range needs low < high, got {spec!r}")
            edges[name] = [low + (high - low) * j / n_bins for j in range(1, n_bins)]
            kinds[name] = "range"
        return cls(edges, kinds=kinds)

    @classmethod
    def from_histograms(cls, providers: Sequence[Provider], aggregator: Aggregator,
                        ranges: Mapping[str, tuple[float, float] | Codes], n_bins: int = 8, *,
                        fine_bins: int = 64, transcript: Transcript | None = None,
                        noise: NoiseHook | None = None) -> Binning:
        """Quantile edges from a securely aggregated histogram on a fine public grid.

        Each provider counts its records in ``fine_bins`` equal-width bins of
        the public ranges; only the sum is revealed (one more aggregate: it is
        recorded in ``transcript`` under the round ``"binning"`` and passes
        through ``noise``, so a privacy budget pays for it).  For each range
        feature the edges are the fine edges where the cumulative count first
        reaches ``j / n_bins`` of the total, ``j = 1 .. n_bins - 1``
        (duplicates merged, so a feature may get fewer bins).  :class:`Codes`
        features keep their codes.  The edges stay on the public grid.
        """
        providers = check_providers(providers)
        fine = cls.from_ranges(ranges, fine_bins)
        check_columns(providers, fine)
        transcript = transcript if transcript is not None else Transcript()
        transcript.round = "binning"
        tables = {p.name: fine.flatten(p.histogram(fine)[None, :, :, None])[0] for p in providers}
        info = RevealInfo("histogram", "binning", (), len(fine.feature_names), len(providers))
        total = aggregator.aggregate(tables, transcript, noise=noise, info=info)
        hist = fine.unflatten(np.asarray(total)[None, :], 1)[0, :, :, 0]
        edges, kinds = {}, {}
        for f, name in enumerate(fine.feature_names):
            if fine.kinds[name] == "codes":
                edges[name], kinds[name] = fine.edges[name], "codes"
                continue
            edges[name] = quantile_edges(hist[f, :fine.n_bins[name]], fine.edges[name], n_bins)
            kinds[name] = "quantiles"
        return cls(edges, kinds=kinds)

    # -- reading ---------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return list(self.edges)

    @property
    def n_bins(self) -> dict[str, int]:
        """Bins per feature (edges + 1)."""
        return {name: len(e) + 1 for name, e in self.edges.items()}

    @property
    def max_bins(self) -> int:
        return max(self.n_bins.values())

    def threshold(self, feature: str, k: int) -> float:
        """The raw threshold of the split "bin <= k": ``float32(x) <= edge_k`` exactly when it holds."""
        edges = self.edges[feature]
        if not 0 <= k < len(edges):
            raise ValueError(f"feature {feature!r}: bin {k} has no upper edge "
                             f"(bins 0..{len(edges)})")
        return float(edges[k])

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Bin indices (``int64``) of every value, same index, columns :attr:`feature_names`.

        Raises
        ------
        ValueError
            A feature is missing from ``X`` or a value is NaN or infinite (impute first).
        """
        out = {}
        for name, edges in self.edges.items():
            if name not in X.columns:
                raise ValueError(f"column {name!r} is missing: the binning needs {self.feature_names}")
            values = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=np.float64)
            if not np.all(np.isfinite(values)):
                raise ValueError(f"column {name!r} has missing or infinite values: impute them "
                                 "before binning")
            v32 = values.astype(np.float32).astype(np.float64)
            out[name] = np.searchsorted(edges, v32, side="left").astype(np.int64)
        return pd.DataFrame(out, index=X.index, columns=self.feature_names)

    # -- padded tables <-> the flat vectors actually sent --------------------------
    def mask(self) -> np.ndarray:
        """``(n_features, max_bins)`` booleans: which padded bins exist."""
        m = np.zeros((len(self.edges), self.max_bins), dtype=bool)
        for f, nb in enumerate(self.n_bins.values()):
            m[f, :nb] = True
        return m

    def flatten(self, tables: np.ndarray) -> np.ndarray:
        """``(m, F, max_bins, C)`` -> ``(m, sum_f bins_f * C)``: drop the padding before sending."""
        tables = np.asarray(tables)
        return tables[:, self.mask(), :].reshape(tables.shape[0], -1)

    def unflatten(self, flat: np.ndarray, n_classes: int) -> np.ndarray:
        """Inverse of :meth:`flatten` (padding filled with zeros)."""
        flat = np.asarray(flat)
        out = np.zeros((flat.shape[0], len(self.edges), self.max_bins, n_classes), dtype=flat.dtype)
        out[:, self.mask(), :] = flat.reshape(flat.shape[0], -1, n_classes)
        return out

    def describe(self) -> pd.DataFrame:
        """One row per feature: kind, number of bins, edges."""
        return pd.DataFrame([{"feature": name, "kind": self.kinds[name], "bins": len(e) + 1,
                              "edges": ", ".join(f"{v:g}" for v in e)}
                             for name, e in self.edges.items()]).set_index("feature")

    def to_dict(self) -> dict:
        return {"edges": {n: [float(v) for v in e] for n, e in self.edges.items()},
                "kinds": dict(self.kinds)}

    @classmethod
    def from_dict(cls, data: dict) -> Binning:
        return cls(data["edges"], kinds=data.get("kinds"))

    def __repr__(self) -> str:
        return f"Binning({len(self.edges)} features, {sum(self.n_bins.values())} bins)"


def quantile_edges(histogram: np.ndarray, fine_edges: np.ndarray, n_bins: int) -> list[float]:
    """The fine edges at the ``j / n_bins`` quantiles of a histogram, ``j = 1 .. n_bins - 1``.

    With :math:`S_b = \\sum_{b' \\le b} \\max(h_{b'}, 0)` the cumulative
    (clamped) counts, quantile ``j`` is the first fine bin ``b`` with
    :math:`S_b \\ge j S_{last} / n_{bins}`; its upper edge ``fine_edges[b]``
    becomes an edge (the last fine bin has none, and duplicates merge, so the
    result may hold fewer than ``n_bins - 1`` edges; an empty histogram gives none).
    """
    counts = np.clip(np.asarray(histogram, dtype=np.float64), 0, None)
    cum = np.cumsum(counts)
    chosen = set()
    if cum[-1] > 0:
        for j in range(1, n_bins):
            b = int(np.searchsorted(cum, j * cum[-1] / n_bins, side="left"))
            if b < len(fine_edges):
                chosen.add(b)
    return [fine_edges[b] for b in sorted(chosen)]
