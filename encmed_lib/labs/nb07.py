"""Exercises of notebook 07 (beyond trees): their checkers.

Each ``check_07_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

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


def check_07_stolen_model(coef, intercept, server) -> str:
    """Exercise 07.1: the weights and intercept read off d + 1 chosen scores.

    Compared with the model's own ``(coef, intercept)`` (``server`` is the
    :class:`~encmed_lib.protocol.linear.LinearServer`, or a model it accepts):
    a relative error below 1e-9 on the weights, and ``1e-9 (1 + |b|)`` on the
    intercept.
    """
    ex = Exercise("07.1 (model extraction)",
                  f'{_S07}, section "3 · What the score gives away: model extraction"')
    w, b, names = _linear_coef(server)
    d = w.size
    expected = f"{d} weights on the raw features (an array) and the intercept (a number)"
    vec = _vector(coef, ex, expected)
    norm = float(np.linalg.norm(w))

    def near(a: np.ndarray, target: np.ndarray) -> bool:
        return a.shape == target.shape and float(np.linalg.norm(a - target)) <= 1e-9 * max(norm, 1e-12)

    if vec.size == d + 1:
        raise ex.fail(expected, coef, f"{d + 1} numbers: the first score (x = 0) is the intercept; the "
                      f"weights come from the {d} records e_i", shown=f"an array of {d + 1} numbers")
    if vec.size != d:
        raise ex.fail(expected, coef, f"one weight per feature: {d} of them",
                      shown=f"an array of {vec.size} numbers")
    b_hat = as_number(intercept, ex, "the intercept, one number")
    b_tol = 1e-9 * (1 + abs(b))
    if not near(vec, w):
        if near(vec - b, w):
            hint = "the score of e_i is w_i + b: subtract the intercept (the score of x = 0)"
        elif near(-vec, w):
            hint = "the sign is reversed: w_i = s(e_i) - s(0)"
        else:
            hint = ("score the all-zero record and the d unit records np.eye(d) with the oracle (one call "
                    "with a (d + 1) x d array); w_i = s(e_i) - s(0)")
        raise ex.fail(expected, None, hint, shown=f"weights off by {np.linalg.norm(vec - w) / norm:.1e} "
                      "(relative)")
    if not is_close(b_hat, b, b_tol):
        raise ex.fail("the intercept, one number", intercept, "the weights are right; the intercept is the "
                      "score of the all-zero record, s(0) = b")
    top = int(np.argmax(np.abs(w)))
    return ok(f"{d} weights and the intercept from d + 1 = {d + 1} scores, to float64 precision; the "
              f"largest weight is {names[top]}'s ({w[top]:+.4g} per unit), the intercept {b:+.4f}")


def check_07_encrypted_probability(probability, server, record) -> str:
    """Exercise 07.2: P(disease) of ``record`` from its encrypted score, within 1e-9.

    Recomputed as ``sigmoid(server.plaintext_score(x))`` (the same fixed-point
    integers as the encrypted reply).
    """
    from scipy.special import expit

    from ..protocol.linear import LinearServer

    ex = Exercise("07.2 (one encrypted score)", f'{_S07}, section "One patient, end to end"')
    expected = "the probability of heart disease (class 1) for this patient, a number between 0 and 1"
    if isinstance(probability, tuple) and len(probability) == 2:
        raise ex.fail(expected, probability, "score_encrypted returns (score, [1 - p, p]): keep the score "
                      "and apply the sigmoid, or take entry 1 of the probabilities")
    if hasattr(probability, "__len__") and not isinstance(probability, str):
        raise ex.fail(expected, probability, "these are the two class probabilities [1 - p, p]: give the "
                      "entry of class 1")
    value = as_number(probability, ex, expected)
    if not isinstance(server, LinearServer):
        server = LinearServer(server)
    rec = record_dict(record)
    x = [rec[f] for f in server.feature_names]
    score = server.plaintext_score(x)
    right = float(expit(score))
    if is_close(value, right, 1e-9):
        return ok(f"P(disease) = {right:.6f} for this patient (score {score:+.6f}): the encrypted score "
                  "gives the plaintext model's probability")
    if is_close(value, score, 1e-6):
        raise ex.fail(expected, probability, "that is the score (a logit): the probability is the sigmoid "
                      "1 / (1 + exp(-score))")
    if is_close(value, 1 - right, 1e-9):
        raise ex.fail(expected, probability, "that is the probability of class 0 (no disease): take p, "
                      "not 1 - p")
    if 1 < value <= 100 and is_close(value / 100, right, 1e-7):
        raise ex.fail(expected, probability, "this looks like a percentage: give a fraction between 0 and 1")
    raise ex.fail(expected, probability, "score the patient with score_encrypted(client, server, record_ex) "
                  "and apply the sigmoid to the score")


def check_07_query_ciphertexts(paillier, ckks, n_features: int = 13, poly_modulus_degree: int | None = None
                               ) -> str:
    """Exercise 07.3: ciphertexts in one query of ``n_features`` values, Paillier and CKKS.

    Paillier encrypts one number per ciphertext; CKKS one value per slot,
    ``poly_modulus_degree // 2`` slots (8192 by default: 4096 slots).
    """
    from ..crypto.ckks import CKKS_PARAMETERS

    ex = Exercise("07.3 (ciphertexts per query)", f'{_S07}, sections "CKKS in a few lines" and '
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
