"""CKKS parameters: the prime chains, the 128-bit bounds, the tolerance, and whether TenSEAL is here.

What :mod:`encmed_lib.crypto.ckks` promises (:data:`TOLERANCE`), the two parameter sets
(:data:`CKKS_PARAMETERS` for ``strategy="fold"``, :data:`SQUARE_PARAMETERS` for ``"square"``), the
Homomorphic Encryption Standard's largest modulus per ring degree (:data:`MAX_BITS_128`) and the
one-line refusal where TenSEAL has no wheel (:func:`require_tenseal`).  The mathematics is in the
package docstring.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

try:  # TenSEAL has no wheel for some platforms: the rest of the course must not need it.
    import tenseal as ts
except ImportError as exc:  # pragma: no cover - exercised only where TenSEAL is missing
    ts = None
    TENSEAL_AVAILABLE = False
    _IMPORT_ERROR: ImportError | None = exc
else:
    TENSEAL_AVAILABLE = True
    _IMPORT_ERROR = None

__all__ = [
    "TENSEAL_AVAILABLE", "TENSEAL_MISSING_MESSAGE", "require_tenseal", "TOLERANCE", "RELATIVE_DRIFT",
    "CKKS_PARAMETERS", "SQUARE_PARAMETERS", "PARAMETERS", "MAX_BITS_128", "VALUE_BOUND", "RANGE_MARGIN",
    "STRATEGIES", "LEVELS", "ckks_security_bits", "check_parameters", "sigmoid", "ts",
]

TENSEAL_MISSING_MESSAGE = ("TenSEAL has no wheel for this platform; the CKKS part of notebook 07 is "
                           "skipped — the rest of the course is unaffected")
"""The one line a notebook prints where TenSEAL cannot be installed."""

TOLERANCE = 1e-3
"""Agreement promised between the encrypted and the plaintext score (a logit): ``|Δ| <= 1e-3``.

For scores up to about 500 in magnitude with the default parameters (50 with
:data:`SQUARE_PARAMETERS`): the error is mostly the relative drift of the
module docstring, about ``1e-6 * |score|`` (``1e-5`` for ``"square"``), plus
noise around ``1e-7``.  Real patients of the three samples score below 25 and
their errors stay below ``3e-5`` (``1e-4`` for ``"square"``): a wide margin,
and far below any score difference that matters for a prediction.
"""

RELATIVE_DRIFT = {"fold": 2e-6, "square": 2e-5}
"""Upper bounds (twice the measured values) of the relative error of each strategy, for tests."""

CKKS_PARAMETERS: dict = {"poly_modulus_degree": 8192, "coeff_mod_bit_sizes": (60, 40, 40, 60),
                         "scale_bits": 40}
"""Default parameters: 2 levels (``strategy="fold"``), 200 bits of modulus, 128-bit secure."""

SQUARE_PARAMETERS: dict = {"poly_modulus_degree": 16384, "coeff_mod_bit_sizes": (60, 40, 40, 40, 60),
                           "scale_bits": 40}
"""Parameters of the textbook order (``strategy="square"``): 3 levels need 240 bits, so N = 16384."""

PARAMETERS: dict[str, dict] = {"fold": CKKS_PARAMETERS, "square": SQUARE_PARAMETERS}
"""The parameters each server strategy is meant to run with."""

MAX_BITS_128: dict[int, int] = {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881}
"""Largest total modulus (bits) for 128-bit security, per ``N`` (HE standard; SEAL's ``tc128``)."""

VALUE_BOUND = 2.0 ** 20
"""Raw record values must satisfy ``|x| < VALUE_BOUND`` (as for Paillier's encoding)."""

RANGE_MARGIN = 4.0
"""The server keeps every slot below ``range / RANGE_MARGIN`` (see :meth:`CKKSServer.worst_case`)."""

STRATEGIES = ("fold", "square")
LEVELS = {"fold": 2, "square": 3}
"""Multiplicative depth (rescalings) each strategy consumes."""


def require_tenseal() -> None:
    """Raise a one-line :class:`ImportError` if TenSEAL cannot be imported on this platform."""
    if not TENSEAL_AVAILABLE:
        raise ImportError(TENSEAL_MISSING_MESSAGE) from _IMPORT_ERROR


def ckks_security_bits(poly_modulus_degree: int, coeff_mod_bit_sizes: Sequence[int]) -> int:
    """128 if the parameters are within the HE standard's 128-bit bound (:data:`MAX_BITS_128`), else 0."""
    bound = MAX_BITS_128.get(int(poly_modulus_degree), 0)
    return 128 if sum(coeff_mod_bit_sizes) <= bound else 0


def sigmoid(s):
    """The logistic function :math:`1 / (1 + e^{-s})`, as ``(1 + tanh(s / 2)) / 2``: no overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(s, dtype=float)))



def check_parameters(poly_modulus_degree: int, coeff_mod_bit_sizes: Sequence[int], scale_bits: int) -> None:
    """Refuse a prime chain TenSEAL would reject or that could not hold a score (``ValueError``).

    The chain is ``(first, scale_bits, ..., scale_bits, special)``: each rescaling divides by a prime of
    ``scale_bits`` bits, the first prime holds the result (more than ``scale_bits + 1`` bits), and the
    total stays within :data:`MAX_BITS_128` for 128-bit security.
    """
    sizes = list(coeff_mod_bit_sizes)
    if len(sizes) < 3:
        raise ValueError(f"coeff_mod_bit_sizes needs a first prime, at least one rescaling prime and a "
                         f"special prime (3 sizes or more), got {sizes}")
    middle = sizes[1:-1]
    if any(b != scale_bits for b in middle):
        raise ValueError(f"the rescaling primes must have scale_bits = {scale_bits} bits each (rescaling "
                         f"divides by one of them and must bring the scale back to 2**{scale_bits}), "
                         f"got {middle}")
    if sizes[0] <= scale_bits + 1:
        raise ValueError(f"the first prime ({sizes[0]} bits) must exceed scale_bits + 1 = {scale_bits + 1}: "
                         "it holds the final result at scale 2**scale_bits")
    bound = MAX_BITS_128.get(int(poly_modulus_degree))
    if bound is not None and sum(sizes) > bound:
        raise ValueError(f"{sum(sizes)} bits of modulus are not 128-bit secure for poly_modulus_degree="
                         f"{poly_modulus_degree} (at most {bound} bits, HE standard): use fewer or "
                         "smaller primes, or a larger poly_modulus_degree (SEAL refuses these parameters)")

