"""Decision trees: training, a portable form every protocol speaks, and drawing.

A fitted scikit-learn :class:`~sklearn.tree.DecisionTreeClassifier` keeps its
model in ``tree_``: parallel arrays of children, features and thresholds.  An
internal node ``j`` sends a record left when ``float32(x[feature_j]) <=
threshold_j`` (scikit-learn casts inputs to float32 and stores each threshold
as a float64 midpoint between two training values), and a leaf holds the
class distribution of the training records that reached it.

:class:`PortableTree` is the same model as plain data: a list of nodes (feature
*name*, threshold, children, class counts) that serialises to JSON and converts
back to a scikit-learn estimator with identical arrays, so identical
predictions.  The encrypted protocols and the federated trainer all speak it:
a hospital can ship a ``.json`` file instead of a pickle.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree
from sklearn.utils.validation import check_is_fitted

from .errors import ModelNotFittedError, UnsupportedModelError
from .models.drawing import course_colours_dot, node_fill, preorder
from .models.gini import gini_impurity, split_gini  # noqa: F401  (re-exported: notebook 02 imports them here)
from .models.tree_json import bad, check_header, check_node, is_int, is_number, parse_json

FORMAT = "encmed-tree"
FORMAT_VERSION = 1


# ---------------------------------------------------------------- training
def split_data(X: pd.DataFrame, y: pd.Series, *, test_size: float = 0.3,
               random_state: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Stratified held-out split ``(X_train, X_test, y_train, y_test)`` (seeded)."""
    return train_test_split(X, y, test_size=test_size, random_state=random_state, stratify=y)


def train_tree(X: pd.DataFrame, y: pd.Series, *, max_depth: int | None = 4,
               random_state: int = 0, **params: Any) -> DecisionTreeClassifier:
    """Fit a Gini decision tree.

    Parameters
    ----------
    X : pandas.DataFrame
        Training records; the column names become the tree's feature names.
    y : array-like
        Class labels.
    max_depth : int or None
        Depth limit; deeper trees fit the training data better and generalise worse.
    random_state : int
        Seed of scikit-learn's feature permutation (ties between equally good
        splits), so a tree is reproducible.
    **params
        Any other :class:`~sklearn.tree.DecisionTreeClassifier` parameter.
    """
    return DecisionTreeClassifier(max_depth=max_depth, random_state=random_state,
                                  **params).fit(X, y)


@dataclass(frozen=True)
class Evaluation:
    """Held-out performance of a classifier."""

    accuracy: float
    majority_accuracy: float
    confusion: np.ndarray
    labels: list

    def __str__(self) -> str:
        return (f"accuracy {self.accuracy:.3f} (majority class {self.majority_accuracy:.3f}) "
                f"on {int(self.confusion.sum())} records")


def evaluate(model, X: pd.DataFrame, y: pd.Series) -> Evaluation:
    """Accuracy, majority-class baseline and confusion matrix on ``(X, y)``."""
    pred = model.predict(X)
    labels = sorted(pd.unique(np.concatenate([np.asarray(y), np.asarray(pred)])).tolist())
    majority = float(pd.Series(np.asarray(y)).value_counts(normalize=True).iloc[0])
    return Evaluation(float(accuracy_score(y, pred)), majority,
                      confusion_matrix(y, pred, labels=labels), labels)


def depth_curve(X_train, y_train, X_test, y_test, depths=range(1, 11), *,
                random_state: int = 0) -> pd.DataFrame:
    """Train and held-out accuracy of one tree per depth (a table, one row per depth)."""
    rows = []
    for depth in depths:
        model = train_tree(X_train, y_train, max_depth=depth, random_state=random_state)
        rows.append({"max_depth": depth,
                     "train_accuracy": model.score(X_train, y_train),
                     "test_accuracy": model.score(X_test, y_test),
                     "n_leaves": model.get_n_leaves()})
    return pd.DataFrame(rows)


# ---------------------------------------------------------- portable tree
@dataclass
class Node:
    """One node of a :class:`PortableTree`.

    An internal node has a ``feature`` name, a ``threshold`` and two children:
    a record goes ``left`` when ``float32(x[feature]) <= threshold``.  A leaf has
    ``feature = None``.  ``value`` is scikit-learn's per-class weighted fraction
    of the training records at the node; :attr:`counts` turns it into counts.
    """

    id: int
    feature: str | None
    threshold: float | None
    left: int | None
    right: int | None
    value: list[float]
    n_samples: int
    weighted_n_samples: float
    impurity: float = 0.0
    missing_go_to_left: bool = False

    @property
    def is_leaf(self) -> bool:
        return self.feature is None

    @property
    def counts(self) -> list[float]:
        """Weighted class counts of the training records at this node."""
        return [v * self.weighted_n_samples for v in self.value]


@dataclass
class PortableTree:
    """A binary classification tree as plain, JSON-serialisable data.

    Nodes are stored by id, the root is node 0, and every child id is larger
    than its parent's (scikit-learn's depth-first numbering).
    """

    feature_names: list[str]
    classes: list
    nodes: list[Node]
    meta: dict = field(default_factory=dict)

    # -- construction ---------------------------------------------------
    @classmethod
    def from_sklearn(cls, model: DecisionTreeClassifier,
                     feature_names: list[str] | None = None) -> PortableTree:
        """Read a fitted :class:`~sklearn.tree.DecisionTreeClassifier`.

        Raises
        ------
        ModelNotFittedError
            If the tree is not fitted.
        UnsupportedModelError
            For any other model (an ensemble, a regressor) or a multi-output tree.
        """
        ensure_fitted(model)
        if feature_names is None:
            names = getattr(model, "feature_names_in_", None)
            feature_names = ([str(n) for n in names] if names is not None
                             else [f"x{i}" for i in range(model.n_features_in_)])
        if len(feature_names) != model.n_features_in_:
            raise UnsupportedModelError(f"{len(feature_names)} feature names for a tree fitted on "
                             f"{model.n_features_in_} features")
        t = model.tree_
        nodes = []
        for j in range(t.node_count):
            leaf = t.children_left[j] == -1
            nodes.append(Node(
                id=j,
                feature=None if leaf else feature_names[t.feature[j]],
                threshold=None if leaf else float(t.threshold[j]),
                left=None if leaf else int(t.children_left[j]),
                right=None if leaf else int(t.children_right[j]),
                value=[float(v) for v in t.value[j, 0]],
                n_samples=int(t.n_node_samples[j]),
                weighted_n_samples=float(t.weighted_n_node_samples[j]),
                impurity=float(t.impurity[j]),
                missing_go_to_left=bool(t.missing_go_to_left[j]),
            ))
        classes = [_plain(c) for c in model.classes_]
        meta = {"criterion": model.criterion, "max_depth": model.max_depth}
        return cls(list(feature_names), classes, nodes, meta)

    def to_sklearn(self) -> DecisionTreeClassifier:
        """A fitted :class:`~sklearn.tree.DecisionTreeClassifier` with the same arrays."""
        n_classes = len(self.classes)
        index = {name: i for i, name in enumerate(self.feature_names)}
        dtype = Tree(1, np.array([n_classes], dtype=np.intp), 1).__getstate__()["nodes"].dtype
        arr = np.zeros(len(self.nodes), dtype=dtype)
        values = np.zeros((len(self.nodes), 1, n_classes), dtype=np.float64)
        for node in self.nodes:
            j = node.id
            arr[j]["left_child"] = -1 if node.is_leaf else node.left
            arr[j]["right_child"] = -1 if node.is_leaf else node.right
            arr[j]["feature"] = -2 if node.is_leaf else index[node.feature]
            arr[j]["threshold"] = -2.0 if node.is_leaf else node.threshold
            arr[j]["impurity"] = node.impurity
            arr[j]["n_node_samples"] = node.n_samples
            arr[j]["weighted_n_node_samples"] = node.weighted_n_samples
            arr[j]["missing_go_to_left"] = node.missing_go_to_left
            values[j, 0] = node.value
        tree = Tree(len(self.feature_names), np.array([n_classes], dtype=np.intp), 1)
        tree.__setstate__({"max_depth": self.depth, "node_count": len(self.nodes),
                           "nodes": arr, "values": values})
        model = DecisionTreeClassifier(criterion=self.meta.get("criterion", "gini"),
                                       max_depth=self.meta.get("max_depth"))
        model.tree_ = tree
        model.classes_ = np.array(self.classes)
        model.n_classes_ = n_classes
        model.n_outputs_ = 1
        model.n_features_in_ = len(self.feature_names)
        model.feature_names_in_ = np.array(self.feature_names, dtype=object)
        model.max_features_ = len(self.feature_names)
        return model

    # -- JSON ------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": FORMAT_VERSION,
                "feature_names": list(self.feature_names), "classes": list(self.classes),
                "meta": dict(self.meta), "nodes": [asdict(n) for n in self.nodes]}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> PortableTree:
        """Build from :meth:`to_dict` output, checking every field.

        Raises
        ------
        DataFormatError
            Naming the field (``nodes[3].threshold``...) for anything but the
            documented types: ``threshold`` a finite number (not the text
            ``"0.5"``), children ``int`` ids, ``value`` a list of finite numbers
            per class, and so on; then the structure (:meth:`validate`).
        """
        check_header(data, FORMAT, FORMAT_VERSION)
        nodes = [Node(**check_node(n, j)) for j, n in enumerate(data["nodes"])]
        tree = cls(list(data["feature_names"]), list(data["classes"]), nodes, dict(data.get("meta", {})))
        tree.validate()
        return tree

    @classmethod
    def from_json(cls, text: str | bytes) -> PortableTree:
        """Parse :meth:`to_json` text (``str`` or UTF-8 ``bytes``) and check it (:meth:`from_dict`)."""
        return cls.from_dict(parse_json(text))

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(indent=1))
        return path

    @classmethod
    def load(cls, path) -> PortableTree:
        return cls.from_json(Path(path).read_bytes())  # bytes: a non-UTF-8 file is a DataFormatError

    def validate(self) -> None:
        """Check ids, children, features and value lengths.

        Children must have larger ids than their parent and be nobody else's
        child, which rules out cycles, negative or out-of-range ids and shared
        subtrees; every node but the root must be reached.

        Raises
        ------
        DataFormatError
            (a ``ValueError``) naming the node and what was expected.
        """
        n = len(self.nodes)
        if n == 0:
            raise bad("nodes", "a portable tree with at least one node", "no node")
        if len(set(self.feature_names)) != len(self.feature_names):
            raise bad("feature_names", "distinct feature names", "a name twice")
        seen_child = set()
        for j, node in enumerate(self.nodes):
            if node.id != j:
                raise bad(f"nodes[{j}].id", f"node at position {j} has id {node.id}: ids must be 0..{n - 1}")
            if len(node.value) != len(self.classes):
                raise bad(f"nodes[{j}].value",
                           f"node {j}: {len(node.value)} values for {len(self.classes)} classes")
            if node.is_leaf:
                continue
            if node.feature not in self.feature_names:
                raise bad(f"nodes[{j}].feature", f"node {j}: unknown feature {node.feature!r}")
            if not is_number(node.threshold) or not np.isfinite(node.threshold):
                raise bad(f"nodes[{j}].threshold", f"node {j}: threshold must be a finite number",
                           repr(node.threshold))
            for child in (node.left, node.right):
                if not is_int(child) or not j < child < n or child in seen_child:
                    raise bad(f"nodes[{j}]",
                               f"node {j}: child {child!r} must be a new node id in ({j}, {n})")
                seen_child.add(child)
        if len(seen_child) != n - 1:
            raise bad("nodes", "every node but the root must be the child of exactly one node")

    # -- reading the model -------------------------------------------------
    @property
    def depth(self) -> int:
        depth = {0: 0}
        for node in self.nodes:
            if not node.is_leaf:
                depth[node.left] = depth[node.right] = depth[node.id] + 1
        return max(depth.values())

    def internal_nodes(self) -> list[Node]:
        return [n for n in self.nodes if not n.is_leaf]

    def leaves(self) -> list[Node]:
        return [n for n in self.nodes if n.is_leaf]

    @property
    def used_features(self) -> list[str]:
        """Features some node compares, in the order of :attr:`feature_names`."""
        used = {n.feature for n in self.internal_nodes()}
        return [f for f in self.feature_names if f in used]

    def leaf_label(self, node_id: int):
        """The majority class at a leaf (first class on ties, as scikit-learn)."""
        return self.classes[int(np.argmax(self.nodes[node_id].value))]

    def walk(self, goes_left) -> int:
        """Follow the tree from the root; ``goes_left(node)`` decides each step. Returns the leaf id."""
        node = self.nodes[0]
        while not node.is_leaf:
            node = self.nodes[node.left if goes_left(node) else node.right]
        return node.id

    def predict_one(self, record) -> Any:
        """Plaintext prediction of one record (a mapping feature -> value)."""
        # float() matters: NumPy 2 would compare a float32 with a Python float in float32,
        # rounding the float64 threshold; scikit-learn compares in float64.
        leaf = self.walk(lambda n: float(np.float32(record[n.feature])) <= n.threshold)
        return self.leaf_label(leaf)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Plaintext predictions, equal to ``self.to_sklearn().predict(X)``."""
        return np.array([self.predict_one(row) for _, row in X.iterrows()])


def as_portable(model) -> PortableTree:
    """Return ``model`` as a :class:`PortableTree` (accepts a fitted sklearn tree or a portable one).

    Raises
    ------
    ModelNotFittedError
        For an unfitted ``DecisionTreeClassifier``.
    UnsupportedModelError
        For any other estimator (an ensemble, a regressor, a linear model) or a multi-output tree.
    TypeError
        For something that is not a model at all.
    """
    if isinstance(model, PortableTree):
        return model
    if isinstance(model, DecisionTreeClassifier):
        return PortableTree.from_sklearn(model)
    if hasattr(model, "fit") or hasattr(model, "predict"):
        raise UnsupportedModelError(_unsupported(model))
    raise TypeError(f"expected a DecisionTreeClassifier or a PortableTree, got {type(model).__name__}")


def ensure_fitted(model: DecisionTreeClassifier) -> None:
    """Check that ``model`` is a fitted, single-output :class:`~sklearn.tree.DecisionTreeClassifier`.

    Raises
    ------
    UnsupportedModelError
        For another kind of model, fitted or not (an ensemble such as a
        random forest, a regressor), or a tree fitted on several outputs.
    ModelNotFittedError
        For a ``DecisionTreeClassifier`` that is not fitted yet.
    """
    if not isinstance(model, DecisionTreeClassifier):
        raise UnsupportedModelError(_unsupported(model))
    try:
        check_is_fitted(model, "tree_")
    except NotFittedError as exc:
        raise ModelNotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit(X, y) or "
            "encmed_lib.train_tree(X, y) before using it") from exc
    if getattr(model, "n_outputs_", 1) != 1:
        raise UnsupportedModelError(
            f"only single-output trees are supported: this tree was fitted on {model.n_outputs_} outputs "
            "(a 2-D y); fit one DecisionTreeClassifier per output")


def _unsupported(model) -> str:
    """Why ``model`` cannot be used, and what can."""
    name = type(model).__name__
    what = f"a {name}"
    if hasattr(model, "estimators_") or hasattr(model, "n_estimators"):
        n = len(getattr(model, "estimators_", []) or []) or getattr(model, "n_estimators", "?")
        what += f", an ensemble of {n} models: encrypted evaluation works on one tree (pass one of its " \
                "estimators_, or train a single tree with encmed_lib.train_tree)"
    elif getattr(model, "_estimator_type", None) == "regressor" or "Regressor" in name:
        what += ", a regressor: its leaves hold numbers, not classes (train a DecisionTreeClassifier)"
    return ("expected a DecisionTreeClassifier or a PortableTree (a single-output classification tree); "
            f"got {what}")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# ----------------------------------------------------------------- drawing
def draw_tree(model, path, *, class_names=("no disease", "disease"),
              fmt: str | None = None, verbose: bool = True) -> Path:
    """Draw a tree to ``path`` (PNG or SVG, from the suffix or ``fmt``).

    Uses graphviz's ``dot`` through pydotplus for a crisp layout.  When the
    ``dot`` program is absent it falls back to :func:`sklearn.tree.plot_tree`
    (matplotlib) and says so in one line (not when ``verbose=False``).  Both
    show, per node, the question, the training records that reached it and
    their classes (``value = [no disease, disease]``), and fill it with
    :func:`node_fill`: the course's colour of its majority class (orange for
    disease, blue for no disease), paler the less pure it is.  The fallback's
    figure grows with the number of leaves so that boxes never overlap.
    """
    from sklearn.tree import export_graphviz

    model = as_portable(model).to_sklearn() if isinstance(model, PortableTree) else model
    ensure_fitted(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = (fmt or path.suffix.lstrip(".") or "png").lower()
    names = [str(n) for n in getattr(model, "feature_names_in_", [])] or None
    if shutil.which("dot"):
        import pydotplus

        dot = export_graphviz(model, feature_names=names, class_names=list(class_names),
                              filled=True, rounded=True, impurity=False, proportion=False)
        dot = course_colours_dot(dot, model.tree_).replace("{", "{\ngraph [dpi=110] ;", 1)
        graph = pydotplus.graph_from_dot_data(dot)
        graph.del_node('"\\n"')  # pydotplus parses the last line break as a stray node
        path.write_bytes(graph.create(format=fmt))
        return path
    if verbose:
        print("graphviz 'dot' not found: drawing with sklearn.tree.plot_tree (matplotlib) instead")
    _draw_tree_matplotlib(model, path, fmt, names, list(class_names))
    return path


def _draw_tree_matplotlib(model: DecisionTreeClassifier, path: Path, fmt: str,
                          names: list[str] | None, class_names: list[str]) -> None:
    """The fallback drawing: about 1.7 inches per leaf and per level, 9-point text."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.tree import plot_tree

    leaves, depth = model.get_n_leaves(), model.get_depth()
    fig = Figure(figsize=(max(8.0, 1.75 * leaves), max(3.0, 1.5 * (depth + 1))))
    FigureCanvasAgg(fig)  # plot_tree measures its text with the canvas's renderer
    ax = fig.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boxes = plot_tree(model, feature_names=names, class_names=class_names, filled=True,
                          rounded=True, impurity=False, ax=ax, fontsize=9)
    patches = [p for p in (box.get_bbox_patch() for box in boxes) if p is not None]  # not True/False
    for node, patch in zip(preorder(model.tree_), patches, strict=True):
        patch.set_facecolor(node_fill(model.tree_.value[node][0]))
    fig.savefig(path, format=fmt, bbox_inches="tight", dpi=100)
