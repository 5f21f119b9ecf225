"""The controller as two processes, each owning a share of the switches (Faucet's pattern):
every bridge speaks to its own, both enforce from the one store, each records its own acks."""

from __future__ import annotations

import re
from pathlib import Path

from sovnet.compile.shards import assign
from sovnet.config import load_topology
from sovnet.emulation import ovs
from sovnet.lab import Lab
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import parse_scope, parse_target
from sovnet.poll import eventually
from tests.integration.probing import pings

ROOT = Path(__file__).resolve().parents[2]


def _reach(lab, ip, want):
    assert pings(lab.host("alice"), [ip]) == {ip: want}


def test_two_controller_processes_share_the_switches_and_enforce_one_store(tmp_path):
    topo = load_topology(str(ROOT / "topologies" / "minimal.yaml"))
    share = assign(topo, 2)
    with Lab(topo, tmp_path, servers=False, flowlog=False, controllers=2) as lab:
        assert len({p.pid for p in lab.processes}) == 2
        for s in topo.switches:  # each bridge speaks to the process that owns it
            target = ovs.vsctl("get-controller", s.name).strip()
            assert target == f"tcp:127.0.0.1:{lab.ports[share[s.dpid]]}", s.name
        news = topo.host("news").ip
        eventually(lambda: _reach(lab, news, True), timeout=10)
        lab.store.add_policy(PolicyRequest.of("deny", parse_scope("all"),
                                              parse_target("international")))
        acks = lab.wait_enforced(lab.store.revision(), timeout=20)
        assert set(acks) == {s.dpid for s in topo.switches}
        eventually(lambda: _reach(lab, news, False), timeout=10)
        for k in (0, 1):  # each process synced only its own switches
            log = (tmp_path / ("controller.log" if k == 0 else "controller-1.log")).read_text()
            synced = {int(d, 16) for d in re.findall(r"dpid=([0-9a-f]{16}) enforces", log)}
            assert synced and synced == {d for d, o in share.items() if o == k}
