"""Fixed point for float64 scores: inputs and weights at ``2**64``, the score at ``2**128``.

See *Fixed point for float64* in :mod:`encmed_lib.protocol.linear`: an input
:math:`X = \\mathrm{round}(x\\,2^{64})` (exact for every float64 with
:math:`|x| \\ge 2^{-12}`), a weight :math:`W = \\mathrm{round}(w\\,2^{64})`, the intercept
:math:`B = \\mathrm{round}(b\\,2^{128})` and the decoded score
:math:`\\hat s = (\\sum_i W_i X_i + B) / 2^{128}`, within :func:`score_error_bound` of
:math:`w \\cdot x + b`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...crypto.encoding import VALUE_BITS, as_float
from ...errors import DomainError

__all__ = ["INPUT_FRAC_BITS", "WEIGHT_FRAC_BITS", "SCORE_FRAC_BITS", "X_BOUND", "SCORE_TOLERANCE",
           "encode_float64", "encode_weight", "encode_intercept", "decode_score", "fixed_point_score",
           "score_error_bound", "worst_case_score_error"]

INPUT_FRAC_BITS = 64
"""Inputs are encoded as ``round(x * 2**64)``: exact for every float64 with ``|x| >= 2**-12``."""

WEIGHT_FRAC_BITS = 64
"""Weights are encoded as ``round(w * 2**64)`` (error at most ``2**-65``)."""

SCORE_FRAC_BITS = INPUT_FRAC_BITS + WEIGHT_FRAC_BITS
"""The score's scale: ``S = sum(W_i X_i) + B`` stands for ``S / 2**128``."""

X_BOUND = 1 << (VALUE_BITS + INPUT_FRAC_BITS)
"""Every encoded input satisfies ``|X| < X_BOUND`` (inputs satisfy ``|x| < 2**20``)."""
SCORE_TOLERANCE = 1e-9
"""A server warns if its worst-case fixed-point score error could exceed this."""


# ------------------------------------------------------------------ fixed point
def encode_float64(value, name: str = "value") -> int:
    """Encode one input as ``round(float64(value) * 2**64)``.

    The multiplication by a power of two is exact, so the result is exactly
    ``x * 2**64`` whenever that is an integer (every float64 with
    ``|x| >= 2**-12``, and 0); otherwise it is rounded half to even, an error of
    at most ``2**-65`` in ``x``.

    Raises
    ------
    DomainError
        ``value`` is not a number, is NaN or infinite, or ``|x| >= 2**20``;
        the message names the feature.
    """
    x = as_float(value, name)
    if math.isnan(x) or math.isinf(x):
        raise DomainError(f"feature {name!r}: expected a finite number, got {x!r} "
                          "(impute or drop missing values before encrypting)")
    if not abs(x) < (1 << VALUE_BITS):
        raise DomainError(f"feature {name!r}: {x!r} is outside the encodable domain "
                          f"|x| < 2**{VALUE_BITS} = {1 << VALUE_BITS}")
    return round(x * 2.0 ** INPUT_FRAC_BITS)


def encode_weight(w: float) -> int:
    """``round(w * 2**64)``: a weight at the input's scale (error at most ``2**-65``)."""
    return round(float(w) * 2.0 ** WEIGHT_FRAC_BITS)


def encode_intercept(b: float) -> int:
    """``round(b * 2**128)``: the intercept at the score's scale (error at most ``2**-129``)."""
    return round(float(b) * 2.0 ** SCORE_FRAC_BITS)


def decode_score(S: int) -> float:
    """``S / 2**128``: Python divides two integers with one correct rounding."""
    return int(S) / (1 << SCORE_FRAC_BITS)


def fixed_point_score(weights: Sequence[int], inputs: Sequence[int], intercept: int) -> int:
    """``sum(W_i X_i) + B`` on integers: the plaintext the server computes under encryption."""
    return sum(W * X for W, X in zip(weights, inputs, strict=True)) + intercept


def score_error_bound(coef, intercept: float, x) -> float:
    """Bound on ``|decode_score(S) - (w·x + b)|`` for one record (:mod:`encmed_lib.protocol.linear`).

    ``2**-65 Σ(|w_i| + |x_i|) + d 2**-130 + 2**-129`` for the fixed point, plus
    float64's rounding of the quotient, bounded with ``|s| <= Σ|w_i x_i| + |b|``.
    """
    w = np.asarray(coef, dtype=float).ravel()
    x = np.asarray(x, dtype=float).ravel()
    d = w.size
    fixed = 2.0 ** -65 * float(np.sum(np.abs(w)) + np.sum(np.abs(x))) + d * 2.0 ** -130 + 2.0 ** -129
    magnitude = float(np.sum(np.abs(w * x))) + abs(float(intercept))
    return fixed + 2.0 ** -52 * (magnitude + fixed)


def worst_case_score_error(coef) -> float:
    """The fixed-point part of :func:`score_error_bound` over the whole domain ``|x_i| < 2**20``."""
    w = np.asarray(coef, dtype=float).ravel()
    d = w.size
    return 2.0 ** -65 * (float(np.sum(np.abs(w))) + d * 2.0 ** VALUE_BITS) + d * 2.0 ** -130 + 2.0 ** -129
