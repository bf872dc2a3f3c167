"""Gini impurity, the criterion a decision tree (scikit-learn's, the federated trainer's) splits by.

Re-exported by :mod:`encmed_lib.tree`; notebook 02 defines it with these functions.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataFormatError

__all__ = ["gini_impurity", "split_gini"]


def gini_impurity(counts) -> float:
    r"""Gini impurity of a node from its class counts.

    .. math::

        G = 1 - \sum_k p_k^2, \qquad p_k = \frac{n_k}{\sum_j n_j},

    the probability that two records drawn at random (with replacement) from
    the node belong to different classes: 0 for a pure node, :math:`1 - 1/K`
    for :math:`K` equally frequent classes (0.5 for two).  Computed as
    scikit-learn does, in float64: ``1 - sum(n_k**2) / n**2``.

    Parameters
    ----------
    counts : sequence of non-negative numbers
        Records of each class at the node (or weights); not all zero.

    Returns
    -------
    float
        The impurity, in ``[0, 1 - 1/K]``.

    Raises
    ------
    DataFormatError
        ``counts`` is empty, holds a negative or non-finite number, or sums to 0.

    Examples
    --------
    >>> gini_impurity([3, 1])        # 1 - (3/4)**2 - (1/4)**2
    0.375
    """
    n_k = np.asarray(counts, dtype=float).ravel()
    if n_k.size == 0 or not np.all(np.isfinite(n_k)) or np.any(n_k < 0) or n_k.sum() <= 0:
        raise DataFormatError(None, "counts", "a non-empty sequence of non-negative class counts, "
                              "not all zero", repr(list(np.asarray(counts).ravel())))
    n = float(n_k.sum())
    return float(1.0 - float(np.sum(n_k * n_k)) / (n * n))


def split_gini(left_counts, right_counts) -> float:
    r"""Weighted Gini impurity of the two children of a split (lower is better).

    .. math::

        G_{\text{split}} = \frac{n_L}{n} G(L) + \frac{n_R}{n} G(R),

    where :math:`n_L, n_R` are the records sent left and right and
    :math:`n = n_L + n_R`.  A tree (scikit-learn's, and the federated trainer's)
    picks, at each node, the feature and threshold with the lowest
    :math:`G_{\text{split}}`, i.e. the largest decrease from the parent's
    impurity.

    Parameters
    ----------
    left_counts, right_counts : sequence of non-negative numbers
        Class counts of the records each side receives (same classes, same order).

    Returns
    -------
    float

    Raises
    ------
    DataFormatError
        The two sides have different numbers of classes, or one side is empty.

    Examples
    --------
    >>> split_gini([3, 1], [0, 4])   # 4/8 * 0.375 + 4/8 * 0
    0.1875
    """
    left = np.asarray(left_counts, dtype=float).ravel()
    right = np.asarray(right_counts, dtype=float).ravel()
    if left.size != right.size:
        raise DataFormatError(None, "counts", "the same number of classes on both sides",
                              f"{left.size} left, {right.size} right")
    g_left, g_right = gini_impurity(left), gini_impurity(right)
    n_left, n_right = float(left.sum()), float(right.sum())
    return (n_left * g_left + n_right * g_right) / (n_left + n_right)
