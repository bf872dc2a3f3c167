"""Property tests of the loaders on hostile files: random bytes, mutated and truncated valid files.

Every call must either return a correct result (the documented columns,
codes and ranges; a :class:`DataWarning` is allowed) or raise a named
:class:`EncmedError` -- never a ``UnicodeDecodeError``, a pandas error, a
``KeyError`` or a silently empty table.  The example counts are bounded so the
whole file runs in seconds (``make test``, derandomized so CI is repeatable);
maintainers run the long, random version with
``HYPOTHESIS_PROFILE=fuzz python -m pytest tests/test_fuzz_loaders.py -o addopts=""``
(2000 examples per property).  Speed is bounded by the size of the inputs (at
most a few KiB), not asserted.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encmed_lib.data.heart import CODES, FEATURES, LIMITS, load_heart
from encmed_lib.data.synthea import FEATURES as SYNTHEA_FEATURES
from encmed_lib.data.synthea import load_synthea
from encmed_lib.errors import DataWarning, EncmedError
from encmed_lib.tree import PortableTree

_FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
FEW = settings(max_examples=2000 if _FUZZ else 40, deadline=None, derandomize=not _FUZZ,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

UCI_TEXT = (
    b"63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\n"
    b"67.0,1.0,4.0,160.0,286.0,0.0,2.0,108.0,1.0,1.5,2.0,3.0,3.0,2\n"
    b"41.0,0.0,2.0,130.0,204.0,0.0,2.0,172.0,0.0,1.4,1.0,?,3.0,0\n"
    b"57.0,0.0,4.0,120.0,0,0.0,0.0,163.0,1.0,0.6,1.0,0.0,3.0,0\n"
)
KAGGLE_TEXT = (
    ",".join(FEATURES + ["target"]) + "\n"
    "63,1,3,145,233,1,0,150,0,2.3,0,0,1,1\n"
    "37,1,2,130,250,0,1,187,0,3.5,0,0,2,1\n"
    "58,0,0,100,248,0,0,122,0,1.0,1,4,0,0\n"
).encode()
SYNTHEA = {
    "patients.csv": "Id,BIRTHDATE,DEATHDATE,GENDER\np1,1950-01-01,,M\np2,1940-06-15,2010-06-15,F\n",
    "encounters.csv": ("Id,START,STOP,PATIENT,ORGANIZATION\n"
                       "e1,2020-01-01T10:00:00Z,2020-01-01T10:15:00Z,p1,org-a\n"
                       "e2,2009-01-01T08:00:00Z,2009-01-01T08:30:00Z,p2,org-b\n"),
    "observations.csv": ("DATE,PATIENT,CODE,VALUE\n"
                         "2020-01-01T10:00:00Z,p1,39156-5,28.0\n"
                         "2020-01-01T10:00:00Z,p1,8480-6,141\n"
                         "2020-01-01T10:00:00Z,p1,72166-2,Former smoker\n"
                         "2009-01-01T08:00:00Z,p2,8462-4,80\n"),
    "conditions.csv": "START,PATIENT,CODE\n2020-01-01,p1,414545008\n2009-01-01,p2,44054006\n",
    "organizations.csv": "Id,NAME\norg-a,A\norg-b,B\n",
}

# one mutation: (kind, where in the file as a fraction, a byte)
_MUTATION = st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]),
                      st.floats(0, 1, allow_nan=False), st.integers(0, 255))
_INTERESTING = [b",", b"\n", b"?", b"\x00", b"\xef\xbb\xbf", b"\xff", b"e", b"-", b"9" * 40, b'"', b" "]


def mutate(data: bytes, mutations, extra: bytes) -> bytes:
    """Apply byte-level mutations (and an inserted interesting token) to ``data``."""
    out = bytearray(data)
    for kind, where, byte in mutations:
        k = min(int(where * len(out)), max(len(out) - 1, 0))
        if kind == "flip" and out:
            out[k] = byte
        elif kind == "insert":
            out[k:k] = extra if byte % 2 else bytes([byte])
        elif kind == "delete" and out:
            del out[k:k + 1 + byte % 8]
        elif kind == "truncate":
            del out[k:]
        elif kind == "duplicate":
            out[k:k] = out[k:k + byte]
    return bytes(out)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check_heart(path: Path, missing: str = "drop") -> None:
    """``load_heart`` gives a correct table or a named error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            X, y = load_heart(path, missing=missing)
    except EncmedError as exc:
        assert str(exc)  # named, with a message
        return
    assert list(X.columns) == FEATURES and (X.dtypes == np.float64).all()
    assert len(X) == len(y) > 0
    assert not X.isna().any().any()
    assert set(y.unique()) <= {0, 1}
    for col, allowed in CODES[X.attrs["layout"]].items():
        assert set(X[col].unique()) <= allowed, col
    for col, (low, high) in LIMITS.items():
        assert X[col].between(low, high).all(), col


@FEW
@given(st.binary(max_size=2048))
def test_random_bytes_as_a_heart_file(folder, data):
    path = folder / "random.csv"
    path.write_bytes(data)
    check_heart(path)


@FEW
@given(st.sampled_from([UCI_TEXT, KAGGLE_TEXT]), st.lists(_MUTATION, min_size=1, max_size=6),
       st.sampled_from(_INTERESTING), st.sampled_from(["drop", "impute"]))
def test_mutated_heart_file(folder, base, mutations, extra, missing):
    path = folder / "mutated.csv"
    path.write_bytes(mutate(base, mutations, extra))
    check_heart(path, missing)


def check_synthea(path: Path, missing: str = "keep") -> None:
    """``load_synthea`` gives a correct table or a named error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            X, y, org = load_synthea(path, missing=missing)
    except EncmedError as exc:
        assert str(exc)
        return
    assert list(X.columns) == list(SYNTHEA_FEATURES)
    assert len(X) == len(y) == len(org) > 0 and X.index.is_unique
    assert (X["age"] >= 0).all() and set(X["sex"]) <= {0, 1}
    assert set(y.unique()) <= {0, 1} and org.notna().all()
    assert X[["bmi", "systolic_bp", "diastolic_bp"]].notna().any(axis=1).all()


def _write_export(folder: Path, name: str, data: bytes) -> Path:
    for file, text in SYNTHEA.items():
        (folder / file).write_bytes(data if file == name else text.encode())
    return folder


@FEW
@given(st.sampled_from(sorted(SYNTHEA)), st.lists(_MUTATION, min_size=1, max_size=6),
       st.sampled_from(_INTERESTING), st.sampled_from(["keep", "drop", "median"]))
def test_mutated_synthea_file(folder, name, mutations, extra, missing):
    export = folder / "synthea"
    export.mkdir(exist_ok=True)
    check_synthea(_write_export(export, name, mutate(SYNTHEA[name].encode(), mutations, extra)), missing)


@FEW
@given(st.sampled_from(sorted(SYNTHEA)), st.binary(max_size=1024))
def test_random_bytes_as_a_synthea_file(folder, name, data):
    export = folder / "synthea-random"
    export.mkdir(exist_ok=True)
    check_synthea(_write_export(export, name, data))


def test_unmutated_inputs_load(folder):
    """The bases of the mutations are valid: the properties above are not vacuous."""
    (folder / "uci.csv").write_bytes(UCI_TEXT)
    (folder / "kaggle.csv").write_bytes(KAGGLE_TEXT)
    with pytest.warns(DataWarning):
        assert len(load_heart(folder / "uci.csv")[0]) == 2
    assert len(load_heart(folder / "kaggle.csv")[0]) == 3
    export = folder / "base"
    export.mkdir()
    X, y, _ = load_synthea(_write_export(export, "", b""))
    assert y.to_dict() == {"p1": 1, "p2": 0} and len(X) == 2


_TREE = {"format": "encmed-tree", "version": 1, "feature_names": ["age", "chol"], "classes": [0, 1],
         "meta": {}, "nodes": [
             {"id": 0, "feature": "age", "threshold": 55.5, "left": 1, "right": 2, "value": [0.5, 0.5],
              "n_samples": 10, "weighted_n_samples": 10.0, "impurity": 0.5, "missing_go_to_left": False},
             {"id": 1, "feature": None, "threshold": None, "left": None, "right": None, "value": [1.0, 0.0],
              "n_samples": 5, "weighted_n_samples": 5.0, "impurity": 0.0, "missing_go_to_left": False},
             {"id": 2, "feature": None, "threshold": None, "left": None, "right": None, "value": [0.0, 1.0],
              "n_samples": 5, "weighted_n_samples": 5.0, "impurity": 0.0, "missing_go_to_left": False}]}
_TREE_JSON = json.dumps(_TREE).encode()


@FEW
@given(st.lists(_MUTATION, min_size=1, max_size=4), st.sampled_from(_INTERESTING))
def test_mutated_tree_json(mutations, extra):
    text = mutate(_TREE_JSON, mutations, extra)
    try:
        tree = PortableTree.from_json(text)
    except EncmedError:
        return
    tree.to_sklearn()  # a tree that passed the checks is usable
    assert tree.predict_one({name: 50.0 for name in tree.feature_names}) in tree.classes
