"""Tests of encrypted tree prediction: Client, TreeServer, Query and Reply.

One 1024-bit client (module-scoped) serves almost every test: keys that short
are for tests only (the UserWarning is filtered in pyproject.toml).  Only the
message-size test uses a 2048-bit key.
"""

from __future__ import annotations

import base64
import json
import math
import secrets

import gmpy2
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.tree import DecisionTreeClassifier

import encmed_lib as em
from encmed_lib.crypto.encoding import SCALE_BITS, VALUE_BITS, encode_threshold, encode_value
from encmed_lib.protocol import server as server_module
from encmed_lib.protocol.messages import BLIND_BITS, SLOT_BITS, slots_per_pack


# -------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def heart():
    return em.load_heart()


@pytest.fixture(scope="module")
def client() -> em.Client:
    return em.Client(key_bits=1024)


@pytest.fixture(scope="module")
def tree4(heart) -> DecisionTreeClassifier:
    X, y = heart
    return em.train_tree(X, y, max_depth=4, random_state=0)


@pytest.fixture(scope="module")
def tree6(heart) -> DecisionTreeClassifier:
    X, y = heart
    return em.train_tree(X, y, max_depth=6, random_state=0)


@pytest.fixture(scope="module")
def server4(tree4) -> em.TreeServer:
    return em.TreeServer(tree4)


# --------------------------------------------------------------------- helpers
def predict_one(model, record: dict):
    """scikit-learn's prediction for one record given as a dict (columns in training order)."""
    columns = list(model.feature_names_in_)
    return model.predict(pd.DataFrame([{c: record[c] for c in columns}], columns=columns))[0]


def assert_agrees(tree, X: pd.DataFrame, client: em.Client, *, server: em.TreeServer | None = None,
                  reference: DecisionTreeClassifier | None = None):
    """The encrypted label equals scikit-learn's prediction on EVERY row of ``X``.

    ``reference`` is the sklearn model to compare with (default: ``tree`` itself, or
    ``tree.to_sklearn()`` for a PortableTree).
    """
    server = server if server is not None else em.TreeServer(tree)
    if reference is None:
        reference = tree.to_sklearn() if isinstance(tree, em.PortableTree) else tree
    expected = reference.predict(X)
    for i in range(len(X)):
        label = client.decrypt(server.evaluate(client.encrypt(X.iloc[i])))
        assert label == expected[i], f"row {X.index[i]!r}: encrypted {label!r}, sklearn {expected[i]!r}"


def internal_nodes(model: DecisionTreeClassifier) -> list[int]:
    t = model.tree_
    return [j for j in range(t.node_count) if t.children_left[j] != -1]


def goes_left(model: DecisionTreeClassifier, j: int, record) -> bool:
    """sklearn's rule at node j: float32(x) <= threshold, compared in double precision."""
    name = model.feature_names_in_[model.tree_.feature[j]]
    return float(np.float32(record[name])) <= float(model.tree_.threshold[j])


def node_values(client: em.Client, reply) -> dict[int, int]:
    """``{sklearn node id: decrypted blinded value}`` using the reply's public slot map."""
    values = client.decrypt_values(reply)
    return {j: values[node["slot"]] for j, node in enumerate(reply.tree["nodes"]) if "slot" in node}


def all_strings(obj) -> list[str]:
    """Every string (keys and values) inside a JSON document."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (k, *all_strings(v))]
    if isinstance(obj, list):
        return [s for v in obj for s in all_strings(v)]
    return []


def small_modulus() -> int:
    """A 512-bit RSA modulus from two random 256-bit primes."""
    def prime():
        return int(gmpy2.next_prime(secrets.randbits(256) | (3 << 254)))
    n = prime() * prime()
    assert n.bit_length() == 512
    return n


# ------------------------------------------------------------- the public API
def test_public_api_as_the_course_uses_it():
    X, y = em.load_heart()
    tree = em.train_tree(X, y, max_depth=4, random_state=0)
    server = em.TreeServer(tree)
    client = em.Client(key_bits=1024)
    label = client.decrypt(server.evaluate(client.encrypt(X.iloc[0])))
    assert label == tree.predict(X.iloc[[0]])[0]
    assert isinstance(label, int)


# -------------------------------------------------------- agreement, every row
def test_agrees_on_every_heart_row_depth4(heart, tree4, server4, client):
    X, _ = heart
    assert len(X) == 588
    assert_agrees(tree4, X, client, server=server4)  # all 588 rows (~4 ms each at 1024 bits)


def test_agrees_on_heart_sample_depth8(heart, client):
    X, y = heart
    tree = em.train_tree(X, y, max_depth=8, random_state=0)
    assert tree.get_depth() == 8
    # a seeded sample of 120 rows (~13 ms each at 1024 bits): every row of it must agree
    assert_agrees(tree, X.sample(120, random_state=1), client)


def test_agrees_on_breast_cancer(client):
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    assert X.shape[1] == 30
    # Its values are small (e.g. 0.000692): finer than 2**-26 in float32, so they are rounded
    # down to the grid; but distinct values are >= 1e-6 apart, 33 grid steps above every midpoint.
    values = X.to_numpy().ravel()
    assert np.abs(values).max() < 2**VALUE_BITS
    distinct = np.unique(values.astype(np.float32)).astype(np.float64)
    assert np.diff(distinct).min() >= 2 * 16 * 2.0**-SCALE_BITS
    for v in values:
        encode_value(v)
    tree = em.train_tree(X, y, max_depth=6, random_state=0)
    assert_agrees(tree, X.sample(100, random_state=0), client)  # 100 of 569 rows, seeded


def test_agrees_with_negative_values_and_thresholds(client):
    A, b = make_classification(random_state=0)  # 100 x 20, about half of the values negative
    X = pd.DataFrame(A, columns=[f"f{i}" for i in range(A.shape[1])])
    assert (X < 0).to_numpy().mean() > 0.3
    tree = em.train_tree(X, b, max_depth=6, random_state=0)
    thresholds = tree.tree_.threshold[internal_nodes(tree)]
    assert (thresholds < 0).any() and (thresholds > 0).any()
    assert_agrees(tree, X, client)  # all 100 rows


def test_agrees_with_a_portable_tree(heart, tree6, client):
    X, _ = heart
    portable = em.PortableTree.from_json(em.PortableTree.from_sklearn(tree6).to_json())
    # 60 seeded rows, compared with the ORIGINAL sklearn tree (and its round trip agrees with it)
    sample = X.sample(60, random_state=2)
    assert (portable.to_sklearn().predict(sample) == tree6.predict(sample)).all()
    assert_agrees(portable, sample, client, reference=tree6)


# ------------------------------------------------------- speed-ups change nothing
@pytest.fixture(scope="module")
def speedup_clients(client) -> dict:
    classic = em.Client(key_bits=1024, djn=False)
    assert client.public_key.hs is not None and classic.public_key.hs is None
    return {
        (True, True): client,
        (True, False): em.Client(keypair=client.keypair, crt=False),
        (False, True): classic,
        (False, False): em.Client(keypair=classic.keypair, crt=False),
    }


@pytest.mark.parametrize("blinding", ["full", "multiplicative", "none"])
@pytest.mark.parametrize("packing", [True, False], ids=["packed", "unpacked"])
def test_every_speedup_gives_the_same_labels(heart, tree4, speedup_clients, packing, blinding):
    X, _ = heart
    rows = X.sample(10, random_state=3)
    expected = tree4.predict(rows)
    server = em.TreeServer(tree4, packing=packing, blinding=blinding)
    for (djn, crt), c in speedup_clients.items():
        labels = [c.decrypt(server.evaluate(c.encrypt(rows.iloc[i]))) for i in range(len(rows))]
        assert labels == list(expected), f"djn={djn} crt={crt} packing={packing} blinding={blinding}"


def test_packing_does_not_change_unblinded_values(heart, tree4, client):
    X, _ = heart
    q = client.encrypt(X.iloc[5])
    packed = client.decrypt_values(em.TreeServer(tree4, blinding="none").evaluate(q))
    plain = client.decrypt_values(em.TreeServer(tree4, blinding="none", packing=False).evaluate(q))
    assert packed == plain


# --------------------------------------------------------------- edge cases
def edge_values(threshold: float) -> list[float]:
    """float32 values straddling a float64 threshold: the largest float32 <= t, its neighbours,
    and t itself when t is a float32."""
    lo = np.float32(threshold)
    if float(lo) > threshold:
        lo = np.nextafter(lo, np.float32(-np.inf))
    assert float(lo) <= threshold < float(np.nextafter(lo, np.float32(np.inf)))
    up, down = np.nextafter(lo, np.float32(np.inf)), np.nextafter(lo, np.float32(-np.inf))
    out = [float(lo), float(up), float(down)]
    if float(np.float32(threshold)) == threshold:
        out.append(float(threshold))
    return out


def test_threshold_edges_every_node_depth6(heart, tree6, client):
    X, _ = heart
    server = em.TreeServer(tree6)
    paths = tree6.decision_path(X).tocsc()
    integer_valued = {c for c in X.columns if (X[c] == X[c].round()).all()}
    records, reaching = [], []
    for j in internal_nodes(tree6):
        rows = paths[:, j].nonzero()[0]
        base = X.iloc[rows[0]].to_dict()  # a training row that reaches node j
        name = tree6.feature_names_in_[tree6.tree_.feature[j]]
        t = float(tree6.tree_.threshold[j])
        values = edge_values(t)
        if name in integer_valued and t % 1 == 0.5:
            values += [t - 0.5, t + 0.5]  # integer-valued feature, threshold x.5
        for v in values:
            records.append({**base, name: v})
            reaching.append((j, v, float(v) <= t))
    frame = pd.DataFrame(records, columns=X.columns)
    expected = tree6.predict(frame)
    node_paths = tree6.decision_path(frame).toarray()
    reached = 0
    for i, record in enumerate(records):
        label = client.decrypt(server.evaluate(client.encrypt(record)))
        assert label == expected[i], f"record {record}: encrypted {label!r}, sklearn {expected[i]!r}"
        j, v, left = reaching[i]
        if node_paths[i, j]:  # the record reaches the node: check sklearn's own branch choice
            reached += 1
            child = tree6.tree_.children_left[j] if left else tree6.tree_.children_right[j]
            assert node_paths[i, child], (j, v)
    assert reached >= len(records) // 2  # the edges are exercised at their own node


@pytest.fixture(scope="module")
def rounding_trap():
    """sklearn's threshold between 0.1 and 0.2 is 0.15000000223517418 (the float64 midpoint of
    their float32 values), and float32(0.15) = 0.15000000596046448 > t: 0.15 goes RIGHT, although
    float32(t) == float32(0.15)."""
    X = pd.DataFrame({"f": [0.1, 0.2]})
    tree = em.train_tree(X, [0, 1], max_depth=1)
    record = pd.DataFrame({"f": [0.15]})
    assert tree.predict(record)[0] == 1
    return tree, record


def test_encrypted_label_respects_float32_rounding(rounding_trap, client):
    tree, record = rounding_trap
    for model in (tree, em.PortableTree.from_sklearn(tree)):
        assert client.decrypt(em.TreeServer(model).evaluate(client.encrypt(record))) == 1


def test_portable_tree_plain_predict_respects_float32_rounding(rounding_trap):
    # regression (fixed in acb4d32): NumPy 2 compared np.float32(x) <= python float in float32
    tree, record = rounding_trap
    assert em.PortableTree.from_sklearn(tree).predict(record)[0] == tree.predict(record)[0]


RANGES = {"age": (20, 90), "sex": (0, 1), "cp": (0, 4), "trestbps": (80, 200), "chol": (100, 600),
          "fbs": (0, 1), "restecg": (0, 2), "thalach": (60, 220), "exang": (0, 1), "oldpeak": (0, 7),
          "slope": (0, 3), "ca": (0, 4), "thal": (0, 8)}
records = st.fixed_dictionaries({
    name: st.integers(10 * lo, 10 * hi).map(lambda k: k / 10) for name, (lo, hi) in RANGES.items()
})


@settings(max_examples=25, deadline=None)
@given(record=records)
def test_random_records_agree(tree4, server4, client, record):
    assert set(record) == set(em.FEATURES)
    label = client.decrypt(server4.evaluate(client.encrypt(record)))
    assert label == predict_one(tree4, record)


# --------------------------------------------------------- blinding properties
def test_full_blinding_signs_and_bounds(heart, tree6, client):
    X, _ = heart
    server = em.TreeServer(tree6)  # blinding="full" is the default
    for i in (0, 7, 42, 300):
        row = X.iloc[i]
        values = node_values(client, server.evaluate(client.encrypt(row)))
        assert sorted(values) == internal_nodes(tree6)
        for j, v in values.items():
            assert (v >= 0) == goes_left(tree6, j, row), (i, j, v)
            assert abs(v) < 2 ** (SLOT_BITS - 1)
        path = tree6.decision_path(X.iloc[[i]]).indices  # node ids along the path, in order
        for j, child in zip(path[:-1], path[1:], strict=True):
            assert (child == tree6.tree_.children_left[j]) == (values[j] >= 0)


def test_full_blinding_is_fresh_per_reply(heart, tree6, client):
    X, _ = heart
    server = em.TreeServer(tree6)
    q = client.encrypt(X.iloc[11])
    r1, r2 = server.evaluate(q), server.evaluate(q)
    assert len(r1.packs) == len(r2.packs) == math.ceil(39 / slots_per_pack(client.key_bits))
    assert all(a != b for a, b in zip(r1.packs, r2.packs, strict=True))  # re-randomised
    v1, v2 = client.decrypt_values(r1), client.decrypt_values(r2)
    assert all(a != b for a, b in zip(v1, v2, strict=True))  # fresh r, s for every node
    assert [a >= 0 for a in v1] == [b >= 0 for b in v2]
    assert client.decrypt(r1) == client.decrypt(r2)
    # unpacked replies are re-randomised too
    unpacked = em.TreeServer(tree6, packing=False)
    u1, u2 = unpacked.evaluate(q), unpacked.evaluate(q)
    assert all(a != b for a, b in zip(u1.packs, u2.packs, strict=True))


def differences(model, row) -> dict[int, int]:
    """``d_j = T_j - X_f`` for every internal node."""
    out = {}
    for j in internal_nodes(model):
        name = model.feature_names_in_[model.tree_.feature[j]]
        out[j] = encode_threshold(model.tree_.threshold[j]) - encode_value(row[name], name)
    return out


def test_no_blinding_reveals_exact_differences(heart, tree6, client):
    X, _ = heart
    server = em.TreeServer(tree6, blinding="none")
    for i in (0, 3, 99):
        row = X.iloc[i]
        reply = server.evaluate(client.encrypt(row))
        assert node_values(client, reply) == differences(tree6, row)
        assert reply.features == [tree6.feature_names_in_[tree6.tree_.feature[j]]
                                  for j in internal_nodes(tree6)]


def test_multiplicative_blinding_keeps_the_divisor(heart, tree6, client):
    X, _ = heart
    server = em.TreeServer(tree6, blinding="multiplicative")
    row = X.iloc[1]
    values, d = node_values(client, server.evaluate(client.encrypt(row))), differences(tree6, row)
    for j, v in values.items():
        if d[j] == 0:
            assert v == 0
        else:
            assert v % d[j] == 0 and 1 <= v // d[j] < 2**BLIND_BITS
    assert any(v != d[j] for j, v in values.items())  # it does multiply


def test_full_blinding_hides_the_divisor(heart, tree6, client):
    X, _ = heart
    row = X.iloc[1]
    values = node_values(client, em.TreeServer(tree6).evaluate(client.encrypt(row)))
    d = differences(tree6, row)
    big = [j for j in values if abs(d[j]) > 1]
    assert big and sum(values[j] % d[j] != 0 for j in big) >= len(big) - 1


# ------------------------------------------------------ what the reply reveals
def test_reply_names_no_feature_and_no_threshold(heart, tree6, client):
    X, _ = heart
    reply = em.TreeServer(tree6).evaluate(client.encrypt(X.iloc[0]))
    text = reply.to_json()
    data = json.loads(text)
    assert "features" not in data
    assert data["n_values"] == len(internal_nodes(tree6)) == 39
    names = set(X.columns)
    assert not names & set(all_strings(data))
    for name in names:
        assert f'"{name}"' not in text
    # Without the leaf class shares, the reply carries no decimal number at all (base64 and hex
    # have no '.'), so no threshold repr can appear; with them, only the shares are non-integers.
    leaves = [node.pop("distribution") for node in data["tree"]["nodes"] if "distribution" in node]
    assert leaves and "." not in json.dumps(data)
    for j in internal_nodes(tree6):
        t = tree6.tree_.threshold[j]
        assert str(t) not in json.dumps(data) and repr(float(t)) not in json.dumps(data)
    for node in data["tree"]["nodes"]:
        assert set(node) in ({"left", "right", "slot"}, {"label"})
    # the "none" design, by contrast, names the features
    assert "features" in json.loads(em.TreeServer(tree6, blinding="none").evaluate(
        client.encrypt(X.iloc[0])).to_json())


def test_leaf_distribution_can_be_withheld(heart, tree4, client):
    X, _ = heart
    server = em.TreeServer(tree4, leaf_distribution=False)
    reply = server.evaluate(client.encrypt(X.iloc[0]))
    assert client.decrypt(reply) == tree4.predict(X.iloc[[0]])[0]
    with pytest.raises(em.MalformedMessageError, match="leaf_distribution=True"):
        client.decrypt(reply, return_distribution=True)
    label, dist = client.decrypt(em.TreeServer(tree4).evaluate(client.encrypt(X.iloc[0])),
                                 return_distribution=True)
    np.testing.assert_allclose(dist, tree4.predict_proba(X.iloc[[0]])[0])


# ------------------------------------------------------------- JSON round trip
def test_json_round_trip(heart, tree4, server4, client):
    X, _ = heart
    expected = tree4.predict(X.iloc[[4]])[0]
    q = client.encrypt(X.iloc[4])
    q2 = em.Query.from_json(q.to_json())
    assert q2 == q
    reply = server4.evaluate(q2)
    r2 = em.Reply.from_json(reply.to_json())
    assert r2 == reply
    assert client.decrypt(r2) == client.decrypt(reply) == expected
    # strings straight through: the server takes the query JSON, the client the reply JSON
    assert client.decrypt(server4.evaluate(q.to_json()).to_json()) == expected
    assert client.decrypt(server4.evaluate(q.to_json().encode())) == expected
    assert len(q) == len(q.to_json()) and len(reply) == len(reply.to_json())


def test_client_encrypts_every_feature_given(heart, server4, tree4, client):
    X, _ = heart
    record = X.iloc[2].to_dict()
    record["zzz"] = 1.0  # a column the tree does not use
    q = client.encrypt(record)
    assert q.features == [*em.FEATURES, "zzz"]
    assert len(q.ciphertexts) == 14
    assert client.decrypt(server4.evaluate(q)) == tree4.predict(X.iloc[[2]])[0]


def test_record_forms(heart, tree4, server4, client):
    X, _ = heart
    expected = tree4.predict(X.iloc[[9]])[0]
    for record in (X.iloc[9], X.iloc[[9]], X.iloc[9].to_dict()):
        assert client.decrypt(server4.evaluate(client.encrypt(record))) == expected
    with pytest.raises(em.DomainError, match="table of 2 rows"):
        client.encrypt(X.iloc[[0, 1]])
    with pytest.raises(em.DomainError, match="a pandas Series or a dict"):
        client.encrypt([1.0, 2.0])


# ------------------------------------------------------------------ bad input
@pytest.fixture
def query_dict(heart, client) -> dict:
    X, _ = heart
    return json.loads(client.encrypt(X.iloc[0]).to_json())


@pytest.fixture
def reply_dict(heart, server4, client) -> dict:
    X, _ = heart
    return json.loads(server4.evaluate(client.encrypt(X.iloc[0])).to_json())


@pytest.mark.parametrize("text, phrase", [
    ("{not json", "could not parse"),
    ("", "could not parse"),
    ("[1, 2, 3]", "must be a JSON object, got list"),
    ('"a string"', "must be a JSON object, got str"),
    ('{"protocol": "other"}', "not an encmed-tree message"),
])
def test_malformed_json(server4, client, text, phrase):
    with pytest.raises(em.MalformedMessageError, match=phrase):
        server4.evaluate(text)
    with pytest.raises(em.MalformedMessageError, match=phrase):
        em.Query.from_json(text)
    with pytest.raises(em.MalformedMessageError, match=phrase):
        client.decrypt(text)


@pytest.mark.parametrize("missing", ["ciphertexts", "features", "query_id", "public_key"])
def test_query_missing_field(server4, query_dict, missing):
    del query_dict[missing]
    with pytest.raises(em.MalformedMessageError, match=f"'{missing}'"):
        server4.evaluate(json.dumps(query_dict))


def test_query_field_checks(server4, query_dict):
    bad = dict(query_dict, ciphertexts=query_dict["ciphertexts"][:-1])
    with pytest.raises(em.MalformedMessageError, match="13 features but carries 12 ciphertexts"):
        server4.evaluate(json.dumps(bad))
    bad = dict(query_dict, type="reply")
    with pytest.raises(em.MalformedMessageError, match="expected a query"):
        server4.evaluate(json.dumps(bad))
    bad = dict(query_dict, public_key={"n": "0x1234", "hs": None})
    with pytest.raises(em.MalformedMessageError, match="decimal string"):
        server4.evaluate(json.dumps(bad))


def test_query_with_unicode_digit_modulus(server4, query_dict):
    query_dict["public_key"] = {"n": "²", "hs": None}
    with pytest.raises(em.MalformedMessageError):
        server4.evaluate(json.dumps(query_dict))


def test_wrong_protocol_version(server4, client, query_dict, reply_dict):
    query_dict["version"] = 99
    with pytest.raises(em.ProtocolVersionError, match="version 99"):
        server4.evaluate(json.dumps(query_dict))
    with pytest.raises(em.ProtocolVersionError, match="version 99"):
        em.Query.from_json(query_dict)
    reply_dict["version"] = 99
    with pytest.raises(em.ProtocolVersionError, match="version 99"):
        client.decrypt(json.dumps(reply_dict))
    with pytest.raises(em.ProtocolVersionError, match="version 99"):
        em.Reply.from_json(reply_dict)


def test_reply_missing_packs(client, reply_dict):
    del reply_dict["packs"]
    with pytest.raises(em.MalformedMessageError, match="'packs'"):
        client.decrypt(json.dumps(reply_dict))


def test_invalid_base64(server4, client, query_dict, reply_dict):
    query_dict["ciphertexts"][0] = "not base64!"
    with pytest.raises(em.MalformedMessageError, match="ciphertext of 'age' is not valid base64"):
        server4.evaluate(json.dumps(query_dict))
    reply_dict["packs"][0] = "%%%"
    with pytest.raises(em.MalformedMessageError, match="pack is not valid base64"):
        client.decrypt(json.dumps(reply_dict))


def test_missing_feature_names_it(heart, server4, client):
    X, _ = heart
    assert "thal" in server4.required_features
    record = X.iloc[0].drop("thal")
    q = client.encrypt(record)
    with pytest.raises(em.MissingFeatureError, match="'thal'") as info:
        server4.evaluate(q)
    assert "the model needs" in str(info.value)
    assert isinstance(info.value, KeyError)  # and still a readable message


@pytest.mark.parametrize("value", [float("nan"), math.inf, -math.inf, "abc", None, 1e7])
def test_bad_value_names_the_feature_and_registers_nothing(heart, client, value):
    X, _ = heart
    record = X.iloc[0].to_dict()
    record["chol"] = value
    issued = set(client._issued)
    with pytest.raises(em.DomainError, match="'chol'"):
        client.encrypt(record)
    assert client._issued == issued  # no query id was registered


@pytest.mark.parametrize("bad", ["zero", "n2+1", "multiple of p"])
def test_ciphertext_out_of_range(heart, server4, client, bad):
    X, _ = heart
    pk = client.public_key
    q = client.encrypt(X.iloc[0])
    i = q.features.index(server4.required_features[0])
    q.ciphertexts[i] = {"zero": 0, "n2+1": int(pk.nsquare) + 1,
                        "multiple of p": int(client.private_key.p) * 3}[bad]
    with pytest.raises(em.CiphertextRangeError, match=f"feature {q.features[i]!r} is not a valid"):
        server4.evaluate(q.to_json())


def test_reply_for_another_key(heart, server4, client):
    X, _ = heart
    other = em.Client(key_bits=1024)
    reply = server4.evaluate(other.encrypt(X.iloc[0]))
    with pytest.raises(em.KeyMismatchError, match="another client"):
        client.decrypt(reply)


def test_reply_for_a_query_never_issued(heart, server4, client):
    X, _ = heart
    reply = server4.evaluate(client.encrypt(X.iloc[0]))
    twin = em.Client(keypair=client.keypair)  # same key, another session
    with pytest.raises(em.QueryMismatchError, match="did not send"):
        twin.decrypt(reply)
    forged = em.Reply.from_json(dict(json.loads(reply.to_json()), query_id=secrets.token_hex(16)))
    with pytest.raises(em.QueryMismatchError, match="did not send"):
        client.decrypt(forged)


def test_key_too_small(server4):
    n = small_modulus()
    q = em.Query(secrets.token_hex(16), {"n": str(n), "hs": None}, list(em.FEATURES), [2] * 13)
    with pytest.raises(em.KeyTooSmallError, match="512 bits"):
        server4.evaluate(q)
    with pytest.raises(em.KeyTooSmallError, match="512 bits"):
        server4.evaluate(q.to_json())
    with pytest.raises(em.KeyTooSmallError, match="too small"):
        em.Client(key_bits=512)


def test_unfitted_tree_is_refused():
    with pytest.raises(em.ModelNotFittedError, match="not fitted"):
        em.TreeServer(DecisionTreeClassifier())


def test_unknown_blinding_is_refused(tree4):
    with pytest.raises(ValueError, match="blinding must be one of"):
        em.TreeServer(tree4, blinding="partial")


def test_reply_rerandomised_even_with_a_degenerate_hs(heart, tree4, client, monkeypatch):
    X, _ = heart
    blinds = []
    real = server_module.draw_blinds
    monkeypatch.setattr(server_module, "draw_blinds", lambda b: blinds.append(real(b)) or blinds[-1])
    server = em.TreeServer(tree4, packing=False)
    q = client.encrypt(X.iloc[0])
    q.public_key = {**q.public_key, "hs": "1"}  # the client chooses hs freely
    reply = server.evaluate(q)
    pk, sk = client.public_key, client.private_key
    n, n2 = pk.n, pk.nsquare
    j = internal_nodes(tree4)[0]  # slot 0
    cx = q.ciphertexts[q.features.index(tree4.feature_names_in_[tree4.tree_.feature[j]])]
    rho_x = cx * gmpy2.invert(1 + sk.raw_decrypt(cx) * n, n2) % n2  # the client knows its randomiser
    c = reply.packs[0]
    rho_reply = c * gmpy2.invert(1 + sk.raw_decrypt(c) * n, n2) % n2
    r, _ = blinds[0]
    # A fresh server randomiser must make rho_reply independent of rho_x; here rho_reply is
    # rho_x**-r, so r (21 bits) is found by baby-step giant-step and d = v // r leaks T exactly.
    assert rho_reply != gmpy2.powmod(gmpy2.invert(rho_x, n2), r, n2)


# ---------------------------------------------------------------------- sizes
def test_message_sizes_at_2048_bits(heart):
    X, y = heart
    big = em.Client()  # 2048 bits, the default
    assert big.key_bits == 2048
    q = big.encrypt(X.iloc[0])
    data = q.to_dict()
    assert len(data["ciphertexts"]) == 13
    assert all(len(base64.b64decode(t)) == 512 for t in data["ciphertexts"])
    tree = em.train_tree(X, y, max_depth=5, random_state=0)
    n_internal = len(internal_nodes(tree))
    reply = em.TreeServer(tree).evaluate(q)
    per = (2048 - 1) // SLOT_BITS
    assert per == slots_per_pack(2048) == 31  # a complete depth-5 tree in one pack
    assert len(reply.packs) == 1
    assert reply.n_values == n_internal
    assert len(reply.packs) == math.ceil(n_internal / per)
    assert all(len(base64.b64decode(t)) == 512 for t in reply.to_dict()["packs"])
    assert big.decrypt(reply) == tree.predict(X.iloc[[0]])[0]
    unpacked = em.TreeServer(tree, packing=False).evaluate(q)
    assert len(unpacked.packs) == n_internal
    assert big.decrypt(unpacked) == tree.predict(X.iloc[[0]])[0]


# --------------------------------------------------- hostile messages (issue 12)
def fresh_reply(heart, server4, client) -> dict:
    X, _ = heart
    return json.loads(server4.evaluate(client.encrypt(X.iloc[3])).to_json())


def internal_child(reply: dict) -> int:
    """An internal node whose parent is the root (the heart trees of depth 4 have one)."""
    nodes = reply["tree"]["nodes"]
    return next(c for c in (nodes[0]["left"], nodes[0]["right"]) if "slot" in nodes[c])


def internal_grandchild(reply: dict) -> int:
    nodes = reply["tree"]["nodes"]
    child = nodes[internal_child(reply)]
    return next(c for c in (child["left"], child["right"]) if "slot" in nodes[c])


def first_leaf(reply: dict) -> int:
    return next(j for j, node in enumerate(reply["tree"]["nodes"]) if "label" in node)


REPLY_MUTATIONS = {
    "negative child": lambda r: r["tree"]["nodes"][0].update(left=-1),
    "child out of range": lambda r: r["tree"]["nodes"][0].update(right=len(r["tree"]["nodes"])),
    "child is the root (cycle)": lambda r: r["tree"]["nodes"][internal_child(r)].update(left=0),
    "back edge (cycle)": lambda r: r["tree"]["nodes"][internal_grandchild(r)].update(left=internal_child(r)),
    "negative slot": lambda r: r["tree"]["nodes"][0].update(slot=-1),
    "slot out of range": lambda r: r["tree"]["nodes"][0].update(slot=r["n_values"]),
    "duplicate slot": lambda r: r["tree"]["nodes"][0].update(
        slot=r["tree"]["nodes"][internal_child(r)]["slot"]),
    "slot is a string": lambda r: r["tree"]["nodes"][0].update(slot="0"),
    "leaf without label": lambda r: r["tree"]["nodes"][first_leaf(r)].pop("label"),
    "label not a class": lambda r: r["tree"]["nodes"][first_leaf(r)].update(label=99),
    "node is a list": lambda r: r["tree"]["nodes"].__setitem__(0, [1, 2]),
    "nodes missing": lambda r: r["tree"].pop("nodes"),
    "tree is a list": lambda r: r.update(tree=[]),
    "one pack too many": lambda r: r["packs"].append(r["packs"][0]),
    "no packs": lambda r: r.update(packs=[]),
    "n_values one more": lambda r: r.update(n_values=r["n_values"] + 1),
    "n_values 'abc'": lambda r: r.update(n_values="abc"),
    "n_values null": lambda r: r.update(n_values=None),
    "n_values negative": lambda r: r.update(n_values=-3),
    "n_values huge": lambda r: r.update(n_values=10 ** 30),
    "n_values 7.0": lambda r: r.update(n_values=float(r["n_values"])),
    "n_values true": lambda r: r.update(n_values=True),
    "packed 1": lambda r: r.update(packed=1),
    "slot_bits 0": lambda r: r.update(slot_bits=0),
    "slot_bits huge": lambda r: r.update(slot_bits=10 ** 40),
    "key_bits text": lambda r: r.update(key_bits="1024"),
    "key_bits 0": lambda r: r.update(key_bits=0),
    "key_bits true": lambda r: r.update(key_bits=True),
    "key_bits 10**60": lambda r: r.update(key_bits=10 ** 60),
    "pack too long": lambda r: r["packs"].__setitem__(0, r["packs"][0] * 3),
    "pack not a string": lambda r: r["packs"].__setitem__(0, 5),
    "query_id a number": lambda r: r.update(query_id=5),
    "blinding unknown": lambda r: r.update(blinding="some"),
    "features wrong count": lambda r: r.update(features=["age"]),
    "distribution too short": lambda r: r["tree"]["nodes"][first_leaf(r)].update(distribution=[1.0]),
}


@pytest.mark.parametrize("mutation", list(REPLY_MUTATIONS))
def test_malformed_reply_is_a_named_error_not_a_crash(heart, server4, client, mutation):
    reply = fresh_reply(heart, server4, client)
    REPLY_MUTATIONS[mutation](reply)
    for form in (reply, json.dumps(reply), json.dumps(reply).encode()):
        with pytest.raises(em.MalformedMessageError):
            client.decrypt(form)
    with pytest.raises(em.MalformedMessageError):
        em.Reply.from_json(reply)


def test_malformed_reply_object_is_refused_too(heart, server4, client):
    X, _ = heart
    reply = server4.evaluate(client.encrypt(X.iloc[0]))
    reply.tree["nodes"][0]["left"] = -1
    with pytest.raises(em.MalformedMessageError, match=r"tree.nodes\[0\].left"):
        client.decrypt(reply)
    with pytest.raises(em.MalformedMessageError, match=r"tree.nodes\[0\].left"):
        client.decrypt_values(reply)


def test_reply_claiming_another_key_size_is_a_key_mismatch(heart, server4, client):
    reply = fresh_reply(heart, server4, client)
    reply["key_bits"] = 1100  # still 2 packs of 15 values, each fits 2*1100 bits
    with pytest.raises(em.KeyMismatchError, match="1100-bit key"):
        client.decrypt(reply)


def test_valid_reply_decrypts_from_text_bytes_dict_and_compact_sorted_json(heart, tree4, server4, client):
    X, _ = heart
    reply = server4.evaluate(client.encrypt(X.iloc[5]))
    expected = tree4.predict(X.iloc[[5]])[0]
    text = reply.to_json()
    forms = [reply, text, text.encode(), json.loads(text),
             json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True)]
    assert [client.decrypt(form) for form in forms] == [expected] * len(forms)


def test_label_only_reply_is_recognised_by_its_parsed_type(heart, client):
    X, y = heart
    tree = em.train_tree(X, y, max_depth=2, random_state=0)
    server = em.TreeServer(tree, mode="label-only")
    reply = server.finish(client.answer(server.evaluate(client.encrypt_label_only(X.iloc[7], server.schema))))
    text = reply.to_json()
    forms = [reply, text, text.encode(), json.loads(text), " \n" + text,
             json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True),
             json.dumps({"pad": "x" * 500, **json.loads(text)})]  # "type" far from the start
    expected = tree.predict(X.iloc[[7]])[0]
    assert [client.decrypt(form) for form in forms] == [expected] * len(forms)


def test_text_mentioning_label_reply_is_not_taken_for_one(heart, server4, client):
    reply = fresh_reply(heart, server4, client)
    reply["note"] = '"type": "label-reply"'
    assert client.decrypt(json.dumps(reply)) in (0, 1)  # decrypted as the basic reply it is


@pytest.mark.parametrize("n", ["12ab", "9" * 10_000, "0", "1", "-7", "2" + "0" * 400, "007", 12345, None,
                               [1], True], ids=lambda n: f"{type(n).__name__}-{str(n)[:12]}")
def test_bad_key_fields_are_malformed(server4, query_dict, n):
    query_dict["public_key"] = {"n": n}
    with pytest.raises(em.MalformedMessageError, match="public_key.n"):
        server4.evaluate(json.dumps(query_dict))
    with pytest.raises(em.MalformedMessageError, match="public_key.n"):
        server4.evaluate(query_dict)


def test_oversized_integers_and_deep_nesting_in_a_query(server4, query_dict):
    text = json.dumps(query_dict)
    with pytest.raises(em.MalformedMessageError, match="number of 5000 characters"):
        server4.evaluate(text[:-1] + ', "x": ' + "7" * 5000 + "}")
    with pytest.raises(em.MalformedMessageError, match="levels deep"):
        server4.evaluate(text[:-1] + ', "x": ' + "[" * 50_000 + "]" * 50_000 + "}")
    query_dict["scale_bits"] = True
    with pytest.raises(em.MalformedMessageError, match="scale_bits"):
        server4.evaluate(query_dict)


def test_query_object_built_in_python_is_validated(heart, server4, client):
    X, _ = heart
    q = client.encrypt(X.iloc[0])
    q.ciphertexts = q.ciphertexts[:-1]
    with pytest.raises(em.MalformedMessageError, match="13 features but carries 12"):
        server4.evaluate(q)
    q = client.encrypt(X.iloc[0])
    q.ciphertexts[0] = "abc"
    with pytest.raises(em.MalformedMessageError, match=r"ciphertexts\[0\]"):
        server4.evaluate(q)


def test_rejected_query_leaves_the_server_key_cache_unchanged(heart, tree4):
    X, _ = heart
    server, stranger = em.TreeServer(tree4), em.Client(key_bits=1024)
    before = dict(server.client_keys._keys)
    bad_range = stranger.encrypt(X.iloc[0])
    bad_range.ciphertexts[bad_range.features.index(server.required_features[0])] = 0
    missing = stranger.encrypt(X.iloc[0].drop(server.required_features[0]))
    bad_json = json.loads(stranger.encrypt(X.iloc[0]).to_json())
    bad_json["ciphertexts"][-1] = "@@"
    for query, error in [(bad_range, em.CiphertextRangeError), (missing, em.MissingFeatureError),
                         (bad_json, em.MalformedMessageError)]:
        with pytest.raises(error):
            server.evaluate(query)
        assert server.client_keys._keys == before
    server.evaluate(stranger.encrypt(X.iloc[0]))
    assert set(server.client_keys._keys) == set(before) | {str(int(stranger.public_key.n))}


def test_rejected_reply_leaves_the_client_state_unchanged(heart, server4, client):
    reply = fresh_reply(heart, server4, client)
    issued, pooled = set(client._issued), len(client.pool)
    for mutation in ("negative child", "n_values 'abc'", "pack too long"):
        bad = json.loads(json.dumps(reply))
        REPLY_MUTATIONS[mutation](bad)
        with pytest.raises(em.MalformedMessageError):
            client.decrypt(bad)
    assert client._issued == issued and len(client.pool) == pooled
    assert client.decrypt(reply) in (0, 1)


@pytest.mark.parametrize("query_id", ["../escape", "", "a b", "x" * 129, 7])
def test_encrypt_refuses_a_query_id_that_cannot_name_a_file(heart, client, query_id):
    X, _ = heart
    issued = set(client._issued)
    with pytest.raises(em.MalformedMessageError, match="query_id"):
        client.encrypt(X.iloc[0], query_id=query_id)
    assert client._issued == issued


def test_server_key_cache_takes_every_form_of_a_client_key(client):
    keys = server_module.ClientKeys()
    n = client.public_key.n
    for source in (client.public_key, n, int(n), str(int(n)), {**client.public_key_message(), "hs": None}):
        assert keys.key(source).key_id == client.public_key.key_id
    assert len(keys._keys) == 1
    with pytest.raises(em.InvalidKeyError, match="no proof"):  # from a message, a key needs its proof
        server_module.ClientKeys().key({"n": str(int(n))})
    with pytest.raises(em.MalformedMessageError, match="modulus"):
        keys.key("not a number")
    with pytest.raises(em.MalformedMessageError, match="odd"):
        keys.key(int(n) * 2)
    assert len(keys._keys) == 1


# ---------------------------------------------------------------------- certified keys
def test_every_malformed_modulus_is_refused_before_any_exponentiation(heart, tree4, client, monkeypatch):
    """Even n, primes, squares, 3q, products of small primes, oversized n: refused with no powmod."""
    import gmpy2 as g

    X, _ = heart
    server = em.TreeServer(tree4)
    message = json.loads(client.encrypt(X.iloc[0]).to_json())
    p_, q_ = int(client.private_key.p), int(client.private_key.q)
    small = 1
    for prime in (65537, 65539, 65543, 65551, 65557, 65563):  # odd primes above the 2**16 bound
        small *= prime
    bad = {"even": p_ * q_ + 1, "prime": int(g.next_prime(1 << 1023)), "square": p_ * p_,
           "3q": 3 * q_ * int(g.next_prime(1 << 520)),
           "small primes": small * int(g.next_prime(1 << 1000)), "oversized": (1 << 5000) + 1,
           "p^2 q": p_ * p_ * q_}
    calls = []
    real = g.powmod
    monkeypatch.setattr(g, "powmod", lambda *a: calls.append(1) or real(*a))
    for name, n in bad.items():
        message["public_key"] = {"n": str(n), "proof": client.public_key_message()["proof"]}
        with pytest.raises((em.InvalidKeyError, em.MalformedMessageError, em.KeyTooSmallError)):
            server.evaluate(json.dumps(message))
        assert calls == [] or name in ("p^2 q", "small primes"), name  # these two reach the proof's powmods
        calls.clear()
    assert len(server.client_keys._keys) == 0


def test_a_certified_key_is_verified_once(heart, tree4, client, monkeypatch):
    X, _ = heart
    server = em.TreeServer(tree4)
    import encmed_lib.crypto.keycert as keycert

    seen = []
    real = keycert.verify_paillier_key
    monkeypatch.setattr(keycert, "verify_paillier_key", lambda *a, **k: seen.append(1) or real(*a, **k))
    for i in range(3):
        assert client.decrypt(server.evaluate(client.encrypt(X.iloc[i]))) == tree4.predict(X.iloc[[i]])[0]
    assert len(seen) == 1


# ------------------------------------------------------ one pack, one multi-exponentiation
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2**64), st.integers(0, 2**300)), max_size=6))
def test_multi_power_is_the_product_of_powers(pairs):
    modulus = gmpy2.mpz(2**521 - 1)
    bases = [(gmpy2.mpz(b), e) for b, e in pairs]
    expected = 1
    for b, e in bases:
        expected = expected * gmpy2.powmod(b, e, modulus) % modulus
    assert server_module.multi_power(bases, modulus) == expected


def test_packed_values_equal_horner_packing_of_the_same_blinds(heart, tree6, client, monkeypatch):
    X, _ = heart
    blinds = [(1 + secrets.randbelow(2**BLIND_BITS - 1), 0) for _ in range(200)]
    blinds = [(r, secrets.randbelow(r)) for r, _ in blinds]
    server = em.TreeServer(tree6)
    key, negated = server.encrypted_inputs(client.encrypt(X.iloc[5]))
    for packed in (True, False):
        queue = iter(blinds)
        monkeypatch.setattr(server_module, "draw_blinds", lambda blinding, q=queue: next(q))
        if packed:
            multi = server.packed_values(key, negated)
        else:
            one_by_one = server.blinded_values(key, negated, offset=1 << (SLOT_BITS - 1))
            horner = server_module.pack_ciphertexts(key, one_by_one)
    sk = client.private_key
    assert len(multi) == len(horner) == math.ceil(len(internal_nodes(tree6)) / slots_per_pack(1024))
    assert [sk.raw_decrypt(a) for a in multi] == [sk.raw_decrypt(b) for b in horner]


def test_a_complete_depth_5_tree_fits_one_2048_bit_pack(client):
    A, b = make_classification(n_samples=4000, n_features=8, n_informative=6, flip_y=0.3, random_state=4)
    X = pd.DataFrame(A, columns=[f"x{i}" for i in range(8)]).round(2)
    tree = em.train_tree(X, b, max_depth=5, random_state=0)
    server = em.TreeServer(tree)
    assert len(internal_nodes(tree)) == 31  # complete: 2**5 - 1
    assert server.randomisers_per_query(2048) == 1  # one pack, one full re-randomiser
    assert server.randomisers_per_query(1024) == 3  # 15 slots per 1024-bit pack
    for i in (0, 1, 2):
        reply = server.evaluate(client.encrypt(X.iloc[i]))
        assert len(reply.packs) == 3
        assert client.decrypt(reply) == tree.predict(X.iloc[[i]])[0]
