"""Fixed-point encoding: the one scale every party uses.

Paillier encrypts integers modulo ``n``.  Real-valued features must therefore
be turned into integers, and the server's comparison ``x <= t`` must give the
same answer on the integers as scikit-learn gives on the reals.

scikit-learn casts every input to ``float32`` and stores each threshold ``t`` as
a ``float64`` (a midpoint between two training values); a record goes left when
``float32(x) <= t``.  With one public scale :math:`S = 2^k`

.. math::

    X = \\mathrm{float32}(x) \\cdot S \\qquad T = \\lfloor t \\cdot S \\rfloor

both are exact integers (multiplying by a power of two is exact in binary
floating point), and for an integer :math:`X`, :math:`X \\le \\lfloor tS\\rfloor`
holds exactly when :math:`X \\le tS`, i.e. when ``float32(x) <= t``.  So the
comparison is **exact**, ties included, as long as ``float32(x)·S`` is an
integer: ``float32(x)`` must be a multiple of :math:`2^{-k}`.

The domain (a protocol constant, the same for every party):

* ``|float32(x)| < 2**VALUE_BITS`` (:math:`2^{20} \\approx 10^6`: any clinical value);
* ``float32(x)`` a multiple of ``2**-SCALE_BITS`` (:math:`2^{-40}`): true of
  every float32 with ``|x| >= 2**-17`` and of 0, so only absurdly small
  non-zero values (``|x| < 7.6e-6``) are refused.

So :math:`|X| < 2^{60}`.  Thresholds outside the domain are clamped to
:math:`\\pm 2^{60}`, which changes no comparison with an in-domain value, and the
difference :math:`d = T - X` satisfies :math:`|d| < 2^{61}` (:data:`D_BITS`).

Why one scale and not phe's own encoding?  ``phe.EncodedNumber`` picks a
per-value exponent from the float's precision and sends it in clear beside
the ciphertext: the exponent tells the server roughly how large each hidden
value is.  A single public scale sends nothing but the ciphertext.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import DomainError

SCALE_BITS = 40
"""k: values are encoded as integers ``float32(x) * 2**SCALE_BITS``."""

VALUE_BITS = 20
"""Encodable values satisfy ``|float32(x)| < 2**VALUE_BITS``."""

SCALE = 1 << SCALE_BITS
X_BOUND = 1 << (SCALE_BITS + VALUE_BITS)
"""Every encoded value satisfies ``|X| < X_BOUND``; thresholds are clamped to ``±X_BOUND``."""

D_BITS = SCALE_BITS + VALUE_BITS + 1
"""``|T - X| < 2**D_BITS`` for every in-domain value and (clamped) threshold."""


def as_float(value, name: str) -> float:
    """``value`` as a float, or a :class:`~encmed_lib.errors.DomainError` naming feature ``name``.

    Accepts Python and NumPy reals (booleans as 0/1) and numeric strings;
    anything else, or a value too large for a float, is refused.
    """
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, numbers.Real) or isinstance(value, np.number):
        try:
            return float(value)
        except OverflowError:
            raise DomainError(f"feature {name!r}: {value!r} is outside the encodable domain "
                              f"|x| < 2**{VALUE_BITS}") from None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise DomainError(f"feature {name!r}: expected a number, got {value!r} "
                      f"({type(value).__name__})")




def encode_value(value, name: str = "value") -> int:
    """Encode a feature value as ``float32(value) * 2**SCALE_BITS`` (an exact int).

    Raises
    ------
    DomainError
        ``value`` is not a number, is NaN or infinite, or lies outside the
        documented domain.
    """
    x = as_float(value, name)
    if math.isnan(x) or math.isinf(x):
        raise DomainError(f"feature {name!r}: expected a finite number, got {x!r} "
                          "(impute or drop missing values before encrypting)")
    if not abs(x) < (1 << VALUE_BITS):  # checked before the float32 cast, which would overflow
        raise DomainError(f"feature {name!r}: {x!r} is outside the encodable domain "
                          f"|x| < 2**{VALUE_BITS} = {1 << VALUE_BITS}")
    x32 = float(np.float32(x))
    if not abs(x32) < (1 << VALUE_BITS):
        raise DomainError(f"feature {name!r}: {x!r} is outside the encodable domain "
                          f"|x| < 2**{VALUE_BITS} = {1 << VALUE_BITS}")
    scaled = x32 * SCALE  # exact: a power-of-two scaling
    if scaled != math.floor(scaled):
        raise DomainError(f"feature {name!r}: {x!r} is finer than the resolution 2**-{SCALE_BITS}; "
                          "round it (e.g. to 6 decimals) or rescale the feature")
    return int(scaled)


def encode_threshold(threshold: float) -> int:
    """Encode a tree threshold as ``floor(t * 2**SCALE_BITS)``, clamped to ``±X_BOUND``."""
    t = float(threshold)
    if math.isnan(t):
        raise DomainError("a threshold is NaN")
    if t >= X_BOUND / SCALE:
        return X_BOUND
    if t <= -X_BOUND / SCALE:
        return -X_BOUND
    return math.floor(t * SCALE)


def decode(value: int) -> float:
    """The real number an encoded integer stands for (``value / 2**SCALE_BITS``)."""
    return value / SCALE
