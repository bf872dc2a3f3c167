"""Tests of the validating wire layer (encmed_lib.protocol.wire) and the protocol schemas (.schema).

No key is generated here: the layer is checked on hand-made JSON, so every test
runs in milliseconds.  The protocol-level cases (a malformed reply given to
``Client.decrypt``, a server's key cache) are in test_protocol.py and test_linear.py.
"""

from __future__ import annotations

import json
import re

import pytest

import encmed_lib as em
from encmed_lib.errors import KeyTooSmallError, MalformedMessageError, ProtocolVersionError
from encmed_lib.protocol import schema, wire
from encmed_lib.protocol.messages import MAX_KEY_BITS, Query

ENVELOPE = {"protocol": "encmed-tree", "version": 1, "type": "query"}
N_1024 = str((1 << 1023) + 1155)  # odd, 1024 bits: syntactically a modulus (not a real key)


def message(**fields) -> dict:
    return {**ENVELOPE, **fields}


# ----------------------------------------------------------------- the envelope
def test_str_bytes_and_dict_parse_to_the_same_object():
    data = message(query_id="abc", x=[1, 2.5, "é", None, True])
    text = json.dumps(data)
    assert wire.parse_message(text, kind="query") == data
    assert wire.parse_message(text.encode("utf-8"), kind="query") == data
    assert wire.parse_message(bytearray(text.encode("utf-8")), kind="query") == data
    assert wire.parse_message(data, kind="query") == data


def test_type_is_read_from_the_parsed_field_not_from_the_text():
    data = message(type="reply", note='"type": "label-reply"')
    assert wire.parse_message(json.dumps(data), kind=("reply", "label-reply"))["type"] == "reply"
    compact = json.dumps(dict(data, type="label-reply"), separators=(",", ":"), sort_keys=True)
    assert wire.parse_message(compact, kind=("reply", "label-reply"))["type"] == "label-reply"
    with pytest.raises(MalformedMessageError, match="expected a query, got type='reply'"):
        wire.parse_message(data, kind="query")


@pytest.mark.parametrize("changes, error, phrase", [
    ({"protocol": "other"}, MalformedMessageError, "not an encmed-tree message"),
    ({"version": 2}, ProtocolVersionError, "version 2"),
    ({"version": True}, ProtocolVersionError, "version true"),
    ({"type": None}, MalformedMessageError, "got type=null"),
])
def test_envelope_fields_are_checked_in_order(changes, error, phrase):
    with pytest.raises(error, match=phrase):
        wire.parse_message(message(**changes), kind="query")


@pytest.mark.parametrize("value", [None, 5, 2.5, ["a"], object()])
def test_inputs_that_are_not_text_or_a_dict_are_refused(value):
    with pytest.raises(MalformedMessageError, match="must be JSON text"):
        wire.parse_message(value, kind="query")


@pytest.mark.parametrize("text", ["[1]", '"x"', "3", "null"])
def test_json_that_is_not_an_object_is_refused(text):
    with pytest.raises(MalformedMessageError, match="must be a JSON object, got"):
        wire.parse_message(text, kind="query")


# ----------------------------------------------------------------- raw limits
def test_text_over_max_bytes_is_refused_before_parsing():
    text = json.dumps(message(pad="x" * 2000))
    assert wire.parse_message(text, kind="query", max_bytes=len(text))["pad"] == "x" * 2000
    for form in (text, text.encode()):
        with pytest.raises(MalformedMessageError, match="at most 1000"):
            wire.parse_message(form, kind="query", max_bytes=1000)
    # characters vs bytes: 600 two-byte characters are 1200 bytes
    wide = json.dumps(message(pad="é" * 600), ensure_ascii=False)
    with pytest.raises(MalformedMessageError, match="bytes; at most 1000"):
        wire.parse_message(wide, kind="query", max_bytes=1000)


@pytest.mark.parametrize("depth", [33, 1000, 200_000])
def test_deep_nesting_is_refused_without_recursion_error(depth):
    text = '{"protocol": "encmed-tree", "x": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(MalformedMessageError, match=f"nested {depth + 1} levels deep; at most 32"):
        wire.parse_message(text, kind="query")
    deep: list = []
    for _ in range(depth):
        deep = [deep]
    with pytest.raises(MalformedMessageError, match="nested more than 32 levels"):
        wire.parse_message(message(x=deep), kind="query")


def test_nesting_limit_is_configurable_and_exact():
    data = message(x=[[[["leaf"]]]])  # 5 levels with the object
    assert wire.parse_message(data, kind="query", max_depth=5)["x"] == [[[["leaf"]]]]
    with pytest.raises(MalformedMessageError, match="nested 5 levels deep; at most 4"):
        wire.parse_message(json.dumps(data), kind="query", max_depth=4)


def test_brackets_inside_strings_do_not_count_as_nesting():
    data = message(x="[" * 500 + '\\"{' * 100, y=["]]]}}}"])
    assert wire.parse_message(json.dumps(data), kind="query") == data


def test_a_cyclic_dict_is_refused():
    data = message()
    data["self"] = data
    with pytest.raises(MalformedMessageError, match="nested more than"):
        wire.parse_message(data, kind="query")


@pytest.mark.parametrize("literal", ["9" * 5000, "-" + "1" * 65, "1." + "0" * 100, "1" * 70 + "e5"])
def test_long_number_literals_are_refused_before_conversion(literal):
    text = '{"protocol": "encmed-tree", "version": 1, "type": "query", "n_values": ' + literal + "}"
    with pytest.raises(MalformedMessageError, match=r"number of \d+ characters \(field 'n_values'\)"):
        wire.parse_message(text, kind="query")


def test_huge_python_ints_in_a_dict_are_refused():
    with pytest.raises(MalformedMessageError, match="an integer of 16610 bits"):
        wire.parse_message(message(x=[{"y": 10 ** 5000}]), kind="query")
    with pytest.raises(MalformedMessageError, match="number of 71 characters"):
        wire.parse_message(message(x=10 ** 70), kind="query")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_numbers_are_refused(literal):
    text = '{"protocol": "encmed-tree", "version": 1, "type": "query", "x": ' + literal + "}"
    with pytest.raises(MalformedMessageError, match="finite"):
        wire.parse_message(text, kind="query")
    with pytest.raises(MalformedMessageError, match="not JSON data"):
        wire.parse_message(message(x=float(literal.replace("Infinity", "inf"))), kind="query")


def test_duplicate_keys_are_refused():
    text = '{"protocol": "encmed-tree", "version": 1, "type": "query", "n": "3", "n": "5"}'
    with pytest.raises(MalformedMessageError, match="names the field 'n' twice"):
        wire.parse_message(text, kind="query")


def test_bad_utf8_and_lone_surrogates_are_refused():
    good = json.dumps(message(x="é😀"), ensure_ascii=False)
    assert wire.parse_message(good.encode("utf-8"), kind="query")["x"] == "é😀"
    assert wire.parse_message(json.dumps(message(x="😀")), kind="query")["x"] == "😀"  # a \\ud83d\\ude00 pair
    with pytest.raises(MalformedMessageError, match="not UTF-8 text"):
        wire.parse_message(good.encode("utf-8")[:-3] + b"\xff\"}", kind="query")
    with pytest.raises(MalformedMessageError, match="not UTF-8 text"):
        wire.parse_message(good.encode("utf-16"), kind="query")
    with pytest.raises(MalformedMessageError, match="lone surrogate"):
        wire.parse_message('{"x": "\ud800"}', kind="query")
    with pytest.raises(MalformedMessageError, match="lone surrogate"):
        wire.parse_message('{"protocol": "encmed-tree", "x": "\\udc00"}', kind="query")
    with pytest.raises(MalformedMessageError, match="lone surrogate"):
        wire.parse_message(message(x="\ud800"), kind="query")


@pytest.mark.parametrize("text", ['\\"' * 50_000, '{"a": "' + '\\"' * 50_000, '"\\""' * 30_000])
def test_runs_of_escaped_quotes_are_refused_without_quadratic_scanning(text):
    # a string pattern that must end with a quote retried from every quote: 20 KB took 10 s, 100 KB minutes
    with pytest.raises(MalformedMessageError, match="could not parse"):
        wire.parse_message(text, kind="query")


def test_a_dict_is_held_to_max_bytes_once_written():
    with pytest.raises(MalformedMessageError, match="bytes as JSON; at most 1000"):
        wire.parse_message(message(pad="x" * 2000), kind="query", max_bytes=1000)


def test_an_unterminated_string_is_a_parse_error():
    with pytest.raises(MalformedMessageError, match="could not parse"):
        wire.parse_message('{"protocol": "encmed-tree", "x": "[[[', kind="query")


# ----------------------------------------------------------------- field helpers
def test_field_helpers_name_the_field_and_what_was_expected():
    data = {"a": "text", "b": True, "c": 7, "d": [1, "x"], "e": 2.5}
    with pytest.raises(MalformedMessageError, match="the reply's 'a' field must be an integer, got 'text'"):
        wire.int_field(data, "a", kind="reply")
    with pytest.raises(MalformedMessageError, match="the reply has no 'z' field"):
        wire.int_field(data, "z", kind="reply")
    assert wire.int_field(data, "z", kind="reply", required=False, default=4) == 4
    with pytest.raises(MalformedMessageError, match=r"'c' field must be an integer in \[0, 5\], got 7"):
        wire.int_field(data, "c", kind="reply", min=0, max=5)
    with pytest.raises(MalformedMessageError, match=r"'d\[1\]' field must be an integer, got 'x'"):
        wire.list_field(data, "d", kind="reply", max_len=5, items=int)
    with pytest.raises(MalformedMessageError, match="a list of 0 to 1 items"):
        wire.list_field(data, "d", kind="reply", max_len=1)
    with pytest.raises(MalformedMessageError, match=r"one of \['x', 'y'\]"):
        wire.str_field(data, "a", kind="reply", choices=("x", "y"))
    with pytest.raises(MalformedMessageError, match="matching"):
        wire.str_field(data, "a", kind="reply", pattern=re.compile("[0-9]+"))
    assert wire.number_field(data, "e", kind="reply", max=3) == 2.5
    assert wire.bool_field(data, "b", kind="reply") is True


@pytest.mark.parametrize("helper", [wire.int_field, wire.number_field])
def test_booleans_are_refused_where_numbers_are_expected(helper):
    with pytest.raises(MalformedMessageError, match="got true"):
        helper({"k": True}, "k", kind="reply")
    with pytest.raises(MalformedMessageError, match="must be a boolean, got 1"):
        wire.bool_field({"k": 1}, "k", kind="reply")


def test_number_field_compares_huge_ints_before_converting():
    with pytest.raises(MalformedMessageError, match="an integer of 1329 bits"):
        wire.number_field({"k": 10 ** 400}, "k", kind="reply", max=2 ** 20)
    with pytest.raises(MalformedMessageError, match="finite"):
        wire.number_field({"k": 10 ** 400}, "k", kind="reply")


def test_b64_int_refuses_oversized_text_before_decoding():
    assert wire.b64_int("AQI=", 2) == 0x0102
    with pytest.raises(MalformedMessageError, match="at most 4 .2 bytes"):
        wire.b64_int("A" * 10_000, 2, what="pack")
    with pytest.raises(MalformedMessageError, match="pack is not valid base64"):
        wire.b64_int("%%%=", 8, what="pack")
    with pytest.raises(MalformedMessageError, match="not valid base64"):
        wire.b64_int("AQ\u00e9=", 8)
    with pytest.raises(MalformedMessageError, match="has 3 bytes; at most 2"):
        wire.b64_int("AQID", 2)
    with pytest.raises(MalformedMessageError, match="must be a base64 string, got 5"):
        wire.b64_int(5, 2)


@pytest.mark.parametrize("text", ["", " 12", "+1", "-1", "012", "1_000", "١٢", "²", "0x1f", "1e5"])
def test_decimal_int_accepts_only_canonical_ascii_digits(text):
    with pytest.raises(MalformedMessageError, match="decimal string"):
        wire.decimal_int(text, 100, what="n")


def test_decimal_int_refuses_long_strings_before_int():
    assert wire.decimal_int("0", 1) == 0 and wire.decimal_int("9" * 4000, 4000) == int("9" * 4000)
    with pytest.raises(MalformedMessageError, match="n has 10000 digits; at most 2467"):
        wire.decimal_int("9" * 10_000, schema.MAX_N_DIGITS, what="n")


# ----------------------------------------------------------------- keys
@pytest.mark.parametrize("n, phrase", [
    ("0", "odd integer >= 3"), ("1", "odd integer >= 3"), (str(1 << 1100), "odd integer"),
    ("-" + N_1024, "decimal string"), ("12ab", "decimal string"), ("9" * 10_000, "10000 digits"),
    (str((1 << MAX_KEY_BITS) + 1), f"at most {MAX_KEY_BITS}"), (1 << 1023 | 1, "decimal string"),
    (None, "decimal string"), (True, "decimal string"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else f"{type(v).__name__}-{len(str(v))}")
def test_bad_moduli_are_malformed(n, phrase):
    with pytest.raises(MalformedMessageError, match=phrase):
        schema.parse_public_key({"n": n})


def test_a_short_modulus_is_a_key_too_small_error():
    with pytest.raises(KeyTooSmallError, match="512 bits"):
        schema.parse_public_key({"n": str((1 << 511) + 187)})
    with pytest.raises(KeyTooSmallError, match="3 bits"):
        schema.parse_modulus(5)


def test_proof_is_validated_and_kept_through_a_round_trip():
    proof = ["0", "12345", N_1024]
    key, n = schema.parse_public_key({"n": N_1024, "proof": proof, "hs": None})
    assert key == {"n": N_1024, "proof": proof} and n == int(N_1024)
    query = Query("q1", key, ["age"], [3])
    again = Query.from_json(query.to_json())
    assert again.public_key == {"n": N_1024, "proof": proof}
    assert Query.from_json(again.to_json()) == again


@pytest.mark.parametrize("proof, phrase", [
    ("123", "must be a list"), ([1, 2], "decimal string"), (["1"] * 65, "0 to 64 items"),
    (["9" * (len(N_1024) + 1)], "digits; at most"), (["-1"], "decimal string"), ([None], "decimal string"),
])
def test_bad_proofs_are_refused(proof, phrase):
    with pytest.raises(MalformedMessageError, match=phrase):
        schema.parse_public_key({"n": N_1024, "proof": proof})


# ----------------------------------------------------------------- trees
def leaf(label=0, distribution=None) -> dict:
    return {"label": label} if distribution is None else {"label": label, "distribution": distribution}


def good_tree() -> dict:
    """Root 0 -> (1, 2); node 2 -> (3, 4): two internal nodes, slots 1 and 0."""
    return {"classes": [0, 1], "nodes": [{"left": 1, "right": 2, "slot": 1}, leaf(0, [0.9, 0.1]),
                                         {"left": 3, "right": 4, "slot": 0}, leaf(1), leaf(0)]}


def test_a_well_formed_tree_passes():
    schema.check_tree(good_tree(), 2)
    schema.check_tree({"classes": ["yes"], "nodes": [leaf("yes")]}, 0)  # a single leaf


@pytest.mark.parametrize("change, phrase", [
    (lambda t: t["nodes"][0].update(left=-1), r"nodes\[0\].left' field must be an integer in \[1, 4\]"),
    (lambda t: t["nodes"][0].update(right=5), r"nodes\[0\].right' field must be an integer in \[1, 4\]"),
    (lambda t: t["nodes"][2].update(left=0), r"nodes\[2\].left' field must be an integer in \[1, 4\]"),
    (lambda t: t["nodes"][2].update(left=2), "its own child"),
    (lambda t: t["nodes"][2].update(right=3), "two parents"),
    (lambda t: t["nodes"][2].update(right=1), "two parents"),
    (lambda t: t["nodes"][0].update(slot=-1), r"slot' field must be an integer in \[0, 1\]"),
    (lambda t: t["nodes"][0].update(slot=2), r"slot' field must be an integer in \[0, 1\]"),
    (lambda t: t["nodes"][0].update(slot=0), "share slot 0"),
    (lambda t: t["nodes"][0].update(slot=True), "got true"),
    (lambda t: t["nodes"][0].update(left=1.0), "got 1.0"),
    (lambda t: t["nodes"][3].update(label=7), "label 7 is not one of the classes"),
    (lambda t: t["nodes"][3].update(label=[1]), "string or a number"),
    (lambda t: t["nodes"][3].pop("label"), "neither children nor a 'label'"),
    (lambda t: t["nodes"][3].update(slot=0), "both children and a label"),
    (lambda t: t["nodes"][3].update(label=None, slot=0), "both children and a label"),
    (lambda t: t["nodes"][0].update(label=0), "both children and a label"),
    (lambda t: t["nodes"].__setitem__(4, "leaf"), r"nodes\[4\] must be an object"),
    (lambda t: t["nodes"][1].update(distribution=[1.0]), "a list of 2 to 2 items"),
    (lambda t: t["nodes"][1].update(distribution=[-1.0, 2.0]), r"distribution\[0\]"),
    (lambda t: t["nodes"][1].update(distribution=["a", 1]), r"distribution\[0\]"),
    (lambda t: t.update(classes=[0, 0]), "must be distinct"),
    (lambda t: t.update(classes=[]), "1 to 1024 items"),
    (lambda t: t.update(classes=[None, 1]), "string or a number"),
    (lambda t: t.update(nodes=[]), "1 to 131072 items"),
    (lambda t: t.pop("nodes"), "has no 'tree.nodes' field"),
])
def test_malformed_trees_are_refused_naming_the_node(change, phrase):
    tree = good_tree()
    change(tree)
    with pytest.raises(MalformedMessageError, match=phrase):
        schema.check_tree(tree, 2)


def test_detached_cycles_and_slot_counts_are_refused():
    tree = good_tree()  # make 3 and 4 a detached two-node cycle, node 2 a leaf
    tree["nodes"][2] = leaf(1)
    tree["nodes"][3] = {"left": 4, "right": 4, "slot": 0}
    with pytest.raises(MalformedMessageError, match="two parents"):
        schema.check_tree(tree, 2)
    tree["nodes"] = [{"left": 1, "right": 2, "slot": 0}, leaf(0), leaf(1),
                     {"left": 4, "right": 5, "slot": 1}, {"left": 3, "right": 6, "slot": 2}, leaf(0), leaf(1)]
    with pytest.raises(MalformedMessageError, match="not reached from the root"):
        schema.check_tree(tree, 3)
    with pytest.raises(MalformedMessageError, match="2 internal nodes for n_values = 3"):
        schema.check_tree(good_tree(), 3)


def test_errors_are_encmed_errors_and_value_errors():
    with pytest.raises(em.EncmedError):
        wire.parse_message("{", kind="query")
    with pytest.raises(ValueError):
        wire.parse_message("{", kind="query")
