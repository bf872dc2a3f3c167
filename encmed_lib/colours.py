"""The course's colours: one place, no plotting library (any floor may import it).

:mod:`encmed_lib.plots` and every other figure of the library draw class 0 (no
disease) in :data:`CLASS_COLOURS` ``[0]``, class 1 (disease) in ``[1]`` and
everything else (totals, training curves) in :data:`NEUTRAL`.
"""

from __future__ import annotations

__all__ = ["CLASS_COLOURS", "NEUTRAL"]

#: Colour of class 0 (no disease) and class 1 (disease), used by every figure.
CLASS_COLOURS: tuple[str, str] = ("#4C72B0", "#DD8452")
#: Colour of what belongs to no class.
NEUTRAL = "#7F7F7F"
