"""fetch_uci_heart: opt-in download with a clear fallback, tested on a loopback HTTP server."""

from __future__ import annotations

import http.server
import threading
from functools import partial

import pytest

from encmed_lib.data.heart import fetch_uci_heart, load_heart

ROWS = ("63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\n"
        "67.0,1.0,4.0,160.0,286.0,0.0,2.0,108.0,1.0,1.5,2.0,3.0,3.0,2\n")


@pytest.fixture
def server(tmp_path):
    """A static HTTP server on 127.0.0.1 serving a tiny UCI-layout file and a bad one."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "processed.cleveland.data").write_text(ROWS)
    (www / "bad.data").write_text("not,a,heart,file\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_offline_never_downloads_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ENCMED_ONLINE", raising=False)
    assert fetch_uci_heart(tmp_path / "h.data", url="http://127.0.0.1:9/never") is None
    assert "offline: using the bundled synthetic sample" in capsys.readouterr().out


def test_download_checks_the_file_and_writes_it(server, tmp_path, capsys):
    dest = tmp_path / "out" / "processed.cleveland.data"
    path = fetch_uci_heart(dest, allow_download=True, url=f"{server}/processed.cleveland.data")
    assert path == dest and "downloaded the real UCI Cleveland file" in capsys.readouterr().out
    X, y = load_heart(path)
    assert len(X) == 2 and list(y) == [0, 1]
    assert fetch_uci_heart(dest) == dest  # reused, no download needed
    assert "already at" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["bad.data", "missing.data"])
def test_bad_or_missing_file_falls_back_with_a_reason(server, tmp_path, capsys, name):
    dest = tmp_path / "out" / "processed.cleveland.data"
    assert fetch_uci_heart(dest, allow_download=True, url=f"{server}/{name}") is None
    out = capsys.readouterr().out
    assert "could not fetch the UCI file" in out and "bundled synthetic sample" in out
    assert not dest.exists()
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []  # nothing half-written
