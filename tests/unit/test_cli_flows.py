"""`sovnet flows TOPOLOGY [--show SWITCH] [--json]`: the compiled flows, as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from sovnet.cli import main
from sovnet.compile import compile_flows
from sovnet.config import load_topology
from sovnet.model.policy import initial_subscribers

MINIMAL = str(Path(__file__).resolve().parents[2] / "topologies" / "minimal.yaml")


def compiled():
    topo = load_topology(MINIMAL)
    return topo, compile_flows(topo, (), initial_subscribers(topo))


def test_json_is_one_object_a_switch_with_its_count(capsys):
    assert main(["flows", MINIMAL, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    topo, tables = compiled()
    assert {r["switch"]: r["flows"] for r in rows} == {
        s.name: len(tables[s.dpid]) for s in topo.switches}
    assert all("rules" not in r for r in rows)


def test_json_with_show_lists_that_switchs_rules_as_describe_words_them(capsys):
    assert main(["flows", MINIMAL, "--json", "--show", "acc1"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    topo, tables = compiled()
    rules = tables[topo.switch("acc1").dpid]
    assert row["switch"] == "acc1" and row["flows"] == len(rules) == len(row["rules"])
    for got, rule in zip(row["rules"], rules, strict=True):
        text = rule.describe()
        assert text.startswith(f"table={got['table']} priority={got['priority']} ")
        assert f"[{got['kind']} policy={got['policy']}]" in text
        assert all(f"{k}={v}" in text for k, v in got["match"].items())


def test_an_unknown_switch_is_bad_input(capsys):
    assert main(["flows", MINIMAL, "--show", "nope"]) == 2
    assert capsys.readouterr().err == ("flows --show: unknown switch 'nope' (expected one of: "
                                       "acc1, core1, acc2, core2, dc1, gw1, inet1)\n")
