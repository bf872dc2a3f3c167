"""CKKS and Paillier side by side: an experiment that needs both the crypto and the protocol floors.

:func:`compare_with_paillier` measures, on this machine, what a CKKS-encrypted
neural network (:mod:`encmed_lib.crypto.ckks`) and the course's Paillier layer
(:class:`encmed_lib.Client`, a linear score) cost per patient.  It lives on the
protocol floor because the Paillier column runs the protocol's client; the CKKS
package itself imports nothing above the crypto floor.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np
import pandas as pd

from ..crypto.ckks import (
    CKKS_PARAMETERS,
    CKKSClient,
    SquareMLP,
    ckks_security_bits,
    evaluate_ckks,
    require_tenseal,
)
from ..crypto.paillier import DEFAULT_KEY_BITS, generate_keypair, security_bits
from .client import Client as PaillierClient
from .linear import INPUT_FRAC_BITS, SCORE_FRAC_BITS, VALUE_BITS, LinearServer, decrypt_score, encrypt_float64

__all__ = ["compare_with_paillier"]


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


def _timed_keypair(key_bits: int):
    """A fresh Paillier key pair and the milliseconds its generation took."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        # a 1024-bit key is only ever asked for on purpose (quick tests): the warning is noise here
        warnings.simplefilter("ignore", UserWarning)
        keypair = generate_keypair(key_bits)
    return keypair, 1000 * (time.perf_counter() - start)


def _paillier_linear_run(keypair, X_rows: pd.DataFrame, w: np.ndarray, b: float) -> dict[str, list]:
    """Encrypt, score and decrypt every row with the protocol of :mod:`.linear`; times, errors, bytes.

    The client encrypts ``round(x_i * 2**64)`` (:func:`~.linear.encrypt_float64`),
    the :class:`~.linear.LinearServer` computes
    :math:`E(B) \\prod_i E(X_i)^{W_i}` with ``W_i = round(w_i * 2**64)`` and
    ``B = round(b * 2**128)`` and re-randomises it, the client reads ``S / 2**128``.
    """
    feats = list(X_rows.columns)
    plain_linear = np.asarray(X_rows, dtype=float) @ w + b
    pclient = PaillierClient(keypair=keypair)
    server = LinearServer((w, b), feature_names=feats)
    run: dict[str, list] = {"encrypt": [], "evaluate": [], "decrypt": [], "errors": [], "query_bytes": []}
    for (_, record), expected in zip(X_rows.iterrows(), plain_linear, strict=True):
        t0 = time.perf_counter()
        query = encrypt_float64(pclient, record)
        t1 = time.perf_counter()
        reply = server.evaluate(query)
        t2 = time.perf_counter()
        score = decrypt_score(pclient, reply)
        t3 = time.perf_counter()
        run["encrypt"].append(1000 * (t1 - t0))
        run["evaluate"].append(1000 * (t2 - t1))
        run["decrypt"].append(1000 * (t3 - t2))
        run["errors"].append(abs(score - expected))
        run["query_bytes"].append(len(query.ciphertexts) * keypair.public_key.ciphertext_bytes)
    return run


def _ckks_column(model: SquareMLP, results: pd.DataFrame, sizes: dict[str, int]) -> dict:
    """The CKKS column of the table, from an :func:`evaluate_ckks` result and the context sizes."""
    ck = results.attrs
    levels = len(ck["coeff_mod_bit_sizes"]) - 2
    range_bits = ck["coeff_mod_bit_sizes"][0] - ck["scale_bits"] - 1
    return {
        "arithmetic": f"approximate: fixed-point reals (scale 2^{ck['scale_bits']}), "
                      "every operation adds noise",
        "what the server can evaluate": f"+, x plaintext, x ciphertext: polynomials of depth <= {levels}",
        "model evaluated here": f"SquareMLP ({len(model.intercepts_[0])} hidden units, square activation)",
        "parameters": f"N = {ck['poly_modulus_degree']}, primes {ck['coeff_mod_bit_sizes']} "
                      f"bits, strategy {ck['strategy']!r}",
        "security (bits)": ckks_security_bits(ck["poly_modulus_degree"], ck["coeff_mod_bit_sizes"]),
        "range of values": f"every slot below 2^{range_bits} (junk slots too): standardised inputs "
                           f"|x| <= {ck['input_bound']:g}",
        "key generation (ms)": float(ck["setup_ms"]),
        "public key sent to the server (bytes)": int(sizes["public key"]),
        "public context with relin. + Galois keys (bytes)": int(sizes["+ Galois keys"]),
        "ciphertexts per query": 1,
        "query per patient (bytes)": int(results["query_bytes"].median()),
        "reply per patient (bytes)": int(results["reply_bytes"].median()),
        "encrypt (median ms)": float(results["encrypt_ms"].median()),
        "evaluate (median ms)": float(results["evaluate_ms"].median()),
        "decrypt (median ms)": float(results["decrypt_ms"].median()),
        "max |score error| vs float64": float(results["abs_error"].max()),
        "patients measured": len(results),
    }


def _paillier_column(pk, run: dict[str, list], n_features: int, keygen_ms: float) -> dict:
    """The Paillier column of the table, from :func:`_paillier_linear_run`'s measurements."""
    key_bytes = pk.n_bytes + (pk.ciphertext_bytes if pk.hs is not None else 0)
    return {
        "arithmetic": f"exact: integers mod n (error only from encoding: x, w at 2^-{INPUT_FRAC_BITS}, "
                      f"score at 2^-{SCORE_FRAC_BITS})",
        "what the server can evaluate": "+, x plaintext: linear functions only",
        "model evaluated here": "logistic-regression score (linear)",
        "parameters": f"n of {pk.bits} bits" + (", DJN randomisers" if pk.hs is not None else ""),
        "security (bits)": security_bits(pk.bits),
        "range of values": f"|x| < 2^{VALUE_BITS} at 2^-{INPUT_FRAC_BITS} (exact if |x| >= 2^-12); "
                           f"scores below n/2 = 2^{pk.bits - 1}",
        "key generation (ms)": keygen_ms,
        "public key sent to the server (bytes)": int(key_bytes),
        "public context with relin. + Galois keys (bytes)": "n/a (the key is the context)",
        "ciphertexts per query": n_features,
        "query per patient (bytes)": int(_median(run["query_bytes"])),
        "reply per patient (bytes)": int(pk.ciphertext_bytes),
        "encrypt (median ms)": _median(run["encrypt"]),
        "evaluate (median ms)": _median(run["evaluate"]),
        "decrypt (median ms)": _median(run["decrypt"]),
        "max |score error| vs float64": float(max(run["errors"])),
        "patients measured": len(run["errors"]),
    }


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
    Paillier layer and the linear protocol of :mod:`encmed_lib.protocol.linear`
    (the one notebook 07's section 1 runs): the client encrypts every feature
    at :math:`2^{64}` (:func:`~encmed_lib.protocol.linear.encrypt_float64`,
    CRT and DJN), the server computes :math:`E(B) \\prod_i E(X_i)^{W_i}` with
    weights at :math:`2^{64}` and the intercept at :math:`2^{128}`
    (:class:`~encmed_lib.protocol.linear.LinearServer`) and re-randomises it,
    the client reads the score :math:`S / 2^{128}`.

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
        An :func:`~encmed_lib.crypto.ckks.evaluate_ckks` result to reuse
        (otherwise one is run on the first ``rows`` rows with ``client``).
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
    X_rows = X.iloc[:rows]
    if client is None:
        given = {} if ckks_results is None else ckks_results.attrs
        client = CKKSClient(given.get("poly_modulus_degree", CKKS_PARAMETERS["poly_modulus_degree"]),
                            given.get("coeff_mod_bit_sizes", CKKS_PARAMETERS["coeff_mod_bit_sizes"]),
                            given.get("scale_bits", CKKS_PARAMETERS["scale_bits"]))
    if ckks_results is None:
        ckks_results = evaluate_ckks(model, X_rows, client)
    ckks_col = _ckks_column(model, ckks_results, client.context_sizes())

    feats = list(X.columns)
    w, b = _linear_model(X_train[feats], y_train)
    keygen_ms = float("nan")
    if paillier_keypair is None:
        paillier_keypair, keygen_ms = _timed_keypair(key_bits)
    run = _paillier_linear_run(paillier_keypair, X_rows, w, b)
    paillier_col = _paillier_column(paillier_keypair.public_key, run, len(feats), keygen_ms)
    table = pd.DataFrame({"CKKS (TenSEAL)": pd.Series(ckks_col, dtype=object),
                          "Paillier (encmed_lib)": pd.Series(paillier_col, dtype=object)})
    table.index.name = "aspect"
    return table
