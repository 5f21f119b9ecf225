"""Controller processes share the switches out: each ISP's together, evenly, the same way in
the lab and in every process; together they compile exactly what one process would."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.compile import NetworkCompiler, compile_network
from sovnet.compile.shards import assign, owned, parse_shard
from sovnet.config import load_topology
from sovnet.errors import CompileError
from sovnet.model.policy import initial_subscribers
from tests.unit import handmade

TOPOLOGIES = Path(__file__).parents[3] / "topologies"
N250 = load_topology(str(TOPOLOGIES / "national-250.yaml"))


def test_each_isps_switches_stay_together_and_the_shares_are_even():
    share = assign(N250, 2)
    assert set(share.values()) == {0, 1} and len(share) == len(N250.switches)
    for isp in N250.isps:
        assert len({share[s.dpid] for s in N250.switches if s.isp == isp.name}) == 1
    sizes = [list(share.values()).count(k) for k in (0, 1)]
    biggest = max(sum(1 for s in N250.switches if s.isp == i.name) for i in N250.isps)
    assert abs(sizes[0] - sizes[1]) <= biggest  # an ISP is not split
    assert assign(N250, 2) == share  # deterministic
    assert set(assign(N250, 1).values()) == {0}


def test_the_processes_together_compile_what_one_would():
    topo = load_topology(str(TOPOLOGIES / "national.yaml"))
    subs = initial_subscribers(topo)
    policies = [handmade.policy(1, "deny", "international", "isp:mobiq"),
                handmade.policy(2, "throttle:256kbit", "service:video", "all")]
    whole = compile_network(topo, policies, subs)
    parts = [NetworkCompiler((k, 3)).compile(topo, policies, subs) for k in range(3)]
    assert sorted(d for p in parts for d in p.flows) == sorted(whole.flows)
    for p in parts:
        for dpid, flows in p.flows.items():
            assert flows == whole.flows[dpid] and p.meters[dpid] == whole.meters[dpid]
    assert owned(topo, None) is None and owned(topo, (0, 3)) == set(parts[0].flows)


@pytest.mark.parametrize("text", ["2/2", "x/2", "1", "-1/2", "0/0"])
def test_a_bad_shard_is_refused_as_bad_input(text):
    with pytest.raises(CompileError) as e:
        parse_shard(text)
    assert str(e.value) == f"bad shard {text!r} (expected I/N with 0 <= I < N, e.g. 0/2)"
    assert e.value.exit_code == 2
