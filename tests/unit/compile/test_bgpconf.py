"""The GoBGP daemons' configuration: who peers with whom, who exports what."""

from __future__ import annotations

import re
from pathlib import Path

from sovnet.compile.bgpconf import config, mrt_written, speakers
from sovnet.config import load_topology

BGP = Path(__file__).parents[2] / "integration" / "topologies" / "bgp.yaml"
TOPO = load_topology(BGP)


def peers(name):
    return {(n["config"]["neighbor-address"], n["config"]["peer-as"])
            for n in config(TOPO, name)["neighbors"]}


def ip(name):
    return TOPO.host(name).ip


def test_every_router_and_collector_speaks():
    assert speakers(TOPO) == ["fixgw", "mobgw", "level3", "telia", "rrc00", "rv2"]


def test_a_border_router_peers_with_every_transit_and_exports_only_its_own_space():
    c = config(TOPO, "fixgw")
    assert c["global"]["config"]["as"] == 64501
    assert peers("fixgw") == {(ip("level3"), 3356), (ip("telia"), 1299)}
    assert c["global"]["apply-policy"]["config"] == {
        "export-policy-list": ["own-only"], "default-export-policy": "reject-route"}
    assert c["defined-sets"]["prefix-sets"][0]["prefix-list"] == [
        {"ip-prefix": "10.1.0.0/16", "masklength-range": "16..32"}]


def test_a_transit_router_peers_with_every_border_router_and_collector():
    assert peers("level3") == {(ip("fixgw"), 64501), (ip("mobgw"), 64502),
                               (ip("rrc00"), 12654), (ip("rv2"), 6447)}
    assert "apply-policy" not in config(TOPO, "level3")["global"]  # a full feed


def test_a_collector_listens_to_the_transits_exports_nothing_and_dumps_updates():
    c = config(TOPO, "rv2")
    assert c["global"]["config"]["as"] == 6447
    assert peers("rv2") == {(ip("level3"), 3356), (ip("telia"), 1299)}
    assert all(n["transport"]["config"]["passive-mode"] for n in c["neighbors"])
    assert c["global"]["apply-policy"]["config"]["default-export-policy"] == "reject-route"
    assert c["mrt-dump"] == [{"config": {"dump-type": "updates", "file-name": "updates-c.mrt"}}]


def test_mrt_file_names_hold_nothing_a_go_time_layout_would_replace():
    names = [mrt_written(i) for i in range(300)]
    assert len(set(names)) == 300
    layout = re.compile(r"[0-9]|Jan|Mon|MST|PM|pm|Z07")
    assert not [n for n in names if layout.search(n)]
