"""Policies placed at the border (compile.border): a direction, and the gateways enforce it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.compile import compile_network
from sovnet.compile.border import PRIO_SESSIONS
from sovnet.config import load_topology
from sovnet.model.command import PolicyRequest
from sovnet.model.flows import TABLE_ADMISSION, TABLE_POLICY, cookie_policy
from sovnet.model.policy import Policy, PolicySyntaxError, initial_subscribers

BGP = Path(__file__).parents[2] / "integration" / "topologies" / "bgp.yaml"
TOPO = load_topology(BGP)
GW = TOPO.switch("gw1").dpid


def policy(pid, action, scope, target, priority=100) -> Policy:
    r = PolicyRequest.of(action, scope, target, priority)
    return Policy(pid, str(r.action), r.scope, r.target, priority)


def flows(*policies):
    return compile_network(TOPO, policies, initial_subscribers(TOPO)).flows


def ours(tables, pid):
    return {dpid: [f for f in fl if cookie_policy(f.cookie) == pid and f.key.table == TABLE_POLICY]
            for dpid, fl in tables.items()}


def test_an_inbound_cut_drops_what_comes_from_abroad_at_the_gateway_only():
    got = ours(flows(policy(1, "deny:inbound", "all", "international")), 1)
    assert {d for d, fl in got.items() if fl} == {GW}
    (f,) = got[GW]
    assert dict(f.key.match) == {"eth_type": 0x0800,
                                 "ipv4_src": ("172.16.0.0", "255.240.0.0"),
                                 "ipv4_dst": ("10.0.0.0", "255.0.0.0")}
    assert f.instructions == ()


def test_an_outbound_cut_of_one_isp_matches_its_space_as_source():
    (f,) = ours(flows(policy(1, "deny:outbound", "isp:fixnet", "international")), 1)[GW]
    assert dict(f.key.match)["ipv4_src"] == ("10.1.0.0", "255.255.0.0")
    assert dict(f.key.match)["ipv4_dst"] == ("172.16.0.0", "255.240.0.0")


def test_border_takes_both_directions_and_a_port_names_the_far_end():
    got = ours(flows(policy(1, "deny:border", "subscriber:alice", "port:udp/53")), 1)[GW]
    alice = TOPO.host("alice").ip
    assert {tuple(sorted(dict(f.key.match).items())) for f in got} == {
        (("eth_type", 0x0800), ("ip_proto", 17), ("ipv4_src", alice), ("udp_dst", 53)),
        (("eth_type", 0x0800), ("ip_proto", 17), ("ipv4_dst", alice), ("udp_src", 53))}


def test_the_gateway_sends_trunk_traffic_through_its_policy_table_and_lets_bgp_through():
    tables = flows(policy(1, "deny:inbound", "all", "any"))
    trunk = [f for f in tables[GW] if f.key.table == TABLE_ADMISSION and f.key.priority == 10]
    assert trunk and all(f.instructions == (("goto", TABLE_POLICY),) for f in trunk)
    sessions = {dict(f.key.match).get("ipv4_src") or dict(f.key.match).get("ipv4_dst")
                for f in tables[GW] if f.key.priority == PRIO_SESSIONS}
    assert sessions == {TOPO.host("fixgw").ip, TOPO.host("mobgw").ip}


def test_a_border_policy_is_not_enforced_at_the_subscribers_ingress():
    acc1 = TOPO.switch("acc1").dpid
    assert not ours(flows(policy(1, "deny:inbound", "all", "international")), 1)[acc1]
    assert ours(flows(policy(1, "deny", "all", "international")), 1)[acc1]


@pytest.mark.parametrize("action,target,message", [
    ("deny:inbound", "sni:friendbook.example",
     "deny:inbound applies at the border, where no inspector reads sni:friendbook.example "
     "(expected deny without a direction for an sni, sni-contains, host or quic target)"),
    ("deny:inbound,residual=90s", "international",
     "deny:inbound,residual=90s applies at the border, which takes no inspector's options "
     "(expected only inbound)"),
])
def test_the_border_has_no_inspector(action, target, message):
    with pytest.raises(PolicySyntaxError) as e:
        PolicyRequest.of(action, "all", target)
    assert str(e.value) == message


def test_the_gateway_counts_each_isps_bytes_each_way_on_every_trunk():
    from sovnet.compile.border import PRIO_ACCOUNT, account_id
    from sovnet.model.flows import cookie_kind

    tables = flows()
    acct = [f for f in tables[GW] if cookie_kind(f.cookie) == "account"]
    trunks = {dict(f.key.match)["in_port"] for f in acct}
    assert len(trunks) == 3  # acc1, acc2, inet1
    assert all(f.key.table == TABLE_ADMISSION and f.key.priority == PRIO_ACCOUNT
               and f.instructions == (("goto", TABLE_POLICY),) for f in acct)
    fix_in = {dict(f.key.match)["ipv4_dst"] for f in acct
              if cookie_policy(f.cookie) == account_id(0, "in")}
    fix_out = {dict(f.key.match)["ipv4_src"] for f in acct
               if cookie_policy(f.cookie) == account_id(0, "out")}
    assert fix_in == fix_out == {("10.1.0.0", "255.255.0.0")}
    # only what crosses the border: the far end is abroad, so no two counters match a packet
    assert {dict(f.key.match).get("ipv4_src") for f in acct
            if cookie_policy(f.cookie) % 2 == 0} == {("172.16.0.0", "255.240.0.0")}
    assert not [f for fl in tables.values() for f in fl
                if cookie_kind(f.cookie) == "account" and f.key.dpid != GW]
