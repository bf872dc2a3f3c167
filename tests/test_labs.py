"""The labs: every checker accepts the right answer and explains a wrong one; the student versions."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lab_asserts import accepts, rejects
from nbclient import NotebookClient
from phe import paillier

import encmed_lib as em
from encmed_lib import attacks, labs
from encmed_lib.crypto.encoding import SCALE, encode_threshold, encode_value
from encmed_lib.data.paths import REPO_ROOT, data_dir
from encmed_lib.labs import LabCheckError, LabFormatError

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
LAB_NOTEBOOKS = ["01_data.ipynb", "02_tree.ipynb", "03_paillier_basics.ipynb",
                 "04_encrypted_server.ipynb", "05_client_decryption.ipynb", "06_label_only.ipynb",
                 "07_beyond_trees.ipynb", "08_collaborative_training.ipynb",
                 "09_differential_privacy.ipynb", "10_threat_model_and_evaluation.ipynb"]
CHECKERS = sorted(name for name in labs.__all__ if name.startswith("check_"))


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def heart():
    X, y = em.load_heart()
    X_train, X_test, y_train, y_test = em.split_data(X, y, test_size=0.3, random_state=0)
    tree = em.train_tree(X_train, y_train, max_depth=4, random_state=0)
    return X, y, X_train, X_test, y_train, y_test, tree


@pytest.fixture(scope="module")
def phe_keys():
    return paillier.generate_paillier_keypair(n_length=1024)


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return em.Client(key_bits=1024)






# ------------------------------------------------------------- the error
def test_lab_check_error_is_an_assertion_with_its_parts():
    err = LabCheckError("01.1 (x)", "a number", "None (NoneType)", "assign it", "01_data.ipynb, section s")
    assert isinstance(err, AssertionError)
    assert (err.exercise, err.expected, err.hint) == ("01.1 (x)", "a number", "assign it")
    assert str(err).splitlines()[0] == "exercise 01.1 (x) is not solved yet."


# ------------------------------------------------------------- 02 · tree
def test_check_02_roundtrip_agreement(heart):
    _, _, X_train, X_test, y_train, _, tree = heart
    restored = em.PortableTree.from_json(em.PortableTree.from_sklearn(tree).to_json()).to_sklearn()
    n = len(X_test)
    assert f"{n}/{n}" in accepts(labs.check_02_roundtrip_agreement, n, restored, tree, X_test)
    rejects(labs.check_02_roundtrip_agreement, n, tree, tree, X_test, hint="same tree twice")
    rejects(labs.check_02_roundtrip_agreement, 1.0, restored, tree, X_test, hint="share")
    rejects(labs.check_02_roundtrip_agreement, n - 1, restored, tree, X_test, hint="element by element")
    other = em.train_tree(X_train, y_train, max_depth=1, random_state=0)
    agree = int((other.predict(X_test) == tree.predict(X_test)).sum())
    rejects(labs.check_02_roundtrip_agreement, agree, other, tree, X_test, hint="disagree")
    rejects(labs.check_02_roundtrip_agreement, n, "model.json", tree, X_test, hint="must be a model")


# ------------------------------------------------------------ 04 · server
def test_check_04_recovered_threshold(heart, client):
    X_test, tree = heart[3], heart[-1]
    server_none = em.TreeServer(tree, blinding="none")
    record = X_test.iloc[5]
    reply = server_none.evaluate(client.encrypt(record))
    recovered = attacks.recover_thresholds_unblinded(client, record, reply)
    truth = attacks.true_thresholds(server_none)
    message = accepts(labs.check_04_recovered_threshold, recovered[1], server_none, slot=1)
    assert truth[1][0] in message
    accepts(labs.check_04_recovered_threshold, recovered[1], tree, slot=1)
    accepts(labs.check_04_recovered_threshold, recovered[0], server_none, slot=0)
    check = labs.check_04_recovered_threshold
    rejects(check, recovered[1] * SCALE, server_none, slot=1, hint="divide by 2**26")
    rejects(check, round(truth[1][1], 2), server_none, slot=1, hint="exact")
    rejects(check, truth[0][1], server_none, slot=1, hint="threshold of slot 0")
    rejects(check, -3.0, server_none, slot=1, hint="encode_value")


def test_check_04_blinded_value(heart, client):
    X_test, tree = heart[3], heart[-1]
    server = em.TreeServer(tree)
    patient = X_test.iloc[0]
    key, negated = server.encrypted_inputs(client.encrypt(patient))
    root = server.tree.internal_nodes()[0]
    T, r, s = encode_threshold(root.threshold), 1000, 7
    X = encode_value(patient[root.feature])
    right = key.add_plain(key.mul_plain(negated[root.feature], r), r * T + s)
    message = accepts(labs.check_04_blinded_value, right, client, patient, server, r, s, slot=0)
    assert str(r * (T - X) + s) in message
    check = labs.check_04_blinded_value
    no_s = key.add_plain(key.mul_plain(negated[root.feature], r), r * T)
    rejects(check, no_s, client, patient, server, r, s, hint="additive blind")
    reversed_sign = key.add_plain(key.mul_plain(negated[root.feature], -r), -r * T + s)
    rejects(check, reversed_sign, client, patient, server, r, s, hint="reversed")
    no_r = key.add_plain(negated[root.feature], T)
    rejects(check, no_r, client, patient, server, r, s, hint="multiplicative blind")
    rejects(check, r * (T - X) + s, client, patient, server, r, s, hint="in clear")
    rejects(check, 3.5, client, patient, server, r, s, hint="mul_plain")


# ------------------------------------------------------------ 05 · client
def test_check_05_agreement(heart, client):
    X_test, tree = heart[3], heart[-1]
    server = em.TreeServer(tree)
    rows = X_test.iloc[:5]
    labels = [client.decrypt(server.evaluate(client.encrypt(row))) for _, row in rows.iterrows()]
    assert "5/5" in accepts(labs.check_05_agreement, labels, tree, rows)
    accepts(labs.check_05_agreement, np.array(labels), tree, rows)
    rejects(labs.check_05_agreement, labels[:4], tree, rows, hint="one label per row")
    flipped = labels[:2] + [1 - labels[2]] + labels[3:]
    rejects(labs.check_05_agreement, flipped, tree, rows, hint="row 2")
    with_shares = [(label, None) for label in labels]
    rejects(labs.check_05_agreement, with_shares, tree, rows, hint="return_distribution")
    rejects(labs.check_05_agreement, 5, tree, rows, hint="list comprehension")


def test_check_05_leaf(heart, client):
    X_test, tree = heart[3], heart[-1]
    server = em.TreeServer(tree)
    record = X_test.iloc[3]
    reply = server.evaluate(client.encrypt(record))
    leaf = client.walk(reply, client.decrypt_values(reply))
    assert leaf == tree.apply(X_test.iloc[[3]])[0]
    accepts(labs.check_05_leaf, leaf, tree, record)
    accepts(labs.check_05_leaf, np.int64(leaf), em.PortableTree.from_sklearn(tree), record.to_dict())
    rejects(labs.check_05_leaf, 0, tree, record, hint="internal node")
    pt = em.PortableTree.from_sklearn(tree)
    flipped = pt.walk(lambda node: not float(np.float32(record[node.feature])) <= node.threshold)
    rejects(labs.check_05_leaf, flipped, tree, record, hint="wrong way")
    rejects(labs.check_05_leaf, 999, tree, record, hint="node indices run from 0")


def test_check_05_disease_share(heart, client):
    X_test, tree = heart[3], heart[-1]
    server = em.TreeServer(tree)
    record = X_test.iloc[3]
    label, shares = client.decrypt(server.evaluate(client.encrypt(record)), return_distribution=True)
    accepts(labs.check_05_disease_share, shares[1], tree, record)
    if shares[0] != shares[1]:
        rejects(labs.check_05_disease_share, shares[0], tree, record, hint="class 0")
    rejects(labs.check_05_disease_share, (label, shares), tree, record, hint="take the shares")
    rejects(labs.check_05_disease_share, shares, tree, record, hint="entry of class 1")


# ------------------------------------------------------ 06 · label-only
def test_check_06_public_depth(heart):
    tree = heart[-1]
    n_internal = tree.tree_.node_count - tree.get_n_leaves()
    message = accepts(labs.check_06_public_depth, 63, 63 - n_internal, 64, tree, depth=6)
    assert "63 comparisons (48 of them dummies" in message
    accepts(labs.check_06_public_depth, 31, 16, np.int64(32), tree, depth=5)
    accepts(labs.check_06_public_depth, 15, 0, 16, em.PortableTree.from_sklearn(tree), depth=4)
    check = labs.check_06_public_depth
    rejects(check, 64, 48, 64, tree, depth=6, hint="one comparison fewer")
    rejects(check, 127, 48, 64, tree, depth=6, hint="leaves included")
    rejects(check, n_internal, 0, n_internal + 1, tree, depth=6, hint="real tree's counts")
    rejects(check, 63, 48, 63, tree, depth=6, hint="one leaf more")
    rejects(check, 63, 63, 64, tree, depth=6, hint="not every comparison is a dummy")
    rejects(check, 63, 0, 64, tree, depth=6, hint="shallower")
    rejects(check, 63, 47, 64, tree, depth=6, hint="node_count - tree.get_n_leaves()")
    rejects(check, 63.5, 48, 64, tree, depth=6, hint="whole number")


def test_check_06_comparison_values():
    from encmed_lib.protocol.label_only.plain import comparison_values

    right = comparison_values(13, 9, -1, 5)
    message = accepts(labs.check_06_comparison_values, right, 13, 9, -1, 5)
    assert "[13 > 9] = 1" in message
    other = comparison_values(9, 13, 1, 5)
    assert "[9 < 13] = 1" in accepts(labs.check_06_comparison_values, other, 9, 13, 1, 5)
    check = labs.check_06_comparison_values
    rejects(check, list(reversed(right)), 13, 9, -1, 5, hint="reversed")
    rejects(check, comparison_values(13, 9, 1, 5), 13, 9, -1, 5, hint="sign s")
    rejects(check, right[:-1], 13, 9, -1, 5, hint="one value per bit")
    rejects(check, [v + 1 for v in right], 13, 9, -1, 5, hint="x_i = (x >> i) & 1")
    rejects(check, "0, 1", 13, 9, -1, 5, hint="one value per bit position")


# ------------------------------------------------------ 07 · beyond trees
@pytest.fixture(scope="module")
def linear(heart):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from encmed_lib.protocol.linear import LinearServer

    X_train, y_train = heart[2], heart[4]
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    pipe.fit(X_train, y_train)
    return pipe, LinearServer(pipe)


def test_check_07_query_ciphertexts():
    message = accepts(labs.check_07_query_ciphertexts, 13, 1, n_features=13)
    assert "4096 slots" in message
    accepts(labs.check_07_query_ciphertexts, 5000, 2, n_features=5000)
    accepts(labs.check_07_query_ciphertexts, 13, 1, n_features=13, poly_modulus_degree=16384)
    check = labs.check_07_query_ciphertexts
    rejects(check, 1, 1, n_features=13, hint="one number")
    rejects(check, 14, 1, n_features=13, hint="intercept is the server's")
    rejects(check, 7, 1, n_features=13, hint="one ciphertext per feature")
    rejects(check, 13, 13, n_features=13, hint="one value per slot")
    rejects(check, 13, 0, n_features=13, hint="N/2 = 4096 values")
    rejects(check, "13", 1, n_features=13, hint="not a string")


# ------------------------------------------------ 08 · collaborative training
@pytest.fixture(scope="module")
def federated(heart):
    from encmed_lib.federated import (
        HEART_RANGES,
        Binning,
        FederatedTreeTrainer,
        SecretSharingAggregator,
        split_providers,
    )

    X_train, y_train = heart[2], heart[4]
    providers = split_providers(X_train, y_train, k=3, sizes=(0.5, 0.3, 0.2), seed=0)
    binning = Binning.from_ranges(HEART_RANGES, n_bins=16)
    trainer = FederatedTreeTrainer(4, binning, SecretSharingAggregator())
    trainer.fit(providers)
    return providers, binning, trainer


def test_check_08_inferred_count(federated):
    from encmed_lib.federated.report import provider_view

    providers, binning, trainer = federated
    view = provider_view(trainer, providers[2], round="level 0", feature="thal")
    row = view.loc[(0, "thal", "thal > 6", 1)]
    right = int(row["total"] - row["own table"])
    where = dict(observer="hospital-C", feature="thal", bin=2, label=1)
    check = labs.check_08_inferred_count
    routing = [p._node.copy() for p in providers]
    message = accepts(check, right, providers, binning, **where)
    assert all(np.array_equal(p._node, r) for p, r in zip(providers, routing, strict=True))  # untouched
    assert f"together hold {right} patients with thal > 6 and class 1" in message
    accepts(check, np.int64(right), providers, binning, **where)
    rejects(check, int(row["own table"]), providers, binning, hint="own count", **where)
    rejects(check, int(row["total"]), providers, binning, hint="includes hospital-C", **where)
    rejects(check, -right, providers, binning, hint="sign is reversed", **where)
    class0 = view.loc[(0, "thal", "thal > 6", 0)]
    rejects(check, int(class0["total"] - class0["own table"]), providers, binning, hint="another class",
            **where)
    rejects(check, 1000, providers, binning, hint="total - own table", **where)
    with pytest.raises(ValueError, match="not one of the providers"):
        check(right, providers, binning, observer="hospital-Z", feature="thal", bin=2, label=1)


def test_check_08_inferred_count_one_other_hospital(federated):
    """A count of one other hospital alone is refused (hospital-C only sees the sum)."""
    import copy

    providers, binning, trainer = federated
    f = binning.feature_names.index("thal")
    alone = copy.copy(providers[0])
    alone.prepare(binning, trainer.classes_)
    count_a = int(alone.count_table(0)[f, 2, 1])
    rejects(labs.check_08_inferred_count, count_a, providers, binning, observer="hospital-C",
            feature="thal", bin=2, label=1, hint="one other hospital alone")


def test_check_08_lightest_backend():
    import pandas as pd

    costs = pd.DataFrame({"seconds": [0.01, 0.03, 0.02, 8.0], "messages": [40, 60, 50, 50],
                          "bytes": [102300, 448380, 69380, 6358788],
                          "bytes per provider": [24720, 148320, 9736, 1582088]},
                         index=pd.Index(["plain", "secret sharing", "paillier 2048",
                                         "paillier 2048, unpacked"], name="backend"))
    message = accepts(labs.check_08_lightest_backend, "paillier 2048", costs)
    assert "69,380 in all" in message and "plain 102,300" in message
    accepts(labs.check_08_lightest_backend, costs["bytes"].idxmin(), costs)
    check = labs.check_08_lightest_backend
    rejects(check, "plain", costs, hint="fastest")
    rejects(check, "paillier 2048, unpacked", costs, hint="heaviest")
    rejects(check, "secret sharing", costs, hint="costs['bytes'].idxmin()")
    rejects(check, "paillier", costs, hint="not a back-end of the table")
    rejects(check, 2, costs, hint="label")
    per = costs.assign(**{"bytes per provider": [1, 2, 3, 4], "seconds": [4.0, 3.0, 2.0, 1.0]})
    rejects(check, "plain", per, hint="bytes per provider")



# ------------------------------------------------ 09 · differential privacy
def test_check_09_level_sensitivity():
    from encmed_lib.federated import HEART_RANGES, SYNTHEA_RANGES, Binning, Provider

    binning = Binning.from_ranges(SYNTHEA_RANGES, n_bins=8)
    F = len(binning.feature_names)
    X, y, _ = em.load_synthea(data_dir() / "synthea_sample")
    complete = X.notna().all(axis=1)
    one = Provider("one patient", X[complete].iloc[[0]], y[complete].iloc[[0]])
    one.prepare(binning, [0, 1])
    assert one.count_table(0).sum() == F == 11  # what one record changes: one cell per feature
    assert "Δ = 11" in accepts(labs.check_09_level_sensitivity, F, binning)
    accepts(labs.check_09_level_sensitivity, np.int64(F))  # default: the Synthea features
    accepts(labs.check_09_level_sensitivity, float(F), list(SYNTHEA_RANGES))
    accepts(labs.check_09_level_sensitivity, 13, Binning.from_ranges(HEART_RANGES, n_bins=8))
    check = labs.check_09_level_sensitivity
    rejects(check, 1, binning, hint="one histogram per feature")
    rejects(check, 2 * F, binning, hint="not replaced")
    rejects(check, 13, binning, hint="heart data")
    rejects(check, F * 8 * 2, binning, hint="cells of the table")
    rejects(check, sum(binning.n_bins.values()), binning, hint="cells of the table")
    rejects(check, 5, binning, hint="add one patient")
    rejects(check, 11.5, binning, hint="whole number")


# ---------------------------------------------- 10 · threat model and evaluation
def test_check_10_extraction_protocols():
    from encmed_lib.evaluation import protocol_matrix

    matrix = protocol_matrix()
    leaks = matrix["does not stop"].str.contains("extraction", case=False)
    right = matrix.loc[leaks, "protocol"].tolist()
    assert "Label-only mode" in right and not any(p.startswith("Federated") for p in right)
    message = accepts(labs.check_10_extraction_protocols, right, matrix)
    assert f"{len(right)} of the {len(matrix)} protocols" in message
    accepts(labs.check_10_extraction_protocols, set(reversed(right)))  # default: the library's table
    accepts(labs.check_10_extraction_protocols, matrix.loc[leaks, "protocol"], matrix)
    check = labs.check_10_extraction_protocols
    rejects(check, [*right, "Federated training, plain aggregation"], matrix, hint="answers no client")
    cased = matrix.loc[matrix["does not stop"].str.contains("extraction"), "protocol"].tolist()
    assert set(cased) < set(right)
    rejects(check, cased, matrix, hint="case=False")
    rejects(check, [p for p in right if p != "Label-only mode"], matrix, hint="slower is not stopped")
    rejects(check, [p for p in right if not p.startswith("CKKS")], matrix, hint="protocol(s) missing")
    rejects(check, right[0], matrix, hint="give a list of names")
    rejects(check, list(np.flatnonzero(leaks)), matrix, hint="not their row numbers")
    rejects(check, matrix[leaks], matrix, hint="keep its column 'protocol'")
    rejects(check, ["label only"], matrix, hint="not a protocol of the table")
    rejects(check, None, matrix, hint="no answer yet")


def recovery_tables(label_only_recovered: int = 1):
    """A threshold-recovery table and a label-only curve shaped as notebook 10's (made-up values)."""
    import pandas as pd

    recovery = pd.DataFrame({
        "protocol": ["original (no blinding)", "blinded (basic mode)", "label-only"],
        "queries": [1, 60, 60], "thresholds": [15, 15, 15],
        "recovered": [15, 15, label_only_recovered]})
    recovery["rate"] = recovery["recovered"] / recovery["thresholds"]
    curve = pd.DataFrame({"budget": [60, 100, 300, 1000, 3000], "queries": [60, 100, 300, 1000, 3000],
                          "recovered": [label_only_recovered, 5, 11, 15, 15], "thresholds": 15})
    return recovery, curve


def test_check_10_label_only_query_ratio(heart):
    recovery, curve = recovery_tables()
    check = labs.check_10_label_only_query_ratio
    message = accepts(labs.check_10_label_only_query_ratio, 1000 / 60, recovery, curve)
    assert "needs 1000 queries to recover all 15 of the 15 thresholds" in message and "16.7 times" in message
    accepts(check, 16.67, recovery, curve)
    accepts(check, np.float64(1000) / np.int64(60), recovery, curve)
    rejects(check, 60 / 1000, recovery, curve, hint="inverted")
    rejects(check, 1000, recovery, curve, hint="divide it by the queries")
    rejects(check, 1000 - 60, recovery, curve, hint="difference")
    rejects(check, 15.0, recovery, curve, hint="thresholds recovered with the same budget")
    rejects(check, 3000 / 60, recovery, curve, hint="largest budget")
    rejects(check, 17, recovery, curve, hint="two decimals")
    rejects(check, 5.0, recovery, curve, hint="first row whose recovered")
    rejects(check, None, recovery, curve, hint="no answer yet")
    # recomputed from the tables passed in: another run, another answer
    recovery2, curve2 = recovery_tables(label_only_recovered=2)
    curve2.loc[2, "recovered"] = 15
    accepts(check, 300 / 60, recovery2, curve2)
    rejects(check, 1000 / 60, recovery2, curve2, hint="first row whose recovered")
    short = curve[curve["queries"] < 1000]
    assert "still recovers fewer" in accepts(check, None, recovery, short)
    rejects(check, 5.0, recovery, short, hint="answer is None")
    # the real label-only curve of the course's tree (plaintext oracle: fast and exact)
    from encmed_lib.evaluation import label_boundary_curve

    X_train, tree = heart[2], heart[-1]
    real = label_boundary_curve(tree, X_train, (60, 1000), seed=0)
    right = real.loc[real["recovered"] >= 15, "queries"].min() / 60
    accepts(check, right, recovery, real)


def test_every_checker_is_tested_and_used_by_a_notebook():
    # the checkers' tests live in test_labs.py and test_labs_*.py
    source = " ".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_labs*.py"))
    notebooks = " ".join(c.source for name in LAB_NOTEBOOKS
                         for c in nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells)
    for name in CHECKERS:
        assert f"labs.{name}," in source, f"{name} has no unit test"
        assert f"labs.{name}(" in notebooks, f"no notebook calls {name}"


# ------------------------------------------------------- the notebooks' labs
def exercise_cells(nb):
    """The cells after the "## Exercises" heading."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.startswith("## Exercises"):
            return nb.cells[i + 1:]
    return []


@pytest.mark.parametrize("name", LAB_NOTEBOOKS)
def test_notebook_ends_with_two_to_four_checked_exercises(name):
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    cells = exercise_cells(nb)
    assert cells, "no '## Exercises' section"
    assert cells[0].cell_type == "code" and cells[0].source == "from encmed_lib import labs"
    rest = cells[1:]
    assert len(rest) % 3 == 0 and 2 <= len(rest) // 3 <= 4
    for k in range(0, len(rest), 3):
        task, solution, check = rest[k:k + 3]
        assert task.cell_type == "markdown" and task.source.startswith(f"**Exercise {k // 3 + 1} ·")
        assert solution.cell_type == "code" and labs.SOLUTION_BEGIN in solution.source
        body = "\n".join(line for line in check.source.splitlines() if not line.startswith("#"))  # markers
        assert check.cell_type == "code" and re.fullmatch(r"print\(labs\.check_\w+\(.*\)\)", body)
        checker = re.match(r"print\(labs\.(check_\w+)\(", body).group(1)
        assert checker in CHECKERS and checker.startswith(f"check_{name[:2]}_")
        assert [o.text for o in check.outputs] and check.outputs[0].text.startswith("✓ correct: ")


# ------------------------------------------------------ the student versions
@pytest.fixture(scope="module")
def lab_sources(tmp_path_factory):
    """A copy of notebooks 01-09 (the other notebooks may be mid-edit by their authors)."""
    src = tmp_path_factory.mktemp("src")
    for name in LAB_NOTEBOOKS:
        shutil.copy(NOTEBOOKS_DIR / name, src / name)
    return src


@pytest.fixture(scope="module")
def students(lab_sources, tmp_path_factory):
    dest = tmp_path_factory.mktemp("students")
    return labs.make_student_versions(lab_sources, dest)


def solution_lines(path):
    """The stripped lines between the solution markers of a notebook's code cells."""
    lines = []
    for cell in nbformat.read(path, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == labs.SOLUTION_BEGIN:
                inside = True
            elif line.strip() == labs.SOLUTION_END:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
        for block in re.findall(r"<!-- BEGIN SOLUTION -->(.*?)<!-- END SOLUTION -->", cell.source, re.S):
            lines.extend(line.strip() for line in block.splitlines() if line.strip())
    return lines


def test_generator_is_deterministic(lab_sources, students, tmp_path):
    again = labs.make_student_versions(lab_sources, tmp_path)
    assert [p.name for p in again] == [p.name for p in students] == LAB_NOTEBOOKS
    for first, second in zip(students, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_generator_leaves_no_solution_and_no_output(lab_sources, students):
    for path in students:
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        secrets = solution_lines(lab_sources / path.name)
        assert secrets, f"{path.name} has no solution"
        student_lines = {line.strip() for c in nbformat.read(path, as_version=4).cells
                         for line in c.source.splitlines()}
        assert not [line for line in secrets if line in student_lines], path.name
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        source_nb = nbformat.read(lab_sources / path.name, as_version=4)
        assert [c.id for c in nb.cells] == [c.id for c in source_nb.cells]
        for cell in nb.cells:
            assert "execution" not in cell.metadata
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
        stubs = [c for c in nb.cells if c.cell_type == "code" and labs.STUB in c.source]
        assert len(stubs) == len([c for c in source_nb.cells if labs.SOLUTION_BEGIN in c.source])
    md = nbformat.read(students[2], as_version=4)  # 03 has a written answer too
    assert any(labs.MARKDOWN_STUB in c.source for c in md.cells if c.cell_type == "markdown")


def test_student_notebook_runs_until_the_exercises_and_fails_helpfully(students):
    """Executed with allow_errors: the course cells run; every exercise cell and every check fails."""
    nb = nbformat.read(students[0], as_version=4)  # 01_data: the quickest to run
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(NOTEBOOKS_DIR)}}).execute()
    start = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Exercises"))
    errors = {i: next((o.ename for o in c.outputs if o.output_type == "error"), None)
              for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    assert all(errors[i] is None for i in errors if i < start), "a course cell failed"
    solutions = [i for i in errors if labs.STUB in nb.cells[i].source]
    checks = [i for i in errors if "labs.check_" in nb.cells[i].source]
    assert len(solutions) == len(checks) == 3
    assert all(errors[i] == "NotImplementedError" for i in solutions)
    assert all(errors[i] in ("NameError", "NotImplementedError") for i in checks)
    assert not any("✓ correct" in o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_strip_code_solution_keeps_the_indentation_and_the_rest():
    source = "x = 1\nif x:\n    ### BEGIN SOLUTION\n    y = 2\n    ### END SOLUTION\nprint(y)"
    stripped, count = labs.strip_code_solution(source)
    assert count == 1
    assert stripped == f"x = 1\nif x:\n    {labs.STUB}\nprint(y)"
    with pytest.raises(NotImplementedError, match="Exercise: write your solution here"):
        exec(compile(stripped, "<student>", "exec"), {})


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION\nx = 1",
    "x = 1\n### END SOLUTION",
    "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
])
def test_unbalanced_code_markers_are_refused(source):
    with pytest.raises(LabFormatError):
        labs.strip_code_solution(source)


def test_markdown_solutions_are_replaced():
    text, count = labs.strip_markdown_solution(
        "Why?\n\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->\n\nNext.")
    assert (text, count) == (f"Why?\n\n{labs.MARKDOWN_STUB}\n\nNext.", 1)
    with pytest.raises(LabFormatError):
        labs.strip_markdown_solution("<!-- BEGIN SOLUTION -->\nno end")


def test_old_notebooks_without_cell_ids_get_stable_ids(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 99"),
                nbformat.v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")]
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(nb, src / "99_old.ipynb", version=nbformat.NO_CONVERT)
    first = labs.make_student_versions(src, tmp_path / "a")[0].read_bytes()
    second = labs.make_student_versions(src, tmp_path / "b")[0].read_bytes()
    assert first == second and b"answer = 42" not in first


def test_generator_refuses_to_overwrite_the_notebooks(lab_sources, tmp_path):
    with pytest.raises(ValueError, match="another folder"):
        labs.make_student_versions(lab_sources, lab_sources)
    with pytest.raises(FileNotFoundError):
        labs.make_student_versions(tmp_path / "empty", tmp_path / "out")


def test_cli_writes_the_student_versions(lab_sources, tmp_path, capsys):
    labs.main(["students", "--src", str(lab_sources), "--dest", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "01_data.ipynb: 3 exercise(s) to solve" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == LAB_NOTEBOOKS


def test_nbgrader_layout_and_metadata(tmp_path):
    from encmed_lib.labs.students import make_nbgrader_source, make_student_versions

    written = make_nbgrader_source(tmp_path)
    assert len(written) == 10 and all(p.parent.parent.name == "source" and p.parent.name == p.stem
                                      for p in written)
    for path in written:
        cells = nbformat.read(path, as_version=4).cells
        meta = [c.metadata["nbgrader"] for c in cells if "nbgrader" in c.metadata]
        solutions = [m for m in meta if m["solution"]]
        graded = [m for m in meta if m["grade"] and not m["solution"]]
        assert len(solutions) >= 2 and len(graded) >= 2, path.name
        assert len({m["grade_id"] for m in meta}) == len(meta)  # unique ids
        assert all(m["schema_version"] == 3 and (not m["grade"] or m["points"] == 1) for m in meta)
        assert any("### BEGIN SOLUTION" in c.source for c in cells)  # the source keeps its solutions
    students = make_student_versions(dest=tmp_path / "students")
    first = nbformat.read(students[0], as_version=4).cells
    assert any(c.metadata.get("nbgrader", {}).get("solution") for c in first)
    assert not any("### BEGIN SOLUTION" in c.source for c in first)
