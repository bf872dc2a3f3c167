"""Batch scoring: same labels whatever the engine and the number of workers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import encmed_lib as em
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
