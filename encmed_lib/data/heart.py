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

The layout is detected from the first non-blank line: when every cell is a
number (``63``, ``6.5e1``) or ``?`` it is a UCI data row, otherwise a Kaggle
header.  UCI publishes the same 14-column layout for Hungary, Switzerland and
the VA (``processed.hungarian.data``...); they read like Cleveland's, but most
of their rows miss ``ca``, ``thal`` or ``slope``.  UCI's *raw* 76-attribute
files (``cleveland.data``) are refused with a message saying so.

Missing values are handled by an explicit policy, never silently:
``missing="drop"`` (default) drops incomplete rows, ``missing="impute"`` fills
each column with its median (continuous) or most frequent value (codes), and
``missing="raise"`` refuses a file that has any.  A ``?``, an empty cell and a
0 in ``trestbps`` or ``chol`` (:data:`ZERO_MEANS_MISSING`: the Switzerland and
VA files write 0 for "not measured") are missing.  Dropping or filling rows of
a file you pass emits a :class:`~encmed_lib.errors.DataWarning` with the
counts per column, and a policy that leaves no row at all (``"drop"`` on the
Switzerland file, whose every row misses ``chol``) is a
:class:`~encmed_lib.errors.DataFormatError` that says so.  A value outside a
possible range (:data:`LIMITS`, e.g. an age of 300) is refused.

Without a path, :func:`load_heart` reads ``data/heart_synthetic.data``: a
**synthetic** sample in the UCI layout written by
:func:`encmed_lib.data.samples.write_heart_sample` (no real patient is in it).
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ArgumentError, DataFormatError, DataWarning
from .paths import data_dir
from .textfile import read_text

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

ZERO_MEANS_MISSING: tuple[str, ...] = ("trestbps", "chol")
"""Columns where a 0 is read as missing: nobody alive has a resting blood pressure or a serum
cholesterol of 0, and UCI's processed Switzerland and VA files write 0 where ``chol`` (and, once,
``trestbps``) was not recorded."""

LIMITS: dict[str, tuple[float, float]] = {
    "age": (1, 120), "trestbps": (40, 300), "chol": (50, 1000), "thalach": (30, 250),
    "oldpeak": (-5, 10),
}
"""Physiologically possible range of each continuous column; a value outside is refused."""

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
        A UCI ``processed.*.data`` file or a Kaggle ``heart.csv``.
        Default: the bundled synthetic sample in ``data/``.
    layout : {"auto", "uci", "kaggle"}
        ``"auto"`` looks at the first non-blank line: if every cell is a
        number (``6.5e1`` included) or ``?``, the file is UCI; otherwise that
        line is a header and the file is Kaggle.
    missing : {"drop", "impute", "raise"}
        What to do with rows that have a missing value (``?``, empty, or a
        0 in ``chol`` / ``trestbps``; see the module docstring).

    Returns
    -------
    X : pandas.DataFrame
        The 13 attributes as float64 columns, named as in :data:`FEATURES`.
        ``X.attrs`` records ``layout``, ``source``, ``missing``,
        ``n_missing_rows`` (rows with at least one missing value) and
        ``n_zero_as_missing`` (cells read as missing because they were 0).
    y : pandas.Series
        ``target``: 1 if heart disease is present (UCI ``num`` 1-4), else 0.

    Warns
    -----
    DataWarning
        When rows of a file given by ``path`` are dropped (``"drop"``) or
        values are filled in (``"impute"``): how many, and in which columns.
        The bundled sample (``path=None``) documents its few missing values
        and loads without a warning.

    Raises
    ------
    DataFormatError
        The file is missing, empty, not UTF-8 text (gzip, an Excel workbook,
        UTF-16...), UCI's raw 76-attribute format, has the wrong columns, a
        value that is not a number, a code outside the layout's codebook, an
        impossible value (:data:`LIMITS`), or no row left after the
        missing-value policy.  The message names the file, the column and the
        line.
    ArgumentError
        (a ``ValueError``) For a ``layout`` or ``missing`` not in the lists above.
    """
    if missing not in MISSING_POLICIES:
        raise ArgumentError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    if layout not in ("auto", "uci", "kaggle"):
        raise ArgumentError(f"layout must be 'auto', 'uci' or 'kaggle', got {layout!r}")
    bundled = path is None
    path = Path(path) if path is not None else default_heart_path()
    text, all_lines, lines = _read_lines(path)
    head = all_lines[lines[0] - 1].strip()
    _refuse_raw_uci(path, head)
    if layout == "auto":
        layout = "uci" if _is_numeric_row(head) else "kaggle"
    raw, label_col = _read_table(path, text, layout)
    data_lines = lines if layout == "uci" else lines[1:]
    line_of = data_lines if len(data_lines) == len(raw) else None
    table, n_zero = _checked_numbers(raw, layout, label_col, path, line_of)

    X = table[FEATURES].astype("float64")
    y = (table[label_col] > 0).astype("int64").rename("target")
    n_missing = int(X.isna().any(axis=1).sum())
    X, y = _apply_missing(X, y, path, missing, quiet=bundled)
    X.attrs.update(layout=layout, source=str(path), n_missing_rows=n_missing, missing=missing,
                   n_zero_as_missing=n_zero)
    return X, y


def _read_lines(path: Path) -> tuple[str, list[str], list[int]]:
    """The file's text, its lines, and the (1-based) numbers of its non-blank lines.

    Raises :class:`DataFormatError` if the file does not exist, is not UTF-8
    text, or has no non-blank line.
    """
    if not path.is_file():
        hint = ""
        if path.name == DEFAULT_FILE:
            hint = " (regenerate it with `python -m encmed_lib.data.samples`)"
        raise DataFormatError(path, None, "an existing heart-disease CSV file" + hint, "no such file")
    text = read_text(path)
    all_lines = re.split(r"\r\n|\r|\n", text)  # the line ends pandas knows
    lines = [k + 1 for k, line in enumerate(all_lines) if line.strip()]
    if not lines:
        raise DataFormatError(path, None, "at least one data row", "an empty file")
    return text, all_lines, lines


def _checked_numbers(raw: pd.DataFrame, layout: str, label_col: str, path: Path,
                     line_of: list[int] | None) -> tuple[pd.DataFrame, int]:
    """The raw cells as numbers, checked: a label on every row, codes in the codebook, values in range.

    Zeros of :data:`ZERO_MEANS_MISSING` become NaN first; returns the table
    and how many cells that turned into NaN.  Any other problem raises
    :class:`DataFormatError` naming the column and the line.
    """
    table = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        table[col] = _to_number(raw[col], path, col, line_of)
    label_missing = table[label_col].isna()
    if label_missing.any():
        row = int(label_missing.idxmax())
        raise DataFormatError(path, label_col, "a diagnosis on every row",
                              f"a missing value on data row {row + 1}", row=_line(line_of, row))
    allowed_labels = {0, 1, 2, 3, 4} if layout == "uci" else {0, 1}
    _check_codes(table[label_col], allowed_labels, path, label_col, line_of)
    for col, allowed in CODES[layout].items():
        _check_codes(table[col], allowed, path, col, line_of)
    n_zero = _zeros_as_missing(table)
    for col, (low, high) in LIMITS.items():
        _check_range(table[col], low, high, path, col, line_of)
    return table, n_zero


def _line(line_of: list[int] | None, row: int) -> int | None:
    return None if line_of is None else line_of[row]


def _is_numeric_row(line: str) -> bool:
    """True if every comma-separated cell is a number or ``?`` (a data row, not a header)."""
    for cell in line.split(","):
        cell = cell.strip()
        if cell in ("?", ""):
            continue
        try:
            float(cell)
        except ValueError:
            return False
    return True


def _refuse_raw_uci(path: Path, head: str) -> None:
    """UCI's raw files (76 attributes, space-separated, records over several lines) are not read."""
    cells = head.split()
    if "," not in head and len(cells) >= 5 and _is_numeric_row(",".join(cells)):
        raise DataFormatError(path, None, "the 14-column processed file (processed.cleveland.data, "
                              "processed.hungarian.data...), comma-separated",
                              f"{len(cells)} space-separated numbers on the first line: this looks like "
                              "UCI's raw 76-attribute file (cleveland.data), which is not supported", row=1)


def _read_table(path: Path, text: str, layout: str) -> tuple[pd.DataFrame, str]:
    try:
        raw = pd.read_csv(io.StringIO(text), header=None if layout == "uci" else "infer", dtype=str,
                          keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise DataFormatError(path, None, "the same number of comma-separated cells on every row",
                              str(exc).removeprefix("Error tokenizing data. C error: ")) from exc
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, None, "at least one data row", "an empty file") from None
    if not isinstance(raw.index, pd.RangeIndex):  # pandas took the extra leading cells for an index
        raise DataFormatError(path, None, "as many cells on every row as names in the header",
                              f"{raw.index.nlevels} more cell(s) on the data rows than in the header")
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
    return raw, label_col


def _zeros_as_missing(table: pd.DataFrame) -> int:
    """Read 0 in the :data:`ZERO_MEANS_MISSING` columns as missing; return how many cells."""
    n = 0
    for col in ZERO_MEANS_MISSING:
        zero = table[col] == 0
        n += int(zero.sum())
        table.loc[zero, col] = np.nan
    return n


def _check_range(values: pd.Series, low: float, high: float, path: Path, name: str, line_of) -> None:
    bad = values.notna() & ((values < low) | (values > high))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(path, name, f"a value between {low:g} and {high:g} (an impossible value "
                              "otherwise)", f"{values.iloc[row]:g} on data row {row + 1}",
                              row=_line(line_of, row))


def _apply_missing(X: pd.DataFrame, y: pd.Series, path: Path, missing: str, *,
                   quiet: bool) -> tuple[pd.DataFrame, pd.Series]:
    """Apply the missing-value policy; warn with counts unless ``quiet``; refuse an empty result."""
    incomplete = X.isna().any(axis=1)
    n_missing = int(incomplete.sum())
    per_column = {c: int(v) for c, v in X.isna().sum().items() if v}
    counts = ", ".join(f"{c} {v}" for c, v in per_column.items())
    if n_missing and missing == "raise":
        cols = sorted(per_column)
        raise DataFormatError(path, cols[0], "no missing values (missing='raise')",
                              f"{n_missing} incomplete rows, in columns {cols}")
    if n_missing and missing == "drop":
        if n_missing == len(X):
            raise DataFormatError(path, None, "at least one complete row (missing='drop' drops every "
                                  "row with a missing value; try missing='impute')",
                                  f"all {len(X)} rows miss a value (missing per column: {counts})")
        X, y = X[~incomplete], y[~incomplete]
        if not quiet:
            warnings.warn(f"{path}: dropped {n_missing} of {n_missing + len(X)} rows with a missing value "
                          f"(missing='drop'); missing per column: {counts}", DataWarning, stacklevel=3)
    elif n_missing and missing == "impute":
        empty = [c for c, v in per_column.items() if v == len(X)]
        if empty:
            raise DataFormatError(path, empty[0], "at least one value to impute from (missing='impute')",
                                  f"no value at all in {len(X)} rows")
        for col in per_column:
            fill = X[col].mode().iloc[0] if col in CATEGORICAL else X[col].median()
            X[col] = X[col].fillna(fill)
        if not quiet:
            warnings.warn(f"{path}: filled {sum(per_column.values())} missing values in {n_missing} rows "
                          f"(missing='impute', median or most frequent code); per column: {counts}",
                          DataWarning, stacklevel=3)
    return X.reset_index(drop=True), y.reset_index(drop=True)


def _to_number(column: pd.Series, path: Path, name: str, line_of=None) -> pd.Series:
    """Parse a text column as numbers; ``?`` and empty cells become NaN."""
    text = column.str.strip()
    missing = text.isin(["?", ""])
    values = pd.to_numeric(text.where(~missing), errors="coerce")
    bad = values.isna() & ~missing
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(path, name, "a number (or '?' for missing)",
                              f"{column.iloc[row]!r} on data row {row + 1}", row=_line(line_of, row))
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values.to_numpy()))[0])
        raise DataFormatError(path, name, "a finite number", f"an infinite value on data row {row + 1}",
                              row=_line(line_of, row))
    return values


def _check_codes(values: pd.Series, allowed: set, path: Path, name: str, line_of=None) -> None:
    present = values.dropna()
    bad = ~present.isin(list(allowed))
    if bad.any():
        row = int(present[bad].index[0])
        raise DataFormatError(path, name, f"one of the codes {sorted(allowed)}",
                              f"{present[bad].iloc[0]:g} on data row {row + 1}", row=_line(line_of, row))


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
        with warnings.catch_warnings():  # a check of the layout: the caller loads it again
            warnings.simplefilter("ignore", DataWarning)
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
            with warnings.catch_warnings():  # refuse anything that is not the UCI layout
                warnings.simplefilter("ignore", DataWarning)
                load_heart(tmp, layout="uci")
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
