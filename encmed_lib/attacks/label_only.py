"""Every attack of the course, tried against label-only mode; each returns what it recovered.

A cheating client controls its own key, its records, its ciphertexts and its answers.  Against
basic mode one reply gives the thresholds away (:mod:`.sieve`, :mod:`.lattice`,
:mod:`.out_of_domain`); against label-only mode (:mod:`encmed_lib.protocol.label_only`):

* :func:`sieve_material`: the one-query sieve needs blinded differences ``r*d + s``; the client's
  whole view holds one zero-or-not bit per value and uniform classes, so there is nothing to sieve;
* :func:`non_bit_messages`: ciphertexts of 2, -1, 2^40 in place of bits, in the query or in the
  answers, with proofs made as if they were bits: refused, and the session survives;
* :func:`flipped_answers`: answers flipped at will (bits, proven): one label per query, no more;
* :func:`out_of_domain_codes`: every code all ones, beyond the grid: just another input;
* :func:`malformed_dgk_keys`: keys the server must refuse, refused before any exponentiation;
* :func:`replayed_messages`: a query id twice, answers twice, truncated answers, answers whose
  proofs were made for another query;
* :func:`view_distinguisher`: statistical tests on the client's whole view for two trees (or two
  records) of the same public sizes.

What remains is the label itself: :mod:`.path_finding` measures how many queries a label oracle
needs to find the decision boundaries.
"""

from __future__ import annotations

import gmpy2
import numpy as np
import pandas as pd

from ..crypto import dgk
from ..errors import EncmedError
from ..protocol.label_only import Answers, answer_comparisons, decrypt_label, encrypt_query
from ..protocol.label_only.messages import answer_context, query_context

__all__ = ["sieve_material", "non_bit_messages", "flipped_answers", "out_of_domain_codes",
           "malformed_dgk_keys", "replayed_messages", "view_distinguisher"]


def _outcome(action) -> str:
    try:
        action()
    except EncmedError as exc:
        return f"refused: {type(exc).__name__}"
    return "accepted"


def sieve_material(client, server, record) -> dict:
    """What the one-query sieve could use in one label-only exchange at ``record``.

    The sieve reads blinded differences ``v = r*d + s``.  Here the client decrypts, per value,
    only its class: 1 (zero) or an element of the order-``u`` subgroup.  Returns, measured on
    the exchange: values received, zero values, groups holding more than one zero (0 for an
    honest server: a group reveals one bit), distinct non-zero classes (all distinct: no
    value repeats, nothing to divide) and the label.
    """
    from ..protocol.label_only import predict_label_only

    view: list = []
    label = predict_label_only(client, server, record, view=view)
    groups = [v for v in view if isinstance(v, dict)]
    classes = [c for g in groups for c in g["classes"] if c != 1]
    return {"values received": sum(len(g["classes"]) for g in groups),
            "zero values": sum(g["zeros"] for g in groups),
            "groups with more than one zero": sum(g["zeros"] > 1 for g in groups),
            "non-zero values": len(classes), "distinct non-zero classes (low 32 bits)": len(set(classes)),
            "label": label}


def _forged(sk, value: int, context: bytes) -> tuple[int, list[str]]:
    """A ciphertext of ``value`` with a proof made as if it encrypted 1 (wrong witness)."""
    w = sk._unit()
    c = sk.public_key.encrypt(value, sk._pow(w, sk.u))
    return int(c), dgk.prove_bit(sk, c, 1, w, context).to_list()


def non_bit_messages(client, server, record, values=(2, -1, 1 << 40)) -> pd.DataFrame:
    """Non-bits in the query and in the answers; then the honest answers, to show the session lives.

    One row per (where, value): ``outcome`` (refused with which error, or accepted) and
    ``labels learned`` (0 when refused).
    """
    sk = client.dgk_keypair.private_key
    rows = []
    for value in values:
        query = encrypt_query(client, record, server.schema)
        c, proof = _forged(sk, value, query_context(query.query_id, query.features[0], 0))
        query.bits[0][0], query.proofs[0][0] = c, proof
        outcome = _outcome(lambda q=query: server.evaluate(q.to_json()))
        rows.append({"where": "query bit", "value": str(value), "outcome": outcome,
                     "labels learned": int(outcome == "accepted")})
    query = encrypt_query(client, record, server.schema)
    honest = answer_comparisons(client, server.evaluate(query))
    for value in values:
        c, proof = _forged(sk, value, answer_context(query.query_id, 0))
        cheat = Answers(honest.query_id, honest.key_id, honest.key_bits, answers=[c] + honest.answers[1:],
                        proofs=[proof] + honest.proofs[1:])
        outcome = _outcome(lambda a=cheat: server.finish(a.to_json()))
        rows.append({"where": "answer", "value": str(value), "outcome": outcome,
                     "labels learned": int(outcome == "accepted")})
    label = decrypt_label(client, server.finish(honest))
    rows.append({"where": "honest answers afterwards", "value": "bits", "outcome": f"label {label}",
                 "labels learned": 1})
    return pd.DataFrame(rows)


def flipped_answers(client, server, records, every: int = 2) -> pd.DataFrame:
    """Flip every ``every``-th answer (still proven bits): what the client gets per query."""
    sk = client.dgk_keypair.private_key
    rows = []
    for record in records:
        query = encrypt_query(client, record, server.schema)
        honest = answer_comparisons(client, server.evaluate(query))
        answers, proofs = list(honest.answers), list(honest.proofs)
        for k in range(0, len(answers), every):
            bit = int(not sk.is_zero(answers[k]))
            c, proof = dgk.encrypt_bit_with_proof(sk, 1 - bit, answer_context(query.query_id, k))
            answers[k], proofs[k] = int(c), proof.to_list()
        reply = server.finish(Answers(honest.query_id, honest.key_id, honest.key_bits, answers=answers,
                                      proofs=proofs))
        view: list = []
        label = decrypt_label(client, reply, view=view)
        rows.append({"flipped": len(range(0, len(answers), every)), "label": label,
                     "leaves carrying a class": sum(v is not None for v in view)})
    return pd.DataFrame(rows)


def out_of_domain_codes(client, server, record) -> dict:
    """Every feature code all ones (``2**bits - 1``, beyond the grid), each bit proven: the label."""
    sk = client.dgk_keypair.private_key
    query = encrypt_query(client, record, server.schema)
    for k, spec in enumerate(server.schema.features):
        for i in range(spec.bits):
            c, proof = dgk.encrypt_bit_with_proof(sk, 1, query_context(query.query_id, spec.name, i))
            query.bits[k][i], query.proofs[k][i] = int(c), proof.to_list()
    reply = server.finish(answer_comparisons(client, server.evaluate(query)))
    view: list = []
    label = decrypt_label(client, reply, view=view)
    return {"label": label, "leaves carrying a class": sum(v is not None for v in view)}


def malformed_dgk_keys(client, server, record) -> pd.DataFrame:
    """Malformed client keys in an otherwise valid query: refused, with no modular exponentiation."""
    good = client.dgk_keypair.public_key.to_dict()
    n, u = int(good["n"]), int(good["u"])
    composite_u = next(v for v in range(u + 2, u + 400, 2) if not gmpy2.is_prime(v))
    cases = {"u composite": {"u": composite_u}, "u of 17 bits": {"u": 65537}, "g = 1": {"g": 1},
             "n even": {"n": n + 1}, "n of 5000 bits": {"n": (1 << 5000) + 1},
             "n of 511 bits": {"n": (1 << 511) + 1}, "n not a number": {"n": "12ab"},
             "n of 100,000 digits": {"n": "9" * 100_000}}
    query = encrypt_query(client, record, server.schema)
    rows = []
    real = gmpy2.powmod
    for name, change in cases.items():
        calls = []
        query.public_key = {**good, **{k: str(v) for k, v in change.items()}}
        gmpy2.powmod = lambda *a, _c=calls: _c.append(1) or real(*a)
        try:
            outcome = _outcome(lambda q=query: server.evaluate(q.to_json()))
        finally:
            gmpy2.powmod = real
        rows.append({"key": name, "outcome": outcome, "exponentiations before refusal": len(calls)})
    return pd.DataFrame(rows)


def replayed_messages(client, server, record) -> pd.DataFrame:
    """Replays and truncations; then the honest exchange completes (``label`` row)."""
    first = encrypt_query(client, record, server.schema)
    comparisons = server.evaluate(first.to_json())
    rows = [{"message": "the same query id again", "outcome": _outcome(lambda: server.evaluate(first))}]
    answers = answer_comparisons(client, comparisons)
    rows.append({"message": "truncated answers",
                 "outcome": _outcome(lambda: server.finish(answers.to_json()[:-50]))})
    second = encrypt_query(client, record, server.schema)
    server.evaluate(second)
    moved = Answers(second.query_id, answers.key_id, answers.key_bits, answers=answers.answers,
                    proofs=answers.proofs)
    rows.append({"message": "answers proven for another query",
                 "outcome": _outcome(lambda: server.finish(moved))})
    label = decrypt_label(client, server.finish(answers))
    rows.append({"message": "the honest answers", "outcome": f"label {label}"})
    rows.append({"message": "the same answers again", "outcome": _outcome(lambda: server.finish(answers))})
    return pd.DataFrame(rows)


def _view_statistics(client, server, records) -> dict:
    from ..protocol.label_only import predict_label_only

    zeros, classes, positions = [], [], []
    for record in records:
        view: list = []
        predict_label_only(client, server, record, view=view)
        groups = [v for v in view if isinstance(v, dict)]
        leaves = [v for v in view if not isinstance(v, dict)]
        zeros += [g["zeros"] for g in groups]
        classes += [c for g in groups for c in g["classes"] if c != 1]
        positions.append(next(k for k, v in enumerate(leaves) if v is not None))
    return {"zeros": zeros, "classes": classes, "positions": positions}


def view_distinguisher(client, server_a, server_b, records_a, records_b) -> pd.DataFrame:
    """Can the client tell two servers (or two records) apart from its whole view? p-values.

    Runs every record of ``records_a`` through ``server_a`` and of ``records_b`` through
    ``server_b`` (servers of the same public sizes) and compares, with tests whose small p-value
    would mean "the views differ": the share bits (a chi-square test of the 2x2 table, and a
    binomial test that they are fair coins), the non-zero classes (two-sample Kolmogorov-Smirnov),
    and the position of the leaf carrying the label (chi-square against uniform).
    """
    from scipy import stats

    if server_a.public_sizes() != server_b.public_sizes():
        raise ValueError("compare servers of the same public sizes (the sizes are public)")
    a = _view_statistics(client, server_a, records_a)
    b = _view_statistics(client, server_b, records_b)
    za, zb = np.array(a["zeros"]), np.array(b["zeros"])
    table = [[int((za == 0).sum()), int((za == 1).sum())], [int((zb == 0).sum()), int((zb == 1).sum())]]
    leaves = server_a.public_sizes()["leaves"]
    rows = [
        {"statistic": "share bits, a vs b (chi-square)", "p_value": stats.chi2_contingency(table).pvalue},
        {"statistic": "share bits are fair coins (binomial)",
         "p_value": stats.binomtest(int(za.sum() + zb.sum()), len(za) + len(zb), 0.5).pvalue},
        {"statistic": "non-zero classes, a vs b (Kolmogorov-Smirnov)",
         "p_value": stats.ks_2samp(a["classes"], b["classes"]).pvalue},
        {"statistic": "position of the label's leaf is uniform (chi-square)",
         "p_value": stats.chisquare(np.bincount(a["positions"] + b["positions"], minlength=leaves)).pvalue},
    ]
    df = pd.DataFrame(rows)
    df.attrs.update(exchanges=len(records_a) + len(records_b))
    return df
