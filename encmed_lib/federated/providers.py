"""The providers: data holders that keep their records and only ever send count tables.

A :class:`Provider` bins its own records with the public binning, computes
count tables of the records at the nodes it is asked about, and routes its
records to the children of the splits announced to it; nothing else leaves
it.  :func:`split_providers` and :func:`providers_from_organizations` build
providers from one table (a simulation of several hospitals);
:func:`check_providers` and :func:`check_columns` are the checks every
training run makes first, and :func:`announce_bounds` the one public fact a
packing back-end may need before the first round.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .aggregation import EVERYONE, Transcript

if TYPE_CHECKING:
    from .binning import Binning


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
        n = p.n_records  # the provider computes its own bound
        bound = 1 << max(0, n - 1).bit_length() if n else 1
        total += bound
        transcript.send(p.name, EVERYONE, "bound", bound,
                        summary=f"a public bound on its record count: {bound} (a power of two)",
                        size=8)
    setter(total)


def check_providers(providers: Sequence[Provider]) -> list[Provider]:
    """The providers as a list, checked: :class:`Provider` objects, at least 2, distinct names.

    Raises ``TypeError`` for anything else than a provider and ``ValueError``
    for fewer than 2 providers or a repeated name; warns (``UserWarning``)
    with exactly 2, since each then learns the other's tables from the sums.
    """
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


def check_columns(providers: list[Provider], binning: Binning) -> None:
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
