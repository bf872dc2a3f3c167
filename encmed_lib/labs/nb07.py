"""Exercises of notebook 07 (beyond trees): their checkers.

Each ``check_07_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..crypto.encoding import SCALE_BITS as TREE_SCALE_BITS
from .core import (
    Exercise,
    as_number,
    is_close,
    ok,
    record_dict,
)

_S07 = "07_beyond_trees.ipynb"


def _linear_coef(server_or_model) -> tuple[np.ndarray, float, list[str]]:
    from ..protocol.linear import LinearServer, linear_parameters

    if isinstance(server_or_model, LinearServer):
        return (np.asarray(server_or_model.coef, dtype=float), float(server_or_model.intercept),
                list(server_or_model.feature_names))
    coef, intercept, names, _ = linear_parameters(server_or_model)
    return coef, intercept, names or [f"x{i}" for i in range(coef.size)]


def _vector(value, ex: Exercise, expected: str) -> np.ndarray:
    """Read an answer as a 1-d float vector (list, array, Series)."""
    if value is None or isinstance(value, (str, numbers.Number)) or not hasattr(value, "__len__"):
        hint = ("give one weight per feature (an array of d numbers), not a single value"
                if isinstance(value, numbers.Number) else
                "no answer yet: assign an array of weights to the variable")
        raise ex.fail(expected, value, hint)
    try:
        vec = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ex.fail(expected, value, "the weights must be numbers") from None
    if not np.all(np.isfinite(vec)):
        raise ex.fail(expected, value, "some weights are not finite (NaN or infinity)")
    return vec


def _solve_theta(queries: np.ndarray, targets: np.ndarray, intercept: bool = True) -> np.ndarray:
    """Least squares of ``targets`` on ``[1, queries]`` (or on ``queries`` alone): ``(b, w...)``."""
    A = np.column_stack([np.ones(len(queries)), queries]) if intercept else queries
    theta = np.linalg.lstsq(A, targets, rcond=None)[0]
    return theta if intercept else np.concatenate([[0.0], theta])


def _extraction_mistakes(queries: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """The (b, w) of typical wrong attacks, each with its hint."""
    from scipy.special import expit

    p = expit(scores)
    return [
        (_solve_theta(queries, p), "the probability is not linear in x: take the logit log(p / (1 - p)) "
                                   "first, which is the score w·x + b"),
        (_solve_theta(queries, np.log(p)), "log(p) is not the score: the logit is log(p / (1 - p))"),
        (_solve_theta(queries, -scores), "the sign is reversed: the logit of p is log(p / (1 - p)), "
                                         "not log((1 - p) / p) (p is the probability of class 1)"),
        (_solve_theta(queries, scores, intercept=False),
         "the intercept is missing: put a column of ones beside the records, [1, x], so that the "
         "system has d + 1 unknowns (b, w)"),
    ]


def check_07_model_from_probabilities(coef, intercept, server, queries) -> str:
    """Exercise 07.3: the weights and intercept solved from ``d + 1`` returned probabilities.

    ``server`` is the :class:`~encmed_lib.protocol.linear.LinearServer` (or a
    model it accepts); ``queries`` the ``(d + 1) x d`` records the attacker
    sent.  Compared with the model's own ``(coef, intercept)``: a relative
    error below 1e-6 on the weights, ``1e-6 (1 + |b|)`` on the intercept.
    Wrong attacks (least squares on ``p``, on ``log p``, without the column of
    ones...) are recomputed from ``queries`` to name the mistake.
    """
    ex = Exercise("07.3 (a model from its probabilities)",
                  f'{_S07}, section "3 · What the score gives away: model extraction"')
    w, b, names = _linear_coef(server)
    d = w.size
    Q = np.asarray(queries, dtype=float).reshape(-1, d)
    expected = f"{d} weights on the raw features (an array) and the intercept (a number)"
    vec = _vector(coef, ex, expected)
    norm = float(np.linalg.norm(w))
    if vec.size == d + 1:
        raise ex.fail(expected, coef, f"{d + 1} numbers: the solution of the system is (b, w_1..w_{d}) when "
                      "the column of ones comes first; split off the intercept",
                      shown=f"an array of {d + 1} numbers")
    if vec.size != d:
        raise ex.fail(expected, coef, f"one weight per feature: {d} of them", shown=f"an array of {vec.size}")
    b_hat = as_number(intercept, ex, "the intercept, one number")
    error = float(np.linalg.norm(vec - w)) / norm
    if error <= 1e-6:
        if not is_close(b_hat, b, 1e-6 * (1 + abs(b))):
            raise ex.fail("the intercept, one number", intercept, "the weights are right; the intercept is "
                          "the coefficient of the column of ones")
        top = int(np.argmax(np.abs(w)))
        return ok(f"{d} weights and the intercept from {len(Q)} probabilities (relative error below 1e-6): "
                  f"returning p instead of the score protects nothing, logit(p) = w·x + b; the largest "
                  f"weight is {names[top]}'s ({w[top]:+.4g} per unit), the intercept {b:+.4f}")
    scores = Q @ w + b
    for theta, hint in _extraction_mistakes(Q, scores):
        if float(np.linalg.norm(vec - theta[1:])) <= 1e-6 * max(float(np.linalg.norm(theta[1:])), 1e-12):
            raise ex.fail(expected, None, hint, shown=f"weights off by {error:.1e} (relative)")
    raise ex.fail(expected, None, "score queries_ex with proba_oracle_ex, turn each p into the score "
                  "log(p / (1 - p)), and solve [1, x] θ = s for θ = (b, w) (np.linalg.solve)",
                  shown=f"weights off by {error:.1e} (relative)")


def _fixed_point_candidates(server, X: list[int]) -> list[tuple[int, str]]:
    """The plaintexts of typical wrong homomorphic evaluations, each with its hint."""
    from ..protocol.linear import INPUT_FRAC_BITS, encode_intercept, encode_weight

    W = [encode_weight(v) for v in server.coef]
    B = encode_intercept(server.intercept)
    dot = sum(Wi * Xi for Wi, Xi in zip(W, X, strict=True))
    W_tree = [round(float(v) * 2.0 ** TREE_SCALE_BITS) for v in server.coef]
    return [
        (dot, "the intercept is missing: multiply by (1 + B n) mod n^2, B = round(b · 2^128) "
              "(encode_intercept), which adds B to the hidden value"),
        (dot + round(float(server.intercept) * 2.0 ** INPUT_FRAC_BITS),
         "the intercept is at the score's scale, 2^128 (encode_intercept), not the inputs' 2^64"),
        (sum(abs(Wi) * Xi for Wi, Xi in zip(W, X, strict=True)) + B,
         "a negative weight needs the inverse: pow(c, W, n2) with W < 0 (Python inverts), or "
         "invert the product of the c^|W| of the negative weights"),
        (sum(Wi * Xi for Wi, Xi in zip(W_tree, X, strict=True)) + B,
         "the weights are at the inputs' scale 2^64 (encode_weight), not the tree protocol's 2^26"),
        (-(dot + B), "the sign is reversed: E(X)^W hides W·X; do not invert the whole product"),
    ]


def check_07_server_by_hand(ciphertext, client, server, record) -> str:
    """Exercise 07.2: ``E(S)`` computed by hand from the query's ciphertexts, ``S = Σ W_i X_i + B``.

    ``ciphertext`` is an integer modulo ``n^2`` under ``client``'s key; it is
    decrypted (the checker holds the client) and compared, exactly, with the
    fixed-point score of ``record``: the integers ``W_i = round(w_i 2^64)``,
    ``X_i = round(x_i 2^64)``, ``B = round(b 2^128)`` of the server.
    """
    from ..protocol.linear import (
        SCORE_FRAC_BITS,
        LinearServer,
        encode_float64,
        encode_intercept,
        encode_weight,
    )

    ex = Exercise("07.2 (the server's computation, by hand)", f'{_S07}, section "1 · Encrypted logistic '
                  'regression" (and notebook 03)')
    if not isinstance(server, LinearServer):
        server = LinearServer(server)
    expected = ("one ciphertext E(S): an integer modulo n^2 under the client's key, whose plaintext is the "
                "fixed-point score S = Σ W_i X_i + B")
    if isinstance(ciphertext, (float, np.floating)):
        raise ex.fail(expected, ciphertext, "a ciphertext is an integer: keep to Python ints and "
                      "pow(c, W, n2) (a float cannot hold 2048 bits)")
    if not isinstance(ciphertext, (numbers.Integral, np.integer)) or isinstance(ciphertext, bool):
        if hasattr(ciphertext, "ciphertext"):
            hint = "give the integer itself (the ciphertext), not a reply object"
        elif hasattr(ciphertext, "__len__"):
            hint = "one ciphertext for the whole score: multiply the c_i^W_i together (mod n^2)"
        else:
            hint = "no answer yet: assign the integer E(S) to the variable"
        raise ex.fail(expected, ciphertext, hint)
    c, key = int(ciphertext), client.public_key
    n2 = int(key.nsquare)
    if not 0 < c < n2:
        raise ex.fail(expected, None, "reduce modulo n^2 after every product: pow(c, W, n2) and (a * b) % n2",
                      shown=f"an integer of {c.bit_length()} bits, outside (0, n^2)")
    rec = record_dict(record)
    X = [encode_float64(rec[f], f) for f in server.feature_names]
    W = [encode_weight(v) for v in server.coef]
    right = sum(Wi * Xi for Wi, Xi in zip(W, X, strict=True)) + encode_intercept(server.intercept)
    got = client.private_key.decrypt_signed(c)
    if got == right:
        s = right / (1 << SCORE_FRAC_BITS)
        return ok(f"E(S) decrypts to S = Σ W_i X_i + B, a {abs(right).bit_length()}-bit integer; "
                  f"S / 2^128 = {s:+.6f} is the model's score for this patient, to the last bit: the server "
                  f"needs only {len(X)} modular powers and one product, and never decrypts")
    for candidate, hint in _fixed_point_candidates(server, X):
        if got == candidate:
            raise ex.fail(expected, None, hint, shown="a ciphertext of another number")
    raise ex.fail(expected, None, "E(X)^W = E(W X) and E(A) E(B) = E(A + B): multiply pow(c_i, W_i, n2) "
                  "over the features (query_ex.features gives their order), then multiply by "
                  "(1 + B n) mod n^2 for the intercept", shown="a ciphertext of another number")


def _rates(p: np.ndarray, sick: np.ndarray, threshold: float) -> tuple[float, float]:
    """(sensitivity, specificity) of the decision ``p >= threshold``."""
    flagged = p >= threshold
    return float(flagged[sick].mean()), float((~flagged[~sick]).mean())


def _clinic_mistakes(p: np.ndarray, scores: np.ndarray, sick: np.ndarray, threshold: float,
                     right: tuple[float, float]) -> list[tuple[tuple[float, float], str]]:
    """(sensitivity, specificity) of typical wrong answers, each with its hint."""
    n_sick, n_well = int(sick.sum()), int((~sick).sum())
    return [
        ((right[1], right[0]), "the two are swapped: sensitivity is the share of the sick patients "
                               "flagged, specificity the share of the others not flagged"),
        (_rates(p, sick, 0.5), f"that is the default threshold 0.5: flag the patients with "
                               f"p >= {threshold:g}"),
        (_rates(scores, sick, threshold), "the threshold is on the probability, not the score: "
                                          "p = 1 / (1 + exp(-score))"),
        ((1 - right[0], right[1]), "that is the share of the sick patients *missed*: sensitivity is the "
                                   "share flagged"),
        ((right[0], 1 - right[1]), "that is the false-positive rate: specificity is the share of the "
                                   "patients without disease that are *not* flagged"),
        ((right[0] * n_sick, right[1] * n_well), "these are counts: divide by the number of sick (and of "
                                                 "healthy) patients"),
        ((100 * right[0], 100 * right[1]), "these look like percentages: give fractions between 0 and 1"),
    ]


def check_07_clinic_threshold(sensitivity, specificity, server, X, y, threshold: float = 0.3) -> str:
    """Exercise 07.1: the sensitivity and specificity of the decision ``P(disease) >= threshold``.

    ``X``, ``y`` are the patients scored and their true labels (class 1 =
    disease); the probabilities are recomputed as ``sigmoid(server.plaintext_score(x))``,
    the same fixed-point integers as the encrypted replies.  Within 1e-9.
    """
    from scipy.special import expit

    from ..protocol.linear import LinearServer

    ex = Exercise("07.1 (a clinic's threshold)", f'{_S07}, sections "One patient, end to end" and '
                  '"The whole held-out set"')
    if not isinstance(server, LinearServer):
        server = LinearServer(server)
    rows = np.asarray(X[server.feature_names], dtype=float)
    scores = np.array([server.plaintext_score(x) for x in rows])
    sick = np.asarray(y) == 1
    p = expit(scores)
    right = _rates(p, sick, threshold)
    values = []
    for value, what in [(sensitivity, "sensitivity"), (specificity, "specificity")]:
        expected = (f"the {what} of the decision P(disease) >= {threshold:g} on these {len(rows)} patients, "
                    "a fraction between 0 and 1")
        values.append(as_number(value, ex, expected))
    expected = (f"the sensitivity and the specificity of the decision P(disease) >= {threshold:g} on these "
                f"{len(rows)} patients, two fractions between 0 and 1")
    got = tuple(values)
    if all(is_close(a, b, 1e-9) for a, b in zip(got, right, strict=True)):
        at_half = _rates(p, sick, 0.5)
        return ok(f"at P(disease) >= {threshold:g} the clinic flags {int((p >= threshold).sum())} of the "
                  f"{len(rows)} patients: sensitivity {right[0]:.3f}, specificity {right[1]:.3f} (at 0.5: "
                  f"{at_half[0]:.3f} and {at_half[1]:.3f}); the client decides alone, on its decrypted "
                  "score: the server never learns the probability nor the decision")
    mistakes = _clinic_mistakes(p, scores, sick, threshold, right)
    hints = [hint for candidate, hint in mistakes
             if all(is_close(a, b, 1e-9 * max(1.0, abs(b))) for a, b in zip(got, candidate, strict=True))]
    if hints:  # on few patients two mistakes can give the same rates: name both
        raise ex.fail(expected, None, "; or ".join(hints),
                      shown=f"sensitivity {got[0]:.4g}, specificity {got[1]:.4g}")
    raise ex.fail(expected, None, "score every patient with score_encrypted(client, server, row), take "
                  f"p = proba[1], flag p >= {threshold:g}, and compare with the labels: sensitivity = "
                  "flagged among the sick, specificity = not flagged among the others",
                  shown=f"sensitivity {got[0]:.4g}, specificity {got[1]:.4g}")


def check_07_query_ciphertexts(paillier, ckks, n_features: int = 13, poly_modulus_degree: int | None = None
                               ) -> str:
    """Exercise 07.4: ciphertexts in one query of ``n_features`` values, Paillier and CKKS.

    Paillier encrypts one number per ciphertext; CKKS one value per slot,
    ``poly_modulus_degree // 2`` slots (8192 by default: 4096 slots).
    """
    from ..crypto.ckks import CKKS_PARAMETERS

    ex = Exercise("07.4 (ciphertexts per query)", f'{_S07}, sections "CKKS in a few lines" and '
                  '"5 · CKKS and Paillier side by side"')
    N = int(poly_modulus_degree or CKKS_PARAMETERS["poly_modulus_degree"])
    slots = N // 2
    expected = f"two whole numbers: the ciphertexts of one {n_features}-feature query, Paillier then CKKS"
    p = as_number(paillier, ex, expected, integer=True)
    c = as_number(ckks, ex, expected, integer=True)
    right_p, right_c = n_features, -(-n_features // slots)
    shown = f"Paillier {p}, CKKS {c}"
    if p != right_p:
        if p == 1:
            hint = ("a Paillier ciphertext holds one number: the client encrypts each feature separately "
                    "(packing is for the server's replies, not the query)")
        elif p == n_features + 1:
            hint = "the intercept is the server's, in clear: the client encrypts only its features"
        else:
            hint = "the Paillier client encrypts one ciphertext per feature of the record"
        raise ex.fail(expected, None, hint, shown=shown)
    if c != right_c:
        if c == n_features:
            hint = (f"CKKS encrypts a whole vector: one value per slot, and N = {N} gives {slots} slots")
        else:
            hint = f"one CKKS ciphertext holds N/2 = {slots} values, one per slot"
        raise ex.fail(expected, None, hint, shown=shown)
    return ok(f"Paillier: {right_p} ciphertexts, one per feature; CKKS: {right_c} ciphertext holding all "
              f"{n_features} values in its {slots} slots (each CKKS ciphertext is far larger, though)")
