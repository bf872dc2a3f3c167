"""Tests of encmed_lib.crypto.encoding: the one fixed-point scale of the protocol.

The property that matters: for every value ``x`` in the documented domain and
every float64 threshold ``t``, ``encode_value(x) <= encode_threshold(t)``
whenever scikit-learn sends ``x`` left, i.e. when ``float32(x) <= t``
*compared in double precision*, and ``encode_value(x) > encode_threshold(t)``
whenever ``float32(x) >= t + 2**-26`` (the grid cannot tell apart a value less
than one step above a threshold) (sklearn promotes the float32 input to double;
note that under NumPy 2, ``np.float32(x) <= python_float`` would instead cast
the threshold to float32, so the reference below always compares Python floats).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
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
    """``floor(float32(x) * 2**26)`` computed with exact rationals."""
    return math.floor(Fraction(f32(x)) * SCALE)


def expected_threshold(t: float) -> int:
    """``floor(t * 2**26)`` with exact rationals, clamped to ``±2**42``."""
    if t == math.inf:
        return X_BOUND
    if t == -math.inf:
        return -X_BOUND
    return max(-X_BOUND, min(X_BOUND, math.floor(Fraction(t) * SCALE)))


def goes_left(x, t) -> bool:
    """scikit-learn's rule: ``float32(x) <= t`` compared in double precision."""
    return f32(x) <= float(t)


def exact(x) -> bool:
    """Whether ``float32(x)`` is on the grid (encoded without rounding)."""
    return (Fraction(f32(x)) * SCALE).denominator == 1


def next32(x, direction: float) -> float:
    """The neighbouring float32 of ``float32(x)`` towards ``direction``."""
    return float(np.nextafter(np.float32(x), np.float32(direction)))


# ------------------------------------------------------------- constants
def test_constants_are_consistent():
    assert SCALE == 2**SCALE_BITS == 2**26
    assert X_BOUND == 2 ** (SCALE_BITS + VALUE_BITS) == 2**42
    assert D_BITS == 43
    assert decode(encode_value(2.5)) == 2.5
    assert decode(encode_value(-0.375)) == -0.375
    assert decode(encode_value(-0.1)) < f32(-0.1) < decode(encode_value(-0.1) + 1)


# ---------------------------------------------------------- encode_value
@pytest.mark.parametrize("value", [
    0, 1, -1, 7, 63, 250, 2**16 - 1, -(2**16 - 1),
    0.1, -0.1, 0.5, 1.5, 36.6, 245.5, 0.0001, 0.000692, -0.000692, 1e-5, 2**-17, 2**-26, -(2**-26),
    3 * 2**-26, 2**-40, -(2**-40), 65535.9,
])
def test_encode_value_is_the_floor_of_float32_times_scale(value):
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
    assert encode_value(36.6) == expected_value(np.float32(36.6))
    assert encode_value(36.6) != math.floor(36.6 * SCALE)
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
    2**16, -(2**16), 2.0**16, 1e5, -1e5, 2**20 - 1, 1e7, -1e7, 1e30, -1e30, np.float64(1e300), "1e7",
    2**16 - 0.001,  # float32 rounds it up to 2**16: outside
    -(2**16 - 0.001),
])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")  # float32(1e300)
def test_encode_value_rejects_out_of_domain(value):
    with pytest.raises(DomainError, match=r"'trestbps'.*outside the encodable domain"):
        encode_value(value, "trestbps")


def test_encode_value_domain_boundary():
    largest = next32(2**16, 0)  # the largest float32 below 2**16
    assert largest < 2**16
    assert encode_value(largest) == expected_value(largest)
    assert encode_value(-largest) == -expected_value(largest)
    assert abs(encode_value(largest)) < X_BOUND


def test_encode_value_huge_python_int_is_a_domain_error():
    with pytest.raises(DomainError, match="'chol'"):
        encode_value(10**400, "chol")


@pytest.mark.parametrize("value, expected", [
    (1e-9, 0), (-1e-9, -1), (2**-41, 0), (-(2**-41), -1), (1.5 * 2**-26, 1), (-1.5 * 2**-26, -2),
    (np.float32(1e-12), 0), ("1e-9", 0),
])
def test_encode_value_rounds_values_finer_than_the_grid_down(value, expected):
    assert encode_value(value, "oldpeak") == expected == expected_value(value)


@pytest.mark.parametrize("value", [0.000692, -0.000692, 0.1, -0.1, 0.07871])
def test_encode_value_rounds_down_by_less_than_one_step(value):
    X, exact_product = encode_value(value), Fraction(f32(value)) * SCALE
    assert not exact(value)
    assert X < exact_product < X + 1


def test_every_float32_from_2_pow_minus_3_up_is_exact():
    smallest_exact_octave = 2.0**-3
    assert encode_value(smallest_exact_octave) == 2**23
    # its float32 neighbours just above are multiples of 2**-26 too
    x = smallest_exact_octave
    for _ in range(5):
        x = next32(x, 1)
        assert exact(x) and encode_value(x) == Fraction(x) * SCALE
    # the float32 just below 2**-3 has ulp 2**-27: rounded down, half a step
    below = next32(smallest_exact_octave, 0)
    assert not exact(below)
    assert encode_value(below) == 2**23 - 1 == Fraction(below) * SCALE - Fraction(1, 2)


# ------------------------------------------------------ encode_threshold
@pytest.mark.parametrize("t", [
    0.0, -0.0, 0.5, -0.5, 1.5, 245.5, 0.15000000223517418, -0.1, 1e-9, -1e-9, 1e-300, -1e-300,
    5e-324, -5e-324, 2**-26, 2**-40, 2**-41, -(2**-41), 65535.5, -65535.5, 2.0**16 - 2**-30,
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
    (2.0**16, X_BOUND), (2.0**16 + 0.5, X_BOUND), (1e7, X_BOUND), (1e300, X_BOUND), (math.inf, X_BOUND),
    (-(2.0**16), -X_BOUND), (-(2.0**16) - 0.5, -X_BOUND), (-1e7, -X_BOUND), (-1e300, -X_BOUND),
    (-math.inf, -X_BOUND),
])
def test_encode_threshold_is_clamped(t, expected):
    assert encode_threshold(t) == expected


@pytest.mark.parametrize("t", [float("nan"), np.nan, np.float32("nan")])
def test_encode_threshold_rejects_nan(t):
    with pytest.raises(DomainError, match="NaN"):
        encode_threshold(t)


# ------------------------- the comparison is scikit-learn's above one grid step (hypothesis)
values_in_domain = st.one_of(
    st.floats(-(2**16) + 1, 2**16 - 1, width=32),
    st.integers(-(2**16) + 1, 2**16 - 1).map(float),
    st.integers(-(6 * 10**5), 6 * 10**5).map(lambda k: k / 10),  # one-decimal clinical values
    st.integers(-(6 * 10**6), 6 * 10**6).map(lambda k: k / 100),
    st.integers(-(10**6), 10**6).map(lambda k: k / 10**6),  # 6-decimal values (breast cancer)
)

any_float32 = st.floats(width=32, allow_nan=False, allow_infinity=False)

huge_thresholds = st.sampled_from([
    2.0**16, -(2.0**16), 2.0**16 + 0.5, -(2.0**16) - 0.5, 2.0**16 - 2**-33, -(2.0**16) + 2**-33,
    1e7, -1e7, 1e300, -1e300, math.inf, -math.inf, 2.0**42, 2.0**43,
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
    if goes_left(x, t):
        assert X <= T  # left in scikit-learn: always left here, ties included
    elif math.isfinite(t) and Fraction(f32(x)) - Fraction(t) >= Fraction(1, SCALE):
        assert X > T  # at least one grid step to the right: right here too
    else:  # less than a step above t: both cells may coincide (the documented limit)
        assert X >= T
    assert abs(X) < X_BOUND
    assert abs(T - X) < 2**D_BITS


@settings(max_examples=300, deadline=None)
@given(st.lists(values_in_domain, min_size=2, max_size=2, unique_by=f32))
def test_training_midpoints_separate_their_two_values(pair):
    # sklearn's threshold between two training values a < b is their midpoint in double;
    # it is separated from both as soon as b - a >= 2 grid steps
    a, b = sorted(f32(v) for v in pair)
    assume(b - a >= 2.0 / SCALE)
    t = (np.float64(a) + np.float64(b)) / 2
    assert encode_value(a) <= encode_threshold(t) < encode_value(b)
    assert goes_left(a, t) and not goes_left(b, t)


@settings(max_examples=300, deadline=None)
@given(values_in_domain, values_in_domain)
def test_encode_value_is_monotonic_and_within_one_step(a, b):
    fa, fb = f32(a), f32(b)
    if fa <= fb:
        assert encode_value(a) <= encode_value(b)
    if fb - fa >= 1.0 / SCALE:
        assert encode_value(a) < encode_value(b)
    assert decode(encode_value(a)) <= fa < decode(encode_value(a) + 1)
    assert (decode(encode_value(a)) == fa) == exact(a)


def test_the_classic_rounding_trap():
    # float32(0.15) = 0.15000000596..., sklearn's midpoint of 0.1 and 0.2 (as float32) is
    # 0.15000000223...: 0.15 goes RIGHT although float32(threshold) == float32(0.15).
    t = (np.float64(np.float32(0.1)) + np.float64(np.float32(0.2))) / 2
    assert np.float32(t) == np.float32(0.15)
    assert not goes_left(0.15, t)
    # 3.7e-9 apart, a quarter of a 2**-26 step, yet a grid point lies between them
    assert 0 < f32(0.15) - t < 1 / SCALE
    assert encode_value(0.15) > encode_threshold(t)
    assert encode_value(next32(0.15, 0)) <= encode_threshold(t)


def test_a_value_less_than_one_step_above_a_threshold_may_go_left():
    # The documented limit: between 0.01 (as float32) and its float32 neighbour below
    # (2**-30 apart) there is no multiple of 2**-26, so their midpoint and 0.01 share a cell:
    # sklearn sends 0.01 right, the encoding left.  No recorded value sits that close to a
    # midpoint of two recorded values (test_training_midpoints_separate_their_two_values).
    x = f32(0.01)
    t = (np.float64(next32(x, 0)) + np.float64(x)) / 2
    assert not goes_left(x, t)
    assert encode_value(x) == encode_threshold(t)


@settings(max_examples=400, deadline=None)
@given(value_and_threshold())
def test_the_comparison_is_exact_for_values_from_2_pow_minus_3(pair):
    # every float32 with |x| >= 2**-3 is on the grid: X = x * 2**26 exactly, whatever t
    x, t = pair
    assume(abs(f32(x)) >= 2.0**-3)
    assert (encode_value(x) <= encode_threshold(t)) == goes_left(x, t)
