"""The in-path inspector: the controller reads the first packets of the flows the compiled
inspect flows send up (sovnet.compile.dpi), decides with the store's rules
(sovnet.inspect.rules) and installs a verdict for the connection.

A packet without payload (the client's ACK of the handshake) goes on at once. The first packet
with payload is read: a ClientHello's SNI on tcp/443, an HTTP Host on tcp/80, a QUIC Initial's
SNI on udp/443. What the rules say becomes a flow for that connection in the shaping table:

  pass      on to forwarding (idle 30 s), and the packet goes on
  deny      dropped (idle 10 s): the client times out
  reject    dropped, and a reset to the client (and to the server with `both`)
  throttle  both directions through the policy's meters (idle 30 s), the packet goes on

A residual rule blocks (client, server, port) for its seconds, whatever the next SNI: dropped
for deny, refused with a reset for reject. By default only the first packet with payload is
read, as Russia's TSPU does; a ClientHello longer than it is passed. With a `reassemble` rule
the inspector keeps reading: it forwards each segment (the client waits for the server's ACK
before it sends more) and decides when the ClientHello is whole.

Connections open when a rule arrives keep their verdict until it idles out, as in a stateful
middlebox that decides once per flow. Over capacity the inspector fails closed: Open vSwitch
queues the packet-ins, and then drops them, and those connections wait and retransmit.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from os_ken.lib.packet import ethernet, ipv4, ipv6, packet, tcp, udp
from os_ken.lib.packet.in_proto import IPPROTO_TCP, IPPROTO_UDP
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sovnet.compile.dpi import PRIO_RESIDUAL, PRIO_VERDICT
from sovnet.controller.ofcodec import to_instructions, to_match
from sovnet.inspect.http import http_host
from sovnet.inspect.quic import quic_initial_sni
from sovnet.inspect.rules import Rule, decide, reassembles
from sovnet.inspect.tls import MAX_HELLO, Hello, client_hello_sni
from sovnet.model.flows import (
    CONTROLLER_PORT,
    KIND_SHIFT,
    KINDS,
    OWNER_SHIFT,
    TABLE_FORWARD,
    TABLE_INSPECT,
    VERDICT_TAG,
    cookie_kind,
    is_ours,
)

log = logging.getLogger("sovnet.inspector")

PASS_IDLE, BLOCK_IDLE = 30, 10
TCP_SYN, TCP_ACK = 0x002, 0x010
MAX_HELD = 4096  # connections whose ClientHello is being reassembled at once
# Connections decided lately: their packets already on the way up when the verdict flow
# landed (a ClientHello sent in a burst of segments) follow that verdict instead of being read
# again as a first packet, which would pass them. A later connection that reuses the ports is
# told apart by its sequence numbers and by time: late packets come within a second, and
# within a window of the deciding segment's sequence number.
MAX_DECIDED = 65_536
LATE_S, LATE_WINDOW = 1.0, 1 << 16
RESIDUAL_KIND = 7  # in a verdict cookie: a residual block whose packets a reset answers


def verdict_cookie(policy_id: int, residual: bool = False) -> int:
    kind = RESIDUAL_KIND if residual else KINDS["inspect"]
    return (VERDICT_TAG << OWNER_SHIFT) | (kind << KIND_SHIFT) | (policy_id & 0xFFFFFFFF)


def for_inspector(cookie: int) -> bool:
    """A packet sent up by an inspect flow (compiled) or by a verdict's SYN watch; a residual
    block's packets go to the refusal instead."""
    return cookie_kind(cookie) == "inspect" and (
        is_ours(cookie) or cookie >> OWNER_SHIFT == VERDICT_TAG)


def is_residual(cookie: int) -> bool:
    return cookie >> OWNER_SHIFT == VERDICT_TAG and (cookie >> KIND_SHIFT) & 0xFF == \
        RESIDUAL_KIND


@dataclass(frozen=True)
class Flow:
    src: str
    dst: str
    proto: int
    sport: int
    dport: int

    def _ip(self, src: str, dst: str) -> dict:
        if ":" in src:
            return {"eth_type": 0x86DD, "ip_proto": self.proto, "ipv6_src": src, "ipv6_dst": dst}
        return {"eth_type": 0x0800, "ip_proto": self.proto, "ipv4_src": src, "ipv4_dst": dst}

    def match(self) -> dict:
        f = "tcp" if self.proto == IPPROTO_TCP else "udp"
        return {**self._ip(self.src, self.dst), f"{f}_src": self.sport, f"{f}_dst": self.dport}

    def reverse_match(self) -> dict:
        f = "tcp" if self.proto == IPPROTO_TCP else "udp"
        return {**self._ip(self.dst, self.src), f"{f}_src": self.dport, f"{f}_dst": self.sport}

    def three_tuple(self) -> dict:
        f = "tcp" if self.proto == IPPROTO_TCP else "udp"
        return {**self._ip(self.src, self.dst), f"{f}_dst": self.dport}


@dataclass(frozen=True)
class IpHeader:
    """What the inspector needs of an IPv4 or IPv6 header (os-ken parses either)."""

    src: str
    dst: str
    proto: int
    header_len: int  # bytes before the transport header
    total_len: int  # bytes of the IP packet
    v6: bool

    @classmethod
    def of(cls, pkt) -> IpHeader | None:
        v4 = pkt.get_protocol(ipv4.ipv4)
        if v4 is not None:
            return cls(v4.src, v4.dst, v4.proto, v4.header_length * 4, v4.total_length, False)
        v6 = pkt.get_protocol(ipv6.ipv6)
        if v6 is not None:  # extension headers are not followed: a censor's box seldom does
            src, dst = (str(ipaddress.IPv6Address(a)) for a in (v6.src, v6.dst))
            return cls(src, dst, v6.nxt, 40, 40 + v6.payload_length, True)
        return None


def _payload(data: bytes, ip, seg) -> bytes:
    """The transport payload, cut from the frame by the headers' own lengths: os-ken's parser
    sometimes takes a segment's bytes for another protocol and leaves no payload."""
    start = ethernet.ethernet._MIN_LEN + ip.header_len
    end = ethernet.ethernet._MIN_LEN + ip.total_len
    start += seg.offset * 4 if seg is not None else 8  # TCP header, or UDP's 8 bytes
    return bytes(data[start:end])


def _syn(match: dict) -> dict:
    return {**match, "tcp_flags": (TCP_SYN, TCP_SYN)}


def _flow_mod(match: dict, instructions: tuple, cookie: int, priority: int, idle: int = 0,
              hard: int = 0, command: int = ofp.OFPFC_ADD) -> parser.OFPFlowMod:
    return parser.OFPFlowMod(
        datapath=None, cookie=cookie, table_id=TABLE_INSPECT, command=command,
        idle_timeout=idle, hard_timeout=hard, priority=priority, buffer_id=ofp.OFP_NO_BUFFER,
        out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
        match=to_match(parser, tuple(match.items())),
        instructions=to_instructions(ofp, parser, instructions))


# Nicira's resubmit names ports in OpenFlow 1.0's 16 bits: 1.3's OFPP_IN_PORT (0xfffffff8)
# does not fit, and the packet-out would never leave os-ken.
NX_IN_PORT = 0xFFF8


def forward(in_port: int, data: bytes) -> parser.OFPPacketOut:
    """The packet goes on where it was going, through the forwarding table."""
    return parser.OFPPacketOut(None, buffer_id=ofp.OFP_NO_BUFFER, in_port=in_port, actions=[
        parser.NXActionResubmitTable(in_port=NX_IN_PORT, table_id=TABLE_FORWARD)],
        data=data)


def back_out(in_port: int, data: bytes) -> parser.OFPPacketOut:
    return parser.OFPPacketOut(None, buffer_id=ofp.OFP_NO_BUFFER, in_port=ofp.OFPP_CONTROLLER,
                               actions=[parser.OFPActionOutput(in_port)], data=data)


def _ip_layer(ip: IpHeader, src: str, dst: str):
    if ip.v6:
        return ipv6.ipv6(src=src, dst=dst, nxt=IPPROTO_TCP, hop_limit=64)
    return ipv4.ipv4(src=src, dst=dst, proto=IPPROTO_TCP, ttl=64)


def resets(eth, ip: IpHeader, seg, payload_len: int, both: bool) -> tuple[bytes, bytes | None]:
    """(a reset to the client as if from the server, one to the server as if from the
    client): what the GFW and TSPU inject."""
    to_client = packet.Packet()
    to_client.add_protocol(ethernet.ethernet(dst=eth.src, src=eth.dst, ethertype=eth.ethertype))
    to_client.add_protocol(_ip_layer(ip, ip.dst, ip.src))
    to_client.add_protocol(tcp.tcp(src_port=seg.dst_port, dst_port=seg.src_port, seq=seg.ack,
                                   ack=(seg.seq + payload_len) & 0xFFFFFFFF, offset=5,
                                   bits=tcp.TCP_RST | tcp.TCP_ACK, window_size=0))
    to_client.serialize()
    if not both:
        return bytes(to_client.data), None
    to_server = packet.Packet()
    to_server.add_protocol(ethernet.ethernet(dst=eth.dst, src=eth.src, ethertype=eth.ethertype))
    to_server.add_protocol(_ip_layer(ip, ip.src, ip.dst))
    to_server.add_protocol(tcp.tcp(src_port=seg.src_port, dst_port=seg.dst_port, seq=seg.seq,
                                   ack=0, offset=5, bits=tcp.TCP_RST, window_size=0))
    to_server.serialize()
    return bytes(to_client.data), bytes(to_server.data)


@dataclass(frozen=True)
class _Late:
    rule: Rule | None


class Inspector:
    def __init__(self) -> None:
        self.held: OrderedDict[Flow, bytes] = OrderedDict()
        # flow -> (its rule, the deciding segment's sequence number, when)
        self.decided: OrderedDict[Flow, tuple[Rule | None, int | None, float]] = OrderedDict()
        self.counts = {"inspected": 0, "passed": 0, "blocked": 0, "throttled": 0}

    def packet_in(self, dpid: int, in_port: int, data: bytes, rules: tuple[Rule, ...]) -> list:
        """The messages to send the switch for one packet the inspect flows sent up."""
        pkt = packet.Packet(data)
        eth, ip = pkt.get_protocol(ethernet.ethernet), IpHeader.of(pkt)
        if eth is None or ip is None:
            return []
        seg = pkt.get_protocol(tcp.tcp) if ip.proto == IPPROTO_TCP else None
        dgram = pkt.get_protocol(udp.udp) if ip.proto == IPPROTO_UDP else None
        l4 = seg or dgram
        if l4 is None:
            return [forward(in_port, data)]
        payload = _payload(data, ip, seg)
        flow = Flow(ip.src, ip.dst, ip.proto, l4.src_port, l4.dst_port)
        if seg is not None and seg.bits & TCP_SYN and not seg.bits & TCP_ACK:
            return self._new_connection(flow, in_port, data)
        if not payload:
            return [forward(in_port, data)]  # the handshake's ACK, a FIN: nothing to read
        late = self._late(flow, seg)
        if late is not None:
            blocked = late.rule is not None and late.rule.action != "throttle"
            return [] if blocked else [forward(in_port, data)]
        self.counts["inspected"] += 1
        if dgram is not None:
            protocol, hello = "quic", quic_initial_sni(payload)
        else:
            protocol = "http" if flow.dport == 80 else "tls"
            buf = self.held.pop(flow, b"") + payload
            hello = http_host(buf) if protocol == "http" else client_hello_sni(buf)
            if (hello.status == "incomplete" and len(buf) < MAX_HELLO
                    and reassembles(rules, flow.src, protocol)):
                self._hold(flow, buf)
                return [forward(in_port, data)]
        name = hello.name if hello.status == "name" else None
        rule = decide(rules, flow.src, protocol, name)
        return self._verdict(dpid, in_port, data, flow, rule, (eth, ip, seg, len(payload)),
                             hello)

    def _late(self, flow: Flow, seg) -> _Late | None:
        """The verdict a packet of an already decided connection follows; None for a packet
        to read (a new connection, though it may reuse a decided one's ports)."""
        entry = self.decided.get(flow)
        if entry is None:
            return None
        rule, seq, at = entry
        if time.monotonic() - at > LATE_S or (
                seg is not None and seq is not None
                and (seg.seq - seq + LATE_WINDOW) & 0xFFFFFFFF >= 2 * LATE_WINDOW):
            del self.decided[flow]
            return None
        return _Late(rule)

    def _new_connection(self, flow: Flow, in_port: int, data: bytes) -> list:
        """A SYN on the ports of a connection already decided (Linux reuses a source port
        for the next connection to the same server): a new connection, as a stateful
        middlebox sees it. The old verdict goes, and the new connection is read afresh."""
        self.decided.pop(flow, None)
        self.held.pop(flow, None)
        gone = [_flow_mod(m, (), 0, prio, command=ofp.OFPFC_DELETE_STRICT)
                for m, prio in ((flow.match(), PRIO_VERDICT), (flow.reverse_match(), PRIO_VERDICT),
                                (_syn(flow.match()), PRIO_VERDICT + 1))]
        return [*gone, forward(in_port, data)]

    def _hold(self, flow: Flow, buf: bytes) -> None:
        self.held[flow] = buf
        while len(self.held) > MAX_HELD:
            self.held.popitem(last=False)

    def _verdict(self, dpid, in_port, data, flow: Flow, rule: Rule | None, parts,
                 hello: Hello) -> list:
        seg = parts[2]
        self.decided[flow] = (rule, seg.seq if seg is not None else None, time.monotonic())
        while len(self.decided) > MAX_DECIDED:
            self.decided.popitem(last=False)
        msgs = self._decide(dpid, in_port, data, flow, rule, parts, hello)
        if seg is not None:  # a later SYN on these ports is a new connection: up it comes
            idle = PASS_IDLE if rule is None or rule.action == "throttle" else BLOCK_IDLE
            msgs.insert(0, _flow_mod(_syn(flow.match()), (("output", CONTROLLER_PORT),),
                                     verdict_cookie(0), PRIO_VERDICT + 1, idle=idle))
        return msgs

    def _decide(self, dpid, in_port, data, flow: Flow, rule: Rule | None, parts,
                hello: Hello) -> list:
        if rule is None:
            self.counts["passed"] += 1
            return [_flow_mod(flow.match(), (("goto", TABLE_FORWARD),), verdict_cookie(0),
                              PRIO_VERDICT, idle=PASS_IDLE), forward(in_port, data)]
        log.info("%s %s:%s -> %s:%s (%s %r)", rule.describe(), flow.src, flow.sport, flow.dst,
                 flow.dport, hello.status, hello.name)
        cookie = verdict_cookie(rule.policy_id)
        if rule.action == "throttle":
            self.counts["throttled"] += 1
            up, down = rule.meters.get(dpid, (None, None))
            if up is None:
                return [forward(in_port, data)]
            return [_flow_mod(flow.match(), (("meter", up), ("goto", TABLE_FORWARD)), cookie,
                              PRIO_VERDICT, idle=PASS_IDLE),
                    _flow_mod(flow.reverse_match(), (("meter", down), ("goto", TABLE_FORWARD)),
                              cookie, PRIO_VERDICT, idle=PASS_IDLE),
                    forward(in_port, data)]
        self.counts["blocked"] += 1
        msgs = [_flow_mod(flow.match(), (), cookie, PRIO_VERDICT, idle=BLOCK_IDLE)]
        if rule.residual:
            residual = rule.action == "reject"
            msgs.append(_flow_mod(flow.three_tuple(),
                                  (("output", CONTROLLER_PORT),) if residual else (),
                                  verdict_cookie(rule.policy_id, residual), PRIO_RESIDUAL,
                                  hard=max(1, round(rule.residual))))
        eth, ip, seg, payload_len = parts
        if rule.action == "reject" and seg is not None:
            to_client, to_server = resets(eth, ip, seg, payload_len, rule.reset_server)
            msgs.append(back_out(in_port, to_client))
            if to_server is not None:
                msgs.append(forward(in_port, to_server))
        return msgs
