"""Encrypted logistic-regression scoring, and what the score gives away.

A fitted binary :class:`~sklearn.linear_model.LogisticRegression` predicts

.. math::  s(x) = w \\cdot x + b, \\qquad p(x) = \\sigma(s) = \\frac{1}{1 + e^{-s}},
           \\qquad \\hat y = [\\,s > 0\\,]

and Paillier computes exactly the first step on ciphertexts: :math:`E(X)^W =
E(WX)` and :math:`E(A)E(B) = E(A + B)` (:mod:`encmed_lib.crypto.paillier`).

The protocol (one round)
========================

1. The client encodes **every** feature of the record as a fixed-point integer
   :math:`X_i` (below) and sends :math:`E(X_i)` in a :class:`LinearQuery`
   (:func:`encrypt_float64`): the Query of the tree protocol plus one field,
   ``scale_bits``, so that neither server can mistake the other's encoding.
2. The server, which knows the integer weights :math:`W_i` and intercept
   :math:`B`, computes without decrypting anything

   .. math::  E(S) = \\prod_i E(X_i)^{W_i} \\cdot (1 + B\\,n) \\cdot \\rho^{\\,n},
              \\qquad S = \\sum_i W_i X_i + B

   (negative :math:`W_i` use :math:`E(X_i)^{-1}`; :math:`\\rho` is a fresh
   random unit, see *Why re-randomise* below) and returns the one ciphertext
   in a :class:`LinearReply` (:meth:`LinearServer.evaluate`).
3. The client decrypts :math:`S`, divides by :math:`2^{128}` and applies the
   sigmoid (:func:`decrypt_score`, :func:`predict_proba_encrypted`).

Fixed point for float64 (not the tree's float32 encoding)
=========================================================

The tree protocol casts inputs to float32, as scikit-learn's trees do; a
logistic regression computes in float64, so here every scale is larger:

* input :math:`X = \\mathrm{round}(x \\cdot 2^{64})` (:data:`INPUT_FRAC_BITS`),
  for :math:`|x| < 2^{20}` (wider than the tree's :math:`2^{16}`).  A float64 of magnitude
  :math:`|x| \\in [2^k, 2^{k+1})` is a multiple of :math:`2^{k-52}`, so
  :math:`x \\cdot 2^{64}` is an integer, and the encoding **exact**, whenever
  :math:`|x| \\ge 2^{-12}` (and for 0); smaller inputs are rounded, with an
  error at most :math:`2^{-65} \\approx 2.7 \\cdot 10^{-20}`;
* weight :math:`W = \\mathrm{round}(w \\cdot 2^{64})` (:data:`WEIGHT_FRAC_BITS`),
  error :math:`|\\delta| \\le 2^{-65}`;
* intercept :math:`B = \\mathrm{round}(b \\cdot 2^{128})`, at the product's
  scale :data:`SCORE_FRAC_BITS`, error at most :math:`2^{-129}`.

:math:`S` is computed exactly (integers; the plaintext space is checked to hold
it) and decoded as :math:`\\hat s = S / 2^{128}`, a correctly rounded float64
division.  Writing :math:`W_i/2^{64} = w_i + \\delta_i` and
:math:`X_i/2^{64} = x_i + \\varepsilon_i`,
:math:`(w_i + \\delta_i)(x_i + \\varepsilon_i) - w_i x_i = w_i\\varepsilon_i +
x_i\\delta_i + \\delta_i\\varepsilon_i`, so (:func:`score_error_bound`)

.. math::  |\\hat s - s| \\le 2^{-65}\\sum_i (|w_i| + |x_i|) + d\\,2^{-130} + 2^{-129}
           + 2^{-53}\\,|s|.

For the course's data (:math:`\\sum_i |x_i| \\approx 10^3`) the first term is
about :math:`10^{-17}` and the last (float64's own rounding) dominates: the
encrypted score is as accurate as a float64 can be, better than scikit-learn's
own dot product.  Over the whole domain the bound is at most
:math:`d \\cdot 2^{-45} \\approx d \\cdot 3 \\cdot 10^{-14}` plus the relative
term (:func:`worst_case_score_error`, checked when a server is built).  As
:math:`|\\sigma'| \\le 1/4`, the probability moves by at most a quarter of
that: agreement with ``predict_proba`` within :math:`10^{-9}` is a wide
margin, and ``predict`` (:math:`s > 0`) agrees unless :math:`|s|` is below
about :math:`10^{-13}`, where float64 itself cannot decide the sign.

Cost: the client's work does not depend on the scale (:math:`E(X) = (1 + Xn)
\\rho`); the server raises each ciphertext to a ~64-bit power (cheap) and the
plaintext needs :math:`|S| < n/2`: about :math:`148 + \\log_2 d + \\log_2\\max|w|`
bits of the 1023 a 1024-bit key offers (checked: :class:`DomainError`).

Why re-randomise, and not with the client's :math:`h_s`
========================================================

Without a fresh factor the randomiser of :math:`E(S)` would be
:math:`\\prod_i \\rho_i^{W_i}`, made of the client's own randomisers: a client
who knows the factors of :math:`n` (it does) and chose its randomisers or its
primes (say :math:`p - 1` smooth) takes a discrete logarithm and reads every
:math:`W_i`: **the whole model from one query**.  Multiplying by
:math:`r^n` with :math:`r` uniform in :math:`\\mathbb{Z}_n^*` makes the
randomiser uniform, whatever the client did.  As in
:class:`~encmed_lib.protocol.server.TreeServer`, the server draws it itself
and never uses a DJN base from the client: the client would choose it
(:math:`h_s = 1` makes "re-randomising" a no-op) and, knowing the factors,
could also undo a short exponent.  So one full :math:`r^n` per reply: about
1 ms at 1024 bits and 10 ms at 2048, which :meth:`LinearServer.precompute`
draws before the patient arrives.  (A client who crafts a malformed modulus, with
:math:`\\gcd(n, \\varphi(n)) \\ne 1`, is outside this argument: a proof that
:math:`n` is well formed is out of the course's scope.)

What each protocol leaks (compare with the tree)
================================================

The server learns nothing about the values (semantic security): only the key
size and the feature names, as in the tree protocol.

The client learns far more than from a tree:

* **tree**: one sign per internal node (and the tree's shape and leaf labels);
  a curious client must *bisect*, a few dozen queries per threshold
  (:mod:`encmed_lib.attacks`);
* **linear, exact score**: :math:`\\hat s` is one linear equation in
  :math:`(w, b)`, exact to ~15 digits.  :math:`d + 1` records in general
  position recover :math:`w` and :math:`b` by solving a linear system; the
  chosen records :math:`x = 0` and :math:`x = e_i` even give the fixed-point
  integers :math:`B` and :math:`W_i` *exactly*.  Returning :math:`p` instead of
  :math:`s` changes nothing: :math:`s = \\log(p / (1 - p))`.  With the label
  alone (one bit per query) extraction needs a line search per direction.

:func:`extract_linear_model` and :func:`extraction_curve` measure it:
least squares on random records gives a relative error ~1e-15 from
:math:`d + 1` exact scores; a perturbed score slows it to
:math:`\\propto 1/\\sqrt{q}`.

Output perturbation, honestly
=============================

``LinearServer(output=...)`` offers three replies:

``"exact"``
    :math:`E(S)`.
``"noisy"`` (a real defence, enforced by the server)
    The server adds integer noise :math:`N` under encryption, :math:`E(S + N)`,
    before re-randomising; the client cannot remove it.  :math:`N` is a sum of
    12 uniform integers (Irwin-Hall, close to a Gaussian) of standard
    deviation ``noise_scale`` score units, drawn with :mod:`secrets` **at full
    fixed-point resolution**: noise made from a float (53 significant bits)
    would leave the low bits of :math:`S` untouched, and a client choosing
    tiny inputs could read :math:`W_i` from those bits.  It perturbs the
    patient's own probability too: that is the price.  It is not a
    differential-privacy mechanism (bounded noise, no privacy accounting).
``"rounded"`` (a policy, **not** a defence against a malicious client)
    Paillier cannot round: rounding is a comparison, which needs a
    comparison protocol (one more round, as in label-only mode).  The server
    returns :math:`E(S)` marked ``"rounded"`` and this library's
    :func:`decrypt_score` rounds to ``decimals``; a client that decrypts the
    ciphertext itself gets the exact score.  It exists to *measure* what a
    true rounding protocol would buy: in :func:`extraction_curve` the attacker
    sees rounded scores only.

What the curve does not show: the attacker also chooses the *size* of its
records.  Scaling a query by :math:`t` scales the signal, not the rounding or
the noise, so the error falls like :math:`1/t` (``input_scale`` in
:func:`extraction_curve`).  The server cannot refuse large inputs it cannot
see; bounding them needs range proofs from the client.
"""

from __future__ import annotations

import json
import math
import secrets
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gmpy2
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..crypto.encoding import SCALE_BITS, as_float
from ..crypto.paillier import MIN_KEY_BITS, PublicKey
from ..errors import (
    DomainError,
    KeyMismatchError,
    MalformedMessageError,
    ModelNotFittedError,
)
from .client import Client, record_items
from .messages import MAX_KEY_BITS, PROTOCOL, PROTOCOL_VERSION, Query, int_to_b64
from .schema import KEY_ID_PATTERN, check_classes, check_ints, check_query_id, present
from .server import ClientKeys, ciphertexts_by_feature
from .wire import b64_int, describe, int_field, list_field, number_field, parse_message, str_field
from .wire import field as _field

if TYPE_CHECKING:  # matplotlib is imported on use, by plot_extraction_curve
    from matplotlib.figure import Figure

__all__ = [
    "INPUT_FRAC_BITS", "WEIGHT_FRAC_BITS", "SCORE_FRAC_BITS", "OUTPUTS", "SCORE_TOLERANCE",
    "encode_float64", "encode_weight", "encode_intercept", "decode_score",
    "score_error_bound", "worst_case_score_error", "fold_standard_scaler", "linear_parameters",
    "LinearQuery", "LinearReply", "LinearServer",
    "encrypt_float64", "decrypt_score", "predict_proba_encrypted", "predict_encrypted",
    "score_encrypted",
    "plaintext_oracle", "encrypted_oracle", "extract_linear_model", "extraction_curve",
    "plot_extraction_curve",
]

VALUE_BITS = 20
"""Linear-mode inputs satisfy ``|x| < 2**VALUE_BITS`` (wider than the tree's ``2**16``: no slots to fit)."""

INPUT_FRAC_BITS = 64
"""Inputs are encoded as ``round(x * 2**64)``: exact for every float64 with ``|x| >= 2**-12``."""

WEIGHT_FRAC_BITS = 64
"""Weights are encoded as ``round(w * 2**64)`` (error at most ``2**-65``)."""

SCORE_FRAC_BITS = INPUT_FRAC_BITS + WEIGHT_FRAC_BITS
"""The score's scale: ``S = sum(W_i X_i) + B`` stands for ``S / 2**128``."""

X_BOUND = 1 << (VALUE_BITS + INPUT_FRAC_BITS)
"""Every encoded input satisfies ``|X| < X_BOUND`` (inputs satisfy ``|x| < 2**20``)."""

OUTPUTS = ("exact", "rounded", "noisy")
"""What a :class:`LinearServer` returns (see the module docstring)."""

SCORE_TOLERANCE = 1e-9
"""A server warns if its worst-case fixed-point score error could exceed this."""

NOISE_TERMS = 12
"""The noise is a sum of 12 uniforms (Irwin-Hall): variance ``width**2``, support ``±6 width``."""

MAX_NOISE_SCALE = 2 ** VALUE_BITS
"""The largest ``noise_scale`` (score units) a server accepts or a reply may claim."""

LINEAR_REPLY = "linear-reply"

_PLAINTEXT_LIMIT = 1 << (MIN_KEY_BITS - 2)
"""``|S|`` must stay below this: ``n >= 2**1023`` for every accepted key, so ``|S| < n/2``."""


# ------------------------------------------------------------------ fixed point
def encode_float64(value, name: str = "value") -> int:
    """Encode one input as ``round(float64(value) * 2**64)``.

    The multiplication by a power of two is exact, so the result is exactly
    ``x * 2**64`` whenever that is an integer (every float64 with
    ``|x| >= 2**-12``, and 0); otherwise it is rounded half to even, an error of
    at most ``2**-65`` in ``x``.

    Raises
    ------
    DomainError
        ``value`` is not a number, is NaN or infinite, or ``|x| >= 2**20``;
        the message names the feature.
    """
    x = as_float(value, name)
    if math.isnan(x) or math.isinf(x):
        raise DomainError(f"feature {name!r}: expected a finite number, got {x!r} "
                          "(impute or drop missing values before encrypting)")
    if not abs(x) < (1 << VALUE_BITS):
        raise DomainError(f"feature {name!r}: {x!r} is outside the encodable domain "
                          f"|x| < 2**{VALUE_BITS} = {1 << VALUE_BITS}")
    return round(x * 2.0 ** INPUT_FRAC_BITS)


def encode_weight(w: float) -> int:
    """``round(w * 2**64)``: a weight at the input's scale (error at most ``2**-65``)."""
    return round(float(w) * 2.0 ** WEIGHT_FRAC_BITS)


def encode_intercept(b: float) -> int:
    """``round(b * 2**128)``: the intercept at the score's scale (error at most ``2**-129``)."""
    return round(float(b) * 2.0 ** SCORE_FRAC_BITS)


def decode_score(S: int) -> float:
    """``S / 2**128``: Python divides two integers with one correct rounding."""
    return int(S) / (1 << SCORE_FRAC_BITS)


def fixed_point_score(weights: Sequence[int], inputs: Sequence[int], intercept: int) -> int:
    """``sum(W_i X_i) + B`` on integers: the plaintext the server computes under encryption."""
    return sum(W * X for W, X in zip(weights, inputs, strict=True)) + intercept


def score_error_bound(coef, intercept: float, x) -> float:
    """Bound on ``|decode_score(S) - (w·x + b)|`` for one record (module docstring).

    ``2**-65 Σ(|w_i| + |x_i|) + d 2**-130 + 2**-129`` for the fixed point, plus
    float64's rounding of the quotient, bounded with ``|s| <= Σ|w_i x_i| + |b|``.
    """
    w = np.asarray(coef, dtype=float).ravel()
    x = np.asarray(x, dtype=float).ravel()
    d = w.size
    fixed = 2.0 ** -65 * float(np.sum(np.abs(w)) + np.sum(np.abs(x))) + d * 2.0 ** -130 + 2.0 ** -129
    magnitude = float(np.sum(np.abs(w * x))) + abs(float(intercept))
    return fixed + 2.0 ** -52 * (magnitude + fixed)


def worst_case_score_error(coef) -> float:
    """The fixed-point part of :func:`score_error_bound` over the whole domain ``|x_i| < 2**20``."""
    w = np.asarray(coef, dtype=float).ravel()
    d = w.size
    return 2.0 ** -65 * (float(np.sum(np.abs(w))) + d * 2.0 ** VALUE_BITS) + d * 2.0 ** -130 + 2.0 ** -129


# ------------------------------------------------------------------ the model
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


def _noise_scale(value) -> float:
    """``noise_scale`` as a float in ``(0, 2**20]``, compared before converting (``10**400`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise DomainError(f"noise_scale must be a number in (0, 2**{VALUE_BITS}], got {describe(value)}")
    if not (0 < value <= MAX_NOISE_SCALE):  # False for NaN; exact for huge ints
        raise DomainError(f"noise_scale must be in (0, 2**{VALUE_BITS}], got {describe(value)}")
    return float(value)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# ------------------------------------------------------------------ messages
@dataclass
class LinearQuery(Query):
    """A :class:`Query` whose ciphertexts encrypt ``round(x * 2**64)`` (float64 fixed point).

    Its JSON is the tree query's plus ``"scale_bits": 64``: a :class:`LinearServer`
    refuses a query without it (a tree query, scaled by ``2**26``), which would
    otherwise give silently wrong scores.
    """

    scale_bits: int = INPUT_FRAC_BITS

    def to_dict(self) -> dict:
        data = super().to_dict()
        data["scale_bits"] = self.scale_bits
        return data

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> LinearQuery:
        """Parse a query and check its encoding; raises :class:`MalformedMessageError`."""
        return cls.from_data(parse_message(text, kind="query"))

    @classmethod
    def _scale(cls, data: dict) -> dict:
        """``scale_bits`` is required and must be :data:`INPUT_FRAC_BITS` (64)."""
        if "scale_bits" not in data:
            raise MalformedMessageError(
                "this query has no 'scale_bits' field: it was encoded for the tree protocol "
                "(floor(float32 x 2**26), Client.encrypt); encrypt the record with "
                "encmed_lib.protocol.linear.encrypt_float64 for a LinearServer")
        scale = int_field(data, "scale_bits", kind="query")
        if scale != INPUT_FRAC_BITS:
            hint = (" (a tree query, Client.encrypt: encrypt the record with "
                    "encmed_lib.protocol.linear.encrypt_float64 instead)" if scale == SCALE_BITS else "")
            raise MalformedMessageError(f"the query's inputs are scaled by 2**{describe(scale)}{hint}; a "
                                        "LinearServer needs float64 inputs as "
                                        f"round(x * 2**{INPUT_FRAC_BITS})")
        return {"scale_bits": scale}


@dataclass
class LinearReply:
    """The server's answer: one ciphertext :math:`E(S)`, with :math:`s = S / 2^{\\text{scale\\_bits}}`.

    JSON fields: ``protocol``, ``version``, ``type`` (``"linear-reply"``),
    ``query_id``, ``key_id``, ``key_bits``, ``scale_bits`` (128), ``classes``
    (the two labels, for :func:`predict_encrypted`), ``output`` (``"exact"``,
    ``"rounded"`` with ``decimals``, or ``"noisy"`` with ``noise_scale``) and
    ``ciphertext`` (base64 of ``2·key_bits/8`` big-endian bytes).
    """

    query_id: str
    key_id: str
    key_bits: int
    ciphertext: int
    classes: list
    scale_bits: int = SCORE_FRAC_BITS
    output: str = "exact"
    decimals: int | None = None
    noise_scale: float | None = None

    def to_dict(self) -> dict:
        data = {"protocol": PROTOCOL, "version": PROTOCOL_VERSION, "type": LINEAR_REPLY,
                "query_id": self.query_id, "key_id": self.key_id, "key_bits": self.key_bits,
                "scale_bits": self.scale_bits, "classes": [_plain(c) for c in self.classes],
                "output": self.output,
                "ciphertext": int_to_b64(self.ciphertext, (2 * self.key_bits + 7) // 8)}
        if self.output == "rounded":
            data["decimals"] = self.decimals
        if self.output == "noisy":
            data["noise_scale"] = self.noise_scale
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes | dict) -> LinearReply:
        """Parse a reply; raises :class:`MalformedMessageError` / :class:`ProtocolVersionError`."""
        kind = LINEAR_REPLY
        data = parse_message(text, kind=kind)
        key_bits = int_field(data, "key_bits", kind=kind, min=MIN_KEY_BITS, max=MAX_KEY_BITS)
        output = str_field(data, "output", kind=kind, choices=OUTPUTS)
        reply = cls(query_id=present(data, "query_id", kind), key_id=present(data, "key_id", kind),
                    key_bits=key_bits,
                    ciphertext=b64_int(_field(data, "ciphertext", str, kind=kind), (2 * key_bits + 7) // 8,
                                       what=f"the {kind} ciphertext"),
                    classes=present(data, "classes", kind), scale_bits=present(data, "scale_bits", kind),
                    output=output, decimals=present(data, "decimals", kind) if output == "rounded" else None,
                    noise_scale=present(data, "noise_scale", kind) if output == "noisy" else None)
        reply.validate()
        if reply.noise_scale is not None:
            reply.noise_scale = float(reply.noise_scale)
        return reply

    def validate(self) -> None:
        """Check every field of a parsed reply, or of one built in Python (:class:`MalformedMessageError`)."""
        kind, fields = LINEAR_REPLY, vars(self)
        check_query_id(self.query_id, kind)
        str_field(fields, "key_id", kind=kind, max_len=64, pattern=KEY_ID_PATTERN)
        key_bits = int_field(fields, "key_bits", kind=kind, min=MIN_KEY_BITS, max=MAX_KEY_BITS)
        check_ints([self.ciphertext], kind, "ciphertext", 2 * key_bits)
        check_classes(list_field(fields, "classes", kind=kind, min_len=2, max_len=2), kind)
        int_field(fields, "scale_bits", kind=kind, min=0, max=4096)
        output = str_field(fields, "output", kind=kind, choices=OUTPUTS)
        if output == "rounded":
            int_field(fields, "decimals", kind=kind, min=0, max=15)
        if output == "noisy":
            noise = number_field(fields, "noise_scale", kind=kind, min=0, max=MAX_NOISE_SCALE)
            if noise <= 0:
                raise MalformedMessageError(f"the {kind}'s 'noise_scale' field must be positive, "
                                            f"got {noise!r}")

    def __len__(self) -> int:
        return len(self.to_json())


# ------------------------------------------------------------------ the server
class LinearServer:
    """Score a binary logistic regression on a client's encrypted record.

    Parameters
    ----------
    model : LogisticRegression, Pipeline or (coef, intercept)
        A fitted binary logistic regression, a fitted
        ``[StandardScaler, LogisticRegression]`` pipeline (the scaler is folded
        into the weights: :func:`fold_standard_scaler`) or a pair of arrays.
    feature_names : sequence of str, optional
        The query's feature names, in ``coef`` order.  Defaults to the model's
        ``feature_names_in_`` (a model fitted on a DataFrame), else
        ``x0, x1, ...``.
    output : {"exact", "rounded", "noisy"}
        What the reply reveals; see *Output perturbation, honestly* in the
        module docstring ("rounded" is a client-side policy, "noisy" a real
        server-side defence that also perturbs the patient's probability).
    decimals : int
        For ``"rounded"``: score decimals kept by :func:`decrypt_score`.
    noise_scale : float
        For ``"noisy"``: standard deviation of the added noise, in score units.

    Raises
    ------
    ModelNotFittedError
        The model is not fitted.
    ValueError
        A multiclass model, non-finite weights, names that do not match, or a
        bad ``output`` parameter.
    DomainError
        The weights are so large that the score could overflow the plaintext
        space of a 1024-bit key.

    Examples
    --------
    >>> model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)  # doctest: +SKIP
    >>> server = LinearServer(model)  # the scaler is folded: raw features  # doctest: +SKIP
    >>> score, proba = score_encrypted(client, server, X.iloc[0])  # doctest: +SKIP
    """

    def __init__(self, model, feature_names: Sequence[str] | None = None, *,
                 output: str = "exact", decimals: int = 2, noise_scale: float = 0.1):
        coef, intercept, names, classes = linear_parameters(model)
        if not (np.all(np.isfinite(coef)) and math.isfinite(intercept)):
            raise ValueError("the model's weights and intercept must be finite")
        if feature_names is not None:
            feature_names = [str(f) for f in feature_names]
            if names is not None and feature_names != names:
                raise ValueError(f"feature_names {feature_names} disagree with the model's {names}")
            names = feature_names
        if names is None:
            names = [f"x{i}" for i in range(coef.size)]
        if len(names) != coef.size or len(set(names)) != len(names):
            raise ValueError(f"need {coef.size} distinct feature names, got {names}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if isinstance(decimals, bool) or not isinstance(decimals, int | np.integer) \
                or not 0 <= decimals <= 15:
            raise ValueError(f"decimals must be an integer in [0, 15], got {decimals!r}")
        noise_scale = _noise_scale(noise_scale)
        self.coef, self.intercept = coef, intercept
        self.feature_names = names
        self.classes = [_plain(c) for c in classes]
        self.output, self.decimals, self.noise_scale = output, int(decimals), noise_scale
        self._noise_width = max(1, round(noise_scale * 2.0 ** SCORE_FRAC_BITS))
        noise_max = NOISE_TERMS // 2 * self._noise_width if output == "noisy" else 0
        try:
            self._W = [encode_weight(w) for w in coef]
            self._B = encode_intercept(intercept)
            largest = sum(abs(W) for W in self._W) * X_BOUND + abs(self._B) + noise_max
        except OverflowError:  # w * 2**64 is infinite: far too large anyway
            largest = 1 << 2048
        if largest >= _PLAINTEXT_LIMIT:
            raise DomainError(
                f"the score could reach 2**{largest.bit_length()} x 2**-{SCORE_FRAC_BITS}, beyond the "
                f"plaintext space of a {MIN_KEY_BITS}-bit key (|S| < 2**{MIN_KEY_BITS - 2}); the "
                f"largest weight is {np.max(np.abs(coef)):.3g} and the intercept {intercept:.3g}: "
                "regularise the model")
        self.max_score_error = worst_case_score_error(coef)
        if self.max_score_error > SCORE_TOLERANCE:
            warnings.warn(f"with {coef.size} features the fixed-point score error may reach "
                          f"{self.max_score_error:.2g} for inputs near 2**{VALUE_BITS}", UserWarning,
                          stacklevel=2)
        self.client_keys = ClientKeys()

    @property
    def n_features(self) -> int:
        return self.coef.size

    @property
    def required_features(self) -> list[str]:
        """Features with a non-zero weight: a query must carry each of them."""
        return [f for f, W in zip(self.feature_names, self._W, strict=True) if W != 0]

    def plaintext_score(self, x) -> float:
        """The score an ``"exact"`` reply decrypts to, computed in the clear (same integers)."""
        X = [encode_float64(v, f) for v, f in zip(np.asarray(x, dtype=float).ravel(),
                                                  self.feature_names, strict=True)]
        return decode_score(fixed_point_score(self._W, X, self._B))

    def _public_key(self, query: Query | dict | str | int) -> PublicKey:
        """The client's modulus, checked and cached with the server's own randomiser pool.

        Only ``n`` is taken from the client: the server re-randomises with its
        own uniform :math:`r^n` (see *Why re-randomise* in the module docstring).
        """
        return self.client_keys.key(query)

    def precompute(self, public_key, count: int) -> None:
        """Draw ``count`` re-randomisers (one per reply) for a client's key ahead of time.

        ``public_key`` is a :class:`~.messages.Query`, a ``{"n": ...}`` dict or the modulus.
        """
        self.client_keys.precompute(public_key, count)

    def _noise(self) -> int:
        """Irwin-Hall integer noise, mean 0, standard deviation ~``noise_scale * 2**128``."""
        width = self._noise_width
        return sum(secrets.randbelow(width) for _ in range(NOISE_TERMS)) - NOISE_TERMS // 2 * (width - 1)

    def evaluate(self, query: Query | str | bytes | dict) -> LinearReply:
        """Compute ``E(S)`` for one :class:`LinearQuery` (or its JSON).

        Raises
        ------
        MalformedMessageError
            Not a linear query (e.g. a tree query, scaled by ``2**26``) or bad JSON.
        MissingFeatureError
            The query lacks a feature with a non-zero weight.
        KeyTooSmallError, CiphertextRangeError
            A key under 1024 bits, or a ciphertext not in :math:`\\mathbb{Z}_{n^2}^*`.
        """
        if isinstance(query, LinearQuery):
            query.validate()
            if query.scale_bits != INPUT_FRAC_BITS:
                raise MalformedMessageError(f"the query's inputs are scaled by "
                                            f"2**{describe(query.scale_bits)}, not 2**{INPUT_FRAC_BITS}")
        elif isinstance(query, Query):
            raise MalformedMessageError("this is a tree query (floor(float32 x 2**26), Client.encrypt); "
                                        "a LinearServer needs encrypt_float64(client, record)")
        else:
            query = LinearQuery.from_json(query)
        key = self.client_keys.lookup(query)  # cached only once every check has passed
        given = ciphertexts_by_feature(query, self.required_features)
        for f in self.required_features:
            key.check_ciphertext(given[f], f"the ciphertext of feature {f!r}")
        key = self.client_keys.remember(key)
        n2 = key.nsquare
        positive, negative = gmpy2.mpz(1), gmpy2.mpz(1)
        for f, W in zip(self.feature_names, self._W, strict=True):
            if W == 0:
                continue
            c = given[f]
            if W > 0:
                positive = positive * gmpy2.powmod(c, W, n2) % n2
            else:
                negative = negative * gmpy2.powmod(c, -W, n2) % n2
        c = positive * gmpy2.invert(negative, n2) % n2  # one inversion for all negative weights
        offset = self._B + (self._noise() if self.output == "noisy" else 0)
        rho = self.client_keys.pool(key).take()  # the server's own r^n, r uniform
        c = key.rerandomise(key.add_plain(c, offset), rho)
        return LinearReply(query_id=query.query_id, key_id=key.key_id, key_bits=key.bits,
                           ciphertext=int(c), classes=list(self.classes), output=self.output,
                           decimals=self.decimals if self.output == "rounded" else None,
                           noise_scale=self.noise_scale if self.output == "noisy" else None)


# ------------------------------------------------------------------ the client
def encrypt_float64(client: Client, record, *, query_id: str | None = None) -> LinearQuery:
    """Encode every feature of ``record`` as ``round(x * 2**64)`` and encrypt it.

    Uses the client's keys and randomiser pool, and registers the query id so
    that :meth:`Client.check_ids` accepts the reply.

    Raises
    ------
    DomainError
        A value is missing, not a number, infinite or ``|x| >= 2**20``, or a
        feature name repeats (nothing is encrypted then).
    """
    items = record_items(record)
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise DomainError(f"the record names some features twice: {names}")
    encoded = [encode_float64(value, name) for name, value in items]  # validate all first
    if query_id is not None:
        check_query_id(query_id)
    pk = client.public_key
    cts = [int(pk.raw_encrypt(X, client.pool.take())) for X in encoded]
    query_id = query_id or secrets.token_hex(16)
    client._issued.add(query_id)
    key = client.public_key_message() if hasattr(client, "public_key_message") else {"n": str(int(pk.n))}
    return LinearQuery(query_id, key, names, cts)


def _check_reply(client: Client, reply: LinearReply | str | bytes | dict) -> LinearReply:
    if isinstance(reply, LinearReply):
        reply.validate()
    else:
        reply = LinearReply.from_json(reply)
    client.check_ids(reply.query_id, reply.key_id)
    if reply.key_bits != client.key_bits:
        raise KeyMismatchError(f"the reply claims a {reply.key_bits}-bit key; this client's has "
                               f"{client.key_bits} bits")
    if reply.scale_bits != SCORE_FRAC_BITS:
        raise MalformedMessageError(f"the reply's score is scaled by 2**{reply.scale_bits}; this "
                                    f"library expects 2**{SCORE_FRAC_BITS}")
    client.public_key.check_ciphertext(reply.ciphertext, "the reply's ciphertext")
    return reply


def _score(client: Client, reply: LinearReply) -> float:
    s = decode_score(client.private_key.decrypt_signed(reply.ciphertext))
    if reply.output == "rounded":
        s = round(s, reply.decimals)  # the policy: see the module docstring
    return s


def decrypt_score(client: Client, reply: LinearReply | str | bytes | dict) -> float:
    """Decrypt the score ``s = S / 2**128`` (rounded when the reply says ``"rounded"``).

    Raises
    ------
    KeyMismatchError, QueryMismatchError
        The reply is for another key, or answers a query this client did not send.
    MalformedMessageError, CiphertextRangeError
        A malformed reply or ciphertext.
    """
    return _score(client, _check_reply(client, reply))


def _proba(score: float) -> np.ndarray:
    p = expit(np.float64(score))
    return np.array([1.0 - p, p])  # as scikit-learn: [1 - p, p]


def predict_proba_encrypted(client: Client, reply: LinearReply | str | bytes | dict) -> np.ndarray:
    """``[1 - p, p]`` with ``p = expit(s)``, as ``predict_proba`` returns one row."""
    return _proba(decrypt_score(client, reply))


def predict_encrypted(client: Client, reply: LinearReply | str | bytes | dict):
    """The predicted label: ``classes[1]`` if ``s > 0`` else ``classes[0]`` (scikit-learn's rule)."""
    reply = _check_reply(client, reply)
    label = reply.classes[1] if _score(client, reply) > 0 else reply.classes[0]
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    return label


def score_encrypted(client: Client, server: LinearServer, record) -> tuple[float, np.ndarray]:
    """One patient end to end, through the JSON wire format: ``(score, [1 - p, p])``."""
    query = encrypt_float64(client, record)
    reply = server.evaluate(query.to_json())
    score = decrypt_score(client, reply.to_json())
    return score, _proba(score)


# ------------------------------------------------------------------ model extraction
Oracle = Callable[[np.ndarray], np.ndarray]
"""The server as an attacker sees it: records of shape ``(q, d)`` -> ``q`` returned scores."""


def _parse_defence(spec: str) -> dict:
    """``"exact"``, ``"rounded-<decimals>"`` or ``"noisy-<std>"`` -> LinearServer keywords."""
    kind, _, param = str(spec).partition("-")
    try:
        if kind == "exact" and not param:
            return {"output": "exact"}
        if kind == "rounded":
            return {"output": "rounded", "decimals": int(param)}
        if kind == "noisy":
            return {"output": "noisy", "noise_scale": float(param)}
    except ValueError:
        pass
    raise ValueError(f"a defence is 'exact', 'rounded-<decimals>' or 'noisy-<std>', got {spec!r}")


def plaintext_oracle(coef, intercept: float, output: str = "exact", *, decimals: int = 2,
                     noise_scale: float = 0.1, rng: np.random.Generator | None = None) -> Oracle:
    """The scores a :class:`LinearServer` would return, computed in the clear (fast).

    ``w·x + b`` in float64 (within :func:`score_error_bound` of the encrypted
    score), then the defence: ``round(s, decimals)`` as :func:`decrypt_score`,
    or Irwin-Hall noise of standard deviation ``noise_scale`` drawn from
    ``rng`` (seeded: statistical randomness is enough to *measure* the defence).
    """
    w = np.asarray(coef, dtype=float).ravel()
    b = float(intercept)
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    rng = np.random.default_rng() if rng is None else rng

    def oracle(X: np.ndarray) -> np.ndarray:
        s = np.asarray(X, dtype=float) @ w + b
        if output == "rounded":
            s = np.array([round(float(v), decimals) for v in s])
        elif output == "noisy":
            s = s + (rng.random((s.size, NOISE_TERMS)).sum(axis=1) - NOISE_TERMS / 2) * noise_scale
        return s

    return oracle


def encrypted_oracle(client: Client, server: LinearServer) -> Oracle:
    """Score each record through the real protocol (JSON both ways): slow, for checks."""
    names = server.feature_names

    def oracle(X: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(np.asarray(X, dtype=float))
        return np.array([score_encrypted(client, server, dict(zip(names, row, strict=True)))[0]
                         for row in rows])

    return oracle


def extract_linear_model(oracle: Oracle, n_features: int, n_queries: int, rng: np.random.Generator,
                         *, center=None, spread=None, input_scale: float = 1.0
                         ) -> tuple[np.ndarray, float]:
    """Estimate ``(w, b)`` from ``n_queries`` random records and the returned scores.

    The attacker draws ``z`` standard normal and queries ``x = center +
    input_scale · spread · z`` (``center`` 0 and ``spread`` 1 by default; a
    public sample's mean and standard deviation give realistic records).  As
    ``s = Σ w_i x_i + b = Σ (w_i input_scale spread_i) z_i + (b + w·center)``,
    least squares of the scores on ``[z, 1]`` (well conditioned) gives the
    coefficients, mapped back to ``(w, b)``.  Exact scores: ``d + 1`` queries
    suffice; rounded or noisy ones: the error falls like ``1/sqrt(q)``.
    """
    d, q = int(n_features), int(n_queries)
    if q < d + 1:
        raise ValueError(f"{q} queries cannot determine {d} weights and an intercept: "
                         f"use at least d + 1 = {d + 1}")
    center = np.zeros(d) if center is None else np.asarray(center, dtype=float).ravel()
    spread = np.ones(d) if spread is None else np.asarray(spread, dtype=float).ravel()
    spread = input_scale * np.where(spread > 0, spread, 1.0)
    z = rng.standard_normal((q, d))
    scores = np.asarray(oracle(center + spread * z), dtype=float).ravel()
    design = np.hstack([z, np.ones((q, 1))])
    solution, *_ = np.linalg.lstsq(design, scores, rcond=None)
    w_hat = solution[:d] / spread
    return w_hat, float(solution[d] - w_hat @ center)


def extraction_curve(server_model, X_public, query_counts: Iterable[int],
                     defences: Sequence[str] = ("exact", "rounded-2", "noisy-0.1"), seed: int = 0,
                     encrypted: bool = False, client: Client | None = None, *, repeats: int = 3,
                     input_scale: float = 1.0) -> pd.DataFrame:
    """How fast least squares recovers the model, per number of queries and defence.

    Parameters
    ----------
    server_model : LinearServer, LogisticRegression, Pipeline or (coef, intercept)
        The model under attack (only the scoring helpers read its weights).
    X_public : DataFrame or array of shape (m, d)
        Public records: their mean and standard deviation shape the queries.
    query_counts : iterable of int
        Numbers of queries, each at least ``d + 1``.
    defences : sequence of str
        ``"exact"``, ``"rounded-<decimals>"``, ``"noisy-<std>"``.
    seed : int
        Seeds the attacker's records (the same for every defence) and the
        plaintext oracle's noise.
    encrypted : bool
        Run the real protocol with ``client`` (slow: keep counts small) instead
        of the plaintext oracle; the noise is then the server's own.
    repeats : int
        Independent attacks per point; the medians are reported.
    input_scale : float
        Multiplies the records' spread (large values defeat rounding and noise).

    Returns
    -------
    pandas.DataFrame
        Columns ``queries``, ``defence``, ``rel_error`` (median
        :math:`\\|\\hat w - w\\| / \\|w\\|`) and ``intercept_error`` (median
        :math:`|\\hat b - b|`); ``attrs["n_features"]`` is ``d``.
    """
    if isinstance(server_model, LinearServer):
        coef, intercept, names = server_model.coef, server_model.intercept, server_model.feature_names
    else:
        coef, intercept, names, _ = linear_parameters(server_model)
        names = names or [f"x{i}" for i in range(coef.size)]
    d = coef.size
    if isinstance(X_public, pd.DataFrame):
        absent = [f for f in names if f not in X_public.columns]
        if absent:
            raise ValueError(f"X_public lacks the model's feature(s) {absent}")
        public = X_public[names].to_numpy(dtype=float)
    else:
        public = np.asarray(X_public, dtype=float)
    if public.ndim != 2 or public.shape[1] != d:
        raise ValueError(f"X_public must have {d} columns, got shape {public.shape}")
    center, spread = public.mean(axis=0), public.std(axis=0)
    counts = [int(q) for q in query_counts]
    if any(q < d + 1 for q in counts):
        raise ValueError(f"every query count must be at least d + 1 = {d + 1}, got {counts}")
    if encrypted and client is None:
        raise ValueError("encrypted=True needs a client (encmed_lib.Client)")
    norm = float(np.linalg.norm(coef))
    rows = []
    for k, spec in enumerate(defences):
        options = _parse_defence(spec)
        if encrypted:
            server = LinearServer((coef, intercept), names, **options)
        for q in counts:
            errors, b_errors = [], []
            for r in range(repeats):
                if encrypted:
                    oracle = encrypted_oracle(client, server)
                else:
                    oracle = plaintext_oracle(coef, intercept, rng=np.random.default_rng([seed, q, r, k, 1]),
                                              **options)
                w_hat, b_hat = extract_linear_model(oracle, d, q, np.random.default_rng([seed, q, r]),
                                                    center=center, spread=spread,
                                                    input_scale=input_scale)
                errors.append(float(np.linalg.norm(w_hat - coef)) / norm)
                b_errors.append(abs(b_hat - intercept))
            rows.append({"queries": q, "defence": str(spec), "rel_error": float(np.median(errors)),
                         "intercept_error": float(np.median(b_errors))})
    df = pd.DataFrame(rows, columns=["queries", "defence", "rel_error", "intercept_error"])
    df.attrs.update(n_features=d, input_scale=input_scale, encrypted=encrypted, repeats=repeats)
    return df


def plot_extraction_curve(df: pd.DataFrame, n_features: int | None = None, *,
                          title: str = "A score is a linear equation: model extraction") -> Figure:
    """Relative error of the extracted weights against the number of queries (log-log).

    One line per defence, a dashed vertical line at ``d + 1`` queries (enough
    for exact scores) and a dotted guide of slope ``-1/2``.  ``n_features``
    defaults to ``df.attrs["n_features"]``.
    """
    from matplotlib.figure import Figure

    d = n_features if n_features is not None else df.attrs.get("n_features")
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    markers = "osD^v<>"
    for k, (spec, part) in enumerate(df.groupby("defence", sort=False)):
        part = part.sort_values("queries")
        ax.plot(part["queries"], part["rel_error"].clip(lower=1e-17), marker=markers[k % len(markers)],
                label=str(spec))
    perturbed = df[df["defence"] != "exact"]
    counts = np.sort(df["queries"].unique())
    if not perturbed.empty and counts.size > 2:  # a guide through the top curve's last point, above it
        q_last = counts[-1]
        e_last = 2 * perturbed.loc[perturbed["queries"] == q_last, "rel_error"].max()
        q = np.array([counts[1], q_last], dtype=float)
        ax.plot(q, e_last * np.sqrt(q_last / q), ":", color="0.5", label=r"$\propto 1/\sqrt{q}$")
    if d is not None:
        ax.axvline(d + 1, color="black", linestyle="--", linewidth=1, label=f"d + 1 = {d + 1} queries")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("queries (random records)")
    ax.set_ylabel(r"relative error $\|\hat w - w\| / \|w\|$")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="major")
    ax.legend()
    return fig
