"""The model server as a service: real server and client processes on a folder and on moto S3.

Every wait is bounded; a process that outlives its test is killed by ``ServerProcess.stop``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
import warnings

import pytest

import encmed_lib as em
from encmed_lib.client import check_reply_text, load_record, predict
from encmed_lib.errors import DomainError, ServerErrorReply, UnsafePathError
from encmed_lib.parties.service import ModelService, handlers_for
from encmed_lib.serve import ServerProcess, measure_throughput, open_bucket
from encmed_lib.transport import Bucket, query_name, reply_name
from encmed_lib.tree import PortableTree

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env() -> dict:
    """This process's environment now (with the S3 fixture's fake credentials), this repo first."""
    path = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A depth-3 tree saved as JSON, its records as JSON files, and the plaintext labels."""
    X, y = em.load_heart()
    tree = em.train_tree(X, y, max_depth=3, random_state=0)
    folder = tmp_path_factory.mktemp("model")
    path = folder / "tree.json"
    PortableTree.from_sklearn(tree).save(path)
    rows = X.iloc[:6]
    records = []
    for k, (_, row) in enumerate(rows.iterrows()):
        record = folder / f"patient{k}.json"
        record.write_text(json.dumps({name: float(v) for name, v in row.items()}))
        records.append(record)
    return {"path": path, "tree": tree, "X": rows, "records": records,
            "labels": [int(v) for v in tree.predict(rows)]}


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return em.Client(key_bits=1024)


@pytest.fixture(scope="module")
def folder_server(model, tmp_path_factory):
    """One server process on a folder bucket, shared by the tests of this module."""
    bucket = tmp_path_factory.mktemp("shared") / "bucket"
    proc = ServerProcess(model["path"], bucket, "--poll", "0.05", env=child_env())
    proc.wait_ready(timeout=60)
    yield {"proc": proc, "url": str(bucket)}
    assert proc.stop(timeout=20) == 0


def client_cmd(url, record, *extra):
    return [sys.executable, "-m", "encmed_lib.client", "predict", "--bucket", str(url),
            "--record", str(record), "--key-bits", "1024", "--allow-weak-key", *extra]


def run_clients(cmds, timeout=90):
    """Start every command at once; their (returncode, stdout, stderr)."""
    procs = [subprocess.Popen(c, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            stdout, stderr = p.communicate(timeout=10)
        out.append((p.returncode, stdout.strip(), stderr.strip()))
    return out


def post_all(bucket, client, X):
    queries = [client.encrypt(row) for _, row in X.iterrows()]
    for q in queries:
        bucket.put_text(query_name(q.query_id), q.to_json())
    return queries


# ---------------------------------------------------------- real processes
def test_several_clients_at_once_on_a_folder(folder_server, model, tmp_path):
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"age": 60.0}))  # lacks the features the tree compares
    *results, (code, out, err) = run_clients([client_cmd(folder_server["url"], r, "--timeout", "60")
                                              for r in [*model["records"][:3], partial]])
    assert [r[0] for r in results] == [0, 0, 0], results
    assert [int(r[1]) for r in results] == model["labels"][:3]
    answered = folder_server["proc"].answered()
    assert len(answered) >= 4 and len(set(answered)) == len(answered)
    # The client whose record the server refused exits with status 3 and says why.
    assert code == 3 and out == ""
    assert "ServerErrorReply" in err and "MissingFeatureError" in err


def test_bad_queries_among_good_ones_are_set_aside(folder_server, model, client, tmp_path):
    url = folder_server["url"]
    bucket = Bucket(url)
    root = bucket.url
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    first = post_all(bucket, client, model["X"].iloc[:2])
    bad_hex = "00112233445566778899aabbccddeeff"
    linked_reply = "ffeeddccbbaa99887766554433221100"
    bucket.put_text(query_name(bad_hex), '{"type": "query", "protocol": "encmed-tree"')  # truncated
    bucket.put_text("queries/sub/x.json", "{}")
    bucket.put_text("queries/not-hex.json", "{}")
    with open(os.path.join(root, "queries", "0badf00d.json"), "wb") as fh:
        fh.write(b'{"type": "\xff\xfe"}')  # not UTF-8
    os.makedirs(os.path.join(root, "replies"), exist_ok=True)
    os.symlink(victim, os.path.join(root, "replies", f"{linked_reply}.json"))
    bucket.put_text(query_name(linked_reply), first[0].to_json().replace(first[0].query_id, linked_reply))
    os.symlink(victim, os.path.join(root, "queries", "abcdef0123456789.json"))
    with open(os.fsencode(os.path.join(root, "queries")) + b"/bad\xff.json", "w") as fh:
        fh.write("{}")  # not a UTF-8 file name: Python lists it with a lone surrogate
    later = post_all(bucket, client, model["X"].iloc[2:4])

    labels = [client.decrypt(bucket.wait_for(reply_name(q.query_id), timeout=60))
              for q in first + later]
    assert labels == model["labels"][:4]  # the good queries before and after are answered
    with pytest.raises(ServerErrorReply, match="MalformedMessageError") as info:
        check_reply_text(bucket.wait_for(reply_name(bad_hex), timeout=30))
    assert info.value.query_id == bad_hex
    with pytest.raises(ServerErrorReply):
        check_reply_text(bucket.wait_for(reply_name("0badf00d"), timeout=30))
    deadline = time.monotonic() + 30
    while len(bucket.list("quarantine/")) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    reasons = {json.loads(bucket.get_text(n))["name"]: json.loads(bucket.get_text(n))["reason"]
               for n in bucket.list("quarantine/")}
    assert {"queries/sub/x.json", "queries/not-hex.json", "queries/abcdef0123456789.json",
            query_name(linked_reply), "queries/bad\udcff.json"} <= set(reasons)
    assert "symbolic link" in reasons[query_name(linked_reply)]
    assert victim.read_text() == "precious" and list(outside.iterdir()) == []
    assert folder_server["proc"].proc.poll() is None  # still serving


def test_client_command_other_exit_codes(model, tmp_path, capsys):
    """The same ``main`` as ``python -m encmed_lib.client``, in-process (no server needed)."""
    from encmed_lib.client import main

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"age": "sixty"}))
    empty = tmp_path / "nobody-serves-here"
    args = ["predict", "--bucket", str(empty), "--key-bits", "1024"]
    assert main([*args, "--record", str(bad), "--allow-weak-key"]) == 2
    assert "'age'" in capsys.readouterr().err
    assert main([*args, "--record", str(model["records"][0])]) == 2
    assert "--allow-weak-key" in capsys.readouterr().err
    assert main([*args, "--record", str(model["records"][0]), "--allow-weak-key", "--timeout", "0.2"]) == 4
    assert "ReplyTimeoutError" in capsys.readouterr().err


def test_two_servers_answer_each_query_exactly_once_and_stop_on_sigterm(model, client, tmp_path):
    url = tmp_path / "bucket"
    servers = [ServerProcess(model["path"], url, "--poll", "0.02", env=child_env()) for _ in range(2)]
    try:
        for s in servers:
            s.wait_ready(timeout=60)
        bucket = Bucket(url)
        queries = post_all(bucket, client, model["X"].iloc[[k % 6 for k in range(16)]])
        labels = [client.decrypt(bucket.wait_for(reply_name(q.query_id), timeout=60)) for q in queries]
    finally:
        codes = [s.stop(timeout=20) for s in servers]
    assert codes == [0, 0]
    assert labels == [model["labels"][k % 6] for k in range(16)]
    answered = servers[0].answered() + servers[1].answered()
    assert sorted(answered) == sorted(query_name(q.query_id) for q in queries)  # each exactly once
    assert all(any("received SIGTERM" in line for line in s.lines) for s in servers)
    assert bucket.list("claims/") == []


def test_sigint_during_a_batch_finishes_the_message_in_hand(model, client, tmp_path):
    url = tmp_path / "bucket"
    proc = ServerProcess(model["path"], url, "--poll", "0.02", env=child_env())
    proc.wait_ready(timeout=60)
    bucket = Bucket(url)
    post_all(bucket, client, model["X"].iloc[[k % 6 for k in range(30)]])
    deadline = time.monotonic() + 60
    while not proc.answered() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.proc.send_signal(2)  # SIGINT, as Ctrl-C
    assert proc.proc.wait(timeout=30) == 0
    proc.stop()
    replies = bucket.list("replies/")
    assert 1 <= len(replies) == len(proc.answered())
    for name in replies:  # every reply written is whole
        assert client.decrypt(bucket.get_text(name)) in (0, 1)
    assert bucket.list("claims/") == []


def test_s3_two_servers_and_several_clients(s3_server, model):
    url = f"{s3_server['url']}/svc-{uuid.uuid4().hex}"
    endpoint = s3_server["endpoint_url"]
    # Polling S3 costs four LIST requests; moto runs in this process, so keep the rate modest.
    servers = [ServerProcess(model["path"], url, "--poll", "0.3", "--endpoint-url", endpoint,
                             env=child_env())
               for _ in range(2)]
    try:
        for s in servers:
            s.wait_ready(timeout=60)
        results = run_clients([client_cmd(url, r, "--timeout", "60", "--poll", "0.2",
                                          "--endpoint-url", endpoint)
                               for r in model["records"][:2]])
    finally:
        codes = [s.stop(timeout=20) for s in servers]
    assert [r[0] for r in results] == [0, 0], results
    assert [int(r[1]) for r in results] == model["labels"][:2]
    answered = servers[0].answered() + servers[1].answered()
    assert len(answered) == 2 and len(set(answered)) == 2
    assert codes == [0, 0]
    assert open_bucket(url, endpoint).list("claims/") == []


# ---------------------------------------------------------------- in-process
def test_claims_make_a_message_exactly_once(model, client, tmp_path):
    bucket = Bucket(tmp_path)
    server = em.TreeServer(PortableTree.load(model["path"]))
    q1, q2 = post_all(bucket, client, model["X"].iloc[:2])
    key = q1.query_id
    bucket.put_text(f"claims/{key}.c1", "{}")  # another (live) server holds q1
    service = ModelService(server, bucket, claim_ttl=3600)
    assert [o.name for o in service.poll_once()] == [query_name(q2.query_id)]
    assert service.poll_once() == []
    assert not bucket.exists(reply_name(key))
    takeover = ModelService(server, bucket, claim_ttl=0.0)  # that server is dead: take over once
    assert takeover.poll_once() == []  # first sight of the claim starts its clock
    time.sleep(0.01)
    assert [o.outcome for o in takeover.poll_once()] == ["answered"]
    assert client.decrypt(bucket.get_text(reply_name(key))) == model["labels"][0]
    assert bucket.list("claims/") == [f"claims/{key}.c1"]  # the dead server's claim stays, c2 released


def test_tree_server_serve_is_one_pass(model, client, tmp_path):
    bucket = Bucket(tmp_path)
    server = em.TreeServer(PortableTree.load(model["path"]))
    queries = post_all(bucket, client, model["X"].iloc[:3])
    assert sorted(server.serve(bucket)) == sorted(q.query_id for q in queries)
    assert server.serve(bucket) == []
    assert [client.decrypt(bucket.get_text(reply_name(q.query_id))) for q in queries] == model["labels"][:3]


class DictBucket:
    """A bucket in a dict with only the methods the protocol layer calls: no transport involved."""

    def __init__(self):
        self.texts: dict[str, str] = {}

    def put_text(self, name, text):
        self.texts[name] = text
        return name

    def create_exclusive(self, name, text):
        return self.texts.setdefault(name, text) is text

    def get_text(self, name, max_bytes=None):
        return self.texts[name]

    def exists(self, name):
        return name in self.texts

    def list(self, prefix=""):
        return sorted(n for n in self.texts if n.startswith(prefix))

    scan = list

    def delete(self, name, missing_ok=False):
        if name in self.texts or not missing_ok:
            del self.texts[name]

    def remove_stale_temporaries(self, older_than=3600.0):
        return []

    def wait_for(self, name, timeout=30.0):
        return self.texts[name]


def test_post_serve_collect_need_only_the_bucket_methods(model, client):
    # Client.post/collect and TreeServer.serve name the messages themselves and call the bucket's methods.
    bucket = DictBucket()
    server = em.TreeServer(PortableTree.load(model["path"]))
    queries = [client.post(bucket, row) for _, row in model["X"].iloc[:2].iterrows()]
    assert sorted(bucket.texts) == sorted(query_name(q.query_id) for q in queries)
    assert sorted(server.serve(bucket)) == sorted(q.query_id for q in queries)
    assert not bucket.list("claims/")  # each claim released once its reply was written
    assert [client.collect(bucket, q.query_id) for q in queries] == model["labels"][:2]


def test_handlers_are_a_table_by_message_type(model, client, tmp_path):
    bucket = Bucket(tmp_path)
    basic = em.TreeServer(PortableTree.load(model["path"]))
    assert sorted(handlers_for(basic)) == ["query"]
    label_only = em.TreeServer(PortableTree.load(model["path"]), mode="label-only")
    assert sorted(handlers_for(label_only)) == ["lo-answers", "lo-query"]
    service = ModelService(basic, bucket, handlers={"query": basic.evaluate, "ping": lambda text: None})
    bucket.put_text(query_name("1234abcd"), json.dumps({"type": "lo-query", "query_id": "1234abcd"}))
    [outcome] = service.poll_once()
    assert outcome.outcome == "error-reply"
    with pytest.raises(ServerErrorReply, match="not 'lo-query'"):
        check_reply_text(bucket.get_text(reply_name("1234abcd")))


def test_label_only_rounds_through_the_service(model, client, tmp_path):
    import threading

    bucket = Bucket(tmp_path)
    server = em.TreeServer(PortableTree.load(model["path"]), mode="label-only")
    service = ModelService(server, bucket)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop, 0.01), daemon=True)
    thread.start()
    try:
        label = predict(bucket, client, model["X"].iloc[0], mode="label-only", timeout=60)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert label == model["labels"][0]
    assert not thread.is_alive()


def test_record_file_is_checked(tmp_path):
    for text, match in [("[1, 2]", "JSON object"), ('{"age": NaN}', "finite"), ("\xff", "UTF-8|JSON"),
                        ('{"age": true}', "finite"), ("{}", "non-empty")]:
        path = tmp_path / "r.json"
        path.write_bytes(text.encode("latin-1"))
        with pytest.raises(DomainError, match=match):
            load_record(str(path))
    with pytest.raises(DomainError, match="cannot read"):
        load_record(str(tmp_path / "missing.json"))


def test_measure_throughput_one_and_two_servers():
    df = measure_throughput(n_queries=3, server_counts=(1, 2), key_bits=1024, timeout=90)
    assert list(df["servers"]) == [1, 2]
    assert df["each_answered_once"].all() and df["agrees"].all()
    assert (df["queries_per_second"] > 0).all()
    assert [sum(n) for n in df["answered_per_server"]] == [3, 3]


HOSTILE = {
    "deeply-nested": "[" * 200_000,
    "not-an-object": "[1, 2, 3]",
    "no-type": '{"protocol": "encmed-tree"}',
    "unknown-type": '{"type": "reply"}',
    "huge-integer": '{"type": "query", "n": ' + "9" * 5000 + "}",
    "lone-surrogate": '{"type": "query", "protocol": "encmed-tree", "version": 1, "query_id": "\\ud800",'
                      ' "public_key": {"n": "\\ud800"}, "features": ["\\udfff"], "ciphertexts": ["\\ud800"]}',
    "empty": "",
}


def test_hostile_contents_get_error_replies_and_the_loop_goes_on(model, client, tmp_path):
    bucket = Bucket(tmp_path)
    service = ModelService(em.TreeServer(PortableTree.load(model["path"])), bucket)
    ids = {kind: f"{k:08x}" for k, kind in enumerate(HOSTILE)}
    for kind, text in HOSTILE.items():
        bucket.put_text(query_name(ids[kind]), text)
    [good] = post_all(bucket, client, model["X"].iloc[:1])
    start = time.monotonic()
    outcomes = {o.name: o.outcome for o in service.poll_once()}
    assert time.monotonic() - start < 30
    assert outcomes.pop(query_name(good.query_id)) == "answered"
    assert outcomes == {query_name(i): "error-reply" for i in ids.values()}
    for kind, query_id in ids.items():
        with pytest.raises(ServerErrorReply) as info:
            check_reply_text(bucket.get_text(reply_name(query_id)))
        assert info.value.query_id == query_id, kind
    assert client.decrypt(bucket.get_text(reply_name(good.query_id))) == model["labels"][0]


def test_cleanup_removes_stale_temporaries_and_leftover_claims(model, tmp_path):
    bucket = Bucket(tmp_path)
    bucket.put_text("replies/0123abcd.json", "{}")
    bucket.put_text("claims/0123abcd.c1", "{}")  # its server died after replying
    bucket.put_text("claims/4567abcd.c1", "{}")  # in progress elsewhere: kept
    stale = tmp_path / "replies" / "x.json.tmp-dead"
    stale.write_text("half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    service = ModelService(em.TreeServer(PortableTree.load(model["path"])), bucket, stale_after=3600)
    service.poll_once()
    assert bucket.list("claims/") == ["claims/4567abcd.c1"]
    assert not stale.exists()


def test_a_query_posted_under_another_id_is_refused(model, client, tmp_path):
    bucket = Bucket(tmp_path)
    service = ModelService(em.TreeServer(PortableTree.load(model["path"])), bucket)
    query = client.encrypt(model["X"].iloc[0])
    bucket.put_text(query_name("feedface"), query.to_json())  # someone else's query, renamed
    [outcome] = service.poll_once()
    assert outcome.outcome == "error-reply"
    with pytest.raises(ServerErrorReply, match="not the id in its name"):
        check_reply_text(bucket.get_text(reply_name("feedface")))


def test_a_linked_queries_folder_is_refused_not_read(model, client, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    Bucket(elsewhere).put_text("queries/0123abcd.json", client.encrypt(model["X"].iloc[0]).to_json())
    bucket = Bucket(tmp_path / "bucket")
    os.symlink(elsewhere / "queries", tmp_path / "bucket" / "queries")
    service = ModelService(em.TreeServer(PortableTree.load(model["path"])), bucket)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        service.poll_once()
    assert bucket.scan("replies/") == [] and not (elsewhere / "replies").exists()


def test_serve_command_refuses_a_bad_model_or_poll(tmp_path, capsys):
    from encmed_lib.serve import main

    broken = tmp_path / "tree.json"
    broken.write_text('{"nodes": "not a tree"}')
    assert main(["--model", str(tmp_path / "missing.json"), "--bucket", str(tmp_path / "b")]) == 2
    assert "cannot start" in capsys.readouterr().err
    assert main(["--model", str(broken), "--bucket", str(tmp_path / "b")]) == 2
    assert "cannot start" in capsys.readouterr().err
    assert main(["--model", str(broken), "--bucket", str(tmp_path / "b"), "--poll", "0"]) == 2
    assert "--poll" in capsys.readouterr().err
