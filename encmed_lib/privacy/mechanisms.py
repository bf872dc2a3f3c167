r"""Mechanisms for integer counts: the discrete Laplace distribution and its Polya shares.

Each function draws from a NumPy ``Generator`` (statistical randomness,
for reproducible experiments: :mod:`encmed_lib.privacy.samplers` holds the
OS-drawn OpenDP sampler a deployment uses, and the tests that compare them).
See :mod:`encmed_lib.privacy` for the definitions and the accounting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln, logsumexp

RngLike = np.random.Generator | np.random.SeedSequence | int | Sequence[int] | None


def as_generator(rng: RngLike) -> np.random.Generator:
    """A NumPy ``Generator`` from a generator, a seed or ``None`` (fresh OS entropy: not reproducible).

    Statistical randomness only (experiments): a deployment's noise comes from
    :class:`~encmed_lib.privacy.OpenDPSampler`.
    """
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def discrete_laplace_alpha(epsilon: float, sensitivity: float = 1.0) -> float:
    r"""The parameter :math:`\alpha = e^{-\varepsilon/\Delta}` of the discrete Laplace mechanism.

    Parameters
    ----------
    epsilon : float
        Privacy budget of the release, > 0.
    sensitivity : float
        L1 sensitivity :math:`\Delta` of the released table, > 0.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if not sensitivity > 0:
        raise ValueError(f"sensitivity must be > 0, got {sensitivity}")
    alpha = math.exp(-epsilon / sensitivity)
    if alpha >= 1.0:
        raise ValueError(f"epsilon / sensitivity = {epsilon / sensitivity:g} is too small to sample "
                         "(the noise would be infinite)")
    return alpha


def discrete_laplace_pmf(z, alpha: float) -> np.ndarray:
    r""":math:`P[Z = z] = \frac{1-\alpha}{1+\alpha}\alpha^{|z|}`, elementwise."""
    z = np.abs(np.asarray(z, dtype=np.float64))
    return (1 - alpha) / (1 + alpha) * np.power(alpha, z)


def discrete_laplace_variance(alpha: float) -> float:
    r"""Variance :math:`2\alpha / (1-\alpha)^2` of the discrete Laplace distribution."""
    return 2 * alpha / (1 - alpha) ** 2


def discrete_laplace(epsilon: float | None = None, sensitivity: float = 1.0,
                     size: int | tuple[int, ...] | None = None, rng: RngLike = None, *,
                     alpha: float | None = None) -> np.ndarray:
    r"""Discrete Laplace (two-sided geometric) noise, :math:`\varepsilon`-DP for L1 sensitivity Δ.

    Drawn as the difference of two independent geometric variables with
    success probability :math:`1 - \alpha` (the number of failures before
    the first success), :math:`\alpha = e^{-\varepsilon/\Delta}`.

    Parameters
    ----------
    epsilon : float, optional
        Privacy budget (give ``epsilon`` or ``alpha``).
    sensitivity : float
        L1 sensitivity of the table the noise is added to.
    size : int or tuple, optional
        Output shape (``None``: one number, as a 0-d array).
    rng : Generator or seed
        Statistical randomness, for reproducible experiments (a deployment
        needs a cryptographic source).
    alpha : float, optional
        The parameter directly, in ``[0, 1)``.

    Returns
    -------
    numpy.ndarray
        ``int64`` noise.
    """
    if alpha is None:
        if epsilon is None:
            raise ValueError("give epsilon (and sensitivity) or alpha")
        alpha = discrete_laplace_alpha(epsilon, sensitivity)
    elif not 0 <= alpha < 1:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")
    gen = as_generator(rng)
    p = 1.0 - alpha
    # numpy's geometric counts trials (>= 1); the difference of two is the same as of failures.
    return (gen.geometric(p, size=size) - gen.geometric(p, size=size)).astype(np.int64)


def polya(r: float, p: float, size: int | tuple[int, ...] | None = None,
          rng: RngLike = None) -> np.ndarray:
    r"""Polya (negative binomial) variables with a real shape ``r``, by the gamma-Poisson mixture.

    :math:`\lambda \sim \Gamma(r, \text{scale} = (1-p)/p)`, then
    :math:`X \sim \text{Poisson}(\lambda)`: the number of failures before the
    ``r``-th success with success probability ``p`` (NumPy's convention),
    :math:`P[X = x] = \frac{\Gamma(x + r)}{\Gamma(r)\, x!} p^r (1-p)^x`, mean
    :math:`r(1-p)/p`.  ``r = 1`` is the geometric distribution, and the sum
    of independent Polya(:math:`r_i`, ``p``) variables is
    Polya(:math:`\sum r_i`, ``p``): the geometric distribution is infinitely
    divisible.

    Parameters
    ----------
    r : float
        Shape, > 0 (need not be an integer).
    p : float
        Success probability, in ``(0, 1]``; for discrete Laplace noise
        :math:`p = 1 - \alpha`.
    size : int or tuple, optional
    rng : Generator or seed

    Returns
    -------
    numpy.ndarray
        ``int64`` draws.
    """
    if not r > 0:
        raise ValueError(f"r must be > 0, got {r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    gen = as_generator(rng)
    lam = gen.gamma(r, (1.0 - p) / p, size=size)
    return gen.poisson(lam).astype(np.int64)


def distributed_discrete_laplace_shares(k: int, epsilon: float, sensitivity: float = 1.0,
                                        size: int | tuple[int, ...] | None = None,
                                        rng: RngLike = None) -> np.ndarray:
    r"""``k`` noise shares whose sum is exactly discrete Laplace(:math:`e^{-\varepsilon/\Delta}`).

    Share :math:`i` is :math:`X_i - Y_i` with :math:`X_i, Y_i` independent
    Polya(:math:`1/k`, :math:`1 - \alpha`) (:func:`polya`).  The sums
    :math:`\sum_i X_i` and :math:`\sum_i Y_i` are independent geometric
    variables, and their difference is the discrete Laplace noise of
    :func:`discrete_laplace`: each provider adds one share to its own table
    and the total carries exactly the central mechanism's noise.

    Parameters
    ----------
    k : int
        Number of providers (shares), >= 1.
    epsilon, sensitivity : float
        Budget and L1 sensitivity of the release the total noise protects.
    size : int or tuple, optional
        Shape of each share.
    rng : Generator or seed

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(k, *size)``: row ``i`` is provider ``i``'s share.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    k = int(k)
    alpha = discrete_laplace_alpha(epsilon, sensitivity)
    gen = as_generator(rng)
    shape = (k,) if size is None else (k, *np.atleast_1d(size).tolist())
    return polya(1.0 / k, 1.0 - alpha, shape, gen) - polya(1.0 / k, 1.0 - alpha, shape, gen)


def laplace_counts(table, epsilon: float, sensitivity: float, rng: RngLike = None, *,
                   clip: bool = True) -> np.ndarray:
    r"""A count table plus discrete Laplace noise: the (integer) Laplace mechanism.

    Parameters
    ----------
    table : array-like of int
        The exact counts.
    epsilon : float
        Budget of this release.
    sensitivity : float
        L1 sensitivity of the *whole* table (e.g. the number of features for
        the trainer's per-node tables).
    rng : Generator or seed
    clip : bool
        Set negative noisy counts to 0 (post-processing: free).

    Returns
    -------
    numpy.ndarray
        ``int64``, same shape.
    """
    table = np.asarray(table)
    if table.dtype.kind not in "iu":
        raise ValueError(f"a count table must hold integers, got dtype {table.dtype}")
    noisy = table.astype(np.int64) + discrete_laplace(epsilon, sensitivity, table.shape, rng)
    return np.maximum(noisy, 0) if clip else noisy


def _polya_logpmf(x: np.ndarray, r: float, alpha: float) -> np.ndarray:
    return (gammaln(x + r) - gammaln(r) - gammaln(x + 1.0) + r * math.log1p(-alpha)
            + x * math.log(alpha))


def insider_epsilon(epsilon: float, sensitivity: float, k: int, colluders: int = 1, *,
                    max_terms: int = 4_000_000) -> float:
    r"""The privacy a release keeps against providers who know their own noise shares.

    With :class:`DistributedNoise` the total carries :math:`k` shares; a
    coalition of ``colluders`` providers subtracts its own, leaving
    :math:`Z = X - Y` with :math:`X, Y` Polya(:math:`r`, :math:`1 - \alpha`),
    :math:`r = (k - c)/k < 1`: not discrete Laplace, and heavier near 0.  A
    record moves ``sensitivity`` cells by 1 each (the trainer's tables), so
    the insider's epsilon is :math:`\Delta \cdot \sup_z \log P[Z=z]/P[Z=z+1]`
    (the supremum is at :math:`z = 0`; it lies between
    :math:`\varepsilon/\Delta` and :math:`\varepsilon/\Delta + \log(1/r)`).
    With ``colluders = 0`` it is ``epsilon`` itself.

    Parameters
    ----------
    epsilon, sensitivity : float
        Budget and L1 sensitivity of the release (as given to the noise).
    k : int
        Number of providers.
    colluders : int
        Providers pooling their shares (1: a single curious provider).
    max_terms : int
        Cap on the series length (reached only for :math:`\varepsilon/\Delta < 10^{-5}`).

    Returns
    -------
    float
        The effective epsilon against the coalition (``inf`` if it holds every share).
    """
    if not 0 <= colluders <= k:
        raise ValueError(f"colluders must be between 0 and k = {k}, got {colluders}")
    if colluders == k:
        return math.inf
    alpha = discrete_laplace_alpha(epsilon, sensitivity)
    if alpha == 0.0:
        return math.inf if colluders else epsilon  # no noise at all
    r = (k - colluders) / k
    n_terms = min(int(math.ceil(25.0 / -math.log(alpha))) + 64, max_terms)
    y = np.arange(n_terms, dtype=np.float64)
    log_y = _polya_logpmf(y, r, alpha)
    zs = np.arange(0, 34, dtype=np.float64)
    logp = np.array([logsumexp(_polya_logpmf(y + z, r, alpha) + log_y) for z in zs])
    per_unit = float(np.max(logp[:-1] - logp[1:]))
    return sensitivity * per_unit
