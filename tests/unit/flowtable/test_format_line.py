"""format_line writes a compiled flow as ovs-ofctl reads it; parse_line reads it back equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.compile import compile_network
from sovnet.config import load_topology
from sovnet.flowtable.ofctl_text import DumpParseError, format_line, parse_line
from sovnet.model.policy import initial_subscribers
from tests.unit import handmade

TOPOLOGIES = Path(__file__).parents[3] / "topologies"


def test_every_compiled_ipv4_flow_round_trips():
    topo = load_topology(str(TOPOLOGIES / "national.yaml"))
    policies = [handmade.policy(1, "deny", "international", "isp:mobiq"),
                handmade.policy(2, "throttle:256kbit", "service:video", "all"),
                handmade.policy(3, "blockpage", "service:social", "all", 200),
                handmade.policy(4, "reject", "port:udp/443", "class:mobile_prepaid")]
    flows = [f for fs in compile_network(topo, policies, initial_subscribers(topo)).flows.values()
             for f in fs]
    assert len(flows) > 1000
    for f in flows:
        assert parse_line(f.dpid, format_line(f)) == f, format_line(f)
    assert "actions" not in format_line(flows[0], actions=False)


def test_a_field_it_has_no_form_for_is_refused():
    dual = load_topology(str(TOPOLOGIES / "national-dual.yaml"))
    v6 = next(f for fs in compile_network(dual, [], initial_subscribers(dual)).flows.values()
              for f in fs if "ipv6_dst" in dict(f.key.match))
    with pytest.raises(DumpParseError):
        format_line(v6)
