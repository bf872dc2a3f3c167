"""Providers as separate MPyC processes on loopback (encmed_lib.federated.run / mpc_tree).

Every test starts real processes (one per provider) and bounds every wait.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import mpyc  # noqa: F401  (pinned in requirements.txt: the run needs it)
import numpy as np
import pandas as pd
import pytest

import encmed_lib as em
from encmed_lib.errors import PartyConfigError, PartyError
from encmed_lib.federated import PlainAggregator
from encmed_lib.federated.mpc_tree import PartySpec
from encmed_lib.federated.run import (
    DATASETS,
    RunResult,
    demo_providers,
    free_ports,
    in_process_trainer,
    launch,
    main,
    parse_addresses,
    party_command,
    split_differences,
    start_parties,
    wait_parties,
    write_provider_files,
)

RUN_TIMEOUT = 300.0   # seconds for a whole run (the processes are killed after it)
STEP_TIMEOUT = 40.0   # seconds a party waits for a silent peer


def expected_codes(trainer, n_bins: int) -> list[int]:
    """What the split-only back-end must open: one code per node, in the order nodes are created."""
    tree = trainer.tree_
    by_node = {s.node: s for s in trainer.splits_}
    codes = []
    for key in sorted(trainer.node_ids_):
        j = trainer.node_ids_[key]
        if tree.nodes[j].is_leaf:
            codes.append(-(tree.classes.index(tree.leaf_label(j)) + 1))
        else:
            codes.append(by_node[j].feature_index * n_bins + by_node[j].bin)
    return codes


def check_views(result: RunResult, dataset: str) -> None:
    """Each process read only its own file and received only random shares, never counts."""
    sizes = [p.n_records for p in demo_providers(dataset, len(result.names))]
    for i, name in enumerate(result.names):
        log = result.log(i)
        start = next(e for e in log if e["event"] == "start")
        assert Path(start["data"]).name == f"{name.replace(' ', '-')}.csv"
        assert start["records"] == len(pd.read_csv(start["data"])) == sizes[i]
        kinds = {e.get("kind") for e in log if e["event"] == "received"}
        assert kinds == {"share of a peer's table"}
        shares = [v for e in log if e["event"] == "received" for v in e["share"]]
        peers = {e["peer"] for e in log if e["event"] == "received"}
        assert peers == set(range(len(result.names))) - {i}
        # A count is at most the number of records; a Shamir share is a uniform field element
        # (>= 2**60 elements), below 10**6 with probability < 2**-40 each.
        assert len(shares) > 100 and all(v > 10**6 for v in shares)


def test_split_only_heart_three_processes_open_only_the_splits(tmp_path):
    result = launch(3, "heart", 2, "split-only", folder=tmp_path, timeout=RUN_TIMEOUT,
                    step_timeout=STEP_TIMEOUT)
    trainer = in_process_trainer("heart", 3, 2)
    assert [s for s in trainer.splits_ if s.margin <= 1e-12] == []  # no tie decides a node
    assert split_differences(result.tree, trainer.tree_) == []
    assert len({json.dumps(t.to_dict()) for t in result.trees}) == 1  # every party: the same tree
    codes = expected_codes(trainer, trainer.binning.max_bins)
    for i in range(3):
        assert result.opened(i) == codes, f"party {i} opened more than the splits and leaf labels"
    check_views(result, "heart")
    X, _ = em.load_heart()
    np.testing.assert_array_equal(result.tree.predict(X), trainer.predict(X))


def test_split_only_heart_five_and_synthea_organizations(tmp_path):
    for dataset, k, depth, mss in [("heart", 5, 2, 2), ("synthea", 4, 2, 10)]:
        folder = tmp_path / dataset
        result = launch(k, dataset, depth, "split-only", folder=folder, timeout=RUN_TIMEOUT,
                        step_timeout=STEP_TIMEOUT, min_samples_split=mss)
        trainer = in_process_trainer(dataset, k if dataset == "heart" else None, depth,
                                     min_samples_split=mss)
        assert len(result.names) == k and len(trainer.tree_.nodes) > 3
        assert split_differences(result.tree, trainer.tree_) == [], dataset
        codes = expected_codes(trainer, trainer.binning.max_bins)
        assert all(result.opened(i) == codes for i in range(k)), dataset
        check_views(result, dataset)


NOISE = '''
import numpy as np
SHIFT = {"hospital-A": 2, "hospital-B": -1, "hospital-C": -1}
def cancelling(name, shape, info):
    """Each provider's share is a constant; the three shares add up to zero."""
    return np.full(shape, SHIFT[name], dtype=np.int64)
'''


def test_reveal_sums_with_provider_noise_shares(tmp_path, monkeypatch):
    """Noise shares enter inside the computation; shares adding up to 0 leave the sums exact."""
    (tmp_path / "cancelling_noise.py").write_text(NOISE)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result = launch(3, "heart", 2, "reveal-sums", folder=tmp_path / "run", timeout=RUN_TIMEOUT,
                    step_timeout=STEP_TIMEOUT, noise_share="cancelling_noise:cancelling")
    plain = in_process_trainer("heart", 3, 2)
    assert result.tree.to_dict()["nodes"] == plain.tree_.to_dict()["nodes"]  # counts included
    reference = in_process_trainer("heart", 3, 2)
    reference.aggregator = PlainAggregator()
    reference.fit(demo_providers("heart", 3))
    totals = [int(v) for m in reference.transcript_ if m.kind == "total" for v in np.ravel(m.payload)]
    for i in range(3):
        log = result.log(i)
        assert sum(e["event"] == "noise" for e in log) == 2  # one share per secure aggregation
        assert result.opened(i) == totals  # the summed tables, nothing per provider
    check_views(result, "heart")
    cost = result.cost()
    assert cost["masked openings"] == 0 and cost["levels"] == 2


def test_killed_party_stops_the_others_with_a_clear_error(tmp_path):
    providers = demo_providers("heart", 3)
    files = write_provider_files(providers, tmp_path)
    addresses = [("127.0.0.1", p) for p in free_ports(3)]
    commands = [party_command(addresses, i, f, tmp_path, dataset="heart", depth=4, backend="split-only",
                              options=("--timeout", str(STEP_TIMEOUT))) for i, f in enumerate(files)]
    procs = start_parties(commands, tmp_path)
    try:
        log2 = tmp_path / "party-2.jsonl"
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline and not (log2.exists() and '"opened"' in log2.read_text()):
            assert all(p.poll() is None for p in procs), "a party stopped before the kill"
            time.sleep(0.1)
        assert '"opened"' in log2.read_text(), "the run never reached its first opening"
        procs[2].kill()
        with pytest.raises(PartyError, match="party 0: exit code 3") as info:
            wait_parties(procs, tmp_path, STEP_TIMEOUT)
        message = str(info.value)
        assert "lost contact with party 2" in message and "party 1: exit code 3" in message
        named = []
        for i in (0, 1):
            error = [e for e in RunResult(tmp_path, [p.name for p in providers], "split-only").log(i)
                     if e["event"] == "error"]
            assert len(error) == 1 and "lost contact with party" in error[0]["message"]
            named.append(error[0]["message"])
        # the survivor that notices first names party 2; the other may see party 2 or the survivor leave
        assert any(f"127.0.0.1:{addresses[2][1]}" in m for m in named)
        assert all(any(f"127.0.0.1:{addresses[j][1]}" in m for j in (0, 1, 2) if j != i)
                   for i, m in enumerate(named))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


def test_bad_configuration_fails_fast(tmp_path, capsys):
    with pytest.raises(PartyConfigError, match="at least 3 parties"):
        PartySpec(0, [("127.0.0.1", 1), ("127.0.0.1", 2)], "A")
    with pytest.raises(PartyConfigError, match="index"):
        PartySpec(3, [("h", 1), ("h", 2), ("h", 3)], "A")
    with pytest.raises(PartyConfigError, match="backend"):
        PartySpec(0, [("h", 1), ("h", 2), ("h", 3)], "A", backend="magic")
    with pytest.raises(PartyConfigError, match="host:port"):
        parse_addresses("127.0.0.1:1,nohost")
    assert main(["--parties", "h:1,h:2,h:3"]) == 2
    assert "--index and --data" in capsys.readouterr().err
    missing = tmp_path / "a.csv"
    pd.DataFrame({"age": [50.0], "label": [1]}).to_csv(missing, index=False)
    assert main(["--parties", "h:1,h:2,h:3", "--index", "0", "--data", str(missing)]) == 2
    assert "has no column 'sex'" in capsys.readouterr().err
    assert set(DATASETS) == {"heart", "synthea"}
