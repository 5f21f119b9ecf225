"""The flowlog and retention commands, and the run folder's flows.jsonl. (The flow log of each
store backend is in tests/unit/store/test_contract.py.)"""

from __future__ import annotations

import json
import time

import pytest

from sovnet import commands
from sovnet.errors import SovnetError
from sovnet.flowlog.export import logging_used, settle, write_jsonl
from sovnet.model.command import PolicyRequest
from sovnet.store import open_store
from tests.unit import handmade

TOPO = handmade.topology()
NOW = handmade.NOW
rec = handmade.flow_record




@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "store.db")
    s.load_inventory(TOPO, "test", "inventory")
    yield s
    s.close()


# -- the commands ---------------------------------------------------------------------------
def run(store, line):
    return commands.run(store, line)


def test_flowlog_prints_a_table_with_the_newest_records(store):
    store.add_policy(PolicyRequest.of("log", "subscriber:alice", "service:bank", author="test"))
    store.flows.add([rec(first=NOW - 100 + i, src_port=40000 + i) for i in range(3)]
                           + [rec(first=NOW - 50, dropped=True, src_port=41000)])
    text, rev = run(store, "flowlog --limit 2")
    lines = text.splitlines()
    assert rev is None
    assert lines[0].split()[:4] == ["first", "seen", "secs", "subscriber"]
    assert "10.1.0.2:40002" in lines[1] and "10.250.0.2:80" in lines[1]
    assert lines[2].endswith("dropped") and "#1" in lines[2] and "acc1" in lines[2]
    assert lines[3] == "(the newest 2 of 4 records; --limit N shows more)"


def test_flowlog_filters_and_json(store):
    store.flows.add([rec(first=NOW - 7200), rec("bob", "social", first=NOW - 60)])
    out, _ = run(store, "flowlog --json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["subscriber"] for r in rows] == ["alice", "bob"]
    assert rows[0]["switch"] == "acc1" and rows[0]["bytes"] == 700 and "id" not in rows[0]
    out, _ = run(store, "flowlog --since 1h --json")
    assert [json.loads(line)["subscriber"] for line in out.splitlines()] == ["bob"]
    assert run(store, "flowlog --service bank")[0].count("alice") == 1
    text, _ = run(store, "flowlog --subscriber bob --service bank")
    assert text.startswith("no flow records of bob with bank")
    assert "no log policy is in force" in text


@pytest.mark.parametrize("line, expected", [
    ("flowlog --subscriber zed", "no subscriber 'zed' in this store's inventory (expected one "
                                 "of: alice, bob, carol)"),
    ("flowlog --service nope", "no service or resolver 'nope'"),
    ("flowlog --since soon", "bad duration 'soon' (expected seconds, or a number with s, m, h"),
    ("flowlog --limit 0", "bad count '0' (expected a whole number, 1 or more)"),
    ("retention forever", "bad duration 'forever'"),
])
def test_flowlog_and_retention_refuse_bad_input_saying_what_was_expected(store, line, expected):
    with pytest.raises(SovnetError, match="expected") as e:
        run(store, line)
    assert expected in str(e.value)
    assert e.value.exit_code == 2


def test_retention_shows_and_sets_and_deletes_what_it_no_longer_keeps(store):
    assert run(store, "retention") == (
        "flow records are kept 90 d (the default; `retention SECONDS` sets it)", None)
    store.flows.add([rec(first=NOW - 7200), rec(first=NOW - 60)])
    text, rev = run(store, "retention 1h --why audit")
    assert text == "flow records are now kept 1 h (3600 s); deleted 1 older ones"
    assert rev == store.revision() and store.history(limit=1)[0].reason == "audit"
    assert run(store, "retention")[0] == "flow records are kept 1 h (3600 s)"
    assert run(store, "retention 86400")[0].startswith("flow records are now kept 1 d")
    assert len(store.flows.records()) == 1


def test_sovnet_store_flowlog_reports_errors_without_a_traceback(store, capsys):
    from sovnet.cli import main

    assert main(["store", store.path, "flowlog", "--subscriber", "zed"]) == 2
    err = capsys.readouterr().err
    assert "no subscriber 'zed'" in err and "Traceback" not in err
    assert main(["store", store.path, "retention", "30m"]) == 0
    assert "now kept 30 min" in capsys.readouterr().out


# -- the run folder's flows.jsonl -----------------------------------------------------------
def test_flows_jsonl_has_every_record_on_the_runs_clocks(store, tmp_path):
    t0 = NOW - 100
    store.flows.add([rec(first=t0 + 10, last=t0 + 12), rec("bob", "social", first=t0 - 5)])
    n = write_jsonl(store.path, tmp_path / "flows.jsonl", t0, 2400.0, {1: "acc1"})
    rows = [json.loads(line) for line in (tmp_path / "flows.jsonl").read_text().splitlines()]
    assert n == 2 and [r["subscriber"] for r in rows] == ["bob", "alice"]
    a = rows[1]
    assert (a["t_real"], a["t_real_end"], a["t_scenario"], a["t_scenario_end"]) == (
        10.0, 12.0, 24000.0, 28800.0)
    assert (a["first_wall"], a["last_wall"], a["switch"], a["direction"]) == (
        t0 + 10, t0 + 12, "acc1", "up")
    assert rows[0]["t_real"] == -5.0  # before the clock started: the warm-up
    assert write_jsonl(tmp_path / "absent.db", tmp_path / "none.jsonl", None, 1.0, {}) == 0
    assert (tmp_path / "none.jsonl").read_text() == ""
    write_jsonl(store.path, tmp_path / "early.jsonl", None, 1.0, {})
    assert json.loads((tmp_path / "early.jsonl").read_text().splitlines()[0])["t_real"] is None


def test_settling_waits_only_where_a_log_policy_was_ever_in_force(store):
    assert not logging_used(store)
    assert settle(store, time.time()) == 0.0
    p = store.add_policy(PolicyRequest.of("log", "all", "any"))
    store.revoke_policy(p.id)
    assert logging_used(store)
    assert settle(store, time.time() - 10) == 0.0  # the bound has passed already
