"""Tests of encmed_lib.crypto.encoding: the one fixed-point scale of the protocol.

The property that matters: for every value ``x`` in the documented domain and
every float64 threshold ``t``, ``encode_value(x) <= encode_threshold(t)``
exactly when scikit-learn sends ``x`` left, i.e. when ``float32(x) <= t``
*compared in double precision* (sklearn promotes the float32 input to double;
note that under NumPy 2, ``np.float32(x) <= python_float`` would instead cast
the threshold to float32, so the reference below always compares Python floats).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encmed_lib.crypto.encoding import (
    D_BITS,
    SCALE,
    SCALE_BITS,
    VALUE_BITS,
    X_BOUND,
    decode,
    encode_threshold,
    encode_value,
)
from encmed_lib.errors import DomainError, ProtocolError


# ----------------------------------------------------------------- helpers
def f32(x) -> float:
    """``float32(x)`` as a Python float (exactly representable in double)."""
    return float(np.float32(x))


def expected_value(x) -> int:
    """``float32(x) * 2**40`` computed with exact rationals."""
    exact = Fraction(f32(x)) * SCALE
    assert exact.denominator == 1, f"{x!r} is not encodable"
    return int(exact)


def expected_threshold(t: float) -> int:
    """``floor(t * 2**40)`` with exact rationals, clamped to ``±2**60``."""
    if t == math.inf:
        return X_BOUND
    if t == -math.inf:
        return -X_BOUND
    return max(-X_BOUND, min(X_BOUND, math.floor(Fraction(t) * SCALE)))


def goes_left(x, t) -> bool:
    """scikit-learn's rule: ``float32(x) <= t`` compared in double precision."""
    return f32(x) <= float(t)


def encodable(x) -> bool:
    v = f32(x)
    return abs(v) < 2**VALUE_BITS and (Fraction(v) * SCALE).denominator == 1


def next32(x, direction: float) -> float:
    """The neighbouring float32 of ``float32(x)`` towards ``direction``."""
    return float(np.nextafter(np.float32(x), np.float32(direction)))


# ------------------------------------------------------------- constants
def test_constants_are_consistent():
    assert SCALE == 2**SCALE_BITS == 2**40
    assert X_BOUND == 2 ** (SCALE_BITS + VALUE_BITS) == 2**60
    assert D_BITS == 61
    assert decode(encode_value(2.5)) == 2.5
    assert decode(encode_value(-0.1)) == f32(-0.1)


# ---------------------------------------------------------- encode_value
@pytest.mark.parametrize("value", [
    0, 1, -1, 7, 63, 250, 2**20 - 1, -(2**20 - 1),
    0.1, -0.1, 0.5, 1.5, 36.6, 245.5, 0.0001, 0.000692, 1e-5, 2**-17, 2**-40, -(2**-40),
    3 * 2**-40, 1048575.9,
])
def test_encode_value_is_float32_times_scale(value):
    got = encode_value(value)
    assert isinstance(got, int)
    assert got == expected_value(value)


@pytest.mark.parametrize("value, as_float", [
    (np.float64(0.1), 0.1),
    (np.float32(0.1), 0.1),
    (np.float16(0.5), 0.5),
    (np.int64(120), 120.0),
    (np.int32(-3), -3.0),
    (np.uint8(200), 200.0),
    ("3.25", 3.25),
    ("  -12.5 ", -12.5),
    ("1e2", 100.0),
    ("0.1", 0.1),
])
def test_encode_value_accepts_numpy_scalars_and_numeric_strings(value, as_float):
    assert encode_value(value, "x") == expected_value(as_float)


def test_encode_value_float32_rounding_is_applied_first():
    # 0.1 is not a float32: the client encodes float32(0.1), like sklearn compares it.
    assert encode_value(0.1) == expected_value(np.float32(0.1))
    assert encode_value(0.1) != math.floor(0.1 * SCALE)
    # numpy float32 and the Python float it came from give the same integer
    assert encode_value(np.float32(36.6)) == encode_value(36.6)


@pytest.mark.parametrize("value, expected", [(True, SCALE), (False, 0), (np.bool_(True), SCALE),
                                             (np.bool_(False), 0)])
def test_encode_value_accepts_bool(value, expected):
    assert encode_value(value) == expected


@pytest.mark.parametrize("value", [0.0, -0.0, 0, np.float32(-0.0), "0", "-0.0"])
def test_encode_value_zero_and_negative_zero(value):
    assert encode_value(value) == 0


@pytest.mark.parametrize("value", [
    float("nan"), np.nan, np.float32("nan"), math.inf, -math.inf, np.inf, "nan", "inf",
    None, "abc", "", [1.0], (1.0,), {"a": 1}, object(), b"1.0", 1 + 2j,
])
def test_encode_value_rejects_non_numbers_naming_the_feature(value):
    with pytest.raises(DomainError, match="'chol'"):
        encode_value(value, "chol")


def test_domain_error_is_a_value_error_and_a_protocol_error():
    with pytest.raises(ValueError):
        encode_value(None, "age")
    with pytest.raises(ProtocolError):
        encode_value(None, "age")


def test_missing_value_message_is_helpful():
    with pytest.raises(DomainError, match=r"'ca'.*finite.*impute or drop"):
        encode_value(float("nan"), "ca")


@pytest.mark.parametrize("value", [
    2**20, -(2**20), 2.0**20, 1e7, -1e7, 1e30, -1e30, np.float64(1e300), "1e7",
    2**20 - 0.01,  # float32 rounds it up to 2**20: outside
    -(2**20 - 0.01),
])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # float32(1e300)
def test_encode_value_rejects_out_of_domain(value):
    with pytest.raises(DomainError, match=r"'trestbps'.*outside the encodable domain"):
        encode_value(value, "trestbps")


def test_encode_value_domain_boundary():
    largest = next32(2**20, 0)  # the largest float32 below 2**20
    assert largest < 2**20
    assert encode_value(largest) == expected_value(largest)
    assert encode_value(-largest) == -expected_value(largest)
    assert abs(encode_value(largest)) < X_BOUND


def test_encode_value_huge_python_int_is_a_domain_error():
    with pytest.raises(DomainError, match="'chol'"):
        encode_value(10**400, "chol")


@pytest.mark.parametrize("value", [1e-9, -1e-9, 2**-41, -(2**-41), 1.5 * 2**-40, 7e-6, np.float32(1e-12),
                                   "1e-9"])
def test_encode_value_rejects_values_below_the_resolution(value):
    with pytest.raises(DomainError, match=r"'oldpeak'.*finer than the resolution 2\*\*-40"):
        encode_value(value, "oldpeak")


def test_every_float32_above_2_pow_minus_17_is_encodable():
    smallest_normal_ok = 2.0**-17
    assert encode_value(smallest_normal_ok) == 2**23
    # its float32 neighbours just above are multiples of 2**-40 too
    x = smallest_normal_ok
    for _ in range(5):
        x = next32(x, 1)
        assert encode_value(x) == expected_value(x)
    # the float32 just below 2**-17 has ulp 2**-41: refused
    below = next32(smallest_normal_ok, 0)
    assert not encodable(below)
    with pytest.raises(DomainError, match="resolution"):
        encode_value(below)


# ------------------------------------------------------ encode_threshold
@pytest.mark.parametrize("t", [
    0.0, -0.0, 0.5, -0.5, 1.5, 245.5, 0.15000000223517418, -0.1, 1e-9, -1e-9, 1e-300, -1e-300,
    5e-324, -5e-324, 2**-40, 2**-41, -(2**-41), 1048575.5, -1048575.5, 2.0**20 - 2**-30,
    np.float64(36.55), np.float32(0.1),
])
def test_encode_threshold_is_floor(t):
    got = encode_threshold(t)
    assert isinstance(got, int)
    assert got == expected_threshold(float(t))
    assert got == math.floor(Fraction(float(t)) * SCALE)


def test_encode_threshold_rounds_towards_minus_infinity():
    assert encode_threshold(2**-41) == 0
    assert encode_threshold(-(2**-41)) == -1
    assert encode_threshold(1e-300) == 0
    assert encode_threshold(-1e-300) == -1


@pytest.mark.parametrize("t, expected", [
    (2.0**20, X_BOUND), (2.0**20 + 0.5, X_BOUND), (1e7, X_BOUND), (1e300, X_BOUND), (math.inf, X_BOUND),
    (-(2.0**20), -X_BOUND), (-(2.0**20) - 0.5, -X_BOUND), (-1e7, -X_BOUND), (-1e300, -X_BOUND),
    (-math.inf, -X_BOUND),
])
def test_encode_threshold_is_clamped(t, expected):
    assert encode_threshold(t) == expected


@pytest.mark.parametrize("t", [float("nan"), np.nan, np.float32("nan")])
def test_encode_threshold_rejects_nan(t):
    with pytest.raises(DomainError, match="NaN"):
        encode_threshold(t)


# -------------------------------------------- the comparison is exact (hypothesis)
values_in_domain = st.one_of(
    st.floats(-(2**20) + 1, 2**20 - 1, width=32).filter(encodable),
    st.integers(-(2**20) + 1, 2**20 - 1).map(float),
    st.integers(-(10**7), 10**7).map(lambda k: k / 10),  # one-decimal clinical values
    st.integers(-(10**6), 10**6).map(lambda k: k / 100),
)

any_float32 = st.floats(width=32, allow_nan=False, allow_infinity=False)

huge_thresholds = st.sampled_from([
    2.0**20, -(2.0**20), 2.0**20 + 0.5, -(2.0**20) - 0.5, 2.0**20 - 2**-33, -(2.0**20) + 2**-33,
    1e7, -1e7, 1e300, -1e300, math.inf, -math.inf, 2.0**60, 2.0**61,
])


@st.composite
def value_and_threshold(draw):
    x = f32(draw(values_in_domain))
    kind = draw(st.sampled_from(["any", "equal", "f64_up", "f64_down", "mid_up", "mid_down",
                                 "mid_random", "near", "huge"]))
    if kind == "any":
        t = draw(st.floats(allow_nan=False))
    elif kind == "equal":
        t = x  # the threshold equals the float32 value: a tie, goes left
    elif kind == "f64_up":
        t = float(np.nextafter(x, math.inf))
    elif kind == "f64_down":
        t = float(np.nextafter(x, -math.inf))
    elif kind == "mid_up":  # sklearn's threshold between x and the next float32
        t = (np.float64(x) + np.float64(next32(x, math.inf))) / 2
    elif kind == "mid_down":
        t = (np.float64(x) + np.float64(next32(x, -math.inf))) / 2
    elif kind == "mid_random":
        other = draw(st.one_of(any_float32, values_in_domain.map(f32)))
        t = (np.float64(x) + np.float64(other)) / 2
    elif kind == "near":
        t = x + draw(st.floats(-1e-3, 1e-3))
    else:
        t = draw(huge_thresholds)
    return x, float(t)


@settings(max_examples=600, deadline=None)
@given(value_and_threshold())
def test_integer_comparison_equals_sklearn_comparison(pair):
    x, t = pair
    X, T = encode_value(x), encode_threshold(t)
    assert X == expected_value(x)
    assert T == expected_threshold(t)
    assert (X <= T) == goes_left(x, t)
    assert abs(X) < X_BOUND
    assert abs(T - X) < 2**D_BITS


@settings(max_examples=300, deadline=None)
@given(st.lists(values_in_domain, min_size=2, max_size=2, unique_by=f32))
def test_training_midpoints_separate_their_two_values(pair):
    # sklearn's threshold between two training values a < b is their midpoint in double
    a, b = sorted(f32(v) for v in pair)
    t = (np.float64(a) + np.float64(b)) / 2
    assert encode_value(a) <= encode_threshold(t) < encode_value(b)
    assert goes_left(a, t) and not goes_left(b, t)


@settings(max_examples=300, deadline=None)
@given(values_in_domain, values_in_domain)
def test_encode_value_is_monotonic_and_exact(a, b):
    fa, fb = f32(a), f32(b)
    assert (encode_value(a) < encode_value(b)) == (fa < fb)
    assert (encode_value(a) == encode_value(b)) == (fa == fb)
    assert decode(encode_value(a)) == fa


def test_the_classic_rounding_trap():
    # float32(0.15) = 0.15000000596..., sklearn's midpoint of 0.1 and 0.2 (as float32) is
    # 0.15000000223...: 0.15 goes RIGHT although float32(threshold) == float32(0.15).
    t = (np.float64(np.float32(0.1)) + np.float64(np.float32(0.2))) / 2
    assert np.float32(t) == np.float32(0.15)
    assert not goes_left(0.15, t)
    assert encode_value(0.15) > encode_threshold(t)
    assert encode_value(next32(0.15, 0)) <= encode_threshold(t)
