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

from .colours import CLASS_COLOURS
from .errors import DataFormatError, ModelNotFittedError

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


def gini_impurity(counts) -> float:
    r"""Gini impurity of a node from its class counts.

    .. math::

        G = 1 - \sum_k p_k^2, \qquad p_k = \frac{n_k}{\sum_j n_j},

    the probability that two records drawn at random (with replacement) from
    the node belong to different classes: 0 for a pure node, :math:`1 - 1/K`
    for :math:`K` equally frequent classes (0.5 for two).  Computed as
    scikit-learn does, in float64: ``1 - sum(n_k**2) / n**2``.

    Parameters
    ----------
    counts : sequence of non-negative numbers
        Records of each class at the node (or weights); not all zero.

    Returns
    -------
    float
        The impurity, in ``[0, 1 - 1/K]``.

    Raises
    ------
    DataFormatError
        ``counts`` is empty, holds a negative or non-finite number, or sums to 0.

    Examples
    --------
    >>> gini_impurity([3, 1])        # 1 - (3/4)**2 - (1/4)**2
    0.375
    """
    n_k = np.asarray(counts, dtype=float).ravel()
    if n_k.size == 0 or not np.all(np.isfinite(n_k)) or np.any(n_k < 0) or n_k.sum() <= 0:
        raise DataFormatError(None, "counts", "a non-empty sequence of non-negative class counts, "
                              "not all zero", repr(list(np.asarray(counts).ravel())))
    n = float(n_k.sum())
    return float(1.0 - float(np.sum(n_k * n_k)) / (n * n))


def split_gini(left_counts, right_counts) -> float:
    r"""Weighted Gini impurity of the two children of a split (lower is better).

    .. math::

        G_{\text{split}} = \frac{n_L}{n} G(L) + \frac{n_R}{n} G(R),

    where :math:`n_L, n_R` are the records sent left and right and
    :math:`n = n_L + n_R`.  A tree (scikit-learn's, and the federated trainer's)
    picks, at each node, the feature and threshold with the lowest
    :math:`G_{\text{split}}`, i.e. the largest decrease from the parent's
    impurity.

    Parameters
    ----------
    left_counts, right_counts : sequence of non-negative numbers
        Class counts of the records each side receives (same classes, same order).

    Returns
    -------
    float

    Raises
    ------
    DataFormatError
        The two sides have different numbers of classes, or one side is empty.

    Examples
    --------
    >>> split_gini([3, 1], [0, 4])   # 4/8 * 0.375 + 4/8 * 0
    0.1875
    """
    left = np.asarray(left_counts, dtype=float).ravel()
    right = np.asarray(right_counts, dtype=float).ravel()
    if left.size != right.size:
        raise DataFormatError(None, "counts", "the same number of classes on both sides",
                              f"{left.size} left, {right.size} right")
    g_left, g_right = gini_impurity(left), gini_impurity(right)
    n_left, n_right = float(left.sum()), float(right.sum())
    return (n_left * g_left + n_right * g_right) / (n_left + n_right)


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
        """Read a fitted :class:`~sklearn.tree.DecisionTreeClassifier`."""
        ensure_fitted(model)
        if model.n_outputs_ != 1:
            raise ValueError("only single-output trees are supported")
        if feature_names is None:
            names = getattr(model, "feature_names_in_", None)
            feature_names = ([str(n) for n in names] if names is not None
                             else [f"x{i}" for i in range(model.n_features_in_)])
        if len(feature_names) != model.n_features_in_:
            raise ValueError(f"{len(feature_names)} feature names for a tree fitted on "
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
        """Build from :meth:`to_dict` output, checking the structure."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a portable tree: expected a JSON object with format {FORMAT!r}")
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"portable tree version {data.get('version')!r} is not supported "
                             f"(expected {FORMAT_VERSION})")
        try:
            nodes = [Node(**n) for n in data["nodes"]]
            tree = cls(list(data["feature_names"]), list(data["classes"]), nodes,
                       dict(data.get("meta", {})))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed portable tree: {exc}") from exc
        tree.validate()
        return tree

    @classmethod
    def from_json(cls, text: str) -> PortableTree:
        return cls.from_dict(json.loads(text))

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(self.to_json(indent=1))
        return path

    @classmethod
    def load(cls, path) -> PortableTree:
        return cls.from_json(Path(path).read_text())

    def validate(self) -> None:
        """Check ids, children, features and value lengths; raise ``ValueError`` otherwise."""
        n = len(self.nodes)
        if n == 0:
            raise ValueError("a portable tree needs at least one node")
        if len(set(self.feature_names)) != len(self.feature_names):
            raise ValueError("feature names must be distinct")
        seen_child = set()
        for j, node in enumerate(self.nodes):
            if node.id != j:
                raise ValueError(f"node at position {j} has id {node.id}: ids must be 0..{n - 1}")
            if len(node.value) != len(self.classes):
                raise ValueError(f"node {j}: {len(node.value)} values for {len(self.classes)} classes")
            if node.is_leaf:
                continue
            if node.feature not in self.feature_names:
                raise ValueError(f"node {j}: unknown feature {node.feature!r}")
            if node.threshold is None or not np.isfinite(node.threshold):
                raise ValueError(f"node {j}: threshold must be a finite number")
            for child in (node.left, node.right):
                if not isinstance(child, int) or not j < child < n or child in seen_child:
                    raise ValueError(f"node {j}: child {child!r} must be a new node id in ({j}, {n})")
                seen_child.add(child)
        if len(seen_child) != n - 1:
            raise ValueError("every node but the root must be the child of exactly one node")

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
    """Return ``model`` as a :class:`PortableTree` (accepts a fitted sklearn tree or a portable one)."""
    if isinstance(model, PortableTree):
        return model
    if isinstance(model, DecisionTreeClassifier):
        return PortableTree.from_sklearn(model)
    raise TypeError(f"expected a DecisionTreeClassifier or a PortableTree, got {type(model).__name__}")


def ensure_fitted(model: DecisionTreeClassifier) -> None:
    """Raise :class:`~encmed_lib.errors.ModelNotFittedError` if ``model`` is not fitted."""
    try:
        check_is_fitted(model, "tree_")
    except NotFittedError as exc:
        raise ModelNotFittedError(
            f"this {type(model).__name__} is not fitted yet: call fit(X, y) or "
            "encmed_lib.train_tree(X, y) before using it") from exc


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# ----------------------------------------------------------------- drawing
def node_fill(value) -> str:
    r"""Fill colour of a drawn node: its majority class's course colour, paler the less pure.

    The class colours are :data:`encmed_lib.colours.CLASS_COLOURS` (class 0,
    no disease; class 1, disease), as in every figure of the course.  With
    :math:`p_1 \ge p_2` the two largest class shares, the colour is mixed
    with white in the proportion :math:`\alpha = (p_1 - p_2) / (1 - p_2)`
    (scikit-learn's rule): a pure node is drawn in the full colour, a 50/50
    node in white.

    Parameters
    ----------
    value : sequence of float
        Class counts or fractions at the node.

    Returns
    -------
    str
        ``"#rrggbb"``.
    """
    shares = np.asarray(value, dtype=float).ravel()
    shares = shares / shares.sum()
    top = np.sort(shares)[::-1]
    second = top[1] if top.size > 1 else 0.0
    alpha = 1.0 if second >= 1.0 else float((top[0] - second) / (1.0 - second))
    k = int(np.argmax(shares))
    base = CLASS_COLOURS[k] if k < len(CLASS_COLOURS) else "#7F7F7F"
    rgb = [int(base[j:j + 2], 16) for j in (1, 3, 5)]
    mixed = [round(alpha * c + (1.0 - alpha) * 255) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _preorder(tree: Tree) -> list[int]:
    """Node ids in the order scikit-learn's ``plot_tree`` draws them (node, left subtree, right)."""
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if tree.children_left[node] != -1:
            stack.extend((tree.children_right[node], tree.children_left[node]))
    return order


def _course_colours_dot(dot: str, tree: Tree) -> str:
    """Replace export_graphviz's fill colours (orange/blue) by :func:`node_fill`'s."""
    lines = []
    for line in dot.splitlines():
        head = line.split(" ", 1)[0]
        if head.isdigit() and "fillcolor=" in line:
            start = line.index('fillcolor="') + len('fillcolor="')
            end = line.index('"', start)
            line = line[:start] + node_fill(tree.value[int(head)][0]) + line[end:]
        lines.append(line)
    return "\n".join(lines) + "\n"


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
        dot = _course_colours_dot(dot, model.tree_).replace("{", "{\ngraph [dpi=110] ;", 1)
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
    for node, patch in zip(_preorder(model.tree_), patches, strict=True):
        patch.set_facecolor(node_fill(model.tree_.value[node][0]))
    fig.savefig(path, format=fmt, bbox_inches="tight", dpi=100)
