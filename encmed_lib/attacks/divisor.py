"""Multiplicative blinding, ``v = r d``: the divisor attack over the public candidates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..crypto.encoding import encode_threshold
from ..protocol.client import Client, record_items
from ..protocol.messages import Reply
from .common import R_BOUND, Candidate, encoded_record, true_thresholds


def off_grid_record(record, rng: np.random.Generator | int | None = None) -> dict[str, float]:
    """A record the attacker *chooses* for :func:`divisor_attack`: every value moved off the grid.

    Each value ``x`` becomes ``x + u`` with ``u`` uniform in ``(0.05, 0.95)``
    (a different ``u`` per feature).  ``floor(float32(x + u) 2^26)`` then has
    random low bits, so every candidate's :math:`d = T - X` has a large,
    essentially random odd part, and a wrong candidate divides
    :math:`v = r\\,d_{true}` only by a rare accident.  With natural records
    (whole numbers) all the :math:`d` are small multiples of :math:`2^{25}`
    and many wrong candidates divide :math:`v`.  Nothing forces the client to
    send a real patient: it owns its queries.

    Parameters
    ----------
    record : pandas.Series or dict
        Any record (feature -> value).
    rng : numpy Generator, int or None
        Randomness (a seed for a reproducible record).
    """
    rng = np.random.default_rng(rng)
    return {name: float(value) + float(rng.uniform(0.05, 0.95))
            for name, value in record_items(record)}


def divisor_attack(client: Client, record, reply: Reply,
                   candidates: Mapping[str, Iterable[float]]) -> list[list[Candidate]]:
    """Test public candidate thresholds against one reply of multiplicative blinding.

    With ``blinding="multiplicative"`` the client decrypts :math:`v_j = r_j d_j`
    with :math:`1 \\le r_j < 2^{21}`: the size of :math:`d_j` is hidden, but
    not its divisors.  It does not know which feature node :math:`j` compares,
    so it tries every public candidate :math:`(f, t)`: with
    :math:`d = \\lfloor t\\,2^{26} \\rfloor - X_f` (its own encoded value), the
    candidate is *consistent* with :math:`v_j` when

    * :math:`d \\ne 0` divides :math:`v_j`, and
    * the blind it implies, :math:`r = v_j / d`, is possible:
      :math:`1 \\le r < 2^{21}` (so :math:`d` has the sign of :math:`v_j`).

    :math:`v_j = 0` happens exactly when :math:`d_j = 0` (the record sits
    exactly on the encoded threshold): then the consistent candidates are
    those with :math:`d = 0`.

    The true candidate always passes.  A false one passes only if its
    :math:`d` happens to divide :math:`r_j d_j` with a quotient below
    :math:`2^{21}`: a few do, because the grid makes every :math:`d` a small
    multiple of a common power of two.  Each query draws fresh blinds, so the
    survivors of two or three queries intersect to (nearly) the truth alone
    (:func:`intersect_survivors`).

    Parameters
    ----------
    client : Client
        Decrypts the reply.
    record : pandas.Series or dict
        The record the client encrypted for this query.
    reply : Reply
        The server's answer to it.
    candidates : mapping
        Feature -> candidate thresholds (e.g. :func:`grid_candidates`).

    Returns
    -------
    list[list[tuple[str, float]]]
        For every node (slot order), the surviving ``(feature, threshold)`` pairs, one per
        distinct comparison (candidates with the same :math:`\\lfloor t\\,2^{26}\\rfloor` count once).
    """
    values = client.decrypt_values(reply)
    X = encoded_record(record)
    encoded = []  # (feature, threshold, d) for every distinct comparison
    seen: set[tuple[str, int]] = set()
    for f, ts in candidates.items():
        if f not in X:
            raise KeyError(f"candidate feature {f!r} is not in the record")
        for t in ts:
            t, T = float(t), encode_threshold(t)
            if (f, T) not in seen:  # two floats within 2**-26 are one comparison: tested once
                seen.add((f, T))
                encoded.append((f, t, T - X[f]))
    survivors = []
    for v in values:
        if v == 0:
            survivors.append([(f, t) for f, t, d in encoded if d == 0])
            continue
        keep = []
        for f, t, d in encoded:
            if d != 0 and v % d == 0 and 1 <= v // d < R_BOUND:
                keep.append((f, t))
        survivors.append(keep)
    return survivors


def intersect_survivors(*rounds: list[list[Candidate]]) -> list[list[Candidate]]:
    """Per node, the candidates that survived every round (each round: one :func:`divisor_attack`).

    Candidates are compared by feature and *encoded* threshold (two floats
    with the same :math:`\\lfloor t\\,2^{26}\\rfloor` are the same comparison).
    """
    if not rounds:
        return []
    out = []
    for per_node in zip(*rounds, strict=True):
        common = None
        for surv in per_node:
            keys = {(f, encode_threshold(t)): (f, t) for f, t in surv}
            common = keys if common is None else {k: v for k, v in common.items() if k in keys}
        out.append(sorted(common.values()))
    return out


def true_among_survivors(survivors: list[list[Candidate]], server) -> list[bool]:
    """**Scoring only**: for each node, whether its true ``(feature, threshold)`` survived.

    Compared by feature and encoded threshold (what the server actually uses).
    """
    truth = true_thresholds(server)
    return [any(f == tf and encode_threshold(t) == encode_threshold(tt) for f, t in surv)
            for surv, (tf, tt) in zip(survivors, truth, strict=True)]
