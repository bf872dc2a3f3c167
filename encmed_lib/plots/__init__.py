"""The course's plotting helpers for the data and the trees.

Every function draws one self-contained figure and returns it as a
:class:`matplotlib.figure.Figure`; none calls ``plt.show`` or touches pyplot's
list of open figures.  The figures are built with the object-oriented API
(``Figure(...)``), so that in a notebook the returned figure is shown exactly
once, when it is the last expression of a cell, and saving it is left to the
caller (:func:`encmed_lib.data.paths.save_figure`).  Nothing here is random:
the same data always give the same picture.

::

    from encmed_lib import plots
    fig = plots.plot_class_balance(y)
    save_figure(fig, "01_class_balance.png")
    fig                                         # shown by the notebook

This package is the only place of the library meant to import matplotlib at
module level, and ``import encmed_lib`` does not import it: ``em.plots`` (or
``from encmed_lib import plots``) loads it on first use.

* :mod:`.common`: colours, class names, the helpers every figure shares;
* :mod:`.data`: figures of the data set (class balance, features by class,
  correlations, providers);
* :mod:`.trees`: figures of a trained tree (depth curve, confusion matrix).
"""

from __future__ import annotations

from ..colours import CLASS_COLOURS
from .data import (
    UCI_CODE_NAMES,
    feature_units,
    plot_class_balance,
    plot_correlation_with_target,
    plot_feature_by_class,
    plot_providers,
    provider_labels,
)
from .trees import plot_confusion, plot_depth_curve

__all__ = [
    "CLASS_COLOURS",
    "UCI_CODE_NAMES",
    "feature_units",
    "plot_class_balance",
    "plot_confusion",
    "plot_correlation_with_target",
    "plot_depth_curve",
    "plot_feature_by_class",
    "plot_providers",
    "provider_labels",
]
