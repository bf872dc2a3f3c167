"""Batch scoring: same labels whatever the engine and the number of workers."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import encmed_lib as em
from encmed_lib.errors import ArgumentError, DataFormatError, IncompleteBatchError
from encmed_lib.scale import plot_throughput, predict_encrypted, throughput_vs_workers


@pytest.fixture(scope="module")
def setup():
    X, y = em.load_heart()
    tree = em.train_tree(X, y, max_depth=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = em.Client(key_bits=1024)  # 1024 bits: fast enough for a test of the engines
    return client, em.TreeServer(tree), tree, X.iloc[:48]


def test_joblib_one_and_two_processes_agree_with_sklearn(setup):
    client, server, tree, X = setup
    expected = tree.predict(X)
    one = predict_encrypted(client, server, X, n_jobs=1, progress=False)
    two = predict_encrypted(client, server, X, n_jobs=2, progress=False, chunk_size=5)
    assert np.array_equal(one, expected) and np.array_equal(two, expected)


def test_dask_cluster_gives_the_same_labels_in_order(setup, dask_cluster):
    client, server, tree, X = setup
    labels = predict_encrypted(client, server, X, n_jobs=2, chunk_size=7, progress=False,
                               engine="dask", scheduler=dask_cluster)
    assert np.array_equal(labels, tree.predict(X))
    # by address, as a user would pass a real cluster's scheduler
    address = dask_cluster.scheduler.address
    again = predict_encrypted(client, server, X.iloc[:10], engine="dask", scheduler=address,
                              progress=False)
    assert np.array_equal(again, tree.predict(X.iloc[:10]))


def test_progress_bar_counts_patients(setup, capsys):
    client, server, _, X = setup
    predict_encrypted(client, server, X.iloc[:6], progress=True)
    assert "6/6" in capsys.readouterr().err


def test_throughput_table_and_figure(setup, dask_cluster):
    client, server, _, X = setup
    df = throughput_vs_workers(client, server, X.iloc[:12], (1, 2), engine="dask",
                               scheduler=dask_cluster)
    assert list(df.workers) == [1, 2] and (df.patients_per_s > 0).all()
    assert df.speedup.iloc[0] == 1.0
    fig = plot_throughput(df)
    assert fig.axes[0].get_xlabel() == "workers (processes)"


def test_bad_arguments(setup):
    client, server, _, X = setup
    with pytest.raises(ValueError, match="engine must be one of"):
        predict_encrypted(client, server, X, engine="spark")
    with pytest.raises(ValueError, match="n_jobs must be at least 1"):
        predict_encrypted(client, server, X, n_jobs=0)
    assert predict_encrypted(client, server, X.iloc[:0], progress=False).size == 0


# ---------------------------------------------- worker deaths, bad arguments (issue 12)
class DyingClient:
    """A client whose worker process dies (``os._exit``) when it encrypts one given record.

    With a ``marker`` file it dies only the first time (the file is created
    atomically just before); without one, every time.  It never kills the
    test process itself.
    """

    def __init__(self, client, poison: dict, marker: Path | None):
        self.client, self.poison, self.marker, self.parent = client, poison, marker, os.getpid()

    def encrypt(self, row):
        if row == self.poison and os.getpid() != self.parent:
            if self.marker is None:
                os._exit(3)
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                os._exit(3)
            except FileExistsError:
                pass
        return self.client.encrypt(row)

    def decrypt(self, reply):
        return self.client.decrypt(reply)


POISON = 9  # row of the poisoned record; with chunk_size=4 it is in chunk 2 (rows 8-11)


def _poisoned(setup, marker):
    client, server, tree, X = setup
    X = X.iloc[:24]
    poison = X.iloc[POISON].to_dict()
    assert sum(row == poison for row in X.to_dict(orient="records")) == 1
    return DyingClient(client, poison, marker), server, tree.predict(X), X


def test_a_worker_that_dies_once_loses_nothing(setup, tmp_path):
    marker = tmp_path / "died-once"
    client, server, expected, X = _poisoned(setup, marker)
    labels = predict_encrypted(client, server, X, n_jobs=2, chunk_size=4, progress=False)
    assert marker.exists()  # the worker really died
    assert np.array_equal(labels, expected)


def test_a_worker_that_always_dies_reports_the_unscored_patients(setup):
    client, server, expected, X = _poisoned(setup, None)
    with pytest.raises(IncompleteBatchError, match="records were not scored") as info:
        predict_encrypted(client, server, X, n_jobs=2, chunk_size=4, progress=False)
    missing, labels = info.value.missing, info.value.labels
    assert {8, 9, 10, 11} <= set(missing) and missing == sorted(missing)
    assert len(labels) == len(X)
    for i, label in enumerate(labels):
        assert (label is None) == (i in missing)
        if label is not None:
            assert label == expected[i]


@pytest.mark.parametrize("chunk_size", [-3, 0, 2.5, "4", True])
def test_bad_chunk_size_is_an_argument_error(setup, chunk_size):
    client, server, _, X = setup
    with pytest.raises(ArgumentError, match="chunk_size must be at least 1"):
        predict_encrypted(client, server, X, chunk_size=chunk_size, progress=False)


@pytest.mark.parametrize("n_jobs", [-1, 0, 1.5, "2", True, None, 10**6])
def test_bad_n_jobs_is_an_argument_error(setup, n_jobs):
    client, server, _, X = setup
    with pytest.raises(ArgumentError, match="n_jobs must be at least 1 and at most"):
        predict_encrypted(client, server, X, n_jobs=n_jobs, progress=False)


def test_bad_progress_and_engine_are_argument_errors(setup):
    client, server, _, X = setup
    with pytest.raises(ArgumentError, match="progress must be True or False"):
        predict_encrypted(client, server, X, progress="yes")
    with pytest.raises(ArgumentError, match="engine must be one of"):
        predict_encrypted(client, server, X, engine=None)


def test_numpy_x_without_feature_names_is_a_data_format_error(setup):
    client, server, _, X = setup
    with pytest.raises(DataFormatError, match="NumPy array has no feature names"):
        predict_encrypted(client, server, X.to_numpy(), progress=False)


def test_numpy_x_with_feature_names_gives_the_same_labels(setup):
    client, server, tree, X = setup
    X = X.iloc[:8]
    labels = predict_encrypted(client, server, X.to_numpy(), feature_names=list(X.columns), progress=False)
    assert np.array_equal(labels, tree.predict(X))


@pytest.mark.parametrize(("X", "names"), [
    (np.zeros(13), None), (np.zeros((2, 13)), ["a"] * 13), (np.zeros((2, 13)), ["a", "b"]),
    ("records", None), ({"age": [1]}, None),
])
def test_other_x_is_a_data_format_error(setup, X, names):
    client, server, _, _ = setup
    with pytest.raises(DataFormatError, match="column '(X|feature_names)'"):
        predict_encrypted(client, server, X, feature_names=names, progress=False)
