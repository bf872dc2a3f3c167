"""Tests of the basic-mode exercises' checkers: 04.3 (pack a reply), 04.4 (the sieve), 05.4 (unpack).

Each checker accepts the right answer and rejects the anticipated mistakes with a targeted
hint; the answers are computed here the way a student would, never hard-coded.
"""

from __future__ import annotations

import warnings

import pytest
from lab_asserts import accepts, rejects

import encmed_lib as em
from encmed_lib import attacks, labs
from encmed_lib.crypto.encoding import SCALE, encode_threshold, encode_value
from encmed_lib.protocol.messages import BLIND_BITS, SLOT_BITS, slots_per_pack


@pytest.fixture(scope="module")
def client() -> em.Client:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 1024 bits: a test-only key size
        return em.Client(key_bits=1024)


@pytest.fixture(scope="module")
def heart():
    X, y = em.load_heart()
    X_train, X_test, y_train, _ = em.split_data(X, y, random_state=0)
    return X_train, X_test, y_train


# ------------------------------------------------------------ 04.4 · the sieve, by hand
@pytest.fixture(scope="module")
def sieve_setting(heart, client):
    X_train, _, y_train = heart
    tree = em.train_tree(X_train, y_train, max_depth=3, random_state=0)
    server = em.TreeServer(tree)
    record = attacks.edge_record(X_train.columns)
    values = client.decrypt_values(server.evaluate(client.encrypt(record)))
    return server, record, values, attacks.grid_candidates(X_train)


def student_sieve(v, record, candidates, *, with_remainder=True, with_range=True, encoded=True):
    """The solution of the exercise, with switches for the anticipated mistakes."""
    out = []
    for f, ts in candidates.items():
        X_f = encode_value(record[f], f) if encoded else int(record[f])
        for t in ts:
            d = encode_threshold(t) - X_f
            if d <= 0:
                continue
            r = v // d
            if (not with_range or 1 <= r < 2 ** BLIND_BITS) and (not with_remainder or v - r * d < r):
                out.append((f, float(t)))
    return out


@pytest.mark.parametrize("slot", [0, 2])
def test_check_04_sieve_node_accepts_the_sieve(sieve_setting, slot):
    server, record, values, candidates = sieve_setting
    fitting = student_sieve(values[slot], record, candidates)
    node = server.tree.internal_nodes()[slot]
    assert (node.feature, encode_threshold(node.threshold)) in {(f, encode_threshold(t)) for f, t in fitting}
    message = accepts(labs.check_04_sieve_node, fitting, values, record, candidates, server, slot=slot)
    assert node.feature in message
    # the same answer as a list of lists, or with numpy thresholds, is accepted too
    accepts(labs.check_04_sieve_node, [list(p) for p in fitting], values, record, candidates, server,
            slot=slot)


def test_check_04_sieve_node_rejects_mistakes(sieve_setting):
    server, record, values, candidates = sieve_setting
    check, v = labs.check_04_sieve_node, values[0]
    args = (values, record, candidates, server)
    fitting = student_sieve(v, record, candidates)
    rejects(check, [], *args, hint="true candidate always does")
    rejects(check, fitting[0], *args, hint="list of pairs")
    rejects(check, [(f, encode_threshold(t)) for f, t in fitting], *args, hint="not the encoded")
    too_many = student_sieve(v, record, candidates, with_remainder=False)
    assert len(too_many) > len(fitting)
    rejects(check, too_many, *args, hint="v - r'·d' < r'")
    wrong_node = student_sieve(values[1], record, candidates)
    rejects(check, wrong_node, *args, hint="use values[0]")
    rejects(check, None, *args, hint="no answer yet")
    rejects(check, 4.5, *args, hint="list of (feature, threshold) pairs")
    with pytest.raises(ValueError, match="slot"):
        check(fitting, *args, slot=99)


def test_check_04_sieve_node_rejects_a_stricter_test(sieve_setting):
    server, record, values, candidates = sieve_setting
    node = server.tree.internal_nodes()[0]
    # a public candidate of a neighbouring feature with the same d' as the truth fits as well
    names = list(record)
    i = names.index(node.feature)
    g = names[i + 1] if i + 1 < len(names) else names[i - 1]
    d = encode_threshold(node.threshold) - encode_value(record[node.feature], node.feature)
    t_g = (d + encode_value(record[g], g)) / SCALE
    widened = {**candidates, g: [*candidates[g], t_g]}
    both = student_sieve(values[0], record, widened)
    assert (g, t_g) in both and len(both) >= 2
    accepts(labs.check_04_sieve_node, both, values, record, widened, server)
    truth_only = [(f, t) for f, t in both if f == node.feature]
    rejects(labs.check_04_sieve_node, truth_only, values, record, widened, server, hint="stricter")


# ------------------------------------------------------------ 04.3 · pack a reply
@pytest.fixture(scope="module")
def pack_setting(heart, client):
    X_train, X_test, y_train = heart
    tree6 = em.train_tree(X_train, y_train, max_depth=6, random_state=0)
    server6 = em.TreeServer(tree6, packing=False)
    key, negated = server6.encrypted_inputs(client.encrypt(X_test.iloc[0]))
    return key, server6.blinded_values(key, negated)


def student_packs(key, blinded, *, offset=True, reverse=False, per=None):
    w = SLOT_BITS
    per = per or slots_per_pack(key.bits)
    shifted = [key.add_plain(c, 1 << (w - 1)) if offset else c for c in blinded]
    packs = []
    for start in range(0, len(shifted), per):
        chunk = shifted[start:start + per]
        if reverse:
            chunk = chunk[::-1]
        acc = chunk[-1]
        for c in reversed(chunk[:-1]):
            acc = key.add(key.mul_plain(acc, 1 << w), c)
        packs.append(int(acc))
    return packs


def test_check_04_packed_reply_accepts_horner_packing(pack_setting, client):
    key, blinded = pack_setting
    packs = student_packs(key, blinded)
    assert len(packs) == -(-len(blinded) // slots_per_pack(client.key_bits)) >= 2
    message = accepts(labs.check_04_packed_reply, packs, blinded, client)
    assert f"{len(packs)} pack(s)" in message
    # the library's own packing (one multi-exponentiation) gives the same plaintexts
    from encmed_lib.protocol.server import pack_ciphertexts
    library = pack_ciphertexts(key, [key.add_plain(c, 1 << (SLOT_BITS - 1)) for c in blinded])
    accepts(labs.check_04_packed_reply, [int(c) for c in library], blinded, client)


def test_check_04_packed_reply_rejects_mistakes(pack_setting, client):
    key, blinded = pack_setting
    check = labs.check_04_packed_reply
    rejects(check, [int(c) for c in blinded], blinded, client, hint="unpacked")
    rejects(check, student_packs(key, blinded)[:-1], blinded, client, hint="round up")
    rejects(check, student_packs(key, blinded, offset=False), blinded, client, hint="shift every value")
    rejects(check, student_packs(key, blinded, reverse=True), blinded, client, hint="reverse order")
    values = [client.private_key.decrypt_signed(int(c)) for c in blinded]
    rejects(check, [1, 2, 3], blinded, client, hint="never decrypt")
    rejects(check, values[:3], blinded, client, hint="never decrypt")
    rejects(check, 3, blinded, client, hint="a list of ciphertexts")
    shuffled = student_packs(key, blinded)
    shuffled[0], shuffled[1] = shuffled[1], shuffled[0]
    rejects(check, shuffled, blinded, client, hint="Horner")


# ------------------------------------------------------------ 05.4 · unpack a reply
@pytest.fixture(scope="module")
def packed_reply(heart, client):
    X_train, X_test, y_train = heart
    tree6 = em.train_tree(X_train, y_train, max_depth=6, random_state=0)
    return em.TreeServer(tree6).evaluate(client.encrypt(X_test.iloc[3]))


def student_unpack(reply, client, *, offset=True, stop=True, reverse=False):
    w = reply.slot_bits
    per = slots_per_pack(client.key_bits, w)
    out = []
    for c in reply.packs:
        m = client.private_key.raw_decrypt(c)
        slots = []
        for _ in range(per):
            slots.append((m & ((1 << w) - 1)) - ((1 << (w - 1)) if offset else 0))
            m >>= w
        if reverse:  # the real slots of the pack, read from the top
            slots = slots[:min(per, reply.n_values - len(out))][::-1]
        out += slots
    return out[:reply.n_values] if stop else out


def test_check_05_unpacked_values_accepts_the_unpacking(packed_reply, client):
    values = student_unpack(packed_reply, client)
    assert len(packed_reply.packs) >= 2 and len(values) == packed_reply.n_values
    message = accepts(labs.check_05_unpacked_values, values, packed_reply, client)
    assert f"{len(packed_reply.packs)} decryption(s)" in message


def test_check_05_unpacked_values_rejects_mistakes(packed_reply, client):
    check = labs.check_05_unpacked_values
    rejects(check, student_unpack(packed_reply, client, offset=False), packed_reply, client,
            hint="subtract the offset")
    rejects(check, student_unpack(packed_reply, client, stop=False), packed_reply, client,
            hint="partly filled")
    rejects(check, student_unpack(packed_reply, client, reverse=True), packed_reply, client,
            hint="wrong order")
    values = student_unpack(packed_reply, client)
    rejects(check, values[:-1], packed_reply, client, hint="one value per internal node")
    rejects(check, [float(v) for v in values], packed_reply, client, hint="integers only")
    rejects(check, 5, packed_reply, client, hint="one integer per internal node")
    rejects(check, [v + 1 for v in values], packed_reply, client, hint="raw_decrypt")
