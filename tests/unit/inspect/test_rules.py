"""The inspector's rules as the compiler makes them, the decision over them, and the messages
the controller's inspector sends for each verdict."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sovnet.compile import compile_network
from sovnet.compile.dpi import PRIO_HANDSHAKE, PRIO_INSPECT, PRIO_RESIDUAL, PRIO_VERDICT
from sovnet.controller import ofmsg
from sovnet.controller.inspector import Inspector, is_residual
from sovnet.inspect.rules import decide, name_matches
from sovnet.model.flows import CONTROLLER_PORT, TABLE_INSPECT, cookie_kind
from tests.unit import handmade
from tests.unit.inspect.hellos import client_hello

TOPO = handmade.topology()


@pytest.mark.parametrize("kind, pattern, name, hit", [
    ("sni", "t.co", "t.co", True),
    ("sni", "t.co", "microsoft.com", False),
    ("sni-contains", "t.co", "microsoft.com", True),
    ("sni", "*.example", "cdn.video.example", True),
    ("sni", "*.example", "example", False),
    ("quic", "", None, True),
    ("quic", "a.example", None, False),
    ("host", "a.example", "a.example", True),
])
def test_name_patterns(kind, pattern, name, hit):
    assert name_matches(kind, pattern, name) is hit

DP = SimpleNamespace(id=1, ofproto=ofp, ofproto_parser=parser)


def compiled(*policies):
    return compile_network(TOPO, policies, handmade.subscribers(TOPO))


def test_the_compiler_sends_first_packets_up_only_where_subscribers_are_in_scope():
    c = compiled(handmade.policy(1, "reject:residual=90s", "sni:social.example", "isp:fixnet"),
                 handmade.policy(2, "throttle:140kbit", "sni:video.example"))
    (reset, throttle) = c.inspect
    fixnet = {TOPO.host(s.name).ip for s in TOPO.subscribers if s.isp == "fixnet"}
    assert reset.covered == frozenset(fixnet) and reset.residual == 90.0
    assert throttle.covered == frozenset(TOPO.host(s.name).ip for s in TOPO.subscribers)
    for dpid, flows in c.flows.items():
        inspect = [f for f in flows if cookie_kind(f.cookie) == "inspect"]
        has_subs = any(TOPO.switch(h.switch).dpid == dpid for h in TOPO.hosts
                       if h.kind == "subscriber")
        assert bool(inspect) == has_subs
        for f in inspect:
            assert f.key.table == TABLE_INSPECT
            assert f.key.priority in (PRIO_INSPECT, PRIO_HANDSHAKE)
            if f.key.priority == PRIO_INSPECT:
                assert f.instructions == (("output", CONTROLLER_PORT),)
            else:
                assert dict(f.key.match)["tcp_flags"] == (2, 2)
        if has_subs:  # the throttle's two meters, after the subscribers' ones
            assert dpid in throttle.meters
            up, down = throttle.meters[dpid]
            assert {m.meter_id for m in c.meters[dpid] if m.policy == 2} == {up, down}


def test_the_highest_priority_rule_decides():
    c = compiled(handmade.policy(1, "reject", "sni-contains:example"),
                 handmade.policy(2, "throttle:1mbit", "sni:video.example", priority=200))
    ip = TOPO.host("alice").ip
    assert decide(c.inspect, ip, "tls", "video.example").policy_id == 2
    assert decide(c.inspect, ip, "tls", "social.example").policy_id == 1
    assert decide(c.inspect, ip, "tls", "bank.sov") is None
    assert decide(c.inspect, ip, "http", "social.example") is None
    assert decide(c.inspect, "10.99.99.99", "tls", "social.example") is None


def frame(payload: bytes, src="alice", dst="social", sport=40000) -> bytes:
    from os_ken.lib.packet import ethernet, ipv4, packet, tcp

    s, d = TOPO.host(src), TOPO.host(dst)
    p = packet.Packet()
    p.add_protocol(ethernet.ethernet(dst=d.mac, src=s.mac, ethertype=0x0800))
    p.add_protocol(ipv4.ipv4(src=s.ip, dst=d.ip, proto=6))
    p.add_protocol(tcp.tcp(src_port=sport, dst_port=443, seq=1000, ack=5000, offset=5,
                           bits=tcp.TCP_ACK | tcp.TCP_PSH))
    p.add_protocol(payload)
    p.serialize()
    return bytes(p.data)


def kinds(msgs) -> list[str]:
    """What each message is, once it has been serialized for a switch as os-ken would (a
    message that cannot be is never sent: the packet is lost and the client retransmits).
    Every TCP verdict comes with a flow that sends a later SYN on its ports up: left out here,
    tested on its own."""
    out = []
    for m in ofmsg.bind(DP, msgs):
        m.serialize()
        if isinstance(m, parser.OFPFlowMod):
            if (m.priority == PRIO_VERDICT + 1 and m.command == ofp.OFPFC_ADD
                    and "tcp_flags" in dict(m.match.items())):
                continue
            what = "residual" if is_residual(m.cookie) else "flow"
            if m.command == ofp.OFPFC_DELETE_STRICT:
                what = "delete"
            out.append(f"{what}@{m.priority}/{m.idle_timeout}/{m.hard_timeout}")
        else:
            out.append(type(m.actions[0]).__name__)
    return out


def test_each_verdict_sends_what_a_middlebox_would():
    rules = compiled(handmade.policy(1, "reject:residual=90s,both", "sni:social.example"),
                     handmade.policy(2, "deny", "sni:news.example"),
                     handmade.policy(3, "throttle:140kbit", "sni:video.example")).inspect
    insp = Inspector()
    assert kinds(insp.packet_in(1, 1, frame(client_hello("social.example")), rules)) == [
        f"flow@{PRIO_VERDICT}/10/0", f"residual@{PRIO_RESIDUAL}/0/90", "OFPActionOutput",
        "NXActionResubmitTable"]
    assert kinds(insp.packet_in(1, 1, frame(client_hello("news.example"), sport=40001), rules)) == [
        f"flow@{PRIO_VERDICT}/10/0"]
    video = frame(client_hello("video.example"), sport=40002)
    assert kinds(insp.packet_in(1, 1, video, rules)) == [
        f"flow@{PRIO_VERDICT}/30/0", f"flow@{PRIO_VERDICT}/30/0", "NXActionResubmitTable"]
    assert kinds(insp.packet_in(1, 1, frame(client_hello("bank.sov"), sport=40003), rules)) == [
        f"flow@{PRIO_VERDICT}/30/0", "NXActionResubmitTable"]
    assert kinds(insp.packet_in(1, 1, frame(b"", sport=40004), rules)) == ["NXActionResubmitTable"]


def test_the_first_packet_inspector_is_cheated_by_a_split_and_the_reassembler_is_not():
    hello = client_hello("social.example")
    first, rest = hello[:80], hello[80:]
    plain = compiled(handmade.policy(1, "reject", "sni:social.example")).inspect
    assert kinds(Inspector().packet_in(1, 1, frame(first), plain))[0] == \
        f"flow@{PRIO_VERDICT}/30/0"  # passed
    whole = compiled(handmade.policy(1, "reject:reassemble", "sni:social.example")).inspect
    insp = Inspector()
    assert kinds(insp.packet_in(1, 1, frame(first), whole)) == ["NXActionResubmitTable"]
    assert kinds(insp.packet_in(1, 1, frame(rest), whole))[0] == f"flow@{PRIO_VERDICT}/10/0"
    assert not insp.held


def test_segments_already_sent_up_follow_the_verdict_and_are_not_read_again():
    """A ClientHello sent in a burst: its later segments reach the controller after the
    verdict; read as first packets they would pass, and a reset would be undone."""
    hello = client_hello("social.example")
    rules = compiled(handmade.policy(1, "reject:reassemble", "sni:social.example")).inspect
    insp = Inspector()
    parts = [hello[i:i + 76] for i in range(0, len(hello), 76)]
    decided = None
    for n, part in enumerate(parts):
        msgs = kinds(insp.packet_in(1, 1, frame(part), rules))
        if msgs and msgs[0].startswith("flow@"):
            decided = n
            break
    assert decided is not None
    assert all(insp.packet_in(1, 1, frame(part), rules) == [] for part in parts[decided + 1:])
    assert all(insp.packet_in(1, 1, frame(part), rules) == [] for part in parts[:1])
    passed = compiled(handmade.policy(1, "reject:reassemble", "sni:other.example")).inspect
    insp = Inspector()
    verdicts = [kinds(insp.packet_in(1, 1, frame(part), passed)) for part in parts]
    assert verdicts[-1][0] == f"flow@{PRIO_VERDICT}/30/0"  # passed once whole
    late = kinds(insp.packet_in(1, 1, frame(parts[2]), passed))
    assert late == ["NXActionResubmitTable"]  # a late copy is forwarded, not read again


def test_the_inspector_reads_ipv6_and_resets_over_it():
    from os_ken.lib.packet import ethernet, ipv6, packet, tcp

    from sovnet.config import load_topology

    topo = load_topology(str(Path(__file__).resolve().parents[2] / "integration" / "topologies"
                             / "dual.yaml"))
    c = compile_network(topo, [handmade.policy(1, "reject:residual=9s", "sni:friendbook.example")],
                        handmade.subscribers(topo))
    acc = topo.switch("acc1").dpid
    assert {f.key.match for f in c.flows[acc] if cookie_kind(f.cookie) == "inspect"
            and dict(f.key.match)["eth_type"] == 0x86DD}  # the inspect flows cover IPv6 too
    alice, social = topo.host("alice"), topo.host("social")
    p = packet.Packet()
    p.add_protocol(ethernet.ethernet(dst=social.mac, src=alice.mac, ethertype=0x86DD))
    p.add_protocol(ipv6.ipv6(src=alice.ip6, dst=social.ip6, nxt=6))
    p.add_protocol(tcp.tcp(src_port=40000, dst_port=443, seq=1000, ack=5000, offset=5,
                           bits=tcp.TCP_ACK | tcp.TCP_PSH))
    p.add_protocol(client_hello("friendbook.example"))
    p.serialize()
    msgs = Inspector().packet_in(acc, 2, bytes(p.data), c.inspect)
    assert kinds(msgs) == [f"flow@{PRIO_VERDICT}/10/0", f"residual@{PRIO_RESIDUAL}/0/9",
                           "OFPActionOutput"]
    residual = next(m for m in msgs if getattr(m, "priority", 0) == PRIO_RESIDUAL)
    assert dict(residual.match.items())["ipv6_src"] == alice.ip6
    rst = packet.Packet(msgs[-1].data)
    ip6, seg = rst.get_protocol(ipv6.ipv6), rst.get_protocol(tcp.tcp)
    assert (ip6.src, ip6.dst, seg.bits) == (social.ip6, alice.ip6, tcp.TCP_RST | tcp.TCP_ACK)


def test_a_new_connection_on_a_decided_connections_ports_is_read_again():
    """Linux reuses a source port for the next connection to the same server: with other
    sequence numbers, it is a new connection and is inspected, not waved through."""
    from os_ken.lib.packet import packet, tcp

    rules = compiled(handmade.policy(1, "throttle:140kbit", "sni:social.example")).inspect
    insp = Inspector()
    assert kinds(insp.packet_in(1, 1, frame(client_hello("bank.sov")), rules))[0] == \
        f"flow@{PRIO_VERDICT}/30/0"  # passed
    again = packet.Packet(frame(client_hello("social.example")))
    again.get_protocol(tcp.tcp).seq = 1000 + (1 << 20)
    again.get_protocol(tcp.tcp).csum = 0
    again.serialize()
    msgs = kinds(insp.packet_in(1, 1, bytes(again.data), rules))
    assert msgs[:2] == [f"flow@{PRIO_VERDICT}/30/0", f"flow@{PRIO_VERDICT}/30/0"]  # throttled


def test_a_syn_on_a_decided_connections_ports_clears_its_verdict():
    """The stale verdict of the last connection on these ports would otherwise decide the
    next one: a middlebox tracks connections, not port numbers."""
    from os_ken.lib.packet import tcp

    rules = compiled(handmade.policy(1, "reject", "sni:social.example")).inspect
    insp = Inspector()
    msgs = insp.packet_in(1, 1, frame(client_hello("social.example")), rules)
    [syn_flow] = [m for m in msgs if isinstance(m, parser.OFPFlowMod)
                  and dict(m.match.items()).get("tcp_flags") == (tcp.TCP_SYN, tcp.TCP_SYN)]
    assert syn_flow.priority == PRIO_VERDICT + 1
    assert [type(a).__name__ for i in syn_flow.instructions for a in i.actions] == [
        "OFPActionOutput"]
    syn = frame(b"", sport=40000)
    from os_ken.lib.packet import packet

    p = packet.Packet(syn)
    p.get_protocol(tcp.tcp).bits = tcp.TCP_SYN
    p.get_protocol(tcp.tcp).csum = 0
    p.serialize()
    assert kinds(insp.packet_in(1, 1, bytes(p.data), rules)) == [
        f"delete@{PRIO_VERDICT}/0/0", f"delete@{PRIO_VERDICT}/0/0",
        f"delete@{PRIO_VERDICT + 1}/0/0", "NXActionResubmitTable"]
    assert not insp.decided


def test_the_controller_hands_the_inspector_what_its_flows_send_up():
    from sovnet.controller.inspector import for_inspector, verdict_cookie
    from sovnet.model.flows import make_cookie

    assert for_inspector(make_cookie("inspect", 3))  # a compiled inspect flow
    assert for_inspector(verdict_cookie(0))  # a verdict's SYN watch
    assert not for_inspector(verdict_cookie(3, residual=True))  # refused, not read
    assert not for_inspector(make_cookie("policy", 3))  # a reject policy: refused


def test_an_inspected_connection_keeps_its_subscribers_throttle():
    """Shaping comes before the inspector's table: a subscriber's own throttle (Kashmir's
    "2G") still holds on a connection the inspector passed or throttled by its SNI."""
    from sovnet.flowtable.simulate import lookup
    from sovnet.model.flows import TABLE_FORWARD, TABLE_INSPECT, TABLE_SHAPING

    c = compiled(handmade.policy(1, "throttle:256kbit", "any", "subscriber:alice"),
                 handmade.policy(2, "reject", "sni:social.example"))
    acc = TOPO.switch("acc1").dpid
    alice = TOPO.host("alice")
    pkt = {"in_port": alice.port, "eth_src": alice.mac, "eth_type": 0x0800, "ip_proto": 6,
           "ipv4_src": alice.ip, "ipv4_dst": TOPO.host("social").ip, "tcp_dst": 443,
           "tcp_flags": 0x018, "metadata": 0}
    from sovnet.compile.targets import subscriber_metadata

    pkt["metadata"] = subscriber_metadata(TOPO, "alice")
    shaped = lookup(c.flows[acc], TABLE_SHAPING, pkt)
    assert shaped is not None and ("goto", TABLE_INSPECT) in shaped.instructions
    assert any(i[0] == "meter" for i in shaped.instructions)
    inspect = lookup(c.flows[acc], TABLE_INSPECT, pkt)
    assert inspect is not None and inspect.key.priority == PRIO_INSPECT
    verdicts = Inspector().packet_in(acc, alice.port, frame(client_hello("bank.sov")), c.inspect)
    passed = next(m for m in verdicts if isinstance(m, parser.OFPFlowMod)
                  and m.priority == PRIO_VERDICT)
    assert passed.table_id == TABLE_INSPECT
    assert [i.table_id for i in passed.instructions] == [TABLE_FORWARD]
