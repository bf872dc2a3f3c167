"""The labs of notebooks 06 and 10 added for issue 15: each checker accepts the right answer and explains
a wrong one (the secret sign, path costs, where a mode's time goes, a row of the privacy table)."""

from __future__ import annotations

import math

import nbformat
import numpy as np
import pandas as pd
import pytest
from lab_asserts import accepts, rejects

import encmed_lib as em
from encmed_lib import attacks, labs
from encmed_lib.attacks.path_finding import (
    LabelBoundaryResult,
    base_records,
    label_boundary_attack,
    public_domain,
)
from encmed_lib.data.paths import REPO_ROOT
from encmed_lib.errors import ArgumentError
from encmed_lib.protocol.label_only.plain import comparison_values, path_costs, share_bit, went_left

NEW_CHECKERS = ["check_06_shared_bits", "check_06_path_costs", "check_10_phase_shares",
                "check_10_privacy_row"]


# ------------------------------------------------------------------ fixtures and helpers
@pytest.fixture(scope="module")
def heart():
    X, y = em.load_heart()
    X_train, X_test, y_train, y_test = em.split_data(X, y, test_size=0.3, random_state=0)
    tree = em.train_tree(X_train, y_train, max_depth=4, random_state=0)
    return X_train, X_test, tree


@pytest.fixture(scope="module")
def servers(heart):
    tree = heart[-1]
    return em.TreeServer(tree, mode="label-only"), em.TreeServer(tree, mode="label-only", depth=5)






# ------------------------------------------------------ 06.3 · the secret sign
def shares_by_hand(codes, layout, signs, width):
    """An independent implementation of the exercise: the zero test on the comparison values."""
    deltas, bits = [], []
    for f, t, s in zip(layout.features, layout.codes, signs, strict=True):
        y = t + 1 if s > 0 else t
        delta = int(0 in comparison_values(codes[f], y, s, width))
        deltas.append(delta)
        bits.append(delta if s > 0 else 1 - delta)
    return deltas, bits


def test_check_06_shared_bits(heart, servers):
    X_test = heart[1]
    server = servers[0]
    layout, width = server.layout, server.width
    record = X_test.iloc[3]
    codes = server.schema.encode_record(record.to_dict())
    signs = np.random.default_rng(2).choice([-1, 1], size=layout.n_comparisons).tolist()
    deltas, bits = shares_by_hand(codes, layout, signs, width)
    # the library agrees with the independent implementation, and b does not depend on the signs
    nodes = list(zip(layout.features, layout.codes, signs, strict=True))
    assert deltas == [share_bit(codes[f], t, s, width) for f, t, s in nodes]
    assert bits == [went_left(codes[f], t, -1, width) for f, t, _ in nodes]
    assert deltas != bits  # some sign is -1: the share is not the result
    check = labs.check_06_shared_bits
    message = accepts(labs.check_06_shared_bits, deltas, bits, record, server, signs)
    assert f"goes left at {sum(bits)} of the {layout.n_comparisons} nodes" in message
    accepts(check, np.array(deltas), [bool(b) for b in bits], record.to_dict(), server, np.array(signs))
    # other signs, other shares, the same comparison results
    flipped = [-s for s in signs]
    other, same = shares_by_hand(codes, layout, flipped, width)
    assert same == bits and other == [1 - d for d in deltas]
    accepts(check, other, same, record, server, flipped)
    rejects(check, other, same, record, server, signs, hint="not when none is")
    # the mistakes a student makes
    rejects(check, bits, deltas, record, server, signs, hint="swapped")
    rejects(check, deltas, deltas, record, server, signs, hint="b = 1 - delta")
    rejects(check, deltas, [1 - b for b in bits], record, server, signs, hint="flipped")
    rejects(check, deltas, [0] * len(bits), record, server, signs, hint="b_j = delta_j when s_j = +1")
    no_plus_one = [int(0 in comparison_values(codes[f], t, s, width))
                   for f, t, s in zip(layout.features, layout.codes, signs, strict=True)]
    assert no_plus_one != deltas  # node 9 of this record has x == T with s = +1
    rejects(check, no_plus_one, bits, record, server, signs, hint="y = T_j + 1")
    ignored = [int(codes[f] > t) for f, t in zip(layout.features, layout.codes, strict=True)]
    rejects(check, ignored, bits, record, server, signs, hint="pass each node's s_j")
    rejects(check, bits, bits, record, server, signs, hint="those are the comparison results")
    rejects(check, [0] * len(deltas), bits, record, server, signs, hint="delta_j = 1 when some c_i")
    rejects(check, deltas[:-1], bits, record, server, signs, hint="one per comparison node")
    rejects(check, [2 * d for d in deltas], bits, record, server, signs, hint="is a bit, 0 or 1")
    rejects(check, 1, bits, record, server, signs, hint="one bit per comparison node")
    rejects(check, None, bits, record, server, signs, hint="no answer yet")
    with pytest.raises(ArgumentError, match="one sign"):
        check(deltas, bits, record, server, signs[:-1])


# ------------------------------------------------------ 06.4 · path costs
def comparison_bits(server, codes, s):
    nodes = zip(server.layout.features, server.layout.codes, strict=True)
    return [went_left(codes[f], t, s, server.width) for f, t in nodes]


def costs_by_hand(layout, bits):
    costs = []
    for path in layout.paths:
        wrong = 0
        for j, left in path:
            wrong += (1 - bits[j]) if left else bits[j]
        costs.append(wrong)
    return costs


@pytest.mark.parametrize("padded", [False, True], ids=["natural", "depth-5"])
def test_check_06_path_costs(heart, servers, padded):
    X_test, tree = heart[1], heart[-1]
    server = servers[padded]
    layout = server.layout
    record = X_test.iloc[7]
    codes = server.schema.encode_record(record.to_dict())
    bits = comparison_bits(server, codes, -1)
    costs = costs_by_hand(layout, bits)
    assert costs == path_costs(layout, bits) and costs.count(0) == 1
    leaf = costs.index(0)
    label = server.classes[layout.leaf_class[leaf]]
    assert label == tree.predict(X_test.iloc[[7]])[0]
    check = labs.check_06_path_costs
    message = accepts(labs.check_06_path_costs, costs, label, bits, server)
    assert f"exactly one of the {layout.n_leaves} leaves has cost 0" in message
    accepts(check, np.array(costs), np.int64(label), bits, server)
    rejects(check, [len(p) - c for p, c in zip(layout.paths, costs, strict=True)], label, bits, server,
            hint="turns the record does take")
    rejects(check, [sum(1 - bits[j] for j, left in p if left) for p in layout.paths], label, bits, server,
            hint="a leaf right of node j is a wrong turn too")
    rejects(check, [sum(bits[j] for j, left in p if not left) for p in layout.paths], label, bits, server,
            hint="a leaf left of node j is a wrong turn too")
    rejects(check, sorted(costs), label, bits, server, hint="in another order")
    rejects(check, [c + 1 for c in costs], label, bits, server, hint="walk its path")
    rejects(check, costs[:-1], label, bits, server, hint="one cost per leaf")
    rejects(check, "0, 1", label, bits, server, hint="one cost per leaf")
    other = next(c for c in server.classes if c != label)
    rejects(check, costs, other, bits, server, hint="the one of cost 0")
    if leaf not in (label, 0, 1):
        rejects(check, costs, leaf, bits, server, hint="the leaf's position")
    with pytest.raises(ArgumentError, match="one bit per comparison node"):
        check(costs, label, bits[:-1], server)


def test_check_06_path_costs_names_the_leaf_position(heart, servers):
    # a record whose leaf is not at position 0 or 1: the position is recognised as a mistake
    X_test = heart[1]
    server = servers[1]
    layout = server.layout
    for i in range(len(X_test)):
        codes = server.schema.encode_record(X_test.iloc[i].to_dict())
        bits = comparison_bits(server, codes, 1)
        costs = path_costs(layout, bits)
        if costs.index(0) > 1:
            break
    leaf = costs.index(0)
    rejects(labs.check_06_path_costs, costs, leaf, bits, server, hint="the leaf's position")


# ------------------------------------------------------ 10.3 · where a mode's time goes
PHASES = ["client_encrypt_ms", "server_evaluate_ms", "client_answer_ms", "server_finish_ms",
          "client_decrypt_ms"]


def cost_table():
    """A table shaped as cost_report()["cost"] (made-up timings; basic mode has no second round)."""
    nan = math.nan
    cost = pd.DataFrame({
        "mode": ["basic", "label-only", "basic", "label-only", "linear"],
        "key_bits": pd.array([1024] * 5, dtype="Int64"),
        "max_depth": pd.array([3, 3, 4, 4, None], dtype="Int64"),
        "client_encrypt_ms": [1.4, 29.8, 1.4, 33.0, 1.3],
        "server_evaluate_ms": [6.8, 60.1, 13.2, 131.0, 1.9],
        "client_answer_ms": [nan, 25.0, nan, 52.0, nan],
        "server_finish_ms": [nan, 10.2, nan, 21.0, nan],
        "client_decrypt_ms": [1.5, 4.1, 1.6, 8.0, 0.6],
        "plaintext_ms": [0.34, 0.35, 0.30, 0.45, 0.46]})
    cost["total_ms"] = cost[PHASES].sum(axis=1)
    cost["slowdown"] = cost["total_ms"] / cost["plaintext_ms"]
    return cost


def test_check_10_phase_shares():
    cost = cost_table()
    check = labs.check_10_phase_shares
    lo, basic = cost.iloc[3], cost.iloc[2]
    shares = {p: lo[p] / lo["total_ms"] for p in PHASES}
    ratio = lo["total_ms"] / basic["total_ms"]
    assert not math.isclose(ratio, lo["slowdown"] / basic["slowdown"], rel_tol=0.05)
    # defaults: label-only, 1024 bits, depth 4
    message = accepts(labs.check_10_phase_shares, shares, ratio, cost)
    assert "server_evaluate_ms is the largest one" in message and "131" not in message
    accepts(check, pd.Series(shares), round(ratio, 2), cost, mode="label-only", key_bits=1024, depth=4)
    accepts(check, (lo[PHASES] / lo["total_ms"]).round(3), ratio, cost)
    # basic mode: its unmeasured phases may be left out or given as NaN
    b_shares = {p: basic[p] / basic["total_ms"] for p in ("client_encrypt_ms", "server_evaluate_ms",
                                                           "client_decrypt_ms")}
    accepts(check, b_shares, 1.0, cost, mode="basic")
    accepts(check, {p: basic[p] / basic["total_ms"] for p in PHASES}, 1.0, cost, mode="basic")
    # wrong shares
    rejects(check, {p: 100 * v for p, v in shares.items()}, ratio, cost, hint="not percentages")
    rejects(check, {p: lo[p] / lo["plaintext_ms"] for p in PHASES}, ratio, cost,
            hint="divides by plaintext_ms")
    rejects(check, {p: lo[p] for p in PHASES}, ratio, cost, hint="phases' milliseconds")
    rejects(check, {**shares, "total_ms": 1.0}, ratio, cost, hint="not a phase of this row")
    rejects(check, {p: v for p, v in shares.items() if p != "server_finish_ms"}, ratio, cost,
            hint="['server_finish_ms'] missing")
    depth3 = cost.iloc[1]
    rejects(check, {p: depth3[p] / depth3["total_ms"] for p in PHASES}, ratio, cost,
            hint="row of label-only mode, depth 3")
    rejects(check, {p: 1 / 5 for p in PHASES}, ratio, cost, hint="add up to 1")
    rejects(check, list(shares.values()), ratio, cost, hint="give a dict")
    rejects(check, None, ratio, cost, hint="no answer yet")
    # wrong ratios
    rejects(check, shares, 1 / ratio, cost, hint="inverted")
    rejects(check, shares, lo["total_ms"] - basic["total_ms"], cost, hint="difference of milliseconds")
    rejects(check, shares, lo["slowdown"] / basic["slowdown"], cost, hint="divides the slowdowns")
    rejects(check, shares, lo["server_evaluate_ms"] / basic["server_evaluate_ms"], cost,
            hint="servers' first phase")
    rejects(check, shares, lo["slowdown"], cost, hint="slowdown against plaintext")
    rejects(check, shares, lo["total_ms"] / cost.iloc[0]["total_ms"], cost, hint="basic mode at depth 3")
    rejects(check, shares, 3.0, cost, hint="same key size and max_depth")
    rejects(check, shares, "12", cost, hint="not a string")
    with pytest.raises(ArgumentError, match="expected exactly one"):
        check(shares, ratio, cost, depth=6)


# ------------------------------------------------------ 10.4 · a row of the privacy table
def score_by_hand(found, tree, tol):
    nodes = attacks.true_thresholds(tree)
    hits = 0
    for feature, t in nodes:
        if any(f == feature and abs(est - t) <= tol for f, est, _ in found.boundaries):
            hits += 1
    return {"protocol": "label-only", "queries": found.queries_used, "thresholds": len(nodes),
            "recovered": hits, "rate": hits / len(nodes)}


def test_check_10_privacy_row_on_the_real_attack(heart):
    X_train, _, tree = heart
    columns = list(X_train.columns)

    def oracle(record):
        return tree.predict(pd.DataFrame([record], columns=columns))[0]

    found = label_boundary_attack(oracle, base_records(X_train, 0), 200, public_domain(X_train),
                                  resolution=5e-4)
    row = score_by_hand(found, tree, 1e-3)
    # the same scoring as the library's
    assert row["recovered"] == attacks.path_finding.boundary_recovery(found.boundaries, tree, 1e-3)
    check = labs.check_10_privacy_row
    message = accepts(labs.check_10_privacy_row, row, found, tree, tol=1e-3)
    assert f"recover {row['recovered']} of the {row['thresholds']} nodes" in message
    accepts(check, pd.Series(row), found, tree)
    nodes = attacks.true_thresholds(tree)
    assert len(set(nodes)) < len(nodes)  # exang <= 0.5 at three nodes: one boundary, three nodes
    by_boundary = sum(any(f == tf and abs(e - t) <= 1e-3 for tf, t in nodes) for f, e, _ in found.boundaries)
    assert by_boundary != row["recovered"]
    rejects(check, {**row, "recovered": by_boundary}, found, tree, hint="counts boundaries")
    rejects(check, {**row, "thresholds": len(set(nodes))}, found, tree, hint="every internal node counts")
    rejects(check, {**row, "rate": 100 * row["rate"]}, found, tree, hint="not a percentage")
    rejects(check, {**row, "rate": row["recovered"] / len(found.boundaries)}, found, tree,
            hint="rate = recovered / thresholds")
    rejects(check, {**row, "queries": found.queries_used + 1}, found, tree, hint="found.queries_used")
    rejects(check, {k: v for k, v in row.items() if k != "rate"}, found, tree, hint="lacks ['rate']")
    rejects(check, [row["queries"], row["recovered"]], found, tree, hint="give a dict")
    rejects(check, {**row, "recovered": 2.5}, found, tree, hint="whole number")


def test_check_10_privacy_row_made_up_boundaries(heart):
    tree = heart[-1]
    nodes = attacks.true_thresholds(tree)
    (thal, t_thal), (oldpeak, t_old) = nodes[0], nodes[1]
    # one boundary on thal within tol, one on oldpeak off by 0.01, one on the wrong feature
    found = LabelBoundaryResult(queries_used=42, bases_used=2,
                                boundaries=[(thal, t_thal + 5e-4, 1e-4), (oldpeak, t_old + 0.01, 0.02),
                                            ("age", t_thal, 1e-4)])
    right = {"queries": 42, "thresholds": len(nodes), "recovered": 1, "rate": 1 / len(nodes)}
    accepts(labs.check_10_privacy_row, right, found, tree)
    check = labs.check_10_privacy_row
    rejects(check, {**right, "thresholds": 3}, found, tree, hint="number of boundaries found")
    rejects(check, {**right, "thresholds": 14}, found, tree, hint="attacks.true_thresholds")
    rejects(check, {**right, "recovered": 3}, found, tree, hint="counts boundaries")
    rejects(check, {**right, "recovered": 2, "rate": 2 / len(nodes)}, found, tree, hint="same feature")
    # a looser tolerance counts the oldpeak boundary too
    loose = {**right, "recovered": 2, "rate": 2 / len(nodes)}
    assert "recover 2 of the" in accepts(check, loose, found, tree, tol=0.02)


# ------------------------------------------------------ the notebooks use them
def test_new_checkers_are_exported_and_used_by_their_notebooks():
    for name in NEW_CHECKERS:
        assert name in labs.__all__ and callable(getattr(labs, name))
        notebook = {"06": "06_label_only.ipynb", "10": "10_threat_model_and_evaluation.ipynb"}[name[6:8]]
        source = " ".join(c.source for c in nbformat.read(REPO_ROOT / "notebooks" / notebook,
                                                           as_version=4).cells)
        assert f"labs.{name}(" in source, f"{notebook} does not call {name}"


@pytest.mark.parametrize("notebook", ["06_label_only.ipynb", "10_threat_model_and_evaluation.ipynb"])
def test_real_work_exercises(notebook):
    """Issue 15: at least three (06) or two (10) exercises whose solution has >= 5 code lines."""
    nb = nbformat.read(REPO_ROOT / "notebooks" / notebook, as_version=4)
    sizes = []
    for cell in nb.cells:
        if cell.cell_type != "code" or labs.SOLUTION_BEGIN not in cell.source:
            continue
        body = cell.source.split(labs.SOLUTION_BEGIN, 1)[1].split(labs.SOLUTION_END, 1)[0]
        lines = [line.strip() for line in body.splitlines()]
        sizes.append(sum(1 for line in lines if line and not line.startswith("#")))
    assert sum(n >= 5 for n in sizes) >= (3 if notebook.startswith("06") else 2), sizes
