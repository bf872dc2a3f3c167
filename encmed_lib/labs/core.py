"""The checking core of the labs: the error a wrong answer raises, reading an answer, the course's data.

A checker (one per exercise, in :mod:`.nb01` ... :mod:`.nb10`) builds an
:class:`Exercise` (its name and the section to reread), reads the answer with
:func:`as_number` (or its own reader), recomputes the right answer from its
inputs or from the bundled data (:func:`heart_sample`, :func:`course_tree`...,
cached), and returns :func:`ok` or raises :class:`LabCheckError` through
:meth:`Exercise.fail`, which never reveals the answer.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

__all__ = [
    "LabCheckError",
    "LabFormatError",
    "describe",
    "Exercise",
    "as_number",
    "is_close",
    "ok",
    "heart_sample",
    "heart_split",
    "course_tree",
    "synthea_sample",
    "as_portable_tree",
    "record_dict",
    "choice_answer",
    "labels_equal",
]


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


def describe(value, limit: int = 120) -> str:
    """A short description of a received value: its repr (cut) and its type."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


class Exercise:
    """One exercise's name and section, to build its error messages."""

    def __init__(self, exercise: str, section: str):
        self.exercise, self.section = exercise, section

    def fail(self, expected: str, received, hint: str, *, shown: str | None = None) -> LabCheckError:
        return LabCheckError(self.exercise, expected, shown if shown is not None else describe(received),
                             hint, self.section)


def as_number(value, ex: Exercise, expected: str, *, integer: bool = False) -> float | int:
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


def is_close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def ok(text: str) -> str:
    return f"✓ correct: {text}"


@functools.lru_cache(maxsize=1)
def heart_sample():
    from ..data.heart import load_heart

    return load_heart()


@functools.lru_cache(maxsize=1)
def heart_split():
    from ..tree import split_data

    X, y = heart_sample()
    return split_data(X, y, test_size=0.3, random_state=0)


@functools.lru_cache(maxsize=1)
def course_tree():
    """The course's depth-4 tree (notebooks 02, 04, 05)."""
    from ..tree import train_tree

    X_train, _, y_train, _ = heart_split()
    return train_tree(X_train, y_train, max_depth=4, random_state=0)


@functools.lru_cache(maxsize=1)
def synthea_sample():
    from ..data.paths import data_dir
    from ..data.synthea import load_synthea

    return load_synthea(data_dir() / "synthea_sample")


def as_portable_tree(tree):
    from ..tree import as_portable

    return as_portable(tree.tree if hasattr(tree, "evaluate") and hasattr(tree, "tree") else tree)


def record_dict(record) -> dict:
    from ..protocol.client import record_items

    return dict(record_items(record))



def choice_answer(ex: Exercise, choice, choices: dict, success: str) -> str:
    """A multiple-choice answer: ``choices`` maps each letter to its hint (``None`` for the right one)."""
    expected = 'one letter, "a", "b", "c" or "d"'
    if not isinstance(choice, str):
        raise ex.fail(expected, choice, 'answer with the letter of your choice as a string, e.g. "a"')
    letter = choice.strip().strip("()'\".").lower()
    if letter not in choices:
        raise ex.fail(expected, choice, "one of the four letters of the list")
    why = choices[letter]
    if why is None:
        return ok(success)
    raise ex.fail(expected, choice, why)


def labels_equal(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is not tuple
    except (TypeError, ValueError):
        return False
