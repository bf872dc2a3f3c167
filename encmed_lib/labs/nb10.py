"""Exercises of notebook 10 (threat model and evaluation): their checkers.

Each ``check_10_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import math
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


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= max(0.05, 5e-3 * abs(b))


def _one_row(cost, mode: str, key_bits: int | None, depth: int | None):
    from ..errors import ArgumentError

    rows = _cost_rows(cost, mode, key_bits, depth)
    if len(rows) != 1:
        raise ArgumentError(f"cost has {len(rows)} rows for mode={mode!r}, key_bits={key_bits}, "
                            f"depth={depth}; expected exactly one")
    return rows.iloc[0]


def _phases(row) -> dict[str, float]:
    """The phases a row measured (its non-NaN phase columns), in milliseconds."""
    from ..evaluation.cost import PHASE_COLUMNS

    return {p: float(row[p]) for p in PHASE_COLUMNS if p in row.index and not _isna(row[p])}


def _answer_dict(value, ex: Exercise, expected: str, variable: str, hint: str) -> dict:
    """The answer as a dict (a pandas Series is converted); ``hint`` when it is not one."""
    if value is None or value is Ellipsis:
        raise ex.fail(expected, value, f"no answer yet: assign your dict to {variable} before running the "
                      "checking cell")
    if hasattr(value, "to_dict") and not hasattr(value, "columns"):
        value = value.to_dict()
    if not isinstance(value, dict):
        raise ex.fail(expected, value, hint)
    return value


def _read_shares(shares, ex: Exercise, expected: str, measured) -> dict[str, float]:
    """Read an answer as ``phase -> number`` (a dict or a pandas Series); NaN of unmeasured phases dropped."""
    shares = _answer_dict(shares, ex, expected, "phase_shares",
                          "give a dict mapping each phase column's name to its share, e.g. "
                          "{p: row[p] / row['total_ms'] for p in ...}")
    return {str(k): as_number(v, ex, expected) for k, v in shares.items()
            if str(k) in measured or not (isinstance(v, numbers.Real) and math.isnan(v))}


def _share_hint(got: dict[str, float], row, phases: dict[str, float], others: list) -> str | None:
    """The hint for a wrong ``phase -> share`` dict, or None when it is right (within 0.005 each)."""
    total, plain = float(row["total_ms"]), float(row["plaintext_ms"])
    extra = sorted(set(got) - set(phases))
    if extra:
        return (f"{extra} is not a phase of this row: the shares are those of the phase columns "
                f"{list(phases)} (total_ms is their sum, plaintext_ms and slowdown are not phases)")
    missing = [p for p in phases if p not in got]
    if missing:
        return f"{missing} missing: one share per phase the row measured"
    if all(is_close(got[p], v / total, 5e-3) for p, v in phases.items()):
        return None
    if all(is_close(got[p], 100 * v / total, 0.5) for p, v in phases.items()):
        return "fractions of the total (between 0 and 1), not percentages"
    if all(is_close(got[p], v / plain, 5e-3 * v / plain + 5e-3) for p, v in phases.items()):
        return "that divides by plaintext_ms: a phase's share of the encrypted time divides by total_ms"
    if all(is_close(got[p], v, 5e-3) for p, v in phases.items()):
        return "those are the phases' milliseconds: divide each by the row's total_ms"
    for name, other in others:
        o_total, o_phases = float(other["total_ms"]), _phases(other)
        if set(o_phases) == set(phases) and all(is_close(got[p], o_phases[p] / o_total, 5e-3)
                                                for p in phases):
            return f"those are the shares of the row of {name}: select the row asked for"
    return "each phase's milliseconds divided by the same row's total_ms (the shares add up to 1)"


def check_10_phase_shares(shares, times_basic, cost, mode: str = "label-only", key_bits: int | None = 1024,
                          depth: int | None = 4) -> str:
    """Exercise 10.3: where ``mode``'s time goes, and how many times basic mode's total it costs.

    ``cost`` is ``cost_report(...)["cost"]``; the row is the one of ``mode``
    at ``key_bits`` and ``max_depth == depth``.  ``shares`` maps each phase
    the row measured (its non-NaN phase columns) to its share of
    ``total_ms``, within 0.005; ``times_basic`` is the row's ``total_ms``
    divided by basic mode's at the same key size and depth, within 0.5 %
    (or 0.05).  Both are recomputed from ``cost``, so timings may vary from
    run to run: the message names no timing.
    """
    row = _one_row(cost, mode, key_bits, depth)
    basic = _one_row(cost, "basic", key_bits, depth)
    ex = Exercise(f"10.3 (where {mode} mode's time goes)", f'{_S10}, section "4 · Measured cost"')
    where = f"{key_bits} bits, depth {depth}"
    expected = (f"a dict phase -> share of total_ms for {mode} mode at {where}, and the ratio of its "
                "total_ms to basic mode's (a number)")
    phases = _phases(row)
    got = _read_shares(shares, ex, expected, phases)
    others = [(f"{m} mode, depth {int(d)}", r) for m, d, r in
              ((str(r["mode"]), r["max_depth"], r) for _, r in cost.iterrows())
              if not _isna(d) and (m, int(d)) != (mode, depth) and m != "linear"]
    hint = _share_hint(got, row, phases, others)
    if hint is not None:
        raise ex.fail(expected, shares, hint)
    value = as_number(times_basic, ex, expected)
    right = float(row["total_ms"]) / float(basic["total_ms"])
    if not _near(value, right):
        raise ex.fail(expected, times_basic, _ratio_hint(value, row, basic, cost, mode, key_bits, depth))
    top = max(phases, key=phases.get)
    return ok(f"{mode} mode at {where}: the shares add up to 1 and {top} is the largest one; its total is "
              f"{right:.0f} times basic mode's at the same depth (your own timings: the factor changes from "
              "run to run, the ranking of the phases rarely does)")


def _ratio_hint(value: float, row, basic, cost, mode: str, key_bits, depth) -> str:
    """The hint for a wrong ratio of ``mode``'s total to basic mode's."""
    right = float(row["total_ms"]) / float(basic["total_ms"])
    mistakes = [
        (1 / right, "the ratio is inverted: the total of the slower mode divided by basic mode's"),
        (float(row["total_ms"]) - float(basic["total_ms"]),
         "that is a difference of milliseconds: the question asks for a ratio"),
        (float(row["slowdown"]) / float(basic["slowdown"]) if "slowdown" in row.index else math.nan,
         "that divides the slowdowns, whose plaintext times differ from row to row: divide the total_ms"),
        (float(row["server_evaluate_ms"]) / float(basic["server_evaluate_ms"]),
         "that compares the servers' first phase only: divide the total_ms"),
        (float(row["total_ms"]) / float(row["plaintext_ms"]),
         "that is the slowdown against plaintext scikit-learn: divide by basic mode's total_ms instead"),
    ]
    for d in cost.loc[cost["mode"].astype(str) == "basic", "max_depth"].dropna().unique():
        if int(d) != depth:
            other = _cost_rows(cost, "basic", key_bits, int(d))
            if len(other) == 1:
                mistakes.append((float(row["total_ms"]) / float(other["total_ms"].iloc[0]),
                                 f"that is basic mode at depth {int(d)}: take the same depth, {depth}"))
    for candidate, hint in mistakes:
        if math.isfinite(candidate) and _near(value, candidate):
            return hint
    return f"{mode} mode's total_ms divided by basic mode's total_ms, same key size and max_depth"


def _isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _scored(found, nodes: list, tol: float) -> dict[str, int]:
    """The right count of recovered nodes, and the counts a plausible mistake gives."""
    boundaries = list(found.boundaries)

    def near(f: str, est: float, tf: str, t: float) -> bool:
        return f == tf and abs(est - t) <= tol

    return {
        "right": sum(any(near(f, est, tf, t) for f, est, _ in boundaries) for tf, t in nodes),
        "boundaries": sum(any(near(f, est, tf, t) for tf, t in nodes) for f, est, _ in boundaries),
    }


def _read_row(row, ex: Exercise, expected: str, keys: tuple[str, ...]) -> dict[str, float]:
    row = _answer_dict(row, ex, expected, "privacy_row", "give a dict with the keys " + ", ".join(keys))
    missing = [k for k in keys if k not in row]
    if missing:
        raise ex.fail(expected, row, f"the row lacks {missing}: a row of the table has the keys "
                      + ", ".join(keys))
    return {k: as_number(row[k], ex, expected, integer=k != "rate") for k in keys}


def check_10_privacy_row(row, found, tree, tol: float = 1e-3) -> str:
    """Exercise 10.4: the label-only row of the threshold-recovery table, from the attack's raw output.

    ``found`` is a :class:`~encmed_lib.attacks.path_finding.LabelBoundaryResult`
    (``queries_used`` and its ``boundaries``, ``(feature, estimate,
    half_width)``) and ``tree`` the attacked model.  ``row`` is a dict (or
    Series) with ``queries`` (used), ``thresholds`` (the tree's internal
    nodes), ``recovered`` (nodes with a boundary on their feature within
    ``tol``) and ``rate``, recomputed as
    :func:`~encmed_lib.attacks.path_finding.boundary_recovery` does.
    """
    from ..attacks.common import true_thresholds

    ex = Exercise("10.4 (a row of the privacy table)",
                  f'{_S10}, section "3.1 · What a curious client learns of the tree"')
    keys = ("queries", "thresholds", "recovered", "rate")
    expected = ("a dict with the label-only attack's queries (used), thresholds (internal nodes), recovered "
                f"(nodes with a boundary on their feature within tol = {tol:g}) and rate")
    got = _read_row(row, ex, expected, keys)
    nodes = true_thresholds(tree)
    score = _scored(found, nodes, tol)
    right = {"queries": int(found.queries_used), "thresholds": len(nodes), "recovered": score["right"]}
    if got["queries"] != right["queries"]:
        raise ex.fail(expected, row, "queries is the number of labels the attack asked for: "
                      "found.queries_used")
    if got["thresholds"] != right["thresholds"]:
        hint = ("every internal node counts, even two with the same feature and threshold"
                if got["thresholds"] == len(set(nodes)) else
                "that is the number of boundaries found: thresholds counts the tree's internal nodes"
                if got["thresholds"] == len(found.boundaries) else
                "thresholds is the number of the tree's internal nodes (attacks.true_thresholds(tree))")
        raise ex.fail(expected, row, hint)
    if got["recovered"] != right["recovered"]:
        hint = ("that counts boundaries (or the boundaries found): count the tree's nodes instead; one "
                "boundary recovers every node with the same feature and threshold"
                if got["recovered"] in (score["boundaries"], len(found.boundaries)) else
                "a node (feature, t) is recovered when some boundary (feature, estimate, half_width) on the "
                "same feature has |estimate - t| <= tol")
        raise ex.fail(expected, row, hint)
    rate = right["recovered"] / right["thresholds"] if right["thresholds"] else 1.0
    if not is_close(got["rate"], rate, 5e-4):
        hint = ("a rate is a fraction between 0 and 1, not a percentage"
                if is_close(got["rate"], 100 * rate, 0.05) else
                "rate = recovered / thresholds (the share of the nodes)")
        raise ex.fail(expected, row, hint)
    return ok(f"with {right['queries']} queries the bisection on the label found {len(found.boundaries)} "
              f"boundaries, which recover {right['recovered']} of the {right['thresholds']} nodes "
              f"(rate {rate:.2f}): blinded basic mode gave them all away in one or two queries")
