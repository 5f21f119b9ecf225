"""Dual-stack compilation: every IPv4 address and prefix has its IPv6 twin (embedded in the
lab's /96), policies cover both families unless the target names one, and neighbour discovery
is forwarded where ARP is and never caught by a policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.compile import compile_network
from sovnet.compile.paths import host_port
from sovnet.compile.pipeline import PRIO_ND
from sovnet.compile.targets import target_matches
from sovnet.config import load_topology
from sovnet.flowtable.simulate import field_matches, lookup
from sovnet.model.flows import TABLE_FORWARD, TABLE_POLICY, canonical_value
from sovnet.model.policy import PolicySyntaxError, parse_target
from sovnet.model.topology import embed6
from tests.unit import handmade

ROOT = Path(__file__).resolve().parents[3]
DUAL = load_topology(str(ROOT / "tests" / "integration" / "topologies" / "dual.yaml"))
V4ONLY = load_topology(str(ROOT / "topologies" / "minimal.yaml"))


def test_addresses_and_prefixes_are_embedded_in_the_96():
    assert embed6("fd00:5e::/96", "10.1.0.5") == "fd00:5e::a01:5"
    assert embed6("fd00:5e::/96", "172.16.0.0/12") == "fd00:5e::ac10:0/108"
    assert DUAL.foreign_prefixes6 == ("fd00:5e::ac10:0/108",)
    assert all(h.ip6 == embed6(DUAL.ipv6, h.ip) for h in DUAL.hosts)
    assert DUAL.is_foreign(DUAL.host("social").ip6) and not DUAL.is_foreign(DUAL.host("bank").ip6)
    assert all(h.ip6 == "" for h in V4ONLY.hosts) and V4ONLY.foreign_prefixes6 == ()


@pytest.mark.parametrize("text, families", [
    ("international", {"ipv4", "ipv6"}), ("international@ipv6", {"ipv6"}),
    ("any@ipv4", {"ipv4"}), ("service:social", {"ipv4", "ipv6"}),
    ("port:udp/443@ipv6", {"ipv6"}), ("prefix:172.16.0.0/12", {"ipv4"}),
])
def test_a_target_covers_the_families_it_names(text, families):
    matches = target_matches(DUAL, parse_target(text), 1)
    seen = {"ipv6" if m["eth_type"] == 0x86DD else "ipv4" for m in matches}
    assert seen == families
    assert {m["eth_type"] for m in target_matches(V4ONLY, parse_target(text), 1)} <= {0x0800}


@pytest.mark.parametrize("text, message", [
    ("any@ipv5", "unknown address family 'ipv5' in 'any@ipv5' (expected TARGET@ipv4 or "
                 "TARGET@ipv6)"),
    ("sni:x.example@ipv6", "target 'sni' takes no address family, got 'sni:x.example@ipv6' "
                           "(expected any, international, service, category, locus or port "
                           "with @ipv4 or @ipv6)"),
])
def test_bad_families_are_refused_with_what_was_expected(text, message):
    with pytest.raises(PolicySyntaxError) as e:
        parse_target(text)
    assert str(e.value) == message


def test_a_family_round_trips_through_text():
    t = parse_target("international@ipv6")
    assert (t.kind, t.family, str(t)) == ("international", "ipv6", "international@ipv6")


def test_forwarding_and_neighbour_discovery_for_every_ipv6_host():
    c = compile_network(DUAL, [handmade.policy(1, "deny", "any@ipv6", "isp:mobinet")],
                        handmade.subscribers(DUAL))
    acc2 = DUAL.switch("acc2").dpid
    for h in DUAL.hosts:
        port = host_port(DUAL, "acc2", h.name)
        to = lookup(c.flows[acc2], TABLE_FORWARD, {"eth_type": 0x86DD, "ipv6_dst": h.ip6})
        solicit = lookup(c.flows[acc2], TABLE_FORWARD, {
            "eth_type": 0x86DD, "ip_proto": 58, "icmpv6_type": 135, "ipv6_nd_target": h.ip6,
            "ipv6_dst": "ff02::1:ff00:1"})
        assert to is not None and to.instructions == (("output", port),), h.name
        assert solicit is not None and solicit.instructions == (("output", port),), h.name
    policy = [f for f in c.flows[acc2] if f.key.table == TABLE_POLICY]
    nd = [f for f in policy if f.key.priority == PRIO_ND]
    assert len(nd) == 2 and all(f.key.priority > g.key.priority for f in nd
                                for g in policy if g not in nd)
    cut = [dict(f.key.match) for f in policy if f.cookie & 0xFFFFFFFF == 1]
    assert cut and all(m["eth_type"] == 0x86DD for m in cut)


def test_ipv6_prefixes_read_back_from_a_switch_compare_equal():
    mask = "ffff:ffff:ffff:ffff:ffff:ffff:fff0:0"
    assert canonical_value("ipv6_dst", "fd00:5e::ac10:0/108") == \
        canonical_value("ipv6_dst", ("fd00:5e::ac10:0", mask))
    assert field_matches("ipv6_dst", ("fd00:5e::ac10:0", mask), {"ipv6_dst": "fd00:5e::ac10:2"})
    assert not field_matches("ipv6_dst", ("fd00:5e::ac10:0", mask),
                             {"ipv6_dst": "fd00:5e::a01:2"})


def test_the_dual_stack_national_twin_differs_only_by_ipv6():
    import dataclasses

    v4 = load_topology(str(ROOT / "topologies" / "national.yaml"))
    dual = load_topology(str(ROOT / "topologies" / "national-dual.yaml"))
    assert all(h.ip6 for h in dual.hosts)
    strip = [dataclasses.replace(h, ip6="") for h in dual.hosts]
    assert (strip, dual.switches, dual.links, dual.services, dual.subscribers) == (
        list(v4.hosts), v4.switches, v4.links, v4.services, v4.subscribers)
