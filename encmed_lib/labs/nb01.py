"""Exercises of notebook 01 (the data): their checkers.

Each ``check_01_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.

* 01.1 :func:`check_01_smd`: a standardised mean difference per attribute, ranked;
* 01.2 :func:`check_01_input_audit`: a function auditing the raw heart file (missing, invalid cells);
* 01.3 :func:`check_01_lipid_panels`: per provider, who lacks a lipid panel and their CHD rate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .core import (
    Exercise,
    describe,
    heart_sample,
    ok,
    synthea_sample,
)

__all__ = ["check_01_smd", "check_01_input_audit", "check_01_lipid_panels",
           "read_raw_heart", "reference_audit", "corrupted_heart"]

_S01 = "01_data.ipynb"


def _close(a, b, tol: float = 1e-6) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=0, atol=tol, equal_nan=True)))


def _as_series(value, ex: Exercise, expected: str, names: list[str]) -> pd.Series:
    """Read a Series (or a dict) indexed by ``names``; refuse arrays, lists and missing names."""
    if value is None or value is Ellipsis:
        raise ex.fail(expected, value, "no answer yet: assign your result to the variable before running "
                      "the checking cell")
    if isinstance(value, Mapping):
        value = pd.Series(dict(value))
    if isinstance(value, pd.DataFrame) and value.shape[1] == 1:
        value = value.iloc[:, 0]
    if not isinstance(value, pd.Series):
        raise ex.fail(expected, value, "give a pandas Series indexed by the attribute names (pandas "
                      "operations on the columns of X keep the names; a NumPy array loses them)")
    absent = [name for name in names if name not in value.index]
    if absent:
        raise ex.fail(expected, value, f"the index lacks {absent}: compute one value per column of X, "
                      "indexed by the column's name")
    try:
        return value[names].astype(float)
    except (TypeError, ValueError):
        raise ex.fail(expected, value, "the values must be numbers") from None


# ------------------------------------------------------------------ 01.1
def _smd_variants(X: pd.DataFrame, y: pd.Series) -> dict[str, pd.Series]:
    """The right standardised mean difference and the usual wrong ones, each with its hint."""
    sick, healthy = X[np.asarray(y) == 1], X[np.asarray(y) == 0]
    diff = sick.mean() - healthy.mean()
    n1, n0 = len(sick), len(healthy)
    pooled = ((n1 - 1) * sick.var() + (n0 - 1) * healthy.var()) / (n1 + n0 - 2)
    return {
        "right": diff / np.sqrt((sick.var() + healthy.var()) / 2),
        "the sign is reversed: subtract the mean of the healthy (y == 0) from the mean of the sick "
        "(y == 1)": -diff / np.sqrt((sick.var() + healthy.var()) / 2),
        "these are population variances (ddof=0, NumPy's default): use the sample variance, ddof=1 "
        "(pandas' .var() and .std())": diff / np.sqrt((sick.var(ddof=0) + healthy.var(ddof=0)) / 2),
        "you divided by the standard deviation of all patients: the formula pools the two classes' "
        "variances, sqrt((var_sick + var_healthy) / 2)": diff / X.std(),
        "the two variances are averaged, not summed: divide their sum by 2 before the square root":
            diff / np.sqrt(sick.var() + healthy.var()),
        "average the two *variances*, then take the square root (not the mean of the two standard "
        "deviations)": diff / ((sick.std() + healthy.std()) / 2),
        "that is the raw difference of the means: divide it by the pooled standard deviation": diff,
        "you weighted the variances by the class sizes (Cohen's pooled variance); the exercise's "
        "formula averages them with equal weights": diff / np.sqrt(pooled),
    }


def check_01_smd(smd, top3, X: pd.DataFrame | None = None, y: pd.Series | None = None) -> str:
    """Exercise 01.1: the standardised mean difference of every attribute, and the top three.

    ``smd`` is a Series indexed by the 13 attribute names, ``(mean_sick - mean_healthy) /
    sqrt((var_sick + var_healthy) / 2)`` with sample variances (within 1e-6); ``top3`` the
    three attribute names of largest ``|smd|``, largest first.  ``X, y`` default to
    ``em.load_heart()``.
    """
    ex = Exercise("01.1 (standardised mean difference)",
                  f'{_S01}, section "Which features separate the classes?"')
    if X is None or y is None:
        X, y = heart_sample()
    names = list(X.columns)
    expected = "a Series of 13 numbers indexed by the attribute names, one SMD per column of X"
    value = _as_series(smd, ex, expected, names)
    variants = _smd_variants(X, y)
    right = variants.pop("right")
    if not _close(value, right):
        for hint, wrong in variants.items():
            if _close(value, wrong):
                raise ex.fail(expected, smd, hint)
        from ..data.heart import load_heart

        if _close(value, _smd_variants(*load_heart(missing="impute"))["right"]):
            raise ex.fail(expected, smd, "that is the SMD on the imputed table: use X and y of "
                          "em.load_heart() (missing='drop')")
        wrong = [name for name in names if not _close(value[name], right[name])]
        raise ex.fail(expected, smd, f"{len(wrong)} of the 13 values are wrong (e.g. {wrong[0]!r}): "
                      "split X by y (X[y == 1], X[y == 0]) and apply the formula column by column")
    order = right.abs().sort_values(ascending=False).index.tolist()
    _check_top3(ex, top3, order, right)
    return ok(f"the three attributes that separate the classes most are {', '.join(order[:3])} "
              f"(|SMD| {abs(right[order[0]]):.2f} to {abs(right[order[2]]):.2f}); "
              f"{right.abs().idxmin()} separates them least ({right[right.abs().idxmin()]:+.3f})")


def _check_top3(ex: Exercise, top3, order: list[str], right: pd.Series) -> None:
    expected = "the three attribute names of largest |SMD|, largest first (a list of three strings)"
    if isinstance(top3, (str, bytes)) or not hasattr(top3, "__len__"):
        raise ex.fail(expected, top3, "give a list of three names, e.g. ['age', 'sex', 'cp']")
    names = [str(name) for name in list(top3)]
    if len(names) != 3:
        raise ex.fail(expected, top3, f"{len(names)} names: give exactly three (e.g. .index[:3])")
    if names == order[:3]:
        return
    if names == right.sort_values(ascending=False).index[:3].tolist():
        raise ex.fail(expected, top3, "you ranked the signed SMD: a large *negative* SMD separates the "
                      "classes as well as a positive one; rank by the absolute value")
    if names == order[::-1][:3] or names == order[:3][::-1]:
        raise ex.fail(expected, top3, "the order is reversed: sort by |SMD| in decreasing order "
                      "(ascending=False)")
    if set(names) == set(order[:3]):
        raise ex.fail(expected, top3, "the right three names, in the wrong order: largest |SMD| first")
    raise ex.fail(expected, top3, "sort the attributes by the absolute value of your smd "
                  "(smd.abs().sort_values(ascending=False)) and take the first three names")


# ------------------------------------------------------------------ 01.2
def read_raw_heart(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The heart file as the exercise reads it: 14 named columns, ``?`` as NaN, no check at all."""
    from ..data.heart import FEATURES, default_heart_path

    return pd.read_csv(default_heart_path() if path is None else path, header=None,
                       names=FEATURES + ["num"], na_values="?")


def reference_audit(raw: pd.DataFrame) -> pd.DataFrame:
    """Per attribute: ``missing`` cells (NaN, or 0 where 0 means missing) and ``invalid`` present cells."""
    from ..data.heart import CODES, FEATURES, LIMITS, ZERO_MEANS_MISSING

    rows = {}
    for col in FEATURES:
        values = raw[col]
        missing = values.isna() | ((values == 0) if col in ZERO_MEANS_MISSING else False)
        present = values[~missing]
        if col in CODES["uci"]:
            invalid = ~present.isin(CODES["uci"][col])
        else:
            low, high = LIMITS[col]
            invalid = (present < low) | (present > high)
        rows[col] = {"missing": int(missing.sum()), "invalid": int(invalid.sum())}
    return pd.DataFrame.from_dict(rows, orient="index")


def corrupted_heart(raw: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``raw`` with a known set of faults: invalid codes, impossible values, zeros, gaps."""
    bad = raw.copy()
    faults = {"cp": 5.0, "sex": 2.0, "thal": 4.0, "ca": 9.0, "slope": 0.0, "age": 150.0, "thalach": 20.0,
              "oldpeak": 12.0, "chol": 0.0, "trestbps": 0.0}
    complete = bad.index[bad.notna().all(axis=1)]
    for k, (col, value) in enumerate(faults.items()):
        bad.loc[complete[k], col] = value
    bad.loc[complete[len(faults)], "chol"] = 30.0  # present but impossible
    bad.loc[complete[len(faults) + 1], ["age", "thalach"]] = np.nan
    return bad


def _audit_table(func: Callable, raw: pd.DataFrame, ex: Exercise, expected: str) -> pd.DataFrame:
    from ..data.heart import FEATURES

    given = raw.copy()
    try:
        table = func(given)
    except NotImplementedError:
        raise  # the student version's stub: the exercise is not attempted yet
    except Exception as exc:  # noqa: BLE001 -- any error of the student's function becomes a hint
        raise ex.fail(expected, func, f"your function raised {type(exc).__name__}: {exc}") from None
    if not given.equals(raw):
        raise ex.fail(expected, func, "your function changed the table it audits: work on a copy "
                      "(raw.copy()) or only read it")
    if not isinstance(table, pd.DataFrame) or not {"missing", "invalid"} <= set(table.columns):
        raise ex.fail(expected, table, "return a DataFrame with two columns, 'missing' and 'invalid', "
                      "and one row per attribute")
    absent = [col for col in FEATURES if col not in table.index]
    if absent:
        raise ex.fail(expected, table, f"rows {absent} are missing: index the table by the 13 attribute "
                      "names (FEATURES)")
    return table.loc[FEATURES, ["missing", "invalid"]]


def check_01_input_audit(audit_heart: Callable) -> str:
    """Exercise 01.2: ``audit_heart(raw)`` counts the missing and the invalid cells of each attribute.

    The checker calls the function on the bundled file read by :func:`read_raw_heart` and on a
    corrupted copy (:func:`corrupted_heart`), and compares with :func:`reference_audit`.
    """
    ex = Exercise("01.2 (audit of the raw file)", f'{_S01}, section "Missing values: an explicit policy"')
    expected = ("a function audit_heart(raw) returning a DataFrame indexed by the 13 attributes with the "
                "counts 'missing' and 'invalid'")
    if not callable(audit_heart):
        raise ex.fail(expected, audit_heart, "pass the function itself (audit_heart, without "
                      "parentheses), not its result")
    raw = read_raw_heart()
    for table_name, table in (("the bundled file", raw),
                              ("a copy with invalid values", corrupted_heart(raw))):
        right = reference_audit(table)
        got = _audit_table(audit_heart, table, ex, expected)
        if not _close(got, right, 0):
            shown = f"on {table_name}: " + describe(got.T.to_dict("list"), 200)
            raise ex.fail(expected, None, _audit_hint(got, right, table), shown=shown)
    faults = int(reference_audit(corrupted_heart(raw))["invalid"].sum())
    right = reference_audit(raw)
    gaps = ", ".join(f"{col} {n}" for col, n in right["missing"].items() if n)
    return ok(f"the bundled file has missing cells in {gaps} and no invalid cell; your function also "
              f"finds the {faults} invalid cells of a corrupted copy")


def _audit_hint(got: pd.DataFrame, right: pd.DataFrame, raw: pd.DataFrame) -> str:
    from ..data.heart import CODES, LIMITS, ZERO_MEANS_MISSING

    miss, inv = got["missing"], got["invalid"]
    nan_only = raw[right.index].isna().sum()
    zeros = pd.Series({c: int((raw[c] == 0).sum()) if c in ZERO_MEANS_MISSING else 0 for c in right.index})
    if _close(miss, nan_only, 0) and not _close(miss, right["missing"], 0):
        return ("a 0 in trestbps or chol also means 'not measured' (ZERO_MEANS_MISSING): count it as "
                "missing")
    if not _close(miss, right["missing"], 0):
        return "count per column the NaN cells (the '?' of the file) plus the zeros of ZERO_MEANS_MISSING"
    if _close(inv, right["invalid"] + zeros, 0):
        return "a 0 in chol or trestbps is missing, not invalid: count it once, as missing"
    if _close(inv, right["invalid"] + nan_only, 0) or (inv >= right["invalid"] + nan_only).all():
        return "a missing cell is not invalid: test only the cells that are present (.notna())"
    coded, limited = list(CODES["uci"]), list(LIMITS)
    if not _close(inv[limited], right["invalid"][limited], 0):
        return "the continuous columns must lie within LIMITS[col] = (low, high), bounds included"
    if not _close(inv[coded], right["invalid"][coded], 0):
        return "a coded column's present values must be among CODES['uci'][col] (e.g. cp: 1 to 4)"
    return "compare your counts with the definition in the task, column by column"


# ------------------------------------------------------------------ 01.3
_LIPID_COLUMNS = ["no_panel_share", "chd_with_panel", "chd_without_panel"]


def _lipid_table(X: pd.DataFrame, y: pd.Series, names: pd.Series) -> dict[str, pd.DataFrame]:
    """The right per-provider table and the usual wrong ones (hint -> table)."""
    no_panel = pd.Series(X["total_cholesterol"].isna().to_numpy(), index=names.index)
    frame = pd.DataFrame({"provider": names.to_numpy(), "no_panel": no_panel.to_numpy(),
                          "chd": np.asarray(y, dtype=float)})
    groups = frame.groupby("provider")
    share = groups["no_panel"].mean()
    with_panel = frame[~frame["no_panel"]].groupby("provider")["chd"].mean()
    without = frame[frame["no_panel"]].groupby("provider")["chd"].mean()
    right = pd.DataFrame({"no_panel_share": share, "chd_with_panel": with_panel,
                          "chd_without_panel": without})
    all_chd = groups["chd"].mean()
    return {
        "right": right,
        "these are percentages: give fractions between 0 and 1": 100 * right,
        "no_panel_share is the share *without* a lipid panel (total_cholesterol missing), not with one":
            right.assign(no_panel_share=1 - share),
        "no_panel_share is a share of the provider's patients: divide the count by its number of patients":
            right.assign(no_panel_share=groups["no_panel"].sum()),
        "divide by each provider's own number of patients, not by all patients":
            right.assign(no_panel_share=groups["no_panel"].sum() / len(frame)),
        "the two CHD columns are swapped: chd_with_panel is the rate among patients who had a lipid panel":
            right.assign(chd_with_panel=without, chd_without_panel=with_panel),
        "split each provider's patients by whether they had a panel: a CHD rate per group, not per provider":
            right.assign(chd_with_panel=all_chd, chd_without_panel=all_chd),
    }


def check_01_lipid_panels(lipid_table, providers: Mapping, X: pd.DataFrame | None = None,
                          y: pd.Series | None = None, organization: pd.Series | None = None) -> str:
    """Exercise 01.3: per provider, the share without a lipid panel and the CHD rate with and without one.

    ``lipid_table`` is a DataFrame indexed by the provider names of ``providers`` (organization id
    -> "provider A"...) with the columns ``no_panel_share``, ``chd_with_panel`` and
    ``chd_without_panel`` (fractions, within 1e-6).  ``X, y, organization`` default to
    ``em.load_synthea(data_dir() / "synthea_sample")`` (``missing="keep"``).
    """
    ex = Exercise("01.3 (lipid panels per provider)", f'{_S01}, sections "Patients per provider" and '
                  '"Missing values in the Synthea table"')
    expected = ("a DataFrame with one row per provider, indexed by 'provider A', 'provider B'..., and the "
                f"columns {_LIPID_COLUMNS}")
    if X is None or y is None or organization is None:
        X, y, organization = synthea_sample()
    if not isinstance(providers, Mapping) or set(providers) != set(organization.unique()):
        raise ex.fail("the mapping organization id -> provider name returned by plots.plot_providers",
                      providers, "pass `providers`, the second value returned by plots.plot_providers")
    if not isinstance(lipid_table, pd.DataFrame):
        raise ex.fail(expected, lipid_table, "build a DataFrame, e.g. pd.DataFrame({'no_panel_share': ..., "
                      "...}) from per-provider Series")
    absent = [col for col in _LIPID_COLUMNS if col not in lipid_table.columns]
    if absent:
        raise ex.fail(expected, lipid_table, f"the columns {absent} are missing (names as in the task)")
    names = organization.map(providers)
    variants = _lipid_table(X, y, names)
    right = variants.pop("right")
    index = list(lipid_table.index)
    if set(index) == set(providers):
        raise ex.fail(expected, lipid_table, "the rows are organization ids: name them with `providers` "
                      "(org.map(providers)) before grouping")
    if set(index) != set(right.index):
        raise ex.fail(expected, lipid_table, f"the rows must be the providers {sorted(right.index)}")
    got = lipid_table.loc[right.index, _LIPID_COLUMNS]
    try:
        got = got.astype(float)
    except (TypeError, ValueError):
        raise ex.fail(expected, lipid_table, "the values must be numbers") from None
    if _close(got, right):
        return ok(_lipid_message(right))
    for hint, wrong in variants.items():
        if _close(got, wrong.loc[right.index, _LIPID_COLUMNS]):
            raise ex.fail(expected, lipid_table, hint)
    if _close(got["no_panel_share"], 0 * right["no_panel_share"]):
        raise ex.fail(expected, lipid_table, "nobody lacks a panel in your table: the lipids were filled "
                      "in; use Xs of em.load_synthea(...) with the default missing='keep'")
    wrong = [col for col in _LIPID_COLUMNS if not _close(got[col], right[col])]
    raise ex.fail(expected, lipid_table, f"the column(s) {wrong} are wrong: a patient without a lipid "
                  "panel has total_cholesterol missing (isna()); group by provider name")


def _lipid_message(right: pd.DataFrame) -> str:
    share = right["no_panel_share"]
    lower = int((right["chd_without_panel"] < right["chd_with_panel"]).sum())
    return (f"between {share.min():.0%} ({share.idxmin()}) and {share.max():.0%} ({share.idxmax()}) "
            f"of a provider's patients have no lipid panel, and at {lower} of the {len(right)} providers "
            "they have less CHD than those with one: dropping incomplete records would shift the rates")
