"""The compiler, checked by behaviour: what the simulated pipeline does to packets."""

import pytest

from sovnet.compile import compile_flows
from sovnet.errors import CompileError
from sovnet.flowtable.simulate import trace
from sovnet.model.flows import TABLE_ADMISSION, TABLE_POLICY, cookie_kind, cookie_policy, is_ours
from tests.unit import handmade


def reach(topo, tables, src, dst, proto=6, port=80):
    dst_ip = topo.host(dst).ip
    pkt = {"eth_src": topo.host(src).mac, "eth_type": 0x0800, "ipv4_src": topo.host(src).ip,
           "ipv4_dst": dst_ip, "ip_proto": proto}
    if proto == 6:
        pkt["tcp_dst"] = port
    if proto == 17:
        pkt["udp_dst"] = port
    return trace(topo, tables, src, pkt).delivered_to == dst


@pytest.fixture
def topo():
    return handmade.topology()


def compiled(topo, *policies, subs=None):
    return compile_flows(topo, policies, subs or handmade.subscribers(topo))


def test_empty_policy_set_reaches_every_host_from_every_registered_subscriber(topo):
    tables = compiled(topo)
    for src in ("alice", "bob"):
        for dst in (h.name for h in topo.hosts if h.name != src):
            assert reach(topo, tables, src, dst), (src, dst)


def test_services_answer_subscribers(topo):
    tables = compiled(topo)
    assert reach(topo, tables, "social", "alice")
    assert reach(topo, tables, "bank", "bob")


def test_arp_is_forwarded_by_target_address_without_flooding(topo):
    tables = compiled(topo)
    pkt = {"eth_src": topo.host("alice").mac, "eth_dst": "ff:ff:ff:ff:ff:ff", "eth_type": 0x0806,
           "arp_tpa": topo.host("social").ip}
    assert trace(topo, tables, "alice", pkt).delivered_to == "social"


def test_unregistered_device_gets_nothing(topo):
    tables = compiled(topo)
    t = trace(topo, tables, "carol", {"eth_src": topo.host("carol").mac, "eth_type": 0x0806,
                                      "arp_tpa": topo.host("bank").ip})
    assert t.delivered_to is None
    assert t.dropped_at.table == TABLE_ADMISSION
    assert not reach(topo, tables, "carol", "bank")


def test_revoked_subscriber_gets_nothing_on_any_device(topo):
    subs = handmade.subscribers(topo)
    subs["alice"] = subs["alice"].__class__("alice", "revoked", subs["alice"].devices)
    tables = compiled(topo, subs=subs)
    assert not reach(topo, tables, "alice", "bank")
    assert reach(topo, tables, "bob", "bank")


def test_spoofed_mac_on_a_subscriber_port_is_dropped(topo):
    tables = compiled(topo)
    pkt = {"eth_src": "02:aa:bb:cc:dd:ee", "eth_type": 0x0800, "ipv4_dst": topo.host("bank").ip}
    assert trace(topo, tables, "alice", pkt).delivered_to is None


def test_deny_one_service_for_everyone(topo):
    tables = compiled(topo, handmade.policy(1, "deny", "service:social"))
    assert not reach(topo, tables, "alice", "social")
    assert not reach(topo, tables, "bob", "social")
    assert reach(topo, tables, "alice", "cdn")
    assert reach(topo, tables, "alice", "bank")


def test_deny_is_traceable_to_its_policy(topo):
    tables = compiled(topo, handmade.policy(7, "deny", "service:social"))
    pkt = {"eth_src": topo.host("alice").mac, "eth_type": 0x0800,
           "ipv4_dst": topo.host("social").ip, "ip_proto": 6, "tcp_dst": 80}
    t = trace(topo, tables, "alice", pkt)
    assert t.dropped_at.table == TABLE_POLICY
    assert cookie_kind(t.dropped_at.flow.cookie) == "policy"
    assert cookie_policy(t.dropped_at.flow.cookie) == 7


def test_international_cutoff_with_whitelist(topo):
    tables = compiled(
        topo,
        handmade.policy(1, "deny", "international", priority=100),
        handmade.policy(2, "allow", "service:cdn", priority=200),
    )
    for src in ("alice", "bob"):
        assert reach(topo, tables, src, "bank")
        assert reach(topo, tables, src, "gov")
        assert reach(topo, tables, src, "cdn")
        assert not reach(topo, tables, src, "social")


def test_scope_isp_only_hits_that_isp(topo):
    tables = compiled(topo, handmade.policy(1, "deny", "international", scope="isp:mobinet"))
    assert reach(topo, tables, "alice", "social")
    assert not reach(topo, tables, "bob", "social")


def test_scope_class_and_subscriber(topo):
    tables = compiled(topo, handmade.policy(1, "deny", "category:GOVT", scope="class:fixed_home"))
    assert not reach(topo, tables, "alice", "gov") and reach(topo, tables, "bob", "gov")
    tables = compiled(topo, handmade.policy(2, "deny", "any", scope="subscriber:bob"))
    assert reach(topo, tables, "alice", "gov") and not reach(topo, tables, "bob", "gov")


def test_equal_priority_deny_wins(topo):
    tables = compiled(topo, handmade.policy(1, "allow", "service:social", priority=50),
                      handmade.policy(2, "deny", "service:social", priority=50))
    assert not reach(topo, tables, "alice", "social")


def test_higher_priority_allow_beats_deny(topo):
    tables = compiled(topo, handmade.policy(1, "deny", "locus:foreign", priority=50),
                      handmade.policy(2, "allow", "category:GRP", priority=51))
    assert reach(topo, tables, "alice", "social") and not reach(topo, tables, "alice", "cdn")


def test_port_target_blocks_only_that_port(topo):
    tables = compiled(topo, handmade.policy(1, "deny", "port:udp/443"))
    assert not reach(topo, tables, "alice", "social", proto=17, port=443)
    assert reach(topo, tables, "alice", "social", proto=6, port=443)
    assert reach(topo, tables, "alice", "social", proto=17, port=53)


def test_prefix_target(topo):
    tables = compiled(topo, handmade.policy(1, "deny", "prefix:172.16.0.3/32"))
    assert not reach(topo, tables, "alice", "cdn") and reach(topo, tables, "alice", "social")


def test_unknown_service_is_a_compile_error_naming_the_policy(topo):
    with pytest.raises(CompileError) as e:
        compiled(topo, handmade.policy(9, "deny", "service:nope"))
    assert str(e.value) == ("policy #9: unknown service 'nope' "
                            "(expected one of: bank, cdn, gov, social)")


def test_policy_flows_only_on_switches_with_subscribers_in_scope(topo):
    tables = compiled(topo, handmade.policy(1, "deny", "international", scope="isp:mobinet"))
    by_name = {s.dpid: s.name for s in topo.switches}
    with_policy = {by_name[d] for d, fl in tables.items()
                   if any(cookie_kind(f.cookie) == "policy" for f in fl)}
    assert with_policy == {"acc2"}


def test_every_flow_is_ours_and_compile_is_deterministic(topo):
    p = [handmade.policy(2, "allow", "service:cdn", priority=200),
         handmade.policy(1, "deny", "international")]
    a = compiled(topo, *p)
    b = compiled(topo, *reversed(p))
    assert a == b
    assert all(is_ours(f.cookie) for fl in a.values() for f in fl)


def test_overlapping_policies_keep_the_older_name(topo):
    tables = compiled(topo, handmade.policy(3, "allow", "service:bank", priority=10),
                      handmade.policy(4, "allow", "category:BANK", priority=10))
    acc1 = tables[1]
    bank = [f for f in acc1 if cookie_kind(f.cookie) == "policy"]
    assert len(bank) == 1 and cookie_policy(bank[0].cookie) == 3


def test_a_topology_with_loops_forwards_on_loop_free_shortest_paths(topo):
    from dataclasses import replace

    from sovnet.model.topology import Link

    # Close two loops: acc1-acc2 and dc1-gw1 (redundant paths, as real networks have).
    looped = replace(topo, links=topo.links + (Link("acc1", 9, "acc2", 9),
                                               Link("dc1", 9, "gw1", 9)), _index={})
    tables = compiled(looped)
    for src in ("alice", "bob"):
        for dst in (h.name for h in looped.hosts if h.name != src):
            pkt = {"eth_src": looped.host(src).mac, "eth_type": 0x0800,
                   "ipv4_dst": looped.host(dst).ip, "ip_proto": 6, "tcp_dst": 80}
            t = trace(looped, tables, src, pkt)
            assert t.delivered_to == dst, (src, dst, t.hops)
            assert len(t.hops) == len(set(t.hops)), f"loop: {t.hops}"
    # The direct link is now the shortest path between the two access switches.
    pkt = {"eth_src": looped.host("alice").mac, "eth_type": 0x0800,
           "ipv4_dst": looped.host("bob").ip}
    assert trace(looped, tables, "alice", pkt).hops == ("acc1", "acc2")
