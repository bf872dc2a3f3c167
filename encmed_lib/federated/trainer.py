"""Federated decision-tree training: providers grow one Gini tree without pooling records.

The setting
-----------
``K`` providers (hospitals, practices) each hold their own patients' records
and want one decision tree trained on all of them, without any of them
showing its records -- or even its per-hospital statistics -- to anyone.  The
tree is then an ordinary :class:`~encmed_lib.tree.PortableTree`: a
:class:`~encmed_lib.TreeServer` serves it for encrypted prediction.

Binning: public edges
---------------------
A Gini split only needs, for every candidate threshold, how many records of
each class fall on each side.  If every provider places every feature value
into the *same* bins, those numbers are sums of per-provider **count tables**
``counts[feature, bin, class]``.  The bin edges must be agreed without looking
at anybody's data, so they come from public knowledge:

* :meth:`Binning.from_ranges`: equal-width bins over a **public clinical
  range** per feature (:data:`HEART_RANGES`, :data:`SYNTHEA_RANGES`); a
  categorical feature uses its codes as bins (:class:`Codes`).  Costs no
  privacy at all.
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

Growing the tree
----------------
Level by level.  For all open nodes of a level at once (one aggregation per
level: ``max_depth`` rounds for a depth-``max_depth`` tree), every provider
computes its count table for its own records at each node, the tables are
summed by a secure aggregator (:mod:`encmed_lib.federated.aggregation`), and
only the sum is revealed.  From the sum the coordinator -- any party, or each
provider on its own, since the sums are public -- picks each node's best
Gini split and announces it; providers route their own records to the
children.

**Candidate splits and tie-break rule.**  At a node, for feature ``f``, let
the non-empty bins (in the summed table) be :math:`b_1 < b_2 < \\dots`.  The
candidates are the cuts between consecutive non-empty bins :math:`(lo, hi)`;
the cut is placed at :math:`k = \\lfloor (lo + hi) / 2 \\rfloor` ("bin <= k"
goes left), the bin-space midpoint, as scikit-learn places its threshold at
the midpoint :math:`(lo + hi) / 2` between observed values.  Every candidate
is scored by the Gini criterion **in exact rational arithmetic**: maximise
:math:`\\sum_c L_c^2 / n_L + \\sum_c R_c^2 / n_R` (equivalently minimise the
weighted child impurity).  Equal scores are broken by the **lowest feature
index** (position in the binning's feature list), then the **lowest bin**
``lo``.  (scikit-learn breaks exact ties by its random feature permutation
instead; :attr:`FederatedTreeTrainer.splits_` records each node's margin
over the runner-up so a comparison can check no tie was decisive.)

**Stopping rules** (scikit-learn's, so the trees match): a node is a leaf if
``depth >= max_depth``, it has fewer than ``min_samples_split`` (or
``2 * min_samples_leaf``) records, it is pure, every feature is constant on
it, or the weighted impurity decrease plus machine epsilon is below
``min_impurity_decrease``.  With the default ``min_impurity_decrease=0`` a
split **with zero gain is still made** (scikit-learn does the same).

Exactness
---------
Without noise the federated tree equals, node for node (feature, threshold
through the bin semantics, children, class counts, impurity),
``DecisionTreeClassifier(criterion="gini", max_depth=d)`` fitted on the
pooled *binned* data, whenever no exact tie between two different candidate
splits decides a node (scikit-learn's choice then depends on its
``random_state``).  ``tests/test_federated.py`` checks it for three back-ends.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from ..tree import Node, PortableTree
from .aggregation import (
    EVERYONE,
    Aggregator,
    NoiseHook,
    RevealInfo,
    SecretSharingAggregator,
    Transcript,
)

EPSILON = float(np.finfo(np.float64).eps)
"""scikit-learn's tolerance in its stopping rules (pure node, minimum decrease)."""


# ------------------------------------------------------------------ binning
class Codes:
    """A categorical feature's codes: each code is a bin of its own.

    ``Codes(1, 2, 3, 4)`` gives edges ``1, 2, 3``: bin 0 is ``x <= 1``, bin 1
    ``1 < x <= 2``... and the last bin ``x > 3``.
    """

    def __init__(self, *codes: float):
        if not codes:
            raise ValueError("Codes needs at least one code")
        self.codes = tuple(sorted({float(c) for c in codes}))

    def __repr__(self) -> str:
        return f"Codes{tuple(int(c) if c.is_integer() else c for c in self.codes)}"


HEART_RANGES: dict[str, tuple[float, float] | Codes] = {
    "age": (20.0, 84.0),           # years (adult cardiology patients)
    "sex": Codes(0, 1),
    "cp": Codes(1, 2, 3, 4),       # UCI codes; the Kaggle file uses 0-3 (the extra bin absorbs it)
    "trestbps": (80.0, 208.0),     # resting systolic blood pressure, mm Hg
    "chol": (100.0, 420.0),        # serum cholesterol, mg/dl
    "fbs": Codes(0, 1),
    "restecg": Codes(0, 1, 2),
    "thalach": (60.0, 220.0),      # maximum heart rate, beats/min (220 - age at most)
    "exang": Codes(0, 1),
    "oldpeak": (0.0, 6.4),         # ST depression, mm
    "slope": Codes(1, 2, 3),
    "ca": Codes(0, 1, 2, 3),
    "thal": Codes(3, 6, 7),
}
"""Public clinically plausible ranges of the 13 heart features (UCI coding); codes for categories.

The ranges are chosen so that 8 or 16 equal-width bins have round widths
(e.g. age in steps of 4 or 8 years)."""

SYNTHEA_RANGES: dict[str, tuple[float, float] | Codes] = {
    "age": (20.0, 100.0),              # years
    "sex": Codes(0, 1),
    "bmi": (14.0, 54.0),               # kg/m2
    "systolic_bp": (80.0, 208.0),      # mm Hg
    "diastolic_bp": (40.0, 120.0),     # mm Hg
    "total_cholesterol": (100.0, 340.0),  # mg/dL
    "ldl": (40.0, 232.0),              # mg/dL
    "hdl": (20.0, 100.0),              # mg/dL
    "triglycerides": (40.0, 600.0),    # mg/dL
    "smoking": Codes(0, 1, 2),         # never, former, current
    "diabetes": Codes(0, 1),
}
"""Public clinically plausible ranges of the Synthea features (:func:`encmed_lib.load_synthea`)."""


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
        providers = _check_providers(providers)
        fine = cls.from_ranges(ranges, fine_bins)
        _check_columns(providers, fine)
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
            counts = np.clip(np.asarray(hist[f, :fine.n_bins[name]], dtype=np.float64), 0, None)
            cum = np.cumsum(counts)
            chosen = set()
            if cum[-1] > 0:
                for j in range(1, n_bins):
                    b = int(np.searchsorted(cum, j * cum[-1] / n_bins, side="left"))
                    if b < len(fine.edges[name]):
                        chosen.add(b)
            edges[name] = [fine.edges[name][b] for b in sorted(chosen)]
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


# ---------------------------------------------------------------- providers
class Provider:
    """One data holder: keeps its raw records and computes count tables on them.

    Only count tables leave a provider, and only through a secure
    aggregator; the chosen splits come in, and its records are routed
    locally.  ``repr`` shows the name and the number of records only.

    Parameters
    ----------
    name : str
        The party's name in transcripts.
    X : pandas.DataFrame
        Its records (any index); columns are feature names.
    y : array-like
        Its labels.
    """

    def __init__(self, name: str, X: pd.DataFrame, y):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"provider {name!r}: X must be a pandas DataFrame with named columns")
        y = np.asarray(y)
        if len(X) != len(y):
            raise ValueError(f"provider {name!r}: {len(X)} records but {len(y)} labels")
        self.name = str(name)
        self._X = X.reset_index(drop=True).copy()
        self._y = y.copy()
        self._bins: np.ndarray | None = None
        self._cls: np.ndarray | None = None
        self._node: np.ndarray | None = None
        self._shape: tuple[int, int, int] | None = None

    def __repr__(self) -> str:
        return f"Provider({self.name!r}, {len(self._y)} records)"

    @property
    def n_records(self) -> int:
        return len(self._y)

    @property
    def feature_names(self) -> list[str]:
        """The column names (the schema is public; the values are not)."""
        return [str(c) for c in self._X.columns]

    def labels(self) -> set:
        """The labels present (used to agree on the classes when none are given)."""
        return {v.item() if isinstance(v, np.generic) else v for v in np.unique(self._y)}

    # -- training-time state ---------------------------------------------------------
    def prepare(self, binning: Binning, classes: Sequence) -> None:
        """Bin the records with the public binning and put them all at the root (node 0)."""
        self._bins = binning.transform(self._X).to_numpy(dtype=np.int64)
        index = {c: i for i, c in enumerate(classes)}
        try:
            self._cls = np.array([index[v.item() if isinstance(v, np.generic) else v]
                                  for v in self._y], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"provider {self.name!r}: label {exc.args[0]!r} is not one of the "
                             f"classes {list(classes)}") from None
        self._node = np.zeros(len(self._y), dtype=np.int64)
        self._shape = (len(binning.feature_names), binning.max_bins, len(classes))

    def count_table(self, node: int) -> np.ndarray:
        """Counts of this provider's records at ``node``: shape ``(n_features, max_bins, n_classes)``."""
        return self.count_tables([node])[0]

    def count_tables(self, nodes: Sequence[int]) -> np.ndarray:
        """:meth:`count_table` for several nodes at once: shape ``(len(nodes), F, B, C)``."""
        if self._node is None:
            raise RuntimeError(f"provider {self.name!r} is not prepared: call prepare(binning, classes)")
        F, B, C = self._shape
        m = len(nodes)
        lookup = {int(n): r for r, n in enumerate(nodes)}
        rows = np.array([lookup.get(int(n), -1) for n in self._node], dtype=np.int64)
        keep = rows >= 0
        if not keep.any():
            return np.zeros((m, F, B, C), dtype=np.int64)
        r, b, c = rows[keep], self._bins[keep], self._cls[keep]
        flat = ((r[:, None] * F + np.arange(F)[None, :]) * B + b) * C + c[:, None]
        counts = np.bincount(flat.ravel(), minlength=m * F * B * C)
        return counts.reshape(m, F, B, C).astype(np.int64)

    def histogram(self, binning: Binning) -> np.ndarray:
        """Counts of all records per (feature, bin): shape ``(n_features, max_bins)``."""
        bins = binning.transform(self._X).to_numpy(dtype=np.int64)
        F, B = len(binning.feature_names), binning.max_bins
        flat = (np.arange(F)[None, :] * B + bins).ravel()
        return np.bincount(flat, minlength=F * B).reshape(F, B).astype(np.int64)

    def route(self, splits: Mapping[int, tuple[int, int, int, int]]) -> None:
        """Send records to children: ``{node: (feature index, k, left, right)}``, left if bin <= k."""
        for node, (f, k, left, right) in splits.items():
            at = self._node == node
            goes_left = self._bins[:, f] <= k
            self._node[at & goes_left] = left
            self._node[at & ~goes_left] = right


def split_providers(X: pd.DataFrame, y, k: int = 3, sizes: Sequence[float] | None = None,
                    seed: int = 0, names: Sequence[str] | None = None) -> list[Provider]:
    """Split a table at random into ``k`` providers ("hospitals") of different sizes.

    Parameters
    ----------
    X, y : DataFrame, array-like
        The records to distribute.
    k : int
        Number of providers (at least 2; the course uses 3 or more).
    sizes : sequence of float, optional
        Relative sizes, one per provider; default ``(0.5, 0.3, 0.2)`` for
        ``k = 3``, else ``0.6 ** i`` normalised.  A size of 0 gives an empty provider.
    seed : int
        Seed of the (statistical, not cryptographic) random assignment.
    names : sequence of str, optional
        Default ``hospital-A``, ``hospital-B``...
    """
    if k < 2:
        raise ValueError(f"k must be at least 2 providers, got {k}")
    if sizes is None:
        sizes = (0.5, 0.3, 0.2) if k == 3 else tuple(0.6 ** np.arange(k))
    sizes = np.asarray(sizes, dtype=np.float64)
    if len(sizes) != k:
        raise ValueError(f"{len(sizes)} sizes for k = {k} providers")
    if np.any(sizes < 0) or sizes.sum() <= 0:
        raise ValueError("sizes must be non-negative and not all zero")
    names = list(names) if names is not None else [f"hospital-{chr(65 + i)}" for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} names for k = {k} providers")
    y = pd.Series(np.asarray(y), index=X.index)
    n = len(X)
    share = sizes / sizes.sum() * n
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    perm = np.random.default_rng(seed).permutation(n)
    out, start = [], 0
    for name, c in zip(names, counts, strict=True):
        idx = np.sort(perm[start:start + c])
        start += c
        out.append(Provider(name, X.iloc[idx], y.iloc[idx].to_numpy()))
    return out


def providers_from_organizations(X: pd.DataFrame, y, organization: pd.Series, *, min_size: int = 50,
                                 names: Mapping[str, str] | None = None, other: str = "other",
                                 min_providers: int = 3) -> list[Provider]:
    """One provider per organization (as :func:`~encmed_lib.load_synthea` assigns patients).

    Organizations with fewer than ``min_size`` patients are grouped into one
    provider named ``other``.  Providers come largest first.

    Parameters
    ----------
    X, y, organization : DataFrame, Series, Series
        Aligned on the same index (as returned by ``load_synthea``).
    min_size : int
        Smallest organization kept on its own.
    names : mapping, optional
        ``{organization id: display name}``; default ``org-`` and the id's first 8 characters.
    min_providers : int
        Raise ``ValueError`` if grouping leaves fewer providers than this.
    """
    organization = pd.Series(organization)
    if not (X.index.equals(organization.index) and len(np.asarray(y)) == len(X)):
        raise ValueError("X, y and organization must be aligned on the same index")
    y = pd.Series(np.asarray(y), index=X.index)
    sizes = organization.value_counts()
    sizes = sizes.sort_index().sort_values(ascending=False, kind="stable")
    big = [org for org, c in sizes.items() if c >= min_size]
    small = [org for org, c in sizes.items() if c < min_size]
    names = dict(names or {})
    groups = [(names.get(org, f"org-{str(org)[:8]}"), organization == org) for org in big]
    if small:
        groups.append((other, organization.isin(small)))
    if len(groups) < min_providers:
        raise ValueError(f"only {len(groups)} providers with min_size={min_size} "
                         f"(organization sizes {sizes.tolist()}): lower min_size to get "
                         f"{min_providers} or more")
    groups.sort(key=lambda g: -int(g[1].sum()))
    return [Provider(name, X[mask.to_numpy()], y[mask.to_numpy()].to_numpy()) for name, mask in groups]


# ------------------------------------------------------------------- trainer
@dataclass
class SplitRecord:
    """How one internal node was chosen (ids are the final tree's node ids).

    ``score`` is :math:`\\sum_c L_c^2/n_L + \\sum_c R_c^2/n_R` (maximised);
    ``margin`` is its lead over the best *different* candidate split at the
    node (``inf`` if there was only one): a margin of 0 means the tie-break
    rule decided.
    """

    node: int
    feature: str
    feature_index: int
    low_bin: int
    high_bin: int
    bin: int
    threshold: float
    score: float
    runner_up: float | None
    margin: float
    improvement: float
    n_candidates: int


@dataclass
class Draft:
    key: int
    depth: int
    counts: np.ndarray | None = None
    split: tuple | None = None  # (feature index, lo, hi, k)
    children: tuple[Draft, Draft] | None = None
    record: dict = field(default_factory=dict)


def announce_bounds(providers: Sequence[Provider], aggregator, transcript: Transcript) -> None:
    """Each provider announces its record count rounded up to a power of two (a public bound).

    No count at any node can exceed a provider's record count, so the sum of
    these bounds bounds every total; a packing back-end sizes its slots from
    it (:meth:`~encmed_lib.federated.aggregation.PaillierAggregator.set_public_bound`).
    The rounding reveals less than the root's totals do anyway -- but it is
    not noisy, so a differentially private run must not make it: an
    aggregator with a ``record_bound`` fixed in advance announces nothing.
    """
    setter = getattr(aggregator, "set_public_bound", None)
    if setter is None or not getattr(aggregator, "auto_slots", False):
        return
    if getattr(aggregator, "record_bound", None) is not None:
        return  # fixed in advance: nothing about the data is announced
    total = 0
    for p in providers:
        n = len(p._y)  # the provider computes its own bound
        bound = 1 << max(0, n - 1).bit_length() if n else 1
        total += bound
        transcript.send(p.name, EVERYONE, "bound", bound,
                        summary=f"a public bound on its record count: {bound} (a power of two)",
                        size=8)
    setter(total)


class FederatedTreeTrainer:
    """Grow a Gini decision tree over several providers, level by level.

    Parameters
    ----------
    max_depth : int or None
        Depth limit (``None``: grow until pure or unsplittable).
    binning : Binning
        The public bin edges (every provider must have exactly its features).
    aggregator : Aggregator, optional
        The secure aggregation back-end; default :class:`SecretSharingAggregator`.
    min_samples_split, min_samples_leaf, min_impurity_decrease
        scikit-learn's stopping rules, same meaning and defaults.
    classes : sequence, optional
        The class labels (public).  Default: the sorted union of the
        providers' labels (which tells everyone which labels each provider has;
        pass them to avoid even that).
    noise : callable, optional
        ``noise(total, info) -> noisy total`` applied to every aggregate
        before it is revealed (hook for differential privacy; see
        :class:`~.aggregation.RevealInfo`).  It must return finite,
        non-negative counts.
    coordinator : str
        Name of the party announcing rounds and splits in the transcript.

    Attributes (after :meth:`fit`)
    ------------------------------
    tree_ : PortableTree
        The tree, thresholds in the raw feature space.
    binned_tree_ : PortableTree
        The same tree over bin indices (thresholds ``(lo + hi) / 2``, as
        scikit-learn would place them on the binned data).
    splits_ : list of SplitRecord
        One per internal node.
    transcript_ : Transcript
        Every message of the run.
    n_rounds_ : int
        Aggregations performed (one per level with a node to split).
    node_ids_ : dict
        ``{node number in the messages: node id in the tree}``.  Messages
        number nodes as they are created, level by level (root 0, its
        children 1 and 2...); the finished tree is renumbered depth first,
        left subtree first, as scikit-learn numbers its nodes.
    """

    def __init__(self, max_depth: int | None, binning: Binning, aggregator: Aggregator | None = None,
                 *, min_samples_split: int = 2, min_samples_leaf: int = 1,
                 min_impurity_decrease: float = 0.0, classes: Sequence | None = None,
                 noise: NoiseHook | None = None, coordinator: str = "coordinator"):
        if max_depth is not None and max_depth < 0:
            raise ValueError(f"max_depth must be >= 0 or None, got {max_depth}")
        if min_samples_split < 2:
            raise ValueError(f"min_samples_split must be at least 2, got {min_samples_split}")
        if min_samples_leaf < 1:
            raise ValueError(f"min_samples_leaf must be at least 1, got {min_samples_leaf}")
        if not isinstance(binning, Binning):
            raise TypeError("binning must be a Binning (e.g. Binning.from_ranges(HEART_RANGES))")
        self.max_depth = max_depth
        self.binning = binning
        self.aggregator = aggregator if aggregator is not None else SecretSharingAggregator()
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_impurity_decrease = min_impurity_decrease
        self.classes = None if classes is None else list(classes)
        self.noise = noise
        self.coordinator = coordinator

    # -- the protocol ------------------------------------------------------------------
    def fit(self, providers: Sequence[Provider], transcript: Transcript | None = None) -> PortableTree:
        """Train on the providers' records; returns the :class:`PortableTree` (also ``self.tree_``).

        Raises
        ------
        ValueError
            Fewer than 2 providers, duplicate provider names, providers whose
            columns differ (the message names the column) or differ from the
            binning's features, unknown labels, or no records at all.
        """
        providers = _check_providers(providers)
        _check_columns(providers, self.binning)
        classes = self.classes
        if classes is None:
            labels = set().union(*(p.labels() for p in providers))
            classes = sorted(labels)
        self.classes_ = list(classes)
        transcript = transcript if transcript is not None else Transcript()
        self.transcript_ = transcript
        for p in providers:
            p.prepare(self.binning, self.classes_)

        announce_bounds(providers, self.aggregator, transcript)
        F, C = len(self.binning.feature_names), len(self.classes_)
        root = Draft(0, 0)
        keys = 1
        open_nodes = [root]
        self.n_rounds_ = 0
        self._n_root = None
        level = 0
        while open_nodes:
            query = [d for d in open_nodes if d.counts is None or not self._leaf_by_counts(d)]
            if not query:
                break
            transcript.round = f"level {level}"
            ids = [d.key for d in query]
            for p in providers:
                transcript.send(self.coordinator, p.name, "query", ids,
                                summary=f"count tables wanted for nodes {ids}",
                                size=len(json.dumps(ids)))
            tables = {p.name: self.binning.flatten(p.count_tables(ids)) for p in providers}
            info = RevealInfo("counts", transcript.round, tuple(ids), F, len(providers))
            total = self.aggregator.aggregate(tables, transcript, noise=self.noise, info=info)
            total = np.asarray(total)
            if not np.all(np.isfinite(total)) or (total.size and total.min() < 0):
                raise ValueError("the revealed totals must be finite and non-negative (a noise "
                                 "hook must clamp its output)")
            self.n_rounds_ += 1
            totals = self.binning.unflatten(total, C)
            next_open, routing, announced = [], {}, {}
            for d, T in zip(query, totals, strict=True):
                if d.counts is None:  # the root: its class counts come from any feature's bins
                    d.counts = T[0].sum(axis=0)
                    self._n_root = plain_number(d.counts.sum())
                    if self._n_root == 0:
                        raise ValueError("the providers hold no records at all")
                    if self._leaf_by_counts(d):
                        continue
                best = self._best_split(T, d.counts)
                if best is None:
                    continue
                f, lo, hi, k, left_counts, right_counts, record = best
                left, right = Draft(keys, d.depth + 1, left_counts), Draft(keys + 1, d.depth + 1,
                                                                            right_counts)
                keys += 2
                d.split, d.children, d.record = (f, lo, hi, k), (left, right), record
                next_open += [left, right]
                routing[d.key] = (f, k, left.key, right.key)
                announced[d.key] = {"feature": self.binning.feature_names[f],
                                    "threshold": self.binning.threshold(
                                        self.binning.feature_names[f], k),
                                    "left": left.key, "right": right.key}
            if routing:
                text = json.dumps(announced)
                for p in providers:
                    transcript.send(self.coordinator, p.name, "split", announced,
                                    summary=f"{len(routing)} chosen split(s): "
                                            + "; ".join(f"node {n}: {a['feature']} <= {a['threshold']:g}"
                                                        for n, a in announced.items()),
                                    size=len(text))
                    p.route(routing)
            open_nodes = next_open
            level += 1
        transcript.round = ""
        self.tree_, self.binned_tree_, self.splits_ = self._build(root, len(providers))
        return self.tree_

    # -- choosing splits ---------------------------------------------------------------
    def _leaf_by_counts(self, d: Draft) -> bool:
        n = plain_number(d.counts.sum())
        return ((self.max_depth is not None and d.depth >= self.max_depth)
                or n < self.min_samples_split or n < 2 * self.min_samples_leaf
                or _gini(d.counts) <= EPSILON)

    def _best_split(self, T: np.ndarray, counts: np.ndarray):
        """The best candidate on the summed table ``T`` (F, B, C), or None (leaf)."""
        candidates = []
        msl = self.min_samples_leaf
        for f, name in enumerate(self.binning.feature_names):
            H = T[f, : self.binning.n_bins[name], :]
            nonempty = np.flatnonzero(H.sum(axis=1) > 0)
            if len(nonempty) < 2:
                continue  # constant on this node: scikit-learn skips it too
            cum = np.cumsum(H, axis=0)
            total = [_exact(v) for v in cum[-1]]
            for lo, hi in zip(nonempty[:-1], nonempty[1:], strict=True):
                L = [_exact(v) for v in cum[lo]]
                R = [t - v for t, v in zip(total, L, strict=True)]
                nL, nR = sum(L), sum(R)
                if nL < msl or nR < msl or nL <= 0 or nR <= 0:
                    continue
                score = Fraction(sum(v * v for v in L)) / nL + Fraction(sum(v * v for v in R)) / nR
                candidates.append((score, f, int(lo), int(hi)))
        if not candidates:
            return None
        # Tie-break: highest score, then lowest feature index, then lowest bin.
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
        score, f, lo, hi = candidates[0]
        runner = candidates[1][0] if len(candidates) > 1 else None
        H = T[f, : self.binning.n_bins[self.binning.feature_names[f]], :]
        left_counts, right_counts = H[: lo + 1].sum(axis=0), H[lo + 1:].sum(axis=0)
        n_t = _exact(counts.sum())
        nL, nR = _exact(left_counts.sum()), _exact(right_counts.sum())
        n_t, nL, nR = Fraction(n_t), Fraction(nL), Fraction(nR)
        imp = 1 - Fraction(sum(_exact(v) ** 2 for v in counts)) / (n_t * n_t)
        imp_l = 1 - Fraction(sum(_exact(v) ** 2 for v in left_counts)) / (nL * nL)
        imp_r = 1 - Fraction(sum(_exact(v) ** 2 for v in right_counts)) / (nR * nR)
        improvement = n_t / _exact(self._n_root) * (imp - nR / n_t * imp_r - nL / n_t * imp_l)
        if float(improvement) + EPSILON < self.min_impurity_decrease:
            return None
        k = (lo + hi) // 2
        name = self.binning.feature_names[f]
        record = dict(feature=name, feature_index=f, low_bin=lo, high_bin=hi, bin=k,
                      threshold=self.binning.threshold(name, k), score=float(score),
                      runner_up=None if runner is None else float(runner),
                      margin=math.inf if runner is None else float(score - runner),
                      improvement=float(improvement), n_candidates=len(candidates))
        return f, lo, hi, k, left_counts, right_counts, record

    # -- the result ----------------------------------------------------------------------
    def _build(self, root: Draft, n_providers: int):
        order = depth_first(root)
        ids = {d.key: j for j, d in enumerate(order)}
        self.node_ids_ = dict(ids)
        raw, binned, records = [], [], []
        for j, d in enumerate(order):
            n = plain_number(d.counts.sum())
            value = [float(c) / float(n) for c in d.counts]
            common = dict(value=value, n_samples=int(round(n)), weighted_n_samples=float(n),
                          impurity=_gini(d.counts))
            if d.children is None:
                raw.append(Node(j, None, None, None, None, **common))
                binned.append(Node(j, None, None, None, None, **common))
                continue
            f, lo, hi, k = d.split
            name = self.binning.feature_names[f]
            left, right = ids[d.children[0].key], ids[d.children[1].key]
            raw.append(Node(j, name, self.binning.threshold(name, k), left, right, **common))
            binned.append(Node(j, name, (lo + hi) / 2, left, right, **common))
            records.append(SplitRecord(node=j, **d.record))
        meta = {"criterion": "gini", "max_depth": self.max_depth, "trainer": "federated",
                "aggregator": self.aggregator.name, "n_providers": n_providers,
                "binning": self.binning.to_dict()}
        names = self.binning.feature_names
        tree = PortableTree(list(names), list(self.classes_), raw, dict(meta))
        tree.validate()
        bmeta = dict(meta, space="bin indices")
        return tree, PortableTree(list(names), list(self.classes_), binned, bmeta), records

    # -- using it ---------------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Plaintext predictions on raw records (the :class:`PortableTree`)."""
        return self.tree_.predict(X)

    def predict_binned(self, X: pd.DataFrame) -> np.ndarray:
        """Plaintext predictions of the tree over bin indices, on raw records binned first."""
        return self.binned_tree_.predict(self.binning.transform(X))


# ------------------------------------------------------------------ helpers
def _check_providers(providers) -> list[Provider]:
    providers = list(providers)
    for p in providers:
        if not isinstance(p, Provider):
            raise TypeError(f"expected Provider objects, got {type(p).__name__}")
    if len(providers) < 2:
        raise ValueError(f"federated training needs at least 2 providers (3 or more recommended), "
                         f"got {len(providers)}")
    names = [p.name for p in providers]
    if len(set(names)) != len(names):
        raise ValueError(f"provider names must be distinct, got {names}")
    if len(providers) == 2:
        warnings.warn("with 2 providers each one learns the other's count tables from the "
                      "revealed sums (total minus its own): use 3 or more", UserWarning, stacklevel=3)
    return providers


def _check_columns(providers: list[Provider], binning: Binning) -> None:
    """Every provider has exactly the same columns, and they are the binning's features."""
    first = providers[0]
    ref = first.feature_names
    for p in providers[1:]:
        cols = p.feature_names
        for c in ref:
            if c not in cols:
                raise ValueError(f"provider {p.name!r} has no column {c!r}, which provider "
                                 f"{first.name!r} has: every provider needs the same columns")
        for c in cols:
            if c not in ref:
                raise ValueError(f"provider {p.name!r} has a column {c!r} that provider "
                                 f"{first.name!r} lacks: every provider needs the same columns")
    for c in binning.feature_names:
        if c not in ref:
            raise ValueError(f"the providers have no column {c!r}, which the binning needs")
    for c in ref:
        if c not in binning.edges:
            raise ValueError(f"column {c!r} has no bins: add it to the binning's ranges "
                             "(or drop the column)")


def _exact(v) -> Fraction | int:
    """An integer as a Python int, any other number as an exact Fraction."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    return Fraction(float(v))


def depth_first(root: Draft) -> list[Draft]:
    """The drafts in scikit-learn's depth-first numbering (node, then its left subtree, then its right)."""
    order: list[Draft] = []

    def visit(d: Draft) -> None:
        order.append(d)
        if d.children:
            visit(d.children[0])
            visit(d.children[1])

    visit(root)
    return order


def plain_number(v):
    return int(v) if isinstance(v, (int, np.integer)) else float(v)


def _gini(counts) -> float:
    """Gini impurity computed as scikit-learn does (float64, same operation order)."""
    n = float(sum(float(c) for c in counts))
    sq = 0.0
    for c in counts:
        sq += float(c) * float(c)
    return 1.0 - sq / (n * n)
