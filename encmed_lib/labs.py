"""Labs: the exercises at the end of notebooks 01-05, their checkers, and the student versions.

Every notebook ends with an **Exercises** section.  Each exercise is three cells:

1. a Markdown cell stating the task;
2. a code cell whose solution sits between nbgrader-style markers and assigns
   the answer to a variable named after it::

       record_ex = X_test.iloc[5]          # given: stays in the student version
       ### BEGIN SOLUTION
       recovered_threshold = ...           # removed from the student version
       ### END SOLUTION

3. a checking cell that calls one function of this module::

       print(labs.check_04_recovered_threshold(recovered_threshold, server_none, slot=1))

A checker recomputes the right answer from its inputs (or from the bundled data,
through the library), returns a short success message (``"✓ correct: ..."``)
and otherwise raises :class:`LabCheckError`: what was expected, what was
received, a hint, and the notebook section to reread.  It never reveals the
answer itself.

The **student version** of every notebook replaces each solution by
``raise NotImplementedError("Exercise: write your solution here")`` (at the
indentation of the ``### BEGIN SOLUTION`` line), replaces Markdown between
``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` by
``*Your answer here.*``, and clears every output::

    python -m encmed_lib.labs students                # notebooks/NN_*.ipynb -> students/
    python -m encmed_lib.labs students --dest DIR

Until an exercise is solved its checking cell fails (``NameError``: the answer
variable does not exist yet), and the cells before the exercises run as in the
course.  The generator is deterministic: the same notebooks give the same bytes.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import numbers
import re
from pathlib import Path

import numpy as np

__all__ = [
    "LabCheckError", "LabFormatError", "make_student_versions", "student_notebook",
    "strip_code_solution", "strip_markdown_solution", "STUB", "MARKDOWN_STUB",
    "check_01_class_balance", "check_01_rows_dropped", "check_01_largest_provider",
    "check_02_depth_accuracy", "check_02_root_split", "check_02_roundtrip_agreement",
    "check_03_encrypted_sum", "check_03_scalar_multiply", "check_03_ciphertext_product",
    "check_04_recovered_threshold", "check_04_blinded_value", "check_04_pack_count",
    "check_05_agreement", "check_05_leaf", "check_05_disease_share",
]


# ======================================================================== errors
class LabCheckError(AssertionError):
    """A wrong answer to an exercise, with what was expected, what came, and a hint.

    Attributes
    ----------
    exercise : str
        E.g. ``"01.2 (rows dropped)"``.
    expected, received, hint : str
        The three parts of the message; ``expected`` describes the answer
        without giving it away.
    section : str
        Where to look: the notebook and its section.
    """

    def __init__(self, exercise: str, expected: str, received: str, hint: str, section: str):
        self.exercise, self.expected, self.received = exercise, expected, received
        self.hint, self.section = hint, section
        super().__init__(
            f"exercise {exercise} is not solved yet.\n"
            f"  expected: {expected}\n"
            f"  received: {received}\n"
            f"  hint:     {hint}\n"
            f"  see:      {section}")


class LabFormatError(ValueError):
    """A notebook's solution markers are unbalanced or nested (the generator refuses it)."""


def _show(value, limit: int = 120) -> str:
    """A short description of a received value: its repr (cut) and its type."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


class _Exercise:
    """One exercise's name and section, to build its error messages."""

    def __init__(self, exercise: str, section: str):
        self.exercise, self.section = exercise, section

    def fail(self, expected: str, received, hint: str, *, shown: str | None = None) -> LabCheckError:
        return LabCheckError(self.exercise, expected, shown if shown is not None else _show(received),
                             hint, self.section)


def _number(value, ex: _Exercise, expected: str, *, integer: bool = False) -> float | int:
    """Read an answer as a real number (or an integer): int, float, NumPy scalar, 0-d array."""
    if value is None or value is Ellipsis:
        raise ex.fail(expected, value, "no answer yet: assign your result to the variable "
                      "before running the checking cell")
    if isinstance(value, (bool, np.bool_)):
        raise ex.fail(expected, value, "a True/False is not a number: compute the quantity itself")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, str):
        raise ex.fail(expected, value, "give a number, not a string (no quotes)")
    if not isinstance(value, (numbers.Real, np.number)):
        kind = "several values" if hasattr(value, "__len__") else "not a number"
        raise ex.fail(expected, value, f"this is {kind}: reduce it to one number "
                      "(e.g. .mean(), .sum(), len(...), .max())")
    number = float(value)
    if not math.isfinite(number):
        raise ex.fail(expected, value, "the value is not finite (NaN or infinity): check for missing values")
    if integer:
        if number != round(number):
            raise ex.fail(expected, value, "a count is a whole number: count rows, do not average them")
        return int(round(number))
    return number


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def _ok(text: str) -> str:
    return f"✓ correct: {text}"


# ===================================================================== helpers
@functools.lru_cache(maxsize=1)
def _heart():
    from .data.heart import load_heart

    return load_heart()


@functools.lru_cache(maxsize=1)
def _heart_split():
    from .tree import split_data

    X, y = _heart()
    return split_data(X, y, test_size=0.3, random_state=0)


@functools.lru_cache(maxsize=1)
def _course_tree():
    """The course's depth-4 tree (notebooks 02, 04, 05)."""
    from .tree import train_tree

    X_train, _, y_train, _ = _heart_split()
    return train_tree(X_train, y_train, max_depth=4, random_state=0)


@functools.lru_cache(maxsize=1)
def _synthea():
    from .data.paths import data_dir
    from .data.synthea import load_synthea

    return load_synthea(data_dir() / "synthea_sample")


def _portable(tree):
    from .tree import as_portable

    return as_portable(tree.tree if hasattr(tree, "evaluate") and hasattr(tree, "tree") else tree)


def _record(record) -> dict:
    from .protocol.client import record_items

    return dict(record_items(record))


# ============================================================== 01 · the data
_S01 = "01_data.ipynb"


def check_01_class_balance(share, y=None) -> str:
    """Exercise 01.1: the share of patients with heart disease in the bundled heart sample.

    ``share`` is a fraction in [0, 1] (``y.mean()``), within 0.0005.  ``y``
    defaults to the labels of ``em.load_heart()``.
    """
    ex = _Exercise("01.1 (class balance)", f'{_S01}, section "How many patients are sick?"')
    expected = "the fraction of patients with heart disease (y == 1), a number between 0 and 1"
    value = _number(share, ex, expected)
    labels = np.asarray(_heart()[1] if y is None else y)
    right = float(labels.mean())
    if _close(value, right, 5e-4):
        return _ok(f"{right:.1%} of the {len(labels)} patients have heart disease "
                   f"({int(labels.sum())} of {len(labels)})")
    if 1 < value <= 100 and _close(value / 100, right, 5e-4):
        raise ex.fail(expected, share, "this looks like a percentage: give the fraction (divide by 100)")
    if _close(value, 1 - right, 5e-4):
        raise ex.fail(expected, share, "that is the share *without* disease (y == 0): the label 1 means "
                      "disease present")
    if value == labels.sum():
        raise ex.fail(expected, share, "that is the number of sick patients: divide by the number "
                      "of patients (or use y.mean())")
    if value > 1 or value < 0:
        raise ex.fail(expected, share, "a share lies between 0 and 1: count the patients with y == 1 "
                      "and divide by len(y)")
    raise ex.fail(expected, share, "use the labels y of em.load_heart() (the default missing='drop'): "
                  "the mean of a 0/1 label is the share of 1s")


def check_01_rows_dropped(count) -> str:
    """Exercise 01.2: how many rows of the heart file ``missing="drop"`` removes.

    Recomputed as ``len(load_heart(missing="impute")[0]) - len(load_heart()[0])``.
    """
    from .data.heart import load_heart

    ex = _Exercise("01.2 (rows dropped)", f'{_S01}, section "Missing values: an explicit policy"')
    expected = 'the number of rows that load_heart(missing="drop") leaves out (a whole number)'
    value = _number(count, ex, expected, integer=True)
    kept = len(_heart()[0])
    total = len(load_heart(missing="impute")[0])
    right = total - kept
    if value == right:
        return _ok(f"missing='drop' removes {right} of the {total} rows and keeps {kept}")
    if value == kept:
        raise ex.fail(expected, count, "that is the number of rows *kept*; the question asks how many "
                      "are removed")
    if value == total:
        raise ex.fail(expected, count, "that is every row of the file: compare it with the rows kept "
                      "by missing='drop'")
    if value == -right:
        raise ex.fail(expected, count, "the sign is reversed: subtract the rows kept from all rows")
    raise ex.fail(expected, count, 'compare the number of rows of load_heart(missing="impute") (every '
                  'row) with load_heart() (complete rows only), or read X.attrs["n_missing_rows"]')


def check_01_largest_provider(count, organization=None) -> str:
    """Exercise 01.3: the number of Synthea patients of the largest provider.

    ``organization`` defaults to the third value returned by
    ``em.load_synthea(data_dir() / "synthea_sample")``.
    """
    ex = _Exercise("01.3 (largest provider)", f'{_S01}, section "Patients per provider"')
    expected = "how many patients the largest organization has (a whole number)"
    if isinstance(count, str):
        raise ex.fail(expected, count, "give the number of patients of the largest provider, not its "
                      "name or id")
    value = _number(count, ex, expected, integer=True)
    org = _synthea()[2] if organization is None else organization
    sizes = org.value_counts()
    right = int(sizes.iloc[0])
    if value == right:
        return _ok(f"the largest provider has {right} of the {len(org)} patients "
                   f"({right / len(org):.0%}); the smallest has {int(sizes.iloc[-1])}")
    if value == int(sizes.iloc[-1]):
        raise ex.fail(expected, count, "that is the *smallest* provider: value_counts() sorts from the "
                      "largest down")
    if value == len(sizes):
        raise ex.fail(expected, count, "that is the number of providers: count the patients of each "
                      "provider (org.value_counts())")
    if value == len(org):
        raise ex.fail(expected, count, "that is every patient: group them by provider first")
    if value in set(sizes.tolist()):
        raise ex.fail(expected, count, "that is the size of another provider, not the largest one")
    raise ex.fail(expected, count, "org (third value of em.load_synthea) gives each patient's provider; "
                  "org.value_counts() counts the patients per provider")


# ============================================================== 02 · the tree
_S02 = "02_tree.ipynb"


def check_02_depth_accuracy(accuracy, depth: int = 3) -> str:
    """Exercise 02.1: held-out accuracy of a tree of depth ``depth`` (the course's split and seed).

    Recomputed with ``split_data(X, y, test_size=0.3, random_state=0)`` and
    ``train_tree(..., max_depth=depth, random_state=0)``; within 0.001, so an
    answer rounded to 3 decimals is accepted.
    """
    from .tree import evaluate, train_tree

    ex = _Exercise(f"02.1 (depth-{depth} accuracy)", f'{_S02}, section "How deep should the tree be?"')
    expected = (f"the held-out (X_test) accuracy of a depth-{depth} tree trained with random_state=0, "
                "a number between 0 and 1")
    value = _number(accuracy, ex, expected)
    X_train, X_test, y_train, y_test = _heart_split()
    model = train_tree(X_train, y_train, max_depth=depth, random_state=0)
    result = evaluate(model, X_test, y_test)
    right, tol = result.accuracy, 1e-3
    if _close(value, right, tol):
        return _ok(f"a depth-{depth} tree is right for {right:.3f} of the {len(X_test)} held-out patients "
                   f"(majority baseline {result.majority_accuracy:.3f})")
    if 1 < value <= 100 and _close(value / 100, right, tol):
        raise ex.fail(expected, accuracy, "this looks like a percentage: give a fraction between 0 and 1")
    if _close(value, model.score(X_train, y_train), tol):
        raise ex.fail(expected, accuracy, "that is the accuracy on the training set; measure it on the "
                      "held-out X_test, y_test (em.evaluate)")
    if _close(value, result.majority_accuracy, tol):
        raise ex.fail(expected, accuracy, "that is the majority-class baseline, not the tree's accuracy")
    for other in range(1, 11):
        if other != depth:
            score = train_tree(X_train, y_train, max_depth=other, random_state=0).score(X_test, y_test)
            if _close(value, score, tol):
                raise ex.fail(expected, accuracy, f"that is the accuracy of a depth-{other} tree: "
                              f"train with max_depth={depth}")
    raise ex.fail(expected, accuracy, "use the notebook's split (em.split_data(X, y, test_size=0.3, "
                  f"random_state=0)) and em.train_tree(X_train, y_train, max_depth={depth}, "
                  "random_state=0), then em.evaluate on X_test, y_test")


def check_02_root_split(feature, threshold, tree=None) -> str:
    """Exercise 02.2: the feature and threshold of the root node of ``tree``.

    ``tree`` is a fitted tree or a :class:`~encmed_lib.PortableTree` (default:
    the course's depth-4 tree).  The feature is a column name; the threshold is
    accepted within 0.005 (as read off the drawing, rounded to two decimals).
    """
    ex = _Exercise("02.2 (root split)", f'{_S02}, sections "Drawing the tree" and "The portable tree"')
    pt = _portable(_course_tree() if tree is None else tree)
    root = pt.nodes[0]
    if root.is_leaf:
        raise ex.fail("a tree with at least one split", tree, "this tree is a single leaf: train it first")
    expected = "the root's feature as a column name (a string such as 'age') and its threshold (a number)"
    if isinstance(feature, (numbers.Integral, np.integer)) and not isinstance(feature, bool):
        raise ex.fail(expected, feature, "that is a feature *index* (tree.tree_.feature holds indices); "
                      "give the column name, e.g. X.columns[index]")
    if not isinstance(feature, str):
        raise ex.fail(expected, feature, "give the feature's name as a string, e.g. 'age'")
    name = feature.strip().strip("'\"")
    if name not in pt.feature_names:
        raise ex.fail(expected, feature, f"{name!r} is not a column of the data; the columns are "
                      f"{pt.feature_names}")
    if name != root.feature:
        children = {pt.nodes[root.left].feature: "left", pt.nodes[root.right].feature: "right"}
        where = children.get(name)
        hint = (f"{name!r} is compared by the root's {where} child; the root is node 0, the top box of "
                "the drawing" if where else
                f"the root does not compare {name!r}: the root is node 0 (pt.nodes[0]), the top box of the "
                "drawing")
        raise ex.fail(expected, feature, hint)
    value = _number(threshold, ex, "the root's threshold, a number")
    if not _close(value, root.threshold, 5e-3):
        raise ex.fail("the root's threshold, a number (exact, or rounded to 2 decimals)", threshold,
                      f"the feature {name!r} is right; read the threshold from pt.nodes[0].threshold "
                      "(or the first line of the top box of the drawing)")
    return _ok(f"the root asks '{root.feature} <= {root.threshold!r}' of every patient "
               f"({root.n_samples} training patients reach it)")


def check_02_roundtrip_agreement(agreeing, restored, original, X_rows) -> str:
    """Exercise 02.3: a JSON round trip of a tree keeps every prediction.

    ``restored`` is the model rebuilt from JSON, ``original`` the tree it was
    made from, ``X_rows`` the records predicted; ``agreeing`` is the number of
    rows on which their predictions agree (recomputed here).
    """
    from sklearn.tree import DecisionTreeClassifier

    from .tree import PortableTree

    ex = _Exercise("02.3 (portable round trip)", f'{_S02}, section "The portable tree"')
    expected = ("the number of rows of X_rows on which the restored model and the original tree predict "
                "the same label (a whole number)")
    for name, model in (("restored", restored), ("original", original)):
        if not isinstance(model, (DecisionTreeClassifier, PortableTree)):
            raise ex.fail("a fitted tree (DecisionTreeClassifier or PortableTree)", model,
                          f"the argument {name} must be a model; PortableTree.from_json(text).to_sklearn() "
                          "rebuilds one from the JSON text")
    if restored is original:
        raise ex.fail("a model rebuilt from JSON, a different object from the original", restored,
                      "you passed the same tree twice: convert it with em.PortableTree.from_sklearn(tree)"
                      ".to_json(), then em.PortableTree.from_json(text).to_sklearn()")
    value = _number(agreeing, ex, expected, integer=False)
    n = len(X_rows)
    right = int((np.asarray(restored.predict(X_rows)) == np.asarray(original.predict(X_rows))).sum())
    if value == right and right == n:
        return _ok(f"{right}/{n} predictions agree: the JSON round trip keeps the model exactly")
    if value == right:
        raise ex.fail(f"a restored model that agrees on all {n} rows", restored,
                      "your count is right but the two models disagree: was `restored` rebuilt from "
                      "the JSON of this very tree?", shown=f"a model agreeing on {right}/{n} rows")
    if _close(value, right / n, 1e-9):
        raise ex.fail(expected, agreeing, "that is a share: give the number of agreeing rows (.sum(), "
                      "not .mean())")
    raise ex.fail(expected, agreeing, "compare restored.predict(X_rows) with original.predict(X_rows) "
                  "element by element and count the equal ones, e.g. int((a == b).sum())")


# ===================================================== 03 · Paillier basics
_S03 = "03_paillier_basics.ipynb"


def _decrypt(public_key, private_key, ciphertext, ex: _Exercise, expected: str):
    """Decrypt a phe ``EncryptedNumber`` or a raw ciphertext integer; refuse plain numbers."""
    from phe import EncodedNumber, EncryptedNumber, PaillierPrivateKey

    n = int(public_key.n)
    owner = getattr(private_key, "public_key", None)
    if owner is None or int(owner.n) != n:
        raise ex.fail("the private key of public_key", private_key,
                      "pass the private key made together with public_key")
    if isinstance(ciphertext, EncryptedNumber):
        if int(ciphertext.public_key.n) != n:
            raise ex.fail(expected, ciphertext, "this ciphertext was made under another public key: "
                          "encrypt with the notebook's public_key")
        if isinstance(private_key, PaillierPrivateKey):
            return private_key.decrypt(ciphertext)
        raw = ciphertext.ciphertext(be_secure=False)
        m = int(private_key.raw_decrypt(raw))
        m = m - n if m > n // 2 else m
        return EncodedNumber(ciphertext.public_key, m % n, ciphertext.exponent).decode()
    if isinstance(ciphertext, EncodedNumber):
        raise ex.fail(expected, ciphertext, "an EncodedNumber is only encoded, not encrypted: use "
                      "public_key.encrypt(...)")
    if isinstance(ciphertext, (bool, np.bool_)) or not isinstance(ciphertext, numbers.Real):
        raise ex.fail(expected, ciphertext, "expected an EncryptedNumber (what public_key.encrypt returns "
                      "and what + and * on it give back)")
    if not isinstance(ciphertext, numbers.Integral) or not n <= int(ciphertext) < n * n:
        raise ex.fail(expected, ciphertext, "this is a plain number, not a ciphertext: you computed in "
                      "clear (or decrypted). Encrypt with public_key.encrypt and compute on the "
                      "EncryptedNumber")
    m = int(private_key.raw_decrypt(int(ciphertext)))
    return m - n if m > n // 2 else m


def check_03_encrypted_sum(public_key, private_key, ciphertext, a, b) -> str:
    """Exercise 03.1: ``ciphertext`` must decrypt to ``a + b`` (checked with the private key).

    Accepts a phe ``EncryptedNumber`` or a raw ciphertext integer (the course's
    raw layer), under ``public_key``.
    """
    ex = _Exercise("03.1 (encrypted sum)", f'{_S03}, section "4 · Adding two ciphertexts"')
    expected = f"an EncryptedNumber under public_key that decrypts to {a} + {b}"
    value = _decrypt(public_key, private_key, ciphertext, ex, expected)
    if value == a + b:
        return _ok(f"the ciphertext decrypts to {a} + {b} = {a + b}, and nobody without the private key "
                   "could read it")
    shown = f"a ciphertext that decrypts to {value!r}"
    if value in (a, b):
        raise ex.fail(expected, None, "that is one of the two values alone: encrypt both and add the two "
                      "EncryptedNumbers with +", shown=shown)
    if value == a * b:
        raise ex.fail(expected, None, "that is the product: the sum of E(a) and E(b) is E(a) + E(b)",
                      shown=shown)
    if value in (a - b, b - a):
        raise ex.fail(expected, None, "that is a difference: add the two ciphertexts with +", shown=shown)
    raise ex.fail(expected, None, "encrypt a and b separately with public_key.encrypt, then add the two "
                  "EncryptedNumbers with +", shown=shown)


def check_03_scalar_multiply(public_key, private_key, ciphertext, value, factor) -> str:
    """Exercise 03.2: ``ciphertext`` must decrypt to ``value * factor`` (a plaintext factor)."""
    ex = _Exercise("03.2 (multiply by a plain number)",
                   f'{_S03}, section "5 · Adding and multiplying by plain numbers"')
    expected = f"an EncryptedNumber under public_key that decrypts to {value} × {factor}"
    got = _decrypt(public_key, private_key, ciphertext, ex, expected)
    right = value * factor
    if got == right:
        return _ok(f"the ciphertext decrypts to {value} × {factor} = {right}: a multiplication by a number "
                   "known in clear, computed without the private key")
    shown = f"a ciphertext that decrypts to {got!r}"
    if got == value + factor:
        raise ex.fail(expected, None, "you added the factor; multiply the EncryptedNumber by it with *",
                      shown=shown)
    if got == value:
        raise ex.fail(expected, None, "that is the value itself: multiply the EncryptedNumber by the "
                      "factor", shown=shown)
    if got == factor:
        raise ex.fail(expected, None, "that is the factor alone: multiply the encrypted value by it",
                      shown=shown)
    raise ex.fail(expected, None, "E(x) * k is E(k·x) for a number k known in clear: compute "
                  "encrypted_value * factor", shown=shown)


_PRODUCT_CHOICES = {
    "a": "it is not a missing feature of phe but a limit of the scheme itself: no operation on the "
         "two ciphertexts gives E(ab), whatever the library. Reread the mathematics of section 7.",
    "b": None,
    "c": "the product of two ciphertexts modulo n² is a perfectly good number: multiplying them is "
         "exactly how E(a) + E(b) is computed. Size is not the obstacle.",
    "d": "no multiplication reveals p and q; the obstacle is that b would have to be an exponent "
         "while it is hidden inside E(b).",
}


def check_03_ciphertext_product(choice) -> str:
    """Exercise 03.3: why ``E(a) * E(b)`` is refused (multiple choice: "a", "b", "c" or "d")."""
    ex = _Exercise("03.3 (product of two ciphertexts)",
                   f'{_S03}, section "7 · Two ciphertexts cannot be multiplied"')
    expected = 'one letter, "a", "b", "c" or "d"'
    if not isinstance(choice, str):
        raise ex.fail(expected, choice, 'answer with the letter of your choice as a string, e.g. "a"')
    letter = choice.strip().strip("()'\".").lower()
    if letter not in _PRODUCT_CHOICES:
        raise ex.fail(expected, choice, "one of the four letters of the list")
    why = _PRODUCT_CHOICES[letter]
    if why is None:
        return _ok("Paillier is additively homomorphic only: multiplying ciphertexts adds the plaintexts, "
                   "and E(ab) would need a power b that is itself hidden inside E(b)")
    raise ex.fail(expected, choice, why)


# ============================================================ 04 · the server
_S04 = "04_encrypted_server.ipynb"


def check_04_recovered_threshold(recovered, server_or_tree, slot: int = 1) -> str:
    """Exercise 04.1: the threshold of internal node ``slot`` recovered from one unblinded reply.

    ``server_or_tree`` is the :class:`~encmed_lib.TreeServer` (or its tree): the
    checker reads the true threshold, as the teacher's checks of notebook 04
    do.  The recovery is exact to ``2**-40``.
    """
    from .crypto.encoding import SCALE

    ex = _Exercise("04.1 (threshold from an unblinded reply)",
                   f'{_S04}, section "4a · The original design: no blinding"')
    nodes = _portable(server_or_tree).internal_nodes()
    if not 0 <= slot < len(nodes):
        raise ValueError(f"slot must be in [0, {len(nodes)}), got {slot}")
    node = nodes[slot]
    t = float(node.threshold)
    expected = f"the threshold of slot {slot} in feature units (a number such as 0.95), exact to 2**-40"
    value = _number(recovered, ex, expected)
    if _close(value, t, 2.0 ** -39):
        return _ok(f"slot {slot} compares {node.feature} with {t!r}: one unblinded reply gives it exactly")
    if _close(value / SCALE, t, 2.0 ** -39):
        raise ex.fail(expected, recovered, "this is T = v + X on the integer scale: divide by 2**40 "
                      "(SCALE) to return to feature units")
    if _close(value, t, 1e-3):
        raise ex.fail(expected, recovered, "close, but the recovery is exact: do not round, and add the "
                      "encoded value X = encode_value(x) (not x itself) before dividing by 2**40")
    for j, other in enumerate(nodes):
        if j != slot and _close(value, float(other.threshold), 2.0 ** -39):
            raise ex.fail(expected, recovered, f"that is the threshold of slot {j}: use value number "
                          f"{slot} of client.decrypt_values(reply) and reply.features[{slot}]")
    raise ex.fail(expected, recovered, "with no blinding v = T - X: add the encoded value of the feature "
                  f"that slot {slot} compares (reply.features[{slot}]), X = encode_value(record[feature]), "
                  "then divide by SCALE = 2**40")


def check_04_blinded_value(ciphertext, client, record, server_or_tree, r: int, s: int, slot: int = 0) -> str:
    """Exercise 04.2: ``ciphertext`` must be E(r·(T - X) + s) for internal node ``slot`` and ``record``.

    Decrypted with ``client``'s private key (a teacher's check); ``T`` is the
    node's encoded threshold, ``X`` the record's encoded value of its feature.
    """
    from phe import EncryptedNumber

    from .crypto.encoding import encode_threshold, encode_value
    from .errors import CiphertextRangeError

    ex = _Exercise("04.2 (one node, by hand)", f'{_S04}, section "One node, by hand"')
    node = _portable(server_or_tree).internal_nodes()[slot]
    T = encode_threshold(node.threshold)
    X = encode_value(_record(record)[node.feature], node.feature)
    right = r * (T - X) + s
    expected = f"a ciphertext under the client's key of v = r·(T - X) + s for slot {slot} ({node.feature})"
    if isinstance(ciphertext, EncryptedNumber):
        ciphertext = ciphertext.ciphertext(be_secure=False)
    if isinstance(ciphertext, (bool, np.bool_)) or not isinstance(ciphertext, numbers.Integral):
        raise ex.fail(expected, ciphertext, "build it with key.mul_plain(...) and key.add_plain(...) from "
                      "E(-X) = negated[feature] (server.encrypted_inputs(query))")
    key = client.public_key
    try:
        if int(ciphertext) < key.n:  # a ciphertext below n happens with probability about 1/n
            raise CiphertextRangeError("a plain number")
        key.check_ciphertext(int(ciphertext))
    except CiphertextRangeError:
        raise ex.fail(expected, ciphertext, "this is not a ciphertext under the client's key: did you "
                      "compute v in clear? The server never decrypts") from None
    v = client.private_key.decrypt_signed(int(ciphertext))
    if v == right:
        side = "left" if v >= 0 else "right"
        return _ok(f"E(v) decrypts to r·(T - X) + s = {v}; v {'>=' if v >= 0 else '<'} 0, so the record "
                   f"goes {side} at slot {slot} ({node.feature} <= {node.threshold!r})")
    shown = f"a ciphertext that decrypts to {v}"
    if v == r * (X - T) + s:
        raise ex.fail(expected, None, "the sign of d is reversed: start from E(-X) (negated[feature]), "
                      "multiply it by r, then add r·T + s", shown=shown)
    if v == r * (T - X):
        raise ex.fail(expected, None, "you forgot the additive blind: add r·T + s, not r·T", shown=shown)
    if v in (T - X, T - X + s):
        raise ex.fail(expected, None, "the multiplicative blind is missing: key.mul_plain(E(-X), r) "
                      "gives E(-r·X)", shown=shown)
    if v == -X * r or v == -X:
        raise ex.fail(expected, None, "now add the known number r·T + s with key.add_plain", shown=shown)
    raise ex.fail(expected, None, "E(v) = E(-X)^r · (1 + (r·T + s)·n): key.add_plain(key.mul_plain("
                  "negated[feature], r), r * T + s) with T = encode_threshold(threshold)", shown=shown)


def check_04_pack_count(packs, tree, key_bits: int) -> str:
    """Exercise 04.3: how many ciphertexts (packs) the server returns for ``tree`` at ``key_bits``."""
    from .protocol.messages import SLOT_BITS, slots_per_pack

    ex = _Exercise("04.3 (packs)", f'{_S04}, section "Packing"')
    expected = (f"the number of packed ciphertexts in one reply for this tree at {key_bits} bits "
                "(a whole number)")
    value = _number(packs, ex, expected, integer=True)
    pt = _portable(tree)
    n_values = len(pt.internal_nodes())
    per = slots_per_pack(key_bits)
    right = -(-n_values // per)
    if value == right:
        return _ok(f"{n_values} blinded values, {per} slots of {SLOT_BITS} bits per {key_bits}-bit pack: "
                   f"{right} ciphertext(s) instead of {n_values}")
    if value == n_values:
        raise ex.fail(expected, packs, "that is one ciphertext per internal node: the unpacked count. "
                      "How many values fit in one pack?")
    if value == n_values // per:
        raise ex.fail(expected, packs, "round up: a partly filled pack is still a ciphertext to send")
    if value == per:
        raise ex.fail(expected, packs, "that is the number of slots per pack, not the number of packs")
    if value == -(-len(pt.nodes) // per):
        raise ex.fail(expected, packs, "only internal nodes carry a blinded value; leaves do not")
    raise ex.fail(expected, packs, "one value per internal node; slots_per_pack(key_bits) of them per "
                  "ciphertext; the number of packs is the ceiling of their ratio")


# ============================================================ 05 · the client
_S05 = "05_client_decryption.ipynb"


def _labels_equal(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is not tuple
    except (TypeError, ValueError):
        return False


def check_05_agreement(encrypted_labels, tree, rows) -> str:
    """Exercise 05.1: the encrypted labels of ``rows`` (one per row, in order) equal ``tree.predict``."""
    ex = _Exercise("05.1 (agreement)", f'{_S05}, section "4 · The whole held-out set"')
    n = len(rows)
    expected = f"a list of {n} labels, one per row, obtained by encrypt -> evaluate -> decrypt"
    if encrypted_labels is None or isinstance(encrypted_labels, (str, numbers.Number)):
        raise ex.fail(expected, encrypted_labels, "build a list with one decrypted label per row, e.g. "
                      "a list comprehension over rows.iterrows()")
    labels = list(encrypted_labels)
    if len(labels) != n:
        raise ex.fail(expected, encrypted_labels, f"{len(labels)} labels for {n} rows: one label per row",
                      shown=f"{len(labels)} labels")
    plain = np.asarray(tree.predict(rows))
    for i, (mine, truth) in enumerate(zip(labels, plain, strict=True)):
        if isinstance(mine, tuple):
            raise ex.fail(expected, mine, "a (label, distribution) pair: call client.decrypt(reply) without "
                          "return_distribution, or keep the label only")
        if not _labels_equal(mine, truth):
            raise ex.fail(expected, None, f"row {i}: the plaintext tree predicts {truth!r}. Encrypt that "
                          "row, evaluate its query and decrypt its own reply",
                          shown=f"label {mine!r} for row {i}")
    return _ok(f"{n}/{n} encrypted labels agree with tree.predict: the protocol is exact")


def check_05_leaf(leaf, tree, record) -> str:
    """Exercise 05.2: the leaf a record reaches, walked by hand from the decrypted signs.

    The right answer is scikit-learn's ``tree.apply`` (the reply's node
    indices are the tree's).
    """
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    ex = _Exercise("05.2 (walk the tree)", f'{_S05}, section "Walk the tree"')
    expected = "the index of the leaf node reached (a whole number, an index into reply.tree['nodes'])"
    value = _number(leaf, ex, expected, integer=True)
    pt = _portable(tree)
    rec = _record(record)
    if isinstance(tree, DecisionTreeClassifier):
        frame = pd.DataFrame([{f: rec[f] for f in pt.feature_names}])
        right = int(tree.apply(frame)[0])
    else:
        right = pt.walk(lambda nd: float(np.float32(rec[nd.feature])) <= nd.threshold)
    if value == right:
        return _ok(f"node {right} is the leaf, as tree.apply gives; its label is {pt.leaf_label(right)!r}")
    if not 0 <= value < len(pt.nodes):
        raise ex.fail(expected, leaf, f"node indices run from 0 to {len(pt.nodes) - 1}")
    if not pt.nodes[value].is_leaf:
        raise ex.fail(expected, leaf, f"node {value} is an internal node (it has a slot): keep walking "
                      "until a node without 'slot'")
    flipped = pt.walk(lambda nd: not float(np.float32(rec[nd.feature])) <= nd.threshold)
    if value == flipped:
        raise ex.fail(expected, leaf, "you turned the wrong way: v >= 0 means left (X <= T), v < 0 right")
    raise ex.fail(expected, leaf, "start at node 0; at a node with a 'slot', go to 'left' if "
                  "values[slot] >= 0 and to 'right' otherwise, until a node without 'slot'")


def check_05_disease_share(share, tree, record) -> str:
    """Exercise 05.3: the leaf's share of class 1 (disease) for ``record``, as ``predict_proba`` gives."""
    import pandas as pd

    ex = _Exercise("05.3 (class shares)", f'{_S05}, section "Walk the tree"')
    expected = "the share of class 1 (disease) at the record's leaf, a number between 0 and 1"
    if isinstance(share, tuple) and len(share) == 2:
        raise ex.fail(expected, share, "client.decrypt(..., return_distribution=True) returns (label, "
                      "shares): take the shares, then the entry of class 1")
    if hasattr(share, "__len__") and not isinstance(share, str):
        raise ex.fail(expected, share, "these are all the class shares: give the entry of class 1 only "
                      "(classes are [0, 1])")
    value = _number(share, ex, expected)
    pt = _portable(tree)
    rec = _record(record)
    proba = tree.predict_proba(pd.DataFrame([{f: rec[f] for f in pt.feature_names}]))[0]
    classes = list(pt.classes)
    right = float(proba[classes.index(1)])
    if _close(value, right, 1e-9):
        return _ok(f"{right:.3f} of the training patients at this leaf had heart disease "
                   "(= tree.predict_proba)")
    if len(classes) == 2 and _close(value, float(proba[classes.index(0)]), 1e-9):
        raise ex.fail(expected, share, "that is the share of class 0 (no disease): take index 1")
    if value in classes and not 0 < value < 1:
        raise ex.fail(expected, share, "that is a label; the question asks for the share of class 1")
    raise ex.fail(expected, share, "decrypt the reply of this record with client.decrypt(reply, "
                  "return_distribution=True) and take the second share")


# ===================================================== the student versions
SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: write your solution here")'
MARKDOWN_BEGIN = "<!-- BEGIN SOLUTION -->"
MARKDOWN_END = "<!-- END SOLUTION -->"
MARKDOWN_STUB = "*Your answer here.*"
_MARKDOWN_BLOCK = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.S)
_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


def strip_code_solution(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region by :data:`STUB`.

    The stub keeps the indentation of the BEGIN line; lines outside the regions
    stay.  Returns the new source and the number of regions replaced.

    Raises
    ------
    LabFormatError
        Markers are nested, unopened or unclosed.
    """
    out, inside, count = [], False, 0
    for lineno, line in enumerate(source.split("\n"), 1):
        marker = line.strip()
        if marker.startswith(SOLUTION_BEGIN):
            if inside:
                raise LabFormatError(f"{where}, line {lineno}: nested {SOLUTION_BEGIN}")
            inside, count = True, count + 1
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif marker.startswith(SOLUTION_END):
            if not inside:
                raise LabFormatError(f"{where}, line {lineno}: {SOLUTION_END} without {SOLUTION_BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise LabFormatError(f"{where}: {SOLUTION_BEGIN} without {SOLUTION_END}")
    return "\n".join(out), count


def strip_markdown_solution(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` block by the stub.

    The stub is :data:`MARKDOWN_STUB`; returns the new source and the number of blocks replaced.
    """
    text, count = _MARKDOWN_BLOCK.subn(MARKDOWN_STUB, source)
    if "BEGIN SOLUTION" in text or "END SOLUTION" in text:
        raise LabFormatError(f"{where}: unbalanced {MARKDOWN_BEGIN} / {MARKDOWN_END} markers")
    return text, count


def _raw_cell_ids(text: str) -> list[str | None]:
    return [cell.get("id") for cell in json.loads(text).get("cells", [])]


def student_notebook(path: str | Path):
    """The student version of one notebook (an ``nbformat`` node) and its number of exercises.

    Solutions are replaced (see :func:`strip_code_solution`), outputs and
    execution counts cleared, volatile cell metadata (execution timestamps)
    removed.  Cell ids are kept; a cell without one (an older notebook) gets an
    id derived from the file name and its position, so the result never
    depends on chance.
    """
    import nbformat

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    ids = _raw_cell_ids(text)
    nb = nbformat.reads(text, as_version=4)
    exercises = 0
    for index, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {index}"
        if "id" not in cell or (index < len(ids) and ids[index] is None):
            cell["id"] = hashlib.sha256(f"{path.name}:{index}".encode()).hexdigest()[:8]
        if cell.cell_type == "code":
            cell.source, count = strip_code_solution(cell.source, where)
            exercises += count
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source, _ = strip_markdown_solution(cell.source, where)
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "BEGIN SOLUTION" in cell.source or "END SOLUTION" in cell.source:
            raise LabFormatError(f"{where}: a solution marker is left after stripping (markers must "
                                 "stand on their own line)")
    nb.nbformat, nb.nbformat_minor = 4, max(int(nb.get("nbformat_minor", 5)), 5)
    nbformat.validate(nb)
    return nb, exercises


def make_student_versions(src: str | Path | None = None, dest: str | Path | None = None) -> list[Path]:
    """Write the student version of every ``NN_*.ipynb`` of ``src`` into ``dest``; return the paths.

    Defaults: ``notebooks/`` and ``students/`` at the repository's root.  The
    output is deterministic (the same input gives the same bytes) and contains
    no solution and no output.
    """
    import nbformat

    from .data.paths import REPO_ROOT

    src = Path(src) if src is not None else REPO_ROOT / "notebooks"
    dest = Path(dest) if dest is not None else REPO_ROOT / "students"
    paths = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no NN_*.ipynb notebook in {src}")
    if dest.resolve() == src.resolve():
        raise ValueError("the student versions must go to another folder than the notebooks")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        nb, _ = student_notebook(path)
        out = dest / path.name
        nbformat.write(nb, out)
        written.append(out)
    return written


def _read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m encmed_lib.labs",
                                     description="The course's exercises: generate the student notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    students = sub.add_parser("students", help="write the student version of every notebook "
                              "(solutions replaced by a stub, outputs cleared)")
    students.add_argument("--src", type=Path, default=None, help="notebooks folder (default: notebooks/)")
    students.add_argument("--dest", type=Path, default=None, help="output folder (default: students/)")
    args = parser.parse_args(argv)
    if args.command == "students":
        written = make_student_versions(args.src, args.dest)
        for out in written:
            stubs = sum(c.source.count(STUB) for c in _read(out).cells if c.cell_type == "code")
            print(f"{out}: {stubs} exercise(s) to solve")
        print(f"{len(written)} student notebooks in {written[0].parent}")



if __name__ == "__main__":  # pragma: no cover
    main()
