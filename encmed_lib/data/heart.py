"""The heart-disease table: the UCI Cleveland file and the Kaggle ``heart.csv``.

The course's running example is the *Cleveland* heart-disease data set from the
UCI Machine Learning Repository (Detrano et al., 1989): 303 patients, 13
attributes and a diagnosis ``num`` from 0 (no disease) to 4.  We predict the
binary target ``num > 0``.

===========  ====================================================  ==================
attribute    meaning                                               UCI codes
===========  ====================================================  ==================
age          age in years
sex          sex                                                   1 male, 0 female
cp           chest-pain type                                       1 typical angina,
                                                                   2 atypical angina,
                                                                   3 non-anginal pain,
                                                                   4 asymptomatic
trestbps     resting blood pressure (mm Hg)
chol         serum cholesterol (mg/dl)
fbs          fasting blood sugar > 120 mg/dl                       1 yes, 0 no
restecg      resting ECG                                           0 normal, 1 ST-T
                                                                   abnormality, 2 LV
                                                                   hypertrophy
thalach      maximum heart rate achieved
exang        exercise-induced angina                               1 yes, 0 no
oldpeak      ST depression induced by exercise relative to rest
slope        slope of the peak exercise ST segment                 1 up, 2 flat, 3 down
ca           major vessels coloured by fluoroscopy                 0-3
thal         thallium stress test                                  3 normal, 6 fixed
                                                                   defect, 7 reversible
                                                                   defect
===========  ====================================================  ==================

Two layouts are read:

``"uci"``
    ``processed.cleveland.data`` as published: no header, 14 comma-separated
    columns (the 13 above and ``num``), ``?`` for a missing value (6 rows of
    the real file miss ``ca`` or ``thal``).
``"kaggle"``
    The widely copied Kaggle ``heart.csv``: a header row with the 13 names and
    ``target``.  It is *not* the UCI coding: ``cp`` runs 0-3, ``slope`` 0-2,
    ``thal`` 0-3 (1 fixed, 2 normal, 3 reversible; 0 appears although the
    codebook has no such value) and ``ca`` 0-4 (4 likewise undocumented), and
    its ``target`` is already binary.  We read it **with its own codes** and
    record ``X.attrs["layout"] = "kaggle"``: a model trained on one layout must
    not be applied to the other, and remapping codes whose meaning is disputed
    would hide that problem instead of teaching it.

Missing values are handled by an explicit policy, never silently:
``missing="drop"`` (default) drops incomplete rows, ``missing="impute"`` fills
each column with its median (continuous) or most frequent value (codes), and
``missing="raise"`` refuses a file that has any.

Without a path, :func:`load_heart` reads ``data/heart_synthetic.data``: a
**synthetic** sample in the UCI layout written by
:func:`encmed_lib.data.samples.write_heart_sample` (no real patient is in it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataFormatError
from .paths import data_dir

FEATURES: list[str] = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]
"""The 13 attributes, in the order of the UCI file."""

CATEGORICAL: frozenset[str] = frozenset(
    {"sex", "cp", "fbs", "restecg", "exang", "slope", "ca", "thal"}
)

# Allowed codes per layout (continuous columns are only checked to be numbers).
CODES: dict[str, dict[str, set[float]]] = {
    "uci": {
        "sex": {0, 1}, "cp": {1, 2, 3, 4}, "fbs": {0, 1}, "restecg": {0, 1, 2},
        "exang": {0, 1}, "slope": {1, 2, 3}, "ca": {0, 1, 2, 3}, "thal": {3, 6, 7},
    },
    "kaggle": {
        "sex": {0, 1}, "cp": {0, 1, 2, 3}, "fbs": {0, 1}, "restecg": {0, 1, 2},
        "exang": {0, 1}, "slope": {0, 1, 2}, "ca": {0, 1, 2, 3, 4}, "thal": {0, 1, 2, 3},
    },
}

MISSING_POLICIES = ("drop", "impute", "raise")
DEFAULT_FILE = "heart_synthetic.data"


def default_heart_path() -> Path:
    """Path of the bundled synthetic sample (``data/heart_synthetic.data``)."""
    return data_dir() / DEFAULT_FILE


def load_heart(
    path: str | os.PathLike | None = None,
    *,
    layout: str = "auto",
    missing: str = "drop",
) -> tuple[pd.DataFrame, pd.Series]:
    """Load the heart-disease table as ``(X, y)``.

    Parameters
    ----------
    path : str or path-like, optional
        A UCI ``processed.cleveland.data`` file or a Kaggle ``heart.csv``.
        Default: the bundled synthetic sample in ``data/``.
    layout : {"auto", "uci", "kaggle"}
        ``"auto"`` looks at the first line: a header naming the columns means
        Kaggle, 14 numbers mean UCI.
    missing : {"drop", "impute", "raise"}
        What to do with rows that have a missing value (``?`` or empty).

    Returns
    -------
    X : pandas.DataFrame
        The 13 attributes as float64 columns, named as in :data:`FEATURES`.
        ``X.attrs`` records ``layout``, ``source`` and ``n_missing_rows``.
    y : pandas.Series
        ``target``: 1 if heart disease is present (UCI ``num`` 1-4), else 0.

    Raises
    ------
    DataFormatError
        The file is missing or empty, has the wrong columns, a value that is not
        a number, or a category code outside the layout's codebook.
    """
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    if layout not in ("auto", "uci", "kaggle"):
        raise ValueError(f"layout must be 'auto', 'uci' or 'kaggle', got {layout!r}")
    path = Path(path) if path is not None else default_heart_path()
    if not path.is_file():
        hint = ""
        if path.name == DEFAULT_FILE:
            hint = " (regenerate it with `python -m encmed_lib.data.samples`)"
        raise DataFormatError(path, None, "an existing heart-disease CSV file" + hint, "no such file")
    text_head = _first_line(path)
    if text_head is None:
        raise DataFormatError(path, None, "at least one data row", "an empty file")
    if layout == "auto":
        layout = "kaggle" if any(c.isalpha() for c in text_head.replace("?", "")) else "uci"

    try:
        raw = pd.read_csv(path, header=None if layout == "uci" else "infer", dtype=str,
                          keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise DataFormatError(path, None, "the same number of comma-separated cells on every row",
                              str(exc).removeprefix("Error tokenizing data. C error: ")) from exc
    if layout == "uci":
        if raw.shape[1] != 14:
            raise DataFormatError(path, None, "14 comma-separated columns (13 attributes and num) "
                                  "in the UCI layout", f"{raw.shape[1]} columns")
        raw.columns = FEATURES + ["num"]
        label_col = "num"
    else:
        raw.columns = [str(c).strip() for c in raw.columns]
        for col in FEATURES + ["target"]:
            if col not in raw.columns:
                raise DataFormatError(path, col, "a header with the 13 attributes and 'target' "
                                      f"(Kaggle layout); columns are {list(raw.columns)}",
                                      "no such column")
        raw = raw[FEATURES + ["target"]]
        label_col = "target"
    if len(raw) == 0:
        raise DataFormatError(path, None, "at least one data row", "a header only")

    table = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        table[col] = _to_number(raw[col], path, col)

    label_missing = table[label_col].isna()
    if label_missing.any():
        row = int(label_missing.idxmax()) + 1
        raise DataFormatError(path, label_col, "a diagnosis on every row", f"a missing value on row {row}")
    allowed_labels = {0, 1, 2, 3, 4} if layout == "uci" else {0, 1}
    _check_codes(table[label_col], allowed_labels, path, label_col)
    for col, allowed in CODES[layout].items():
        _check_codes(table[col], allowed, path, col)

    X = table[FEATURES].astype("float64")
    y = (table[label_col] > 0).astype("int64").rename("target")
    incomplete = X.isna().any(axis=1)
    n_missing = int(incomplete.sum())
    if n_missing and missing == "raise":
        cols = sorted(X.columns[X.isna().any()])
        raise DataFormatError(path, cols[0], "no missing values (missing='raise')",
                              f"{n_missing} incomplete rows, in columns {cols}")
    if n_missing and missing == "drop":
        X, y = X[~incomplete], y[~incomplete]
    elif n_missing and missing == "impute":
        for col in X.columns[X.isna().any()]:
            fill = X[col].mode().iloc[0] if col in CATEGORICAL else X[col].median()
            X[col] = X[col].fillna(fill)
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    X.attrs.update(layout=layout, source=str(path), n_missing_rows=n_missing, missing=missing)
    return X, y


def _first_line(path: Path) -> str | None:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                return line.strip()
    return None


def _to_number(column: pd.Series, path: Path, name: str) -> pd.Series:
    """Parse a text column as numbers; ``?`` and empty cells become NaN."""
    text = column.str.strip()
    missing = text.isin(["?", ""])
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        row = int(bad.idxmax())
        raise DataFormatError(path, name, "a number (or '?' for missing)",
                              f"{column.iloc[row]!r} on data row {row + 1}")
    if np.isinf(values).any():
        raise DataFormatError(path, name, "a finite number", "an infinite value")
    return values


def _check_codes(values: pd.Series, allowed: set, path: Path, name: str) -> None:
    present = values.dropna()
    bad = ~present.isin(list(allowed))
    if bad.any():
        raise DataFormatError(path, name, f"one of the codes {sorted(allowed)}",
                              f"{present[bad].iloc[0]:g} on data row {int(present[bad].index[0]) + 1}")


UCI_URL = ("https://archive.ics.uci.edu/ml/machine-learning-databases/heart-disease/"
           "processed.cleveland.data")
"""Where the UCI repository publishes the Cleveland file."""

UCI_FILE = "processed.cleveland.data"


def fetch_uci_heart(dest: str | os.PathLike | None = None, *, allow_download: bool | None = None,
                    url: str = UCI_URL, timeout: float = 10.0, verbose: bool = True) -> Path | None:
    """Get the real UCI Cleveland file, or say why the bundled sample is used instead.

    Nothing is downloaded unless ``allow_download`` is true; ``None`` (the
    default) means "only in Colab, or when ``ENCMED_ONLINE=1``", so an offline
    run (CI, a laptop on a train) never tries the network.  A file already at
    ``dest`` is reused.  The file is public data this project does not own: it
    is kept out of the repository (``.gitignore``).

    Returns
    -------
    pathlib.Path or None
        The local file, checked with :func:`load_heart`; ``None`` (with a printed
        reason) when the bundled synthetic sample should be used.
    """
    import tempfile
    import urllib.request

    if allow_download is None:
        import sys

        allow_download = "google.colab" in sys.modules or os.environ.get("ENCMED_ONLINE") == "1"
    dest = Path(dest) if dest is not None else data_dir() / UCI_FILE
    say = print if verbose else (lambda *a, **k: None)
    if dest.is_file():
        load_heart(dest, layout="uci")
        say(f"using the real UCI file already at {dest.name}")
        return dest
    if not allow_download:
        say("offline: using the bundled synthetic sample (set ENCMED_ONLINE=1, or run in Colab, "
            "to fetch the real UCI Cleveland file)")
        return None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            load_heart(tmp, layout="uci")  # refuse anything that is not the UCI layout
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except (OSError, ValueError) as exc:
        say(f"could not fetch the UCI file ({type(exc).__name__}: {exc}); "
            "using the bundled synthetic sample instead")
        return None
    say(f"downloaded the real UCI Cleveland file ({len(data)} bytes) to {dest.name}")
    return dest
