"""Measured privacy: what a curious client recovers, and what membership inference achieves.

* :func:`threshold_recovery`: how many of the server's thresholds a curious client recovers,
  within a tolerance, with a budget of queries: one query against the original unblinded
  design, the one-query sieve of :mod:`encmed_lib.attacks` against basic mode, and
  :func:`~encmed_lib.attacks.path_finding.label_boundary_attack` against label-only mode (the
  client sees only the label there, so the best generic attack bisects where the label flips
  along one feature: it finds decision boundaries, not nodes);
* :func:`extraction_queries`: the queries needed to recover a logistic regression to a
  relative error, from exact, rounded or noisy scores
  (:func:`encmed_lib.protocol.linear.extraction_curve`);
* :func:`membership_summary`: the membership-inference advantage against trees with and
  without differential privacy (:func:`encmed_lib.membership.advantage_vs_epsilon`);
* :func:`privacy_report`: the three on the heart data, as in notebook 10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..attacks.path_finding import (
    base_records,
    boundary_recovery,
    label_boundary_attack,
    label_boundary_curve,
    public_domain,
)
from ..bench import logistic_model
from .common import quiet_client, say

__all__ = ["threshold_recovery", "extraction_queries", "format_error", "membership_summary",
           "privacy_report"]


def threshold_recovery(tree, X: pd.DataFrame, client, *, queries: int = 60, seed: int = 0,
                       tol: float = 1e-3) -> pd.DataFrame:
    """Thresholds a curious client recovers, within ``tol``, per protocol, with ``queries`` queries.

    * **original (no blinding)**: one query with a (seeded) record of ``X``,
      :func:`~encmed_lib.attacks.recover_thresholds_unblinded`;
    * **blinded (basic mode)**: :func:`~encmed_lib.attacks.sieve_attack`, one
      query at the edge of the domain (a second one only when a node stays
      undecided, about one reply in a hundred) against ``X``'s public candidate
      grid (:func:`~encmed_lib.attacks.grid_candidates`);
    * **label-only**: :func:`label_boundary_attack` through real label-only
      round trips, same ranges and budget, from the same median record and
      then ``X``'s records in a seeded order.  The interval attack
      does not apply: it needs one sign per *known* node, and label-only
      mode shuffles and flips the comparisons and returns only the label.

    The attacks use only what the client has (its keys, its records, the
    replies, the public sample ``X``); the true thresholds are read only to
    score them.

    Parameters
    ----------
    tree : fitted DecisionTreeClassifier or PortableTree
        The server's model.
    X : pandas.DataFrame
        A public sample: ranges, base record and the original protocol's record.
    client : Client
        The attacker's client (1024 bits is enough: the key size does not
        change what the client sees).
    queries : int
        Budget of the label-only attack (the sieve needs one or two).
    seed : int
        Picks the record of the one-query attack and the label attacker's
        order of base records.
    tol : float
        A threshold counts as recovered when the estimate is within ``tol``.

    Returns
    -------
    pandas.DataFrame
        One row per protocol: ``protocol``, ``attack``, ``the client uses``,
        ``queries`` (used), ``thresholds`` (internal nodes), ``recovered``,
        ``rate``; ``attrs`` holds ``tol``, ``budget`` and
        ``label_only_boundaries`` (what the label attacker found).
    """
    from ..protocol import TreeServer

    rows = [_one_query_row(tree, X, client, seed, tol), _sieve_row(TreeServer(tree), X, client)]
    row, found = _label_only_row(tree, X, client, queries, seed, tol)
    rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs.update(tol=tol, budget=queries, label_only_boundaries=list(found.boundaries))
    return df


def _one_query_row(tree, X: pd.DataFrame, client, seed: int, tol: float) -> dict:
    """The original design: one query with a seeded record of ``X`` reads every threshold."""
    from .. import attacks
    from ..protocol import TreeServer

    server_none = TreeServer(tree, blinding="none")
    n_nodes = len(attacks.true_thresholds(server_none))
    record = X.iloc[int(np.random.default_rng(seed).integers(len(X)))]
    recovered = attacks.recover_thresholds_unblinded(client, record,
                                                     server_none.evaluate(client.encrypt(record)))
    rate = attacks.threshold_recovery_rate(recovered, server_none, tol=tol)
    return {"protocol": "original (no blinding)", "attack": "read T = v + X from one reply",
            "the client uses": "each node's feature and exact distance", "queries": 1,
            "thresholds": n_nodes, "recovered": round(rate * n_nodes), "rate": rate}


def _sieve_row(server, X: pd.DataFrame, client) -> dict:
    """Blinded basic mode: the sieve at the domain edge against ``X``'s public candidate grid."""
    from .. import attacks

    n_nodes = len(attacks.true_thresholds(server))
    result = attacks.sieve_attack(client, server.evaluate, attacks.grid_candidates(X), list(X.columns),
                                  max_queries=2)
    exact = sum(result.exact(server))
    return {"protocol": "blinded (basic mode)", "attack": "one-query sieve at the domain edge",
            "the client uses": "each node's blinded difference r d + s", "queries": result.queries,
            "thresholds": n_nodes, "recovered": exact, "rate": exact / n_nodes if n_nodes else 1.0}


def _label_only_row(tree, X: pd.DataFrame, client, queries: int, seed: int, tol: float):
    """Label-only mode: bisection on the label through real round trips; ``(row, what it found)``."""
    from .. import attacks
    from ..protocol import TreeServer
    from ..protocol.label_only import predict_label_only

    n_nodes = len(attacks.true_thresholds(tree))
    lo_server = TreeServer(tree, mode="label-only")
    found = label_boundary_attack(lambda r: predict_label_only(client, lo_server, r),
                                  base_records(X, seed), queries, public_domain(X), resolution=tol / 2)
    hit = boundary_recovery(found.boundaries, lo_server, tol)
    row = {"protocol": "label-only", "attack": "bisection on the label, one feature at a time",
           "the client uses": "the label only", "queries": found.queries_used,
           "thresholds": n_nodes, "recovered": hit, "rate": hit / n_nodes if n_nodes else 1.0}
    return row, found


def extraction_queries(model, X_public, *, targets: Sequence[float] = (1e-6, 1e-3),
                       defences: Sequence[str] = ("exact", "rounded-2", "noisy-0.1"),
                       query_counts: Sequence[int] | None = None, seed: int = 0, repeats: int = 3,
                       client=None) -> pd.DataFrame:
    """Queries a client needs to recover a linear model to a relative error, per defence.

    Runs :func:`encmed_lib.protocol.linear.extraction_curve` (least squares on
    random records, the plaintext oracle: the encrypted protocol returns the
    same scores) over ``query_counts`` and reads, for each defence and target,
    the smallest count whose median relative error
    :math:`\\|\\hat w - w\\| / \\|w\\|` is below the target.  When none is, it
    extrapolates from the largest count with the measured :math:`1/\\sqrt{q}`
    law (marked ``"extrapolated"``).

    Parameters
    ----------
    model : LinearServer, LogisticRegression, Pipeline or (coef, intercept)
        The model under attack.
    X_public : pandas.DataFrame
        Public records (their mean and spread shape the attacker's records).
    targets : sequence of float
        Relative errors to reach.
    defences : sequence of str
        ``"exact"``, ``"rounded-<decimals>"``, ``"noisy-<std>"``.
    query_counts : sequence of int, optional
        Default ``d + 1, 30, 100, 300, 1000, 3000, 10000``.
    seed, repeats : int
        The attacker's records (seeded) and independent attacks per point.
    client : Client, optional
        Also run the exact attack with ``d + 1`` queries through the real
        encrypted protocol (a row ``"exact, through the protocol"``).

    Returns
    -------
    pandas.DataFrame
        ``defence``, ``target``, ``queries`` (needed), ``how`` (``"measured"``
        or ``"extrapolated"``), ``error at the largest count`` and
        ``largest count``; ``attrs["n_features"]``.
    """
    from ..protocol.linear import LinearServer, extraction_curve, linear_parameters

    coef = model.coef if isinstance(model, LinearServer) else linear_parameters(model)[0]
    d = int(np.asarray(coef).size)
    counts = list(query_counts) if query_counts is not None else [d + 1, 30, 100, 300, 1000, 3000, 10000]
    curve = extraction_curve(model, X_public, counts, defences=defences, seed=seed, repeats=repeats)
    d = int(curve.attrs["n_features"])
    rows = _queries_needed(curve, defences, targets)
    if client is not None:
        enc = extraction_curve(model, X_public, [d + 1], defences=("exact",), seed=seed,
                               encrypted=True, client=client, repeats=1)
        rows += _protocol_rows(float(enc["rel_error"].iloc[0]), d + 1, targets)
    df = pd.DataFrame(rows, columns=["defence", "target", "queries", "how", "error at the largest count",
                                     "largest count"])
    df.attrs.update(n_features=d)
    return df


def _queries_needed(curve: pd.DataFrame, defences: Sequence[str], targets: Sequence[float]) -> list[dict]:
    """Per defence and target, the fewest measured queries reaching the target, or the extrapolation.

    With :math:`e_{max}` the median error at the largest count :math:`q_{max}`,
    an unreached target :math:`t` needs :math:`\\lceil q_{max} (e_{max} / t)^2 \\rceil`
    queries by the :math:`1/\\sqrt{q}` law of least squares.
    """
    rows = []
    for spec in defences:
        part = curve[curve["defence"] == str(spec)].sort_values("queries")
        q_max = int(part["queries"].max())
        e_max = float(part.loc[part["queries"] == q_max, "rel_error"].iloc[0])
        for target in targets:
            ok = part[part["rel_error"] <= target]
            if len(ok):
                q, how = int(ok["queries"].min()), "measured"
            else:
                q, how = int(math.ceil(q_max * (e_max / target) ** 2)), "extrapolated (1/sqrt(q))"
            rows.append({"defence": str(spec), "target": float(target), "queries": q, "how": how,
                         "error at the largest count": e_max, "largest count": q_max})
    return rows


def _protocol_rows(err: float, queries: int, targets: Sequence[float]) -> list[dict]:
    """The rows of the exact attack run through the encrypted protocol with ``queries`` queries."""
    return [{"defence": "exact, through the protocol", "target": float(target),
             "queries": queries if err <= target else np.nan,
             "how": "measured" if err <= target else "not reached",
             "error at the largest count": err, "largest count": queries}
            for target in targets]


def format_error(error: float, *, floor: float = 1e-12) -> str:
    """A relative error for a table: ``"< 1e-12"`` at machine precision, else one significant digit.

    Least squares on exact scores recovers the weights to rounding noise (about
    ``1e-15``), whose digits change from run to run; below ``floor`` the table
    says so instead of printing them.
    """
    error = float(error)
    if math.isnan(error):
        return "nan"
    return f"< {floor:.0e}" if error < floor else f"{error:.0e}"


def membership_summary(X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, y_test, *,
                       epsilons: Sequence[float] = (0.1, 1.0, 10.0), seeds: Sequence[int] = range(5),
                       max_depth: int = 4, deep_depth: int = 8, n_permutations: int = 20) -> pd.DataFrame:
    """Membership-inference advantage against trees with and without differential privacy.

    :func:`encmed_lib.membership.advantage_vs_epsilon` (the DP notebook's
    measurement: members are the training records, non-members the held-out
    ones), summarised per model and epsilon by the median over ``seeds``.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``epsilon`` (``inf`` without DP), ``depth``,
        ``advantage`` (median of max TPR - FPR), ``auc``,
        ``chance advantage`` (membership shuffled), ``DP bound``
        (:math:`\\tanh(\\varepsilon/2)`, NaN without DP), ``test accuracy``
        and ``seeds``.
    """
    from ..membership import advantage_vs_epsilon, dp_advantage_bound

    raw = advantage_vs_epsilon(X_train, y_train, X_test, y_test, list(epsilons), list(seeds),
                               max_depth=max_depth, deep_depth=deep_depth, n_permutations=n_permutations)
    g = raw.groupby(["method", "epsilon", "depth"], sort=False)
    df = pd.DataFrame({"advantage": g["advantage"].median(), "auc": g["auc"].median(),
                       "chance advantage": g["chance_advantage"].median(),
                       "test accuracy": g["test_accuracy"].median(),
                       "seeds": g["seed"].nunique()}).reset_index()
    df = df.rename(columns={"method": "model"})
    bound = dp_advantage_bound(df["epsilon"].to_numpy())
    df.insert(6, "DP bound", np.where(np.isfinite(df["epsilon"]), bound, np.nan))
    df = df.sort_values(["depth", "epsilon"], ascending=[False, False], kind="stable").reset_index(drop=True)
    return df


def privacy_report(*, depth: int = 4, key_bits: int = 1024, queries: int = 60, tol: float = 1e-3,
                   curve_budgets: Sequence[int] = (60, 100, 300, 1000, 3000),
                   epsilons: Sequence[float] = (0.1, 1.0, 10.0), seeds: Sequence[int] = range(5),
                   seed: int = 0, verbose: bool = False) -> dict[str, pd.DataFrame]:
    """The three privacy measurements on the heart data, as in notebook 10.

    Returns
    -------
    dict
        ``"threshold_recovery"`` (:func:`threshold_recovery` on a depth-``depth``
        tree, ``key_bits`` keys), ``"label_only_curve"`` (:func:`label_boundary_curve`
        at ``curve_budgets``), ``"extraction"`` (:func:`extraction_queries`
        on the logistic regression, with an encrypted check) and
        ``"membership"`` (:func:`membership_summary`).
    """
    from ..data.heart import load_heart
    from ..tree import split_data, train_tree

    X, y = load_heart()
    X_train, X_test, y_train, y_test = split_data(X, y, random_state=seed)
    tree = train_tree(X_train, y_train, max_depth=depth, random_state=seed)
    client = quiet_client(key_bits)
    say(verbose, f"privacy: threshold recovery (depth {depth}, {queries} queries, {key_bits} bits)")
    recovery = threshold_recovery(tree, X_train, client, queries=queries, seed=seed, tol=tol)
    say(verbose, "privacy: label-only boundaries against the budget (plaintext label oracle)")
    curve = label_boundary_curve(tree, X_train, curve_budgets, seed=seed, tol=tol)
    say(verbose, "privacy: linear model extraction")
    extraction = extraction_queries(logistic_model(X_train, y_train, seed), X_test, seed=seed, client=client)
    say(verbose, "privacy: membership inference with and without DP")
    membership = membership_summary(X_train, y_train, X_test, y_test, epsilons=epsilons, seeds=seeds)
    return {"threshold_recovery": recovery, "label_only_curve": curve, "extraction": extraction,
            "membership": membership}

