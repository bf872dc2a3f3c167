"""Tests of encrypted logistic-regression scoring (encmed_lib.protocol.linear).

One 1024-bit client (module-scoped) serves every test; keys that short are for
tests only.  Agreement with scikit-learn is checked on every row of the heart
sample (588 rows) and of the Synthea sample (390 rows), and on a fixed sample
of 150 rows of scikit-learn's breast-cancer data (30 features).
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import encmed_lib as em
from encmed_lib.data.paths import data_dir
from encmed_lib.protocol.linear import (
    INPUT_FRAC_BITS,
    SCORE_FRAC_BITS,
    LinearQuery,
    LinearReply,
    LinearServer,
    decode_score,
    decrypt_score,
    encode_float64,
    encrypt_float64,
    extract_linear_model,
    extraction_curve,
    fixed_point_score,
    fold_standard_scaler,
    plaintext_oracle,
    plot_extraction_curve,
    predict_encrypted,
    predict_proba_encrypted,
    score_encrypted,
    score_error_bound,
)

TOL = 1e-9


# -------------------------------------------------------------------- fixtures
def make_client() -> em.Client:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return em.Client(key_bits=1024)


@pytest.fixture(scope="module")
def client() -> em.Client:
    return make_client()


@pytest.fixture(scope="module")
def heart():
    return em.load_heart()


@pytest.fixture(scope="module")
def heart_pipe(heart):
    X, y = heart
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="module")
def heart_server(heart_pipe) -> LinearServer:
    return LinearServer(heart_pipe)


# --------------------------------------------------------------------- helpers
def exact_score(coef, intercept, x) -> Fraction:
    """``w·x + b`` in exact rational arithmetic on the float64 values."""
    return sum((Fraction(float(w)) * Fraction(float(v)) for w, v in zip(coef, x, strict=True)),
               Fraction(float(intercept)))


def check_agreement(client, model, X, server=None) -> float:
    """Encrypt every row of ``X``; assert predict_proba within 1e-9 and predict exactly.

    Returns the largest ``|Δp|`` seen.
    """
    server = server or LinearServer(model)
    proba, labels = model.predict_proba(X), model.predict(X)
    worst = 0.0
    for i in range(len(X)):
        record = X.iloc[i]
        query = encrypt_float64(client, record)
        reply = server.evaluate(query.to_json())
        text = reply.to_json()
        p = predict_proba_encrypted(client, text)
        worst = max(worst, float(np.max(np.abs(p - proba[i]))))
        assert predict_encrypted(client, text) == labels[i], f"row {i}"
    assert worst <= TOL, worst
    return worst


# ------------------------------------------------------------------ fixed point
@given(st.floats(min_value=-(2.0 ** 20), max_value=2.0 ** 20, exclude_min=True, exclude_max=True,
                 allow_nan=False))
@settings(max_examples=300, deadline=None)
def test_encoding_is_exact_above_2_to_minus_12_and_within_2_to_minus_65_below(x):
    X = encode_float64(x)
    error = abs(Fraction(X, 1 << INPUT_FRAC_BITS) - Fraction(x))
    assert error <= Fraction(1, 1 << 65)
    if abs(x) >= 2.0 ** -12 or x == 0:
        assert error == 0


@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(-1e5, 1e5)), min_size=1, max_size=40),
       st.floats(-100, 100))
@settings(max_examples=200, deadline=None)
def test_fixed_point_score_is_within_the_documented_bound(pairs, b):
    w = [p[0] for p in pairs]
    x = [p[1] for p in pairs]
    server = LinearServer((np.array(w), b))
    s = server.plaintext_score(x)
    assert abs(Fraction(s) - exact_score(w, b, x)) <= Fraction(score_error_bound(w, b, x))


def test_extreme_inputs_at_the_domain_edge(client):
    w = np.array([1e-3, -2.5, 0.75, -1e-12, 3.0])
    b = -0.25
    x = [2.0 ** 20 - 1, -(2.0 ** 20 - 1), -123456.789, 1e-300, -3e-7]
    server = LinearServer((w, b))
    score, proba = score_encrypted(client, server, dict(zip(server.feature_names, x, strict=True)))
    assert abs(Fraction(score) - exact_score(w, b, x)) <= Fraction(score_error_bound(w, b, x))
    assert score > 2e6 and proba[1] == 1.0 and proba[0] == 0.0  # expit saturates, as in sklearn
    for bad in (2.0 ** 20, -(2.0 ** 20)):
        with pytest.raises(em.DomainError, match="x1"):
            encrypt_float64(client, {"x0": 0.0, "x1": bad})


# ------------------------------------------------------------ agreement with sklearn
def test_heart_every_row(client, heart, heart_pipe, heart_server):
    X, _ = heart
    check_agreement(client, heart_pipe, X, heart_server)


def test_breast_cancer_sample(client):
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
    rows = np.sort(np.random.default_rng(0).choice(len(X), size=150, replace=False))
    check_agreement(client, model, X.iloc[rows])


def test_synthea_every_row(client):
    X, y, _ = em.load_synthea(data_dir() / "synthea_sample", missing="median")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    check_agreement(client, model, X)


def test_plain_logistic_regression_negative_and_large_inputs(client):
    Xa, y = make_classification(n_samples=300, n_features=5, n_informative=3, random_state=1)
    Xa = Xa * np.array([1e4, -3e3, 1.0, 1e-3, 5e4]) + np.array([-2e5, 0.0, -7.5, 0.0, 3e5])
    X = pd.DataFrame(Xa, columns=[f"f{i}" for i in range(5)])
    assert (X.to_numpy() < 0).any() and np.abs(X.to_numpy()).max() > 4e5
    model = LogisticRegression(max_iter=5000).fit(X, y)
    check_agreement(client, model, X.iloc[:40])


def test_folding_the_scaler_equals_the_pipeline(heart, heart_pipe):
    X, _ = heart
    coef, intercept = fold_standard_scaler(*[step for _, step in heart_pipe.steps])
    p = 1.0 / (1.0 + np.exp(-(X.to_numpy() @ coef + intercept)))
    assert np.max(np.abs(p - heart_pipe.predict_proba(X)[:, 1])) <= TOL
    scaler = StandardScaler(with_mean=False).fit(X)
    lr = LogisticRegression(max_iter=1000).fit(scaler.transform(X), heart[1])
    coef, intercept = fold_standard_scaler(scaler, lr)
    p = 1.0 / (1.0 + np.exp(-(X.to_numpy() @ coef + intercept)))
    assert np.max(np.abs(p - lr.predict_proba(scaler.transform(X))[:, 1])) <= TOL


# ------------------------------------------------------------------ the messages
def test_query_and_reply_wire_format(client, heart, heart_server):
    X, _ = heart
    query = encrypt_float64(client, X.iloc[0])
    data = json.loads(query.to_json())
    assert data["type"] == "query" and data["scale_bits"] == INPUT_FRAC_BITS
    assert data["features"] == list(X.columns)
    assert LinearQuery.from_json(query.to_json()) == query
    reply = heart_server.evaluate(query)
    data = json.loads(reply.to_json())
    assert data["type"] == "linear-reply" and data["scale_bits"] == SCORE_FRAC_BITS
    assert data["key_id"] == client.public_key.key_id and data["key_bits"] == client.key_bits
    assert isinstance(data["ciphertext"], str) and data["output"] == "exact"
    assert len(data["ciphertext"]) == 4 * math.ceil(client.public_key.ciphertext_bytes / 3)
    assert LinearReply.from_json(reply.to_json()) == reply
    assert decrypt_score(client, reply) == decrypt_score(client, reply.to_json())


def test_replies_are_rerandomised_even_with_a_forged_hs(client, heart, heart_server):
    X, _ = heart
    query = encrypt_float64(client, X.iloc[3])
    forged = json.loads(query.to_json())
    forged["public_key"]["hs"] = "1"  # a DJN base h_s = 1 would make re-randomising a no-op
    a, b = heart_server.evaluate(forged), heart_server.evaluate(forged)
    assert a.ciphertext != b.ciphertext
    assert decrypt_score(client, a) == decrypt_score(client, b) == heart_server.plaintext_score(X.iloc[3])


def test_chosen_records_reveal_the_fixed_point_weights_exactly(client):
    w, b = np.array([0.3, -1.7, 2.2e-3, 5.0]), 0.125
    server = LinearServer((w, b))
    names = server.feature_names

    def raw(x):  # what a curious client decrypts: the integer S itself
        reply = server.evaluate(encrypt_float64(client, dict(zip(names, x, strict=True))))
        return client.private_key.decrypt_signed(reply.ciphertext)

    S0 = raw([0.0] * 4)
    W = [(raw(np.eye(4)[i]) - S0) >> INPUT_FRAC_BITS for i in range(4)]
    assert W == server._W and S0 == server._B  # d + 1 = 5 queries: the model, exactly


# ------------------------------------------------------------------ the defences
def test_noisy_output_is_noise_at_full_resolution(client, heart, heart_pipe):
    X, _ = heart
    server = LinearServer(heart_pipe, output="noisy", noise_scale=0.1)
    query = encrypt_float64(client, X.iloc[5])
    exact = LinearServer(heart_pipe).plaintext_score(X.iloc[5])
    raws, scores = [], []
    for _ in range(30):
        reply = server.evaluate(query)
        assert reply.output == "noisy" and reply.noise_scale == 0.1
        raws.append(client.private_key.decrypt_signed(reply.ciphertext))
        scores.append(decrypt_score(client, reply))
    deviation = np.array(scores) - exact
    assert np.all(np.abs(deviation) <= 0.6 + 1e-12) and np.all(deviation != 0)
    assert 0.05 < deviation.std() < 0.16
    assert len({S % (1 << 64) for S in raws}) == 30  # low bits random too: nothing to read there


def test_rounded_output_is_a_client_side_policy(client, heart, heart_pipe):
    X, _ = heart
    server = LinearServer(heart_pipe, output="rounded", decimals=2)
    reply = server.evaluate(encrypt_float64(client, X.iloc[7]))
    exact = LinearServer(heart_pipe).plaintext_score(X.iloc[7])
    assert decrypt_score(client, reply) == round(exact, 2)
    # ... but the ciphertext holds the exact score: no defence against a malicious client.
    assert decode_score(client.private_key.decrypt_signed(reply.ciphertext)) == exact
    assert LinearReply.from_json(reply.to_json()).decimals == 2


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "high", None])
def test_bad_values_are_refused_naming_the_feature(client, bad):
    with pytest.raises(em.DomainError, match="chol"):
        encrypt_float64(client, {"age": 50.0, "chol": bad})


def test_missing_feature(client, heart, heart_server):
    X, _ = heart
    record = X.iloc[0].drop("thalach")
    with pytest.raises(em.MissingFeatureError, match="thalach"):
        heart_server.evaluate(encrypt_float64(client, record))


def test_multiclass_and_unfitted_models(heart):
    X, y = heart
    y3 = np.asarray(y) + (X["age"].to_numpy() > 60)
    with pytest.raises(ValueError, match="binary"):
        LinearServer(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y3))
    with pytest.raises(ValueError, match="binary"):
        LinearServer(LogisticRegression(max_iter=1000).fit(StandardScaler().fit_transform(X), y3))
    with pytest.raises(ValueError, match="binary"):
        LinearServer((np.ones((3, 4)), np.zeros(3)))
    with pytest.raises(em.ModelNotFittedError):
        LinearServer(LogisticRegression())
    with pytest.raises(em.ModelNotFittedError):
        LinearServer(make_pipeline(StandardScaler(), LogisticRegression()))
    with pytest.raises(TypeError):
        LinearServer("a model")
    with pytest.raises(em.DomainError, match="plaintext space"):
        LinearServer((np.array([1e300]), 0.0))
    with pytest.raises(em.DomainError, match="plaintext space"):
        LinearServer((np.array([1e280]), 0.0))


def test_reply_for_another_key_or_query(client, heart, heart_server):
    X, _ = heart
    other = make_client()
    reply = heart_server.evaluate(encrypt_float64(other, X.iloc[0]))
    with pytest.raises(em.KeyMismatchError):
        decrypt_score(client, reply.to_json())
    stray = heart_server.evaluate(encrypt_float64(client, X.iloc[0]))
    stray.query_id = "0" * 32
    with pytest.raises(em.QueryMismatchError):
        decrypt_score(client, stray)


def test_malformed_messages(client, heart, heart_server):
    X, _ = heart
    with pytest.raises(em.MalformedMessageError):
        LinearReply.from_json("{not json")
    with pytest.raises(em.MalformedMessageError):
        heart_server.evaluate("[1, 2]")
    reply = heart_server.evaluate(encrypt_float64(client, X.iloc[0]))
    data = reply.to_dict()
    for field, value in [("ciphertext", "@@@"), ("classes", [0]), ("output", "blurred"),
                         ("key_bits", True)]:
        with pytest.raises(em.MalformedMessageError):
            LinearReply.from_json({**data, field: value})
    with pytest.raises(em.ProtocolVersionError):
        LinearReply.from_json({**data, "version": 99})
    with pytest.raises(em.CiphertextRangeError):
        decrypt_score(client, {**data, "ciphertext": LinearReply(
            "x", "y", reply.key_bits, 0, [0, 1]).to_dict()["ciphertext"]})
    # a tree query (float32 x 2**26) must not be scored as if it were scaled by 2**64
    tree_query = client.encrypt(X.iloc[0])
    with pytest.raises(em.MalformedMessageError, match="tree"):
        heart_server.evaluate(tree_query)
    with pytest.raises(em.MalformedMessageError, match="tree"):
        heart_server.evaluate(tree_query.to_json())
    small = json.loads(encrypt_float64(client, X.iloc[0]).to_json())
    small["public_key"] = {"n": str((1 << 511) + 187), "hs": None}
    with pytest.raises(em.KeyTooSmallError):
        heart_server.evaluate(small)


# ------------------------------------------------------------------ extraction
def test_extraction_exact_rounded_noisy(heart, heart_pipe):
    X, _ = heart
    d = X.shape[1]
    df = extraction_curve(heart_pipe, X, [d + 1, 100, 1000], repeats=3, seed=0)
    err = df.pivot(index="queries", columns="defence", values="rel_error")
    assert (err["exact"] < TOL).all()
    for defence in ("rounded-2", "noisy-0.1"):
        e = err[defence].to_numpy()
        assert (e > 1e-6).all() and (e > 1e4 * err["exact"].to_numpy()).all()
        assert e[0] > e[1] > e[2]
    fig = plot_extraction_curve(df)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert any(list(line.get_xdata()) == [d + 1, d + 1] for line in ax.get_lines())


def test_larger_queries_defeat_rounding(heart, heart_pipe):
    X, _ = heart
    small = extraction_curve(heart_pipe, X, [100], defences=("rounded-2",), repeats=3)
    large = extraction_curve(heart_pipe, X, [100], defences=("rounded-2",), repeats=3, input_scale=100)
    assert large["rel_error"].iloc[0] < small["rel_error"].iloc[0] / 20


def test_encrypted_extraction_matches_the_plaintext_oracle(client, heart, heart_pipe):
    X, _ = heart
    d = X.shape[1]
    args = (heart_pipe, X, [d + 1, 20], ("exact", "rounded-2"))
    plain = extraction_curve(*args, seed=3, repeats=1)
    enc = extraction_curve(*args, seed=3, repeats=1, encrypted=True, client=client)
    assert (enc.loc[enc["defence"] == "exact", "rel_error"] < TOL).all()
    rounded = plain["defence"] == "rounded-2"
    np.testing.assert_allclose(enc.loc[rounded, "rel_error"], plain.loc[rounded, "rel_error"], rtol=1e-6)
    noisy = extraction_curve(heart_pipe, X, [d + 1], ("noisy-0.1",), repeats=1, encrypted=True,
                             client=client)
    assert noisy["rel_error"].iloc[0] > 1e-4


def test_extraction_arguments():
    oracle = plaintext_oracle(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="d \\+ 1"):
        extract_linear_model(oracle, 3, 3, np.random.default_rng(0))
    w_hat, b_hat = extract_linear_model(oracle, 3, 4, np.random.default_rng(0))
    np.testing.assert_allclose(w_hat, np.ones(3), atol=1e-12)
    with pytest.raises(ValueError, match="defence"):
        extraction_curve((np.ones(3), 0.0), np.zeros((5, 3)), [10], defences=("blurred",))
    with pytest.raises(ValueError, match="client"):
        extraction_curve((np.ones(3), 0.0), np.zeros((5, 3)), [10], encrypted=True)
    assert fixed_point_score([2, -3], [5, 7], 1) == -10


# --------------------------------------------------- hostile messages (issue 12)
@pytest.mark.parametrize("value", [10 ** 400, 1e400, float("nan"), "abc", None, True, -0.1, 0, 2 ** 21])
def test_linear_server_refuses_noise_scale_nonsense_with_a_named_error(value):
    with pytest.raises(em.DomainError, match="noise_scale"):
        LinearServer((np.ones(3), 0.0), output="noisy", noise_scale=value)


@pytest.mark.parametrize("literal", ["1" + "0" * 400, "1e400", "NaN", '"abc"', "null", "true", "-1", "0",
                                     "10000000"])
def test_linear_reply_refuses_noise_scale_nonsense(client, heart, literal):
    X, _ = heart
    server = LinearServer((np.ones(13) * 0.01, 0.0), list(X.columns), output="noisy")
    data = server.evaluate(encrypt_float64(client, X.iloc[0])).to_dict()
    text = json.dumps(data).replace(f'"noise_scale": {data["noise_scale"]}', f'"noise_scale": {literal}')
    assert literal in text
    with pytest.raises(em.MalformedMessageError, match="noise_scale|number"):
        decrypt_score(client, text)


@pytest.mark.parametrize("field, value", [
    ("key_bits", "1024"), ("key_bits", 10 ** 70), ("key_bits", 3), ("scale_bits", True), ("scale_bits", None),
    ("decimals", True), ("classes", [0, [1]]), ("classes", [1, 1]), ("ciphertext", "A" * 5000),
    ("query_id", 5), ("key_id", ["x"]),
])
def test_linear_reply_fields_are_checked(client, heart, heart_server, field, value):
    X, _ = heart
    data = heart_server.evaluate(encrypt_float64(client, X.iloc[0])).to_dict()
    data[field] = value
    if field == "decimals":
        data["output"] = "rounded"
    with pytest.raises(em.MalformedMessageError, match=field):
        LinearReply.from_json(data)


@pytest.mark.parametrize("n", ["0", "1", "-5", "abc", "9" * 10_000, 77])
def test_linear_query_bad_modulus_is_malformed(client, heart, heart_server, n):
    X, _ = heart
    data = json.loads(encrypt_float64(client, X.iloc[0]).to_json())
    data["public_key"] = {"n": n}
    with pytest.raises(em.MalformedMessageError, match="public_key.n"):
        heart_server.evaluate(data)


def test_linear_query_scale_bits_must_be_an_int_not_a_bool(client, heart, heart_server):
    X, _ = heart
    data = json.loads(encrypt_float64(client, X.iloc[0]).to_json())
    data["scale_bits"] = True
    with pytest.raises(em.MalformedMessageError, match="scale_bits"):
        heart_server.evaluate(data)
    assert LinearQuery.from_json(encrypt_float64(client, X.iloc[0]).to_json()).scale_bits == INPUT_FRAC_BITS


def test_linear_rejected_query_leaves_the_key_cache_unchanged(heart, heart_pipe):
    X, _ = heart
    server, stranger = LinearServer(heart_pipe), make_client()
    bad = encrypt_float64(stranger, X.iloc[0])
    bad.ciphertexts[0] = int(stranger.public_key.nsquare) + 5
    with pytest.raises(em.CiphertextRangeError):
        server.evaluate(bad.to_json())
    missing = encrypt_float64(stranger, X.iloc[0].drop("age"))
    with pytest.raises(em.MissingFeatureError):
        server.evaluate(missing)
    assert server.client_keys._keys == {}
    score, _ = score_encrypted(stranger, server, X.iloc[0])
    assert list(server.client_keys._keys) == [str(int(stranger.public_key.n))]
    assert abs(score - server.plaintext_score(X.iloc[0].to_numpy())) <= TOL


def test_linear_reply_object_built_in_python_is_validated(client, heart, heart_server):
    X, _ = heart
    reply = heart_server.evaluate(encrypt_float64(client, X.iloc[0]))
    reply.output, reply.decimals = "rounded", None
    with pytest.raises(em.MalformedMessageError, match="decimals"):
        decrypt_score(client, reply)
    reply.output, reply.ciphertext = "exact", "not an int"
    with pytest.raises(em.MalformedMessageError, match="ciphertext"):
        decrypt_score(client, reply)
