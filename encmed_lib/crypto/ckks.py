"""CKKS with TenSEAL: a small neural network evaluated on an encrypted patient.

Paillier adds encrypted integers and multiplies them by *plaintext* constants:
the server can compute a linear score, never a non-linearity.  This module
takes the next step with another scheme, CKKS (Cheon, Kim, Kim and Song,
2017), through `TenSEAL <https://github.com/OpenMined/TenSEAL>`_ (Microsoft
SEAL underneath): the server evaluates a one-hidden-layer network on a
CKKS-encrypted record, and only the client can decrypt the score.

CKKS in six points
------------------
**Vectors of reals, approximately.**  A CKKS plaintext is a vector of up to
:math:`N/2` real numbers (the *slots*; :math:`N` is the polynomial degree,
8192 here, so 4096 slots).  It is multiplied by a public *scale*
:math:`\\Delta = 2^{40}` and rounded into a polynomial with integer
coefficients; encryption adds a small random error.  Decryption therefore
returns :math:`x + e` with :math:`|e|` around :math:`10^{-7}`: CKKS is
*approximate* arithmetic on fixed-point numbers, by design.  Additions and
multiplications act slot by slot, on the whole vector at once.

**Levels.**  A ciphertext is a pair of polynomials modulo
:math:`Q = q_0 q_1 \\cdots q_L`, a product of primes (``coeff_mod_bit_sizes``
lists their sizes).  Multiplying two values at scale :math:`\\Delta` gives a
value at scale :math:`\\Delta^2`; *rescaling* divides it by one prime
:math:`q_i \\approx \\Delta` (hence the middle primes of 40 bits = the scale
bits) and drops that prime from :math:`Q`.  Each multiplication (by a
ciphertext *or* by a plaintext) consumes one level; with no prime left to
drop, no further multiplication is possible.  The first prime (60 bits) is
what remains at the end: a result must satisfy :math:`|v| \\Delta < q_0 / 2`,
i.e. :math:`|v| < 2^{60-40-1} = 2^{19}`, which a trained score (a few tens)
does by far.  The last prime (60 bits) is the *special prime*, used only for
key switching (relinearisation and rotations), never for data.

**Noise, and a drift.**  Every operation enlarges the random error a
little, rescaling adds a rounding error, and a product multiplies errors by
the values involved: around :math:`10^{-7}` here.  A larger, *systematic*
part comes from the primes: a rescaling prime must be :math:`\\equiv 1
\\pmod{2N}`, so it is close to, not equal to, :math:`2^{40}` (SEAL picks
:math:`2^{40} - 737\\,279` and :math:`2^{40} - 147\\,455` for the default
parameters), while TenSEAL resets the scale to exactly :math:`2^{40}` after
each rescaling.  The score (minus the last bias, added after the last
rescaling) comes out multiplied by about :math:`1 + 9.4 \\cdot 10^{-7}`
with the default parameters (:math:`1 + 9.6 \\cdot 10^{-6}` for
:data:`SQUARE_PARAMETERS`, whose 40-bit primes are further from
:math:`2^{40}`): a relative error, which we measured.  Both are far below
:data:`TOLERANCE` for real patients; the tests check it on three data sets
(column ``abs_error`` of :func:`evaluate_ckks`).

**Keys.**  The secret key decrypts.  The public key encrypts (the server
needs it only to create encryptions of zero inside TenSEAL's matrix
product).  *Relinearisation keys* shrink a ciphertext-by-ciphertext product
back to two polynomials.  *Galois keys* rotate the slots cyclically: TenSEAL's
vector-matrix product (the diagonal method of Halevi and Shoup: one rotation
per matrix row) and the sum of a vector's slots (``log2`` rotations) both
need them, so the server must receive them.  They are by far the largest
part of the public context (33.4 of its 35.3 MB with the default
parameters; the public key is 0.5 MB, the relinearisation keys 1.4 MB:
measure with :meth:`CKKSClient.context_sizes`), but they are sent once per
client key, not once per patient.

**Security.**  The hardness of Ring-LWE depends on :math:`N` and on the total
size of :math:`Q` (special prime included).  The Homomorphic Encryption
Security Standard (Albrecht et al., 2018) allows at most 218 bits for
:math:`N = 8192` and 438 bits for :math:`N = 16384` at 128-bit classical
security, and SEAL *refuses* parameters beyond these bounds.
:data:`CKKS_PARAMETERS` (:math:`N = 8192`, primes of 60, 40, 40, 60 bits:
200 bits, 2 levels) is within them; :data:`SQUARE_PARAMETERS` (:math:`N =
16384`, 60, 40, 40, 40, 60: 240 bits, 3 levels) too.  A 3-level chain
at :math:`N = 8192` (240 > 218 bits) is refused.

**Why a square activation.**  Encrypted, the server can only add and
multiply: it evaluates *polynomials*.  ReLU (:math:`\\max(0, z)`) and the
sigmoid are not polynomials; approximating them by a polynomial of high
degree costs many levels (a larger :math:`N`, larger and slower ciphertexts).
:math:`z^2` is a degree-2 polynomial: exactly one multiplication, no
approximation.  The final sigmoid is left to the client, after decryption
(it is monotone: probability 0.5 is score 0).

The network and the two evaluation orders
-----------------------------------------
:class:`SquareMLP` computes, for a record :math:`x` (standardised by the
client, see below),

.. math::  s(x) = \\sum_j w_{2j} \\, z_j^2 + b_2, \\qquad z = x W_1 + b_1.

The textbook evaluation (``strategy="square"``) is matmul, square, dot with
:math:`w_2`: three multiplications in a row, three levels, hence
:data:`SQUARE_PARAMETERS` (:math:`N = 16384`).  The default
(``strategy="fold"``) rewrites the same sum as

.. math::  s(x) = \\sum_j z_j \\, u_j + b_2 = z \\cdot u + b_2,
           \\qquad u = x \\, (W_1 \\operatorname{diag} w_2) + b_1 \\odot w_2,

a dot product of two encrypted vectors, both computed from :math:`x` by a
plaintext matrix product (level 1, side by side), then one ciphertext product
(level 2) and a sum of slots (rotations, no level).  Depth 2 instead of 3:
:math:`N = 8192` suffices, so ciphertexts are half as large, the context
about 3.5 times smaller, and evaluation faster.  Both orders compute the same
polynomial; only the errors differ, and both stay far below
:data:`TOLERANCE`.

Standardisation stays on the client, and why
--------------------------------------------
:class:`SquareMLP` is trained on standardised inputs
:math:`(x - \\mu) / \\sigma`.  The first layer being linear, the scaler could
be merged into it (:math:`W_1' = W_1 / \\sigma`) and the client could encrypt
raw clinical values.  **It breaks CKKS**, and the reason is worth knowing:
TenSEAL's vector-matrix product leaves *junk* in the slots beyond the
``hidden`` it returns (each holds a sum of :math:`n` products of some
:math:`x_r` with some *other* feature's weight), and the decoding of a CKKS
ciphertext mixes all slots: if *any* slot, junk included, exceeds the range
(:math:`|v| < 2^{19}` at the last level), every slot decrypts to garbage.
With the scaler folded in (an earlier version of this module did so), a raw
breast-cancer area (up to 4254) meets a weight meant for a feature whose
standard deviation is 0.003: we measured 7 of 30 test patients decrypting
to scores off by up to :math:`7 \\cdot 10^7`, with no error raised.

So the client standardises (the server publishes the feature order, the
means and the standard deviations in :meth:`CKKSServer.public_spec`: the
training data's first two moments, a small disclosure), and the server
*guarantees* the range: from its weights it computes the largest
``input_bound`` :math:`B` such that, whenever every standardised input
satisfies :math:`|x| \\le B`, every slot of every intermediate ciphertext,
junk included, stays below a quarter of the range (worst case: each slot of
:math:`xW` is a sum of :math:`n` products :math:`|x_r| |W_{r'j}|`).
:meth:`CKKSClient.encrypt` refuses a record beyond it (a value dozens of
standard deviations from the training mean: a unit error, most likely) with
a :class:`~encmed_lib.errors.DomainError` naming the feature.

Who holds what
--------------
* **Client** (hospital, patient side): the full context *with the secret
  key* and the server's public spec (feature order, means, standard
  deviations, input bound); it standardises and encrypts the record
  (:meth:`CKKSClient.encrypt`), decrypts the score
  (:meth:`CKKSClient.decrypt_score`) and applies the sigmoid.
* **Server** (model owner): the weights, in clear, and the *public* context
  (:meth:`CKKSClient.public_context`: public, relinearisation and Galois keys,
  no secret key; :class:`CKKSServer` refuses a context that carries one).  It
  sees one ciphertext per patient and returns one ciphertext; it learns
  nothing about the values (semantic security under Ring-LWE).
* The client learns the score, as with any prediction service.  It should
  keep the decrypted value to itself: for CKKS, revealing exact decryptions
  of ciphertexts to the party that computed them can leak the secret key
  (Li and Micciancio, 2021).

:func:`evaluate_ckks` runs the whole round trip per patient and measures
agreement, time and bytes; :func:`compare_with_paillier` sets the costs side
by side with the course's Paillier layer.

TenSEAL is a dependency of the course, but it has no wheel for every
platform: this module imports without it (:data:`TENSEAL_AVAILABLE` is then
False, :class:`SquareMLP` still works) and :func:`require_tenseal` raises a
one-line :class:`ImportError` before anything that needs it.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import (
    DomainError,
    MalformedMessageError,
    MissingFeatureError,
    ModelNotFittedError,
    ProtocolError,
)
from .encoding import SCALE_BITS as PAILLIER_SCALE_BITS
from .encoding import _as_float
from .paillier import DEFAULT_KEY_BITS, generate_keypair, security_bits

try:  # TenSEAL has no wheel for some platforms: the rest of the course must not need it.
    import tenseal as ts
except ImportError as exc:  # pragma: no cover - exercised only where TenSEAL is missing
    ts = None
    TENSEAL_AVAILABLE = False
    _IMPORT_ERROR: ImportError | None = exc
else:
    TENSEAL_AVAILABLE = True
    _IMPORT_ERROR = None

__all__ = [
    "TENSEAL_AVAILABLE", "TENSEAL_MISSING_MESSAGE", "require_tenseal", "TOLERANCE",
    "RELATIVE_DRIFT", "CKKS_PARAMETERS", "SQUARE_PARAMETERS", "PARAMETERS", "MAX_BITS_128", "VALUE_BOUND",
    "ckks_security_bits", "SquareMLP", "CKKSClient", "CKKSServer", "evaluate_ckks",
    "compare_with_paillier",
]

TENSEAL_MISSING_MESSAGE = ("TenSEAL has no wheel for this platform; the CKKS part of notebook 07 is "
                           "skipped — the rest of the course is unaffected")
"""The one line a notebook prints where TenSEAL cannot be installed."""

TOLERANCE = 1e-3
"""Agreement promised between the encrypted and the plaintext score (a logit): ``|Δ| <= 1e-3``.

For scores up to about 500 in magnitude with the default parameters (50 with
:data:`SQUARE_PARAMETERS`): the error is mostly the relative drift of the
module docstring, about ``1e-6 * |score|`` (``1e-5`` for ``"square"``), plus
noise around ``1e-7``.  Real patients of the three samples score below 25 and
their errors stay below ``3e-5`` (``1e-4`` for ``"square"``): a wide margin,
and far below any score difference that matters for a prediction.
"""

RELATIVE_DRIFT = {"fold": 2e-6, "square": 2e-5}
"""Upper bounds (twice the measured values) of the relative error of each strategy, for tests."""

CKKS_PARAMETERS: dict = {"poly_modulus_degree": 8192, "coeff_mod_bit_sizes": (60, 40, 40, 60),
                         "scale_bits": 40}
"""Default parameters: 2 levels (``strategy="fold"``), 200 bits of modulus, 128-bit secure."""

SQUARE_PARAMETERS: dict = {"poly_modulus_degree": 16384, "coeff_mod_bit_sizes": (60, 40, 40, 40, 60),
                           "scale_bits": 40}
"""Parameters of the textbook order (``strategy="square"``): 3 levels need 240 bits, so N = 16384."""

PARAMETERS: dict[str, dict] = {"fold": CKKS_PARAMETERS, "square": SQUARE_PARAMETERS}
"""The parameters each server strategy is meant to run with."""

MAX_BITS_128: dict[int, int] = {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881}
"""Largest total modulus (bits) for 128-bit security, per ``N`` (HE standard; SEAL's ``tc128``)."""

VALUE_BOUND = 2.0 ** 20
"""Raw record values must satisfy ``|x| < VALUE_BOUND`` (as for Paillier's encoding)."""

RANGE_MARGIN = 4.0
"""The server keeps every slot below ``range / RANGE_MARGIN`` (see :meth:`CKKSServer.worst_case`)."""

STRATEGIES = ("fold", "square")
LEVELS = {"fold": 2, "square": 3}
"""Multiplicative depth (rescalings) each strategy consumes."""


def require_tenseal() -> None:
    """Raise a one-line :class:`ImportError` if TenSEAL cannot be imported on this platform."""
    if not TENSEAL_AVAILABLE:
        raise ImportError(TENSEAL_MISSING_MESSAGE) from _IMPORT_ERROR


def ckks_security_bits(poly_modulus_degree: int, coeff_mod_bit_sizes: Sequence[int]) -> int:
    """128 if the parameters are within the HE standard's 128-bit bound (:data:`MAX_BITS_128`), else 0."""
    bound = MAX_BITS_128.get(int(poly_modulus_degree), 0)
    return 128 if sum(coeff_mod_bit_sizes) <= bound else 0


def _sigmoid(s):
    """The logistic function, without overflow for large ``|s|``."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(s, dtype=float)))


# ---------------------------------------------------------------------------- the model
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
            d_score = (_sigmoid(score) - target) / n
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
        p = _sigmoid(self.decision_function(X))
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


# ---------------------------------------------------------------------------- the client
def _record_values(record, features: Sequence[str] | None) -> tuple[list[str], list[float]]:
    """``(names, values)`` of a record, in ``features`` order when given; every value checked."""
    if hasattr(record, "iloc") and getattr(record, "ndim", 1) == 2:
        if len(record) != 1:
            raise DomainError(f"expected one record, got a table of {len(record)} rows: "
                              "encrypt rows one at a time")
        record = record.iloc[0]
    if hasattr(record, "items") or isinstance(record, Mapping):
        items = {str(k): v for k, v in record.items()}
        names = list(features) if features is not None else list(items)
        for name in names:
            if name not in items:
                raise MissingFeatureError(f"the record lacks feature {name!r}, which the model needs "
                                          f"(the model's features: {names})")
        raw = [items[name] for name in names]
    else:
        raw = list(np.asarray(record, dtype=object).ravel())
        names = list(features) if features is not None else [f"x{i}" for i in range(len(raw))]
        if len(names) != len(raw):
            raise DomainError(f"the record has {len(raw)} values but {len(names)} features are expected")
    if not raw:
        raise DomainError("the record has no features")
    values = []
    for name, value in zip(names, raw, strict=True):
        x = _as_float(value, name)
        if not math.isfinite(x):
            raise DomainError(f"feature {name!r}: expected a finite number, got {x!r} "
                              "(impute or drop missing values before encrypting)")
        if not abs(x) < VALUE_BOUND:
            raise DomainError(f"feature {name!r}: {x!r} is outside the encryptable domain "
                              f"|x| < 2**20 = {VALUE_BOUND:.0f}")
        values.append(x)
    return names, values


def _check_parameters(poly_modulus_degree: int, coeff_mod_bit_sizes: Sequence[int], scale_bits: int) -> None:
    sizes = list(coeff_mod_bit_sizes)
    if len(sizes) < 3:
        raise ValueError(f"coeff_mod_bit_sizes needs a first prime, at least one rescaling prime and a "
                         f"special prime (3 sizes or more), got {sizes}")
    middle = sizes[1:-1]
    if any(b != scale_bits for b in middle):
        raise ValueError(f"the rescaling primes must have scale_bits = {scale_bits} bits each (rescaling "
                         f"divides by one of them and must bring the scale back to 2**{scale_bits}), "
                         f"got {middle}")
    if sizes[0] <= scale_bits + 1:
        raise ValueError(f"the first prime ({sizes[0]} bits) must exceed scale_bits + 1 = {scale_bits + 1}: "
                         "it holds the final result at scale 2**scale_bits")
    bound = MAX_BITS_128.get(int(poly_modulus_degree))
    if bound is not None and sum(sizes) > bound:
        raise ValueError(f"{sum(sizes)} bits of modulus are not 128-bit secure for poly_modulus_degree="
                         f"{poly_modulus_degree} (at most {bound} bits, HE standard): use fewer or "
                         "smaller primes, or a larger poly_modulus_degree (SEAL refuses these parameters)")


class CKKSClient:
    """The patient's side: the CKKS secret key, encryption of a record, decryption of a score.

    Parameters
    ----------
    poly_modulus_degree : int
        :math:`N`; ``N/2`` slots.  8192 by default.
    coeff_mod_bit_sizes : sequence of int
        Bit sizes of the primes: first, one per level (= ``scale_bits``), special.
        ``(60, 40, 40, 60)`` by default: 2 levels, 200 bits, 128-bit secure.
    scale_bits : int
        :math:`\\log_2 \\Delta`: values are encoded at scale ``2**scale_bits``.
    spec : mapping, optional
        The server's :meth:`CKKSServer.public_spec` (feature order, means,
        standard deviations, input bound), used by :meth:`encrypt`.

    Attributes
    ----------
    context : tenseal.Context
        The full context, with the secret key: it never leaves the client.
    setup_ms : float
        Time spent creating the context and generating the keys (Galois keys
        included).
    """

    def __init__(self, poly_modulus_degree: int = CKKS_PARAMETERS["poly_modulus_degree"],
                 coeff_mod_bit_sizes: Sequence[int] = CKKS_PARAMETERS["coeff_mod_bit_sizes"],
                 scale_bits: int = CKKS_PARAMETERS["scale_bits"], *, spec: Mapping | None = None):
        require_tenseal()
        _check_parameters(poly_modulus_degree, coeff_mod_bit_sizes, scale_bits)
        self.poly_modulus_degree = int(poly_modulus_degree)
        self.coeff_mod_bit_sizes = tuple(int(b) for b in coeff_mod_bit_sizes)
        self.scale_bits = int(scale_bits)
        self.spec = None if spec is None else dict(spec)
        start = time.perf_counter()
        self.context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=self.poly_modulus_degree,
                                  coeff_mod_bit_sizes=list(self.coeff_mod_bit_sizes))
        self.context.global_scale = 2.0 ** self.scale_bits
        self.context.generate_galois_keys()  # rotations: vector-matrix product and slot sums
        self.setup_ms = 1000 * (time.perf_counter() - start)
        self._public: bytes | None = None

    @classmethod
    def for_strategy(cls, strategy: str = "fold", **kwargs) -> CKKSClient:
        """A client with the parameters of :data:`PARAMETERS` ``[strategy]``."""
        if strategy not in PARAMETERS:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        return cls(**PARAMETERS[strategy], **kwargs)

    @property
    def levels(self) -> int:
        """Multiplicative depth available: the number of rescaling primes."""
        return len(self.coeff_mod_bit_sizes) - 2

    @property
    def modulus_bits(self) -> int:
        """Total size of the modulus, special prime included (what security depends on)."""
        return sum(self.coeff_mod_bit_sizes)

    @property
    def slots(self) -> int:
        return self.poly_modulus_degree // 2

    def public_context(self) -> bytes:
        """The context to send to the server: public, relinearisation and Galois keys, **no secret key**.

        Serialised once and cached (about 35 MB with the default parameters).
        """
        if self._public is None:
            self._public = self.context.serialize(save_public_key=True, save_secret_key=False,
                                                  save_galois_keys=True, save_relin_keys=True)
        return self._public

    def context_sizes(self) -> dict[str, int]:
        """Bytes of the serialised context, built up key by key.

        Returns
        -------
        dict
            ``public key``, ``+ relinearisation keys``, ``+ Galois keys`` (the
            full public context, as sent) and, for reference, ``secret key
            context`` (parameters, public and secret key: what must *never* be
            sent).
        """
        ctx = self.context
        return {
            "public key": len(ctx.serialize(save_secret_key=False, save_galois_keys=False,
                                            save_relin_keys=False)),
            "+ relinearisation keys": len(ctx.serialize(save_secret_key=False, save_galois_keys=False)),
            "+ Galois keys": len(self.public_context()),
            "secret key context": len(ctx.serialize(save_secret_key=True, save_galois_keys=False,
                                                    save_relin_keys=False)),
        }

    def encode(self, record, spec: Mapping | None = None) -> list[float]:
        """The values :meth:`encrypt` encrypts: the record in the spec's order, standardised.

        Raises
        ------
        MissingFeatureError
            A feature of the spec is absent from the record.
        DomainError
            A value is not a number, is NaN or infinite, ``|x| >= 2**20``, or
            lies more than ``spec["input_bound"]`` standard deviations from the
            training mean (the message names the feature).
        """
        spec = spec if spec is not None else self.spec
        if spec is None:  # values sent as they are (already standardised by the caller)
            return _record_values(record, None)[1]
        names, values = _record_values(record, spec.get("features"))
        mean = np.asarray(spec["mean"], dtype=float)
        scale = np.asarray(spec["scale"], dtype=float)
        if len(values) != len(mean):
            raise DomainError(f"the record has {len(values)} values, the model expects {len(mean)}")
        z = (np.asarray(values) - mean) / scale
        bound = float(spec["input_bound"])
        for name, x, zi in zip(names, values, z, strict=True):
            if not abs(zi) <= bound:
                raise DomainError(f"feature {name!r}: {x!r} is {zi:+.1f} standard deviations from the "
                                  f"training mean; the encrypted evaluation is guaranteed up to ±{bound:g} "
                                  "(a unit error?)")
        return z.tolist()

    def encrypt(self, record, spec: Mapping | None = None) -> bytes:
        """One CKKS ciphertext of the whole standardised record (one value per slot), serialised.

        Parameters
        ----------
        record : pandas.Series, dict, one-row DataFrame or sequence of numbers
            Raw clinical values.  Features the spec does not list are not sent.
        spec : mapping, optional
            :meth:`CKKSServer.public_spec`; default: the client's ``spec``.
            Without any spec the values are encrypted as they are, in the
            record's order.

        Raises
        ------
        MissingFeatureError, DomainError
            See :meth:`encode` (nothing is encrypted then).
        """
        values = self.encode(record, spec)
        if len(values) > self.slots:
            raise DomainError(f"a record of {len(values)} values does not fit in {self.slots} slots")
        return ts.ckks_vector(self.context, values).serialize()

    def decrypt_score(self, data: bytes) -> float:
        """Decrypt the server's reply: the (approximate) score, a logit."""
        try:
            vec = ts.ckks_vector_from(self.context, data)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MalformedMessageError(f"the reply is not a CKKS vector under this client's "
                                        f"context ({exc})") from exc
        values = vec.decrypt()
        if len(values) != 1:
            raise MalformedMessageError(f"the reply holds {len(values)} values, expected one score")
        return float(values[0])

    @staticmethod
    def predict_proba(score: float) -> float:
        """``sigmoid(score)``: the probability of the positive class."""
        return float(_sigmoid(score))

    def __repr__(self) -> str:
        return (f"<CKKSClient N={self.poly_modulus_degree}, primes {list(self.coeff_mod_bit_sizes)} "
                f"({self.modulus_bits} bits, {self.levels} levels), scale 2^{self.scale_bits}>")


# ---------------------------------------------------------------------------- the server
class CKKSServer:
    """The model owner: evaluates a :class:`SquareMLP` on a CKKS-encrypted record.

    Parameters
    ----------
    model : SquareMLP
        A fitted model; its weights stay in clear at the server.
    strategy : {"fold", "square"}
        ``"fold"`` (default, 2 levels): ``score = z · u + b2`` with
        ``z = x W1 + b1`` and ``u = x (W1 diag w2) + b1 * w2``.  ``"square"``
        (3 levels, needs :data:`SQUARE_PARAMETERS`): ``z``, then ``z²``, then
        the dot product with ``w2``.  See the module docstring.

    Attributes
    ----------
    input_bound : float
        The largest ``B`` such that standardised inputs with ``|x| <= B`` keep
        every slot of every intermediate ciphertext within range (published in
        :meth:`public_spec`; the client enforces it).

    The server holds no key: it receives the client's public context with
    each query (:meth:`evaluate`) and keeps the last one parsed, so that a
    client's successive queries do not pay for parsing 35 MB again.
    """

    def __init__(self, model: SquareMLP, strategy: str = "fold"):
        require_tenseal()
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        model._check_fitted()
        self.model = model
        self.strategy = strategy
        self.features = model.features
        self.n_features = int(model.n_features_in_)
        W1, w2 = (np.asarray(a, dtype=float) for a in model.coefs_)
        b1, b2 = np.asarray(model.intercepts_[0], dtype=float), float(model.intercepts_[1])
        self._arrays = {"W1": W1, "b1": b1, "w2": w2, "b2": b2, "W1w2": W1 * w2, "b1w2": b1 * w2}
        self._W1, self._b1, self._w2 = W1.tolist(), b1.tolist(), w2.tolist()
        self._W1w2, self._b1w2, self._b2 = (W1 * w2).tolist(), (b1 * w2).tolist(), b2
        params = PARAMETERS[strategy]
        self.range_limit = 2.0 ** (params["coeff_mod_bit_sizes"][0] - params["scale_bits"] - 1)
        self.input_bound = self._solve_input_bound()
        self._cached: tuple[bytes, object] | None = None

    # -- the range guarantee --------------------------------------------------------
    def worst_case(self, bound: float) -> float:
        """The largest magnitude any slot can reach when every input satisfies ``|x| <= bound``.

        Every slot of ``x W`` (junk slots included) is a sum of ``n`` products
        of an input with a weight, so ``|slot| <= n * bound * max|W| + max|b|``.
        ``"fold"``: the slot products ``z u`` and the slot sums of ``hidden`` of
        them (plus ``|b2|``); ``"square"``: ``z²·w2`` and its sums.  The
        largest of these at the last level is returned.
        """
        a, n = self._arrays, self.n_features
        h = len(a["b1"])
        z = n * bound * np.abs(a["W1"]).max() + np.abs(a["b1"]).max()
        if self.strategy == "fold":
            u = n * bound * np.abs(a["W1w2"]).max() + np.abs(a["b1w2"]).max()
            product = z * u
        else:
            product = z * z * np.abs(a["w2"]).max()
        return float(max(product, h * product + abs(a["b2"])))

    def _solve_input_bound(self) -> float:
        target = self.range_limit / RANGE_MARGIN
        if self.worst_case(0.0) > target:
            raise ValueError("the model's biases alone exceed the CKKS range: retrain with a larger l2")
        lo, hi = 0.0, VALUE_BOUND
        if self.worst_case(hi) <= target:
            return hi
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.worst_case(mid) <= target else (lo, mid)
        return math.floor(lo * 10) / 10  # one decimal, rounded down

    def public_spec(self) -> dict:
        """What the client needs (and may know): feature order, standardisation, input bound, parameters."""
        return {"features": self.features, "mean": self.model.mean_.tolist(),
                "scale": self.model.scale_.tolist(), "input_bound": self.input_bound,
                "strategy": self.strategy, "parameters": dict(PARAMETERS[self.strategy])}

    @property
    def required_levels(self) -> int:
        """Rescalings the strategy consumes (2 for ``"fold"``, 3 for ``"square"``)."""
        return LEVELS[self.strategy]

    # -- protocol ---------------------------------------------------------------------
    def load_context(self, public_context: bytes):
        """Parse and check a public context (cached: the same bytes are parsed once).

        Raises
        ------
        MalformedMessageError
            The bytes are not a TenSEAL context.
        ProtocolError
            The context carries a **secret key** (refused: the server must never
            receive one), lacks Galois or relinearisation keys, or does not
            have the strategy's levels and first prime.
        """
        if self._cached is not None and (public_context is self._cached[0]
                                         or public_context == self._cached[0]):
            return self._cached[1]
        if not isinstance(public_context, (bytes, bytearray)):
            raise MalformedMessageError("the public context must be bytes, got "
                                        f"{type(public_context).__name__}")
        try:
            ctx = ts.context_from(bytes(public_context))
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MalformedMessageError(f"the public context cannot be parsed ({exc})") from exc
        if ctx.has_secret_key() or not ctx.is_public():
            raise ProtocolError("refused: the context sent to the server carries the SECRET KEY, which "
                                "would let the server decrypt the patient's record; the client must send "
                                "CKKSClient.public_context() (serialize(save_secret_key=False))")
        if not ctx.has_galois_keys():
            raise ProtocolError("the public context has no Galois keys: the vector-matrix product and "
                                "the slot sum need rotations (call generate_galois_keys() before "
                                "serialising)")
        if not ctx.has_relin_keys():
            raise ProtocolError("the public context has no relinearisation keys (needed after a "
                                "ciphertext-by-ciphertext product)")
        data = ctx.seal_context().data
        levels = data.first_context_data().chain_index()
        first_bits = data.last_context_data().total_coeff_modulus_bit_count()
        params = PARAMETERS[self.strategy]
        if levels < self.required_levels or first_bits < params["coeff_mod_bit_sizes"][0] \
                or ctx.global_scale != 2.0 ** params["scale_bits"]:
            raise ProtocolError(f"strategy {self.strategy!r} needs {self.required_levels} levels, a first "
                                f"prime of {params['coeff_mod_bit_sizes'][0]} bits and scale "
                                f"2^{params['scale_bits']}; this context has {levels} levels, a "
                                f"{first_bits}-bit first prime and scale {ctx.global_scale:g}: use "
                                f"CKKSClient.for_strategy({self.strategy!r})")
        self._cached = (bytes(public_context), ctx)
        return ctx

    def evaluate(self, public_context: bytes, encrypted_record: bytes) -> bytes:
        """The encrypted score of an encrypted (standardised) record, serialised: one CKKS ciphertext.

        Raises
        ------
        MalformedMessageError
            The query is not a CKKS vector under this context's parameters, or
            does not hold one value per model feature.
        ProtocolError
            See :meth:`load_context`.
        """
        ctx = self.load_context(public_context)
        try:
            x = ts.ckks_vector_from(ctx, encrypted_record)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MalformedMessageError(f"the query is not a CKKS vector under this public context "
                                        f"(encrypted with other parameters?): {exc}") from exc
        if x.size() != self.n_features:
            raise MalformedMessageError(f"the encrypted record holds {x.size()} values, the model "
                                        f"expects {self.n_features} features"
                                        + (f" in the order {self.features}" if self.features else ""))
        if self.strategy == "fold":
            z = x.matmul(self._W1) + self._b1          # level 1
            u = x.matmul(self._W1w2) + self._b1w2      # level 1
            score = z.dot(u) + self._b2                # level 2: one ciphertext product, then rotations
        else:
            z = x.matmul(self._W1) + self._b1          # level 1
            h = z.square()                             # level 2
            score = h.dot(self._w2) + self._b2         # level 3
        return score.serialize()


# ---------------------------------------------------------------------------- measurements
RESULT_COLUMNS = ("plaintext_score", "encrypted_score", "abs_error", "plaintext_label", "encrypted_label",
                  "encrypt_ms", "evaluate_ms", "decrypt_ms", "context_bytes", "query_bytes", "reply_bytes")


def evaluate_ckks(model: SquareMLP, X: pd.DataFrame, client: CKKSClient | None = None, *,
                  server: CKKSServer | None = None, strategy: str = "fold") -> pd.DataFrame:
    """Run every row of ``X`` through the encrypted round trip and compare with the plaintext model.

    Parameters
    ----------
    model : SquareMLP
        A fitted model.
    X : pandas.DataFrame
        Raw records, one per row (the model's features; extra columns are not sent).
    client : CKKSClient, optional
        Default: a fresh client with :data:`PARAMETERS` ``[strategy]``.
    server : CKKSServer, optional
        Default: ``CKKSServer(model, strategy)``.
    strategy : {"fold", "square"}
        Used when ``server`` is not given.

    Returns
    -------
    pandas.DataFrame
        One row per patient (``X``'s index): ``plaintext_score`` (the float64
        model), ``encrypted_score`` (decrypted), ``abs_error``, the two labels
        (1 when the score is >= 0), the three phases in milliseconds (encrypt
        and decrypt include standardising and (de)serialising; evaluate
        includes parsing the query, not the one-off parsing of the context)
        and the bytes of the public context (sent once), the query and the
        reply.  ``attrs`` records the parameters, ``setup_ms`` (context and
        keys), ``context_load_ms`` (the server's one-off parsing),
        ``input_bound`` and :data:`TOLERANCE`.
    """
    require_tenseal()
    server = server if server is not None else CKKSServer(model, strategy)
    client = client if client is not None else CKKSClient.for_strategy(server.strategy)
    spec = server.public_spec()
    plain = model.decision_function(X)
    public = client.public_context()
    start = time.perf_counter()
    server.load_context(public)
    context_load_ms = 1000 * (time.perf_counter() - start)
    rows = []
    for (_, record), s in zip(X.iterrows(), plain, strict=True):
        t0 = time.perf_counter()
        query = client.encrypt(record, spec)
        t1 = time.perf_counter()
        reply = server.evaluate(public, query)
        t2 = time.perf_counter()
        enc = client.decrypt_score(reply)
        t3 = time.perf_counter()
        rows.append({"plaintext_score": float(s), "encrypted_score": enc, "abs_error": abs(enc - float(s)),
                     "plaintext_label": int(s >= 0), "encrypted_label": int(enc >= 0),
                     "encrypt_ms": 1000 * (t1 - t0), "evaluate_ms": 1000 * (t2 - t1),
                     "decrypt_ms": 1000 * (t3 - t2), "context_bytes": len(public),
                     "query_bytes": len(query), "reply_bytes": len(reply)})
    df = pd.DataFrame(rows, columns=list(RESULT_COLUMNS), index=X.index)
    df.attrs.update(poly_modulus_degree=client.poly_modulus_degree,
                    coeff_mod_bit_sizes=list(client.coeff_mod_bit_sizes), scale_bits=client.scale_bits,
                    strategy=server.strategy, setup_ms=client.setup_ms, context_load_ms=context_load_ms,
                    input_bound=server.input_bound, tolerance=TOLERANCE)
    return df


def _linear_model(X: pd.DataFrame, y, random_state: int = 0) -> tuple[np.ndarray, float]:
    """A standardised logistic regression fitted on ``(X, y)``, folded to raw inputs: ``(w, b)``."""
    from sklearn.linear_model import LogisticRegression

    A = np.asarray(X, dtype=float)
    mean, scale = A.mean(axis=0), A.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    lr = LogisticRegression(max_iter=1000, random_state=random_state).fit((A - mean) / scale, np.asarray(y))
    coef = lr.coef_.ravel()
    return coef / scale, float(lr.intercept_[0] - (mean / scale) @ coef)


def _median(values) -> float:
    return float(statistics.median(values))


def compare_with_paillier(model: SquareMLP, X_train: pd.DataFrame, y_train, X: pd.DataFrame, *,
                          rows: int = 5, key_bits: int = DEFAULT_KEY_BITS,
                          ckks_results: pd.DataFrame | None = None, client: CKKSClient | None = None,
                          paillier_keypair=None) -> pd.DataFrame:
    """CKKS and Paillier side by side, every number measured on this machine.

    Paillier cannot evaluate the square network (a ciphertext times a
    ciphertext); what it *can* evaluate on an encrypted record is a linear
    score, so its column runs the logistic-regression score
    :math:`x \\cdot w + b` (fitted here on ``(X_train, y_train)``,
    standardisation folded in: Paillier's exact integers modulo a 2048-bit
    :math:`n` have no junk slots and room to spare) with the course's
    Paillier layer: the client encrypts every feature
    (:class:`encmed_lib.Client`: fixed point at :math:`2^{40}`, CRT and DJN),
    the server computes :math:`E(b) \\prod_i E(x_i)^{w_i}` with weights rounded
    to :math:`2^{-40}` and re-randomises it, the client decrypts.

    Parameters
    ----------
    model : SquareMLP
        A fitted model (the CKKS column).
    X_train, y_train : pandas.DataFrame, array-like
        Training data, to fit the logistic regression (Paillier column).
    X : pandas.DataFrame
        Records: the first ``rows`` are measured on both sides.
    rows : int
        Patients timed on each side.
    key_bits : int
        Paillier modulus length (2048 by default; 1024 for quick tests).
    ckks_results : pandas.DataFrame, optional
        An :func:`evaluate_ckks` result to reuse (otherwise one is run on the
        first ``rows`` rows with ``client``).
    client : CKKSClient, optional
        Used to measure context sizes (and ``ckks_results`` when not given).
    paillier_keypair : Keypair, optional
        Reuse a key pair (then its generation time is not measured: NaN).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``aspect``, two columns ``"CKKS (TenSEAL)"`` and
        ``"Paillier (encmed_lib)"``; descriptive rows hold text, measured rows
        numbers (bytes as int, times as float ms).
    """
    require_tenseal()
    from ..protocol import Client as PaillierClient

    X_rows = X.iloc[:rows]
    # -- CKKS ------------------------------------------------------------------
    if client is None:
        given = {} if ckks_results is None else ckks_results.attrs
        client = CKKSClient(given.get("poly_modulus_degree", CKKS_PARAMETERS["poly_modulus_degree"]),
                            given.get("coeff_mod_bit_sizes", CKKS_PARAMETERS["coeff_mod_bit_sizes"]),
                            given.get("scale_bits", CKKS_PARAMETERS["scale_bits"]))
    if ckks_results is None:
        ckks_results = evaluate_ckks(model, X_rows, client)
    ck_params = ckks_results.attrs
    sizes = client.context_sizes()

    # -- Paillier: logistic-regression score on encrypted features -------------
    feats = list(X.columns)
    w, b = _linear_model(X_train[feats], y_train)
    plain_linear = np.asarray(X_rows, dtype=float) @ w + b
    keygen_ms = float("nan")
    if paillier_keypair is None:
        start = time.perf_counter()
        with warnings.catch_warnings():
            # a 1024-bit key is only ever asked for on purpose (quick tests): the warning is noise here
            warnings.simplefilter("ignore", UserWarning)
            paillier_keypair = generate_keypair(key_bits)
        keygen_ms = 1000 * (time.perf_counter() - start)
    pclient = PaillierClient(keypair=paillier_keypair)
    pk, sk = paillier_keypair.public_key, paillier_keypair.private_key
    weights = {f: round(wi * 2 ** PAILLIER_SCALE_BITS) for f, wi in zip(feats, w, strict=True)}
    bias = round(b * 2 ** (2 * PAILLIER_SCALE_BITS))
    enc_ms, eval_ms, dec_ms, errors, query_bytes = [], [], [], [], []
    for (_, record), expected in zip(X_rows.iterrows(), plain_linear, strict=True):
        t0 = time.perf_counter()
        query = pclient.encrypt(record)
        t1 = time.perf_counter()
        acc = pk.raw_encrypt(bias, pk.randomiser())  # E(b), then E(b) * prod E(x_i)^{w_i}
        for name, c in zip(query.features, query.ciphertexts, strict=True):
            acc = pk.add(acc, pk.mul_plain(c, weights[name]))
        reply = pk.rerandomise(acc)
        t2 = time.perf_counter()
        score = sk.decrypt_signed(reply) / 2 ** (2 * PAILLIER_SCALE_BITS)
        t3 = time.perf_counter()
        enc_ms.append(1000 * (t1 - t0))
        eval_ms.append(1000 * (t2 - t1))
        dec_ms.append(1000 * (t3 - t2))
        errors.append(abs(score - expected))
        query_bytes.append(len(query.ciphertexts) * pk.ciphertext_bytes)

    n_feat = len(feats)
    key_bytes = pk.n_bytes + (pk.ciphertext_bytes if pk.hs is not None else 0)
    levels = len(ck_params["coeff_mod_bit_sizes"]) - 2
    range_bits = ck_params["coeff_mod_bit_sizes"][0] - ck_params["scale_bits"] - 1
    ckks_col = {
        "arithmetic": f"approximate: fixed-point reals (scale 2^{ck_params['scale_bits']}), "
                      "every operation adds noise",
        "what the server can evaluate": f"+, x plaintext, x ciphertext: polynomials of depth <= {levels}",
        "model evaluated here": f"SquareMLP ({len(model.intercepts_[0])} hidden units, square activation)",
        "parameters": f"N = {ck_params['poly_modulus_degree']}, primes {ck_params['coeff_mod_bit_sizes']} "
                      f"bits, strategy {ck_params['strategy']!r}",
        "security (bits)": ckks_security_bits(ck_params["poly_modulus_degree"],
                                              ck_params["coeff_mod_bit_sizes"]),
        "range of values": f"every slot below 2^{range_bits} (junk slots too): standardised inputs "
                           f"|x| <= {ck_params['input_bound']:g}",
        "key generation (ms)": float(ck_params["setup_ms"]),
        "public key sent to the server (bytes)": int(sizes["public key"]),
        "public context with relin. + Galois keys (bytes)": int(sizes["+ Galois keys"]),
        "ciphertexts per query": 1,
        "query per patient (bytes)": int(ckks_results["query_bytes"].median()),
        "reply per patient (bytes)": int(ckks_results["reply_bytes"].median()),
        "encrypt (median ms)": float(ckks_results["encrypt_ms"].median()),
        "evaluate (median ms)": float(ckks_results["evaluate_ms"].median()),
        "decrypt (median ms)": float(ckks_results["decrypt_ms"].median()),
        "max |score error| vs float64": float(ckks_results["abs_error"].max()),
        "patients measured": len(ckks_results),
    }
    paillier_col = {
        "arithmetic": "exact: integers modulo n (error only from encoding reals at 2^-40)",
        "what the server can evaluate": "+, x plaintext: linear functions only",
        "model evaluated here": "logistic-regression score (linear)",
        "parameters": f"n of {pk.bits} bits" + (", DJN randomisers" if pk.hs is not None else ""),
        "security (bits)": security_bits(pk.bits),
        "range of values": f"|x| < 2^20 at 2^-40 resolution; results below n/2 = 2^{pk.bits - 1}",
        "key generation (ms)": keygen_ms,
        "public key sent to the server (bytes)": int(key_bytes),
        "public context with relin. + Galois keys (bytes)": "n/a (the key is the context)",
        "ciphertexts per query": n_feat,
        "query per patient (bytes)": int(_median(query_bytes)),
        "reply per patient (bytes)": int(pk.ciphertext_bytes),
        "encrypt (median ms)": _median(enc_ms),
        "evaluate (median ms)": _median(eval_ms),
        "decrypt (median ms)": _median(dec_ms),
        "max |score error| vs float64": float(max(errors)),
        "patients measured": len(errors),
    }
    table = pd.DataFrame({"CKKS (TenSEAL)": pd.Series(ckks_col, dtype=object),
                          "Paillier (encmed_lib)": pd.Series(paillier_col, dtype=object)})
    table.index.name = "aspect"
    return table
