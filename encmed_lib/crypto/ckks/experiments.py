"""Measurements of CKKS: every patient of a table through the encrypted round trip.

:func:`evaluate_ckks` returns a DataFrame (agreement with the float64 model, time per phase, bytes);
the comparison with the course's Paillier layer, which needs the protocol floor, is
:func:`encmed_lib.protocol.ckks_comparison.compare_with_paillier`.
"""

from __future__ import annotations

import time

import pandas as pd

from .client import CKKSClient
from .estimator import SquareMLP
from .params import TOLERANCE, require_tenseal
from .server import CKKSServer

__all__ = ["RESULT_COLUMNS", "evaluate_ckks"]


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

