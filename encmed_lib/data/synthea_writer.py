"""Write a small, made-up export in Synthea's v3 CSV layout (see :func:`write_synthea_export`).

Only the column layout and the codes come from Synthea; every value is drawn
from a seeded generator, so the files are the same on every machine.
"""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .synthea_codes import CHD_CODES, DIABETES_CODE, SMOKING_CODE

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


@dataclass
class _World:
    """What every patient's draws share: the generator, the rows so far, the organizations."""

    rng: np.random.Generator
    rows: dict[str, list[list[str]]]
    export_date: pd.Timestamp
    weights: np.ndarray
    org_ids: list[str]
    providers: list[list[str]]
    payers: list[str]
    age_shift: np.ndarray
    utilization: list[int]


@dataclass
class _Patient:
    """A made-up patient: identity, true (hidden) risk factors, and what the records will show."""

    pid: str
    home: int
    male: bool
    age: float
    bmi: float
    height: float
    sbp: float
    dbp: float
    hdl: float
    trig: float
    ldl: float
    chol: float
    smoking: int  # never, former, current
    diabetes: bool
    chd: bool
    dead: bool
    end: pd.Timestamp
    birth: pd.Timestamp
    no_vitals: bool
    has_lipids: bool
    asked_smoking: bool
    ever_current: bool


def _generate(n_patients: int, n_organizations: int, seed: int,
              export_date: pd.Timestamp) -> dict[str, list[list[str]]]:
    """Draw every row of a made-up export (see :func:`write_synthea_export`).

    The draws come from one ``numpy.random.default_rng(seed)`` in a fixed
    order: the organizations, then patient by patient (risk factors, the
    ``patients.csv`` row, the visits with their observations, the
    diagnoses), then the ``organizations.csv`` rows.
    """
    rng = np.random.default_rng(seed)
    rows: dict[str, list[list[str]]] = {name: [] for name in _HEADERS}

    # Organizations of clearly different sizes (weights 1, 0.6, 0.36...).
    weights = 0.6 ** np.arange(n_organizations)
    weights /= weights.sum()
    org_ids = [_uuid(rng) for _ in range(n_organizations)]
    providers = [[_uuid(rng) for _ in range(2)] for _ in org_ids]
    payers = [_uuid(rng) for _ in range(3)]
    age_shift = rng.normal(0.0, 4.0, n_organizations)  # hospitals differ a little
    world = _World(rng, rows, export_date, weights, org_ids, providers, payers, age_shift,
                   [0] * n_organizations)

    for i in range(n_patients):
        patient = _draw_patient(world)
        rows["patients.csv"].append(_patient_row(rng, i, patient))
        events = _visits(world, patient)
        _diagnoses(world, patient, events)
    _organization_rows(world)
    return rows


def _draw_patient(world: _World) -> _Patient:
    """Who the patient is, and their true risk factors (CHD from a logistic model in them)."""
    rng, export_date = world.rng, world.export_date
    pid = _uuid(rng)
    home = int(rng.choice(len(world.org_ids), p=world.weights))
    male = bool(rng.random() < 0.5)
    age = float(np.clip(rng.normal(56.0 + world.age_shift[home], 15.0), 20.0, 92.0))
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
    return _Patient(pid, home, male, age, bmi, height, sbp, dbp, hdl, trig, ldl, chol, smoking,
                    diabetes, chd, dead, end, birth, no_vitals, has_lipids, asked_smoking,
                    ever_current)


def _patient_row(rng: np.random.Generator, i: int, p: _Patient) -> list[str]:
    """The patient's ``patients.csv`` row (the demographic details drawn here)."""
    return [
        p.pid, _day(p.birth), _day(p.end) if p.dead else "",
        f"999-{rng.integers(10, 100)}-{rng.integers(1000, 10000)}",
        f"S999{rng.integers(10000, 100000)}", "", "Mr." if p.male else "Ms.",
        f"Patient{i}", f"Family{rng.integers(1, 1000)}", "", "",
        str(rng.choice(["M", "S", "D", "W"])),
        str(rng.choice(["white", "black", "asian", "other"], p=[0.7, 0.12, 0.1, 0.08])),
        str(rng.choice(["nonhispanic", "hispanic"], p=[0.85, 0.15])),
        "M" if p.male else "F", f"{_CITIES[p.home % len(_CITIES)]}  Massachusetts  US",
        f"{rng.integers(1, 999)} Elm Street", _CITIES[p.home % len(_CITIES)],
        "Massachusetts", "Essex County", f"0{rng.integers(1000, 2800)}",
        f"{42.5 + rng.normal(0, 0.1):.6f}", f"{-71.0 + rng.normal(0, 0.1):.6f}",
        f"{rng.uniform(1e4, 9e5):.2f}", f"{rng.uniform(1e3, 5e4):.2f}",
    ]


def _visits(world: _World, p: _Patient) -> list[tuple[str, pd.Timestamp]]:
    """Visits over the last years, mostly at the home organization; returns ``(encounter id, start)``s."""
    rng, rows, export_date = world.rng, world.rows, world.export_date
    n_organizations = len(world.org_ids)
    enc_p = np.array([t[4] for t in _ENCOUNTER_TYPES])
    n_enc = 3 + int(rng.poisson(4))
    span = int(rng.integers(365, 8 * 365))
    offsets = np.sort(rng.choice(span, size=n_enc, replace=False))[::-1]
    hour = int(rng.integers(0, 24 * 3600))
    lipid_visits = set(rng.choice(n_enc, size=min(n_enc, 2), replace=False).tolist())
    quit_at = int(rng.integers(1, n_enc)) if p.smoking == 1 and p.ever_current else 0
    events: list[tuple[str, pd.Timestamp]] = []
    for k, back in enumerate(offsets):
        start = p.end.normalize() - pd.Timedelta(days=int(back), seconds=-hour)
        stop = start + pd.Timedelta(minutes=15 * int(rng.integers(1, 5)))
        if start > export_date:
            start, stop = start - pd.Timedelta(days=1), stop - pd.Timedelta(days=1)
        org = p.home if rng.random() < 0.85 else int(rng.integers(n_organizations))
        world.utilization[org] += 1
        kind, code, text, cost, _ = _ENCOUNTER_TYPES[rng.choice(len(enc_p), p=enc_p)]
        eid = _uuid(rng)
        events.append((eid, start))
        total = cost * rng.uniform(1.0, 8.0)
        rows["encounters.csv"].append([
            eid, _stamp(start), _stamp(stop), p.pid, world.org_ids[org],
            world.providers[org][int(rng.integers(2))], world.payers[int(rng.integers(3))],
            kind, code, text, f"{cost:.2f}", f"{total:.2f}",
            f"{total * rng.uniform(0.5, 1.0):.2f}", "", "",
        ])
        status = p.smoking if k >= quit_at else 2
        _visit_observations(world, p, eid, _stamp(start), kind, k in lipid_visits, status)
    return events


def _visit_observations(world: _World, p: _Patient, eid: str, when: str, kind: str, lipids: bool,
                        status: int) -> None:
    """The observations of one visit: vital signs (most visits), a lipid panel, the smoking question."""
    rng, rows = world.rng, world.rows
    if not p.no_vitals and kind in ("wellness", "ambulatory", "outpatient") \
            and rng.random() < 0.9:
        b = p.bmi + rng.normal(0, 0.6)
        h = p.height + rng.normal(0, 0.3)
        values = (h, b * (h / 100) ** 2, b, p.dbp + rng.normal(0, 6),
                  p.sbp + rng.normal(0, 8), rng.normal(75, 9), rng.integers(0, 5))
        for (loinc, desc, units), v in zip(_VITALS, values, strict=True):
            rows["observations.csv"].append([
                when, p.pid, eid, "vital-signs", loinc, desc,
                f"{float(v):.1f}", units, "numeric"])
    if p.has_lipids and lipids:
        t = p.trig * rng.uniform(0.85, 1.15)
        lab = (p.chol + rng.normal(0, 6), t, p.ldl + rng.normal(0, 5), p.hdl + rng.normal(0, 3))
        for (loinc, desc), v in zip(_LIPIDS, lab, strict=True):
            rows["observations.csv"].append([
                when, p.pid, eid, "laboratory", loinc, desc,
                f"{v:.1f}", "mg/dL", "numeric"])
    if p.asked_smoking and kind == "wellness":
        answer = ("Never smoker", "Former smoker",
                  "Current every day smoker" if rng.random() < 0.8
                  else "Current some day smoker")[status]
        rows["observations.csv"].append([
            when, p.pid, eid, "survey", SMOKING_CODE,
            "Tobacco smoking status NHIS", answer, "", "text"])


def _diagnoses(world: _World, p: _Patient, events: list[tuple[str, pd.Timestamp]]) -> None:
    """The patient's ``conditions.csv`` rows: diabetes, CHD, and irrelevant conditions, each at a visit."""
    rng, n_enc = world.rng, len(events)
    diagnoses = []  # (SNOMED code, description, days it lasts or 0, visit)
    if p.diabetes:
        diagnoses.append((DIABETES_CODE, "Diabetes", 0, int(rng.integers(n_enc))))
    if p.chd:
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
        world.rows["conditions.csv"].append([_day(start), stop, p.pid, eid, code, text])


def _organization_rows(world: _World) -> None:
    """The ``organizations.csv`` rows, with each one's number of encounters as its utilization."""
    rng = world.rng
    for k, oid in enumerate(world.org_ids):
        name = _ORGANIZATION_NAMES[k % len(_ORGANIZATION_NAMES)]
        if k >= len(_ORGANIZATION_NAMES):
            name += f" {k // len(_ORGANIZATION_NAMES) + 1}"
        world.rows["organizations.csv"].append([
            oid, name, f"{100 + 17 * k} Main Street", _CITIES[k % len(_CITIES)], "MA",
            f"0{rng.integers(1000, 2800)}", f"{42.5 + rng.normal(0, 0.1):.6f}",
            f"{-71.0 + rng.normal(0, 0.1):.6f}", f"555{rng.integers(1000000, 9999999)}",
            "0.0", str(world.utilization[k]),
        ])


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
    _write_atomically(folder, rows)
    return folder


def _write_atomically(folder: Path, rows: dict[str, list[list[str]]]) -> None:
    """Write the CSV files into ``folder``, replacing a previous export, all at once or not at all.

    The files go into a hidden sibling folder, which is then renamed into
    place, so that a failure never leaves a half-written export behind.
    """
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
