"""NetFlow v5 export packets -> `ExportedFlow` values with wall-clock times. Pure: no sockets.

Open vSwitch exports NetFlow v5 per bridge, also on the userspace datapath. A packet is a
24-byte header (the exporter's uptime and wall clock when it was sent, its engine type and id)
and up to 30 records of 48 bytes, each with the exporter's uptime at the flow's first and last
packet, which the header's clock turns into wall-clock times.

Records are parsed by the `netflow` package (V5ExportPacket). Not by its `parse_packet`: that
first tries to read bytes as a hex dump (`bytes.fromhex(data.decode())`), and a binary v5
packet that happens to be valid UTF-8 (it starts 0x00 0x05) then fails as bad hex.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from netflow.v5 import V5DataFlow, V5ExportPacket, V5Header

from sovnet.compile.flowlog import ExportedFlow
from sovnet.errors import SovnetError

VERSION = 5
MAX_RECORDS = 30
UPTIME_WRAP = 1 << 32  # the uptime fields are 32-bit milliseconds: they wrap after ~49.7 days


class NetflowError(SovnetError):
    """A datagram that is not a well-formed NetFlow v5 export packet."""


@dataclass(frozen=True)
class Export:
    exporter: int  # engine_type << 8 | engine_id: which bridge sent it (compile.flowlog)
    sent_at: float  # the exporter's wall clock when it sent the packet
    flows: tuple[ExportedFlow, ...]


def decode(data: bytes) -> Export:
    """One export packet; NetflowError saying what is wrong with anything else."""
    if len(data) < V5Header.length:
        raise NetflowError(f"a {len(data)}-byte datagram is too short for NetFlow "
                           f"(expected at least a {V5Header.length}-byte header)")
    version, count = struct.unpack("!HH", data[:4])
    if version != VERSION:
        raise NetflowError(f"NetFlow version {version} (expected {VERSION}: the bridges are "
                           "set to export v5)")
    want = V5Header.length + count * V5DataFlow.length
    if not 1 <= count <= MAX_RECORDS or len(data) != want:
        raise NetflowError(f"a v5 packet of {len(data)} bytes claiming {count} records "
                           f"(expected 1 to {MAX_RECORDS} records of {V5DataFlow.length} bytes "
                           "after the header)")
    packet = V5ExportPacket(data)
    h = packet.header
    sent_at = h.timestamp + h.timestamp_nano / 1e9

    def wall(uptime_ms: int) -> float:
        return sent_at - ((h.uptime - uptime_ms) % UPTIME_WRAP) / 1000.0

    flows = tuple(
        ExportedFlow(
            src=_ip(f.IPV4_SRC_ADDR), dst=_ip(f.IPV4_DST_ADDR), proto=f.PROTO,
            src_port=f.SRC_PORT, dst_port=f.DST_PORT, in_port=f.INPUT, out_port=f.OUTPUT,
            packets=f.IN_PACKETS, bytes=f.IN_OCTETS,
            first_seen=wall(f.FIRST_SWITCHED), last_seen=wall(f.LAST_SWITCHED))
        for f in packet.flows
    )
    return Export(exporter=h.engine_type << 8 | h.engine_id, sent_at=sent_at, flows=flows)


def _ip(value: int) -> str:
    return socket.inet_ntoa(struct.pack("!I", value))

