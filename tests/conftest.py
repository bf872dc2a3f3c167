"""Shared pytest fixtures.

``heart_split`` and ``heart_providers``: the bundled heart sample split 70/30
(``random_state=0``) and its training part split into three providers
(``seed=0``), shared by the DP tests.

``s3_server`` runs a real S3-compatible HTTP server (moto) on the loopback
interface, so that the S3 code path of :mod:`encmed_lib.transport` is tested
over HTTP without ever contacting AWS.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import encmed_lib as em
from encmed_lib.federated import split_providers

_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
#: Variables that could send requests elsewhere or pick up real credentials.
_REMOVED_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict[str, Any]]:
    """A moto S3 server on 127.0.0.1 with one bucket, for the whole session.

    Yields
    ------
    dict
        ``url``: ``"s3://encmed-test/run-<uuid>"`` (a fresh prefix in the
        bucket ``encmed-test``); ``storage_options``: fake credentials and the
        loopback endpoint, to pass to fsspec / :class:`Bucket`;
        ``endpoint_url``: the server's address.
    """
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")

    names = (*_FAKE_ENV, *_REMOVED_ENV, "NO_PROXY", "no_proxy")
    saved = {name: os.environ.get(name) for name in names}
    werkzeug_log = logging.getLogger("werkzeug")
    saved_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # no line per HTTP request

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        os.environ.update(_FAKE_ENV)
        for name in _REMOVED_ENV:
            os.environ.pop(name, None)
        for name in ("NO_PROXY", "no_proxy"):  # never route loopback via a proxy
            current = os.environ.get(name)
            os.environ[name] = f"{current},127.0.0.1" if current else "127.0.0.1"

        host, port = server.get_host_and_port()
        assert host == "127.0.0.1", f"moto bound to {host!r}, expected loopback only"
        endpoint_url = f"http://127.0.0.1:{port}"
        storage_options = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": endpoint_url, "region_name": "us-east-1"},
        }
        # Never contact AWS: every request of the tests goes to this endpoint.
        assert storage_options["client_kwargs"]["endpoint_url"].startswith("http://127.0.0.1:")

        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="encmed-test")
        yield {
            "url": f"s3://encmed-test/run-{uuid.uuid4().hex}",
            "storage_options": storage_options,
            "endpoint_url": endpoint_url,
        }
    finally:
        server.stop()
        werkzeug_log.setLevel(saved_level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def dask_cluster():
    """One dask.distributed LocalCluster (2 single-threaded worker processes) per test session."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="session")
def heart_split():
    """``(X_train, X_test, y_train, y_test)`` of the bundled heart sample, 70/30, ``random_state=0``."""
    X, y = em.load_heart()
    return em.split_data(X, y, random_state=0)


@pytest.fixture(scope="session")
def heart_providers(heart_split):
    """The training part of :func:`heart_split` split into three providers (``seed=0``)."""
    X_tr, _, y_tr, _ = heart_split
    return split_providers(X_tr, y_tr, k=3, seed=0)
