r"""Discrete Laplace samplers: OpenDP's for a deployment, a seeded one for experiments.

Both draw :math:`Z` with :math:`P[Z = z] \propto \alpha^{|z|}`,
:math:`\alpha = e^{-\varepsilon/\Delta}`, i.e. OpenDP's ``make_laplace`` on an
integer domain with scale :math:`t = \Delta/\varepsilon` (its density is
:math:`\propto e^{-|z|/t}`).

* :class:`OpenDPSampler` calls OpenDP (``opendp.measurements.make_laplace``
  on ``vector_domain(atom_domain(T=int))`` with the L1 distance): an exact
  sampler on rationals (Canonne, Kamath & Steinke 2020) fed by the operating
  system's randomness, so it **cannot be seeded** and a run never reproduces.
  That is what a deployment's central noise must use (Mironov 2012 shows why
  floating-point samplers leak).
* :class:`SeededSampler` draws the same distribution from a NumPy
  ``Generator`` (the difference of two geometric variables,
  :func:`~encmed_lib.privacy.discrete_laplace`), so experiments and notebooks
  reproduce.  ``tests/test_privacy_samplers.py`` compares the two in
  distribution (chi-square), and the project's Polya shares against them.

Either is a ``sampler(shape, epsilon, sensitivity)`` for
:class:`~encmed_lib.privacy.CentralNoise` and
:func:`~encmed_lib.privacy.dp_random_forest`.
"""

from __future__ import annotations

import numpy as np

from .mechanisms import RngLike, as_generator, discrete_laplace, discrete_laplace_alpha


class SeededSampler:
    """Discrete Laplace noise from a seeded ``Generator`` (statistical randomness: experiments only)."""

    deployable = False

    def __init__(self, rng: RngLike = None):
        self.rng = as_generator(rng)

    def __call__(self, shape, epsilon: float, sensitivity: float) -> np.ndarray:
        return discrete_laplace(epsilon, sensitivity, shape, self.rng)

    def __repr__(self) -> str:
        return "SeededSampler()"


class OpenDPSampler:
    """OpenDP's exact discrete Laplace sampler (OS randomness, unseedable): a deployment's central noise.

    The measurement of each scale is built once and reused; its privacy map
    is what :func:`~encmed_lib.privacy.laplace_epsilon` reads.
    """

    deployable = True

    def __init__(self):
        self._measurements: dict[float, object] = {}

    @staticmethod
    def measurement(scale: float):
        """OpenDP's ``make_laplace`` on integer vectors with the L1 distance, of scale ``scale``."""
        import opendp.prelude as dp

        dp.enable_features("contrib")
        space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
        return dp.m.make_laplace(*space, scale=float(scale))

    def __call__(self, shape, epsilon: float, sensitivity: float) -> np.ndarray:
        discrete_laplace_alpha(epsilon, sensitivity)  # same checks as the seeded sampler
        scale = float(sensitivity) / float(epsilon)
        if scale not in self._measurements:
            self._measurements[scale] = self.measurement(scale)
        size = int(np.prod(shape, dtype=np.int64)) if shape is not None else 1
        noise = self._measurements[scale]([0] * size) if size else []
        out = np.asarray(noise, dtype=np.int64)
        return out.reshape(shape) if shape is not None else out.reshape(())

    def __repr__(self) -> str:
        return "OpenDPSampler()"
