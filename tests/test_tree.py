"""Tests of encmed_lib.tree: training helpers, PortableTree and draw_tree."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted

from encmed_lib import tree as tree_module
from encmed_lib.data.heart import FEATURES, load_heart
from encmed_lib.errors import DataFormatError, ModelNotFittedError, UnsupportedModelError
from encmed_lib.models.drawing import course_colours_dot
from encmed_lib.tree import (
    FORMAT,
    FORMAT_VERSION,
    Evaluation,
    PortableTree,
    as_portable,
    depth_curve,
    draw_tree,
    ensure_fitted,
    evaluate,
    gini_impurity,
    node_fill,
    split_data,
    split_gini,
    train_tree,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def heart(tmp_path_factory):
    """The heart sample, from a file the test writes (same generator as the bundled one)."""
    from encmed_lib.data.samples import write_heart_sample

    path = write_heart_sample(tmp_path_factory.mktemp("heart") / "heart.data")
    return load_heart(path)


@pytest.fixture(scope="module")
def heart_split(heart):
    X, y = heart
    return split_data(X, y, test_size=0.3, random_state=0)


@pytest.fixture(scope="module")
def breast_cancer():
    data = load_breast_cancer(as_frame=True)
    return data.data, data.target


@pytest.fixture(scope="module")
def iris_strings():
    data = load_iris(as_frame=True)
    return data.data, np.array(["a", "b", "c"])[data.target.to_numpy()]


def _case(name, request):
    """(fitted model, X as a DataFrame with the model's feature names, y) for one tree case."""
    if name.startswith("heart"):
        X, y = request.getfixturevalue("heart")
        depth = {"heart-2": 2, "heart-4": 4, "heart-None": None}[name]
        return train_tree(X, y, max_depth=depth), X, y
    if name == "breast_cancer":
        X, y = request.getfixturevalue("breast_cancer")
        return train_tree(X, y, max_depth=None), X, y
    if name == "iris-strings":
        X, y = request.getfixturevalue("iris_strings")
        return train_tree(X, y, max_depth=None), X, y
    if name == "sample_weight":
        X, y = request.getfixturevalue("heart")
        weight = np.random.default_rng(3).uniform(0.2, 3.0, len(y))
        model = DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, y, sample_weight=weight)
        return model, X, y
    if name == "numpy":
        X, y = request.getfixturevalue("breast_cancer")
        model = train_tree(X.to_numpy(), y.to_numpy(), max_depth=6)
        return model, pd.DataFrame(X.to_numpy(), columns=[f"x{i}" for i in range(X.shape[1])]), y
    if name == "constant-target":
        X, y = request.getfixturevalue("heart")
        return train_tree(X, np.zeros(len(X), dtype=int)), X, y
    raise AssertionError(name)


CASES = ["heart-2", "heart-4", "heart-None", "breast_cancer", "iris-strings", "sample_weight", "numpy",
         "constant-target"]


@pytest.fixture(params=CASES)
def case(request):
    return _case(request.param, request)


def round_trip(model) -> DecisionTreeClassifier:
    return PortableTree.from_json(PortableTree.from_sklearn(model).to_json()).to_sklearn()


def model_input(model, X: pd.DataFrame):
    """What ``model`` was fitted on: a DataFrame, or a bare array when it has no feature names."""
    return X if hasattr(model, "feature_names_in_") else X.to_numpy()


# --------------------------------------------------------------- training
def test_train_tree_returns_a_fitted_tree(heart):
    X, y = heart
    for depth in (1, 3, None):
        model = train_tree(X, y, max_depth=depth)
        assert isinstance(model, DecisionTreeClassifier)
        check_is_fitted(model)
        assert model.max_depth == depth
        if depth is not None:
            assert model.get_depth() <= depth
        assert list(model.feature_names_in_) == FEATURES
    assert train_tree(X, y).max_depth == 4
    assert train_tree(X, y, min_samples_leaf=20).min_samples_leaf == 20


def test_train_tree_is_reproducible(heart):
    X, y = heart
    a = train_tree(X, y, max_depth=None, random_state=5).tree_.__getstate__()
    b = train_tree(X, y, max_depth=None, random_state=5).tree_.__getstate__()
    assert np.array_equal(a["nodes"], b["nodes"])
    assert np.array_equal(a["values"], b["values"])


def test_split_data_is_stratified_and_seeded(heart):
    X, y = heart
    X_train, X_test, y_train, y_test = split_data(X, y)
    assert len(X_test) == int(np.ceil(0.3 * len(X)))
    assert len(X_train) + len(X_test) == len(X)
    assert set(X_train.index).isdisjoint(X_test.index)
    assert (X_train.index == y_train.index).all() and (X_test.index == y_test.index).all()
    for part in (y_train, y_test):
        assert abs(part.mean() - y.mean()) <= 1 / len(part) + 1e-12
    again = split_data(X, y)
    assert list(again[1].index) == list(X_test.index)
    other = split_data(X, y, random_state=1)
    assert list(other[1].index) != list(X_test.index)
    assert len(split_data(X, y, test_size=0.5)[1]) == len(X) // 2


def test_evaluate_matches_sklearn(heart_split):
    X_train, X_test, y_train, y_test = heart_split
    model = train_tree(X_train, y_train)
    ev = evaluate(model, X_test, y_test)
    assert isinstance(ev, Evaluation)
    assert ev.accuracy == accuracy_score(y_test, model.predict(X_test))
    assert ev.confusion.sum() == len(y_test)
    assert ev.confusion.shape == (2, 2)
    assert np.trace(ev.confusion) == round(ev.accuracy * len(y_test))
    assert ev.labels == [0, 1]
    assert ev.majority_accuracy == y_test.value_counts(normalize=True).max()
    assert "accuracy" in str(ev) and str(len(y_test)) in str(ev)


def test_evaluate_with_string_labels(iris_strings):
    X, y = iris_strings
    model = train_tree(X, y, max_depth=2)
    ev = evaluate(model, X, y)
    assert ev.labels == ["a", "b", "c"]
    assert ev.confusion.sum() == len(y)
    assert ev.accuracy == accuracy_score(y, model.predict(X))


def test_depth_curve(heart_split):
    X_train, X_test, y_train, y_test = heart_split
    depths = list(range(1, 9))
    curve = depth_curve(X_train, y_train, X_test, y_test, depths)
    assert list(curve.columns) == ["max_depth", "train_accuracy", "test_accuracy", "n_leaves"]
    assert curve["max_depth"].tolist() == depths
    assert curve["train_accuracy"].is_monotonic_increasing
    assert (curve["n_leaves"] <= 2 ** curve["max_depth"]).all()
    for _, row in curve.iterrows():
        model = train_tree(X_train, y_train, max_depth=int(row["max_depth"]))
        assert row["test_accuracy"] == evaluate(model, X_test, y_test).accuracy


# ------------------------------------------------------------ round trip
def test_round_trip_gives_identical_arrays_and_predictions(case):
    model, X, _ = case
    back = round_trip(model)
    before, after = model.tree_.__getstate__(), back.tree_.__getstate__()
    assert after["nodes"].dtype == before["nodes"].dtype
    for name in before["nodes"].dtype.names:
        assert np.array_equal(after["nodes"][name], before["nodes"][name]), name
    assert np.array_equal(after["nodes"], before["nodes"])
    assert after["values"].dtype == before["values"].dtype
    assert np.array_equal(after["values"], before["values"])
    assert after["node_count"] == before["node_count"]
    assert after["max_depth"] == before["max_depth"]
    assert np.array_equal(back.classes_, model.classes_)
    assert back.n_features_in_ == model.n_features_in_

    X_model = model_input(model, X)
    assert np.array_equal(back.predict(X), model.predict(X_model))
    assert np.array_equal(back.predict_proba(X), model.predict_proba(X_model))
    assert np.array_equal(back.apply(X), model.apply(X_model))


def test_portable_predict_matches_sklearn_on_every_row(case):
    model, X, _ = case
    portable = PortableTree.from_sklearn(model)
    expected = model.predict(model_input(model, X))
    assert np.array_equal(portable.predict(X), expected)
    # leaf by leaf, not only label by label
    # float32(x) <= t with t a float64, as scikit-learn compares
    leaves = [portable.walk(lambda n, r=row: float(np.float32(r[n.feature])) <= n.threshold)
              for _, row in X.iterrows()]
    assert leaves == model.apply(model_input(model, X)).tolist()


def test_round_trip_keeps_names_and_classes(breast_cancer, iris_strings):
    X, y = breast_cancer
    assert PortableTree.from_sklearn(train_tree(X, y)).feature_names == list(X.columns)
    numpy_tree = PortableTree.from_sklearn(train_tree(X.to_numpy(), y.to_numpy()))
    assert numpy_tree.feature_names == [f"x{i}" for i in range(30)]
    assert numpy_tree.classes == [0, 1]
    assert all(type(c) is int for c in numpy_tree.classes)
    X3, y3 = iris_strings
    portable = PortableTree.from_json(PortableTree.from_sklearn(train_tree(X3, y3)).to_json())
    assert portable.classes == ["a", "b", "c"]
    assert list(portable.to_sklearn().classes_) == ["a", "b", "c"]


def test_explicit_feature_names(breast_cancer):
    X, y = breast_cancer
    model = train_tree(X.to_numpy(), y.to_numpy(), max_depth=3)
    names = [f"f_{i}" for i in range(30)]
    portable = PortableTree.from_sklearn(model, feature_names=names)
    assert portable.feature_names == names
    assert set(portable.used_features) <= set(names)
    with pytest.raises(ValueError, match="3 feature names for a tree fitted on 30 features"):
        PortableTree.from_sklearn(model, feature_names=["a", "b", "c"])


def test_multi_output_tree_is_refused(heart):
    X, y = heart
    model = DecisionTreeClassifier(max_depth=2).fit(X, np.column_stack([y, 1 - y]))
    with pytest.raises(ValueError, match="single-output"):
        PortableTree.from_sklearn(model)


def test_json_is_plain_and_save_load(tmp_path, heart):
    X, y = heart
    model = train_tree(X, y)
    portable = PortableTree.from_sklearn(model)
    data = json.loads(portable.to_json())
    assert data["format"] == FORMAT and data["version"] == FORMAT_VERSION
    assert data["feature_names"] == FEATURES
    assert "NaN" not in portable.to_json()
    saved = portable.save(tmp_path / "tree.json")
    loaded = PortableTree.load(saved)
    assert loaded == portable
    assert np.array_equal(loaded.to_sklearn().predict(X), model.predict(X))


def test_counts_are_weighted_class_counts(heart):
    X, y = heart
    portable = PortableTree.from_sklearn(train_tree(X, y, max_depth=3))
    root = portable.nodes[0]
    assert root.n_samples == len(y)
    assert root.counts == pytest.approx([(y == 0).sum(), (y == 1).sum()])
    for node in portable.nodes:
        assert sum(node.counts) == pytest.approx(node.weighted_n_samples)


# --------------------------------------------------------- threshold exactness
def _threshold_rows(model, X: pd.DataFrame) -> pd.DataFrame:
    """For every internal node: a row that reaches it, with the node's feature set to
    float32(t) and to one float32 step below and above."""
    t = model.tree_
    paths = model.decision_path(model_input(model, X)).tocsc()
    rows = []
    for j in range(t.node_count):
        if t.children_left[j] == -1:
            continue
        base = X.iloc[paths[:, [j]].nonzero()[0][0]].copy()
        t32 = np.float32(t.threshold[j])
        for x in (np.nextafter(t32, np.float32(-np.inf)), t32, np.nextafter(t32, np.float32(np.inf))):
            row = base.copy()
            row.iloc[t.feature[j]] = float(x)
            rows.append(row)
    return pd.DataFrame(rows).astype("float64").reset_index(drop=True)


@pytest.mark.parametrize("name", ["heart-2", "heart-4", "heart-None", "breast_cancer", "iris-strings"])
def test_round_trip_is_exact_on_threshold_rows(request, name):
    model, X, _ = _case(name, request)
    rows = _threshold_rows(model, X)
    back = round_trip(model)
    assert np.array_equal(back.predict(rows), model.predict(rows))
    assert np.array_equal(back.apply(rows), model.apply(rows))


# Regression: PortableTree.predict_one once compared np.float32(x) <= threshold with a Python
# float threshold; under NumPy 2 (NEP 50) that comparison runs in float32 and rounds the threshold.


@pytest.mark.parametrize("name", ["heart-4", "breast_cancer", "iris-strings"])
def test_portable_predict_is_exact_on_threshold_rows(request, name):
    model, X, _ = _case(name, request)
    rows = _threshold_rows(model, X)
    assert np.array_equal(PortableTree.from_sklearn(model).predict(rows), model.predict(rows))


def test_portable_predict_on_threshold_rows_of_a_shallow_tree(request):
    # depth 2: every threshold is a float32 value or rounds down, so the bug above does not show
    model, X, _ = _case("heart-2", request)
    rows = _threshold_rows(model, X)
    assert np.array_equal(PortableTree.from_sklearn(model).predict(rows), model.predict(rows))


def _stump_on_adjacent_float32():
    """Two adjacent float32 values a < b (a with an odd significand): the threshold is the
    float64 midpoint, which rounds to b in float32."""
    a = np.nextafter(np.float32(100), np.float32(200))
    b = np.nextafter(a, np.float32(200))
    X = pd.DataFrame({"x": [float(a)] * 3 + [float(b)] * 3})
    y = np.array([0, 0, 0, 1, 1, 1])
    return train_tree(X, y, max_depth=1), X, y, b


def test_stump_threshold_between_adjacent_float32():
    model, X, y, b = _stump_on_adjacent_float32()
    t = model.tree_.threshold[0]
    assert float(X["x"].iloc[0]) < t < float(b)
    assert np.float32(t) == b  # the float64 threshold is not a float32 value
    assert np.array_equal(model.predict(X), y)
    assert np.array_equal(round_trip(model).predict(X), y)


def test_portable_predict_on_adjacent_float32_training_values():
    model, X, y, _ = _stump_on_adjacent_float32()
    portable = PortableTree.from_sklearn(model)
    assert np.array_equal(portable.predict(X), model.predict(X))  # [0 0 0 1 1 1]; portable: all 0


# ---------------------------------------------------------------- validate
@pytest.fixture
def tree_dict(heart):
    X, y = heart
    return PortableTree.from_sklearn(train_tree(X, y, max_depth=4)).to_dict()


def _second_internal(data: dict) -> int:
    return [n["id"] for n in data["nodes"] if n["feature"] is not None][1]


def test_from_dict_accepts_its_own_output(tree_dict):
    assert PortableTree.from_dict(copy.deepcopy(tree_dict)).to_dict() == tree_dict


@pytest.mark.parametrize("breakage, message", [
    ("format", "not a portable tree: expected a JSON object with format 'encmed-tree'"),
    ("no-format", "not a portable tree"),
    ("not-a-dict", "not a portable tree"),
    ("version", "portable tree version 2 is not supported (expected 1)"),
    ("child-backwards", "child 0 must be a new node id in"),
    ("child-twice", "must be a new node id in"),
    ("child-out-of-range", "must be a new node id in"),
    ("unknown-feature", "unknown feature 'bogus'"),
    ("nan-threshold", "threshold must be a finite number"),
    ("inf-threshold", "threshold must be a finite number"),
    ("missing-threshold", "threshold must be a finite number"),
    ("value-length", "1 values for 2 classes"),
    ("id", "has id 7: ids must be 0.."),
    ("no-nodes", "at least one node"),
    ("orphan", "every node but the root must be the child of exactly one node"),
    ("missing-key", "malformed portable tree"),
    ("unknown-node-field", "malformed portable tree"),
])
def test_validate_rejects_broken_trees(tree_dict, breakage, message):
    data = copy.deepcopy(tree_dict)
    j = _second_internal(data)
    node = data["nodes"][j]
    if breakage == "format":
        data["format"] = "sklearn-tree"
    elif breakage == "no-format":
        del data["format"]
    elif breakage == "not-a-dict":
        data = [data]
    elif breakage == "version":
        data["version"] = 2
    elif breakage == "child-backwards":
        node["left"] = 0
    elif breakage == "child-twice":
        node["right"] = node["left"]
    elif breakage == "child-out-of-range":
        node["right"] = len(data["nodes"])
    elif breakage == "unknown-feature":
        node["feature"] = "bogus"
    elif breakage == "nan-threshold":
        node["threshold"] = float("nan")
    elif breakage == "inf-threshold":
        node["threshold"] = float("inf")
    elif breakage == "missing-threshold":
        node["threshold"] = None
    elif breakage == "value-length":
        node["value"] = [1.0]
    elif breakage == "id":
        node["id"] = 7 if j != 7 else 8
    elif breakage == "no-nodes":
        data["nodes"] = []
    elif breakage == "orphan":
        leaf = {**data["nodes"][0], "feature": None, "threshold": None, "left": None, "right": None}
        data["nodes"] = [leaf, {**leaf, "id": 1}]
    elif breakage == "missing-key":
        del data["feature_names"]
    elif breakage == "unknown-node-field":
        node["colour"] = "red"
    # through JSON text as a file would arrive (json writes NaN/Infinity and reads them back)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        PortableTree.from_json(json.dumps(data))
    if breakage in ("child-backwards", "child-twice", "unknown-feature", "nan-threshold", "value-length"):
        assert f"node {j}" in str(info.value)


# -------------------------------------------------------- errors & helpers
def test_as_portable(heart):
    X, y = heart
    model = train_tree(X, y, max_depth=2)
    portable = as_portable(model)
    assert isinstance(portable, PortableTree)
    assert as_portable(portable) is portable
    for other in (LogisticRegression(), DecisionTreeRegressor()):  # models of another kind
        with pytest.raises(UnsupportedModelError,
                           match="expected a DecisionTreeClassifier or a PortableTree"):
            as_portable(other)
    for other in ("tree", None, portable.to_dict()):  # not models at all
        with pytest.raises(TypeError, match="expected a DecisionTreeClassifier or a PortableTree"):
            as_portable(other)


def test_unfitted_tree_raises_model_not_fitted(tmp_path):
    unfitted = DecisionTreeClassifier(max_depth=3)
    for call in (lambda: PortableTree.from_sklearn(unfitted), lambda: as_portable(unfitted),
                 lambda: ensure_fitted(unfitted), lambda: draw_tree(unfitted, tmp_path / "t.png")):
        with pytest.raises(ModelNotFittedError, match=r"not fitted yet: call fit\(X, y\)"):
            call()
    assert not (tmp_path / "t.png").exists()
    assert issubclass(ModelNotFittedError, ValueError)


def test_structure_matches_sklearn(case):
    model, X, _ = case
    portable = PortableTree.from_sklearn(model)
    t = model.tree_
    assert len(portable.nodes) == t.node_count
    assert len(portable.internal_nodes()) + len(portable.leaves()) == t.node_count
    assert len(portable.leaves()) == model.get_n_leaves()
    assert portable.depth == model.get_depth()
    names = portable.feature_names
    used = {names[f] for f in t.feature[t.children_left != -1]}
    assert portable.used_features == [f for f in names if f in used]
    assert all(n.is_leaf == (t.children_left[n.id] == -1) for n in portable.nodes)
    for leaf in portable.leaves():
        assert leaf.left is None and leaf.right is None and leaf.threshold is None
        assert portable.leaf_label(leaf.id) == model.classes_[np.argmax(t.value[leaf.id, 0])]
    for node in portable.internal_nodes():
        assert node.left > node.id and node.right > node.id
        assert node.threshold == t.threshold[node.id]


def test_predict_one_takes_a_mapping(heart):
    X, y = heart
    model = train_tree(X, y)
    portable = PortableTree.from_sklearn(model)
    for i in range(10):
        assert portable.predict_one(X.iloc[i].to_dict()) == model.predict(X.iloc[[i]])[0]


# ----------------------------------------------------------------- drawing
@pytest.fixture(scope="module")
def small_tree(heart):
    X, y = heart
    return train_tree(X, y, max_depth=2)


@pytest.mark.skipif(tree_module.shutil.which("dot") is None, reason="graphviz 'dot' is not installed")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pydotplus")  # pyparsing 3 renames, third-party
def test_draw_tree_png_and_svg_with_graphviz(tmp_path, small_tree, capsys):
    png = draw_tree(small_tree, tmp_path / "t.png")
    assert png == tmp_path / "t.png"
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    svg = draw_tree(small_tree, tmp_path / "sub" / "t.svg")
    text = svg.read_text()
    assert "<svg" in text and "</svg>" in text
    root_feature = FEATURES[small_tree.tree_.feature[0]]
    assert root_feature in text
    assert "disease" in text
    # a PortableTree is drawn too, and fmt overrides the suffix
    other = draw_tree(PortableTree.from_sklearn(small_tree), tmp_path / "t.img", fmt="png")
    assert other.read_bytes().startswith(PNG_MAGIC)
    assert capsys.readouterr().out == ""


def test_draw_tree_falls_back_to_matplotlib(tmp_path, small_tree, monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.setattr(tree_module.shutil, "which", lambda name, *a, **k: None)
    png = draw_tree(small_tree, tmp_path / "t.png")
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    assert "plot_tree" in out
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    import matplotlib.image

    assert matplotlib.image.imread(png).ndim == 3
    svg = draw_tree(small_tree, tmp_path / "t.svg", verbose=False)
    assert capsys.readouterr().out == ""
    assert "<svg" in svg.read_text()


# ----------------------------------------------------------------- Gini
def test_gini_impurity_definition_and_sklearn(heart):
    assert gini_impurity([3, 1]) == pytest.approx(1 - (3 / 4) ** 2 - (1 / 4) ** 2)
    assert gini_impurity([5, 0]) == 0.0
    assert gini_impurity([7, 7]) == pytest.approx(0.5)
    assert gini_impurity([1, 1, 1]) == pytest.approx(2 / 3)  # 1 - 1/K for K equal classes
    assert gini_impurity([0.25, 0.75]) == gini_impurity([1, 3])  # shares or counts alike
    # scikit-learn's stored impurity of every node, from the node's class counts
    X, y = heart
    model = train_tree(X, y, max_depth=3)
    counts = model.tree_.value[:, 0, :] * model.tree_.weighted_n_node_samples[:, None]
    for node in range(model.tree_.node_count):
        assert gini_impurity(counts[node]) == pytest.approx(model.tree_.impurity[node], abs=1e-12)


def test_split_gini_picks_the_roots_question(heart):
    X, y = heart
    assert split_gini([3, 1], [0, 4]) == pytest.approx(0.5 * 0.375)
    labels = y.to_numpy().astype(int)
    total = np.bincount(labels, minlength=2)
    model = train_tree(X, y, max_depth=1)
    root_feature, root_threshold = X.columns[model.tree_.feature[0]], model.tree_.threshold[0]
    best = min(
        (split_gini(left, total - left), feature, t)
        for feature in X.columns
        for values in [np.unique(X[feature])]
        for t in (values[:-1] + values[1:]) / 2
        for left in [np.bincount(labels[X[feature].to_numpy() <= t], minlength=2)]
    )
    assert best[1] == root_feature and best[2] == pytest.approx(root_threshold)
    t = model.tree_
    l, r = t.children_left[0], t.children_right[0]
    n = t.weighted_n_node_samples
    expected = (n[l] * t.impurity[l] + n[r] * t.impurity[r]) / n[0]
    assert best[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("bad", [[], [0, 0], [-1, 2], [float("nan"), 1], [float("inf"), 1]])
def test_gini_rejects_bad_counts(bad):
    with pytest.raises(DataFormatError, match="counts"):
        gini_impurity(bad)


def test_split_gini_rejects_mismatched_sides():
    with pytest.raises(DataFormatError, match="same number of classes"):
        split_gini([1, 2], [1, 2, 3])


# ----------------------------------------------------------------- colours of the drawing
def test_node_fill_uses_the_course_class_colours():
    from encmed_lib.colours import CLASS_COLOURS

    assert node_fill([0, 10]) == CLASS_COLOURS[1].lower()  # pure disease: the disease colour
    assert node_fill([10, 0]) == CLASS_COLOURS[0].lower()
    assert node_fill([5, 5]) == "#ffffff"  # a 50/50 node is white
    pale, strong = node_fill([4, 6]), node_fill([1, 9])
    rgb = [int(pale[i:i + 2], 16) for i in (1, 3, 5)]
    assert min(rgb) > min(int(strong[i:i + 2], 16) for i in (1, 3, 5))  # less pure, paler
    assert rgb[0] > rgb[2]  # still orange-ish (disease majority): more red than blue


def test_fallback_drawing_fills_each_node_with_its_majority_colour(tmp_path, small_tree, monkeypatch):
    import matplotlib.image

    monkeypatch.setattr(tree_module.shutil, "which", lambda name, *a, **k: None)
    png = draw_tree(small_tree, tmp_path / "t.png", verbose=False)
    image = matplotlib.image.imread(png)[..., :3]
    # the two class colours are both present, and scikit-learn's own orange (#e58139) is not
    def present(hex_colour):
        target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
        return bool((np.abs(image - target).max(axis=2) < 0.02).any())

    t = small_tree.tree_
    leaf_colours = {node_fill(t.value[n][0]) for n in range(t.node_count) if t.children_left[n] == -1}
    assert all(present(c) for c in leaf_colours)
    assert not present("#e58139") and not present("#399de5")


def test_dot_source_gets_the_course_colours(small_tree):
    from sklearn.tree import export_graphviz

    dot = export_graphviz(small_tree, filled=True, rounded=True, impurity=False)
    recoloured = course_colours_dot(dot, small_tree.tree_)
    fills = dict(re.findall(r'^(\d+) \[.*fillcolor="(#[0-9a-f]+)"', recoloured, flags=re.M))
    t = small_tree.tree_
    assert fills == {str(n): node_fill(t.value[n][0]) for n in range(t.node_count)}
    assert recoloured.replace(" ", "").count("->") == dot.replace(" ", "").count("->")  # edges kept


# ----------------------------------------------- models and JSON of every kind (issue 12)
def test_fitted_random_forest_is_unsupported_not_unfitted(heart):
    from sklearn.ensemble import RandomForestClassifier

    X, y = heart
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    for call in (lambda: as_portable(forest), lambda: ensure_fitted(forest),
                 lambda: PortableTree.from_sklearn(forest)):
        with pytest.raises(UnsupportedModelError, match="RandomForestClassifier, an ensemble of 3 models.*"
                           "estimators_") as info:
            call()
        assert not isinstance(info.value, ModelNotFittedError)


def test_encrypted_server_refuses_a_fitted_random_forest_by_name(heart):
    from sklearn.ensemble import RandomForestClassifier

    from encmed_lib.protocol.server import TreeServer

    X, y = heart
    forest = RandomForestClassifier(n_estimators=2, max_depth=2, random_state=0).fit(X, y)
    with pytest.raises(UnsupportedModelError, match="an ensemble"):
        TreeServer(forest)


def test_fitted_regressor_is_unsupported(heart):
    X, y = heart
    regressor = DecisionTreeRegressor(max_depth=2).fit(X, y.astype(float))
    with pytest.raises(UnsupportedModelError, match="DecisionTreeRegressor, a regressor"):
        as_portable(regressor)
    with pytest.raises(UnsupportedModelError, match="a regressor"):
        ensure_fitted(regressor)


def test_multi_output_tree_is_an_unsupported_model(heart):
    X, y = heart
    model = DecisionTreeClassifier(max_depth=2).fit(X, np.column_stack([y, 1 - y]))
    with pytest.raises(UnsupportedModelError, match="fitted on 2 outputs"):
        as_portable(model)


def test_unfitted_tree_is_still_model_not_fitted():
    with pytest.raises(ModelNotFittedError):
        as_portable(DecisionTreeClassifier())
    assert issubclass(UnsupportedModelError, ValueError)


def _json_with(tree_dict, **node_changes) -> str:
    data = copy.deepcopy(tree_dict)
    data["nodes"][_second_internal(data)].update(node_changes)
    return json.dumps(data)


def test_threshold_as_a_string_is_a_data_format_error(tree_dict):
    j = _second_internal(tree_dict)
    with pytest.raises(DataFormatError, match=re.escape(f"column 'nodes[{j}].threshold'")
                       + ".*not text.*found '0.5'"):
        PortableTree.from_json(_json_with(tree_dict, threshold="0.5"))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinite_threshold_is_a_data_format_error(tree_dict, value):
    text = _json_with(tree_dict, threshold=123.25).replace("123.25", value)
    with pytest.raises(DataFormatError, match="threshold must be a finite number"):
        PortableTree.from_json(text)


@pytest.mark.parametrize("child", [-1, -7, 10_000, 1.0, "2", True])
def test_negative_or_out_of_range_child_is_a_data_format_error(tree_dict, child):
    with pytest.raises(DataFormatError, match=r"nodes\[\d+\]"):
        PortableTree.from_json(_json_with(tree_dict, left=child))


def test_cycle_back_to_the_root_is_a_data_format_error(tree_dict):
    with pytest.raises(DataFormatError, match="child 0 must be a new node id"):
        PortableTree.from_json(_json_with(tree_dict, right=0))


def test_self_loop_is_a_data_format_error(tree_dict):
    j = _second_internal(tree_dict)
    with pytest.raises(DataFormatError, match=f"child {j} must be a new node id"):
        PortableTree.from_json(_json_with(tree_dict, left=j))


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("value", [0.5, "0.5"], "finite numbers"),
    ("value", [float("nan"), 1.0], "finite numbers"),
    ("n_samples", 3.5, "an integer"),
    ("weighted_n_samples", None, "a finite number"),
    ("impurity", "low", "a finite number"),
    ("missing_go_to_left", 0, "true or false"),
    ("feature", 3, "a feature name"),
    ("id", "1", "an integer id"),
])
def test_every_node_field_is_type_checked(tree_dict, field, value, fragment):
    with pytest.raises(DataFormatError, match=re.escape(f".{field}'") + ".*" + re.escape(fragment)):
        PortableTree.from_json(_json_with(tree_dict, **{field: value}))


@pytest.mark.parametrize(("change", "field"), [
    ({"classes": []}, "classes"), ({"classes": [0, 0]}, "classes"), ({"classes": [[0], 1]}, "classes"),
    ({"feature_names": "age"}, "feature_names"), ({"feature_names": [1, 2]}, "feature_names"),
    ({"nodes": {"0": {}}}, "nodes"), ({"meta": []}, "meta"), ({"nodes": [3]}, "nodes[0]"),
])
def test_every_top_level_field_is_type_checked(tree_dict, change, field):
    data = {**copy.deepcopy(tree_dict), **change}
    with pytest.raises(DataFormatError, match=re.escape(f"column {field!r}")):
        PortableTree.from_dict(data)


@pytest.mark.parametrize("text", ["", "{", "[" * 100_000, '{"format": 1' + "0" * 5000 + "}",
                                  b"\xff\xfe{}", 42])
def test_unparsable_json_is_a_data_format_error(text):
    with pytest.raises(DataFormatError):
        PortableTree.from_json(text)


def test_from_json_accepts_bytes_and_integer_thresholds(tree_dict):
    data = copy.deepcopy(tree_dict)
    data["nodes"][0]["threshold"] = 130  # JSON has no int/float distinction
    tree = PortableTree.from_json(json.dumps(data).encode())
    assert tree.nodes[0].threshold == 130.0 and isinstance(tree.nodes[0].threshold, float)


def test_single_leaf_tree_round_trips_and_predicts(heart):
    X, y = heart
    stump = train_tree(X, np.zeros(len(y), dtype=int))  # one class: the tree is a single leaf
    portable = as_portable(stump)
    assert len(portable.nodes) == 1 and portable.depth == 0 and portable.used_features == []
    again = PortableTree.from_json(portable.to_json())
    assert again.to_dict() == portable.to_dict()
    assert (again.to_sklearn().predict(X.iloc[:5]) == 0).all()
    assert (again.predict(X.iloc[:5]) == 0).all()


def test_node_fields_of_the_schema_match_the_dataclass():
    from encmed_lib.models.tree_json import NODE_FIELDS
    from encmed_lib.tree import Node

    assert NODE_FIELDS == set(Node.__dataclass_fields__)


def test_load_of_a_binary_file_is_a_data_format_error(tmp_path):
    path = tmp_path / "tree.json"
    path.write_bytes(b"\xff\xfe\x00{")
    with pytest.raises(DataFormatError, match="UTF-8"):
        PortableTree.load(path)
