"""NetFlow v5 packets laid out as Open vSwitch sends them (ofproto/netflow.c), for the tests of
the flow-log decoder and collector: a 24-byte header, then 48-byte records."""

from __future__ import annotations

import socket
import struct

HEADER = "!HHIIIIBBH"
RECORD = "!4s4sIHHIIIIHHxBBBHHBBxx"


def packet(exporter: int, sent_at: float, uptime_ms: int, records: list[dict],
           version: int = 5) -> bytes:
    """records: src, dst, proto, src_port, dst_port, in_port, out_port, packets, bytes, and
    first/last as the exporter's uptime in ms at the flow's first and last packet."""
    secs = int(sent_at)
    out = struct.pack(HEADER, version, len(records), uptime_ms % (1 << 32), secs,
                      int(round((sent_at - secs) * 1e9)), 0, exporter >> 8, exporter & 0xFF, 0)
    for r in records:
        out += struct.pack(
            RECORD, socket.inet_aton(r["src"]), socket.inet_aton(r["dst"]), 0, r["in_port"],
            r["out_port"], r["packets"], r["bytes"], r["first"] % (1 << 32),
            r["last"] % (1 << 32), r["src_port"], r["dst_port"], r.get("tcp_flags", 0x1B),
            r["proto"], 0, 0, 0, 0, 0)
    return out


def record(src: str, dst: str, in_port: int, out_port: int, *, proto: int = 6,
           src_port: int = 40000, dst_port: int = 80, packets: int = 5, nbytes: int = 700,
           first: int = 1000, last: int = 1100) -> dict:
    return {"src": src, "dst": dst, "proto": proto, "src_port": src_port, "dst_port": dst_port,
            "in_port": in_port, "out_port": out_port, "packets": packets, "bytes": nbytes,
            "first": first, "last": last}
