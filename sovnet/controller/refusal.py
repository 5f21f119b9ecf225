"""The answer to a packet a reject policy sent to the controller: a TCP reset or ICMP prohibited.

A sender told "no" fails fast and knows why (`connection_refused` / `host_unreachable` to an
OONI probe) where a dropped packet leaves it to time out. Pure bytes in, bytes out (os-ken's
packet library does the parsing and checksums).
"""

from __future__ import annotations

from os_ken.lib.packet import ethernet, icmp, icmpv6, ipv4, ipv6, packet, tcp
from os_ken.lib.packet.ether_types import ETH_TYPE_IP, ETH_TYPE_IPV6
from os_ken.lib.packet.in_proto import IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP

ICMP_PROHIBITED = 13  # destination unreachable: communication administratively prohibited
_ICMP_ERRORS = (icmp.ICMP_DEST_UNREACH, icmp.ICMP_TIME_EXCEEDED, 4, 5, 12)
ICMPV6_PROHIBITED = 1  # destination unreachable: administratively prohibited (RFC 4443)
IPV6_MIN_MTU = 1280  # an ICMPv6 error quotes as much of the packet as fits in it


def refusal(data: bytes) -> bytes | None:
    """The frame to send back to the sender of `data`, or None (not IPv4, or itself a reset
    or an ICMP error: answering those could loop)."""
    pkt = packet.Packet(data)
    eth = pkt.get_protocol(ethernet.ethernet)
    if eth is not None and eth.ethertype == ETH_TYPE_IPV6:
        return _refusal6(pkt, eth, data)
    ip = pkt.get_protocol(ipv4.ipv4)
    if eth is None or ip is None or eth.ethertype != ETH_TYPE_IP:
        return None
    back_eth = ethernet.ethernet(dst=eth.src, src=eth.dst, ethertype=ETH_TYPE_IP)
    if ip.proto == IPPROTO_TCP:
        seg = pkt.get_protocol(tcp.tcp)
        if seg is None or seg.bits & tcp.TCP_RST:
            return None
        return _reset(back_eth, ip, seg)
    if ip.proto == IPPROTO_ICMP:
        msg = pkt.get_protocol(icmp.icmp)
        if msg is None or msg.type in _ICMP_ERRORS:
            return None
    # RFC 792: the original IP header and the first 8 bytes of its payload
    start = ethernet.ethernet._MIN_LEN
    quoted = bytes(data[start:start + ip.header_length * 4 + 8])
    out = packet.Packet()
    out.add_protocol(back_eth)
    out.add_protocol(ipv4.ipv4(src=ip.dst, dst=ip.src, proto=IPPROTO_ICMP, ttl=64))
    out.add_protocol(icmp.icmp(type_=icmp.ICMP_DEST_UNREACH, code=ICMP_PROHIBITED,
                               data=icmp.dest_unreach(data=quoted)))
    out.serialize()
    return bytes(out.data)


def _reset(back_eth, ip, seg) -> bytes:
    # RFC 9293 3.10.7.1: to a segment without ACK, answer <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>;
    # to one with ACK, <SEQ=SEG.ACK><RST>.
    payload = ip.total_length - ip.header_length * 4 - seg.offset * 4
    seg_len = payload + bool(seg.bits & tcp.TCP_SYN) + bool(seg.bits & tcp.TCP_FIN)
    if seg.bits & tcp.TCP_ACK:
        seq, ack, bits = seg.ack, 0, tcp.TCP_RST
    else:
        seq, ack, bits = 0, (seg.seq + seg_len) & 0xFFFFFFFF, tcp.TCP_RST | tcp.TCP_ACK
    out = packet.Packet()
    out.add_protocol(back_eth)
    out.add_protocol(ipv4.ipv4(src=ip.dst, dst=ip.src, proto=IPPROTO_TCP, ttl=64))
    out.add_protocol(tcp.tcp(src_port=seg.dst_port, dst_port=seg.src_port, seq=seq, ack=ack,
                             offset=5, bits=bits, window_size=0))
    out.serialize()
    return bytes(out.data)


def _refusal6(pkt, eth, data: bytes) -> bytes | None:
    ip6 = pkt.get_protocol(ipv6.ipv6)
    if ip6 is None:
        return None
    back_eth = ethernet.ethernet(dst=eth.src, src=eth.dst, ethertype=ETH_TYPE_IPV6)
    out = packet.Packet()
    out.add_protocol(back_eth)
    if ip6.nxt == IPPROTO_TCP:
        seg = pkt.get_protocol(tcp.tcp)
        if seg is None or seg.bits & tcp.TCP_RST:
            return None
        seg_len = (ip6.payload_length - seg.offset * 4 + bool(seg.bits & tcp.TCP_SYN)
                   + bool(seg.bits & tcp.TCP_FIN))
        if seg.bits & tcp.TCP_ACK:
            seq, ack, bits = seg.ack, 0, tcp.TCP_RST
        else:
            seq, ack, bits = 0, (seg.seq + seg_len) & 0xFFFFFFFF, tcp.TCP_RST | tcp.TCP_ACK
        out.add_protocol(ipv6.ipv6(src=ip6.dst, dst=ip6.src, nxt=IPPROTO_TCP, hop_limit=64))
        out.add_protocol(tcp.tcp(src_port=seg.dst_port, dst_port=seg.src_port, seq=seq,
                                 ack=ack, offset=5, bits=bits, window_size=0))
    else:
        msg = pkt.get_protocol(icmpv6.icmpv6)
        if ip6.nxt == IPPROTO_ICMPV6 and (msg is None or msg.type_ < 128):
            return None  # an ICMPv6 error (types below 128) is never answered
        quoted = bytes(data[ethernet.ethernet._MIN_LEN:])[:IPV6_MIN_MTU - 48]
        out.add_protocol(ipv6.ipv6(src=ip6.dst, dst=ip6.src, nxt=IPPROTO_ICMPV6,
                                   hop_limit=64))
        out.add_protocol(icmpv6.icmpv6(type_=icmpv6.ICMPV6_DST_UNREACH,
                                       code=ICMPV6_PROHIBITED,
                                       data=b"\0\0\0\0" + quoted))  # unused, quote
    out.serialize()
    return bytes(out.data)
