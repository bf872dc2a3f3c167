"""The network CKKS evaluates: :class:`SquareMLP`, one hidden layer with a square activation.

Trained in NumPy (full-batch Adam), in clear; only its evaluation is encrypted
(:class:`~encmed_lib.crypto.ckks.CKKSServer`).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from ...errors import DomainError, MissingFeatureError, ModelNotFittedError
from .params import sigmoid

__all__ = ["SquareMLP"]


class SquareMLP(ClassifierMixin, BaseEstimator):
    """A binary classifier with one hidden layer and a square activation, trained with numpy.

    On standardised inputs :math:`\\tilde x = (x - \\mu) / \\sigma`:
    ``score = sum_j w2_j * (x̃ W1 + b1)_j ** 2 + b2`` and ``P(y = 1) = sigmoid(score)``.
    scikit-learn's ``MLPClassifier`` has no square activation, hence this small
    class: full-batch gradient descent with Adam on the mean logistic loss plus
    ``l2 / 2 * (|W1|² + |w2|²)`` (biases are not penalised).  The penalty keeps
    weights, hidden values and scores small, so that encrypted values stay in
    CKKS's range (see the module docstring).

    Parameters
    ----------
    hidden : int
        Hidden units.
    epochs : int
        Full-batch Adam steps.
    lr : float
        Adam learning rate.
    l2 : float
        Weight penalty.
    random_state : int
        Seed of the weight initialisation (the only randomness: same seed, same
        data, same weights).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``predict`` returns ``classes_[1]`` when the score is >= 0.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame: the feature order the client must use.
    mean_, scale_ : ndarray
        The standardisation learnt from the training data (a constant column
        gets scale 1).
    coefs_, intercepts_ : list
        ``[W1, w2]`` and ``[b1, b2]`` (on standardised inputs).
    loss_curve_ : list of float
        The penalised training loss, every epoch.
    """

    def __init__(self, hidden: int = 8, epochs: int = 1000, lr: float = 0.01, l2: float = 0.1,
                 random_state: int = 0):
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.l2 = l2
        self.random_state = random_state

    # -- training -------------------------------------------------------------
    def fit(self, X, y) -> SquareMLP:
        """Fit on ``X`` (n_samples, n_features; finite numbers) and binary labels ``y``."""
        if int(self.hidden) < 1 or int(self.epochs) < 1:
            raise ValueError(f"hidden and epochs must be >= 1, got hidden={self.hidden}, "
                             f"epochs={self.epochs}")
        A = self._as_matrix(X, fitting=True)
        labels = np.asarray(y).ravel()
        if len(labels) != len(A):
            raise ValueError(f"X has {len(A)} rows but y has {len(labels)} labels")
        classes = np.unique(labels)
        if len(classes) != 2:
            raise ValueError(f"SquareMLP is a binary classifier: y must hold exactly 2 classes, "
                             f"found {len(classes)} ({classes[:5].tolist()})")
        self.classes_ = classes
        target = (labels == classes[1]).astype(float)

        self.mean_ = A.mean(axis=0)
        scale = A.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Z = (A - self.mean_) / self.scale_
        n, d = Z.shape
        h = int(self.hidden)

        rng = np.random.default_rng(self.random_state)
        W1 = rng.normal(0.0, 1.0 / math.sqrt(d), size=(d, h))
        b1 = np.zeros(h)
        w2 = rng.normal(0.0, 1.0 / math.sqrt(h), size=h)
        b2 = np.zeros(1)
        params = [W1, b1, w2, b2]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        beta1, beta2, eps, l2 = 0.9, 0.999, 1e-8, float(self.l2)
        self.loss_curve_ = []
        for t in range(1, int(self.epochs) + 1):
            pre = Z @ W1 + b1
            hid = pre * pre
            score = hid @ w2 + b2[0]
            # mean logistic loss, written stably: log(1 + e^s) - y s
            loss = np.mean(np.logaddexp(0.0, score) - target * score)
            self.loss_curve_.append(float(loss + 0.5 * l2 * (np.sum(W1 * W1) + np.sum(w2 * w2))))
            d_score = (sigmoid(score) - target) / n
            d_pre = np.outer(d_score, w2) * (2.0 * pre)
            grads = [Z.T @ d_pre + l2 * W1, d_pre.sum(axis=0), hid.T @ d_score + l2 * w2,
                     np.array([d_score.sum()])]
            for i, (p, g) in enumerate(zip(params, grads, strict=True)):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                p -= self.lr * (m[i] / (1 - beta1 ** t)) / (np.sqrt(v[i] / (1 - beta2 ** t)) + eps)
        self.coefs_ = [W1, w2]
        self.intercepts_ = [b1, float(b2[0])]
        return self

    # -- prediction -----------------------------------------------------------------
    def standardize(self, X) -> np.ndarray:
        """``(X - mean_) / scale_``, in the model's feature order."""
        return (self._as_matrix(X) - self.mean_) / self.scale_

    def decision_function(self, X) -> np.ndarray:
        """The score (logit) of every row, in float64: the plaintext network."""
        pre = self.standardize(X) @ self.coefs_[0] + self.intercepts_[0]
        return (pre * pre) @ self.coefs_[1] + self.intercepts_[1]

    def predict_proba(self, X) -> np.ndarray:
        """``[[1 - p, p], ...]`` with ``p = sigmoid(score)``."""
        p = sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """``classes_[1]`` where the score is >= 0 (probability >= 0.5), else ``classes_[0]``."""
        scores = self.decision_function(X)  # checks that the model is fitted
        return self.classes_[(scores >= 0).astype(int)]

    @property
    def features(self) -> list[str] | None:
        """The feature names, in the order the client must encrypt them (None without names)."""
        self._check_fitted()
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(c) for c in names]

    # -- helpers ------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coefs_"):
            raise ModelNotFittedError("this SquareMLP is not fitted yet: call fit(X, y) first")

    def _as_matrix(self, X, fitting: bool = False) -> np.ndarray:
        if fitting:
            if hasattr(X, "columns"):
                self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            self._check_fitted()
            names = getattr(self, "feature_names_in_", None)
            if names is not None and hasattr(X, "columns"):
                missing = [c for c in names if c not in X.columns]
                if missing:
                    raise MissingFeatureError(f"X lacks the feature(s) {missing} the model was fitted on")
                X = X[list(names)]
        A = np.asarray(X, dtype=float)
        if A.ndim != 2:
            raise ValueError(f"X must be a 2-D table (n_samples, n_features), got shape {A.shape}")
        if fitting:
            self.n_features_in_ = A.shape[1]
        elif A.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {A.shape[1]} features, the model expects {self.n_features_in_}")
        if not np.isfinite(A).all():
            col = int(np.argwhere(~np.isfinite(A))[0][1])
            names = getattr(self, "feature_names_in_", None)
            name = names[col] if names is not None else f"x{col}"
            raise DomainError(f"feature {name!r}: expected finite numbers, found NaN or infinity "
                              "(impute or drop missing values first)")
        return A

