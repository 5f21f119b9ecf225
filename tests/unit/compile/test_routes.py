"""Routes at the border: withdraw and restore policies decide what each border router
announces; the internet switches drop what no route abroad covers (compile.routes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.compile import compile_network
from sovnet.compile.routes import PRIO_NOROUTE, PRIO_PEERING, announcements, unrouted
from sovnet.config import load_topology
from sovnet.errors import CompileError
from sovnet.model.command import PolicyRequest
from sovnet.model.flows import TABLE_FORWARD, cookie_kind
from sovnet.model.policy import Policy, PolicySyntaxError, initial_subscribers

BGP = Path(__file__).parents[2] / "integration" / "topologies" / "bgp.yaml"


@pytest.fixture(scope="module")
def topo():
    return load_topology(BGP)


def policy(pid, action, scope, target, priority=100) -> Policy:
    r = PolicyRequest.of(action, scope, target, priority)
    return Policy(pid, str(r.action), r.scope, r.target, priority)


def test_with_no_policy_every_router_announces_its_isps_prefixes(topo):
    assert announcements(topo, []) == {
        "fixgw": ("10.1.0.0/17", "10.1.128.0/17"), "mobgw": ("10.2.0.0/16",)}


def test_a_withdraw_of_one_isp_leaves_the_other_announced(topo):
    got = announcements(topo, [policy(1, "withdraw", "isp:fixnet", "any")])
    assert got == {"fixgw": (), "mobgw": ("10.2.0.0/16",)}


def test_a_withdraw_of_a_prefix_takes_the_announcements_inside_it(topo):
    got = announcements(topo, [policy(1, "withdraw", "all", "prefix:10.1.128.0/17")])
    assert got["fixgw"] == ("10.1.0.0/17",)
    got = announcements(topo, [policy(1, "withdraw", "all", "prefix:10.0.0.0/8")])
    assert got == {"fixgw": (), "mobgw": ()}


def test_a_higher_priority_restore_keeps_one_isp_announced_through_a_national_withdrawal(topo):
    national = policy(1, "withdraw", "all", "any", 100)
    keep = policy(2, "restore", "isp:mobinet", "any", 200)
    assert announcements(topo, [national, keep]) == {"fixgw": (), "mobgw": ("10.2.0.0/16",)}
    # at equal priority the withdrawal wins, as deny wins over allow
    tie = policy(2, "restore", "isp:mobinet", "any", 100)
    assert announcements(topo, [national, tie])["mobgw"] == ()


def test_unrouted_is_the_speaking_isps_space_no_route_covers(topo):
    assert [str(n) for n in unrouted(topo, [])] == ["10.1.0.0/16", "10.2.0.0/16"]
    assert [str(n) for n in unrouted(topo, ["10.1.0.0/17", "10.2.0.0/16"])] == \
        ["10.1.128.0/17"]
    assert unrouted(topo, ["10.0.0.0/8"]) == []
    # a longer route than the space splits it
    assert [str(n) for n in unrouted(topo, ["10.1.0.0/17", "10.1.128.0/18", "10.2.0.0/16"])] \
        == ["10.1.192.0/18"]


def _route_flows(topo, routes):
    compiled = compile_network(topo, [], initial_subscribers(topo), routes)
    return {dpid: [f for f in flows if cookie_kind(f.cookie) == "route"]
            for dpid, flows in compiled.flows.items()}


def test_the_internet_switch_drops_withdrawn_space_and_keeps_the_routers_reachable(topo):
    flows = _route_flows(topo, frozenset({"10.2.0.0/16"}))
    inet = topo.switch("inet1").dpid
    assert all(not fl for dpid, fl in flows.items() if dpid != inet)
    drops = {f.key.match for f in flows[inet] if f.key.priority == PRIO_NOROUTE}
    assert drops == {(("eth_type", 0x0800), ("ipv4_dst", ("10.1.0.0", "255.255.0.0")))}
    assert all(f.key.table == TABLE_FORWARD and f.instructions == () for f in flows[inet]
               if f.key.priority == PRIO_NOROUTE)
    peering = {dict(f.key.match)["ipv4_dst"] for f in flows[inet]
               if f.key.priority == PRIO_PEERING}
    assert peering == {topo.host("fixgw").ip, topo.host("mobgw").ip}


def test_without_routes_known_nothing_is_dropped(topo):
    assert not any(_route_flows(topo, None).values())


def test_a_change_of_routes_rebuilds_only_the_internet_switches(topo):
    from sovnet.compile import NetworkCompiler

    nc = NetworkCompiler()
    subs = initial_subscribers(topo)
    before = nc.compile(topo, [], subs, frozenset({"10.1.0.0/17", "10.1.128.0/17",
                                                   "10.2.0.0/16"})).flows
    after = nc.compile(topo, [], subs, frozenset({"10.2.0.0/16"})).flows
    changed = {dpid for dpid in after if after[dpid] is not before[dpid]}
    assert changed == {topo.switch("inet1").dpid}


def test_a_withdrawn_prefix_must_cover_an_announcement(topo):
    with pytest.raises(CompileError, match=r"policy #1: prefix:10\.1\.0\.0/24 covers no "
                                           r"announced prefix of isp:fixnet \(expected one "
                                           r"covering some of: 10\.1\.0\.0/17, 10\.1\.128\.0/17\)"):
        compile_network(topo, [policy(1, "withdraw", "isp:fixnet", "prefix:10.1.0.0/24")],
                        initial_subscribers(topo))


@pytest.mark.parametrize("scope,target,message", [
    ("class:fixed_home", "any", "withdraw applies to the ISPs' announcements, not to "
                                "class:fixed_home (expected scope all or isp:NAME)"),
    ("all", "international", "withdraw applies to announced prefixes, not to international "
                             "(expected target any, or prefix:CIDR for some of them)"),
    ("all", "any@ipv6", "withdraw applies to announced prefixes, not to any@ipv6 (expected "
                        "target any, or prefix:CIDR for some of them)"),
])
def test_withdraw_speaks_of_isps_and_prefixes_only(scope, target, message):
    with pytest.raises(PolicySyntaxError) as e:
        PolicyRequest.of("withdraw", scope, target)
    assert str(e.value) == message
