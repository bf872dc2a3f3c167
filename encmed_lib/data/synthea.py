"""Read (and fake) a Synthea export as a table of cardiac risk factors.

What Synthea is
---------------
`Synthea <https://synthetichealth.github.io/synthea/>`_ simulates the medical
history of made-up patients and writes it as a folder of CSV files, one file
per kind of record, in the same shape as an electronic health record.  No real
person is behind any row, which makes it ideal for teaching.  We use five of
the files (current "v3" layout, Synthea's own column names):

``patients.csv``
    one row per patient: ``Id``, ``BIRTHDATE``, ``DEATHDATE``, ``GENDER``...
``encounters.csv``
    one row per visit: ``Id``, ``START``, ``STOP``, ``PATIENT`` and the
    ``ORGANIZATION`` (hospital or practice) that saw the patient.
``observations.csv``
    measurements: ``DATE``, ``PATIENT``, ``CODE`` (a LOINC code), ``VALUE``.
``conditions.csv``
    diagnoses: ``START``, ``PATIENT``, ``CODE`` (a SNOMED CT code).
``organizations.csv``
    one row per organization: ``Id``, ``NAME``...

Codes are standard vocabularies: LOINC names *what was measured*
(``8480-6`` is systolic blood pressure) and SNOMED CT names *what was
diagnosed* (``44054006`` is diabetes).  The codes we use are listed in
:data:`OBSERVATION_CODES`, :data:`SMOKING_CODE`, :data:`DIABETES_CODE` and
:data:`CHD_CODES`.

What :func:`load_synthea` returns
---------------------------------
One row per patient, indexed by patient ``Id`` (index name ``"patient"``):

* ``X``: age, sex, the *latest* value of each vital sign and lipid, the latest
  smoking status (0 never, 1 former, 2 current) and a diabetes flag;
* ``y``: 1 if coronary heart disease or a myocardial infarction was ever
  diagnosed, else 0 -- the label a model learns to predict;
* ``organization``: the organization the patient visited most often.  It tells
  which hospital "owns" the patient's record, so that later notebooks can
  split the data between hospitals as in a real federated setting.

Which rows are kept, and the missing-value rule
-----------------------------------------------
* A patient with **no encounter** is dropped: they cannot be assigned to an
  organization.
* A patient with **no vital sign at all** (none of BMI, systolic and diastolic
  blood pressure was ever measured) is dropped: there is nothing to predict
  from.
* For everybody else a value that was never measured stays ``NaN`` in ``X``:
  Synthea only orders a lipid panel for some patients and only asks some of
  them about smoking.  Later notebooks either drop those rows or fill them in
  with scikit-learn's ``SimpleImputer``.  ``load_synthea(..., missing=...)``
  can do the simple versions for you: ``"keep"`` (the default) leaves the
  ``NaN``, ``"drop"`` drops every row with a ``NaN``, ``"median"`` fills each
  column with its median.

:func:`write_synthea_export` writes a small, made-up export in the same
layout, so that tests and notebooks never depend on a downloaded data set.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ArgumentError, DataFormatError, DataWarning
from .paths import data_dir
from .synthea_codes import (
    CHD_CODES,
    DIABETES_CODE,
    OBSERVATION_CODES,
    SMOKING_CODE,
    SMOKING_STATUS,
    VITAL_SIGNS,
)
from .synthea_writer import write_synthea_export
from .textfile import decoding_error, sniff

__all__ = [
    "CHD_CODES",
    "DIABETES_CODE",
    "FEATURES",
    "OBSERVATION_CODES",
    "SMOKING_CODE",
    "SMOKING_STATUS",
    "load_synthea",
    "write_synthea_export",
]

#: Columns of ``X``, in order.
FEATURES: tuple[str, ...] = (
    "age", "sex", *OBSERVATION_CODES, "smoking", "diabetes",
)

MISSING_RULES = ("keep", "drop", "median")

# The only columns the loader needs from each file (others are ignored).
_NEEDED = {
    "patients.csv": ["Id", "BIRTHDATE", "DEATHDATE", "GENDER"],
    "encounters.csv": ["START", "STOP", "PATIENT", "ORGANIZATION"],
    "observations.csv": ["DATE", "PATIENT", "CODE", "VALUE"],
    "conditions.csv": ["START", "PATIENT", "CODE"],
    "organizations.csv": ["Id"],
}


# ---------------------------------------------------------------------- loading
def _read_table(folder: Path, name: str) -> tuple[Path, pd.DataFrame]:
    """Read the needed columns of one file, as strings, after checking them."""
    path = folder / name
    columns = _NEEDED[name]
    if not path.is_file():
        raise DataFormatError(path, None, f"the Synthea file {name}", found="no such file")
    sniff(path)
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataFormatError(
                path, missing[0], f"a column {missing[0]!r} (Synthea v3 CSV layout)",
                found="columns " + ", ".join(header),
            )
        # Only empty cells are missing: a value such as "NA" stays a string.
        table = pd.read_csv(path, usecols=columns, dtype=str, encoding="utf-8-sig",
                            keep_default_na=False, na_values=[""])
    except UnicodeDecodeError:
        raise decoding_error(path) from None
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, None, "a CSV table with a header and rows",
                              found="an empty file") from None
    except pd.errors.ParserError as exc:
        raise DataFormatError(path, None, "a well-formed CSV table",
                              found=str(exc).strip()) from None
    if not isinstance(table.index, pd.RangeIndex):  # pandas took extra leading cells for an index
        raise DataFormatError(path, None, "as many cells on every row as names in the header",
                              found="more cells on the data rows than in the header")
    if table.empty:
        raise DataFormatError(path, None, "at least one data row",
                              found="only the header")
    return path, table


def _required(table: pd.DataFrame, path: Path, column: str) -> pd.Series:
    """Return a column after checking that it has no empty cell."""
    values = table[column]
    if values.isna().any():
        row = int(np.flatnonzero(values.isna())[0]) + 2  # +1 header, +1 from 1
        raise DataFormatError(path, column, "a value in every row",
                              found=f"an empty cell on line {row}", row=row)
    return values


def _describe(value: object) -> str:
    """Show a bad cell in an error message."""
    return "an empty cell" if pd.isna(value) else repr(value)


def _dates(table: pd.DataFrame, path: Path, column: str, *,
           required: bool = True) -> pd.Series:
    """Parse an ISO 8601 date column (``2022-06-30`` or ``...T12:00:00Z``)."""
    raw = _required(table, path, column) if required else table[column]
    parsed = pd.to_datetime(raw, format="ISO8601", utc=True, errors="coerce")
    bad = parsed.isna() & raw.notna()
    if bad.any():
        raise DataFormatError(path, column, "an ISO 8601 date such as 2022-06-30",
                              found=repr(raw[bad].iloc[0]), row=int(np.flatnonzero(bad)[0]) + 2)
    return parsed.dt.tz_convert(None)


def load_synthea(
    folder: str | os.PathLike, missing: str = "keep",
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Load a Synthea CSV export as cardiac risk factors, label and organization.

    Parameters
    ----------
    folder : str or path-like
        Folder holding ``patients.csv``, ``encounters.csv``,
        ``observations.csv``, ``conditions.csv`` and ``organizations.csv``.
    missing : {"keep", "drop", "median"}, default "keep"
        What to do with values that were never measured: keep them as
        ``NaN``, drop the rows that have one, or fill each column with its
        median.

    Returns
    -------
    X : pandas.DataFrame
        One row per patient, columns :data:`FEATURES`: ``age`` (years, at
        death or at the latest date recorded in the export, days / 365.25),
        ``sex`` (1 male, 0 female), the latest ``bmi``, ``systolic_bp``,
        ``diastolic_bp``, ``total_cholesterol``, ``ldl``, ``hdl`` and
        ``triglycerides``, the latest ``smoking`` status (0 never,
        1 former, 2 current) and ``diabetes`` (1 if ever diagnosed).
    y : pandas.Series
        ``chd``: 1 if any of :data:`CHD_CODES` was ever diagnosed, else 0.
    organization : pandas.Series
        ``organization``: the ``Id`` of the organization with the most
        encounters for the patient (ties go to the smallest ``Id``).

    All three are indexed by patient ``Id`` (index name ``"patient"``) and
    sorted by it.  Patients without any encounter or without any vital sign
    are left out (see the module docstring).  When several observations of
    the same code share the latest date, the one written last wins.

    Raises
    ------
    DataFormatError
        If the folder or a file is missing, empty or not UTF-8 text, a needed
        column is absent, a value cannot be read (date, number, sex, smoking
        text, unknown organization) or is impossible (a negative measurement,
        a birth after the export's last date, a death before the birth), or
        no patient is left (none with an encounter and a vital sign, or
        ``missing="drop"`` drops them all).  The message names the file, the
        column and the line.
    ArgumentError
        (a ``ValueError``) If ``missing`` is not one of the allowed rules.

    Warns
    -----
    DataWarning
        How many patients were left out, and why (no encounter, no vital
        sign, a missing value with ``missing="drop"``); not for the bundled
        sample, whose drops are documented.  ``X.attrs`` has the counts.
    """
    if missing not in MISSING_RULES:
        raise ArgumentError(f"missing must be one of {', '.join(map(repr, MISSING_RULES))}; "
                         f"got {missing!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(folder, None, "a Synthea CSV export folder")

    p_path, patients = _read_table(folder, "patients.csv")
    e_path, encounters = _read_table(folder, "encounters.csv")
    o_path, observations = _read_table(folder, "observations.csv")
    c_path, conditions = _read_table(folder, "conditions.csv")
    g_path, organizations = _read_table(folder, "organizations.csv")

    ids, gender, birth, death = _patients(patients, p_path)
    # The export's "today": the latest date recorded anywhere.
    enc_start = _dates(encounters, e_path, "START")
    enc_stop = _dates(encounters, e_path, "STOP", required=False)
    obs_date = _dates(observations, o_path, "DATE")
    cond_start = _dates(conditions, c_path, "START")
    latest = pd.Series([enc_start.max(), enc_stop.max(), obs_date.max(),
                        cond_start.max()]).max()
    X = _age_and_sex(p_path, ids, gender, birth, death, latest)

    obs_patient = _required(observations, o_path, "PATIENT")
    obs_code = _required(observations, o_path, "CODE")
    observations = observations.assign(DATE=obs_date, PATIENT=obs_patient)
    _add_measurements(X, observations, obs_code, o_path)
    _add_smoking(X, observations, obs_code, o_path)
    y = _add_conditions(X, conditions, c_path)
    organization = _main_organization(encounters, e_path, organizations, g_path)

    X = _keep(X, organization, folder, missing)
    y = y.reindex(X.index)
    organization = organization.reindex(X.index).rename("organization")
    return X, y, organization


def _patients(patients: pd.DataFrame, p_path: Path) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """``patients.csv`` checked: its ``Id`` (one row each), ``GENDER`` (M/F), birth and death dates."""
    ids = _required(patients, p_path, "Id")
    if ids.duplicated().any():
        raise DataFormatError(p_path, "Id", "one row per patient",
                              found=f"{ids[ids.duplicated()].iloc[0]!r} twice")
    gender = _required(patients, p_path, "GENDER")
    if not gender.isin(["M", "F"]).all():
        raise DataFormatError(p_path, "GENDER", "'M' or 'F'",
                              found=repr(gender[~gender.isin(["M", "F"])].iloc[0]))
    birth = _dates(patients, p_path, "BIRTHDATE")
    death = _dates(patients, p_path, "DEATHDATE", required=False)
    return ids, gender, birth, death


def _age_and_sex(p_path: Path, ids: pd.Series, gender: pd.Series, birth: pd.Series, death: pd.Series,
                 latest) -> pd.DataFrame:
    """One row per patient (sorted by ``Id``): ``age`` in years and ``sex`` (1 male).

    The age is :math:`(\\text{end} - \\text{birth}) / 365.25` days, with
    "end" the death date, or the export's ``latest`` date for the living
    (both taken at midnight); :func:`_check_lifespan` refuses negative ages.
    """
    end = death.fillna(latest).dt.normalize()
    _check_lifespan(p_path, birth, death, latest)
    return pd.DataFrame({
        "age": ((end - birth.dt.normalize()).dt.days / 365.25).to_numpy(),
        "sex": (gender == "M").astype("int64").to_numpy(),
    }, index=pd.Index(ids, name="patient")).sort_index()


def _add_measurements(X: pd.DataFrame, observations: pd.DataFrame, obs_code: pd.Series,
                      o_path: Path) -> None:
    """Add the latest value of each :data:`OBSERVATION_CODES` measurement as a column of ``X``.

    Values must be finite numbers of 0 or more; of several observations of one
    code on the latest date, the one written last wins (NaN if none).
    """
    numeric = observations[obs_code.isin(OBSERVATION_CODES.values())]
    values = pd.to_numeric(numeric["VALUE"], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        row = numeric[bad].iloc[0]
        raise DataFormatError(
            o_path, "VALUE", f"a number for LOINC {row['CODE']}",
            found=_describe(row["VALUE"]),
        )
    negative = values.to_numpy(dtype=float) < 0
    if negative.any():
        k = int(np.flatnonzero(negative)[0])
        code = numeric["CODE"].iloc[k]
        raise DataFormatError(o_path, "VALUE", f"a measurement of 0 or more for LOINC {code}",
                              found=f"{values.iloc[k]:g} (an impossible value)",
                              row=int(np.flatnonzero(obs_code.isin(OBSERVATION_CODES.values()))[k]) + 2)
    latest_values = (numeric.assign(VALUE=values)
                     .sort_values("DATE", kind="stable")
                     .drop_duplicates(["PATIENT", "CODE"], keep="last")
                     .pivot(index="PATIENT", columns="CODE", values="VALUE"))
    for feature, code in OBSERVATION_CODES.items():
        column = latest_values[code] if code in latest_values else pd.Series(dtype=float)
        X[feature] = column.reindex(X.index).astype("float64")


def _add_smoking(X: pd.DataFrame, observations: pd.DataFrame, obs_code: pd.Series, o_path: Path) -> None:
    """Add ``smoking``: the latest :data:`SMOKING_CODE` status as 0/1/2 (:data:`SMOKING_STATUS`), else NaN."""
    smoking = observations[obs_code == SMOKING_CODE]
    texts = smoking["VALUE"].str.strip()
    unknown = ~texts.isin(list(SMOKING_STATUS))
    if unknown.any():
        raise DataFormatError(
            o_path, "VALUE",
            f"a smoking status for LOINC {SMOKING_CODE}, one of "
            + ", ".join(map(repr, SMOKING_STATUS)),
            found=_describe(smoking["VALUE"][unknown].iloc[0]),
        )
    last_smoking = (smoking.assign(VALUE=texts.map(SMOKING_STATUS).astype("float64"))
                    .sort_values("DATE", kind="stable")
                    .drop_duplicates("PATIENT", keep="last")
                    .set_index("PATIENT")["VALUE"])
    X["smoking"] = last_smoking.reindex(X.index).astype("float64")


def _add_conditions(X: pd.DataFrame, conditions: pd.DataFrame, c_path: Path) -> pd.Series:
    """Add the ``diabetes`` flag to ``X``; return the label ``chd`` (1 if any :data:`CHD_CODES` diagnosis)."""
    cond_patient = _required(conditions, c_path, "PATIENT")
    cond_code = _required(conditions, c_path, "CODE").str.strip()
    X["diabetes"] = X.index.isin(cond_patient[cond_code == DIABETES_CODE]).astype("int64")
    return pd.Series(X.index.isin(cond_patient[cond_code.isin(CHD_CODES.keys())]),
                     index=X.index, name="chd").astype("int64")


def _main_organization(encounters: pd.DataFrame, e_path: Path, organizations: pd.DataFrame,
                       g_path: Path) -> pd.Series:
    """Each patient's organization with the most encounters (ties: the smallest ``Id``)."""
    known = set(_required(organizations, g_path, "Id"))
    enc_org = _required(encounters, e_path, "ORGANIZATION")
    if not enc_org.isin(known).all():
        raise DataFormatError(e_path, "ORGANIZATION", "an Id listed in organizations.csv",
                              found=repr(enc_org[~enc_org.isin(known)].iloc[0]))
    counts = (pd.DataFrame({"patient": _required(encounters, e_path, "PATIENT"),
                            "organization": enc_org})
              .value_counts().rename("n").reset_index()
              .sort_values(["patient", "n", "organization"],
                           ascending=[True, False, True]))
    return counts.drop_duplicates("patient").set_index("patient")["organization"]


def _check_lifespan(path: Path, birth: pd.Series, death: pd.Series, latest) -> None:
    """Refuse a birth after the export's last date or a death before the birth (a negative age)."""
    checks = (
        (death.notna() & (death.dt.normalize() < birth.dt.normalize()), "DEATHDATE",
         "a death on or after the birth date", "a death before the birth"),
        (death.isna() & (birth.dt.normalize() > latest), "BIRTHDATE",
         "a birth on or before the latest date recorded in the export "
         f"({pd.Timestamp(latest):%Y-%m-%d})", "a birth in the future"),
    )
    for bad, column, expected, what in checks:
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(path, column, expected,
                                  f"{what} ({birth.iloc[k]:%Y-%m-%d} -> "
                                  f"{'alive' if pd.isna(death.iloc[k]) else f'{death.iloc[k]:%Y-%m-%d}'})",
                                  row=k + 2)


def _keep(X: pd.DataFrame, organization: pd.Series, folder: Path, missing: str) -> pd.DataFrame:
    """Keep the patients with an encounter and a vital sign, then apply the missing-value rule.

    Says what it dropped (a :class:`~encmed_lib.errors.DataWarning`, except for
    the bundled sample, whose drops are documented) and refuses an empty result.
    Records ``n_patients``, ``n_no_encounter``, ``n_no_vital_sign`` and
    ``n_dropped_missing`` in ``X.attrs``.
    """
    n_patients = len(X)
    seen = X.index.isin(organization.index)
    vitals = X[list(VITAL_SIGNS)].notna().any(axis=1).to_numpy()
    counts = {"n_patients": n_patients, "n_no_encounter": int((~seen).sum()),
              "n_no_vital_sign": int((seen & ~vitals).sum())}
    why = (f"{counts['n_no_encounter']} without any encounter, {counts['n_no_vital_sign']} without any "
           f"vital sign (LOINC {', '.join(OBSERVATION_CODES[v] for v in VITAL_SIGNS)})")
    X = X[seen & vitals]
    if X.empty:
        raise DataFormatError(folder, None, "at least one patient with an encounter and a vital sign "
                              "(BMI or blood pressure) in observations.csv",
                              f"none of the {n_patients} patients: {why}")
    notes = [f"left out {n_patients - len(X)} of {n_patients} patients: {why}"] if len(X) < n_patients else []
    never = [c for c in X.columns if X[c].isna().all()]
    if missing == "median" and never:
        raise DataFormatError(folder, never[0], "at least one measured value to take the median of "
                              "(missing='median')", f"no patient has one ({len(X)} patients)")
    n_before = len(X)
    if missing == "drop":
        per_column = ", ".join(f"{c} {int(v)}" for c, v in X.isna().sum().items() if v)
        X = X.dropna()
        if X.empty:
            raise DataFormatError(folder, None, "at least one patient with every feature measured "
                                  "(missing='drop'; try missing='median' or 'keep')",
                                  f"every one of the {n_before} patients misses one ({per_column})")
        if len(X) < n_before:
            notes.append(f"dropped {n_before - len(X)} with a missing value (missing='drop'): {per_column}")
    elif missing == "median":
        X = X.fillna(X.median())
    counts["n_dropped_missing"] = n_before - len(X)
    X.attrs.update(counts)
    bundled = folder.resolve() == (data_dir() / "synthea_sample").resolve()
    if notes and not bundled:
        warnings.warn(f"{folder}: " + "; ".join(notes), DataWarning, stacklevel=3)
    return X
