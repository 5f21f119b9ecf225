"""What the controller sends back for a rejected packet, checked by parsing it again."""

from __future__ import annotations

from os_ken.lib.packet import ethernet, icmp, ipv4, packet, tcp, udp
from os_ken.lib.packet.ether_types import ETH_TYPE_IP
from os_ken.lib.packet.in_proto import IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP

from sovnet.controller.refusal import ICMP_PROHIBITED, refusal

CLIENT = ("02:00:0a:01:00:02", "10.1.0.2")
SERVER = ("02:00:ac:10:00:02", "172.16.0.2")


def frame(proto, *layers) -> bytes:
    p = packet.Packet()
    p.add_protocol(ethernet.ethernet(dst=SERVER[0], src=CLIENT[0], ethertype=ETH_TYPE_IP))
    p.add_protocol(ipv4.ipv4(src=CLIENT[1], dst=SERVER[1], proto=proto))
    for layer in layers:
        p.add_protocol(layer)
    p.serialize()
    return bytes(p.data)


def checksum_ok(data: bytes) -> bool:
    """RFC 1071: the one's complement sum over data carrying its checksum is all ones."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def parsed(data: bytes):
    p = packet.Packet(data)
    return (p.get_protocol(ethernet.ethernet), p.get_protocol(ipv4.ipv4), p)


def test_a_syn_gets_a_reset_from_the_server_it_was_for():
    syn = frame(IPPROTO_TCP, tcp.tcp(src_port=40000, dst_port=80, seq=1000, bits=tcp.TCP_SYN))
    eth, ip, p = parsed(refusal(syn))
    seg = p.get_protocol(tcp.tcp)
    assert (eth.src, eth.dst, ip.src, ip.dst) == (SERVER[0], CLIENT[0], SERVER[1], CLIENT[1])
    assert (seg.src_port, seg.dst_port) == (80, 40000)
    assert seg.bits == tcp.TCP_RST | tcp.TCP_ACK and (seg.seq, seg.ack) == (0, 1001)
    data = refusal(syn)
    assert checksum_ok(data[14:34])  # the IP header
    segment = data[34:14 + ip.total_length]  # without the Ethernet padding
    pseudo = data[26:34] + bytes([0, IPPROTO_TCP]) + len(segment).to_bytes(2, "big")
    assert checksum_ok(pseudo + segment)  # the TCP segment


def test_a_segment_with_ack_gets_a_reset_at_its_ack_number():
    data = frame(IPPROTO_TCP, tcp.tcp(src_port=40000, dst_port=80, seq=5, ack=777,
                                      bits=tcp.TCP_ACK | tcp.TCP_PSH), b"GET / HTTP/1.1\r\n")
    seg = parsed(refusal(data))[2].get_protocol(tcp.tcp)
    assert seg.bits == tcp.TCP_RST and seg.seq == 777


def test_udp_and_ping_get_icmp_prohibited_quoting_the_original():
    data = frame(IPPROTO_UDP, udp.udp(src_port=5353, dst_port=53), b"\x12\x34query")
    eth, ip, p = parsed(refusal(data))
    msg = p.get_protocol(icmp.icmp)
    assert (ip.proto, msg.type, msg.code) == (IPPROTO_ICMP, icmp.ICMP_DEST_UNREACH,
                                              ICMP_PROHIBITED)
    assert msg.data.data == data[14:14 + 20 + 8]  # IP header + first 8 bytes
    echo = frame(IPPROTO_ICMP, icmp.icmp(type_=icmp.ICMP_ECHO_REQUEST,
                                         data=icmp.echo(id_=1, seq=1)))
    assert parsed(refusal(echo))[2].get_protocol(icmp.icmp).code == ICMP_PROHIBITED


def test_never_answers_a_reset_or_an_icmp_error_or_non_ip():
    rst = frame(IPPROTO_TCP, tcp.tcp(src_port=1, dst_port=2, bits=tcp.TCP_RST))
    unreach = frame(IPPROTO_ICMP, icmp.icmp(type_=icmp.ICMP_DEST_UNREACH, code=3,
                                            data=icmp.dest_unreach(data=b"x" * 28)))
    arp = bytes(ethernet.ethernet(ethertype=0x0806).serialize(bytearray(28), None)) + bytes(28)
    assert refusal(rst) is None and refusal(unreach) is None and refusal(arp) is None


CLIENT6, SERVER6 = "fd00:5e::a01:2", "fd00:5e::ac10:2"


def frame6(nxt, *layers) -> bytes:
    from os_ken.lib.packet import ipv6
    from os_ken.lib.packet.ether_types import ETH_TYPE_IPV6

    p = packet.Packet()
    p.add_protocol(ethernet.ethernet(dst=SERVER[0], src=CLIENT[0], ethertype=ETH_TYPE_IPV6))
    p.add_protocol(ipv6.ipv6(src=CLIENT6, dst=SERVER6, nxt=nxt))
    for layer in layers:
        p.add_protocol(layer)
    p.serialize()
    return bytes(p.data)


def test_an_ipv6_syn_gets_a_reset_and_a_datagram_icmpv6_prohibited():
    from os_ken.lib.packet import icmpv6, ipv6

    back = packet.Packet(refusal(frame6(IPPROTO_TCP, tcp.tcp(
        src_port=40000, dst_port=443, seq=1000, bits=tcp.TCP_SYN))))
    ip6, seg = back.get_protocol(ipv6.ipv6), back.get_protocol(tcp.tcp)
    assert (ip6.src, ip6.dst, seg.src_port, seg.dst_port) == (SERVER6, CLIENT6, 443, 40000)
    assert seg.bits == tcp.TCP_RST | tcp.TCP_ACK and seg.ack == 1001
    dgram = frame6(IPPROTO_UDP, udp.udp(src_port=5353, dst_port=443), b"x" * 2000)
    back = packet.Packet(refusal(dgram))
    err = back.get_protocol(icmpv6.icmpv6)
    assert (err.type_, err.code) == (icmpv6.ICMPV6_DST_UNREACH, 1)
    assert len(back.data) - 14 <= 1280  # as much of the datagram as fits the minimum MTU
    assert refusal(bytes(back.data)) is None  # an ICMPv6 error is never answered
