"""Tests of encmed_lib.data.synthea: the loader, the generator, bad input."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from encmed_lib.data.synthea import (
    FEATURES,
    SMOKING_STATUS,
    load_synthea,
    write_synthea_export,
)
from encmed_lib.errors import DataFormatError, DataWarning

FILES = ("patients.csv", "encounters.csv", "observations.csv", "conditions.csv",
         "organizations.csv")


# ------------------------------------------------------------- a tiny export
# Four patients written by hand, with just the columns the loader needs plus a
# few others (no CATEGORY or TYPE in observations, as in older layouts).
#   p1: male, alive; latest BMI is 28 (the 30 is older, though written later);
#       smoker who quit; diabetes; MI; 2 visits at org-b and 2 at org-a.
#   p2: female, died 2010-06-15; never smoker; sinusitis only; no lipids.
#   p3: has visits but no vital sign (only labs and a height): dropped.
#   p4: has vital signs but no visit: dropped.
# The latest date recorded is an encounter STOP: 2022-03-02.
TINY = {
    "patients.csv": """\
Id,BIRTHDATE,DEATHDATE,FIRST,GENDER
p2,1940-06-15,2010-06-15,Patient2,F
p1,1950-01-01,,Patient1,M
p3,1960-03-03,,Patient3,M
p4,1970-04-04,,Patient4,F
""",
    "encounters.csv": """\
Id,START,STOP,PATIENT,ORGANIZATION,ENCOUNTERCLASS
e1,2019-05-01T10:00:00Z,2019-05-01T10:15:00Z,p1,org-b,wellness
e2,2020-01-01T10:00:00Z,2020-01-01T10:15:00Z,p1,org-a,wellness
e3,2021-01-01T10:00:00Z,2021-01-01T10:15:00Z,p1,org-b,wellness
e4,2022-03-01T23:50:00Z,2022-03-02T00:20:00Z,p1,org-a,emergency
e5,2009-01-01T08:00:00Z,2009-01-01T08:30:00Z,p2,org-b,wellness
e6,2021-06-01T08:00:00Z,2021-06-01T08:30:00Z,p3,org-a,wellness
""",
    "observations.csv": """\
DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,VALUE,UNITS
2021-01-01T10:00:00Z,p1,e3,39156-5,Body Mass Index,28.0,kg/m2
2020-01-01T10:00:00Z,p1,e2,39156-5,Body Mass Index,30.0,kg/m2
2020-01-01T10:00:00Z,p1,e2,8480-6,Systolic Blood Pressure,150,mm[Hg]
2021-01-01T10:00:00Z,p1,e3,8480-6,Systolic Blood Pressure,141,mm[Hg]
2021-01-01T10:00:00Z,p1,e3,8462-4,Diastolic Blood Pressure,88,mm[Hg]
2020-01-01T10:00:00Z,p1,e2,2093-3,Cholesterol,210.5,mg/dL
2020-01-01T10:00:00Z,p1,e2,18262-6,LDL,130.25,mg/dL
2020-01-01T10:00:00Z,p1,e2,2085-9,HDL,40,mg/dL
2020-01-01T10:00:00Z,p1,e2,2571-8,Triglycerides,201,mg/dL
2019-05-01T10:00:00Z,p1,e1,72166-2,Tobacco smoking status,Current every day smoker,
2021-01-01T10:00:00Z,p1,e3,72166-2,Tobacco smoking status,Former smoker,
2021-01-01T10:00:00Z,p1,e3,8302-2,Body Height,180,cm
2009-01-01T08:00:00Z,p2,e5,39156-5,Body Mass Index,22.5,kg/m2
2009-01-01T08:00:00Z,p2,e5,72166-2,Tobacco smoking status,Never smoked tobacco (finding),
2009-01-01T08:00:00Z,p2,e5,72514-3,Pain severity,3,{score}
2021-06-01T08:00:00Z,p3,e6,2093-3,Cholesterol,190,mg/dL
2021-06-01T08:00:00Z,p3,e6,8302-2,Body Height,170,cm
2021-06-01T08:00:00Z,p4,e9,8480-6,Systolic Blood Pressure,120,mm[Hg]
""",
    "conditions.csv": """\
START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION
2020-01-01,,p1,e2,44054006,Diabetes
2021-01-01,2021-02-01,p1,e3,22298006,Myocardial Infarction
2009-01-01,2009-02-01,p2,e5,36971009,Sinusitis (disorder)
2021-06-01,,p3,e6,53741008,Coronary Heart Disease
""",
    "organizations.csv": """\
Id,NAME
org-b,Lakeview Medical Center
org-a,Riverside General Hospital
""",
}


def write_tiny(folder: Path, **changes: str) -> Path:
    """Write the tiny export, with some files' text replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**TINY, **changes}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def edit(name: str, old: str, new: str) -> dict[str, str]:
    """The ``changes`` of :func:`write_tiny` replacing ``old`` by ``new`` in a file."""
    assert old in TINY[name]
    return {name: TINY[name].replace(old, new)}


def where(name: str, column: str | None = None) -> str:
    """Regex matching how a DataFormatError names a file (and column)."""
    return re.escape(name) + ("" if column is None else re.escape(f", column {column!r}"))


# ------------------------------------------------------- exact values, by hand
def test_tiny_export_exact_values(tmp_path):
    X, y, org = load_synthea(write_tiny(tmp_path))

    assert list(X.columns) == list(FEATURES)
    assert list(X.index) == ["p1", "p2"]  # p3 (no vitals), p4 (no visit) dropped
    assert X.index.name == y.index.name == org.index.name == "patient"

    p1, p2 = X.loc["p1"], X.loc["p2"]
    latest = pd.Timestamp("2022-03-02")  # an encounter STOP, the latest date
    assert p1["age"] == (latest - pd.Timestamp("1950-01-01")).days / 365.25
    assert p2["age"] == (pd.Timestamp("2010-06-15")
                         - pd.Timestamp("1940-06-15")).days / 365.25
    assert (p1["sex"], p2["sex"]) == (1, 0)
    # latest observation wins, whatever the order of the rows
    assert (p1["bmi"], p1["systolic_bp"], p1["diastolic_bp"]) == (28.0, 141.0, 88.0)
    assert (p1["total_cholesterol"], p1["ldl"], p1["hdl"], p1["triglycerides"]) == (
        210.5, 130.25, 40.0, 201.0)
    assert p1["smoking"] == 1  # current in 2019, former in 2021
    assert p2["smoking"] == 0
    assert (p1["diabetes"], p2["diabetes"]) == (1, 0)
    # p2 never had a lipid panel nor a blood pressure: NaN, not dropped
    assert p2[["systolic_bp", "diastolic_bp", "total_cholesterol", "ldl", "hdl",
               "triglycerides"]].isna().all()
    assert p2["bmi"] == 22.5

    assert y.name == "chd" and y.dtype == np.int64
    assert y.to_dict() == {"p1": 1, "p2": 0}
    assert org.name == "organization"
    assert org.to_dict() == {"p1": "org-a", "p2": "org-b"}  # tie 2-2 -> smallest id


@pytest.mark.parametrize("code", ["53741008", "22298006", "399211009"])
def test_each_label_code_counts(tmp_path, code):
    X, y, _ = load_synthea(write_tiny(tmp_path, **edit(
        "conditions.csv", "p2,e5,36971009", f"p2,e5,{code}")))
    assert y["p2"] == 1


def test_latest_date_also_looks_at_observations_and_conditions(tmp_path):
    changes = edit("conditions.csv", "2021-06-01,,p3", "2023-01-10,,p3")
    X, _, _ = load_synthea(write_tiny(tmp_path, **changes))
    assert X.loc["p1", "age"] == (pd.Timestamp("2023-01-10")
                                  - pd.Timestamp("1950-01-01")).days / 365.25


def test_unknown_smoking_answer_is_nan(tmp_path):
    X, _, _ = load_synthea(write_tiny(tmp_path, **edit(
        "observations.csv", "Never smoked tobacco (finding)", "Unknown if ever smoked")))
    assert np.isnan(X.loc["p2", "smoking"])


def test_smoking_map_is_explicit_and_complete():
    assert SMOKING_STATUS["Never smoker"] == 0
    assert SMOKING_STATUS["Former smoker"] == 1
    for text in ("Current every day smoker", "Current some day smoker",
                 "Smoker, current status unknown", "Light tobacco smoker",
                 "Heavy tobacco smoker"):
        assert SMOKING_STATUS[text] == 2
    assert set(SMOKING_STATUS.values()) == {0, 1, 2, None}


def test_missing_rules(tmp_path):
    folder = write_tiny(tmp_path)
    X, y, org = load_synthea(folder, missing="drop")
    assert list(X.index) == list(y.index) == list(org.index) == ["p1"]
    X, _, _ = load_synthea(folder, missing="median")
    assert not X.isna().any().any()
    assert X.loc["p2", "ldl"] == 130.25  # median of the one measured value
    with pytest.raises(ValueError, match="'keep', 'drop', 'median'"):
        load_synthea(folder, missing="impute")


# ------------------------------------------------------------------ bad input
def test_folder_missing(tmp_path):
    with pytest.raises(DataFormatError, match="a Synthea CSV export folder"):
        load_synthea(tmp_path / "nowhere")


@pytest.mark.parametrize("name", FILES)
def test_file_missing(tmp_path, name):
    (write_tiny(tmp_path) / name).unlink()
    with pytest.raises(DataFormatError, match=where(name) + ".*no such file"):
        load_synthea(tmp_path)


@pytest.mark.parametrize(("name", "old", "new", "column"), [
    ("patients.csv", "GENDER", "SEX", "GENDER"),  # misspelled
    ("patients.csv", "BIRTHDATE", "BIRTH_DATE", "BIRTHDATE"),
    ("encounters.csv", "ORGANIZATION", "PROVIDER", "ORGANIZATION"),  # old layout
    ("observations.csv", "VALUE", "VALUES", "VALUE"),
    ("conditions.csv", "CODE", "SNOMED", "CODE"),
    ("organizations.csv", "Id", "ID", "Id"),
])
def test_column_missing(tmp_path, name, old, new, column):
    header, rest = TINY[name].split("\n", 1)
    write_tiny(tmp_path, **{name: header.replace(old, new) + "\n" + rest})
    with pytest.raises(DataFormatError, match=where(name, column) + ".*Synthea v3"):
        load_synthea(tmp_path)


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("content", ["", "header only"])
def test_empty_table(tmp_path, name, content):
    if content:
        content = TINY[name].split("\n", 1)[0] + "\n"
    write_tiny(tmp_path, **{name: content})
    with pytest.raises(DataFormatError, match=where(name) + ": expected"):
        load_synthea(tmp_path)


def test_non_numeric_value(tmp_path):
    write_tiny(tmp_path, **edit("observations.csv", "Pressure,141,", "Pressure,high,"))
    with pytest.raises(DataFormatError, match=where("observations.csv", "VALUE")
                       + ".*a number for LOINC 8480-6; found 'high'"):
        load_synthea(tmp_path)


def test_empty_numeric_value(tmp_path):
    write_tiny(tmp_path, **edit("observations.csv", "Index,22.5,", "Index,,"))
    with pytest.raises(DataFormatError, match=where("observations.csv", "VALUE")
                       + ".*39156-5; found an empty cell"):
        load_synthea(tmp_path)


def test_unknown_smoking_text(tmp_path):
    write_tiny(tmp_path, **edit("observations.csv", "Former smoker", "Vapes daily"))
    with pytest.raises(DataFormatError, match=where("observations.csv", "VALUE")
                       + ".*'Never smoker'.*found 'Vapes daily'"):
        load_synthea(tmp_path)


def test_bad_gender(tmp_path):
    write_tiny(tmp_path, **edit("patients.csv", "Patient2,F", "Patient2,X"))
    with pytest.raises(DataFormatError, match=where("patients.csv", "GENDER")
                       + ".*'M' or 'F'; found 'X'"):
        load_synthea(tmp_path)


@pytest.mark.parametrize(("name", "old", "new", "column"), [
    ("patients.csv", "1940-06-15,2010", "15/06/1940,2010", "BIRTHDATE"),
    ("patients.csv", "2010-06-15", "2010-13-45", "DEATHDATE"),
    ("encounters.csv", "2019-05-01T10:00:00Z,", "yesterday,", "START"),
    ("observations.csv", "2009-01-01T08:00:00Z,p2,e5,39156", "soon,p2,e5,39156", "DATE"),
    ("conditions.csv", "2020-01-01,,p1", "2020-01-xx,,p1", "START"),
])
def test_bad_date(tmp_path, name, old, new, column):
    write_tiny(tmp_path, **edit(name, old, new))
    with pytest.raises(DataFormatError, match=where(name, column) + ".*ISO 8601"):
        load_synthea(tmp_path)


def test_empty_required_cell(tmp_path):
    write_tiny(tmp_path, **edit("encounters.csv", "p2,org-b", ",org-b"))
    with pytest.raises(DataFormatError, match=where("encounters.csv", "PATIENT")
                       + ".*empty cell on line 6"):
        load_synthea(tmp_path)


def test_unknown_organization(tmp_path):
    write_tiny(tmp_path, **edit("encounters.csv", "p2,org-b", "p2,org-z"))
    with pytest.raises(DataFormatError, match=where("encounters.csv", "ORGANIZATION")
                       + ".*organizations.csv; found 'org-z'"):
        load_synthea(tmp_path)


def test_duplicate_patient(tmp_path):
    write_tiny(tmp_path, **edit("patients.csv", "p3,", "p2,"))
    with pytest.raises(DataFormatError, match=where("patients.csv", "Id")):
        load_synthea(tmp_path)


# ------------------------------------------------- generator, round trip
@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return write_synthea_export(tmp_path_factory.mktemp("synthea") / "export")


def test_generated_files_have_synthea_headers(export):
    assert sorted(p.name for p in export.iterdir()) == sorted(FILES)
    header = (export / "patients.csv").read_text().split("\n", 1)[0]
    assert header.startswith("Id,BIRTHDATE,DEATHDATE,SSN,") and header.count(",") == 24
    header = (export / "observations.csv").read_text().split("\n", 1)[0]
    assert header == "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE"
    obs = pd.read_csv(export / "observations.csv", dtype=str)
    assert obs["DATE"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert {"vital-signs", "laboratory", "survey"} <= set(obs["CATEGORY"])
    assert {"8302-2", "72514-3"} <= set(obs["CODE"])  # noise the loader must skip
    cond = pd.read_csv(export / "conditions.csv", dtype=str)
    assert cond["START"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert "36971009" in set(cond["CODE"])
    patients = pd.read_csv(export / "patients.csv", dtype=str)
    assert patients["DEATHDATE"].notna().sum() >= 3


def test_round_trip(export):
    X, y, org = load_synthea(export)
    patients = pd.read_csv(export / "patients.csv", dtype=str)
    obs = pd.read_csv(export / "observations.csv", dtype=str)
    with_vitals = set(obs.loc[obs["CODE"].isin(["39156-5", "8480-6", "8462-4"]),
                              "PATIENT"])
    no_vitals = set(patients["Id"]) - with_vitals
    assert 1 <= len(no_vitals) <= 15  # about 2 % of 300
    assert set(X.index) == with_vitals  # every patient has visits
    assert X.shape == (300 - len(no_vitals), len(FEATURES))
    assert list(X.columns) == list(FEATURES)
    assert X.index.is_monotonic_increasing and X.index.name == "patient"
    assert (X.index == y.index).all() and (X.index == org.index).all()
    assert X.dtypes["sex"] == X.dtypes["diabetes"] == np.int64
    assert (X.drop(columns=["sex", "diabetes"]).dtypes == np.float64).all()
    assert X[["age", "sex", "bmi", "systolic_bp", "diastolic_bp"]].notna().all().all()
    assert 0.5 < X["ldl"].notna().mean() < 0.95  # lipid panel for a majority
    assert X["age"].between(18, 95).all() and X["age"].between(25, 90).mean() > 0.8
    assert set(X["smoking"].dropna()) == {0, 1, 2}
    assert 0.05 < X["diabetes"].mean() < 0.2
    assert y.name == "chd" and set(y) == {0, 1} and 0.12 < y.mean() < 0.3
    sizes = org.value_counts()
    assert len(sizes) >= 3 and sizes.is_unique
    assert sizes.iloc[0] > 2 * sizes.iloc[2]


def test_same_seed_same_bytes(tmp_path):
    a = write_synthea_export(tmp_path / "a", n_patients=50, seed=7)
    b = write_synthea_export(tmp_path / "b", n_patients=50, seed=7)
    c = write_synthea_export(tmp_path / "c", n_patients=50, seed=8)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "patients.csv").read_bytes() != (c / "patients.csv").read_bytes()


def test_overwrite_replaces_and_leaves_no_temp(tmp_path):
    folder = tmp_path / "export"
    write_synthea_export(folder, n_patients=20, seed=1)
    (folder / "stale.csv").write_text("x\n")
    assert write_synthea_export(folder, n_patients=20, seed=2) == folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_refuses_to_replace_other_folders(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        write_synthea_export(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match="n_patients"):
        write_synthea_export(tmp_path / "x", n_patients=0)


def test_a_small_tree_learns_the_risk_model(tmp_path):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    assert sklearn
    X, y, _ = load_synthea(write_synthea_export(tmp_path / "e", n_patients=600),
                           missing="median")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X_train, y_train)
    majority = max(y_test.mean(), 1 - y_test.mean())
    assert tree.score(X_test, y_test) >= majority + 0.04
    assert roc_auc_score(y_test, tree.predict_proba(X_test)[:, 1]) > 0.75


# ------------------------------------------- hostile and real-world exports (issue 12)
@pytest.mark.parametrize("code", ["414545008", "401303003", "401314000", "4557003"])
def test_each_recent_synthea_label_code_counts(tmp_path, code):
    X, y, _ = load_synthea(write_tiny(tmp_path, **edit(
        "conditions.csv", "p2,e5,36971009", f"p2,e5,{code}")))
    assert y["p2"] == 1


def test_recent_export_with_fips_and_income_codes_chd_as_ischemic_heart_disease(tmp_path):
    patients = ("Id,BIRTHDATE,DEATHDATE,FIRST,GENDER,COUNTY,FIPS,ZIP,INCOME\n"
                "p2,1940-06-15,2010-06-15,Patient2,F,Essex County,25009,01915,52000\n"
                "p1,1950-01-01,,Patient1,M,Essex County,25009,01915,61000\n"
                "p3,1960-03-03,,Patient3,M,,,,\n"
                "p4,1970-04-04,,Patient4,F,,,,\n")
    conditions = TINY["conditions.csv"].replace("22298006,Myocardial Infarction",
                                                "414545008,Ischemic heart disease (disorder)")
    _, y, _ = load_synthea(write_tiny(tmp_path, **{"patients.csv": patients,
                                                   "conditions.csv": conditions}))
    assert y.to_dict() == {"p1": 1, "p2": 0}


def test_cardiac_arrest_alone_is_not_chd(tmp_path):
    _, y, _ = load_synthea(write_tiny(tmp_path, **edit(
        "conditions.csv", "p2,e5,36971009", "p2,e5,410429000")))
    assert y["p2"] == 0


def test_tiny_export_warns_which_patients_were_left_out(tmp_path):
    with pytest.warns(DataWarning, match="left out 2 of 4 patients: 1 without any encounter, "
                      "1 without any vital sign"):
        X, _, _ = load_synthea(write_tiny(tmp_path))
    assert X.attrs == {"n_patients": 4, "n_no_encounter": 1, "n_no_vital_sign": 1,
                       "n_dropped_missing": 0}


def test_export_with_no_vital_signs_is_a_data_format_error(tmp_path):
    kept = [line for line in TINY["observations.csv"].splitlines(keepends=True)
            if not any(code in line for code in ("39156-5", "8480-6", "8462-4"))]
    write_tiny(tmp_path, **{"observations.csv": "".join(kept)})
    with pytest.raises(DataFormatError, match=re.escape(str(tmp_path)) + ": expected at least one patient "
                       "with an encounter and a vital sign.*none of the 4 patients: 1 without any "
                       "encounter, 3 without any vital sign"):
        load_synthea(tmp_path)


def test_missing_drop_that_leaves_nobody_is_a_data_format_error(tmp_path):
    write_tiny(tmp_path, **edit("observations.csv", "p1,e2,2571-8,Triglycerides,201", "p1,e2,1234-5,X,201"))
    with pytest.raises(DataFormatError, match="every one of the 2 patients misses one.*triglycerides 2"):
        load_synthea(tmp_path, missing="drop")


def test_missing_drop_warns_with_the_counts(tmp_path):
    with pytest.warns(DataWarning, match=r"dropped 1 with a missing value \(missing='drop'\): "
                      "systolic_bp 1, diastolic_bp 1, total_cholesterol 1"):
        X, _, _ = load_synthea(write_tiny(tmp_path), missing="drop")
    assert list(X.index) == ["p1"] and X.attrs["n_dropped_missing"] == 1


def test_median_of_a_feature_nobody_has_is_a_data_format_error(tmp_path):
    write_tiny(tmp_path, **edit("observations.csv", "p1,e2,2571-8,Triglycerides,201", "p1,e2,1234-5,X,201"))
    with pytest.raises(DataFormatError, match=r"column 'triglycerides'.*missing='median'"):
        load_synthea(tmp_path, missing="median")


def test_birth_date_in_the_future_is_a_data_format_error(tmp_path):
    write_tiny(tmp_path, **edit("patients.csv", "p1,1950-01-01", "p1,2031-01-01"))
    with pytest.raises(DataFormatError, match=where("patients.csv", "BIRTHDATE")
                       + ", line 3: .*2022-03-02.*a birth in the future") as info:
        load_synthea(tmp_path)
    assert info.value.row == 3


def test_death_before_birth_is_a_data_format_error(tmp_path):
    write_tiny(tmp_path, **edit("patients.csv", "p2,1940-06-15,2010-06-15", "p2,1940-06-15,1930-01-01"))
    with pytest.raises(DataFormatError, match=where("patients.csv", "DEATHDATE")
                       + ", line 2: .*a death before the birth"):
        load_synthea(tmp_path)


def test_no_age_is_ever_negative(tmp_path):
    X, _, _ = load_synthea(write_synthea_export(tmp_path / "e", n_patients=80, seed=3))
    assert (X["age"] >= 0).all()


@pytest.mark.parametrize(("content", "fragment"), [
    (b"\x1f\x8b\x08\x00" + bytes(40), "gzip-compressed"),
    (b"PK\x03\x04" + bytes(40), "zip archive"),
    ("Id,BIRTHDATE,DEATHDATE,GENDER\n".encode("utf-16"), "UTF-16"),
])
def test_compressed_or_utf16_patients_csv_is_a_data_format_error(tmp_path, content, fragment):
    (write_tiny(tmp_path) / "patients.csv").write_bytes(content)
    with pytest.raises(DataFormatError, match=where("patients.csv") + ".*" + fragment):
        load_synthea(tmp_path)


def test_latin1_observations_csv_names_its_line(tmp_path):
    text = TINY["observations.csv"].replace("Pain severity", "Douleur s\u00e9v\u00e8re")
    write_tiny(tmp_path)
    (tmp_path / "observations.csv").write_bytes(text.encode("latin-1"))
    with pytest.raises(DataFormatError, match=where("observations.csv") + r", line 16: .*not UTF-8") as info:
        load_synthea(tmp_path)
    assert info.value.row == 16


def test_bom_only_conditions_csv_is_an_empty_file(tmp_path):
    (write_tiny(tmp_path) / "conditions.csv").write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(DataFormatError, match=where("conditions.csv") + ".*an empty file"):
        load_synthea(tmp_path)


def test_bom_before_the_header_is_ignored(tmp_path):
    write_tiny(tmp_path)
    path = tmp_path / "patients.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.warns(DataWarning):
        X, _, _ = load_synthea(tmp_path)
    assert list(X.index) == ["p1", "p2"]


def test_bundled_sample_loads_without_a_warning():
    from encmed_lib.data.paths import data_dir

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, _, _ = load_synthea(data_dir() / "synthea_sample")
    assert X.attrs["n_no_vital_sign"] > 0


def test_rows_with_more_cells_than_the_header_are_refused(tmp_path):
    # pandas would silently take the first cell of each row as an index and shift every column
    text = "".join(line + (",x\n" if k else "\n")
                   for k, line in enumerate(TINY["organizations.csv"].splitlines()))
    write_tiny(tmp_path, **{"organizations.csv": text})
    with pytest.raises(DataFormatError, match=where("organizations.csv") + ".*as many cells on every row"):
        load_synthea(tmp_path)


def test_negative_measurement_is_a_data_format_error(tmp_path):
    write_tiny(tmp_path, **edit("observations.csv", "Pressure,141,", "Pressure,-141,"))
    with pytest.raises(DataFormatError, match=where("observations.csv", "VALUE")
                       + r", line 5: .*0 or more for LOINC 8480-6; found -141"):
        load_synthea(tmp_path)


def test_non_utf8_byte_is_found_past_a_character_cut_by_a_read_block(tmp_path):
    from encmed_lib.data.textfile import decoding_error

    head = b"a\n" * ((1 << 19) - 1) + b"x"  # the 2-byte "é" then straddles the 1 MiB block boundary
    data = head + "\u00e9".encode() + b"\n" + b"ok\n" * 10 + b"\xff\n"
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    err = decoding_error(path)
    bad = data.index(b"\xff")
    assert err.row == data.count(b"\n", 0, bad) + 1
    assert f"byte offset {bad}," in str(err)
