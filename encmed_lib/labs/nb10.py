"""Exercises of notebook 10 (threat model and evaluation): their checkers.

Each ``check_10_*`` function is called by a checking cell of the notebook's
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
)

_S10 = "10_threat_model_and_evaluation.ipynb"


def _names(value, ex: Exercise, expected: str, choices: list[str]) -> list[str]:
    """Read an answer as a list of protocol names (strings among ``choices``)."""
    if value is None or value is Ellipsis:
        raise ex.fail(expected, value, "no answer yet: assign your result to the variable before running "
                      "the checking cell")
    if isinstance(value, str):
        raise ex.fail(expected, value, "several protocols may qualify: give a list of names, even for one "
                      "(e.g. matrix.loc[mask, 'protocol'].tolist())")
    if hasattr(value, "columns"):
        raise ex.fail(expected, value, "that is a table: keep its column 'protocol' only "
                      "(matrix.loc[mask, 'protocol'].tolist())")
    if isinstance(value, numbers.Number) or not hasattr(value, "__iter__"):
        raise ex.fail(expected, value, "give a list of protocol names (strings)")
    items = list(value)
    if any(isinstance(v, (numbers.Integral, np.integer, bool, np.bool_)) for v in items):
        raise ex.fail(expected, value, "give the protocols' names, not their row numbers "
                      "(matrix.loc[mask, 'protocol'])")
    if not all(isinstance(v, str) for v in items):
        raise ex.fail(expected, value, "every element must be a protocol's name (a string)")
    names = [v.strip() for v in items]
    unknown = [v for v in names if v not in choices]
    if unknown:
        raise ex.fail(expected, value, f"not a protocol of the table: {unknown}; copy the names from "
                      "matrix['protocol']")
    return names


def check_10_extraction_protocols(protocols, matrix=None) -> str:
    """Exercise 10.1: the protocols whose "does not stop" column names model extraction.

    ``matrix`` is :func:`~encmed_lib.evaluation.protocol_matrix` (the
    default).  The answer is a list (or any collection) of protocol names, in
    any order; it is recomputed from ``matrix`` as the rows whose
    ``does not stop`` mentions "extraction", case-insensitively.
    """
    if matrix is None:
        from ..evaluation import protocol_matrix

        matrix = protocol_matrix()
    ex = Exercise("10.1 (who can still extract the model?)",
                  f'{_S10}, section "2 · Every protocol, for a privacy officer"')
    order = [str(p) for p in matrix["protocol"]]
    expected = ("the names of the protocols whose column 'does not stop' names model extraction, a list of "
                "entries of matrix['protocol'] (any order)")
    names = set(_names(protocols, ex, expected, order))
    column = matrix["does not stop"].astype(str)
    mask = column.str.contains("extraction", case=False).to_numpy()
    right = [p for p, hit in zip(order, mask, strict=True) if hit]
    if names == set(right):
        notebooks = sorted({str(n) for n, hit in zip(matrix["notebook"], mask, strict=True) if hit})
        return ok(f"{len(right)} of the {len(order)} protocols leave model extraction open (notebooks "
                  f"{', '.join(notebooks)}): {'; '.join(right)}. Every one of them answers a client's "
                  "queries: blinding hides the thresholds of one reply, label-only mode and rounding make "
                  "the attack slower, none stops a client that keeps asking")
    extra = [p for p in order if p in names and p not in right]
    missing = [p for p in right if p not in names]
    if extra:
        hint = (f"{extra} do(es) not name extraction in its column 'does not stop'; a federated training "
                "protocol answers no client's queries")
    else:
        cased = set(np.asarray(order)[column.str.contains("extraction").to_numpy()])
        slower = [p for p in missing if "slow" in column.iloc[order.index(p)].lower()]
        if names == cased:
            hint = ("'Extraction' with a capital E counts too: search case-insensitively "
                    "(str.contains('extraction', case=False))")
        elif slower:
            hint = (f"{slower} also leave(s) extraction open: its row says the attack is slower, and slower "
                    "is not stopped")
        else:
            hint = (f"{len(missing)} protocol(s) missing: read every row of the column 'does not stop' "
                    "(str.contains('extraction', case=False))")
    raise ex.fail(expected, protocols, hint)


def _ratio_mistakes(recovery, curve, blinded, label_only, q_label: int) -> list[tuple[float, str]]:
    """The ratios a plausible mistake gives for exercise 10.2, each with its hint."""
    protocols = recovery["protocol"].astype(str)
    target, used = int(blinded["recovered"]), int(blinded["queries"])
    right = q_label / used
    mistakes = [
        (1 / right, "the ratio is inverted: label-only's queries divided by the blinded attack's"),
        (float(q_label), "that is a number of queries: divide it by the queries of the blinded attack"),
        (float(q_label - used), "that is a difference of queries: the question asks for a ratio"),
    ]
    if int(label_only["recovered"]):
        mistakes.append((target / int(label_only["recovered"]),
                         "that is the ratio of the thresholds recovered with the same budget; the question "
                         "asks for the ratio of the queries needed to recover as many"))
    largest = int(curve["queries"].max())
    if largest != q_label:
        mistakes.append((largest / used, "that is the largest budget of the curve: take the smallest one "
                         "that reaches the blinded attack's count"))
    original = recovery[protocols.str.startswith("original")]
    if len(original) and int(original["queries"].iloc[0]) not in (0, used):
        mistakes.append((q_label / int(original["queries"].iloc[0]),
                         "that compares with the original design's single query; compare with blinded "
                         "basic mode"))
    return mistakes


def check_10_label_only_query_ratio(ratio, recovery, curve) -> str:
    """Exercise 10.2: how many times more queries label-only mode costs the attacker than blinded basic mode.

    ``recovery`` is :func:`~encmed_lib.evaluation.threshold_recovery`'s table
    and ``curve`` :func:`~encmed_lib.evaluation.label_boundary_curve`'s.  The
    answer is recomputed from them: the smallest ``queries`` of ``curve``
    whose ``recovered`` reaches what blinded basic mode recovered, divided by
    the queries the blinded attack used; within 0.5 %, so 2 decimals are
    enough.  When no budget of ``curve`` gets there the right answer is
    ``None``.
    """
    ex = Exercise("10.2 (the price of label-only mode for the attacker)",
                  f'{_S10}, section "3.1 · What a curious client learns of the tree"')
    protocols = recovery["protocol"].astype(str)
    blinded = recovery[protocols.str.startswith("blinded")].iloc[0]
    label_only = recovery[protocols == "label-only"].iloc[0]
    target, used = int(blinded["recovered"]), int(blinded["queries"])
    curve = curve.sort_values("queries")
    enough = curve[curve["recovered"] >= target]
    if not len(enough) or used == 0:
        expected = (f"None: no budget of the curve recovers the {target} thresholds blinded basic mode gave "
                    "away")
        if ratio is None:
            return ok(f"with {int(curve['queries'].max())} queries label-only mode still recovers "
                      f"fewer than the {target} thresholds blinded basic mode gave away in {used}")
        raise ex.fail(expected, ratio, "read the column recovered of curve: no row reaches the blinded "
                      "attack's count, so the answer is None")
    q_label = int(enough["queries"].min())
    right = q_label / used
    expected = ("the smallest number of queries of curve with which label-only mode recovers as many "
                "thresholds as blinded basic mode did, divided by the queries of the blinded attack "
                "(a number)")
    value = as_number(ratio, ex, expected)
    if is_close(value, right, 5e-3 * right):
        n = int(blinded["thresholds"])
        every = "all " if target == n else ""
        return ok(f"label-only mode needs {q_label} queries to recover {every}{target} of the {n} "
                  f"thresholds that blinded basic mode gave away in {used}: {right:.1f} times as many. "
                  f"With the same "
                  f"{used} queries it recovers {int(label_only['recovered'])}. It raises the price of "
                  "extraction; it does not stop it")
    tol = 5e-3
    mistakes = _ratio_mistakes(recovery, curve, blinded, label_only, q_label)
    for candidate, hint in mistakes:
        if is_close(value, candidate, tol * max(1.0, abs(candidate))):
            raise ex.fail(expected, ratio, hint)
    if abs(value - right) <= 0.5:
        raise ex.fail(expected, ratio, "close: keep at least two decimals")
    raise ex.fail(expected, ratio, "in curve, find the first row whose recovered reaches the blinded "
                  "row's recovered in recovery, and divide its queries by the blinded row's queries")


def _cost_rows(cost, mode: str, key_bits: int | None, depth: int | None):
    """The rows of ``cost`` for ``mode`` at ``key_bits`` (ignored for CKKS) and ``max_depth == depth``."""
    rows = cost[cost["mode"].astype(str) == mode]
    if key_bits is not None and mode != "ckks":
        rows = rows[(rows["key_bits"] == key_bits).fillna(False).to_numpy(bool)]
    if depth is not None:
        rows = rows[(rows["max_depth"] == depth).fillna(False).to_numpy(bool)]
    return rows


def _slowdown(row) -> float:
    return float(row["total_ms"]) / float(row["plaintext_ms"])


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= max(0.05, 5e-3 * abs(b))


def _slowdown_mistakes(cost, row, mode: str, key_bits: int | None, depth: int | None
                       ) -> list[tuple[float, str]]:
    """The factors a plausible mistake gives for exercise 10.3, each with its hint."""
    right = _slowdown(row)
    mistakes = [
        (1 / right, "the ratio is inverted: the encrypted total divided by the plaintext time (a factor "
                    "above 1)"),
        (float(row["total_ms"]), "that is the encrypted time in milliseconds: divide it by plaintext_ms"),
        (float(row["total_ms"]) - float(row["plaintext_ms"]),
         "that is a difference of milliseconds: the question asks for a ratio"),
        (float(row["server_evaluate_ms"]) / float(row["plaintext_ms"]),
         "that counts the server's first phase only: take total_ms, every phase of the client and "
         "the server"),
    ]
    for other_mode in dict.fromkeys(cost["mode"].astype(str)):
        if other_mode != mode:
            same = _cost_rows(cost, other_mode, key_bits, depth)
            if len(same) == 1:
                mistakes.append((_slowdown(same.iloc[0]), f"that is the row of {other_mode} mode: select "
                                 f"cost['mode'] == {mode!r}"))
    if depth is not None:
        for other_depth in cost.loc[cost["mode"].astype(str) == mode, "max_depth"].dropna().unique():
            if int(other_depth) != depth:
                same = _cost_rows(cost, mode, key_bits, int(other_depth))
                if len(same) == 1:
                    mistakes.append((_slowdown(same.iloc[0]), f"that is the row of depth {int(other_depth)}: "
                                     f"select max_depth == {depth}"))
    return mistakes


def check_10_slowdown(factor, cost, mode: str = "label-only", key_bits: int | None = 1024,
                      depth: int | None = 4) -> str:
    """Exercise 10.3: how many times slower than plaintext scikit-learn ``mode`` is, per patient.

    ``cost`` is ``cost_report(...)["cost"]``; the row is the one of ``mode``
    at ``key_bits`` (ignored for CKKS) and ``max_depth == depth`` (``None``
    for the linear and CKKS modes).  The answer is recomputed from that row
    as ``total_ms / plaintext_ms``, within 0.5 % (or 0.05), so the timings
    may vary from run to run: the message names no timing.
    """
    ex = Exercise(f"10.3 (the slowdown of {mode} mode)", f'{_S10}, section "4 · Measured cost"')

    rows = _cost_rows(cost, mode, key_bits, depth)
    if len(rows) != 1:
        raise ValueError(f"cost has {len(rows)} rows for mode={mode!r}, key_bits={key_bits}, depth={depth}; "
                         "expected exactly one")
    row = rows.iloc[0]
    where = (f"{mode} mode" + (f" at {key_bits} bits" if key_bits is not None and mode != "ckks" else "")
             + (f", depth {depth}" if depth is not None else ""))
    expected = (f"how many times slower than scikit-learn's predict {where} is for one patient: its total "
                "time divided by the plaintext time (a number)")
    value = as_number(factor, ex, expected)
    right = _slowdown(row)
    if _near(value, right):
        nodes = row.get("internal_nodes")
        shape = f" ({int(nodes)} internal nodes)" if nodes is not None and not _isna(nodes) else ""
        return ok(f"{where}{shape}: total_ms / plaintext_ms, every phase of the client and the server "
                  "against scikit-learn on the same rows (the column slowdown). The timings, and so the "
                  "factor, change from run to run and from machine to machine; the agreement column "
                  "does not")
    mistakes = _slowdown_mistakes(cost, row, mode, key_bits, depth)
    for candidate, hint in mistakes:
        if _near(value, candidate):
            raise ex.fail(expected, factor, hint)
    raise ex.fail(expected, factor, "select the one row of cost with that mode, key_bits and max_depth, "
                  "then divide its total_ms by its plaintext_ms (your cost table, not the one printed in "
                  "another run)")


def _isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
