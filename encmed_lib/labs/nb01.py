"""Exercises of notebook 01 (the data): their checkers.

Each ``check_01_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numpy as np

from .core import (
    Exercise,
    as_number,
    heart_sample,
    is_close,
    ok,
    synthea_sample,
)

_S01 = "01_data.ipynb"


def check_01_class_balance(share, y=None) -> str:
    """Exercise 01.1: the share of patients with heart disease in the bundled heart sample.

    ``share`` is a fraction in [0, 1] (``y.mean()``), within 0.0005.  ``y``
    defaults to the labels of ``em.load_heart()``.
    """
    ex = Exercise("01.1 (class balance)", f'{_S01}, section "How many patients are sick?"')
    expected = "the fraction of patients with heart disease (y == 1), a number between 0 and 1"
    value = as_number(share, ex, expected)
    labels = np.asarray(heart_sample()[1] if y is None else y)
    right = float(labels.mean())
    if is_close(value, right, 5e-4):
        return ok(f"{right:.1%} of the {len(labels)} patients have heart disease "
                  f"({int(labels.sum())} of {len(labels)})")
    if 1 < value <= 100 and is_close(value / 100, right, 5e-4):
        raise ex.fail(expected, share, "this looks like a percentage: give the fraction (divide by 100)")
    if is_close(value, 1 - right, 5e-4):
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
    from ..data.heart import load_heart

    ex = Exercise("01.2 (rows dropped)", f'{_S01}, section "Missing values: an explicit policy"')
    expected = 'the number of rows that load_heart(missing="drop") leaves out (a whole number)'
    value = as_number(count, ex, expected, integer=True)
    kept = len(heart_sample()[0])
    total = len(load_heart(missing="impute")[0])
    right = total - kept
    if value == right:
        return ok(f"missing='drop' removes {right} of the {total} rows and keeps {kept}")
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
    ex = Exercise("01.3 (largest provider)", f'{_S01}, section "Patients per provider"')
    expected = "how many patients the largest organization has (a whole number)"
    if isinstance(count, str):
        raise ex.fail(expected, count, "give the number of patients of the largest provider, not its "
                      "name or id")
    value = as_number(count, ex, expected, integer=True)
    org = synthea_sample()[2] if organization is None else organization
    sizes = org.value_counts()
    right = int(sizes.iloc[0])
    if value == right:
        return ok(f"the largest provider has {right} of the {len(org)} patients "
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
