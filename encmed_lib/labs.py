"""Labs: the exercises at the end of notebooks 01-10, their checkers, and the student versions.

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
    "check_06_public_depth", "check_06_compact_label", "check_06_cheating_client",
    "check_07_stolen_model", "check_07_encrypted_probability", "check_07_query_ciphertexts",
    "check_08_additive_shares", "check_08_inferred_count", "check_08_lightest_backend",
    "check_09_level_epsilon", "check_09_level_sensitivity", "check_09_epsilon_for_accuracy",
    "check_09_advantage_bound",
    "check_10_extraction_protocols", "check_10_label_only_query_ratio", "check_10_slowdown",
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
    return _check_choice(ex, choice, _PRODUCT_CHOICES,
                         "Paillier is additively homomorphic only: multiplying ciphertexts adds the "
                         "plaintexts, and E(ab) would need a power b that is itself hidden inside E(b)")


def _check_choice(ex: _Exercise, choice, choices: dict, success: str) -> str:
    """A multiple-choice answer: ``choices`` maps each letter to its hint (``None`` for the right one)."""
    expected = 'one letter, "a", "b", "c" or "d"'
    if not isinstance(choice, str):
        raise ex.fail(expected, choice, 'answer with the letter of your choice as a string, e.g. "a"')
    letter = choice.strip().strip("()'\".").lower()
    if letter not in choices:
        raise ex.fail(expected, choice, "one of the four letters of the list")
    why = choices[letter]
    if why is None:
        return _ok(success)
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


# ====================================================== 06 · label-only mode
_S06 = "06_label_only.ipynb"


def check_06_public_depth(comparisons, dummies, leaves, tree, depth: int = 6) -> str:
    """Exercise 06.1: what a label-only client sees of ``tree`` padded to the public ``depth``.

    ``comparisons`` (values in the Comparisons message), ``dummies`` (how many
    of them are padding) and ``leaves`` (leaves in the reply) are recomputed by
    building the padded server, ``TreeServer(tree, mode="label-only", depth=depth)``.
    """
    from .protocol.label_only import LabelOnlyServer

    ex = _Exercise(f"06.1 (public depth {depth})", f'{_S06}, section "1 · The idea: a path cost per leaf"')
    names = ("comparisons", "dummies", "leaves")
    expected = (f"three whole numbers for a public depth D = {depth}: the comparisons the client receives, "
                "how many of them are dummies, the leaves of the reply")
    values = {name: _number(v, ex, expected, integer=True)
              for name, v in zip(names, (comparisons, dummies, leaves), strict=True)}
    server = LabelOnlyServer(tree, depth=depth)
    right = {"comparisons": len(server.node_T), "dummies": sum(server.node_dummy),
             "leaves": len(server.leaf_class)}
    real = right["comparisons"] - right["dummies"]
    if values == right:
        return _ok(f"at public depth {depth} the client always receives {right['comparisons']} comparisons "
                   f"({right['dummies']} of them dummies around the tree's {real} real nodes) and "
                   f"{right['leaves']} leaves, whatever the real tree looks like")
    shown = ", ".join(f"{name} = {values[name]}" for name in names)
    c, dm, lv = values["comparisons"], values["dummies"], values["leaves"]
    if (c, lv) == (real, real + 1):
        raise ex.fail(expected, None, "those are the real tree's counts (basic mode): the client sees the "
                      "tree padded to a *complete* tree of the public depth", shown=shown)
    if c != right["comparisons"]:
        if c == 2 ** depth:
            hint = (f"a complete tree of depth {depth} has 2**{depth} leaves but one comparison fewer: "
                    f"2**{depth} - 1 internal nodes")
        elif c == 2 ** (depth + 1) - 1:
            hint = "that counts every node, leaves included: only internal nodes carry a comparison"
        elif c == real:
            hint = "that is the real tree's number of internal nodes: the padded tree has more"
        else:
            hint = (f"a complete binary tree of depth D has 2**D - 1 internal nodes (one comparison "
                    f"each): D = {depth}")
        raise ex.fail(expected, None, hint, shown=shown)
    if lv != right["leaves"]:
        hint = ("that is the number of comparisons: a complete tree has one leaf more than internal nodes"
                if lv == right["comparisons"] else
                "the reply carries one leaf per leaf of the complete tree of depth D: 2**D")
        raise ex.fail(expected, None, hint, shown=shown)
    if dm == right["comparisons"]:
        hint = f"not every comparison is a dummy: the tree's {real} real nodes are placed first"
    elif dm == 0:
        hint = f"the tree is shallower than D = {depth}: below its leaves the server adds dummy nodes"
    else:
        hint = ("the dummies are the comparisons that are not real internal nodes: all comparisons minus "
                "the tree's internal nodes (tree.tree_.node_count - tree.get_n_leaves())")
    raise ex.fail(expected, None, hint, shown=shown)


def check_06_compact_label(label, values, tree, record) -> str:
    """Exercise 06.2: a compact label-only reply decrypted by hand.

    ``values`` are the raw decryptions of the reply's ciphertexts (one per
    leaf): exactly one must lie below the number of classes, and ``label``
    must be that class, which must equal ``tree.predict`` on ``record``.
    """
    import pandas as pd

    ex = _Exercise("06.2 (a compact reply by hand)",
                   f'{_S06}, section "6 · What it costs, next to basic mode" (the compact form) and '
                   '"Step 5: what the client decrypts"')
    pt = _portable(tree)
    classes = list(pt.classes)
    n_classes = len(classes)
    expected_values = ("a list with one raw decryption (an integer in [0, n)) per ciphertext of the "
                       "compact reply")
    if values is None or isinstance(values, (str, numbers.Number)) or not hasattr(values, "__len__"):
        raise ex.fail(expected_values, values, "decrypt every ciphertext of the reply: "
                      "[client.private_key.raw_decrypt(c) for c in reply.ciphertexts]")
    values = list(values)
    if not all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) for v in values):
        raise ex.fail(expected_values, values, "raw decryptions are integers: use "
                      "client.private_key.raw_decrypt(c), not client.decrypt")
    values = [int(v) for v in values]
    leaves = 2 ** pt.depth
    if len(values) == 2 * leaves:
        raise ex.fail(expected_values, None, "two values per leaf: that is the pair form. Build the server "
                      'with em.TreeServer(tree, mode="label-only", compact=True)',
                      shown=f"{len(values)} values")
    if len(values) < leaves or len(values) & (len(values) - 1):
        raise ex.fail(expected_values, None, f"the compact reply has one ciphertext per leaf of the padded "
                      f"tree ({leaves} for this tree): decrypt all of reply.ciphertexts",
                      shown=f"{len(values)} values")
    if any(v < 0 for v in values):
        raise ex.fail(expected_values, None, "negative values: decrypt_signed maps the upper half of "
                      "[0, n) to negative numbers, so about half the random leaves would look like class "
                      "indices. Use client.private_key.raw_decrypt",
                      shown=f"{sum(v < 0 for v in values)} negative values among {len(values)}")
    small = [v for v in values if v < n_classes]
    if len(small) != 1:
        raise ex.fail(expected_values, None, "exactly one leaf decrypts to a class index: decrypt the "
                      "compact reply of this record with this client's key (the one that encrypted "
                      "the query)", shown=f"{len(small)} values below {n_classes}")
    found = classes[small[0]]
    expected = f"the label of the one leaf whose value is below {n_classes}: one of {classes}"
    rec = _record(record)
    truth = tree.predict(pd.DataFrame([{f: rec[f] for f in pt.feature_names}]))[0]
    if isinstance(label, (numbers.Integral, np.integer)) and not isinstance(label, bool) \
            and int(label) >= n_classes and int(label) in values:
        raise ex.fail(expected, label, "that is a random leaf value: the label is the one value below "
                      "the number of classes (classes[value])")
    if not _labels_equal(label, found):
        raise ex.fail(expected, label, f"your values contain one class index, {small[0]}: the label is "
                      f"reply.meta['classes'][{small[0]}]")
    if not _labels_equal(found, truth):
        raise ex.fail(expected, label, "these values do not decrypt this record's reply: send record_ex, "
                      "and decrypt the reply of that very exchange")
    return _ok(f"one of the {len(values)} leaf values is a class index ({small[0]}), the other "
               f"{len(values) - 1} are uniform modulo n: the label is {found!r}, as tree.predict gives")


_CHEAT_CHOICES = {
    "a": "the bits are encrypted under the client's own key: the server cannot read them, and E(2) is a "
         "perfectly valid ciphertext. Nothing in the protocol lets the server check that it encrypts a bit.",
    "b": "the server undoes the flips homomorphically, E(1)·E(b)^(-1) = E(1 - b): with b = 2 that is "
         "E(-1). The path costs are computed from whatever the client encrypted.",
    "c": None,
    "d": "the blinds only enter round 1's values, which the client decrypts anyway; the bits message "
         "carries nothing about them back. What a cheat corrupts is the path costs of round 2.",
}


def check_06_cheating_client(choice) -> str:
    """Exercise 06.3: what a client that answers E(2) breaks (multiple choice: "a" to "d")."""
    ex = _Exercise("06.3 (a cheating client)", f'{_S06}, section "A cheating client"')
    return _check_choice(ex, choice, _CHEAT_CHOICES,
                         "with E(2) every wrong-turn term is -1 or 2, so no leaf costs zero; cleverer "
                         "values make several leaves decodable. The one-label guarantee holds for "
                         "semi-honest clients only")


# ================================================= 07 · beyond trees
_S07 = "07_beyond_trees.ipynb"


def _linear_coef(server_or_model) -> tuple[np.ndarray, float, list[str]]:
    from .protocol.linear import LinearServer, linear_parameters

    if isinstance(server_or_model, LinearServer):
        return (np.asarray(server_or_model.coef, dtype=float), float(server_or_model.intercept),
                list(server_or_model.feature_names))
    coef, intercept, names, _ = linear_parameters(server_or_model)
    return coef, intercept, names or [f"x{i}" for i in range(coef.size)]


def _vector(value, ex: _Exercise, expected: str) -> np.ndarray:
    """Read an answer as a 1-d float vector (list, array, Series)."""
    if value is None or isinstance(value, (str, numbers.Number)) or not hasattr(value, "__len__"):
        hint = ("give one weight per feature (an array of d numbers), not a single value"
                if isinstance(value, numbers.Number) else
                "no answer yet: assign an array of weights to the variable")
        raise ex.fail(expected, value, hint)
    try:
        vec = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ex.fail(expected, value, "the weights must be numbers") from None
    if not np.all(np.isfinite(vec)):
        raise ex.fail(expected, value, "some weights are not finite (NaN or infinity)")
    return vec


def check_07_stolen_model(coef, intercept, server) -> str:
    """Exercise 07.1: the weights and intercept read off d + 1 chosen scores.

    Compared with the model's own ``(coef, intercept)`` (``server`` is the
    :class:`~encmed_lib.protocol.linear.LinearServer`, or a model it accepts):
    a relative error below 1e-9 on the weights, and ``1e-9 (1 + |b|)`` on the
    intercept.
    """
    ex = _Exercise("07.1 (model extraction)",
                   f'{_S07}, section "3 · What the score gives away: model extraction"')
    w, b, names = _linear_coef(server)
    d = w.size
    expected = f"{d} weights on the raw features (an array) and the intercept (a number)"
    vec = _vector(coef, ex, expected)
    norm = float(np.linalg.norm(w))

    def near(a: np.ndarray, target: np.ndarray) -> bool:
        return a.shape == target.shape and float(np.linalg.norm(a - target)) <= 1e-9 * max(norm, 1e-12)

    if vec.size == d + 1:
        raise ex.fail(expected, coef, f"{d + 1} numbers: the first score (x = 0) is the intercept; the "
                      f"weights come from the {d} records e_i", shown=f"an array of {d + 1} numbers")
    if vec.size != d:
        raise ex.fail(expected, coef, f"one weight per feature: {d} of them",
                      shown=f"an array of {vec.size} numbers")
    b_hat = _number(intercept, ex, "the intercept, one number")
    b_tol = 1e-9 * (1 + abs(b))
    if not near(vec, w):
        if near(vec - b, w):
            hint = "the score of e_i is w_i + b: subtract the intercept (the score of x = 0)"
        elif near(-vec, w):
            hint = "the sign is reversed: w_i = s(e_i) - s(0)"
        else:
            hint = ("score the all-zero record and the d unit records np.eye(d) with the oracle (one call "
                    "with a (d + 1) x d array); w_i = s(e_i) - s(0)")
        raise ex.fail(expected, None, hint, shown=f"weights off by {np.linalg.norm(vec - w) / norm:.1e} "
                      "(relative)")
    if not _close(b_hat, b, b_tol):
        raise ex.fail("the intercept, one number", intercept, "the weights are right; the intercept is the "
                      "score of the all-zero record, s(0) = b")
    top = int(np.argmax(np.abs(w)))
    return _ok(f"{d} weights and the intercept from d + 1 = {d + 1} scores, to float64 precision; the "
               f"largest weight is {names[top]}'s ({w[top]:+.4g} per unit), the intercept {b:+.4f}")


def check_07_encrypted_probability(probability, server, record) -> str:
    """Exercise 07.2: P(disease) of ``record`` from its encrypted score, within 1e-9.

    Recomputed as ``sigmoid(server.plaintext_score(x))`` (the same fixed-point
    integers as the encrypted reply).
    """
    from scipy.special import expit

    from .protocol.linear import LinearServer

    ex = _Exercise("07.2 (one encrypted score)", f'{_S07}, section "One patient, end to end"')
    expected = "the probability of heart disease (class 1) for this patient, a number between 0 and 1"
    if isinstance(probability, tuple) and len(probability) == 2:
        raise ex.fail(expected, probability, "score_encrypted returns (score, [1 - p, p]): keep the score "
                      "and apply the sigmoid, or take entry 1 of the probabilities")
    if hasattr(probability, "__len__") and not isinstance(probability, str):
        raise ex.fail(expected, probability, "these are the two class probabilities [1 - p, p]: give the "
                      "entry of class 1")
    value = _number(probability, ex, expected)
    if not isinstance(server, LinearServer):
        server = LinearServer(server)
    rec = _record(record)
    x = [rec[f] for f in server.feature_names]
    score = server.plaintext_score(x)
    right = float(expit(score))
    if _close(value, right, 1e-9):
        return _ok(f"P(disease) = {right:.6f} for this patient (score {score:+.6f}): the encrypted score "
                   "gives the plaintext model's probability")
    if _close(value, score, 1e-6):
        raise ex.fail(expected, probability, "that is the score (a logit): the probability is the sigmoid "
                      "1 / (1 + exp(-score))")
    if _close(value, 1 - right, 1e-9):
        raise ex.fail(expected, probability, "that is the probability of class 0 (no disease): take p, "
                      "not 1 - p")
    if 1 < value <= 100 and _close(value / 100, right, 1e-7):
        raise ex.fail(expected, probability, "this looks like a percentage: give a fraction between 0 and 1")
    raise ex.fail(expected, probability, "score the patient with score_encrypted(client, server, record_ex) "
                  "and apply the sigmoid to the score")


def check_07_query_ciphertexts(paillier, ckks, n_features: int = 13, poly_modulus_degree: int | None = None
                               ) -> str:
    """Exercise 07.3: ciphertexts in one query of ``n_features`` values, Paillier and CKKS.

    Paillier encrypts one number per ciphertext; CKKS one value per slot,
    ``poly_modulus_degree // 2`` slots (8192 by default: 4096 slots).
    """
    from .crypto.ckks import CKKS_PARAMETERS

    ex = _Exercise("07.3 (ciphertexts per query)", f'{_S07}, sections "CKKS in a few lines" and '
                   '"5 · CKKS and Paillier side by side"')
    N = int(poly_modulus_degree or CKKS_PARAMETERS["poly_modulus_degree"])
    slots = N // 2
    expected = f"two whole numbers: the ciphertexts of one {n_features}-feature query, Paillier then CKKS"
    p = _number(paillier, ex, expected, integer=True)
    c = _number(ckks, ex, expected, integer=True)
    right_p, right_c = n_features, -(-n_features // slots)
    shown = f"Paillier {p}, CKKS {c}"
    if p != right_p:
        if p == 1:
            hint = ("a Paillier ciphertext holds one number: the client encrypts each feature separately "
                    "(packing is for the server's replies, not the query)")
        elif p == n_features + 1:
            hint = "the intercept is the server's, in clear: the client encrypts only its features"
        else:
            hint = "the Paillier client encrypts one ciphertext per feature of the record"
        raise ex.fail(expected, None, hint, shown=shown)
    if c != right_c:
        if c == n_features:
            hint = (f"CKKS encrypts a whole vector: one value per slot, and N = {N} gives {slots} slots")
        else:
            hint = f"one CKKS ciphertext holds N/2 = {slots} values, one per slot"
        raise ex.fail(expected, None, hint, shown=shown)
    return _ok(f"Paillier: {right_p} ciphertexts, one per feature; CKKS: {right_c} ciphertext holding all "
               f"{n_features} values in its {slots} slots (each CKKS ciphertext is far larger, though)")


# ======================================== 08 · collaborative training
_S08 = "08_collaborative_training.ipynb"


def _flat_ints(value, ex: _Exercise, expected: str, what: str) -> list[int]:
    """A flat list of Python ints (shares are too large for int64)."""
    if value is None or isinstance(value, (str, numbers.Number)) or not hasattr(value, "__len__"):
        raise ex.fail(expected, value, f"{what} must be a list of numbers")
    flat = np.asarray(value, dtype=object).ravel().tolist()
    out = []
    for v in flat:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
            if isinstance(v, (numbers.Real, np.floating)) and float(v).is_integer() and abs(v) < 2 ** 53:
                out.append(int(v))
                continue
            raise ex.fail(expected, value, f"{what} must hold whole numbers (Python ints: values mod p are "
                          "too large for floats or int64)", shown=f"an element {_show(v)}")
        out.append(int(v))
    return out


def check_08_additive_shares(shares, reconstructed, table, k: int = 3, prime: int | None = None) -> str:
    """Exercise 08.1: ``k`` additive shares of ``table`` modulo ``prime``, and the table added back.

    ``shares`` is what ``SecretSharingAggregator.share(table, k)`` returns
    (``k`` flat lists of values in ``[0, p)``); ``reconstructed`` their
    elementwise sum modulo ``p``.  ``prime`` defaults to :math:`2^{127} - 1`.
    """
    from .federated.aggregation import MERSENNE_127

    ex = _Exercise("08.1 (additive shares)", f'{_S08}, section "3 · The protocol, round by round"')
    p = int(prime) if prime is not None else MERSENNE_127
    target = [int(v) for v in np.asarray(table).ravel()]
    size = len(target)
    expected = f"{k} shares, each a list of {size} numbers in [0, p), that add up to the table modulo p"
    if shares is None or isinstance(shares, (str, numbers.Number)) or not hasattr(shares, "__len__"):
        raise ex.fail(expected, shares, f"split the table with sharer.share(table, {k})")
    parts = list(shares)
    if len(parts) != k:
        raise ex.fail(expected, None, f"K = {k} providers means {k} shares: share(table, {k})",
                      shown=f"{len(parts)} shares")
    rows = [_flat_ints(s, ex, expected, "a share") for s in parts]
    if any(len(r) != size for r in rows):
        raise ex.fail(expected, None, f"each share has one value per entry of the table ({size})",
                      shown=f"shares of lengths {[len(r) for r in rows]}")
    if any(not 0 <= v < p for r in rows for v in r):
        raise ex.fail(expected, None, "shares are numbers modulo p: every value lies in [0, p)",
                      shown="a share value outside [0, p)")
    sums = [sum(col) % p for col in zip(*rows, strict=True)]
    if sums != target:
        raise ex.fail(expected, None, "these shares do not add up to the table modulo p: share the table "
                      "given in the exercise, with the aggregator whose prime you pass",
                      shown="shares that add up to another table")
    if sum(1 for r in rows if any(r)) < min(k, 2) or any(r == target for r in rows):
        raise ex.fail(expected, None, "the shares a provider sends must be uniformly random: let "
                      "sharer.share draw them (one share equal to the table gives it away)",
                      shown="shares that are not random")
    expected_r = f"the table added back: a flat list of its {size} counts"
    got = _flat_ints(reconstructed, ex, expected_r, "the reconstruction")
    if got != target:
        raw = [sum(col) for col in zip(*rows, strict=True)]
        if got == raw:
            hint = "reduce the sums modulo p (sharer.prime): the shares are uniform in [0, p)"
        elif got in rows:
            hint = f"that is one share alone: add all {k} of them, entry by entry"
        else:
            hint = ("add the shares entry by entry, then take each sum modulo p: "
                    "[sum(col) % p for col in zip(*shares)]")
        raise ex.fail(expected_r, None, hint, shown=f"a list of {len(got)} numbers"
                      if len(got) != size else f"{got[:6]}{'...' if len(got) > 6 else ''}")
    bits = "2^127 - 1" if p == MERSENNE_127 else f"a {p.bit_length()}-bit prime"
    return _ok(f"{k} shares of {size} values, each uniform below p = {bits}; only their sum modulo p gives "
               f"back the table {target}")


def check_08_inferred_count(count, providers, binning, *, observer: str, feature: str, bin: int,
                            label) -> str:
    """Exercise 08.2: what ``observer`` infers (total - own) for one (feature bin, class) at the root.

    Recomputed from the providers' own records (a teacher's check): the count
    of records of every *other* provider at ``bin`` of ``feature`` with class
    ``label``.  The providers are not modified.
    """
    import copy

    from .federated.report import _bin_label

    ex = _Exercise("08.2 (what one hospital infers)", f'{_S08}, section "4 · What one hospital sees"')
    by_name = {p.name: p for p in providers}
    if observer not in by_name:
        raise ValueError(f"observer {observer!r} is not one of the providers {list(by_name)}")
    classes = sorted(set().union(*(p.labels() for p in providers)))
    f = binning.feature_names.index(feature)
    c = classes.index(label)
    tables = {}
    for p in providers:
        mine = copy.copy(p)  # prepare() rebinds the routing state: work on a copy
        mine.prepare(binning, classes)
        tables[p.name] = mine.count_table(0)[f, bin]  # (classes,) at the root
    counts = {name: int(t[c]) for name, t in tables.items()}
    others = [name for name in by_name if name != observer]
    own = counts[observer]
    total = sum(counts.values())
    right = total - own
    where = _bin_label(feature, binning.edges[feature], bin)
    expected = (f"the number of patients of {' and '.join(others)} together with {where} and class {label!r} "
                "(a whole number)")
    value = _number(count, ex, expected, integer=True)
    if value == right:
        return _ok(f"{' and '.join(others)} together hold {right} patients with {where} and class {label!r} "
                   f"(the total {total} minus {observer}'s own {own}); {observer} learns this sum, not how "
                   "it splits between them")
    if value == own:
        raise ex.fail(expected, count, f"that is {observer}'s own count: subtract it from the total")
    if value == total:
        raise ex.fail(expected, count, f"the total includes {observer}'s own patients: subtract its own "
                      "count")
    if value == -right:
        raise ex.fail(expected, count, "the sign is reversed: total - own, not own - total")
    if value in {counts[name] for name in others}:
        raise ex.fail(expected, count, f"that is one other hospital alone, which {observer} cannot know: "
                      "with three hospitals it only sees the sum of the other two (total - own)")
    other_class = {sum(int(t[k]) for name, t in tables.items() if name != observer)
                   for k in range(len(classes)) if k != c}
    if value in other_class:
        raise ex.fail(expected, count, f"that is another class: read the rows of class {label!r}")
    raise ex.fail(expected, count, f"provider_view(trainer, <{observer}>, round=\"level 0\", feature="
                  f"{feature!r}) has one row per (bin, class): take the row ({where!r}, {label!r}) and "
                  "compute total - own table")


def check_08_lightest_backend(backend, costs) -> str:
    """Exercise 08.3: the back-end of ``costs`` (from ``compare_backends``) with the fewest bytes in all."""
    ex = _Exercise("08.3 (the lightest back-end)", f'{_S08}, section "5 · Three back-ends, one tree"')
    labels = [str(i) for i in costs.index]
    expected = f"the label of one back-end, a string among {labels}"
    if not isinstance(backend, str):
        raise ex.fail(expected, backend, "give the back-end's label, an entry of costs.index (e.g. "
                      "costs[...].idxmin())")
    name = backend.strip()
    if name not in labels:
        raise ex.fail(expected, backend, f"not a back-end of the table: the labels are {labels}")
    sizes = costs["bytes"].astype(int)
    right = str(sizes.idxmin())
    if name == right:
        rest = "; ".join(f"{label} {int(sizes[label]):,}" for label in labels if label != right)
        return _ok(f"{right!r} puts the fewest bytes on the wire: {int(sizes[right]):,} in all ({rest})")
    if "bytes per provider" in costs.columns and name == str(costs["bytes per provider"].idxmin()):
        raise ex.fail(expected, backend, "that one has the smallest largest-sender load (bytes per "
                      "provider); the question is about every message: the column bytes")
    if "seconds" in costs.columns and name == str(costs["seconds"].idxmin()):
        raise ex.fail(expected, backend, "that is the fastest; the question is about bytes: the column bytes")
    if name == str(sizes.idxmax()):
        raise ex.fail(expected, backend, "that is the heaviest: look for the smallest value of "
                      "costs['bytes']")
    raise ex.fail(expected, backend, "compare the column bytes (every message of the training): the "
                  "smallest value, costs['bytes'].idxmin()")



# ======================================== 09 · differential privacy
_S09 = "09_differential_privacy.ipynb"


def check_09_level_epsilon(epsilon, *, total_epsilon: float = 2.0, max_depth: int = 3, n_features: int = 13,
                           leaf_fraction: float = 0.25, binning_epsilon: float = 0.0) -> str:
    """Exercise 09.1: the epsilon of one level of split tables, as ``plan_tree_budget`` splits a budget.

    Recomputed as ``plan_tree_budget(total_epsilon, max_depth, n_features,
    binning_epsilon=binning_epsilon, leaf_fraction=leaf_fraction)["per_level"]``;
    within 0.0005, so an answer rounded to 3 decimals is accepted.
    """
    from .privacy import plan_tree_budget

    ex = _Exercise("09.1 (epsilon per level)", f'{_S09}, section "2 · The accounting, written down"')
    plan = plan_tree_budget(total_epsilon, max_depth, n_features, binning_epsilon=binning_epsilon,
                            leaf_fraction=leaf_fraction)
    D, F = plan["n_levels"], plan["n_features"]
    binning = f", binning epsilon {plan['binning']:g}" if plan["binning"] else ", public bins"
    expected = (f"the epsilon spent on one level of split tables (a number): depth {max_depth}, "
                f"{F} features, total epsilon {plan['total']:g}, leaf fraction {leaf_fraction:g}{binning}")
    value = _number(epsilon, ex, expected)
    right, tol = plan["per_level"], 5e-4
    if _close(value, right, tol):
        spent = f"{plan['binning']:g} (binning) + " if plan["binning"] else ""
        return _ok(f"each of the {D} levels spends {right:.4g}: {spent}{D} × {right:.4g} (split tables) + "
                   f"{plan['leaves']:.4g} (leaf counts) = {plan['total']:g}; with sensitivity {F} the noise "
                   f"on one count of a level has sd {plan['level_noise_sd']:.1f}")
    rest = plan["total"] - plan["binning"]
    per_feature = ("the sensitivity does not divide the budget, it sets the noise (scale F / epsilon): a "
                   "level costs its epsilon whatever the number of features")
    mistakes = [
        (rest / D, "the leaves' share is missing: leaf_fraction of the budget goes to the leaf class counts "
                   "first, and only the rest is split evenly over the levels"),
        (right / F, per_feature),
        (rest / D / F, per_feature),
        (right * D / (D + 1), f"a depth-{D} tree has {D} levels of split tables (the leaf class counts are a "
                              "separate release, with their own share), not depth + 1"),
        (rest / (D + 1), f"the leaf counts are not one more level: they get leaf_fraction of the budget, and "
                         f"the {D} levels share the rest"),
        (plan["levels"], f"that is all the levels together: divide it between the {D} levels"),
        (plan["leaves"], "that is the leaves' budget (leaf_fraction of it); the levels share the rest"),
        (plan["total"], "that is the whole budget: a tree makes several releases, whose epsilons add up "
                        "(sequential composition)"),
    ]
    if plan["binning"]:
        mistakes.append((plan["total"] * (1 - leaf_fraction) / D,
                         "take the binning's epsilon off the total first, then the leaves' share"))
    for candidate, hint in mistakes:
        if _close(value, candidate, tol):
            raise ex.fail(expected, epsilon, hint)
    raise ex.fail(expected, epsilon, "plan_tree_budget(total, max_depth=..., n_features=..., "
                  "leaf_fraction=...) writes the plan down: read its 'per_level' entry, or check "
                  "budget_table(plan)")


def _feature_names(features) -> list[str]:
    """The feature names of a Binning, of a ranges mapping, of a DataFrame or of a list of names."""
    if hasattr(features, "feature_names"):
        return list(features.feature_names)
    if hasattr(features, "columns"):
        return [str(c) for c in features.columns]
    if isinstance(features, str) or not hasattr(features, "__iter__"):
        raise TypeError(f"features must be a Binning, a ranges mapping or a list of names, got {features!r}")
    return [str(name) for name in features]


def check_09_level_sensitivity(sensitivity, features=None, n_classes: int = 2) -> str:
    """Exercise 09.2: the L1 sensitivity of one level's count tables: the number of features.

    ``features`` describes the data: a :class:`~encmed_lib.federated.Binning`,
    a ranges mapping, a DataFrame or a list of feature names (default: the
    Synthea features, 8 bins over ``SYNTHEA_RANGES``).  One record adds 1 to
    one (bin, class) cell of each feature's histogram, in its own node of the
    level.
    """
    from .federated import HEART_RANGES, SYNTHEA_RANGES, Binning

    ex = _Exercise("09.2 (sensitivity of a level)", f'{_S09}, section "2 · The accounting, written down" '
                   '(What one record changes)')
    binning = Binning.from_ranges(SYNTHEA_RANGES, n_bins=8) if features is None else features
    names = _feature_names(binning)
    F = len(names)
    expected = ("the L1 sensitivity of the count tables of one level: the largest total change one record "
                "makes to them (a whole number)")
    value = _number(sensitivity, ex, expected, integer=True)
    if value == F:
        return _ok(f"one record adds 1 to one (bin, class) cell of each of the {F} features' histograms, "
                   f"in its own node: Δ = {F}, so each count of a level gets noise of scale {F} / ε_ℓ, "
                   f"{F} times what a single histogram would need")
    if value == 1:
        hint = ("1 is the sensitivity of one histogram; a level releases one histogram per feature, and a "
                "record falls in one bin of each of them")
    elif value == 2 * F:
        hint = ("neighbours differ by one record added or removed, not replaced: each feature's histogram "
                "changes by 1, not 2")
    elif value == len(HEART_RANGES) and F != len(HEART_RANGES):
        hint = "13 is the sensitivity for the heart data (section 2); count the features of this data set"
    else:
        cells = set()
        if isinstance(binning, Binning):
            bins = sum(binning.n_bins.values())
            cells = {bins, bins * n_classes, F * binning.max_bins, F * binning.max_bins * n_classes}
        if value in cells:
            hint = ("that counts the cells of the table: a record sits in only one (bin, class) cell of each "
                    "feature")
        else:
            hint = ("add one patient and count how much the level's table changes, as section 2 did for the "
                    "heart data (table.sum() of a provider holding a single record)")
    raise ex.fail(expected, sensitivity, hint)


def check_09_epsilon_for_accuracy(epsilon, acc, target: float = 0.75, method: str = "central") -> str:
    """Exercise 09.3: the smallest epsilon of the grid where ``method``'s median accuracy reaches ``target``.

    ``acc`` is a table of :func:`~encmed_lib.privacy.accuracy_vs_epsilon`
    (columns ``method``, ``epsilon``, ``seed``, ``accuracy``); ``method`` is a
    key of :data:`~encmed_lib.privacy.METHODS` or its label.  The answer is
    recomputed from ``acc``: the median accuracy over the seeds at each
    epsilon, and the smallest epsilon where it is ``>= target``.  When no
    epsilon of the grid reaches the target, the right answer is ``None``.
    """
    from .privacy import METHODS

    label = METHODS.get(method, method)
    methods = list(dict.fromkeys(acc["method"]))
    if label not in methods:
        raise ValueError(f"method {method!r} is not in the table; its methods are {methods}")
    ex = _Exercise("09.3 (epsilon for a target accuracy)",
                   f'{_S09}, sections "5 · Accuracy against ε" and "7 · The trade-off, for a clinician"')
    rows = acc[acc["method"] == label]
    medians = rows.groupby("epsilon")["accuracy"].median()
    grid = [float(e) for e in medians.index]

    def smallest(name: str = label, how: str = "median", largest: bool = False) -> float | None:
        stats = acc[acc["method"] == name].groupby("epsilon")["accuracy"].agg(how)
        reached = [float(e) for e in stats.index[stats >= target]]
        return (max(reached) if largest else min(reached)) if reached else None

    right = smallest()
    expected = (f"the smallest epsilon of the grid {grid} at which the median accuracy of {label!r} over "
                f"the seeds is at least {target:g} (one number of the grid)")
    if right is None:
        expected = (f"None: no epsilon of the grid {grid} brings the median accuracy of {label!r} to "
                    f"{target:g}")
        if epsilon is None:
            return _ok(f"the median accuracy of {label!r} stays below {target:g} on the whole grid "
                       f"(at most {medians.max():.3f}): change the model, not epsilon")
    value = _number(epsilon, ex, expected)
    if right is not None and _close(value, right, 1e-9 * max(1.0, right)):
        factor = math.exp(right)
        factor_text = f"{factor:,.2f}" if factor < 100 else f"{factor:,.0f}"
        below = [e for e in grid if e < right]
        before = f", against {medians[below[-1]]:.3f} at ε = {below[-1]:g}" if below else ""
        return _ok(f"the median accuracy of {label!r} first reaches {target:g} at ε = {right:g} "
                   f"({medians[right]:.3f}{before}); the price: one patient may change the probability of "
                   f"any outcome by a factor e^ε = {factor_text}, and the bound on a membership test's "
                   f"advantage is tanh(ε/2) = {math.tanh(right / 2):.3f}")
    on_grid = next((e for e in grid if _close(value, e, 1e-9 * max(1.0, e))), None)
    if on_grid is None:
        if 0 < value < 1 and any(_close(value, float(m), 5e-4) for m in medians):
            hint = "that is an accuracy: give the epsilon at which the median reaches the target"
        else:
            hint = f"give one epsilon of the grid: {grid}"
        raise ex.fail(expected, epsilon, hint)
    hints = [f"that is where {other!r} reaches the target: the question is about {label!r} (the rows "
             f"where acc['method'] == {label!r})"
             for other in methods if other != label and smallest(other) == on_grid]
    if smallest(how="mean") == on_grid:
        hints.append("that is where the *mean* accuracy reaches the target: take the median over the seeds "
                     "(.median())")
    if on_grid == smallest(largest=True) and on_grid != right:
        hints.append("that is the largest epsilon of the grid whose median reaches the target: the question "
                     "asks for the smallest")
    if smallest(how="max") == on_grid:
        hints.append("some seeds reach the target there, not the median: group by epsilon and take the "
                     "median of the accuracies")
    if not hints:
        if right is None:
            hints.append(f"the median accuracy of {label!r} never reaches {target:g} on this grid: the "
                         "answer is None")
        elif on_grid < right:
            hints.append(f"at ε = {on_grid:g} the median accuracy is only {medians[on_grid]:.3f}, below "
                         f"{target:g}")
        else:
            hints.append("the median reaches the target at a smaller epsilon of the grid already")
    raise ex.fail(expected, epsilon, "; or ".join(hints))


def check_09_advantage_bound(bound, epsilon: float = 1.0) -> str:
    """Exercise 09.4: the largest membership advantage an ``epsilon``-DP model allows, tanh(epsilon / 2).

    Within 0.0005, so the value rounded to 3 decimals is accepted.
    """
    ex = _Exercise("09.4 (the membership bound)",
                   f'{_S09}, sections "1 · Why: the totals still describe patients" (Differential privacy, '
                   'in words) and "6 · Membership inference: does the model reveal who was in it?"')
    expected = (f"the largest advantage (TPR - FPR) any membership test can reach against an ε-DP model at "
                f"ε = {epsilon:g}, a number between 0 and 1")
    value = _number(bound, ex, expected)
    right, tol = math.tanh(epsilon / 2), 5e-4
    if _close(value, right, tol):
        return _ok(f"at ε = {epsilon:g} no membership test, however clever, has TPR - FPR above "
                   f"tanh(ε/2) = {right:.3f}: on a balanced mix of members and new patients it guesses right "
                   f"at most {(1 + right) / 2:.1%} of the time")
    mistakes = [
        (math.tanh(epsilon), "that is tanh(ε): the bound is tanh(ε/2), halve epsilon first"),
        (math.exp(epsilon), "that is the factor e^ε on probabilities; an advantage (TPR - FPR) is at most 1"),
        (math.exp(epsilon) - 1, "e^ε - 1 is how much a probability may grow, relatively; the advantage is "
                                "tanh(ε/2)"),
        ((1 + right) / 2, "that is the best accuracy on a balanced mix of members and non-members, "
                          "e^ε / (1 + e^ε); the advantage is TPR - FPR = 2 · accuracy - 1"),
        (1 - right, "that is 1 minus the bound: give the largest advantage itself"),
    ]
    if 1 < value <= 100 and _close(value / 100, right, tol):
        raise ex.fail(expected, bound, "this looks like a percentage: give a fraction between 0 and 1")
    for candidate, hint in mistakes:
        if _close(value, candidate, tol):
            raise ex.fail(expected, bound, hint)
    raise ex.fail(expected, bound, "section 1 gives the bound for every epsilon: tanh(ε/2), or "
                  "dp_advantage_bound(epsilon)")


# ============================================ 10 · threat model and evaluation
_S10 = "10_threat_model_and_evaluation.ipynb"


def _names(value, ex: _Exercise, expected: str, choices: list[str]) -> list[str]:
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
        from .evaluation import protocol_matrix

        matrix = protocol_matrix()
    ex = _Exercise("10.1 (who can still extract the model?)",
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
        return _ok(f"{len(right)} of the {len(order)} protocols leave model extraction open (notebooks "
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
    ex = _Exercise("10.2 (the price of label-only mode for the attacker)",
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
            return _ok(f"with {int(curve['queries'].max())} queries label-only mode still recovers "
                       f"fewer than the {target} thresholds blinded basic mode gave away in {used}")
        raise ex.fail(expected, ratio, "read the column recovered of curve: no row reaches the blinded "
                      "attack's count, so the answer is None")
    q_label = int(enough["queries"].min())
    right = q_label / used
    expected = ("the smallest number of queries of curve with which label-only mode recovers as many "
                "thresholds as blinded basic mode did, divided by the queries of the blinded attack "
                "(a number)")
    value = _number(ratio, ex, expected)
    if _close(value, right, 5e-3 * right):
        n = int(blinded["thresholds"])
        every = "all " if target == n else ""
        return _ok(f"label-only mode needs {q_label} queries to recover {every}{target} of the {n} "
                   f"thresholds that blinded basic mode gave away in {used}: {right:.1f} times as many. "
                   f"With the same "
                   f"{used} queries it recovers {int(label_only['recovered'])}. It raises the price of "
                   "extraction; it does not stop it")
    tol = 5e-3
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
    for candidate, hint in mistakes:
        if _close(value, candidate, tol * max(1.0, abs(candidate))):
            raise ex.fail(expected, ratio, hint)
    if abs(value - right) <= 0.5:
        raise ex.fail(expected, ratio, "close: keep at least two decimals")
    raise ex.fail(expected, ratio, "in curve, find the first row whose recovered reaches the blinded "
                  "row's recovered in recovery, and divide its queries by the blinded row's queries")


def check_10_slowdown(factor, cost, mode: str = "label-only", key_bits: int | None = 1024,
                      depth: int | None = 4) -> str:
    """Exercise 10.3: how many times slower than plaintext scikit-learn ``mode`` is, per patient.

    ``cost`` is ``cost_report(...)["cost"]``; the row is the one of ``mode``
    at ``key_bits`` (ignored for CKKS) and ``max_depth == depth`` (``None``
    for the linear and CKKS modes).  The answer is recomputed from that row
    as ``total_ms / plaintext_ms``, within 0.5 % (or 0.05), so the timings
    may vary from run to run: the message names no timing.
    """
    ex = _Exercise(f"10.3 (the slowdown of {mode} mode)", f'{_S10}, section "4 · Measured cost"')

    def select(mode_=mode, depth_=depth):
        rows = cost[cost["mode"].astype(str) == mode_]
        if key_bits is not None and mode_ != "ckks":
            rows = rows[(rows["key_bits"] == key_bits).fillna(False).to_numpy(bool)]
        if depth_ is not None:
            rows = rows[(rows["max_depth"] == depth_).fillna(False).to_numpy(bool)]
        return rows

    rows = select()
    if len(rows) != 1:
        raise ValueError(f"cost has {len(rows)} rows for mode={mode!r}, key_bits={key_bits}, depth={depth}; "
                         "expected exactly one")
    row = rows.iloc[0]
    where = (f"{mode} mode" + (f" at {key_bits} bits" if key_bits is not None and mode != "ckks" else "")
             + (f", depth {depth}" if depth is not None else ""))
    expected = (f"how many times slower than scikit-learn's predict {where} is for one patient: its total "
                "time divided by the plaintext time (a number)")
    value = _number(factor, ex, expected)

    def ratio(r) -> float:
        return float(r["total_ms"]) / float(r["plaintext_ms"])

    def near(a: float, b: float) -> bool:
        return abs(a - b) <= max(0.05, 5e-3 * abs(b))

    right = ratio(row)
    if near(value, right):
        nodes = row.get("internal_nodes")
        shape = f" ({int(nodes)} internal nodes)" if nodes is not None and not _isna(nodes) else ""
        return _ok(f"{where}{shape}: total_ms / plaintext_ms, every phase of the client and the server "
                   "against scikit-learn on the same rows (the column slowdown). The timings, and so the "
                   "factor, change from run to run and from machine to machine; the agreement column "
                   "does not")
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
            same = select(other_mode)
            if len(same) == 1:
                mistakes.append((ratio(same.iloc[0]), f"that is the row of {other_mode} mode: select "
                                 f"cost['mode'] == {mode!r}"))
    if depth is not None:
        for other_depth in cost.loc[cost["mode"].astype(str) == mode, "max_depth"].dropna().unique():
            if int(other_depth) != depth:
                same = select(depth_=int(other_depth))
                if len(same) == 1:
                    mistakes.append((ratio(same.iloc[0]), f"that is the row of depth {int(other_depth)}: "
                                     f"select max_depth == {depth}"))
    for candidate, hint in mistakes:
        if near(value, candidate):
            raise ex.fail(expected, factor, hint)
    raise ex.fail(expected, factor, "select the one row of cost with that mode, key_bits and max_depth, "
                  "then divide its total_ms by its plaintext_ms (your cost table, not the one printed in "
                  "another run)")


def _isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


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
