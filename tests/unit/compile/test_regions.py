"""Regions: `region:` on switches and subscribers, and policies scoped `region:NAME` (a
regional shutdown is one policy)."""

from __future__ import annotations

import pytest

from sovnet.compile import compile_network
from sovnet.compile.pipeline import TABLE_POLICY
from sovnet.config import topology_from_text
from sovnet.errors import CompileError
from sovnet.model.policy import Policy, initial_subscribers, parse_scope, parse_target

TOPO = """\
name: t
isps:
  fixnet: {kind: fixed, prefix: 10.1.0.0/16}
switches:
  n1: {role: access, isp: fixnet, region: north}
  s1: {role: access, isp: fixnet, region: south}
  c1: {role: core, isp: fixnet}
  gw: {role: border}
  inet: {role: internet}
links: [[n1, c1], [s1, c1], [c1, gw], [gw, inet]]
defaults:
  subscriber: {class: fixed_home, isp: fixnet}
subscribers:
  ann: {switch: n1}
  bea: {switch: n1}
  sam: {switch: s1}
  tom: {switch: s1, region: north}   # lives in the north, on a southern switch
services:
  news: {domains: [news.example], category: NEWS, locus: foreign, switch: inet}
resolvers:
  dns1: {isp: fixnet, switch: c1}
"""


@pytest.fixture
def topo():
    return topology_from_text(TOPO, "t.yaml")


def _policy_flows(topo, scope):
    p = Policy(1, "deny", parse_scope(scope), parse_target("international"))
    flows = compile_network(topo, (p,), initial_subscribers(topo)).flows
    return {s.name: [f for f in flows[s.dpid] if f.key.table == TABLE_POLICY
                     and f.key.priority > 1000] for s in topo.switches}


def test_subscribers_take_their_switchs_region_unless_they_name_their_own(topo):
    assert topo.switch("n1").region == "north" and topo.switch("c1").region == ""
    assert {s.name: s.region for s in topo.subscribers} == {
        "ann": "north", "bea": "north", "sam": "south", "tom": "north"}


def test_a_regional_shutdown_is_one_policy_enforced_where_the_region_is(topo):
    flows = _policy_flows(topo, "region:north")
    # n1 is all north: one flow for all its subscribers, no metadata needed
    assert [dict(f.key.match).get("metadata") for f in flows["n1"]] == [None]
    # s1 holds one northerner: his flow names him, sam's traffic is untouched
    (tom,) = flows["s1"]
    assert dict(tom.key.match)["metadata"][0] != 0
    assert flows["c1"] == [] and flows["gw"] == []
    assert _policy_flows(topo, "region:south")["n1"] == []


def test_an_unknown_region_is_refused_with_the_known_ones(topo):
    with pytest.raises(CompileError) as e:
        _policy_flows(topo, "region:west")
    assert str(e.value) == "policy #1: unknown region 'west' (expected one of: north, south)"


def test_a_bad_region_name_is_a_config_error():
    from sovnet.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        topology_from_text(TOPO.replace("region: south", "region: South"), "t.yaml")
    assert str(e.value) == ("t.yaml:6:43: switches.s1.region: bad region 'South' (expected "
                            "lower-case letters, digits, _ and -, starting with a letter)")
