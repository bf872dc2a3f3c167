"""Tests of encmed_lib.data.heart (load_heart) and the synthetic heart sample.

Every test writes its own small files under ``tmp_path``; the only committed file
read is the bundled ``data/heart_synthetic.data`` (the default of ``load_heart``).
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encmed_lib import load_heart
from encmed_lib.data import samples
from encmed_lib.data.heart import CATEGORICAL, CODES, DEFAULT_FILE, FEATURES, LIMITS, default_heart_path
from encmed_lib.data.samples import HEART_SEED, make_heart_sample, write_heart_sample
from encmed_lib.errors import DataFormatError, DataWarning, EncmedError
from encmed_lib.tree import split_data, train_tree

# --------------------------------------------------------------- small files
#  age, sex, cp, trestbps, chol, fbs, restecg, thalach, exang, oldpeak, slope, ca, thal, num
UCI_ROWS = [
    "63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0",
    "67.0,1.0,4.0,160.0,286.0,0.0,2.0,108.0,1.0,1.5,2.0,3.0,3.0,2",
    "67.0,1.0,4.0,120.0,229.0,0.0,2.0,129.0,1.0,2.6,2.0,2.0,7.0,1",
    "37.0,1.0,3.0,130.0,250.0,0.0,0.0,187.0,0.0,3.5,3.0,0.0,3.0,0",
    "41.0,0.0,2.0,130.0,204.0,0.0,2.0,172.0,0.0,1.4,1.0,?,3.0,0",  # ca missing
    "56.0,1.0,2.0,120.0,236.0,0.0,0.0,178.0,0.0,0.8,1.0,0.0,?,3",  # thal missing
    "62.0,0.0,4.0,140.0,?,0.0,2.0,160.0,0.0,3.6,3.0,2.0,7.0,4",  # chol missing
    "57.0,0.0,4.0,120.0,354.0,0.0,0.0,163.0,1.0,0.6,1.0,0.0,3.0,0",
    "63.0,1.0,4.0,130.0,254.0,0.0,2.0,147.0,0.0,1.4,2.0,1.0,7.0,2",
    "53.0,1.0,4.0,140.0,203.0,1.0,2.0,155.0,1.0,3.1,3.0,2.0,6.0,1",
]
UCI_NUM = [0, 2, 1, 0, 0, 3, 4, 0, 2, 1]
INCOMPLETE = [4, 5, 6]  # positions of the rows with a "?"
COMPLETE = [i for i in range(len(UCI_ROWS)) if i not in INCOMPLETE]
# Fill values of missing="impute", worked out by hand from UCI_ROWS:
#   ca   (code)       : 0,3,2,0,0,2,0,1,2      -> mode 0  (median would be 1)
#   thal (code)       : 6,3,7,3,3,7,3,7,6      -> mode 3  (median would be 6)
#   chol (continuous) : 203 204 229 233 236 250 254 286 354 -> median 236 (mean 249.9, mode 203)
IMPUTED = {"ca": 0.0, "thal": 3.0, "chol": 236.0}

KAGGLE_HEADER = FEATURES + ["target"]
#  Kaggle codes: cp 0-3, slope 0-2, thal 0-3, ca 0-4, target already binary.
KAGGLE_ROWS = [
    [63, 1, 3, 145, 233, 1, 0, 150, 0, 2.3, 0, 0, 1, 1],
    [37, 1, 2, 130, 250, 0, 1, 187, 0, 3.5, 0, 0, 2, 1],
    [41, 0, 1, 130, 204, 0, 0, 172, 0, 1.4, 2, 0, 2, 1],
    [56, 1, 1, 120, 236, 0, 1, 178, 0, 0.8, 2, 0, 2, 1],
    [57, 0, 0, 120, 354, 0, 1, 163, 1, 0.6, 2, 0, 2, 1],
    [67, 1, 0, 160, 286, 0, 0, 108, 1, 1.5, 1, 3, 2, 0],
    [62, 0, 0, 140, 268, 0, 0, 160, 0, 3.6, 0, 2, 2, 0],
    [63, 1, 0, 130, 254, 0, 0, 147, 0, 1.4, 1, 1, 3, 0],
    [58, 0, 0, 100, 248, 0, 0, 122, 0, 1.0, 1, 4, 0, 0],
]

UCI_RANGES = {"age": (29, 77), "trestbps": (94, 200), "chol": (126, 564),
              "thalach": (71, 202), "oldpeak": (0, 6.2)}
DRIVERS = {"cp", "thalach", "oldpeak", "ca", "thal", "exang"}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def uci_file(tmp_path: Path, rows: list[str] | None = None, name: str = "cleveland.data") -> Path:
    return write_lines(tmp_path / name, UCI_ROWS if rows is None else rows)


def kaggle_file(tmp_path: Path, header=None, rows=None, name: str = "heart.csv") -> Path:
    header = KAGGLE_HEADER if header is None else header
    rows = KAGGLE_ROWS if rows is None else rows
    return write_lines(tmp_path / name, [",".join(header)] + [",".join(str(v) for v in r) for r in rows])


def with_cell(row: str, column: str, value: str) -> str:
    """A UCI line with one cell replaced (``column`` is a feature name or "num")."""
    cells = row.split(",")
    cells[(FEATURES + ["num"]).index(column)] = value
    return ",".join(cells)


def names(path: Path, column: str | None = None) -> str:
    """A ``match=`` pattern: the message names the file (and the column)."""
    pattern = re.escape(str(path))
    if column is not None:
        pattern += ".*" + re.escape(f"column {column!r}")
    return pattern


@pytest.fixture
def bundled(monkeypatch) -> Path:
    """The bundled sample, with any ENCMED_DATA override of the environment removed."""
    monkeypatch.delenv("ENCMED_DATA", raising=False)
    return default_heart_path()


# ----------------------------------------------------------------- UCI layout
def test_uci_columns_dtypes_and_target(tmp_path):
    X, y = load_heart(uci_file(tmp_path), missing="impute")
    assert list(X.columns) == FEATURES
    assert (X.dtypes == np.float64).all()
    assert y.name == "target"
    assert y.dtype == np.int64
    assert y.tolist() == [int(n > 0) for n in UCI_NUM]
    assert X.attrs["layout"] == "uci"
    assert X.attrs["n_missing_rows"] == 3
    assert X.attrs["source"] == str(tmp_path / "cleveland.data")
    # values are parsed as written
    assert X.loc[0].tolist() == [63, 1, 1, 145, 233, 1, 2, 150, 0, 2.3, 3, 0, 6]


def test_uci_missing_drop_removes_exactly_the_incomplete_rows(tmp_path):
    X, y = load_heart(uci_file(tmp_path), missing="drop")
    assert len(X) == len(y) == len(COMPLETE)
    assert not X.isna().any().any()
    assert list(X.index) == list(range(len(COMPLETE)))  # reset index
    expected = [[float(v) for v in UCI_ROWS[i].split(",")[:13]] for i in COMPLETE]
    assert X.to_numpy().tolist() == expected
    assert y.tolist() == [int(UCI_NUM[i] > 0) for i in COMPLETE]
    assert X.attrs["n_missing_rows"] == 3


def test_uci_missing_drop_is_the_default(tmp_path):
    path = uci_file(tmp_path)
    X_default, y_default = load_heart(path)
    X_drop, y_drop = load_heart(path, missing="drop")
    pd.testing.assert_frame_equal(X_default, X_drop)
    pd.testing.assert_series_equal(y_default, y_drop)


def test_uci_missing_impute_mode_for_codes_median_for_continuous(tmp_path):
    X, y = load_heart(uci_file(tmp_path), missing="impute")
    assert len(X) == len(y) == len(UCI_ROWS)
    assert not X.isna().any().any()
    assert X.loc[4, "ca"] == IMPUTED["ca"]
    assert X.loc[5, "thal"] == IMPUTED["thal"]
    assert X.loc[6, "chol"] == IMPUTED["chol"]
    # only the missing cells changed
    X_drop, _ = load_heart(uci_file(tmp_path), missing="drop")
    assert X.loc[COMPLETE].to_numpy().tolist() == X_drop.to_numpy().tolist()
    assert y.tolist() == [int(n > 0) for n in UCI_NUM]


def test_uci_missing_raise_names_the_column(tmp_path):
    path = uci_file(tmp_path)
    with pytest.raises(DataFormatError, match=names(path, "ca")) as info:
        load_heart(path, missing="raise")
    message = str(info.value)
    assert "3 incomplete rows" in message
    for col in ("ca", "chol", "thal"):
        assert repr(col) in message
    # only thal missing -> the error names thal
    one = uci_file(tmp_path, [UCI_ROWS[0], UCI_ROWS[5]], name="one.data")
    with pytest.raises(DataFormatError, match=names(one, "thal")):
        load_heart(one, missing="raise")


def test_uci_missing_raise_accepts_a_complete_file(tmp_path):
    path = uci_file(tmp_path, [UCI_ROWS[i] for i in COMPLETE])
    X, _ = load_heart(path, missing="raise")
    assert len(X) == len(COMPLETE)
    assert X.attrs["n_missing_rows"] == 0


def test_uci_empty_cell_counts_as_missing(tmp_path):
    path = uci_file(tmp_path, [UCI_ROWS[0], with_cell(UCI_ROWS[1], "ca", "")])
    X, _ = load_heart(path)
    assert len(X) == 1
    assert X.attrs["n_missing_rows"] == 1


def test_uci_spaces_and_blank_lines_are_tolerated(tmp_path):
    spaced = [", ".join(UCI_ROWS[0].split(","))] + [""] + [UCI_ROWS[1]] + ["   "]
    X, y = load_heart(uci_file(tmp_path, spaced))
    assert len(X) == 2
    assert X.loc[0, "age"] == 63.0
    assert y.tolist() == [0, 1]


@pytest.mark.parametrize("layout", ["auto", "uci"])
def test_uci_layout_is_detected_or_forced(tmp_path, layout):
    # a file whose first line has a "?" is still recognised as UCI
    rows = [UCI_ROWS[4]] + UCI_ROWS[:4]
    X, _ = load_heart(uci_file(tmp_path, rows), layout=layout)
    assert X.attrs["layout"] == "uci"
    assert len(X) == 4


# -------------------------------------------------------------- Kaggle layout
def test_kaggle_codes_are_kept(tmp_path):
    X, y = load_heart(kaggle_file(tmp_path))
    assert X.attrs["layout"] == "kaggle"
    assert list(X.columns) == FEATURES
    assert (X.dtypes == np.float64).all()
    assert y.name == "target"
    assert y.tolist() == [r[-1] for r in KAGGLE_ROWS]
    # not remapped to the UCI codebook
    assert X["cp"].tolist() == [r[2] for r in KAGGLE_ROWS]
    assert X.loc[4, "cp"] == 0
    assert X.loc[0, "slope"] == 0
    assert X.loc[8, "thal"] == 0
    assert X.loc[8, "ca"] == 4
    assert X.to_numpy().tolist() == [[float(v) for v in r[:13]] for r in KAGGLE_ROWS]


def test_kaggle_forced_layout_same_as_auto(tmp_path):
    path = kaggle_file(tmp_path)
    X_auto, y_auto = load_heart(path)
    X_forced, y_forced = load_heart(path, layout="kaggle")
    pd.testing.assert_frame_equal(X_auto, X_forced)
    pd.testing.assert_series_equal(y_auto, y_forced)


def test_kaggle_shuffled_header_and_extra_columns(tmp_path):
    X_ref, y_ref = load_heart(kaggle_file(tmp_path, name="ref.csv"))
    rng = np.random.default_rng(0)
    order = list(rng.permutation(len(KAGGLE_HEADER)))
    header = ["id"] + [KAGGLE_HEADER[i] for i in order] + ["note"]
    rows = [[k] + [r[i] for i in order] + [f"patient {k}"] for k, r in enumerate(KAGGLE_ROWS)]
    X, y = load_heart(kaggle_file(tmp_path, header=header, rows=rows, name="shuffled.csv"))
    assert list(X.columns) == FEATURES
    assert X.attrs["layout"] == "kaggle"
    pd.testing.assert_frame_equal(X, X_ref)
    pd.testing.assert_series_equal(y, y_ref)


def test_kaggle_header_with_spaces(tmp_path):
    header = [f" {name} " for name in KAGGLE_HEADER]
    X, _ = load_heart(kaggle_file(tmp_path, header=header))
    assert list(X.columns) == FEATURES
    assert len(X) == len(KAGGLE_ROWS)


# --------------------------------------------------------- cross-layout codes
def test_kaggle_codes_forced_as_uci_are_refused_on_cp(tmp_path):
    # Kaggle codes in the headerless UCI layout: cp = 3 is fine but cp = 0 is not UCI
    path = write_lines(tmp_path / "kaggle_codes.data",
                       [",".join(str(v) for v in r) for r in KAGGLE_ROWS])
    with pytest.raises(DataFormatError, match=names(path, "cp")) as info:
        load_heart(path, layout="uci")
    assert "[1, 2, 3, 4]" in str(info.value)
    assert "found 0 on data row 5" in str(info.value)


def test_kaggle_file_with_header_forced_as_uci(tmp_path):
    path = kaggle_file(tmp_path)
    with pytest.raises(DataFormatError, match=names(path, "age")):
        load_heart(path, layout="uci")


def test_uci_thal_code_in_a_kaggle_file_is_refused(tmp_path):
    rows = [list(r) for r in KAGGLE_ROWS]
    rows[2][FEATURES.index("thal")] = 6
    path = kaggle_file(tmp_path, rows=rows)
    with pytest.raises(DataFormatError, match=names(path, "thal")) as info:
        load_heart(path)
    assert "found 6 on data row 3" in str(info.value)


def test_uci_file_forced_as_kaggle_is_refused(tmp_path):
    path = uci_file(tmp_path)
    with pytest.raises(DataFormatError, match=names(path, "age")):
        load_heart(path, layout="kaggle")


@pytest.mark.parametrize("column, value", [("cp", "0.0"), ("cp", "5.0"), ("slope", "0.0"),
                                           ("thal", "2.0"), ("ca", "4.0"), ("sex", "2.0"),
                                           ("restecg", "1.5")])
def test_uci_code_outside_the_codebook(tmp_path, column, value):
    path = uci_file(tmp_path, [UCI_ROWS[0], with_cell(UCI_ROWS[1], column, value)])
    with pytest.raises(DataFormatError, match=names(path, column) + ".*data row 2"):
        load_heart(path)


# ------------------------------------------------------------------ bad input
def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.data"
    with pytest.raises(DataFormatError, match=names(path) + ".*no such file") as info:
        load_heart(path)
    assert info.value.path == str(path)
    assert info.value.column is None
    assert isinstance(info.value, EncmedError)
    assert isinstance(info.value, ValueError)


def test_missing_default_file_hints_at_regeneration(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCMED_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=names(tmp_path / DEFAULT_FILE) + ".*regenerate"):
        load_heart()


@pytest.mark.parametrize("content", ["", "\n\n", "   \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.data"
    path.write_text(content)
    with pytest.raises(DataFormatError, match=names(path) + ".*empty file"):
        load_heart(path)


def test_header_only_kaggle_file(tmp_path):
    path = kaggle_file(tmp_path, rows=[])
    with pytest.raises(DataFormatError, match=names(path) + ".*header only"):
        load_heart(path)


def test_uci_file_with_13_columns(tmp_path):
    path = uci_file(tmp_path, [row.rsplit(",", 1)[0] for row in UCI_ROWS[:3]])
    with pytest.raises(DataFormatError, match=names(path) + ".*14 comma-separated.*found 13 columns"):
        load_heart(path)


def test_non_numeric_value_names_column_and_row(tmp_path):
    rows = UCI_ROWS[:2] + [with_cell(UCI_ROWS[2], "chol", "abc")] + UCI_ROWS[3:5]
    path = uci_file(tmp_path, rows)
    with pytest.raises(DataFormatError, match=names(path, "chol") + ".*'abc' on data row 3"):
        load_heart(path)


def test_non_numeric_value_on_the_first_uci_line_with_forced_layout(tmp_path):
    rows = [with_cell(UCI_ROWS[0], "chol", "abc")] + UCI_ROWS[1:3]
    path = uci_file(tmp_path, rows)
    with pytest.raises(DataFormatError, match=names(path, "chol") + ".*'abc' on data row 1"):
        load_heart(path, layout="uci")
    # auto-detection takes the letters for a header: still a DataFormatError naming the file
    with pytest.raises(DataFormatError, match=names(path)):
        load_heart(path)


def test_non_numeric_value_in_a_kaggle_file(tmp_path):
    rows = [[str(v) for v in r] for r in KAGGLE_ROWS]
    rows[1][FEATURES.index("chol")] = "abc"
    path = kaggle_file(tmp_path, rows=rows)
    with pytest.raises(DataFormatError, match=names(path, "chol") + ".*'abc' on data row 2"):
        load_heart(path)


@pytest.mark.parametrize("header_name", ["thalac", None])
def test_kaggle_header_missing_thalach(tmp_path, header_name):
    keep = [i for i, name in enumerate(KAGGLE_HEADER) if name != "thalach"]
    if header_name is None:  # the column is absent
        header = [KAGGLE_HEADER[i] for i in keep]
        rows = [[r[i] for i in keep] for r in KAGGLE_ROWS]
    else:  # the column is misspelled
        header = [header_name if name == "thalach" else name for name in KAGGLE_HEADER]
        rows = KAGGLE_ROWS
    path = kaggle_file(tmp_path, header=header, rows=rows)
    with pytest.raises(DataFormatError, match=names(path, "thalach") + ".*no such column"):
        load_heart(path)


def test_kaggle_header_missing_target(tmp_path):
    path = kaggle_file(tmp_path, header=FEATURES, rows=[r[:13] for r in KAGGLE_ROWS])
    with pytest.raises(DataFormatError, match=names(path, "target")):
        load_heart(path)


def test_uci_label_out_of_range(tmp_path):
    path = uci_file(tmp_path, [UCI_ROWS[0], with_cell(UCI_ROWS[1], "num", "7")])
    with pytest.raises(DataFormatError, match=names(path, "num") + ".*found 7 on data row 2"):
        load_heart(path)


def test_uci_label_missing(tmp_path):
    path = uci_file(tmp_path, [UCI_ROWS[0], with_cell(UCI_ROWS[1], "num", "?")])
    with pytest.raises(DataFormatError, match=names(path, "num") + ".*row 2"):
        load_heart(path, missing="impute")


def test_kaggle_label_not_binary(tmp_path):
    rows = [list(r) for r in KAGGLE_ROWS]
    rows[3][-1] = 2
    path = kaggle_file(tmp_path, rows=rows)
    with pytest.raises(DataFormatError, match=names(path, "target") + ".*data row 4"):
        load_heart(path)


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_infinite_value(tmp_path, value):
    rows = UCI_ROWS[:2] + [with_cell(UCI_ROWS[2], "oldpeak", value)]
    path = uci_file(tmp_path, rows)
    with pytest.raises(DataFormatError, match=names(path, "oldpeak") + ".*finite"):
        load_heart(path)


@pytest.mark.parametrize("value", ["nan", "NaN", "NA", "null", "1.2.3"])
def test_other_non_numbers_are_not_missing_values(tmp_path, value):
    # only "?" and an empty cell mean "missing"
    rows = UCI_ROWS[:2] + [with_cell(UCI_ROWS[2], "oldpeak", value)]
    path = uci_file(tmp_path, rows)
    with pytest.raises(DataFormatError, match=names(path, "oldpeak") + ".*data row 3"):
        load_heart(path, missing="impute")


@pytest.mark.parametrize("missing", ["ignore", "Drop", None])
def test_invalid_missing_policy(tmp_path, missing):
    with pytest.raises(ValueError, match="missing must be one of"):
        load_heart(uci_file(tmp_path), missing=missing)


@pytest.mark.parametrize("layout", ["UCI", "csv", None])
def test_invalid_layout(tmp_path, layout):
    with pytest.raises(ValueError, match="layout must be"):
        load_heart(uci_file(tmp_path), layout=layout)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(
    st.integers(29, 77), st.sampled_from([0, 1]), st.sampled_from([1, 2, 3, 4]),
    st.integers(94, 200), st.integers(126, 564), st.sampled_from([0, 1]), st.sampled_from([0, 1, 2]),
    st.integers(71, 202), st.sampled_from([0, 1]), st.integers(0, 62).map(lambda v: v / 10),
    st.sampled_from([1, 2, 3]), st.sampled_from([0, 1, 2, 3]), st.sampled_from([3, 6, 7]),
    st.integers(0, 4)), min_size=1, max_size=20))
def test_uci_values_read_back_exactly(rows):
    lines = [",".join(f"{float(v):.1f}" for v in r[:-1]) + f",{r[-1]}" for r in rows]
    with tempfile.TemporaryDirectory() as folder:
        X, y = load_heart(write_lines(Path(folder) / "p.data", lines), missing="raise")
    assert X.to_numpy().tolist() == [[float(v) for v in r[:-1]] for r in rows]
    assert y.tolist() == [int(r[-1] > 0) for r in rows]


# ------------------------------------------------------------ bundled sample
def test_default_is_the_bundled_synthetic_sample(bundled):
    assert bundled.name == "heart_synthetic.data"
    X, y = load_heart()
    assert X.attrs["source"] == str(bundled)
    assert X.attrs["layout"] == "uci"
    assert list(X.columns) == FEATURES
    assert X.shape[1] == 13
    assert len(X) >= 500
    assert 0.35 <= y.mean() <= 0.60
    for col in CATEGORICAL:
        assert set(X[col].unique()) <= CODES["uci"][col], col
    for col, (low, high) in UCI_RANGES.items():
        assert X[col].min() >= low and X[col].max() <= high, col


def test_bundled_sample_has_a_few_missing_values(bundled):
    X_drop, _ = load_heart()
    X_all, _ = load_heart(missing="impute")
    assert 0 < X_drop.attrs["n_missing_rows"] <= 0.05 * len(X_all)
    assert len(X_all) == len(X_drop) + X_drop.attrs["n_missing_rows"]


def test_encmed_data_overrides_the_data_folder(tmp_path, monkeypatch):
    write_heart_sample(tmp_path / DEFAULT_FILE, n=50, seed=1)
    monkeypatch.setenv("ENCMED_DATA", str(tmp_path))
    X, _ = load_heart(missing="impute")
    assert X.attrs["source"] == str(tmp_path / DEFAULT_FILE)
    assert len(X) == 50


# ----------------------------------------------------------------- generator
def test_make_heart_sample_is_deterministic():
    a = make_heart_sample(seed=7)
    b = make_heart_sample(seed=7)
    c = make_heart_sample(seed=8)
    assert a.shape == (600, 14)
    assert np.array_equal(a, b, equal_nan=True)
    assert not np.array_equal(a, c, equal_nan=True)
    assert np.array_equal(make_heart_sample(), make_heart_sample(seed=HEART_SEED), equal_nan=True)
    assert make_heart_sample(n=40, seed=3).shape == (40, 14)


def test_make_heart_sample_marks_missing_values_in_ca_and_thal_only():
    table = make_heart_sample(n=300, seed=5)
    holes = np.isnan(table)
    assert holes.any()
    cols = {(FEATURES + ["num"])[j] for j in np.nonzero(holes.any(axis=0))[0]}
    assert cols <= {"ca", "thal"}
    assert set(np.unique(table[:, -1])) <= {0, 1, 2, 3, 4}


def test_written_sample_is_byte_identical_to_the_bundled_file(tmp_path, bundled):
    written = write_heart_sample(tmp_path / "h.data")
    assert written == tmp_path / "h.data"
    assert written.read_bytes() == bundled.read_bytes()
    X_new, y_new = load_heart(written)
    X_ref, y_ref = load_heart()
    pd.testing.assert_frame_equal(X_new, X_ref)
    pd.testing.assert_series_equal(y_new, y_ref)


def test_written_sample_round_trips_the_generator(tmp_path):
    table = make_heart_sample(n=80, seed=11)
    X, y = load_heart(write_heart_sample(tmp_path / "s.data", n=80, seed=11), missing="impute")
    complete = ~np.isnan(table).any(axis=1)
    assert np.array_equal(X.to_numpy()[complete], table[complete, :13])
    assert y.tolist() == (table[:, -1] > 0).astype(int).tolist()


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_sample_has_learnable_structure(bundled, random_state):
    X, y = load_heart()
    X_train, X_test, y_train, y_test = split_data(X, y, test_size=0.3, random_state=random_state)
    model = train_tree(X_train, y_train, max_depth=4, random_state=0)
    majority = y_test.value_counts(normalize=True).max()
    assert model.score(X_test, y_test) >= majority + 0.12


def test_clinical_drivers_matter(bundled):
    X, y = load_heart()
    model = train_tree(X, y, max_depth=4, random_state=0)
    ranked = [X.columns[i] for i in np.argsort(-model.feature_importances_, kind="stable")]
    assert len(set(ranked[:5]) & DRIVERS) >= 3, ranked[:5]


# -------------------------------------------------------------- atomic write
def test_write_is_atomic_when_replace_fails(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError("simulated failure of os.replace")

    monkeypatch.setattr(samples.os, "replace", refuse)
    dest = tmp_path / "h.data"
    with pytest.raises(OSError, match="simulated failure"):
        write_heart_sample(dest, n=30)
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    dest = tmp_path / "h.data"
    dest.write_text("previous content\n")
    monkeypatch.setattr(samples.os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("no")))
    with pytest.raises(OSError):
        write_heart_sample(dest, n=30)
    assert dest.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.data"]


def test_write_creates_the_folder_and_leaves_no_temp_file(tmp_path):
    dest = tmp_path / "new" / "folder" / "h.data"
    write_heart_sample(dest, n=30)
    assert dest.is_file()
    assert os.listdir(dest.parent) == ["h.data"]
    assert dest.read_text().endswith("\n")
    assert len(dest.read_text().splitlines()) == 30


@pytest.mark.parametrize("layout", ["uci", "kaggle"])
def test_row_with_an_extra_cell_is_a_data_format_error(tmp_path, layout):
    if layout == "uci":
        path = uci_file(tmp_path, UCI_ROWS[:2] + [UCI_ROWS[2] + ",9"])
    else:
        rows = [[str(v) for v in r] for r in KAGGLE_ROWS[:3]]
        rows[2].append("9")
        path = kaggle_file(tmp_path, rows=rows)
    with pytest.raises(DataFormatError, match=names(path)):
        load_heart(path)


# ------------------------------------------- hostile and real-world files (issue 12)
def _expect_format_error(path: Path, *fragments: str) -> DataFormatError:
    with pytest.raises(DataFormatError) as info:
        load_heart(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_xlsx_saved_as_heart_csv_is_a_data_format_error(tmp_path):
    path = tmp_path / "heart.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)))
    _expect_format_error(path, "UTF-8 text", "zip archive", "xlsx")


def test_gzip_file_is_a_data_format_error(tmp_path):
    import gzip

    path = tmp_path / "heart.csv"
    path.write_bytes(gzip.compress(("\n".join(UCI_ROWS) + "\n").encode()))
    _expect_format_error(path, "gzip-compressed")


def test_utf16_file_is_a_data_format_error(tmp_path):
    path = tmp_path / "heart.csv"
    path.write_text(",".join(KAGGLE_HEADER) + "\n", encoding="utf-16")  # with its BOM
    _expect_format_error(path, "UTF-16")


def test_utf16_without_bom_is_a_data_format_error(tmp_path):
    path = tmp_path / "heart.csv"
    path.write_bytes("\n".join(UCI_ROWS).encode("utf-16-le"))
    _expect_format_error(path, "NUL byte")


def test_latin1_byte_names_its_line(tmp_path):
    path = tmp_path / "heart.csv"
    path.write_bytes(("\n".join(UCI_ROWS[:2]) + "\n").encode() + "63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,"
                     "0.0,2.3,3.0,0.0,6.0,0 # é\n".encode("latin-1"))
    err = _expect_format_error(path, "not UTF-8", "0xe9")
    assert err.row == 3


def test_raw_76_attribute_cleveland_data_is_refused(tmp_path):
    # UCI's raw cleveland.data: space-separated, ten lines per record, "name" at the end
    raw = ["1 0 63 1 -9 -9 -9", "-9 1 145 1 233 -9 50 20 1 0 1 2 2", "3 1 0 0 0 0 150 11 0 -9 -9",
           "-9 -9 -9 -9 -9 -9 -9 -9 name"]
    path = write_lines(tmp_path / "cleveland.data", raw)
    _expect_format_error(path, "raw 76-attribute", "processed.cleveland.data")


def test_raw_cleveland_data_with_non_utf8_bytes_is_refused(tmp_path):
    path = tmp_path / "cleveland.data"
    path.write_bytes(b"1 0 63 1 -9 -9 -9\n-9 1 145 name\n\xff\xfd\x80 garbage\n")
    _expect_format_error(path, "not UTF-8")


def test_bom_only_file_is_an_empty_file(tmp_path):
    path = tmp_path / "heart.csv"
    path.write_bytes(b"\xef\xbb\xbf")
    _expect_format_error(path, "empty file")


def test_bom_before_a_kaggle_header_is_ignored(tmp_path):
    path = kaggle_file(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    X, y = load_heart(path)
    assert X.attrs["layout"] == "kaggle" and len(X) == len(KAGGLE_ROWS)


def test_numeric_first_row_with_an_exponent_is_uci_data(tmp_path):
    rows = [with_cell(UCI_ROWS[0], "age", "6.5e1")] + UCI_ROWS[1:4]
    X, _ = load_heart(uci_file(tmp_path, rows))
    assert X.attrs["layout"] == "uci"
    assert X["age"].tolist()[:2] == [65.0, 67.0]


def test_numeric_first_row_with_a_missing_cell_is_uci_data(tmp_path):
    X, _ = load_heart(uci_file(tmp_path, [UCI_ROWS[4]] + UCI_ROWS[:4]), missing="impute")
    assert X.attrs["layout"] == "uci" and len(X) == 5


def _hungarian_like(tmp_path: Path) -> Path:
    # processed.hungarian.data: the same 14 columns, but most rows miss slope, ca and thal
    rows = [
        "28,1,2,130,132,0,2,185,0,0,?,?,?,0",
        "29,1,2,120,243,0,0,160,0,0,?,?,?,0",
        "30,0,1,170,237,0,1,170,0,0,?,?,6,0",
        "31,0,2,100,219,0,1,150,0,0,?,?,?,0",
        "54,1,4,150,365,0,1,134,0,1,2,0,7,1",
    ]
    return uci_file(tmp_path, rows, name="processed.hungarian.data")


def test_hungarian_layout_drop_warns_with_the_counts(tmp_path):
    path = _hungarian_like(tmp_path)
    with pytest.warns(DataWarning, match=r"dropped 4 of 5 rows .*slope 4, ca 4, thal 3"):
        X, y = load_heart(path)
    assert len(X) == 1 and y.tolist() == [1]
    assert X.attrs["n_missing_rows"] == 4


def test_hungarian_layout_impute_warns_and_keeps_every_row(tmp_path):
    with pytest.warns(DataWarning, match=r"filled 11 missing values in 4 rows"):
        X, _ = load_heart(_hungarian_like(tmp_path), missing="impute")
    assert len(X) == 5 and not X.isna().any().any()
    assert X["thal"].tolist() == [6.0, 6.0, 6.0, 6.0, 7.0]  # most frequent, first on ties


def test_drop_that_leaves_no_row_is_a_data_format_error(tmp_path):
    rows = [with_cell(r, "ca", "?") for r in UCI_ROWS[:4]]
    path = uci_file(tmp_path, rows, name="processed.va.data")
    err = _expect_format_error(path, "at least one complete row", "all 4 rows miss a value", "ca 4",
                               "missing='impute'")
    assert err.column is None


def test_switzerland_zero_cholesterol_is_read_as_missing(tmp_path):
    rows = [with_cell(r, "chol", "0") for r in UCI_ROWS[:3]] + [UCI_ROWS[3]]
    path = uci_file(tmp_path, rows, name="processed.switzerland.data")
    with pytest.warns(DataWarning, match="chol 3"):
        X, _ = load_heart(path, missing="impute")
    assert X["chol"].tolist() == [250.0] * 4  # the one measured value, never 0
    assert X.attrs["n_zero_as_missing"] == 3


def test_switzerland_every_cholesterol_zero_cannot_be_imputed(tmp_path):
    rows = [with_cell(r, "chol", "0") for r in UCI_ROWS[:4]]
    path = uci_file(tmp_path, rows, name="processed.switzerland.data")
    with pytest.raises(DataFormatError, match=names(path, "chol") + ".*no value at all in 4 rows"):
        load_heart(path, missing="impute")
    with pytest.raises(DataFormatError, match="all 4 rows miss a value"):
        load_heart(path, missing="drop")


def test_va_zero_blood_pressure_is_read_as_missing(tmp_path):
    rows = [with_cell(UCI_ROWS[0], "trestbps", "0")] + UCI_ROWS[1:4]
    with pytest.warns(DataWarning, match="dropped 1 of 4 rows.*trestbps 1"):
        X, _ = load_heart(uci_file(tmp_path, rows))
    assert len(X) == 3 and X["trestbps"].min() > 0


@pytest.mark.parametrize(("column", "value"), [
    ("age", "300"), ("age", "-4"), ("chol", "-200"), ("trestbps", "2000"), ("thalach", "5"),
    ("oldpeak", "62"),
])
def test_impossible_value_names_column_and_line(tmp_path, column, value):
    rows = UCI_ROWS[:1] + [with_cell(UCI_ROWS[1], column, value)] + UCI_ROWS[2:4]
    path = uci_file(tmp_path, rows)
    with pytest.raises(DataFormatError, match=names(path, column) + r", line 2: .*between") as info:
        load_heart(path)
    assert info.value.row == 2


def test_non_numeric_value_gives_the_file_line_after_blank_lines(tmp_path):
    path = write_lines(tmp_path / "p.data", [UCI_ROWS[0], "", with_cell(UCI_ROWS[1], "chol", "abc")])
    with pytest.raises(DataFormatError, match=r"line 3: .*'abc' on data row 2"):
        load_heart(path)


def test_bundled_sample_loads_without_a_warning(bundled):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, _ = load_heart()
        X_imputed, _ = load_heart(missing="impute")
    assert X.attrs["n_missing_rows"] > 0 and len(X_imputed) > len(X)


def test_data_warning_is_a_user_warning():
    assert issubclass(DataWarning, UserWarning)


def test_kaggle_rows_with_one_more_cell_than_the_header_are_refused(tmp_path):
    # pandas would silently take the first cell of each row as an index and shift every column
    path = kaggle_file(tmp_path, rows=[[7] + r for r in KAGGLE_ROWS])
    _expect_format_error(path, "as many cells on every row as names in the header")


def test_limits_lie_inside_the_public_schema_ranges():
    from encmed_lib.data.schema import HEART

    for col, (low, high) in LIMITS.items():
        spec = HEART.feature(col)
        assert spec.lo <= low < high <= spec.hi, col
