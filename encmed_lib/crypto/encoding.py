"""Fixed-point encoding: the one scale every party uses.

Paillier encrypts integers modulo ``n``.  Real-valued features must therefore
be turned into integers, and the server's comparison ``x <= t`` must give the
same answer on the integers as scikit-learn gives on the reals.

scikit-learn casts every input to ``float32`` and stores each threshold ``t`` as
a ``float64`` (a midpoint between two training values); a record goes left when
``float32(x) <= t``.  With one public scale :math:`S = 2^k` both sides are
rounded down to the grid :math:`2^{-k}`:

.. math::

    X = \\lfloor \\mathrm{float32}(x) \\cdot S \\rfloor \\qquad T = \\lfloor t \\cdot S \\rfloor

(multiplying by a power of two is exact in binary floating point, so only the
floor rounds).  The floor is monotone, so

* ``float32(x) <= t`` implies :math:`X \\le T`: a record that goes left in
  scikit-learn always goes left here, ties included;
* ``float32(x) > t`` gives :math:`X > T` as soon as a grid point lies in
  :math:`(t, \\mathrm{float32}(x)]`, in particular whenever
  :math:`\\mathrm{float32}(x) - t \\ge 2^{-k}`.

The comparison can therefore differ from scikit-learn's only for a value less
than :math:`2^{-k}` above a threshold, and never for a value with
:math:`|x| \\ge 2^{-3}`: every such float32 is a multiple of :math:`2^{-26}`, so
:math:`X = \\mathrm{float32}(x) \\cdot S` exactly and ``float32(x) > t`` gives
:math:`X > tS \\ge T`.  Below :math:`2^{-3}`: a threshold is the midpoint of
two training values :math:`a < b`, so :math:`b - t = (b - a)/2` and the two
training values are always separated when :math:`b - a \\ge 2^{1-k}`; a value
recorded on the data's grid (as the training values are) is at least half a
step of that grid away from a midpoint, unless it coincides with the midpoint
in decimal, when float32 rounding may leave it a few :math:`10^{-9}` above
:math:`t`, the one case where the encoding can send it left.  With
:math:`k = 26` (:math:`2^{-26} \\approx 1.5 \\cdot 10^{-8}`) the finest data of
the course, the breast-cancer set's 6-decimal measurements (distinct values at
least :math:`10^{-6}` apart, 33 grid steps from their midpoints), agrees with
scikit-learn on every tested row (``tests/test_protocol.py``), as do the heart
and Synthea data, which are far coarser.

The domain (a protocol constant, the same for every party):
``|float32(x)| < 2**VALUE_BITS`` (:math:`2^{16} = 65536`: any clinical value in
the units the course uses).  So :math:`|X| < 2^{42}`.  Thresholds outside the
domain are clamped to :math:`\\pm 2^{42}`, which changes no comparison with an
in-domain value, and the difference :math:`d = T - X` satisfies
:math:`|d| < 2^{43}` (:data:`D_BITS`).

Why so few bits?  Basic mode packs one blinded :math:`d` per tree node into a
slot of :math:`D + \\kappa + 2` bits (:mod:`encmed_lib.protocol.messages`), and a
complete depth-5 tree (31 nodes) fits one 2048-bit plaintext only if a slot has
at most 66 bits.  The seed protocol's :math:`2^{40}` scale on :math:`|x| < 2^{20}`
(61-bit differences, 103-bit slots) needed two ciphertexts, each costing the
server a full re-randomiser, for the same comparisons.

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

SCALE_BITS = 26
"""k: values are encoded as integers ``floor(float32(x) * 2**SCALE_BITS)``."""

VALUE_BITS = 16
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
    """Encode a feature value as ``floor(float32(value) * 2**SCALE_BITS)``.

    Exact (no rounding) for every float32 that is a multiple of
    :math:`2^{-26}`, which includes every one with :math:`|x| \\ge 2^{-3}`;
    finer values are rounded down to the grid (see the module docstring for
    why the comparison with a threshold stays scikit-learn's).

    Raises
    ------
    DomainError
        ``value`` is not a number, is NaN or infinite, or lies outside the
        documented domain ``|float32(x)| < 2**VALUE_BITS``.
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
    return math.floor(x32 * SCALE)  # the product is exact (a power-of-two scaling); floor rounds


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
