"""Public knowledge about the features: clinically plausible ranges, and category codes.

The bins of federated training must be agreed without looking at anybody's
data (:mod:`encmed_lib.federated.binning`), so they are read off public
knowledge: a plausible range per numeric feature (equal-width bins over it
cost no privacy at all) and the codes of each categorical feature
(:class:`Codes`, one bin per code).
"""

from __future__ import annotations


class Codes:
    """A categorical feature's codes: each code is a bin of its own.

    ``Codes(1, 2, 3, 4)`` gives edges ``1, 2, 3``: bin 0 is ``x <= 1``, bin 1
    ``1 < x <= 2``... and the last bin ``x > 3``.
    """

    def __init__(self, *codes: float):
        if not codes:
            raise ValueError("Codes needs at least one code")
        self.codes = tuple(sorted({float(c) for c in codes}))

    def __repr__(self) -> str:
        return f"Codes{tuple(int(c) if c.is_integer() else c for c in self.codes)}"


HEART_RANGES: dict[str, tuple[float, float] | Codes] = {
    "age": (20.0, 84.0),           # years (adult cardiology patients)
    "sex": Codes(0, 1),
    "cp": Codes(1, 2, 3, 4),       # UCI codes; the Kaggle file uses 0-3 (the extra bin absorbs it)
    "trestbps": (80.0, 208.0),     # resting systolic blood pressure, mm Hg
    "chol": (100.0, 420.0),        # serum cholesterol, mg/dl
    "fbs": Codes(0, 1),
    "restecg": Codes(0, 1, 2),
    "thalach": (60.0, 220.0),      # maximum heart rate, beats/min (220 - age at most)
    "exang": Codes(0, 1),
    "oldpeak": (0.0, 6.4),         # ST depression, mm
    "slope": Codes(1, 2, 3),
    "ca": Codes(0, 1, 2, 3),
    "thal": Codes(3, 6, 7),
}
"""Public clinically plausible ranges of the 13 heart features (UCI coding); codes for categories.

The ranges are chosen so that 8 or 16 equal-width bins have round widths
(e.g. age in steps of 4 or 8 years)."""

SYNTHEA_RANGES: dict[str, tuple[float, float] | Codes] = {
    "age": (20.0, 100.0),              # years
    "sex": Codes(0, 1),
    "bmi": (14.0, 54.0),               # kg/m2
    "systolic_bp": (80.0, 208.0),      # mm Hg
    "diastolic_bp": (40.0, 120.0),     # mm Hg
    "total_cholesterol": (100.0, 340.0),  # mg/dL
    "ldl": (40.0, 232.0),              # mg/dL
    "hdl": (20.0, 100.0),              # mg/dL
    "triglycerides": (40.0, 600.0),    # mg/dL
    "smoking": Codes(0, 1, 2),         # never, former, current
    "diabetes": Codes(0, 1),
}
"""Public clinically plausible ranges of the Synthea features (:func:`encmed_lib.load_synthea`)."""
