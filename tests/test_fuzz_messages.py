"""Fuzzing every wire message: a named error or a correct result, and a rejected message changes nothing.

Property tests (hypothesis) over every message type of the protocols: the tree
protocol's query and reply, label-only mode's ``lo-query``, ``lo-comparisons``,
``lo-answers`` and ``lo-reply``, and the linear protocol's query and reply.  Each
*target* is one entry point that reads a message (each message class's
``from_json``, ``TreeServer.evaluate``, ``Client.decrypt``, ``LabelOnlyServer.evaluate``
and ``finish``, ``Client.answer``, ``LinearServer.evaluate``, ``decrypt_score``), fed
with five families of input:

* random JSON objects, biased towards the right envelope and field names;
* valid messages mutated 1-3 times (a field deleted, replaced by random or
  hostile JSON, or its string perturbed; a field added);
* valid JSON text with characters inserted, deleted or replaced;
* valid JSON text cut short (always a :class:`MalformedMessageError`);
* random bytes.

Every call must either raise an :class:`~encmed_lib.errors.EncmedError`, with
the client's issued ids and randomiser pool, the servers' key caches and the
label-only server's pending queries exactly as before, or return a correct
result: a parsed message equal to its own round trip, a label among the
reply's classes (the true label when the mutation left the reply's meaning
unchanged), a finite score (the true one likewise), a reply or comparisons for
the query's id with one value per node, answers or leaves of the right number.
Anything else (an IndexError, a RecursionError, a ValueError from ``int``)
fails the test.

Speed is not asserted here (no timing assertions in tests): the slowest call
of each target is reported by the long run.

Running it
==========

``python -m pytest tests/test_fuzz_messages.py`` runs a bounded number of
examples per case (:data:`EXAMPLES`, about 20 s in all).  Maintainers run many
more with ``make fuzz``, which sets ``ENCMED_FUZZ_EXAMPLES`` (examples per case;
the Makefile's default gives a run of a few minutes) and prints hypothesis's
statistics and the slowest call per target.  ``ENCMED_FUZZ_EXAMPLES=N pytest ...``
does the same by hand.  Failures print the shrunk input; no example database is
kept, so runs do not depend on one another.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import encmed_lib as em
from encmed_lib.errors import EncmedError, MalformedMessageError
from encmed_lib.protocol.label_only import Answers, Comparisons, LabelQuery, LabelReply, answer_comparisons
from encmed_lib.protocol.linear import LinearQuery, LinearReply, LinearServer, decrypt_score, encrypt_float64

EXAMPLES = int(os.environ.get("ENCMED_FUZZ_EXAMPLES") or 12)
"""Examples per (target, input family) case: 12 by default, ``ENCMED_FUZZ_EXAMPLES`` for the long run."""

LONG_RUN = "ENCMED_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not LONG_RUN,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
SLOWEST: dict[str, float] = {}
CALLS: dict[str, int] = {}
ACCEPTED: dict[str, int] = {}


# ------------------------------------------------------------------ the world
@functools.cache
def world() -> dict:
    """One client, the servers and one valid message of each type (built once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = em.Client(key_bits=1024)
    X, y = em.load_heart()
    record = X.iloc[11]
    tree = em.train_tree(X, y, max_depth=3, random_state=0)
    server = em.TreeServer(tree)
    label_server = em.TreeServer(tree, mode="label-only")
    linear = LinearServer(_linear_model(X, y))
    query = client.encrypt(record)
    reply = server.evaluate(query)
    label_query = client.encrypt_label_only(record, label_server.schema)
    comparisons = label_server.evaluate(label_query)
    answers = answer_comparisons(client, comparisons)
    label_reply = label_server.finish(answers)
    linear_query = encrypt_float64(client, record)
    linear_reply = linear.evaluate(linear_query)
    messages = {"query": query.to_dict(), "reply": reply.to_dict(), "lo-query": label_query.to_dict(),
                "lo-comparisons": comparisons.to_dict(), "lo-answers": answers.to_dict(),
                "lo-reply": label_reply.to_dict(), "linear-query": linear_query.to_dict(),
                "linear-reply": linear_reply.to_dict()}
    return {"client": client, "server": server, "label_server": label_server, "linear": linear,
            "classes": list(tree.classes_), "label": tree.predict(X.iloc[[11]])[0],
            "score": decrypt_score(client, linear_reply), "messages": messages}


def no_pending_query() -> None:
    """Let the world's lo-query be evaluated again (a query id is refused while its answers are pending)."""
    w = world()
    w["label_server"]._pending.pop(w["messages"]["lo-query"]["query_id"], None)


def pending_answers() -> None:
    """Make the label-only server wait for the answers of the world's lo-query again (``finish`` consumes it).

    A fresh evaluation draws a new order and new signs: the world's ``lo-answers`` (proven bits for
    the old ones) is still a well-formed message, and ``finish`` must accept it (it cannot tell).
    """
    w = world()
    query = w["messages"]["lo-query"]
    if query["query_id"] not in w["label_server"]._pending:
        w["label_server"].evaluate(query)


def _linear_model(X, y):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


def state() -> tuple:
    """Everything a rejected message must leave as it was."""
    w = world()
    return (frozenset(w["client"]._issued), len(w["client"].pool),
            tuple(w["server"].client_keys._keys), tuple(w["label_server"].keys._keys),
            tuple(w["linear"].client_keys._keys), tuple(w["label_server"]._pending))


# ------------------------------------------------------------------ targets
def _round_trip(result) -> None:
    assert type(result).from_json(result.to_json()) == result


def _same(message, parse: Callable, fields: tuple[str, ...], original: str) -> bool:
    """Whether ``message`` parses to the same ``fields`` as the valid message ``original``."""
    try:
        got, ref = parse(message), parse(world()["messages"][original])
    except EncmedError:
        return False
    return all(getattr(got, f) == getattr(ref, f) for f in fields)


def _check_label(message, label) -> None:
    w = world()
    assert label in w["classes"]
    if _same(message, em.Reply.from_json, ("packs", "tree", "n_values", "packed", "slot_bits"), "reply"):
        assert label == w["label"]


def _check_label_only(message, label) -> None:
    reply = LabelReply.from_json(message)
    assert label in reply.classes
    if _same(message, LabelReply.from_json, ("leaves", "classes"), "lo-reply"):
        assert label == world()["label"]


def _check_score(message, score) -> None:
    assert isinstance(score, float) and math.isfinite(score)
    if _same(message, LinearReply.from_json, ("ciphertext", "output", "decimals", "scale_bits"),
             "linear-reply"):
        assert score == world()["score"]


def _check_evaluated(message, reply) -> None:
    reply.validate()
    assert reply.query_id == em.Query.from_json(message).query_id


def _check_groups(message, comparisons) -> None:
    layout = world()["label_server"].layout
    assert len(comparisons.groups) == layout.n_comparisons
    assert comparisons.query_id == LabelQuery.from_json(message).query_id


def _check_answers(message, answers) -> None:
    assert len(answers.answers) == len(Comparisons.from_json(message).groups) == len(answers.proofs)


def _check_leaves(message, reply) -> None:
    assert len(reply.leaves) == world()["label_server"].layout.n_leaves
    assert reply.query_id == Answers.from_json(message).query_id


@dataclass(frozen=True)
class Target:
    """An entry point fed with messages of one kind, and the check of what it returns."""

    message: str
    call: Callable[[Any], Any]
    check: Callable[[Any, Any], None]
    prepare: Callable[[], None] | None = None


def _parsed(cls) -> Target:
    return Target(KINDS[cls], cls.from_json, lambda m, r: _round_trip(r))


KINDS = {em.Query: "query", em.Reply: "reply", LabelQuery: "lo-query", Comparisons: "lo-comparisons",
         Answers: "lo-answers", LabelReply: "lo-reply", LinearQuery: "linear-query",
         LinearReply: "linear-reply"}

TARGETS = {
    **{f"{cls.__name__}.from_json": _parsed(cls) for cls in KINDS},
    "TreeServer.evaluate": Target("query", lambda m: world()["server"].evaluate(m), _check_evaluated),
    "Client.decrypt": Target("reply", lambda m: world()["client"].decrypt(m), _check_label),
    "LabelOnlyServer.evaluate": Target("lo-query", lambda m: world()["label_server"].evaluate(m),
                                       _check_groups, prepare=no_pending_query),
    "Client.answer": Target("lo-comparisons", lambda m: world()["client"].answer(m), _check_answers),
    "LabelOnlyServer.finish": Target("lo-answers", lambda m: world()["label_server"].finish(m),
                                     _check_leaves, prepare=pending_answers),
    "Client.decrypt(label-only)": Target("lo-reply", lambda m: world()["client"].decrypt(m),
                                         _check_label_only),
    "LinearServer.evaluate": Target("linear-query", lambda m: world()["linear"].evaluate(m),
                                    lambda m, r: _round_trip(r)),
    "decrypt_score": Target("linear-reply", lambda m: decrypt_score(world()["client"], m), _check_score),
}


def run(name: str, message, *, must_fail: bool = False):
    """Feed ``message`` to target ``name``: a named error with the state unchanged, or a checked result."""
    target = TARGETS[name]
    if target.prepare is not None:
        target.prepare()
    before = state()
    start = time.perf_counter()
    try:
        result = target.call(message)
    except EncmedError:
        assert state() == before, f"{name} changed the state while rejecting the message"
        return None
    finally:
        SLOWEST[name] = max(SLOWEST.get(name, 0.0), time.perf_counter() - start)
        CALLS[name] = CALLS.get(name, 0) + 1
    assert not must_fail, f"{name} accepted a message that must be refused: {result!r}"[:500]
    target.check(message, result)
    ACCEPTED[name] = ACCEPTED.get(name, 0) + 1
    return result


@pytest.fixture(scope="module", autouse=True)
def report_slowest():
    yield
    if LONG_RUN:
        print(f"\nfuzz: {sum(CALLS.values())} calls, {sum(ACCEPTED.values())} accepted and checked")
        for name in sorted(SLOWEST):
            print(f"  {name:28s} {CALLS[name]:7d} calls {ACCEPTED.get(name, 0):6d} accepted   slowest "
                  f"{1000 * SLOWEST[name]:7.2f} ms")


# ------------------------------------------------------------------ inputs
FIELD_NAMES = sorted({"protocol", "version", "type", "query_id", "key_id", "key_bits", "public_key", "n",
                      "proof", "features", "ciphertexts", "ciphertext", "packs", "n_values", "tree",
                      "nodes", "classes", "left", "right", "slot", "label", "distribution", "packed",
                      "slot_bits", "scale_bits", "mode", "blinding", "output", "decimals", "noise_scale",
                      "schema_id", "bits", "proofs", "groups", "answers", "leaves", "g", "u"})


def _deep(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


HUGE = "<10**5000>"
"""Stands for ``10**5000`` in :data:`HOSTILE` (hypothesis cannot print an int of 5,000 digits)."""

HOSTILE = [0, 1, -1, 2, 7, 2 ** 31, 2 ** 63, -(2 ** 63), 10 ** 30, 10 ** 70, HUGE, True, False, None,
           0.5, -0.0, 1e308, 7.0, "", "abc", "0", "1", "-1", "007", "9" * 5000, "A" * 5000, "%%%", "AAAA",
           "\ud800", "é", [], {}, [0], [-1], ["a", "a"], {"n": "1"}, _deep(40), _deep(5)]
"""Values that broke or could break a parser: huge, negative, boolean, deep, a lone surrogate."""


def _realise(value):
    return 10 ** 5000 if value == HUGE else copy.deepcopy(value)


hostile = st.sampled_from(HOSTILE).map(_realise)

json_leaf = (st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
             | hostile)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), inner,
                                            max_size=4), max_leaves=8)


def envelope(kind: str) -> st.SearchStrategy:
    """Random objects with the right envelope (or a random one): they reach the field checks."""
    wire_type = {"linear-query": "query"}.get(kind, kind)  # every other kind is its type
    base = st.fixed_dictionaries({"protocol": st.just("encmed-tree") | json_leaf,
                                  "version": st.just(1) | json_leaf,
                                  "type": st.just(wire_type) | json_leaf})
    extra = st.dictionaries(st.sampled_from(FIELD_NAMES), json_value, max_size=6)
    return st.builds(lambda b, e: {**e, **b} if b["protocol"] == "encmed-tree" else {**b, **e}, base, extra)


def _slots(value, out: list) -> list:
    """Every ``(container, key)`` in a JSON value, depth first."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        out.append((value, key))
        _slots(item, out)
    return out


def _perturb(text: str, draw) -> str:
    if not text:
        return draw(st.sampled_from(["0", "A", "\ud800"]))
    i = draw(st.integers(0, len(text) - 1))
    how = draw(st.sampled_from(["flip", "cut", "grow"]))
    if how == "flip":
        return text[:i] + draw(st.sampled_from("0179AZaz+/=-%é ")) + text[i + 1:]
    return text[:i] if how == "cut" else text + text[i:]


@st.composite
def mutated(draw, kind: str) -> dict:
    """A valid message of ``kind`` changed in 1 to 3 places."""
    message = copy.deepcopy(world()["messages"][kind])
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(message, [])
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        action = draw(st.sampled_from(["delete", "hostile", "random", "perturb", "add", "number"]))
        value = container[key]
        if action == "delete":
            del container[key]
        elif action == "hostile":
            container[key] = draw(hostile)
        elif action == "random":
            container[key] = draw(json_value)
        elif action == "perturb" and isinstance(value, str):
            container[key] = _perturb(value, draw)
        elif action == "number" and isinstance(value, int) and not isinstance(value, bool):
            container[key] = value + draw(st.sampled_from([-2, -1, 1, 2, 10 ** 9]))
        elif isinstance(container, dict):
            container[draw(st.sampled_from(FIELD_NAMES) | st.text(max_size=5))] = draw(json_value)
        else:
            container.append(copy.deepcopy(value))
    return message


@st.composite
def mutated_text(draw, kind: str) -> str:
    """The JSON text of a valid message with 1 to 4 characters inserted, deleted or replaced."""
    text = json.dumps(world()["messages"][kind], separators=draw(st.sampled_from([(", ", ": "), (",", ":")])),
                      sort_keys=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        how = draw(st.sampled_from(["insert", "delete", "replace"]))
        char = draw(st.sampled_from('{}[]",:0123456789-.eE+ abnrtlsu\\/A=\x00é'))
        if how == "insert":
            text = text[:i] + char + text[i:]
        elif how == "delete":
            text = text[:i] + text[i + 1:]
        else:
            text = text[:i] + char + text[i + 1:]
    return text


# ------------------------------------------------------------------ the properties
NAMES = list(TARGETS)


@pytest.mark.parametrize("name", NAMES)
def test_valid_messages_give_correct_results_in_every_form(name):
    message = world()["messages"][TARGETS[name].message]
    text = json.dumps(message)
    compact = json.dumps(message, separators=(",", ":"), sort_keys=True)
    for form in (message, text, text.encode(), compact):
        assert run(name, copy.deepcopy(form)) is not None


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_random_json_objects_are_refused_or_handled(name, data):
    run(name, data.draw(envelope(TARGETS[name].message)))


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_messages_give_a_named_error_or_a_correct_result(name, data):
    message = data.draw(mutated(TARGETS[name].message))
    run(name, message)
    try:  # the same as UTF-8 bytes (a lone surrogate gives invalid UTF-8); 10**5000 cannot be written
        raw = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except ValueError:
        return
    run(name, raw)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_text_gives_a_named_error_or_a_correct_result(name, data):
    run(name, data.draw(mutated_text(TARGETS[name].message)))


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_truncated_messages_are_malformed(name, data):
    text = json.dumps(world()["messages"][TARGETS[name].message])
    cut = data.draw(st.integers(0, len(text) - 1))
    with pytest.raises(MalformedMessageError):
        TARGETS[name].call(text[:cut])  # nothing to prepare: a cut message is refused by the parser
    run(name, text[:cut].encode(), must_fail=True)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=100))
def test_random_bytes_and_text_are_refused(name, raw):
    run(name, raw, must_fail=True)
