"""Tests of encmed_lib.crypto.ckks (SquareMLP, client, server, agreement, sizes) and the Paillier table."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

# Platform guard only: TenSEAL is a course dependency, installed here and in CI, so these tests run
# there; they are skipped only where TenSEAL has no wheel (as the notebook's CKKS part is).
ts = pytest.importorskip("tenseal")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from encmed_lib import load_heart, load_synthea  # noqa: E402
from encmed_lib.crypto.ckks import (  # noqa: E402
    CKKS_PARAMETERS,
    RELATIVE_DRIFT,
    TENSEAL_AVAILABLE,
    TENSEAL_MISSING_MESSAGE,
    TOLERANCE,
    CKKSClient,
    CKKSServer,
    SquareMLP,
    ckks_security_bits,
    evaluate_ckks,
    require_tenseal,
)
from encmed_lib.data.paths import data_dir  # noqa: E402
from encmed_lib.errors import (  # noqa: E402
    DomainError,
    MalformedMessageError,
    MissingFeatureError,
    ModelNotFittedError,
    ProtocolError,
)
from encmed_lib.protocol.ckks_comparison import compare_with_paillier  # noqa: E402

# Encrypted rows checked per data set: a sample, to keep the file well under a minute (a round trip
# costs 50-400 ms); the agreement is a property of every row, the sample is enough to catch a break.
N_ENCRYPTED_ROWS = 30
DATASETS = ("heart", "synthea", "breast_cancer")


def _load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    if name == "heart":
        return load_heart()
    if name == "synthea":
        X, y, _ = load_synthea(data_dir() / "synthea_sample", missing="median")
        return X, y
    data = load_breast_cancer(as_frame=True)  # 30 features, bundled with scikit-learn
    return data.data, data.target


@pytest.fixture(scope="module")
def client() -> CKKSClient:
    return CKKSClient()  # default parameters: N = 8192, primes (60, 40, 40, 60)


@pytest.fixture(scope="module", params=DATASETS)
def fitted(request) -> dict:
    X, y = _load(request.param)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = SquareMLP().fit(X_train, y_train)
    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    return {"name": request.param, "model": model, "X_train": X_train, "y_train": y_train,
            "X_test": X_test, "y_test": y_test, "logreg_accuracy": logreg.score(X_test, y_test)}


@pytest.fixture(scope="module")
def results(fitted, client) -> pd.DataFrame:
    return evaluate_ckks(fitted["model"], fitted["X_test"].iloc[:N_ENCRYPTED_ROWS], client)


@pytest.fixture(scope="module")
def heart() -> dict:
    X, y = load_heart()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    model = SquareMLP().fit(X_train, y_train)
    return {"model": model, "server": CKKSServer(model), "X_train": X_train, "y_train": y_train,
            "X_test": X_test}


# ------------------------------------------------------------------------- availability
def test_tenseal_is_available_here_and_the_fallback_message_is_one_line():
    assert TENSEAL_AVAILABLE
    require_tenseal()  # does not raise where TenSEAL is installed
    assert "\n" not in TENSEAL_MISSING_MESSAGE
    assert "notebook 07" in TENSEAL_MISSING_MESSAGE and "unaffected" in TENSEAL_MISSING_MESSAGE


# ---------------------------------------------------------------------------- SquareMLP
def test_square_mlp_is_deterministic_with_a_seed(heart):
    X, y = heart["X_train"], heart["y_train"]
    a = SquareMLP(epochs=200, random_state=3).fit(X, y)
    b = SquareMLP(epochs=200, random_state=3).fit(X, y)
    c = SquareMLP(epochs=200, random_state=4).fit(X, y)
    for wa, wb, wc in zip(a.coefs_, b.coefs_, c.coefs_, strict=True):
        np.testing.assert_array_equal(wa, wb)
        assert not np.array_equal(wa, wc)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))


def test_square_mlp_fit_learns_and_follows_the_scikit_learn_conventions(heart):
    model = heart["model"]
    X = heart["X_test"]
    assert model.loss_curve_[-1] < 0.6 * model.loss_curve_[0]
    assert model.features == list(X.columns) and model.n_features_in_ == 13
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(proba[:, 1] >= 0.5).astype(int)])
    # the network is what the docstring says: sum_j w2_j (x~ W1 + b1)_j^2 + b2
    (W1, w2), (b1, b2) = model.coefs_, model.intercepts_
    z = ((X.to_numpy() - model.mean_) / model.scale_) @ W1 + b1
    np.testing.assert_allclose(model.decision_function(X), (z ** 2) @ w2 + b2)
    # scikit-learn style: clone, string labels, columns in another order
    assert clone(model).get_params()["hidden"] == 8
    labelled = SquareMLP(epochs=50).fit(heart["X_train"], np.where(heart["y_train"] == 1, "ill", "well"))
    assert set(labelled.predict(X)) <= {"ill", "well"}
    np.testing.assert_allclose(model.decision_function(X[X.columns[::-1]]), model.decision_function(X))


def test_square_mlp_errors(heart):
    with pytest.raises(ModelNotFittedError):
        SquareMLP().predict(heart["X_test"])
    with pytest.raises(ModelNotFittedError):
        CKKSServer(SquareMLP())
    with pytest.raises(ValueError, match="exactly 2 classes"):
        SquareMLP().fit(heart["X_train"], np.arange(len(heart["X_train"])) % 3)
    bad = heart["X_test"].copy()
    bad.loc[bad.index[0], "chol"] = np.nan
    with pytest.raises(DomainError, match="chol"):
        heart["model"].decision_function(bad)


def test_square_mlp_accuracy_is_comparable_to_logistic_regression(fitted):
    # Measured on the held-out 30 %: heart 0.881 vs 0.881, Synthea 0.795 vs 0.803,
    # breast cancer 0.953 vs 0.959.  We assert "within 5 points, and well above chance".
    accuracy = fitted["model"].score(fitted["X_test"], fitted["y_test"])
    majority = max(fitted["y_test"].mean(), 1 - fitted["y_test"].mean())
    assert accuracy >= fitted["logreg_accuracy"] - 0.05, (fitted["name"], accuracy, fitted["logreg_accuracy"])
    assert accuracy >= majority + 0.03, (fitted["name"], accuracy, majority)


# ----------------------------------------------------------------------- encrypted agreement
def test_encrypted_scores_agree_with_the_plaintext_network(fitted, results):
    assert len(results) == N_ENCRYPTED_ROWS
    # |Δscore| <= TOLERANCE = 1e-3 on every row (measured: below 3e-5 on the three data sets)
    assert results["abs_error"].max() <= TOLERANCE, results["abs_error"].max()
    np.testing.assert_allclose(results["plaintext_score"],
                               fitted["model"].decision_function(fitted["X_test"].iloc[:N_ENCRYPTED_ROWS]))
    # predictions (threshold 0.5, i.e. score 0) agree, except where the score is within the tolerance
    # of 0, where the sign is not promised: such rows are skipped and counted
    ambiguous = results["plaintext_score"].abs() < TOLERANCE
    assert ambiguous.sum() <= 1
    decided = results[~ambiguous]
    assert (decided["plaintext_label"] == decided["encrypted_label"]).all()


def test_times_and_sizes_are_reported(client, results):
    public = client.public_context()
    assert (results["context_bytes"] == len(public)).all()
    assert (results[["encrypt_ms", "evaluate_ms", "decrypt_ms"]] > 0).all().all()
    # one ciphertext each way: the query (3 primes) is larger than the reply (1 prime left)
    assert (results["query_bytes"] > results["reply_bytes"]).all()
    assert (results["reply_bytes"] > 0).all()
    attrs = results.attrs
    assert attrs["poly_modulus_degree"] == 8192 and attrs["coeff_mod_bit_sizes"] == [60, 40, 40, 60]
    assert attrs["tolerance"] == TOLERANCE and attrs["setup_ms"] > 0 and attrs["input_bound"] > 10


def test_context_sizes_and_the_public_context_has_no_secret_key(client):
    sizes = client.context_sizes()
    assert sizes["public key"] < sizes["+ relinearisation keys"] < sizes["+ Galois keys"]
    assert sizes["+ Galois keys"] == len(client.public_context())
    assert sizes["+ Galois keys"] > 10 * sizes["+ relinearisation keys"]  # Galois keys dominate
    loaded = ts.context_from(client.public_context())
    assert not loaded.has_secret_key() and loaded.is_public()
    assert loaded.has_galois_keys() and loaded.has_relin_keys()
    assert client.levels == 2 and client.modulus_bits == 200
    assert ckks_security_bits(8192, CKKS_PARAMETERS["coeff_mod_bit_sizes"]) == 128


# ---------------------------------------------------------------------- the server's checks
def test_server_refuses_a_context_that_carries_the_secret_key(client, heart):
    query = client.encrypt(heart["X_test"].iloc[0], heart["server"].public_spec())
    private = client.context.serialize(save_secret_key=True, save_galois_keys=False)
    assert ts.context_from(private).has_secret_key()
    with pytest.raises(ProtocolError, match="SECRET KEY") as info:
        heart["server"].evaluate(private, query)
    assert isinstance(info.value, ValueError)


def test_server_refuses_contexts_it_cannot_use(client, heart):
    query = client.encrypt(heart["X_test"].iloc[0], heart["server"].public_spec())
    no_galois = client.context.serialize(save_secret_key=False, save_galois_keys=False)
    with pytest.raises(ProtocolError, match="Galois"):
        heart["server"].evaluate(no_galois, query)
    with pytest.raises(ProtocolError, match="needs 3 levels"):
        CKKSServer(heart["model"], strategy="square").evaluate(client.public_context(), query)
    with pytest.raises(MalformedMessageError):
        heart["server"].evaluate(b"not a context", query)


def test_server_refuses_malformed_queries(client, heart):
    server, public = heart["server"], client.public_context()
    with pytest.raises(MalformedMessageError):
        server.evaluate(public, b"not a ciphertext")
    short = client.encrypt([0.0] * 12)  # 12 values for a 13-feature model
    with pytest.raises(MalformedMessageError, match="13 features"):
        server.evaluate(public, short)


# ----------------------------------------------------------------------- the client's checks
def test_client_names_the_feature_of_a_bad_value(client, heart):
    spec = heart["server"].public_spec()
    record = heart["X_test"].iloc[0].copy()
    for bad, pattern in ((np.nan, "finite"), (math.inf, "finite"), ("high", "number")):
        broken = record.astype(object)
        broken["chol"] = bad
        with pytest.raises(DomainError, match=rf"'chol'.*{pattern}|{pattern}.*'chol'"):
            client.encrypt(broken, spec)
    with pytest.raises(MissingFeatureError, match="thal"):
        client.encrypt(record.drop("thal"), spec)
    far = record.copy()
    far["chol"] = heart["model"].mean_[4] + 2 * spec["input_bound"] * heart["model"].scale_[4]
    with pytest.raises(DomainError, match="'chol'.*standard deviations"):
        client.encrypt(far, spec)
    with pytest.raises(DomainError, match="2\\*\\*20"):
        client.encrypt({"a": 2.0 ** 21})


def test_client_refuses_insecure_or_inconsistent_parameters():
    with pytest.raises(ValueError, match="218"):  # 3 levels do not fit N = 8192 at 128-bit security
        CKKSClient(8192, (60, 40, 40, 40, 60))
    with pytest.raises(ValueError, match="rescaling primes"):
        CKKSClient(8192, (60, 30, 40, 60))
    assert CKKSClient.predict_proba(0.0) == 0.5
    assert CKKSClient.predict_proba(1e6) == 1.0 and CKKSClient.predict_proba(-1e6) == 0.0


def test_client_sends_the_spec_order_and_standardises(client, heart):
    spec = heart["server"].public_spec()
    record = heart["X_test"].iloc[0]
    shuffled = record[record.index[::-1]]
    expected = heart["model"].standardize(heart["X_test"].iloc[[0]])[0]
    np.testing.assert_allclose(client.encode(shuffled, spec), expected)
    decrypted = ts.ckks_vector_from(client.context, client.encrypt(shuffled, spec)).decrypt()
    np.testing.assert_allclose(decrypted, expected, atol=1e-6)


def test_the_input_bound_keeps_every_slot_in_range(client, heart):
    # Records near the published bound (every feature ~0.9 B standard deviations away, random signs):
    # the scores are large, yet they decrypt correctly: no slot overflowed.
    server, model = heart["server"], heart["model"]
    spec = server.public_spec()
    bound = spec["input_bound"]
    assert server.worst_case(bound) <= server.range_limit / 4
    rng = np.random.default_rng(0)
    for _ in range(3):
        z = rng.choice([-1.0, 1.0], size=13) * rng.uniform(0.8, 0.9, size=13) * bound
        record = pd.Series(model.mean_ + z * model.scale_, index=model.features)
        plain = model.decision_function(record.to_frame().T)[0]
        enc = client.decrypt_score(server.evaluate(client.public_context(), client.encrypt(record, spec)))
        assert abs(enc - plain) <= 1e-4 + RELATIVE_DRIFT["fold"] * abs(plain), (enc, plain)


def test_square_strategy_needs_16384_and_agrees(heart):
    # The textbook order (matmul, square, dot: 3 levels) with N = 16384: same scores, larger messages.
    square = evaluate_ckks(heart["model"], heart["X_test"].iloc[:3], strategy="square")
    assert square.attrs["poly_modulus_degree"] == 16384
    assert square["abs_error"].max() <= TOLERANCE
    assert (square["abs_error"] <= 1e-4 + RELATIVE_DRIFT["square"] * square["plaintext_score"].abs()).all()
    assert square["context_bytes"].iloc[0] > 60_000_000  # about 122 MB against 35 MB


# ----------------------------------------------------------------------- Paillier contrast
def test_compare_with_paillier_measures_both_sides(client, heart):
    X_test = heart["X_test"]
    ckks = evaluate_ckks(heart["model"], X_test.iloc[:3], client, server=heart["server"])
    table = compare_with_paillier(heart["model"], heart["X_train"], heart["y_train"], X_test, rows=3,
                                  key_bits=1024, ckks_results=ckks, client=client)
    ckks_col, paillier = table["CKKS (TenSEAL)"], table["Paillier (encmed_lib)"]
    assert "approximate" in ckks_col["arithmetic"] and "exact" in paillier["arithmetic"]
    assert ckks_col["ciphertexts per query"] == 1 and paillier["ciphertexts per query"] == 13
    assert paillier["query per patient (bytes)"] == 13 * 256  # 13 ciphertexts mod n^2 (2048 bits)
    assert paillier["reply per patient (bytes)"] == 256
    assert paillier["public key sent to the server (bytes)"] == 128 + 256  # n and DJN's h_s
    assert ckks_col["public context with relin. + Galois keys (bytes)"] == len(client.public_context())
    assert ckks_col["query per patient (bytes)"] > 10 * paillier["query per patient (bytes)"]
    assert ckks_col["max |score error| vs float64"] <= TOLERANCE
    # exact arithmetic, the linear protocol's encoding (inputs, weights at 2^-64, score at 2^-128) only
    assert paillier["max |score error| vs float64"] < 1e-12
    assert "2^-64" in paillier["arithmetic"] and "2^-128" in paillier["arithmetic"]
    assert ckks_col["security (bits)"] == 128 and paillier["security (bits)"] == 80
    for row in ("encrypt (median ms)", "evaluate (median ms)", "decrypt (median ms)", "key generation (ms)"):
        assert ckks_col[row] > 0 and paillier[row] > 0


def test_without_tenseal_the_module_imports_and_says_so_in_one_line():
    # Where TenSEAL has no wheel: SquareMLP still works, anything CKKS raises the one-line ImportError.
    code = (
        "import sys; sys.modules['tenseal'] = None\n"
        "import numpy as np\n"
        "from encmed_lib.crypto import ckks\n"
        "assert not ckks.TENSEAL_AVAILABLE\n"
        "X = np.random.default_rng(0).normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int)\n"
        "assert ckks.SquareMLP(epochs=20).fit(X, y).predict(X).shape == (60,)\n"
        "try:\n"
        "    ckks.CKKSClient()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == TENSEAL_MISSING_MESSAGE
