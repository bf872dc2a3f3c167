"""The protocol interface and its registry: a toy protocol registered here is picked up everywhere.

The toy ("plaintext-toy") sends the record in clear: the point is the plumbing, not privacy.  It
is registered for the module's tests and unregistered at the end; bench's per-mode measurement
and the evaluation's cost report must measure it without naming it anywhere in the library.
"""

from __future__ import annotations

import json
import math
import warnings

import pandas as pd
import pytest

import encmed_lib as em
from encmed_lib import bench, evaluation
from encmed_lib.errors import MalformedMessageError, ProtocolError, RegistryError
from encmed_lib.protocol import REGISTRY, ProtocolClient, ProtocolEntry, ProtocolServer, register, unregister
from encmed_lib.protocol.base import Trace, run_exchange, to_wire

TOY = "plaintext-toy"


class ToyServer(ProtocolServer):
    """Scores the record in clear; with ``rounds`` it asks the client to confirm that many times."""

    def __init__(self, tree, rounds: int = 0):
        self.tree, self.rounds, self.seen = tree, rounds, []

    def public(self) -> dict:
        return {"internal_nodes": int(self.tree.tree_.node_count // 2), "parameters": "no encryption"}

    def evaluate(self, message):
        self.seen.append(message)
        record = json.loads(message)["record"]
        label = int(self.tree.predict(pd.DataFrame([record]))[0])
        return {"type": "toy-ask" if self.rounds else "toy-reply", "label": label, "left": self.rounds}

    def finish(self, message):
        self.seen.append(message)
        data = json.loads(message)
        left = data["left"] - 1
        return {"type": "toy-ask" if left else "toy-reply", "label": data["label"], "left": left}


class ToyClient(ProtocolClient):
    def encrypt(self, record):
        return {"type": "toy-query", "record": {k: float(v) for k, v in dict(record).items()}}

    def answer(self, message):
        data = json.loads(message)
        return data if data["type"] == "toy-ask" else None

    def decrypt(self, message):
        return json.loads(message)["label"]


@pytest.fixture(scope="module")
def toy():
    entry = register(ProtocolEntry(TOY, "plaintext, for the registry's tests", "tree", server=ToyServer,
                                   client=lambda source, public: ToyClient(), per_key_size=False))
    yield entry
    unregister(TOY)
    assert TOY not in REGISTRY


@pytest.fixture(scope="module")
def data():
    X, y = em.load_heart()
    X_train, X_test, y_train, _ = em.split_data(X, y, random_state=0)
    return em.train_tree(X_train, y_train, max_depth=3, random_state=0), X_test


def test_the_builtin_modes_are_registered_in_order():
    assert list(REGISTRY)[:4] == ["basic", "label-only", "linear", "ckks"]
    assert {REGISTRY[m].model_kind for m in REGISTRY} >= {"tree", "linear", "mlp"}
    assert REGISTRY["ckks"].requires == ("tenseal",) and not REGISTRY["ckks"].per_key_size
    assert list(evaluation.MODES) == list(REGISTRY)


def test_run_exchange_serialises_every_message_and_counts_rounds(toy, data):
    tree, X = data
    client_side, server_side = toy.pair(tree, None, rounds=2)
    trace = Trace()
    label = run_exchange(client_side, server_side, X.iloc[0], trace=trace)
    assert label == tree.predict(X.iloc[[0]])[0]
    assert trace.rounds == 2 and len(server_side.seen) == 3
    assert all(isinstance(m, str) and json.loads(m) for m in server_side.seen)  # only JSON text arrives
    assert set(trace.ms) == {"encrypt", "evaluate", "answer", "finish", "decrypt"}
    assert trace.bytes_to_server == sum(len(m) for m in server_side.seen)


def test_run_exchange_refuses_an_endless_server(toy, data):
    tree, X = data
    client_side, server_side = toy.pair(tree, None, rounds=50)
    with pytest.raises(ProtocolError, match="rounds"):
        run_exchange(client_side, server_side, X.iloc[0], max_rounds=3)


class OneRound(ProtocolServer):
    def evaluate(self, message):
        return {"type": "toy-reply", "label": 0}


def test_a_one_round_server_refuses_a_second_message_and_a_hello():
    server_side = OneRound()
    assert server_side.public() == {} and ToyClient().hello() is None
    with pytest.raises(ProtocolError, match="one round"):
        server_side.finish("{}")
    with pytest.raises(ProtocolError, match="setup"):
        server_side.setup("{}")


def test_to_wire_accepts_json_only():
    assert json.loads(to_wire({"a": 1})) == {"a": 1}
    assert to_wire('{"a": 1}') == '{"a": 1}'
    for bad in (b"\x00raw", "not json", {"a": object()}):
        with pytest.raises(MalformedMessageError):
            to_wire(bad)


def test_registry_refuses_duplicates_unknown_names_and_bad_entries(toy):
    with pytest.raises(RegistryError, match="already registered"):
        register(toy)
    with pytest.raises(RegistryError, match="unknown protocol"):
        REGISTRY["quantum"]
    with pytest.raises(KeyError):  # a Mapping: unknown names are KeyErrors too
        REGISTRY["quantum"]
    with pytest.raises(RegistryError, match="model_kind"):
        ProtocolEntry("x", "", "forest", server=ToyServer, client=ToyClient)
    assert REGISTRY.get("quantum") is None


def test_every_builtin_mode_round_trips_through_the_interface(data):
    tree, X = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = em.Client(1024)
    for name in ("basic", "label-only"):
        client_side, server_side = REGISTRY[name].pair(tree, client)
        labels = [run_exchange(client_side, server_side, X.iloc[i]) for i in range(3)]
        assert labels == list(tree.predict(X.iloc[:3])), name


def test_the_bench_measures_a_registered_protocol(toy, data):
    tree, X = data
    df = bench.measure_protocol(TOY, tree, X.iloc[:4], None, rounds=1)
    assert list(df.index) == list(X.index[:4])
    assert (df["label"] == df["expected"]).all()
    assert (df["rounds"] == 1).all() and (df["client_answer_ms"] > 0).all()
    assert (df["bytes_to_server"] > 0).all() and (df["bytes_to_client"] > 0).all()
    assert df.attrs["mode"] == TOY and df.attrs["public"]["parameters"] == "no encryption"
    one_round = bench.measure_protocol(TOY, tree, X.iloc[:2], None)
    assert one_round["client_answer_ms"].isna().all() and one_round["server_finish_ms"].isna().all()
    assert bench.summarise(df)["agreement"] == "4/4"


def test_the_cost_report_measures_a_registered_protocol(toy):
    report = evaluation.cost_report(
        (1024,), (3, 4), rows=3, label_only_rows=2, agreement_rows=4, modes=[TOY, "basic"], dp_epsilons=(),
        dp_seeds=(), federated_depth=2, federated_key_bits=1024, federated_unpacked=False, throughput_rows=0)
    cost = report["cost"]
    assert list(cost["mode"]) == ["basic", "basic", TOY, TOY]  # Paillier modes per key size first
    toy_rows = cost[cost["mode"] == TOY]
    assert list(toy_rows["max_depth"]) == [3, 4] and toy_rows["key_bits"].isna().all()
    assert (toy_rows["agreement"] == "4/4").all() and (toy_rows["parameters"] == "no encryption").all()
    assert (toy_rows["total_ms"] > 0).all() and toy_rows["client_answer_ms"].isna().all()
    served = report["accuracy"].set_index("model")["served by"]
    assert served["decision tree, max_depth 3"] == f"basic, {TOY}"
    head = evaluation.headline(report)
    assert list(head["mode"]) == ["basic", TOY]
    fig = evaluation.plot_cost_by_depth(cost)  # an unknown mode gets a default style, in every panel
    assert TOY in fig.axes[0].get_legend_handles_labels()[1]
    fig = evaluation.plot_bytes_by_mode(cost)
    assert any(label.get_text().startswith(TOY) for label in fig.axes[0].get_yticklabels())
    assert evaluation.mode_style(TOY) == evaluation.mode_style(TOY) and \
        evaluation.mode_style(TOY) != evaluation.mode_style("basic")
    assert not math.isnan(float(toy_rows["plaintext_ms"].iloc[0]))
