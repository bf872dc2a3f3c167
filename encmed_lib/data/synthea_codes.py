"""The codes a Synthea export uses for the course's features and label.

LOINC names *what was measured* and SNOMED CT *what was diagnosed*; the values
below are the ones Synthea's own modules write (checked against
``src/main/resources/modules`` and ``CardiovascularDiseaseModule.java`` of
synthetichealth/synthea).  Shared by the loader (:mod:`.synthea`) and the
generator of made-up exports (:mod:`.synthea_writer`).
"""

from __future__ import annotations

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

#: SNOMED CT codes that make the label ``chd`` equal to 1, from every Synthea
#: generation.  Before 2023 the Java ``CardiovascularDiseaseModule`` wrote
#: 53741008, 22298006 and 399211009.  Since then (exports whose
#: ``patients.csv`` has ``FIPS`` and ``INCOME`` columns) coronary disease comes
#: from the ``stable_ischemic_heart_disease`` module (414545008) and heart
#: attacks from ``myocardial_infarction`` with its ``heart/stemi_pathway``
#: (401303003) and ``heart/nsteacs_pathway`` (401314000, and 4557003 for
#: unstable angina, an acute coronary syndrome) submodules, which still write
#: 399211009 afterwards.  Cardiac arrest (410429000) alone is not counted.
CHD_CODES: dict[str, str] = {
    "53741008": "Coronary Heart Disease",
    "22298006": "Myocardial Infarction",
    "399211009": "History of myocardial infarction (situation)",
    "414545008": "Ischemic heart disease (disorder)",
    "401303003": "Acute ST segment elevation myocardial infarction (disorder)",
    "401314000": "Acute non-ST segment elevation myocardial infarction (disorder)",
    "4557003": "Preinfarction syndrome (disorder)",
}
