r"""One public description per dataset: features, ranges, resolution, and the integer grid.

A :class:`DatasetSpec` says, once, what every party may know about a dataset
without seeing a record: the features, each one's public range
:math:`[lo, hi]` and its **resolution** (the step of the published values:
1 mm Hg, 0.1 mm of ST depression, one day of age...).  Every consumer reads it
from here: the label-only protocol's integer encoding, the encoding bounds, the
loaders' checks.

The grid (label-only mode)
==========================
A feature with range :math:`[lo, hi]` and resolution :math:`\rho` has
:math:`N = (hi - lo)/\rho + 1` grid values :math:`v_k = lo + (k - 1)\rho`,
:math:`k = 1, \dots, N`, each the float nearest to that exact rational (so
:math:`v_k` is the very float that parsing the published decimal gives).

* **Value code.**  A value :math:`v` is sent as the integer
  :math:`k = 1 + \mathrm{round}((v - lo)/\rho)` (round half to even, exact
  rational arithmetic).  A value *on the grid* (``v == v_k``) is encoded
  exactly; a value *off the grid* is **rounded to the nearest grid value** and
  compared as that value (the documented rule); a value more than half a step
  outside the range, NaN or infinite is refused with a :class:`DomainError`.
* **Threshold code.**  A tree compares ``float32(x) <= t``.  The server encodes
  :math:`t` as :math:`K(t) = \max\{k : \mathrm{float32}(v_k) \le t\}` (0 if
  there is none), found by bisection (the predicate is monotone in :math:`k`).
  Then for every grid value, exactly, ties included:

  .. math:: k \le K(t) \iff \mathrm{float32}(v_k) \le t .

* **Width.**  Codes and thresholds lie in :math:`[0, N + 1]` (the comparison
  also uses :math:`K(t) + 1`), so :math:`\ell = \lceil \log_2 (N + 2) \rceil`
  bits hold them all: :attr:`FeatureSpec.bits`.  The width depends on the
  public range and resolution only, never on a tree.

Examples
--------
>>> from encmed_lib.data.schema import HEART
>>> chol = HEART.feature("chol")
>>> chol.encode(233.0), chol.bits
(234, 10)
>>> chol.threshold_code(233.5) >= chol.encode(233.0) > chol.threshold_code(232.5)
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import DomainError, MissingFeatureError

__all__ = ["FeatureSpec", "DatasetSpec", "HEART", "SYNTHEA", "BREAST_CANCER", "SCHEMAS",
           "get_schema", "schema_for"]


def _fraction(value) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _number(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (numbers.Real, np.number)):
        try:
            x = float(value)
        except (OverflowError, ValueError):
            x = math.nan
        if math.isfinite(x):
            return x
        raise DomainError(f"feature {name!r}: expected a finite number, got {value!r} "
                          "(impute or drop missing values before encrypting)")
    raise DomainError(f"feature {name!r}: expected a number, got {value!r} ({type(value).__name__})")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature's public description: name, range, resolution, unit.

    Parameters
    ----------
    name : str
    lo, hi : Fraction or str
        The public range (inclusive).
    resolution : Fraction or str
        The step of the published values; ``(hi - lo) / resolution`` must be an integer.
    unit : str
        For people (plots, tables).
    """

    name: str
    lo: Fraction
    hi: Fraction
    resolution: Fraction
    unit: str = ""

    def __post_init__(self):
        lo, hi, res = _fraction(self.lo), _fraction(self.hi), _fraction(self.resolution)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "resolution", res)
        steps = (hi - lo) / res if res > 0 else Fraction(-1)
        if res <= 0 or hi <= lo or steps.denominator != 1:
            raise ValueError(f"feature {self.name!r}: need lo < hi and (hi - lo) a whole number of "
                             f"resolution steps, got lo={lo}, hi={hi}, resolution={res}")

    @property
    def levels(self) -> int:
        """:math:`N`, the number of grid values."""
        return int((self.hi - self.lo) / self.resolution) + 1

    @property
    def bits(self) -> int:
        r""":math:`\ell = \lceil\log_2(N + 2)\rceil`: codes and threshold codes fit in ``bits`` bits."""
        return (self.levels + 1).bit_length()

    def grid_value(self, code: int) -> float:
        """:math:`v_k`, the float nearest to :math:`lo + (k - 1)\\rho` (``1 <= code <= levels``)."""
        if not 1 <= code <= self.levels:
            raise DomainError(f"feature {self.name!r}: grid code {code} is outside [1, {self.levels}]")
        return float(self.lo + (code - 1) * self.resolution)

    def encode(self, value) -> int:
        """The value code :math:`k` (rounded to the nearest grid value; see the module docstring).

        Raises
        ------
        DomainError
            Not a finite number, or more than half a step outside ``[lo, hi]``.
        """
        x = _number(value, self.name)
        position = (Fraction(x) - self.lo) / self.resolution
        index = round(position)  # Fraction rounds half to even, exactly
        if not 0 <= index < self.levels:
            raise DomainError(f"feature {self.name!r}: {x!r} is outside the public range "
                              f"[{float(self.lo):g}, {float(self.hi):g}] {self.unit}".rstrip())
        return index + 1

    def on_grid(self, value) -> bool:
        """Whether ``value`` is exactly a grid value (then its comparisons are exact)."""
        try:
            return self.grid_value(self.encode(value)) == float(value)
        except DomainError:
            return False

    def threshold_code(self, threshold: float) -> int:
        r""":math:`K(t) = \max\{k : \mathrm{float32}(v_k) \le t\}`, 0 if none (by bisection)."""
        t = float(threshold)
        if math.isnan(t):
            raise DomainError(f"feature {self.name!r}: a threshold is NaN")
        low, high = 0, self.levels  # invariant: P(low) or low == 0; not P(high + 1)
        while low < high:
            mid = (low + high + 1) // 2
            if float(np.float32(self.grid_value(mid))) <= t:
                low = mid
            else:
                high = mid - 1
        return low

    def to_dict(self) -> dict:
        return {"name": self.name, "lo": str(self.lo), "hi": str(self.hi),
                "resolution": str(self.resolution), "unit": self.unit}


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's public schema: an ordered tuple of :class:`FeatureSpec`.

    ``schema_id`` (``"<name>-v<version>"``) travels in label-only messages, so
    both parties know they encode with the same grid.
    """

    name: str
    version: int
    features: tuple[FeatureSpec, ...]

    @property
    def schema_id(self) -> str:
        return f"{self.name}-v{self.version}"

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def bits(self) -> int:
        """The widest feature's :attr:`FeatureSpec.bits`: the comparison width of label-only mode."""
        return max(f.bits for f in self.features)

    def feature(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise MissingFeatureError(f"the {self.schema_id} schema has no feature {name!r}; "
                                  f"its features are {self.names}")

    def encode_record(self, record: Mapping) -> dict[str, int]:
        """``{feature: code}`` for every feature of the schema (all checked before any is returned)."""
        missing = [n for n in self.names if n not in record]
        if missing:
            raise MissingFeatureError(f"the record lacks feature(s) {missing} of the {self.schema_id} "
                                      "schema; the client encodes every one of them")
        return {f.name: f.encode(record[f.name]) for f in self.features}

    def covers(self, names: Iterable[str]) -> bool:
        return set(names) <= set(self.names)

    def to_dict(self) -> dict:
        return {"schema_id": self.schema_id, "features": [f.to_dict() for f in self.features]}

    def table(self):
        """The schema as a :class:`pandas.DataFrame`: range, resolution, grid values and bits per feature."""
        import pandas as pd

        return pd.DataFrame([{"feature": f.name, "low": float(f.lo), "high": float(f.hi),
                              "resolution": float(f.resolution), "unit": f.unit, "grid values": f.levels,
                              "bits": f.bits} for f in self.features])


def _spec(name: str, lo, hi, resolution, unit: str = "") -> FeatureSpec:
    return FeatureSpec(name, _fraction(lo), _fraction(hi), _fraction(resolution), unit)


HEART = DatasetSpec("heart", 1, (
    _spec("age", 0, 120, 1, "years"),
    _spec("sex", 0, 1, 1),                      # 0 female, 1 male
    _spec("cp", 0, 4, 1),                       # chest pain: UCI codes 1-4, Kaggle 0-3
    _spec("trestbps", 0, 300, 1, "mm Hg"),
    _spec("chol", 0, 1000, 1, "mg/dl"),
    _spec("fbs", 0, 1, 1),
    _spec("restecg", 0, 2, 1),
    _spec("thalach", 0, 300, 1, "beats/min"),
    _spec("exang", 0, 1, 1),
    _spec("oldpeak", -5, 10, "0.1", "mm"),      # ST depression (negative in some UCI files)
    _spec("slope", 0, 3, 1),                    # UCI 1-3, Kaggle 0-2
    _spec("ca", 0, 4, 1),                       # UCI 0-3, Kaggle 0-4
    _spec("thal", 0, 7, 1),                     # UCI 3/6/7, Kaggle 0-3
))
"""The 13 heart-disease attributes (UCI and Kaggle layouts): widest feature 10 bits (``chol``)."""

SYNTHEA = DatasetSpec("synthea", 1, (
    _spec("age", 0, 132, Fraction(4, 1461), "years"),   # whole days / 365.25, as load_synthea computes it
    _spec("sex", 0, 1, 1),
    _spec("bmi", 0, 100, "0.1", "kg/m2"),
    _spec("systolic_bp", 0, 300, "0.1", "mm Hg"),
    _spec("diastolic_bp", 0, 200, "0.1", "mm Hg"),
    _spec("total_cholesterol", 0, 1000, "0.1", "mg/dL"),
    _spec("ldl", 0, 1000, "0.1", "mg/dL"),
    _spec("hdl", 0, 300, "0.1", "mg/dL"),
    _spec("triglycerides", 0, 3000, "0.1", "mg/dL"),
    _spec("smoking", 0, 2, 1),                  # never / former / current
    _spec("diabetes", 0, 1, 1),
))
"""The features :func:`~encmed_lib.data.synthea.load_synthea` makes: age at one-day resolution (16 bits)."""

_BREAST_CANCER = {  # feature: (public upper bound, decimals published); every range starts at 0
    "mean radius": (40, 3), "mean texture": (50, 2), "mean perimeter": (300, 2),
    "mean area": (4000, 1), "mean smoothness": (1, 5), "mean compactness": (1, 5),
    "mean concavity": (1, 7), "mean concave points": (1, 6), "mean symmetry": (1, 4),
    "mean fractal dimension": (1, 5), "radius error": (5, 4), "texture error": (10, 4),
    "perimeter error": (40, 4), "area error": (1000, 3), "smoothness error": (1, 6),
    "compactness error": (1, 6), "concavity error": (1, 7), "concave points error": (1, 6),
    "symmetry error": (1, 6), "fractal dimension error": (1, 7), "worst radius": (50, 3),
    "worst texture": (70, 2), "worst perimeter": (400, 2), "worst area": (6000, 1),
    "worst smoothness": (1, 5), "worst compactness": (2, 5), "worst concavity": (2, 6),
    "worst concave points": (1, 6), "worst symmetry": (1, 4), "worst fractal dimension": (1, 5),
}
BREAST_CANCER = DatasetSpec("breast-cancer", 1, tuple(
    _spec(name, 0, hi, Fraction(1, 10 ** decimals)) for name, (hi, decimals) in _BREAST_CANCER.items()))
"""scikit-learn's breast-cancer data: each feature at the precision of the published file."""

SCHEMAS: dict[str, DatasetSpec] = {s.schema_id: s for s in (HEART, SYNTHEA, BREAST_CANCER)}


def get_schema(schema_id: str) -> DatasetSpec:
    """The schema named ``schema_id`` (``"heart-v1"``...); :class:`DomainError` if unknown."""
    try:
        return SCHEMAS[schema_id]
    except (KeyError, TypeError):
        raise DomainError(f"unknown dataset schema {schema_id!r}; known: {sorted(SCHEMAS)}") from None


def schema_for(feature_names: Iterable[str]) -> DatasetSpec:
    """The one known schema whose features include all of ``feature_names``."""
    names = list(feature_names)
    found = [s for s in SCHEMAS.values() if s.covers(names)]
    if len(found) != 1:
        raise DomainError(f"no single dataset schema covers the features {names}: pass schema=... "
                          f"(known: {sorted(SCHEMAS)})")
    return found[0]
