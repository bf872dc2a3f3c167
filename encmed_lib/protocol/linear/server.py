"""The server: :class:`LinearServer` computes :math:`E(S) = \\prod_i E(X_i)^{W_i} (1 + Bn) \\rho^n`.

See *Why re-randomise* and *Output perturbation, honestly* in
:mod:`encmed_lib.protocol.linear`.
"""

from __future__ import annotations

import math
import secrets
import warnings
from collections.abc import Sequence

import gmpy2
import numpy as np

from ...crypto.encoding import VALUE_BITS
from ...crypto.paillier import MIN_KEY_BITS, PublicKey
from ...errors import DomainError, MalformedMessageError
from ..messages import Query
from ..server import ClientKeys, ciphertexts_by_feature
from ..wire import describe
from .fixed_point import (
    INPUT_FRAC_BITS,
    SCORE_FRAC_BITS,
    SCORE_TOLERANCE,
    X_BOUND,
    decode_score,
    encode_float64,
    encode_intercept,
    encode_weight,
    fixed_point_score,
    worst_case_score_error,
)
from .messages import MAX_NOISE_SCALE, OUTPUTS, LinearQuery, LinearReply, plain_value
from .model import linear_parameters

__all__ = ["NOISE_TERMS", "LinearServer"]

NOISE_TERMS = 12
"""The noise is a sum of 12 uniforms (Irwin-Hall): variance ``width**2``, support ``±6 width``."""

_PLAINTEXT_LIMIT = 1 << (MIN_KEY_BITS - 2)
"""``|S|`` must stay below this: ``n >= 2**1023`` for every accepted key, so ``|S| < n/2``."""


def _noise_scale(value) -> float:
    """``noise_scale`` as a float in ``(0, 2**20]``, compared before converting (``10**400`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise DomainError(f"noise_scale must be a number in (0, 2**{VALUE_BITS}], got {describe(value)}")
    if not (0 < value <= MAX_NOISE_SCALE):  # False for NaN; exact for huge ints
        raise DomainError(f"noise_scale must be in (0, 2**{VALUE_BITS}], got {describe(value)}")
    return float(value)


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
        What the reply reveals; see *Output perturbation, honestly* in
        :mod:`encmed_lib.protocol.linear` ("rounded" is a client-side policy, "noisy" a real
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
        self.classes = [plain_value(c) for c in classes]
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
        own uniform :math:`r^n` (see *Why re-randomise* in :mod:`encmed_lib.protocol.linear`).
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
            Not a linear query (e.g. a tree query, scaled by ``2**40``) or bad JSON.
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
            raise MalformedMessageError("this is a tree query (float32 x 2**40, Client.encrypt); "
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
