"""The evaluation: threat-model tables, measured privacy, the cost report and its files.

Timings are never asserted (they vary by machine and run); labels, rates and
the presence of every table and file are.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import encmed_lib as em
from encmed_lib import evaluation
from encmed_lib.crypto.ckks import TENSEAL_AVAILABLE


@pytest.fixture(scope="module")
def data():
    X, y = em.load_heart()
    return em.split_data(X, y, random_state=0)


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 1024 bits: tests only
        return em.Client(key_bits=1024)


# ------------------------------------------------------------------ the tables
def test_threat_model_has_the_required_columns():
    df = evaluation.threat_model()
    for column in ("system", "assets", "attackers", "vulnerabilities", "threats", "risks"):
        assert column in df.columns
    assert len(df) >= 5
    assert (df[list(evaluation.THREAT_MODEL_COLUMNS)].map(lambda v: isinstance(v, str) and v.strip())
            .all(axis=None))


def test_protocol_matrix_has_a_row_per_protocol():
    df = evaluation.protocol_matrix()
    assert list(df.columns) == list(evaluation.MATRIX_COLUMNS)
    assert list(df["protocol"]) == list(evaluation.PROTOCOLS)
    names = " ".join(evaluation.PROTOCOLS).lower()
    for word in ("no blinding", "full blinding", "label-only", "logistic regression", "ckks",
                 "plain aggregation", "secret sharing", "paillier aggregation", "dp, central",
                 "dp, distributed"):
        assert word in names, word
    text = " ".join(df["does not stop"]).lower()
    for limit in ("malicious server", "collusion", "extraction", "timing"):
        assert limit in text, limit


# ------------------------------------------------------------------ measured privacy
def test_label_boundary_attack_finds_a_known_threshold():
    def oracle(record):  # one threshold at 3.25 on x, nothing on z
        return int(record["x"] > 3.25)

    result = evaluation.label_boundary_attack(oracle, {"x": 0.0, "z": 1.0}, 40,
                                              {"x": (0.0, 10.0), "z": (0.0, 5.0)}, resolution=1e-4)
    assert result.queries_used <= 40
    assert [f for f, _, _ in result.boundaries] == ["x"]
    _, estimate, half_width = result.boundaries[0]
    assert abs(estimate - 3.25) <= half_width <= 1e-4


def test_label_boundary_attack_respects_the_budget():
    result = evaluation.label_boundary_attack(lambda r: int(r["x"] > 3.25), {"x": 0.0}, 3,
                                              {"x": (0.0, 10.0)})
    assert result.queries_used == 3 and len(result.records) == 3


def test_threshold_recovery_depth3_tiny_budget(data, client):
    X_train, _, y_train, _ = data
    tree = em.train_tree(X_train, y_train, max_depth=3, random_state=0)
    df = evaluation.threshold_recovery(tree, X_train, client, queries=12)
    assert list(df["protocol"]) == ["original (no blinding)", "blinded (basic mode)", "label-only"]
    rate = df.set_index("protocol")["rate"]
    assert rate["original (no blinding)"] == 1.0
    # the one-query sieve: every threshold of basic mode (a second query about once in a hundred)
    assert rate["blinded (basic mode)"] >= 6 / 7 and df.set_index("protocol").loc["blinded (basic mode)",
                                                                                  "queries"] <= 2
    assert rate["label-only"] <= rate["original (no blinding)"]
    assert (df["queries"] <= 12).all() and (df["thresholds"] == 7).all()


def test_label_boundary_curve_grows_with_the_budget(data):
    X_train, _, y_train, _ = data
    tree = em.train_tree(X_train, y_train, max_depth=3, random_state=0)
    curve = evaluation.label_boundary_curve(tree, X_train, (30, 300))
    assert list(curve["budget"]) == [30, 300]
    assert curve["recovered"].is_monotonic_increasing
    assert (curve["queries"] <= curve["budget"]).all()


def test_extraction_queries_exact_needs_d_plus_one(data):
    X_train, X_test, y_train, _ = data
    model = evaluation._logistic(X_train, y_train)
    df = evaluation.extraction_queries(model, X_test, query_counts=(14, 100, 1000), repeats=1)
    d = df.attrs["n_features"]
    exact = df[df["defence"] == "exact"].set_index("target")["queries"]
    assert d == 13 and (exact == d + 1).all()
    rounded = df[df["defence"] == "rounded-2"].set_index("target")["queries"]
    assert rounded[1e-6] > rounded[1e-3] >= d + 1


def test_membership_summary(data):
    X_train, X_test, y_train, y_test = data
    df = evaluation.membership_summary(X_train, y_train, X_test, y_test, epsilons=(1.0,), seeds=(0,),
                                       n_permutations=2)
    assert {"model", "epsilon", "advantage", "auc", "DP bound"} <= set(df.columns)
    assert set(df["epsilon"]) == {1.0, math.inf}
    assert df["advantage"].between(0, 1).all()


# ------------------------------------------------------------------ the cost report
MODES = ("basic", "label-only", "linear") + (("ckks",) if TENSEAL_AVAILABLE else ())


@pytest.fixture(scope="module")
def report(data, client):
    X_train, X_test, y_train, y_test = data
    tree = em.train_tree(X_train, y_train, max_depth=3, random_state=0)
    cost = evaluation.cost_report(
        (1024,), (3,), rows=5, label_only_depths=(3,), label_only_rows=5, agreement_rows=5, modes=MODES,
        dp_epsilons=(1.0,), dp_seeds=(0,), federated_depth=2, federated_key_bits=1024,
        federated_unpacked=False, throughput_rows=8, throughput_bits=1024, throughput_depth=3,
        throughput_engines=("joblib",))
    privacy = {
        "threshold_recovery": evaluation.threshold_recovery(tree, X_train, client, queries=10),
        "label_only_curve": evaluation.label_boundary_curve(tree, X_train, (30,)),
        "extraction": evaluation.extraction_queries(evaluation._logistic(X_train, y_train), X_train,
                                                    query_counts=(14, 100), repeats=1),
        "membership": evaluation.membership_summary(X_train, y_train, X_test, y_test, epsilons=(1.0,),
                                                  seeds=(0,), n_permutations=2),
    }
    return {**cost, **privacy}


def test_cost_report_tables_and_agreement(report):
    for key in ("config", "cost", "accuracy", "federated", "throughput"):
        assert isinstance(report[key], pd.DataFrame) and len(report[key]), key
    cost = report["cost"]
    assert set(cost["mode"]) == set(MODES)
    assert set(evaluation.COST_COLUMNS) <= set(cost.columns)
    for agreement in cost["agreement"]:
        k, n = agreement.split("/")
        assert k == n and int(n) >= 5
    assert (cost["total_ms"] > 0).all() and (cost["plaintext_ms"] > 0).all()
    assert (cost["bytes_to_server"] > 0).all() and (cost["bytes_to_client"] > 0).all()
    lo = cost[cost["mode"] == "label-only"].iloc[0]
    assert lo["client_answer_ms"] > 0 and lo["server_finish_ms"] > 0
    assert cost.loc[cost["mode"] == "basic", "client_answer_ms"].isna().all()


def test_cost_report_accuracy_federated_throughput(report):
    acc = report["accuracy"]
    assert acc["accuracy"].between(0, 1).all()
    models = " ".join(acc["model"])
    for name in ("decision tree, max_depth 3", "logistic regression", "square-activation network",
                 "federated tree", "DP federated tree (central)", "majority class"):
        assert name in models, name
    fed = report["federated"].set_index("backend")
    assert {"plain", "secret sharing", "paillier 1024"} <= set(fed.index)
    assert fed.loc[["plain", "secret sharing", "paillier 1024"], "same tree"].all()
    tput = report["throughput"]
    assert list(tput["workers"]) == [1, 2] and (tput["patients_per_s"] > 0).all()
    assert tput.attrs["same_labels"] is True


def test_cost_report_refuses_unknown_modes():
    with pytest.raises(ValueError, match="unknown modes"):
        evaluation.cost_report((1024,), (3,), modes=("basic", "quantum"))


def test_headline_has_one_row_per_mode(report):
    head = evaluation.headline(report)
    assert list(head["mode"]) == list(dict.fromkeys(report["cost"]["mode"]))


def test_write_report_writes_every_file(report, tmp_path):
    paths = evaluation.write_report(report, tmp_path)
    names = {p.name for p in paths}
    assert set(evaluation.REPORT_FILES) <= names and set(evaluation.PRIVACY_FILES) <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    md = (tmp_path / "evaluation_report.md").read_text()
    assert "CPU cores" in md and "| mode |" in md and "| model | served by | accuracy |" in md
    assert "| backend |" in md and "| engine |" in md and "| protocol |" in md
    assert "![time per patient by depth](evaluation_cost_by_depth.png)" in md
    cost = pd.read_csv(tmp_path / "evaluation_cost.csv")
    assert list(cost["mode"]) == list(report["cost"]["mode"])


def test_markdown_table_formats_numbers_and_escapes_pipes():
    df = pd.DataFrame({"a": [1, 2], "b": [0.123456, np.nan], "c": ["x|y", True]})
    text = evaluation.markdown_table(df)
    lines = text.splitlines()
    assert lines[0] == "| a | b | c |" and lines[1] == "|---|---|---|"
    assert lines[2] == "| 1 | 0.123 | x\\|y |" and lines[3] == "| 2 | - | yes |"


def test_the_report_has_the_multi_process_sections(tmp_path):
    """Multi-process training cost and the service's throughput land in the report (tables given)."""
    import pandas as pd

    from encmed_lib.evaluation.report import _parties_sections

    mpc = pd.DataFrame([{"providers": 3, "back-end": "split-only", "seconds": 33.0, "values opened": 15}])
    tput = pd.DataFrame([{"servers": 1, "queries_per_s": 7.6}, {"servers": 2, "queries_per_s": 11.8}])
    md = "\n".join(_parties_sections({"mpc_training": mpc, "service_throughput": tput}))
    assert _parties_sections({}) == []
    assert "## Training with every hospital its own process (MPyC, loopback)" in md and "split-only" in md
    assert "## The model server as a service: queries per second" in md and "11.8" in md
