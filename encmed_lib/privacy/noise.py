"""Trainer ``noise`` hooks: central and distributed discrete Laplace noise on every revealed total."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..federated.aggregation import RevealInfo
from ..federated.trainer import Binning
from .accountant import PrivacyAccountant, PrivacyBudgetError
from .mechanisms import (
    RngLike,
    as_generator,
    discrete_laplace,
    discrete_laplace_variance,
    distributed_discrete_laplace_shares,
    insider_epsilon,
)

LEAF_KIND = "leaves"
"""``RevealInfo.kind`` of the leaf class-count release made by :func:`dp_federated_tree`."""


class CentralNoise:
    r"""Trainer ``noise`` hook: discrete Laplace noise on each revealed total, then clipping at 0.

    Called as ``noise(total, info)`` by the aggregator, right before the
    total is published (:class:`~encmed_lib.federated.RevealInfo` says what
    it is).  The budget and sensitivity depend on ``info.kind``:

    ==================  ======================  ============================
    ``info.kind``       epsilon                 sensitivity
    ==================  ======================  ============================
    ``"counts"``        ``epsilon_per_level``   ``n_features`` (all nodes of
                                                one level at once)
    ``"histogram"``     ``epsilon_binning``     ``info.n_features``
    ``"leaves"``        ``epsilon_leaves``      ``info.n_features`` (1)
    ==================  ======================  ============================

    Parameters
    ----------
    epsilon_per_level : float
        Budget of one level's split tables.
    n_features : int
        Features per node (checked against ``info.n_features``).
    rng : Generator or seed
        Statistical randomness (reproducible experiments only).
    epsilon_leaves, epsilon_binning : float
        Budgets of the leaf class counts and of the binning histogram (0: such
        a release is refused).
    accountant : PrivacyAccountant, optional
        Charged at every release (and refusing it when over budget).
    binning : Binning, optional
        The trainer's binning.  If given, each node's noisy split table is
        made **consistent** before clipping: every feature's histogram at a
        node counts the same records, so the per-class totals of the
        :math:`F` histograms are :math:`F` noisy estimates of one vector; they
        are averaged (weights :math:`1/B_f`, the inverse variances) and each
        histogram is shifted evenly over its :math:`B_f` bins to match (the
        least-squares projection on tables with equal totals), then rounded.
        Post-processing: free, and it reduces the noise on the class counts
        the trainer reads off a split about :math:`F`-fold in variance.
    clip : bool
        Set negative noisy counts to 0 (post-processing).
    sampler : callable, optional
        ``sampler(shape, epsilon, sensitivity) -> int64 noise`` used instead of
        ``rng`` for central noise: :class:`~encmed_lib.privacy.OpenDPSampler`
        (exact, OS randomness) in a deployment,
        :class:`~encmed_lib.privacy.SeededSampler` in experiments.

    Attributes
    ----------
    releases_ : list of dict
        One entry per release: round, kind, epsilon, sensitivity, alpha, cells, noise sd.
    """

    mode = "central"

    def __init__(self, epsilon_per_level: float, n_features: int, rng: RngLike = None, *,
                 epsilon_leaves: float = 0.0, epsilon_binning: float = 0.0,
                 accountant: PrivacyAccountant | None = None, binning: Binning | None = None,
                 clip: bool = True, sampler=None):
        if not epsilon_per_level > 0:
            raise ValueError(f"epsilon_per_level must be > 0, got {epsilon_per_level}")
        self.epsilon_per_level = float(epsilon_per_level)
        self.n_features = int(n_features)
        self.epsilon_leaves = float(epsilon_leaves)
        self.epsilon_binning = float(epsilon_binning)
        self.rng = as_generator(rng)
        self.accountant = accountant
        self.binning = binning
        self.clip = clip
        self.sampler = sampler
        self.releases_: list[dict[str, Any]] = []

    @classmethod
    def from_plan(cls, plan: Mapping[str, Any], rng: RngLike = None, *,
                  accountant: PrivacyAccountant | None = None, **kwargs):
        """The hook for a :func:`plan_tree_budget` plan."""
        return cls(plan["per_level"], plan["n_features"], rng, epsilon_leaves=plan["leaves"],
                   epsilon_binning=plan["binning"], accountant=accountant, **kwargs)

    def budget(self, info: RevealInfo) -> tuple[float, float]:
        """``(epsilon, sensitivity)`` of the release described by ``info``."""
        if info.kind == "counts":
            if info.n_features and info.n_features != self.n_features:
                raise ValueError(f"the trainer reveals tables of {info.n_features} features, the "
                                 f"noise was set up for {self.n_features}")
            return self.epsilon_per_level, float(self.n_features)
        if info.kind == "histogram":
            eps, what = self.epsilon_binning, "a binning histogram"
        elif info.kind == LEAF_KIND:
            eps, what = self.epsilon_leaves, "leaf class counts"
        else:
            raise ValueError(f"unknown release kind {info.kind!r}")
        if not eps > 0:
            raise PrivacyBudgetError(f"{what} is being revealed but no budget was planned for it")
        return eps, float(info.n_features or self.n_features)

    def _noise(self, shape: tuple[int, ...], epsilon: float, sensitivity: float,
               info: RevealInfo) -> np.ndarray:
        if self.sampler is not None:
            return np.asarray(self.sampler(shape, epsilon, sensitivity), dtype=np.int64).reshape(shape)
        return discrete_laplace(epsilon, sensitivity, shape, self.rng)

    def draw(self, shape: tuple[int, ...], info: RevealInfo) -> np.ndarray:
        """The whole noise of one release, for a curator to add to its table before sharing it.

        A back-end whose published messages add up to the total (secret
        sharing) calls it, then :meth:`finish` on the total.
        """
        epsilon, sensitivity = self.budget(info)
        return self._noise(tuple(shape), epsilon, sensitivity, info)

    def __call__(self, total: np.ndarray, info: RevealInfo) -> np.ndarray:
        """Add the noise to a revealed total, charge the budget, post-process."""
        total = np.asarray(total, dtype=np.int64)
        return self.finish(total + self.draw(total.shape, info), info)

    def finish(self, noisy: np.ndarray, info: RevealInfo) -> np.ndarray:
        """Charge the budget for a release whose noise is already in ``noisy``; post-process it."""
        noisy = np.asarray(noisy, dtype=np.int64)
        total = noisy
        epsilon, sensitivity = self.budget(info)
        if self.accountant is not None:
            self.accountant.spend(epsilon, f"{info.round or info.kind}: {info.kind} "
                                           f"(sensitivity {sensitivity:g}, {self.mode} noise)")
        alpha = math.exp(-epsilon / sensitivity)
        if info.kind == "counts" and self.binning is not None:
            noisy = self.consistent(noisy)
        self.releases_.append({"round": info.round, "kind": info.kind, "epsilon": epsilon,
                               "sensitivity": sensitivity, "alpha": alpha, "cells": total.size,
                               "noise_sd": math.sqrt(discrete_laplace_variance(alpha))})
        return np.maximum(noisy, 0) if self.clip else noisy

    def consistent(self, noisy: np.ndarray) -> np.ndarray:
        """Make every feature's histogram at a node sum to the same class counts (see ``binning``).

        ``noisy`` is the trainer's flat level table ``(nodes, sum of bins * classes)``.
        """
        bins = np.array(list(self.binning.n_bins.values()))
        m, width = noisy.shape
        if width % bins.sum():
            raise ValueError(f"a table of width {width} does not fit the binning's {bins.sum()} bins")
        C = width // int(bins.sum())
        tables = noisy.astype(np.float64).reshape(m, int(bins.sum()), C)
        starts = np.concatenate([[0], np.cumsum(bins)])
        sums = np.stack([tables[:, a:b].sum(axis=1) for a, b in zip(starts[:-1], starts[1:],
                                                                   strict=True)], axis=1)
        weights = 1.0 / bins
        common = np.tensordot(weights, sums, axes=([0], [1])) / weights.sum()  # (nodes, classes)
        for f, (a, b) in enumerate(zip(starts[:-1], starts[1:], strict=True)):
            tables[:, a:b] += ((common - sums[:, f]) / bins[f])[:, None, :]
        return np.rint(tables).astype(np.int64).reshape(m, width)

    def history(self) -> pd.DataFrame:
        """:attr:`releases_` as a table."""
        return pd.DataFrame(self.releases_)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(epsilon_per_level={self.epsilon_per_level:g}, "
                f"n_features={self.n_features}, epsilon_leaves={self.epsilon_leaves:g}, "
                f"epsilon_binning={self.epsilon_binning:g})")


class DistributedNoise(CentralNoise):
    r"""Trainer ``noise`` hook modelling distributed noise: the total noise is a sum of ``k`` shares.

    Each of the ``k = info.n_providers`` providers draws its own share
    :math:`X_i - Y_i`, Polya(:math:`1/k`, :math:`1-\alpha`) each
    (:func:`distributed_discrete_laplace_shares`); their sum has exactly the
    discrete Laplace distribution of :class:`CentralNoise`, so the released
    tree has the same distribution and the same :math:`\varepsilon`.

    **Where the noise is added.**  With the secret-sharing (and plain)
    back-ends, each provider adds its own share to its table *before* it is
    shared (:meth:`provider_share`, called by
    :meth:`~encmed_lib.federated.aggregation.Aggregator.aggregate`): the
    published partial sums already carry the noise, and nobody ever sees the
    exact total.  The Paillier back-end encrypts the signed, already noisy
    tables (balanced-digit slots), so its key holder decrypts a total that
    carries the full noise.  With the *plain* back-end the aggregator sees
    each provider's table with that provider's share only: a simulation of
    the distribution, not a protocol.

    **Insider caveat.**  Once the providers add the shares themselves, a
    provider knows its own share and sees the total with only :math:`k - 1`
    shares of noise: :func:`insider_epsilon` (e.g. :math:`\varepsilon = 1`,
    :math:`\Delta = 13`, :math:`k = 3`: about 3.9).

    Parameters
    ----------
    Those of :class:`CentralNoise`, and:

    n_providers : int, optional
        ``k`` when ``info.n_providers`` is not given.
    keep_shares : bool
        Keep the last release's shares in :attr:`last_shares_` (shape ``(k, *total.shape)``).
    """

    mode = "distributed"
    per_provider = True
    """Back-ends that support it let each provider add its own share (see :meth:`provider_share`)."""

    def __init__(self, epsilon_per_level: float, n_features: int, rng: RngLike = None, *,
                 n_providers: int | None = None, keep_shares: bool = False, **kwargs):
        super().__init__(epsilon_per_level, n_features, rng, **kwargs)
        self.n_providers = n_providers
        self.keep_shares = keep_shares
        self.last_shares_: np.ndarray | None = None
        self.provider_shares_: dict[str, dict[str, np.ndarray]] = {}

    def _noise(self, shape, epsilon, sensitivity, info):
        k = info.n_providers or self.n_providers
        if not k:
            raise ValueError("distributed noise needs the number of providers (info.n_providers "
                             "or n_providers=)")
        shares = distributed_discrete_laplace_shares(k, epsilon, sensitivity, shape, self.rng)
        if self.keep_shares:
            self.last_shares_ = shares
        return shares.sum(axis=0)

    def provider_share(self, provider: str, shape: tuple[int, ...], info: RevealInfo) -> np.ndarray:
        """One provider's noise share for one release: Polya(1/k, 1-alpha) - Polya(1/k, 1-alpha).

        Called by an aggregator that supports distributed noise, *before* the
        provider's table is secret-shared; the ``k`` shares add up to one
        discrete Laplace draw, so the published total is already noisy.
        """
        k = info.n_providers or self.n_providers
        if not k:
            raise ValueError("distributed noise needs the number of providers")
        epsilon, sensitivity = self.budget(info)
        share = distributed_discrete_laplace_shares(k, epsilon, sensitivity, shape, self.rng)[0]
        self.provider_shares_.setdefault(info.round or info.kind, {})[provider] = share
        return share

    def insider_epsilons(self, k: int, colluders: int = 1) -> dict[str, float]:
        """Effective epsilon of each kind of release against ``colluders`` of ``k`` providers."""
        out = {"counts": insider_epsilon(self.epsilon_per_level, self.n_features, k, colluders)}
        if self.epsilon_leaves > 0:
            out[LEAF_KIND] = insider_epsilon(self.epsilon_leaves, 1, k, colluders)
        if self.epsilon_binning > 0:
            out["histogram"] = insider_epsilon(self.epsilon_binning, self.n_features, k, colluders)
        return out


NOISE_MODES = {"central": CentralNoise, "distributed": DistributedNoise}
