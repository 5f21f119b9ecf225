"""The stream probe: small ICMP echo requests at a fixed rate, and when each reply came back.

A web or ping probe says whether something got through around a given moment; a stream says
*when* packets stopped (or started) getting through, to within one packet interval, so the
runner can time a store change against the data plane: commit -> last reply received after a
cut, commit -> first reply after an admission (sovnet.experiments.stream_effect).

ICMP rather than UDP because every emulated host's kernel answers echo requests: no server to
run, and the measurement is the network's alone. Echo requests from a raw socket (the agent runs
as root inside its host, as Mininet's hosts do); each stream has its own ICMP identifier, so
streams of one agent to several targets, and ping, keep to their own replies.

The codec (build_echo, parse_icmp) is pure; icmp_stream is the network loop.
"""

from __future__ import annotations

import itertools
import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from sovnet.probes import source
from sovnet.probes.net import failure_string

ECHO_REPLY, DEST_UNREACH, ECHO_REQUEST, TIME_EXCEEDED = 0, 3, 8, 11
PAYLOAD = b"sovnet-stream..."  # 16 bytes: packets stay small (feasibility.md: packet rates)
MAX_SEQ = 0xFFFF
LINGER = 0.3  # seconds after the last request to wait for its reply; RTTs here are < 10 ms
# Destination-unreachable codes that name the network, as iputils words them ("Destination Net
# ..."); the others (host, port, protocol, "Packet filtered") count as host_unreachable, the
# same mapping as parse.parse_ping.
_NET_CODES = {0, 6, 9, 11}


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo(ident: int, seq: int, payload: bytes = PAYLOAD) -> bytes:
    """An ICMP echo request (type 8), checksummed, without the IP header (the kernel adds it)."""
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident & 0xFFFF, seq & MAX_SEQ)
    csum = checksum(header + payload)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, csum, ident & 0xFFFF, seq & MAX_SEQ) + payload


@dataclass(frozen=True)
class IcmpMessage:
    kind: str  # "reply" (an echo reply), "error" (about one of our requests) or "other"
    src: str  # who sent it
    ident: int
    seq: int
    type: int
    code: int

    def failure(self) -> str:
        """OONI's df-007 string for an error message."""
        if self.type == DEST_UNREACH:
            return "network_unreachable" if self.code in _NET_CODES else "host_unreachable"
        return f"unknown_failure: ICMP type {self.type} code {self.code}"


def _ip_header_len(packet: bytes) -> int | None:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    return ihl if ihl >= 20 and len(packet) >= ihl + 8 else None


def parse_icmp(packet: bytes) -> IcmpMessage | None:
    """An IPv4 packet as a raw ICMP socket returns it -> what it says; None when it is not an
    ICMP message this probe can read (truncated, not IPv4)."""
    ihl = _ip_header_len(packet)
    if ihl is None:
        return None
    src = socket.inet_ntoa(packet[12:16])
    icmp_type, code, _, ident, seq = struct.unpack("!BBHHH", packet[ihl:ihl + 8])
    if icmp_type == ECHO_REPLY:
        return IcmpMessage("reply", src, ident, seq, icmp_type, code)
    if icmp_type in (DEST_UNREACH, TIME_EXCEEDED):
        # The error quotes our request's IP header and first 8 bytes: its identifier and seq.
        inner = packet[ihl + 8:]
        inner_ihl = _ip_header_len(inner)
        if inner_ihl is not None and inner[9] == socket.IPPROTO_ICMP:
            q_type, _, _, q_ident, q_seq = struct.unpack("!BBHHH", inner[inner_ihl:inner_ihl + 8])
            if q_type == ECHO_REQUEST:
                return IcmpMessage("error", src, q_ident, q_seq, icmp_type, code)
    return IcmpMessage("other", src, ident, seq, icmp_type, code)


_idents = itertools.count((os.getpid() * 7919) & 0xFFFF)
_ident_lock = threading.Lock()


def new_ident() -> int:
    """An ICMP identifier no other stream of this agent uses (one process, up to 65536)."""
    with _ident_lock:
        return next(_idents) & 0xFFFF


def icmp_stream(ip: str, rate: float, window: float, linger: float = LINGER) -> dict:
    """Send rate*window echo requests to `ip`, one every 1/rate s, on a fixed schedule (a late
    send does not shift the ones after it); record each reply.

    -> {"ip", "rate", "window_s", "start_wall", "sent", "received", "replies": [[seq, t_sent,
    t_received], ...] (seconds since start_wall), "icmp_errors", "failure"}. failure is None
    when a reply came back, else the first ICMP error's or send error's df-007 string, else
    generic_timeout_error."""
    count = max(1, min(MAX_SEQ + 1, round(rate * window)))
    interval = 1.0 / rate
    ident = new_ident()
    sent_at: dict[int, float] = {}
    replies: list[list[float]] = []
    replied: set[int] = set()
    errors: list[str] = []
    with source.new_socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.setblocking(False)
        start_wall, start = time.time(), time.monotonic()
        i = 0
        while True:
            now = time.monotonic()
            if i < count and now >= start + i * interval:
                try:
                    sock.sendto(build_echo(ident, i), (ip, 0))
                except OSError as e:  # no route, or the kernel's ARP gave up (EHOSTUNREACH)
                    errors.append(failure_string(e))
                sent_at[i] = now - start
                i += 1
                continue
            if i >= count and (len(replied) == count or now >= start + sent_at[count - 1]
                               + linger):
                break
            due = start + i * interval if i < count else start + sent_at[count - 1] + linger
            readable, _, _ = select.select([sock], [], [], max(due - now, 0.0))
            if readable:
                _drain(sock, ip, ident, start, sent_at, replies, replied, errors)
    failure = None if replies else (errors[0] if errors else "generic_timeout_error")
    return {"ip": ip, "rate": rate, "window_s": window, "start_wall": round(start_wall, 6),
            "sent": len(sent_at), "received": len(replies), "replies": replies,
            "icmp_errors": len(errors), "failure": failure}


def _drain(sock, ip, ident, start, sent_at, replies, replied, errors) -> None:
    """Read every message waiting on the socket; keep replies and errors about our requests."""
    while True:
        try:
            packet = sock.recv(2048)
        except (BlockingIOError, InterruptedError):
            return
        t = time.monotonic() - start
        msg = parse_icmp(packet)
        if msg is None or msg.ident != ident or msg.seq not in sent_at:
            continue  # another stream's, ping's, or our own request seen on loopback
        if msg.kind == "reply" and msg.src == ip and msg.seq not in replied:
            replied.add(msg.seq)
            replies.append([msg.seq, round(sent_at[msg.seq], 4), round(t, 4)])
        elif msg.kind == "error":
            errors.append(msg.failure())
