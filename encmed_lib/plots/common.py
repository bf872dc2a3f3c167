"""What every figure of :mod:`encmed_lib.plots` shares: colours, class names, small helpers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..colours import CLASS_COLOURS, NEUTRAL

__all__ = ["CLASS_COLOURS", "NEUTRAL", "DEFAULT_CLASS_NAMES", "as_array", "class_name", "colour",
           "is_categorical", "letters", "tidy_grid"]

#: Display names of class 0 and class 1 in the course's data sets.
DEFAULT_CLASS_NAMES = ("no disease", "disease")


# ------------------------------------------------------------------ helpers
def as_array(y) -> np.ndarray:
    """The labels (or any 1-d values) as a flat NumPy array."""
    return np.asarray(y).ravel()


def class_name(classes: Sequence, class_names: Sequence[str] | None, k: int) -> str:
    """Name of the ``k``-th class: ``class_names[k]`` if given, else the label itself."""
    if class_names is not None and k < len(class_names):
        return str(class_names[k])
    return str(classes[k])


def colour(k: int) -> str:
    """Colour of the ``k``-th class (:data:`NEUTRAL` beyond the second)."""
    return CLASS_COLOURS[k] if k < len(CLASS_COLOURS) else NEUTRAL


def is_categorical(values: pd.Series, max_codes: int = 6) -> bool:
    """A column of at most ``max_codes`` distinct whole numbers is treated as codes."""
    present = values.dropna().to_numpy(dtype=float)
    if present.size == 0:
        return False
    distinct = np.unique(present)
    return distinct.size <= max_codes and bool(np.all(distinct == np.round(distinct)))


from ..data.providers import letters  # noqa: E402, F401 (re-exported)


def tidy_grid(ax, axis: str = "y") -> None:
    """A light grid along ``axis``, drawn below the data."""
    ax.grid(axis=axis, alpha=0.3)
    ax.set_axisbelow(True)
