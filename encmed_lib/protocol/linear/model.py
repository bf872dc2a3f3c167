"""The servable model: a binary logistic regression's ``(coef, intercept)``, a scaler folded in."""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ...errors import ModelNotFittedError

__all__ = ["fold_standard_scaler", "linear_parameters"]


def _ensure_fitted(model) -> None:
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise ModelNotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit(X, y) before serving it"
        ) from exc


def _binary_lr(lr) -> None:
    _ensure_fitted(lr)
    if len(lr.classes_) != 2 or lr.coef_.shape[0] != 1:
        raise ValueError(
            f"LinearServer scores binary models only; this LogisticRegression has "
            f"{len(lr.classes_)} classes {list(lr.classes_)}: a multiclass score is a vector and "
            "its softmax compares the classes, which one encrypted dot product cannot do")


def fold_standard_scaler(scaler: StandardScaler, lr: LogisticRegression) -> tuple[np.ndarray, float]:
    """Fold a fitted :class:`StandardScaler` into the logistic regression that follows it.

    With :math:`z_i = (x_i - \\mu_i)/\\sigma_i`,

    .. math::  w \\cdot z + b = \\sum_i \\frac{w_i}{\\sigma_i} x_i
               + \\Big(b - \\sum_i \\frac{w_i \\mu_i}{\\sigma_i}\\Big)

    so the server scores raw features with ``coef = w / sigma`` and
    ``intercept = b - coef · mu``, and the client sends its record unscaled.

    Returns
    -------
    coef : numpy.ndarray of shape (d,)
    intercept : float

    Raises
    ------
    ModelNotFittedError
        Either step is not fitted.
    ValueError
        A multiclass model, or the two steps disagree on the number of features.
    """
    _ensure_fitted(scaler)
    _binary_lr(lr)
    w = np.asarray(lr.coef_, dtype=float).ravel()
    if scaler.n_features_in_ != w.size:
        raise ValueError(f"the scaler has {scaler.n_features_in_} features, the model {w.size}")
    # mean_ is computed even with with_mean=False, but transform() uses it only when with_mean is set
    sigma = np.asarray(scaler.scale_, dtype=float) if scaler.with_std else np.ones_like(w)
    mu = np.asarray(scaler.mean_, dtype=float) if scaler.with_mean else np.zeros_like(w)
    coef = w / sigma
    return coef, float(lr.intercept_[0]) - float(coef @ mu)


def linear_parameters(model) -> tuple[np.ndarray, float, list[str] | None, list]:
    """``(coef, intercept, feature_names or None, classes)`` of a servable model.

    ``model`` is a fitted binary :class:`LogisticRegression`, a fitted
    ``Pipeline([StandardScaler, LogisticRegression])`` (folded by
    :func:`fold_standard_scaler`) or a pair ``(coef, intercept)`` (classes 0, 1).
    """
    if isinstance(model, LogisticRegression):
        _binary_lr(model)
        names = getattr(model, "feature_names_in_", None)
        return (np.asarray(model.coef_, dtype=float).ravel().copy(), float(model.intercept_[0]),
                None if names is None else [str(n) for n in names], list(model.classes_))
    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps]
        if len(steps) != 2 or not isinstance(steps[0], StandardScaler) \
                or not isinstance(steps[1], LogisticRegression):
            raise TypeError("a pipeline must be exactly [StandardScaler, LogisticRegression]; "
                            "fold other preprocessing into the record or the weights yourself")
        coef, intercept = fold_standard_scaler(steps[0], steps[1])
        names = getattr(steps[0], "feature_names_in_", None)
        return (coef, intercept, None if names is None else [str(n) for n in names],
                list(steps[1].classes_))
    if isinstance(model, tuple | list) and len(model) == 2:
        coef = np.asarray(model[0], dtype=float)
        if coef.ndim == 2 and coef.shape[0] != 1:
            raise ValueError(f"coef has {coef.shape[0]} rows: LinearServer scores binary models only")
        coef = coef.ravel().copy()
        intercept = np.asarray(model[1], dtype=float).ravel()
        if intercept.size != 1:
            raise ValueError(f"expected one intercept, got {intercept.size}")
        if coef.size == 0:
            raise ValueError("coef is empty")
        return coef, float(intercept[0]), None, [0, 1]
    raise TypeError(f"expected a fitted LogisticRegression, a [StandardScaler, LogisticRegression] "
                    f"pipeline or a (coef, intercept) pair, got {type(model).__name__}")
