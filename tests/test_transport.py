"""Tests of encmed_lib.transport: the message bucket (local folder and S3)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import fsspec
import pytest

from encmed_lib import transport
from encmed_lib.errors import (
    BucketNameError,
    EncmedError,
    MalformedMessageError,
    ReplyTimeoutError,
    TransportError,
    UnsafePathError,
)
from encmed_lib.parties import safe_folder
from encmed_lib.transport import Bucket, query_name, reply_name


# ----------------------------------------------------------------- fixtures
@pytest.fixture(params=["folder", "s3"])
def bucket_spec(request, tmp_path) -> dict:
    """How to open a fresh, empty bucket: ``url`` and ``storage_options``."""
    if request.param == "folder":
        return {"kind": "folder", "url": str(tmp_path / "bucket"), "storage_options": {}}
    server = request.getfixturevalue("s3_server")
    url = f"{server['url']}/t-{uuid.uuid4().hex}"
    return {"kind": "s3", "url": url, "storage_options": server["storage_options"]}


@pytest.fixture
def bucket(bucket_spec) -> Bucket:
    """A fresh empty bucket, once as a local folder and once on (moto) S3."""
    return Bucket(bucket_spec["url"], **bucket_spec["storage_options"])


def other_client(spec: dict) -> Bucket:
    """A second, independent client of the same bucket (own S3 listing cache)."""
    options = dict(spec["storage_options"])
    if spec["kind"] == "s3":
        options["skip_instance_cache"] = True
    return Bucket(spec["url"], **options)


def files_under(folder: Path) -> list[str]:
    """Every file below `folder`, as sorted relative posix paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------ basic behaviour
def test_round_trip(bucket, bucket_spec):
    written = bucket.put_text("queries/q1.json", '{"x": 1}')
    assert bucket.get_text("queries/q1.json") == '{"x": 1}'
    if bucket_spec["kind"] == "folder":
        assert written == os.path.join(bucket_spec["url"], "queries", "q1.json")
        assert Path(written).read_text(encoding="utf-8") == '{"x": 1}'
    else:
        assert written == f"{bucket_spec['url']}/queries/q1.json"
        assert written.startswith("s3://encmed-test/run-")


def test_list_with_prefix(bucket):
    assert bucket.list() == []
    for name in ["replies/a.json", "queries/b.json", "queries/a.json", "top.json"]:
        bucket.put_text(name, name)
    assert bucket.list() == ["queries/a.json", "queries/b.json", "replies/a.json", "top.json"]
    assert bucket.list("queries/") == ["queries/a.json", "queries/b.json"]
    assert bucket.list("queries/b") == ["queries/b.json"]
    assert bucket.list("repl") == ["replies/a.json"]
    assert bucket.list("missing/") == []
    assert bucket.list("missing/deeper/x") == []


def test_exists_and_delete(bucket):
    name = reply_name("abc")
    assert not bucket.exists(name)
    bucket.put_text(name, "{}")
    assert bucket.exists(name)
    assert not bucket.exists("replies")  # a folder / common prefix is no message
    bucket.delete(name)
    assert not bucket.exists(name)
    assert bucket.list() == []
    with pytest.raises(TransportError, match="replies/abc.json"):
        bucket.delete(name)
    bucket.delete(name, missing_ok=True)


def test_overwrite(bucket):
    bucket.put_text("queries/q.json", "first version, rather long " * 10)
    bucket.put_text("queries/q.json", "second")
    assert bucket.get_text("queries/q.json") == "second"
    assert bucket.list() == ["queries/q.json"]


def test_unicode_text_is_stored_as_utf8(bucket):
    text = '{"patient": "Müller-Łukasz 张伟", "note": "37.5 °C — ok ✓ 🫀"}'
    written = bucket.put_text("queries/u.json", text)
    assert bucket.get_text("queries/u.json") == text
    with fsspec.open(written, "rb", **bucket.fs.storage_options) as f:
        assert f.read() == text.encode("utf-8")


def test_get_missing_names_the_message(bucket):
    with pytest.raises(TransportError) as info:
        bucket.get_text("replies/nope.json")
    message = str(info.value)
    assert "no message 'replies/nope.json'" in message
    assert bucket.url in message
    assert isinstance(info.value, OSError)
    assert isinstance(info.value, EncmedError)


def test_wait_for_timeout(bucket):
    start = time.monotonic()
    with pytest.raises(TransportError, match=r"timed out .*replies/late\.json"):
        bucket.wait_for("replies/late.json", timeout=0.2, poll=0.02)
    elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 3


def test_wait_for_sees_message_written_later_by_another_client(bucket, bucket_spec):
    name = reply_name("q42")
    reader = other_client(bucket_spec)
    assert reader.list("replies/") == []  # fills the reader's listing cache
    assert not reader.exists(name)

    def write_later():
        time.sleep(0.2)
        bucket.put_text(name, "the answer")

    thread = threading.Thread(target=write_later)
    start = time.monotonic()
    thread.start()
    try:
        assert reader.wait_for(name, timeout=10, poll=0.02) == "the answer"
    finally:
        thread.join()
    assert 0.15 <= time.monotonic() - start < 10
    # listing caches (s3fs) must not hide the new message either
    assert reader.exists(name)
    assert reader.list("replies/") == [name]


def test_new_messages_visible_despite_primed_listing_cache(bucket, bucket_spec):
    reader = other_client(bucket_spec)
    bucket.put_text("queries/a.json", "a")
    assert reader.list() == ["queries/a.json"]
    reader.fs.ls(f"{reader._root}/queries")  # cache the listing of queries/
    bucket.put_text("queries/b.json", "b")
    assert reader.exists("queries/b.json")
    assert reader.list("queries/") == ["queries/a.json", "queries/b.json"]
    bucket.delete("queries/a.json")
    assert not reader.exists("queries/a.json")
    assert reader.list() == ["queries/b.json"]


def test_wait_for_checks_at_least_once(bucket):
    bucket.put_text("replies/r.json", "here")
    assert bucket.wait_for("replies/r.json", timeout=0) == "here"


@pytest.mark.parametrize(("timeout", "poll"), [(-1, 0.05), (1, 0), (1, -0.1)])
def test_wait_for_rejects_bad_timing(bucket, timeout, poll):
    with pytest.raises(ValueError, match="timeout|poll"):
        bucket.wait_for("replies/r.json", timeout=timeout, poll=poll)


# ------------------------------------------------------------------ names
BAD_NAMES = [
    "",
    "/etc/passwd",
    "../outside.json",
    "queries/../../x.json",
    "queries//x.json",
    "queries/",
    "./x.json",
    "has space.json",
    "back\\slash.json",
    "C:/x.json",
    "é.json",
    "q?.json",
    "queries/x.json.tmp-0123abcd",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_invalid_names_are_rejected(bucket, name):
    for call in (
        lambda: bucket.put_text(name, "x"),
        lambda: bucket.get_text(name),
        lambda: bucket.exists(name),
        lambda: bucket.delete(name),
        lambda: bucket.wait_for(name, timeout=0),
    ):
        with pytest.raises(ValueError, match=r"A-Z a-z 0-9|reserved") as info:
            call()
        assert repr(name) in str(info.value)
    assert bucket.list() == []


def test_non_string_name_or_text_is_a_named_error(bucket):
    with pytest.raises(BucketNameError, match="str"):
        bucket.put_text(Path("queries/x.json"), "x")
    with pytest.raises(MalformedMessageError, match="str"):
        bucket.put_text("queries/x.json", b"bytes")
    assert bucket.list() == []


def test_lone_surrogate_text_is_a_named_error_and_writes_nothing(bucket):
    with pytest.raises(MalformedMessageError, match="UTF-8"):
        bucket.put_text("queries/x.json", "ok \ud800 not")
    with pytest.raises(MalformedMessageError, match="UTF-8"):
        bucket.create_exclusive("claims/x", "\udfff")
    assert bucket.list() == []


@pytest.mark.parametrize("name", ["queries/\ud800.json", "\udc80", "queries/a\x00.json", 17, None])
def test_surrogate_and_odd_names_are_bucket_name_errors(bucket, name):
    with pytest.raises(BucketNameError):
        bucket.put_text(name, "x")
    with pytest.raises(BucketNameError):
        bucket.exists(name)


def test_surrogate_url_is_a_transport_error():
    with pytest.raises(TransportError, match="cannot open bucket"):
        Bucket("/tmp/bad\udc80bucket")


@pytest.mark.parametrize("prefix", ["/queries", "../", "queries/../", "a b", "q//"])
def test_invalid_list_prefix(bucket, prefix):
    with pytest.raises(ValueError, match="prefix"):
        bucket.list(prefix)


def test_query_and_reply_names():
    assert query_name("3f2a-01_x.v2") == "queries/3f2a-01_x.v2.json"
    assert reply_name("3f2a") == "replies/3f2a.json"
    for bad in ["", "a/b", "..", "a b", "x.tmp-1"]:
        with pytest.raises(ValueError, match="query id"):
            query_name(bad)
        with pytest.raises(ValueError, match="query id"):
            reply_name(bad)


# ------------------------------------------------------------- local folder
def test_folder_is_created_and_pathlike_accepted(tmp_path):
    target = tmp_path / "deep" / "box"
    box = Bucket(target)
    assert target.is_dir()
    assert box.url == str(target)
    assert repr(box) == f"Bucket({str(target)!r})"


def test_relative_folder_url_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    box = Bucket("rel")
    assert box.url == str(tmp_path / "rel")
    box.put_text("queries/a.json", "a")
    assert (tmp_path / "rel" / "queries" / "a.json").read_text() == "a"


def test_list_hides_temporary_and_foreign_files(tmp_path):
    box = Bucket(tmp_path)
    box.put_text("queries/a.json", "a")
    (tmp_path / "queries" / "a.json.tmp-xyz123").write_text("half")
    (tmp_path / "queries" / "notes~").write_text("editor backup")
    (tmp_path / "empty-dir").mkdir()
    assert box.list() == ["queries/a.json"]


# ------------------------------------------------------------------ atomicity
def test_failed_rename_leaves_nothing_behind(tmp_path, monkeypatch):
    box = Bucket(tmp_path)
    box.put_text("replies/r.json", "old complete reply")

    def broken_replace(src, dst, **kwargs):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(transport.os, "replace", broken_replace)
    with pytest.raises(TransportError, match="simulated crash"):
        box.put_text("queries/q.json", "new")
    with pytest.raises(TransportError):
        box.put_text("replies/r.json", "new reply")
    monkeypatch.undo()

    assert not (tmp_path / "queries" / "q.json").exists()
    assert not box.exists("queries/q.json")
    assert box.get_text("replies/r.json") == "old complete reply"  # old version intact
    assert files_under(tmp_path) == ["replies/r.json"]  # no temp file left


def test_write_failing_midway_leaves_nothing_behind(tmp_path, monkeypatch):
    box = Bucket(tmp_path)
    box.put_text("replies/r.json", "A" * 1000)
    real_write = os.write

    def half_writer(fd, data):
        """Writes half of the data, then fails."""
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError("simulated disk full")

    monkeypatch.setattr(safe_folder.os, "write", half_writer)
    with pytest.raises(TransportError, match="disk full"):
        box.put_text("replies/r.json", "B" * 1000)
    with pytest.raises(TransportError, match="disk full"):
        box.put_text("queries/new.json", "B" * 1000)
    monkeypatch.undo()

    assert box.get_text("replies/r.json") == "A" * 1000
    assert not box.exists("queries/new.json")
    assert files_under(tmp_path) == ["replies/r.json"]


def test_interrupted_write_removes_temp_file_and_propagates(tmp_path, monkeypatch):
    box = Bucket(tmp_path)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(transport.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        box.put_text("queries/q.json", "x")
    monkeypatch.undo()
    assert files_under(tmp_path) == []


def test_reader_never_sees_partial_message(bucket):
    """A reader polling during repeated overwrites sees only complete texts."""
    size = 256 * 1024
    versions = [("A" * size) + "|end-A", ("B" * size) + "|end-B"]
    name = "replies/big.json"
    bucket.put_text(name, versions[0])
    done = threading.Event()
    errors: list[BaseException] = []

    def writer():
        try:
            for i in range(1, 25):
                bucket.put_text(name, versions[i % 2])
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen = set()
    reads = 0
    try:
        while not done.is_set() or reads < 5:
            text = bucket.get_text(name)  # must never raise "missing" either
            assert text in versions, f"partial read of {len(text)} chars"
            seen.add(text[-1])
            reads += 1
    finally:
        thread.join()
    assert not errors, errors
    assert reads >= 5
    assert bucket.get_text(name) == versions[24 % 2]


# ------------------------------------------------------------------------ S3
def test_s3_write_is_a_single_put(s3_server, monkeypatch):
    box = Bucket(f"{s3_server['url']}/single-put", **s3_server["storage_options"])
    calls = []
    real_pipe_file = box.fs.pipe_file

    def spy_pipe_file(path, data, **kwargs):
        calls.append(path)
        return real_pipe_file(path, data, **kwargs)

    def no_open(*args, **kwargs):
        raise AssertionError("S3 writes must not stream through open()")

    monkeypatch.setattr(box.fs, "pipe_file", spy_pipe_file)
    monkeypatch.setattr(box.fs, "open", no_open)
    monkeypatch.setattr(box.fs, "mv", no_open)
    box.put_text("queries/q.json", "payload")
    assert calls == [f"{box._root}/queries/q.json"]
    assert box.get_text("queries/q.json") == "payload"
    assert box.list() == ["queries/q.json"]  # no temp object either


def test_s3_failed_put_raises_transport_error(s3_server, monkeypatch):
    box = Bucket(f"{s3_server['url']}/failed-put", **s3_server["storage_options"])

    def failing_pipe_file(path, data, **kwargs):
        raise ConnectionError("simulated network failure")

    monkeypatch.setattr(box.fs, "pipe_file", failing_pipe_file)
    with pytest.raises(TransportError, match="simulated network failure"):
        box.put_text("queries/q.json", "payload")
    monkeypatch.undo()
    assert not box.exists("queries/q.json")
    assert box.list() == []


def test_s3_missing_bucket_is_a_transport_error(s3_server):
    box = Bucket("s3://no-such-bucket-encmed/x", **s3_server["storage_options"])
    with pytest.raises(TransportError):
        box.put_text("queries/q.json", "x")
    with pytest.raises(TransportError, match="no message"):
        box.get_text("queries/q.json")


def test_s3_endpoint_is_loopback(s3_server):
    endpoint = s3_server["storage_options"]["client_kwargs"]["endpoint_url"]
    assert endpoint.startswith("http://127.0.0.1:")
    assert s3_server["url"].startswith("s3://encmed-test/run-")


# ----------------------------------------------- other fsspec filesystems
@pytest.fixture
def memory_bucket():
    url = f"memory://encmed-{uuid.uuid4().hex}"
    box = Bucket(url)
    yield box
    if box.fs.exists(box._root):
        box.fs.rm(box._root, recursive=True)


def test_memory_round_trip_via_temp_and_move(memory_bucket):
    written = memory_bucket.put_text("queries/q.json", "hello ✓")
    assert written.endswith("/queries/q.json")
    assert written.startswith("memory://")
    assert memory_bucket.get_text("queries/q.json") == "hello ✓"
    memory_bucket.put_text("queries/q.json", "again")
    assert memory_bucket.get_text("queries/q.json") == "again"
    assert memory_bucket.list() == ["queries/q.json"]
    assert memory_bucket.wait_for("queries/q.json", timeout=0) == "again"


def test_memory_failed_move_removes_temp(memory_bucket, monkeypatch):
    def broken_mv(src, dst, **kwargs):
        raise OSError("simulated failure while moving")

    monkeypatch.setattr(memory_bucket.fs, "mv", broken_mv)
    with pytest.raises(TransportError, match="moving"):
        memory_bucket.put_text("queries/q.json", "x")
    monkeypatch.undo()
    assert not memory_bucket.exists("queries/q.json")
    assert memory_bucket.fs.find(memory_bucket._root) == []


# ------------------------------------------------------- hostile folders (issue 12)
def test_symlinked_replies_folder_is_refused_and_nothing_written_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    box = Bucket(tmp_path / "bucket")
    os.symlink(outside, tmp_path / "bucket" / "replies")
    for call in (lambda: box.put_text("replies/r.json", "x"),
                 lambda: box.create_exclusive("replies/r.json", "x"),
                 lambda: box.get_text("replies/r.json"),
                 lambda: box.exists("replies/r.json")):
        with pytest.raises(UnsafePathError, match="symbolic link"):
            call()
    assert list(outside.iterdir()) == []


def test_symlinked_reply_file_is_refused_not_followed(tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    box = Bucket(tmp_path / "bucket")
    (tmp_path / "bucket" / "replies").mkdir()
    os.symlink(target, tmp_path / "bucket" / "replies" / "r.json")
    with pytest.raises(UnsafePathError, match="'replies/r.json'"):
        box.exists("replies/r.json")
    with pytest.raises(UnsafePathError):
        box.get_text("replies/r.json")
    with pytest.raises(UnsafePathError):
        box.put_text("replies/r.json", "overwrite?")
    assert target.read_text() == "precious"
    assert box.list() == []  # a link is never listed as a message ...
    assert box.scan() == ["replies/r.json"]  # ... but a server can see it by name
    box.delete("replies/r.json")  # removes the link itself
    assert target.read_text() == "precious"


def test_scan_shows_nested_and_invalid_keys_that_list_hides(tmp_path):
    box = Bucket(tmp_path)
    box.put_text("queries/sub/x.json", "nested")
    box.put_text("queries/a.json", "a")
    (tmp_path / "queries" / "bad name!.json").write_text("x")
    (tmp_path / "queries" / "a.json.tmp-0123").write_text("half")
    assert box.list("queries/") == ["queries/a.json", "queries/sub/x.json"]
    assert box.scan("queries/") == ["queries/a.json", "queries/bad name!.json", "queries/sub/x.json"]


def test_create_exclusive_has_one_winner(bucket, bucket_spec):
    wins = []

    def racer(k):
        box = other_client(bucket_spec)
        wins.append(box.create_exclusive("claims/q1", f"racer {k}"))

    threads = [threading.Thread(target=racer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(wins) == [False] * 5 + [True]
    assert bucket.get_text("claims/q1").startswith("racer ")
    assert bucket.create_exclusive("claims/q1", "late") is False
    assert bucket.list() == ["claims/q1"]  # no temporary file left


def test_stale_temporaries_are_removed_fresh_ones_kept(tmp_path):
    box = Bucket(tmp_path)
    box.put_text("replies/r.json", "done")
    old = tmp_path / "replies" / "x.json.tmp-dead"
    fresh = tmp_path / "replies" / "y.json.tmp-live"
    old.write_text("killed writer")
    fresh.write_text("write in progress")
    an_hour_ago = time.time() - 3700
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert box.remove_stale_temporaries(older_than=3600) == ["replies/x.json.tmp-dead"]
    assert not old.exists() and fresh.exists()
    assert files_under(tmp_path) == ["replies/r.json", "replies/y.json.tmp-live"]
    with pytest.raises(BucketNameError, match="older_than"):
        box.remove_stale_temporaries(older_than=-1)


def test_memory_stale_temporaries(memory_bucket):
    memory_bucket.fs.pipe_file(memory_bucket._root + "/replies/z.json.tmp-abc", b"x")
    assert memory_bucket.remove_stale_temporaries(older_than=3600) == []
    assert memory_bucket.remove_stale_temporaries(older_than=0) == ["replies/z.json.tmp-abc"]


def test_timeout_is_a_named_timeout_error(tmp_path):
    with pytest.raises(ReplyTimeoutError, match="timed out") as info:
        Bucket(tmp_path).wait_for("replies/none.json", timeout=0)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, TransportError)


def test_fallback_without_dir_fd_refuses_links_too(tmp_path, monkeypatch):
    """Where os.open has no dir_fd (Windows), the same rules hold by lstat per component."""
    monkeypatch.setattr(safe_folder, "_DIR_FD", False)
    outside = tmp_path / "outside"
    outside.mkdir()
    box = Bucket(tmp_path / "bucket")
    box.put_text("queries/q.json", "fine")
    assert box.get_text("queries/q.json") == "fine" and box.exists("queries/q.json")
    assert box.create_exclusive("claims/q.c1", "mine") and not box.create_exclusive("claims/q.c1", "x")
    os.symlink(outside, tmp_path / "bucket" / "replies")
    with pytest.raises(UnsafePathError):
        box.put_text("replies/r.json", "x")
    os.symlink(tmp_path / "victim", tmp_path / "bucket" / "queries" / "l.json")
    with pytest.raises(UnsafePathError):
        box.get_text("queries/l.json")
    box.delete("queries/q.json")
    assert list(outside.iterdir()) == [] and box.list() == ["claims/q.c1"]


def test_write_into_a_removed_bucket_folder_is_a_transport_error(tmp_path):
    box = Bucket(tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    with pytest.raises(TransportError, match="could not write"):
        box.put_text("queries/q.json", "x")
    with pytest.raises(TransportError, match="could not write"):
        box.create_exclusive("claims/q.c1", "x")
