"""Label-only mode: exact labels, a view independent of the tree, every attack refused.

1024-bit keys and row samples keep this file fast (the plaintext mirror of the protocol checks
every row of every dataset; the encrypted protocol a sample); the benchmark runs 2048 bits.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer

import encmed_lib as em
from encmed_lib import attacks
from encmed_lib.crypto import dgk
from encmed_lib.data.paths import data_dir
from encmed_lib.data.schema import HEART
from encmed_lib.errors import (
    DomainError,
    InvalidKeyError,
    KeyTooSmallError,
    MalformedMessageError,
    ProtocolError,
)
from encmed_lib.protocol.label_only import (
    LabelOnlyServer,
    answer_comparisons,
    decrypt_label,
    encrypt_query,
    predict_label_only,
)
from encmed_lib.protocol.label_only.plain import comparison_values, plain_label


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = em.Client(key_bits=1024)
    c.dgk_keypair  # noqa: B018 (made once for the module)
    return c


@pytest.fixture(scope="module")
def heart():
    return em.load_heart()


@pytest.fixture(scope="module")
def tree4(heart):
    X, y = heart
    return em.train_tree(X, y, max_depth=4, random_state=0)


def exchange(client, server, record, *, cheat=None):
    """One exchange through JSON; ``cheat(answers) -> answers`` may rewrite round 3."""
    query = encrypt_query(client, record, server.schema)
    comparisons = server.evaluate(query.to_json())
    answers = answer_comparisons(client, comparisons.to_json())
    if cheat is not None:
        answers = cheat(answers)
    return decrypt_label(client, server.finish(answers.to_json()).to_json())


# ------------------------------------------------------------------ the public face
def test_mode_switch_returns_label_only_server(tree4):
    server = em.TreeServer(tree4, mode="label-only")
    assert isinstance(server, LabelOnlyServer) and server.mode == "label-only"
    assert type(em.TreeServer(tree4)) is em.TreeServer
    with pytest.raises(ValueError, match="mode must be one of"):
        em.TreeServer(tree4, mode="secret")


def test_public_sizes_are_the_node_and_leaf_counts(tree4):
    sizes = em.TreeServer(tree4, mode="label-only").public_sizes()
    assert sizes["comparisons"] == len(tree4.tree_.feature[tree4.tree_.feature >= 0])
    assert sizes["leaves"] == tree4.get_n_leaves() and sizes["width"] == HEART.bits == 10
    padded = em.TreeServer(tree4, mode="label-only", depth=5).public_sizes()
    assert (padded["comparisons"], padded["leaves"]) == (31, 32)


# ------------------------------------------------------------------ exact labels
@pytest.mark.parametrize("depth", [1, 3, 5, 8])
def test_plain_mirror_agrees_with_sklearn_on_every_heart_row(heart, depth):
    X, y = heart
    tree = em.train_tree(X, y, max_depth=depth, random_state=0)
    server = em.TreeServer(tree, mode="label-only")
    got = [plain_label(server, row, s=s) for (_, row), s in zip(X.iterrows(), [-1, 1] * len(X), strict=False)]
    assert got == list(tree.predict(X))


def test_plain_mirror_agrees_on_every_synthea_and_breast_cancer_row():
    Xs, ys, _ = em.load_synthea(data_dir() / "synthea_sample")
    keep = Xs.notna().all(axis=1).to_numpy()
    Xs, ys = Xs[keep], np.asarray(ys)[keep]
    bc = load_breast_cancer(as_frame=True)
    for X, y in ((Xs, ys), (bc.data, bc.target)):
        for depth in (3, 6):
            tree = em.train_tree(X, y, max_depth=depth, random_state=0)
            server = em.TreeServer(tree, mode="label-only")
            assert [plain_label(server, row) for _, row in X.iterrows()] == list(tree.predict(X))


def test_encrypted_agrees_on_row_samples_of_three_datasets(client, heart):
    X, y = heart
    Xs, ys, _ = em.load_synthea(data_dir() / "synthea_sample")
    keep = Xs.notna().all(axis=1).to_numpy()
    bc = load_breast_cancer(as_frame=True)
    for (X_, y_), rows in (((X, y), 12), ((Xs[keep], np.asarray(ys)[keep]), 4), ((bc.data, bc.target), 3)):
        tree = em.train_tree(X_, y_, max_depth=4, random_state=0)
        server = em.TreeServer(tree, mode="label-only")
        sample = X_.sample(rows, random_state=1)
        got = [predict_label_only(client, server, r) for _, r in sample.iterrows()]
        assert got == list(tree.predict(sample))


def edge_rows(tree, X):
    """Rows put exactly on every threshold's grid value and one grid step either side."""
    server = em.TreeServer(tree, mode="label-only")
    base = X.iloc[0]
    rows = []
    for f, code in zip(server.layout.features, server.layout.codes, strict=True):
        spec = HEART.feature(f)
        for k in (code - 1, code, code + 1):
            if 1 <= k <= spec.levels:
                row = base.copy()
                row[f] = spec.grid_value(k)
                rows.append(row)
    return pd.DataFrame(rows)


def test_rows_on_and_beside_every_threshold_agree(client, heart, tree4):
    X, _ = heart
    rows = edge_rows(tree4, X)
    server = em.TreeServer(tree4, mode="label-only")
    expected = list(tree4.predict(rows))
    assert [plain_label(server, r) for _, r in rows.iterrows()] == expected
    some = rows.iloc[::5]
    assert [predict_label_only(client, server, r) for _, r in some.iterrows()] == list(tree4.predict(some))


def test_off_grid_values_are_rounded_to_the_nearest_grid_value(heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    row = X.iloc[3].copy()
    row["oldpeak"], rounded = 1.04, row.copy()
    rounded["oldpeak"] = 1.0
    assert HEART.feature("oldpeak").encode(1.04) == HEART.feature("oldpeak").encode(1.0)
    assert plain_label(server, row) == tree4.predict(pd.DataFrame([rounded]))[0]
    row["chol"] = 5000.0
    with pytest.raises(DomainError, match="chol"):
        plain_label(server, row)


def test_padded_and_single_leaf_trees_work(client, heart, tree4):
    X, y = heart
    padded = em.TreeServer(tree4, mode="label-only", depth=5)
    rows = X.iloc[:4]
    assert [predict_label_only(client, padded, r) for _, r in rows.iterrows()] == list(tree4.predict(rows))
    stump = em.train_tree(X, np.zeros(len(X), dtype=int), max_depth=2)
    server = em.TreeServer(stump, mode="label-only")
    assert server.public_sizes()["comparisons"] == 1
    assert predict_label_only(client, server, X.iloc[0]) == 0
    with pytest.raises(DomainError, match="public depth"):
        em.TreeServer(tree4, mode="label-only", depth=30)


def test_client_decrypt_recognises_a_label_reply_in_any_json_form(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    query = client.encrypt_label_only(X.iloc[5], server.schema)
    reply = server.finish(client.answer(server.evaluate(query)))
    import json

    text = json.dumps(reply.to_dict(), sort_keys=True, separators=(",", ":"))
    assert client.decrypt(text) == tree4.predict(X.iloc[[5]])[0]


# ------------------------------------------------------------------ attacks, each refused
def test_the_comparison_formula_has_one_zero_exactly_when_it_should():
    for x in range(16):
        for y in range(16):
            down, up = comparison_values(x, y, -1, 4), comparison_values(x, y, 1, 4)
            assert down.count(0) == int(x > y) and up.count(0) == int(x < y)


def test_view_has_no_magnitudes_to_sieve(client, heart, tree4):
    """The one-query sieve of basic mode needs v = r*d + s; here every value is 0 or a uniform class."""
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    edge = X.iloc[0].copy()
    for f in HEART.names:  # the domain edge: every feature at its public minimum
        edge[f] = float(HEART.feature(f).lo)
    got = attacks.sieve_material(client, server, edge)
    sizes = server.public_sizes()
    assert got["values received"] == sizes["comparisons"] * sizes["width"]
    assert got["groups with more than one zero"] == 0 and got["zero values"] <= sizes["comparisons"]
    assert got["distinct non-zero classes (low 32 bits)"] == got["non-zero values"]
    assert got["label"] == tree4.predict(pd.DataFrame([edge]))[0]
    view = []
    predict_label_only(client, server, edge, view=view)
    low_bits = [c for g in view if isinstance(g, dict) for c in g["classes"] if c != 1]
    assert stats.kstest(np.array(low_bits) / 2**32, "uniform").pvalue > 1e-4


def test_non_bit_inputs_and_answers_are_refused_and_the_session_survives(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    df = attacks.non_bit_messages(client, server, X.iloc[2], values=(2, -1, 1 << 40))
    cheats = df[df["where"] != "honest answers afterwards"]
    assert len(cheats) == 6 and (cheats["outcome"] == "refused: InvalidProofError").all()
    assert cheats["labels learned"].sum() == 0
    assert df["outcome"].iloc[-1] == f"label {tree4.predict(X.iloc[[2]])[0]}"
    assert server._pending == {}


def test_replayed_truncated_and_misbound_messages_are_refused(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    df = attacks.replayed_messages(client, server, X.iloc[1]).set_index("message")["outcome"]
    assert df["the same query id again"] == "refused: QueryMismatchError"
    assert df["truncated answers"] == "refused: MalformedMessageError"
    assert df["answers proven for another query"] == "refused: InvalidProofError"
    assert df["the honest answers"] == f"label {tree4.predict(X.iloc[[1]])[0]}"
    assert df["the same answers again"] == "refused: QueryMismatchError"


def test_flipping_answers_still_reveals_exactly_one_label(client, heart, tree4):
    """A cheating client can flip its (anonymous) shares: it gets one leaf's label per query, no more."""
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    df = attacks.flipped_answers(client, server, [X.iloc[i] for i in range(4)])
    assert (df["leaves carrying a class"] == 1).all() and set(df["label"]) <= set(tree4.classes_)
    assert (df["flipped"] == 8).all()


def test_out_of_domain_codes_are_just_other_inputs(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    top = X.iloc[0].copy()
    for f in HEART.names:
        top[f] = float(HEART.feature(f).hi)
    got = attacks.out_of_domain_codes(client, server, X.iloc[0])
    assert got == {"label": tree4.predict(pd.DataFrame([top]))[0], "leaves carrying a class": 1}


def test_malformed_keys_are_refused_before_any_exponentiation(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    df = attacks.malformed_dgk_keys(client, server, X.iloc[0]).set_index("key")
    assert (df["exponentiations before refusal"] == 0).all() and len(df) == 8
    assert df.loc["n of 511 bits", "outcome"] == "refused: KeyTooSmallError"
    assert (df.drop(index="n of 511 bits")["outcome"] == "refused: InvalidKeyError").all()
    assert server._pending == {}
    with pytest.raises(KeyTooSmallError):  # a named error from the parser, also for a dict message
        server.evaluate(dict(encrypt_query(client, X.iloc[0], server.schema).to_dict(),
                             public_key={"n": "1", "g": "1", "u": "1"}))
    with pytest.raises(InvalidKeyError, match="exactly the fields"):
        server.evaluate(dict(encrypt_query(client, X.iloc[0], server.schema).to_dict(),
                             public_key={"n": "1"}))


def test_a_query_on_another_schema_or_a_basic_query_is_refused(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    with pytest.raises(MalformedMessageError, match="lo-query"):
        server.evaluate(client.encrypt(X.iloc[0]))
    query = encrypt_query(client, X.iloc[0], server.schema)
    query.schema_id = "synthea-v1"
    with pytest.raises(MalformedMessageError, match="heart-v1"):
        server.evaluate(query.to_json())


def test_a_reply_with_zero_or_two_labels_is_a_protocol_error(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    query = encrypt_query(client, X.iloc[0], server.schema)
    reply = server.finish(answer_comparisons(client, server.evaluate(query)))
    pk = client.dgk_keypair.public_key
    reply.leaves = [int(pk.encrypt(0)), int(pk.encrypt(1))] + reply.leaves
    with pytest.raises(ProtocolError, match="exactly one"):
        decrypt_label(client, reply)


# ------------------------------------------------------------------ the client's view
def test_views_for_two_trees_of_the_same_size_are_indistinguishable(client, heart):
    X, y = heart
    a = em.TreeServer(em.train_tree(X, y, max_depth=2, random_state=0), mode="label-only", depth=2)
    b = em.TreeServer(em.train_tree(X[["chol", "age", "thalach"]], y, max_depth=2, random_state=0),
                      mode="label-only", depth=2)
    records = [X.iloc[i] for i in range(40)]
    df = attacks.view_distinguisher(client, a, b, records, records)
    assert len(df) == 4 and (df["p_value"] > 1e-4).all(), df
    with pytest.raises(ValueError, match="same public sizes"):
        deeper = em.TreeServer(a.tree, mode="label-only", depth=3)
        attacks.view_distinguisher(client, a, deeper, records, records)


def test_the_view_distinguisher_sees_a_broken_server(client, heart, monkeypatch):
    """The statistics are not blind: a server that forgets to blind one tree's values is told apart."""
    X, y = heart
    tree = em.train_tree(X, y, max_depth=2, random_state=0)
    a = em.TreeServer(tree, mode="label-only", depth=2)
    records = [X.iloc[i] for i in range(15)]
    stats_a = attacks.label_only._view_statistics(client, a, records)
    in_round_2 = []  # the comparisons go unblinded (r = 1); the leaves stay blinded
    blind, evaluate = dgk.DGKPublicKey.blind, LabelOnlyServer.evaluate
    monkeypatch.setattr(dgk.DGKPublicKey, "blind", lambda self, c, w_u=None: self.rerandomise(c, w_u)
                        if in_round_2 else blind(self, c, w_u))

    def unblinded(self, query):
        in_round_2.append(1)
        try:
            return evaluate(self, query)
        finally:
            in_round_2.clear()

    monkeypatch.setattr(LabelOnlyServer, "evaluate", unblinded)
    stats_b = attacks.label_only._view_statistics(client, a, records)
    assert stats.ks_2samp(stats_a["classes"], stats_b["classes"]).pvalue < 1e-4


def test_a_rejected_query_leaves_the_key_cache_as_it_was(client, heart, tree4):
    X, _ = heart
    server = em.TreeServer(tree4, mode="label-only")
    query = encrypt_query(client, X.iloc[0], server.schema)
    query.key_id = "0" * 16  # another client's key id: refused after the key's own checks
    with pytest.raises(ProtocolError):
        server.evaluate(query.to_json())
    assert server.keys._keys == {} and server._pending == {}
    predict_label_only(client, server, X.iloc[0])
    assert len(server.keys._keys) == 1
