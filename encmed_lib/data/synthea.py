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

import csv
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from encmed_lib.errors import DataFormatError

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

#: LOINC code of each numeric feature taken from ``observations.csv``.
OBSERVATION_CODES: dict[str, str] = {
    "bmi": "39156-5",  # Body mass index, kg/m2
    "systolic_bp": "8480-6",  # Systolic blood pressure, mm[Hg]
    "diastolic_bp": "8462-4",  # Diastolic blood pressure, mm[Hg]
    "total_cholesterol": "2093-3",  # Cholesterol in serum, mg/dL
    "ldl": "18262-6",  # LDL cholesterol, mg/dL
    "hdl": "2085-9",  # HDL cholesterol, mg/dL
    "triglycerides": "2571-8",  # Triglycerides, mg/dL
}
VITAL_SIGNS = ("bmi", "systolic_bp", "diastolic_bp")

#: LOINC code of the "tobacco smoking status" survey question (a text answer).
SMOKING_CODE = "72166-2"

#: Every smoking-status text we know, mapped to 0 = never, 1 = former,
#: 2 = current smoker; ``None`` (the answer says "unknown") becomes NaN.
#: Synthea replaces commas in values by spaces, hence both spellings of
#: "Smoker, current status unknown".
SMOKING_STATUS: dict[str, int | None] = {
    "Never smoker": 0,
    "Never smoked tobacco": 0,
    "Never smoked tobacco (finding)": 0,
    "Former smoker": 1,
    "Ex-smoker": 1,
    "Ex-smoker (finding)": 1,
    "Current every day smoker": 2,
    "Current some day smoker": 2,
    "Smoker, current status unknown": 2,
    "Smoker  current status unknown": 2,
    "Light tobacco smoker": 2,
    "Light tobacco smoker (finding)": 2,
    "Heavy tobacco smoker": 2,
    "Heavy tobacco smoker (finding)": 2,
    "Smokes tobacco daily (finding)": 2,
    "Occasional tobacco smoker (finding)": 2,
    "Smoker (finding)": 2,
    "Unknown if ever smoked": None,
}

#: SNOMED CT code of diabetes mellitus.
DIABETES_CODE = "44054006"

#: SNOMED CT codes that make the label ``chd`` equal to 1.
CHD_CODES: dict[str, str] = {
    "53741008": "Coronary Heart Disease",
    "22298006": "Myocardial Infarction",
    "399211009": "History of myocardial infarction (situation)",
}

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
    try:
        header = pd.read_csv(path, nrows=0).columns
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataFormatError(
                path, missing[0], f"a column {missing[0]!r} (Synthea v3 CSV layout)",
                found="columns " + ", ".join(header),
            )
        # Only empty cells are missing: a value such as "NA" stays a string.
        table = pd.read_csv(path, usecols=columns, dtype=str,
                            keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, None, "a CSV table with a header and rows",
                              found="an empty file") from None
    except pd.errors.ParserError as exc:
        raise DataFormatError(path, None, "a well-formed CSV table",
                              found=str(exc).strip()) from None
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
                              found=f"an empty cell on line {row}")
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
                              found=repr(raw[bad].iloc[0]))
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
        If the folder or a file is missing or empty, a needed column is
        absent, or a value cannot be read (date, number, sex, smoking text,
        unknown organization).  The message names the file and the column.
    ValueError
        If ``missing`` is not one of the allowed rules.
    """
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {', '.join(map(repr, MISSING_RULES))}; "
                         f"got {missing!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(folder, None, "a Synthea CSV export folder")

    p_path, patients = _read_table(folder, "patients.csv")
    e_path, encounters = _read_table(folder, "encounters.csv")
    o_path, observations = _read_table(folder, "observations.csv")
    c_path, conditions = _read_table(folder, "conditions.csv")
    g_path, organizations = _read_table(folder, "organizations.csv")

    # -- patients: one row each, age and sex
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

    # The export's "today": the latest date recorded anywhere.
    enc_start = _dates(encounters, e_path, "START")
    enc_stop = _dates(encounters, e_path, "STOP", required=False)
    obs_date = _dates(observations, o_path, "DATE")
    cond_start = _dates(conditions, c_path, "START")
    latest = pd.Series([enc_start.max(), enc_stop.max(), obs_date.max(),
                        cond_start.max()]).max()
    end = death.fillna(latest).dt.normalize()
    X = pd.DataFrame({
        "age": ((end - birth.dt.normalize()).dt.days / 365.25).to_numpy(),
        "sex": (gender == "M").astype("int64").to_numpy(),
    }, index=pd.Index(ids, name="patient")).sort_index()

    # -- observations: the latest value of each code
    obs_patient = _required(observations, o_path, "PATIENT")
    obs_code = _required(observations, o_path, "CODE")
    observations = observations.assign(DATE=obs_date, PATIENT=obs_patient)
    numeric = observations[obs_code.isin(OBSERVATION_CODES.values())]
    values = pd.to_numeric(numeric["VALUE"], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        row = numeric[bad].iloc[0]
        raise DataFormatError(
            o_path, "VALUE", f"a number for LOINC {row['CODE']}",
            found=_describe(row["VALUE"]),
        )
    latest_values = (numeric.assign(VALUE=values)
                     .sort_values("DATE", kind="stable")
                     .drop_duplicates(["PATIENT", "CODE"], keep="last")
                     .pivot(index="PATIENT", columns="CODE", values="VALUE"))
    for feature, code in OBSERVATION_CODES.items():
        column = latest_values[code] if code in latest_values else pd.Series(dtype=float)
        X[feature] = column.reindex(X.index).astype("float64")

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

    # -- conditions: diabetes flag and label
    cond_patient = _required(conditions, c_path, "PATIENT")
    cond_code = _required(conditions, c_path, "CODE").str.strip()
    X["diabetes"] = X.index.isin(cond_patient[cond_code == DIABETES_CODE]).astype("int64")
    y = pd.Series(X.index.isin(cond_patient[cond_code.isin(CHD_CODES.keys())]),
                  index=X.index, name="chd").astype("int64")

    # -- encounters: the organization seen most often
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
    organization = counts.drop_duplicates("patient").set_index("patient")["organization"]

    # -- which patients are kept
    keep = X.index.isin(organization.index) & X[list(VITAL_SIGNS)].notna().any(axis=1)
    X = X[keep]
    if missing == "drop":
        X = X.dropna()
    elif missing == "median":
        X = X.fillna(X.median())
    y = y.reindex(X.index)
    organization = organization.reindex(X.index).rename("organization")
    return X, y, organization


# -------------------------------------------------------------------- generating
_HEADERS = {
    "patients.csv": (
        "Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,LAST,SUFFIX,MAIDEN,"
        "MARITAL,RACE,ETHNICITY,GENDER,BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,ZIP,LAT,"
        "LON,HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE"),
    "encounters.csv": (
        "Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,"
        "DESCRIPTION,BASE_ENCOUNTER_COST,TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,"
        "REASONDESCRIPTION"),
    "observations.csv": "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE",
    "conditions.csv": "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION",
    "organizations.csv": "Id,NAME,ADDRESS,CITY,STATE,ZIP,LAT,LON,PHONE,REVENUE,UTILIZATION",
}
_ORGANIZATION_NAMES = (
    "Riverside General Hospital", "Lakeview Medical Center",
    "Hillcrest Community Clinic", "Maple Valley Family Practice",
    "Northgate Health Center", "Harborview Regional Hospital",
)
_CITIES = ("Riverside", "Lakeview", "Hillcrest", "Maple Valley", "Northgate", "Harborview")
_ENCOUNTER_TYPES = (  # class, SNOMED code, description, base cost, probability
    ("wellness", "162673000", "General examination of patient (procedure)", 146.76, 0.40),
    ("ambulatory", "185345009", "Encounter for symptom (procedure)", 82.02, 0.30),
    ("outpatient", "185349003", "Encounter for check up (procedure)", 82.02, 0.18),
    ("urgentcare", "702927004", "Urgent care clinic (environment)", 136.70, 0.07),
    ("emergency", "50849002", "Emergency room admission (procedure)", 166.97, 0.05),
)
_VITALS = (  # LOINC, description, units
    ("8302-2", "Body Height", "cm"),
    ("29463-7", "Body Weight", "kg"),
    ("39156-5", "Body Mass Index", "kg/m2"),
    ("8462-4", "Diastolic Blood Pressure", "mm[Hg]"),
    ("8480-6", "Systolic Blood Pressure", "mm[Hg]"),
    ("8867-4", "Heart rate", "/min"),
    ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "{score}"),
)
_LIPIDS = (
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"),
    ("2571-8", "Triglycerides"),
    ("18262-6", "Low Density Lipoprotein Cholesterol"),
    ("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma"),
)
_OTHER_CONDITIONS = (  # SNOMED, description, lasts (days) or 0 for chronic
    ("36971009", "Sinusitis (disorder)", 60),
    ("444814009", "Viral sinusitis (disorder)", 14),
    ("195662009", "Acute viral pharyngitis (disorder)", 10),
    ("10509002", "Acute bronchitis (disorder)", 20),
    ("160903007", "Full-time employment (finding)", 0),
)


def _uuid(rng: np.random.Generator) -> str:
    h = rng.bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _stamp(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d")


def _generate(n_patients: int, n_organizations: int, seed: int,
              export_date: pd.Timestamp) -> dict[str, list[list[str]]]:
    """Draw every row of a made-up export (see :func:`write_synthea_export`)."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list[list[str]]] = {name: [] for name in _HEADERS}

    # Organizations of clearly different sizes (weights 1, 0.6, 0.36...).
    weights = 0.6 ** np.arange(n_organizations)
    weights /= weights.sum()
    org_ids = [_uuid(rng) for _ in range(n_organizations)]
    providers = [[_uuid(rng) for _ in range(2)] for _ in org_ids]
    payers = [_uuid(rng) for _ in range(3)]
    age_shift = rng.normal(0.0, 4.0, n_organizations)  # hospitals differ a little
    utilization = [0] * n_organizations

    enc_p = np.array([t[4] for t in _ENCOUNTER_TYPES])
    for i in range(n_patients):
        # -- who the patient is, and their true (hidden) risk factors
        pid = _uuid(rng)
        home = int(rng.choice(n_organizations, p=weights))
        male = bool(rng.random() < 0.5)
        age = float(np.clip(rng.normal(56.0 + age_shift[home], 15.0), 20.0, 92.0))
        bmi = float(np.clip(rng.normal(27.5, 5.0), 16.0, 50.0))
        height = rng.normal(176.0 if male else 163.0, 7.0)
        sbp = 100.0 + 0.45 * age + 0.5 * (bmi - 27.5) + 5.0 * male + rng.normal(0, 11)
        dbp = 0.45 * sbp + 22.0 + rng.normal(0, 6)
        hdl = float(np.clip(rng.normal(46.0 if male else 57.0, 12.0), 22.0, 110.0))
        trig = float(np.clip(rng.lognormal(np.log(125.0), 0.4), 40.0, 600.0))
        ldl = float(np.clip(rng.normal(118.0 + 0.3 * (age - 55), 30.0), 40.0, 260.0))
        chol = ldl + hdl + trig / 5.0
        smoking = int(rng.choice(3, p=[0.55, 0.27, 0.18]))  # never, former, current
        p_diab = 1 / (1 + np.exp(-(-2.3 + 0.04 * (age - 55) + 0.12 * (bmi - 27.5))))
        diabetes = bool(rng.random() < p_diab)
        # Deliberately strong effects, so that a small tree finds them.
        logit = (-5.3 + 0.2 * (age - 55) + 1.8 * male + 0.05 * (sbp - 130)
                 + 0.04 * (ldl - 120) - 0.08 * (hdl - 50)
                 + (0.0, 1.0, 2.0)[smoking] + 2.0 * diabetes)
        chd = bool(rng.random() < 1 / (1 + np.exp(-logit)))
        dead = bool(rng.random() < 0.02 + 0.08 * chd)
        end = export_date - pd.Timedelta(days=int(rng.integers(30, 1500)) if dead else 0)
        birth = (end - pd.Timedelta(days=int(age * 365.25))).normalize()
        no_vitals = bool(rng.random() < 0.02)
        has_lipids = bool(rng.random() < 0.75)
        asked_smoking = bool(rng.random() < 0.93)
        ever_current = smoking == 2 or (smoking == 1 and rng.random() < 0.5)

        rows["patients.csv"].append([
            pid, _day(birth), _day(end) if dead else "",
            f"999-{rng.integers(10, 100)}-{rng.integers(1000, 10000)}",
            f"S999{rng.integers(10000, 100000)}", "", "Mr." if male else "Ms.",
            f"Patient{i}", f"Family{rng.integers(1, 1000)}", "", "",
            str(rng.choice(["M", "S", "D", "W"])),
            str(rng.choice(["white", "black", "asian", "other"], p=[0.7, 0.12, 0.1, 0.08])),
            str(rng.choice(["nonhispanic", "hispanic"], p=[0.85, 0.15])),
            "M" if male else "F", f"{_CITIES[home % len(_CITIES)]}  Massachusetts  US",
            f"{rng.integers(1, 999)} Elm Street", _CITIES[home % len(_CITIES)],
            "Massachusetts", "Essex County", f"0{rng.integers(1000, 2800)}",
            f"{42.5 + rng.normal(0, 0.1):.6f}", f"{-71.0 + rng.normal(0, 0.1):.6f}",
            f"{rng.uniform(1e4, 9e5):.2f}", f"{rng.uniform(1e3, 5e4):.2f}",
        ])

        # -- visits over the last years, mostly at the home organization
        n_enc = 3 + int(rng.poisson(4))
        span = int(rng.integers(365, 8 * 365))
        offsets = np.sort(rng.choice(span, size=n_enc, replace=False))[::-1]
        hour = int(rng.integers(0, 24 * 3600))
        lipid_visits = set(rng.choice(n_enc, size=min(n_enc, 2), replace=False).tolist())
        quit_at = int(rng.integers(1, n_enc)) if smoking == 1 and ever_current else 0
        events: list[tuple[str, pd.Timestamp]] = []
        for k, back in enumerate(offsets):
            start = end.normalize() - pd.Timedelta(days=int(back), seconds=-hour)
            stop = start + pd.Timedelta(minutes=15 * int(rng.integers(1, 5)))
            if start > export_date:
                start, stop = start - pd.Timedelta(days=1), stop - pd.Timedelta(days=1)
            org = home if rng.random() < 0.85 else int(rng.integers(n_organizations))
            utilization[org] += 1
            kind, code, text, cost, _ = _ENCOUNTER_TYPES[rng.choice(len(enc_p), p=enc_p)]
            eid = _uuid(rng)
            events.append((eid, start))
            total = cost * rng.uniform(1.0, 8.0)
            rows["encounters.csv"].append([
                eid, _stamp(start), _stamp(stop), pid, org_ids[org],
                providers[org][int(rng.integers(2))], payers[int(rng.integers(3))],
                kind, code, text, f"{cost:.2f}", f"{total:.2f}",
                f"{total * rng.uniform(0.5, 1.0):.2f}", "", "",
            ])
            when = _stamp(start)
            if not no_vitals and kind in ("wellness", "ambulatory", "outpatient") \
                    and rng.random() < 0.9:
                b = bmi + rng.normal(0, 0.6)
                h = height + rng.normal(0, 0.3)
                values = (h, b * (h / 100) ** 2, b, dbp + rng.normal(0, 6),
                          sbp + rng.normal(0, 8), rng.normal(75, 9), rng.integers(0, 5))
                for (loinc, desc, units), v in zip(_VITALS, values, strict=True):
                    rows["observations.csv"].append([
                        when, pid, eid, "vital-signs", loinc, desc,
                        f"{float(v):.1f}", units, "numeric"])
            if has_lipids and k in lipid_visits:
                t = trig * rng.uniform(0.85, 1.15)
                lab = (chol + rng.normal(0, 6), t, ldl + rng.normal(0, 5), hdl + rng.normal(0, 3))
                for (loinc, desc), v in zip(_LIPIDS, lab, strict=True):
                    rows["observations.csv"].append([
                        when, pid, eid, "laboratory", loinc, desc,
                        f"{v:.1f}", "mg/dL", "numeric"])
            if asked_smoking and kind == "wellness":
                status = smoking if k >= quit_at else 2
                answer = ("Never smoker", "Former smoker",
                          "Current every day smoker" if rng.random() < 0.8
                          else "Current some day smoker")[status]
                rows["observations.csv"].append([
                    when, pid, eid, "survey", SMOKING_CODE,
                    "Tobacco smoking status NHIS", answer, "", "text"])

        # -- diagnoses: (SNOMED code, description, days it lasts or 0, visit)
        diagnoses = []
        if diabetes:
            diagnoses.append((DIABETES_CODE, "Diabetes", 0, int(rng.integers(n_enc))))
        if chd:
            k = int(rng.integers(n_enc // 2, n_enc))
            if rng.random() < 0.7:
                diagnoses.append(("53741008", CHD_CODES["53741008"], 0, k))
            else:
                diagnoses.append(("22298006", CHD_CODES["22298006"], 30, k))
                diagnoses.append(("399211009", CHD_CODES["399211009"], 0, k))
        for code, text, days in _OTHER_CONDITIONS:
            if rng.random() < 0.25:
                diagnoses.append((code, text, days, int(rng.integers(n_enc))))
        for code, text, days, k in diagnoses:
            eid, start = events[k]
            stop = _day(start + pd.Timedelta(days=days)) if days else ""
            rows["conditions.csv"].append([_day(start), stop, pid, eid, code, text])

    for k, oid in enumerate(org_ids):
        name = _ORGANIZATION_NAMES[k % len(_ORGANIZATION_NAMES)]
        if k >= len(_ORGANIZATION_NAMES):
            name += f" {k // len(_ORGANIZATION_NAMES) + 1}"
        rows["organizations.csv"].append([
            oid, name, f"{100 + 17 * k} Main Street", _CITIES[k % len(_CITIES)], "MA",
            f"0{rng.integers(1000, 2800)}", f"{42.5 + rng.normal(0, 0.1):.6f}",
            f"{-71.0 + rng.normal(0, 0.1):.6f}", f"555{rng.integers(1000000, 9999999)}",
            "0.0", str(utilization[k]),
        ])
    return rows


def write_synthea_export(
    folder: str | os.PathLike,
    n_patients: int = 300,
    n_organizations: int = 4,
    seed: int = 0,
    export_date: str = "2022-06-30",
) -> Path:
    """Write a small, made-up export in Synthea's v3 CSV layout.

    Every value is drawn from ``numpy.random.default_rng(seed)``; only the
    column layout comes from Synthea.  Each patient visits a "home"
    organization most of the time (organizations have clearly different
    sizes), gets vital signs at most visits, a lipid panel for about 3 in 4,
    smoking questions at wellness visits, and irrelevant observations and
    diagnoses that a loader must filter out.  About 2 % have no vital sign at
    all.  Coronary heart disease is drawn from a logistic risk model in age,
    male sex, systolic blood pressure, LDL, low HDL, smoking and diabetes
    (about 20 % prevalence), so a small decision tree can learn it.

    Parameters
    ----------
    folder : str or path-like
        Folder to create.  If it exists and holds nothing but ``.csv`` files
        (a previous export) it is replaced.
    n_patients : int, default 300
        Number of patients.
    n_organizations : int, default 4
        Number of organizations (hospitals, practices).
    seed : int, default 0
        Seed: the same arguments always give byte-identical files.
    export_date : str, default "2022-06-30"
        Date of the export; no record is later than this.

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    ValueError
        If ``n_patients`` or ``n_organizations`` is smaller than 1.
    FileExistsError
        If ``folder`` exists and is not a folder of ``.csv`` files.
    """
    if n_patients < 1 or n_organizations < 1:
        raise ValueError("n_patients and n_organizations must be at least 1; "
                         f"got {n_patients} and {n_organizations}")
    folder = Path(folder)
    if folder.exists() and not (
            folder.is_dir() and all(f.suffix == ".csv" for f in folder.iterdir())):
        raise FileExistsError(f"{folder} exists and is not a Synthea export; "
                              "refusing to replace it")
    rows = _generate(n_patients, n_organizations, seed, pd.Timestamp(export_date))

    # Write into a hidden sibling folder, then rename it into place, so that a
    # failure never leaves a half-written export behind.
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        for name, header in _HEADERS.items():
            with open(tmp / name, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(header.split(","))
                writer.writerows(rows[name])
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex}"
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old)
        else:
            tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
