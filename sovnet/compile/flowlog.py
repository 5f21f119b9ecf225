"""Which traffic the flow log keeps, and as whose: `log` policies applied to exported flows.

A `log` policy says "record the traffic of the subscribers in its scope towards its target".
The highest-priority log policy covering a flow names it (the newest wins a tie); a flow no log
policy covers is not recorded. Access decisions do not interact with it: a denied attempt is
recorded too (as `dropped`), which is what a regime's log of "who tried to reach what" holds.

The switches that subscribers attach to export their IP flows (NetFlow v5, see
sovnet.flowlog). A flow is a subscriber's *upload* where it entered that subscriber's switch on
the subscriber's port with the subscriber's address as its source, and its *download* where it
left on that port towards that address. Checking the port as well as the address means each
flow is counted once per subscriber, however many exporting switches it crosses, and a spoofed
source address on another port is not taken for the subscriber's.

Pure: standard library and sovnet.model only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sovnet.compile.reference import overlay
from sovnet.errors import CompileError
from sovnet.model.policy import Policy, SubscriberState
from sovnet.model.topology import Switch, Topology

DIRECTIONS = ("up", "down")  # sent by the subscriber / received by it
# NetFlow v5's output interface for a flow the switch forwarded nowhere (OVS's NF_OUT_DROP):
# a deny, a reject (the packet goes to the controller only), or a device that is not admitted.
OUT_DROP = 0xFFFD
MAX_EXPORTERS = 0xFFFF  # engine_type and engine_id are one byte each
ICMP = 1


@dataclass(frozen=True)
class ExportedFlow:
    """One flow as a switch exported it, its times made wall-clock (time.time()) seconds."""

    src: str
    dst: str
    proto: int
    src_port: int  # for ICMP NetFlow puts 0 here and type << 8 | code in dst_port
    dst_port: int
    in_port: int  # OpenFlow port numbers on the exporting switch
    out_port: int  # OUT_DROP: forwarded nowhere
    packets: int
    bytes: int
    first_seen: float
    last_seen: float


@dataclass(frozen=True)
class FlowRecord:
    """One row of the flow log. src/dst/ports are the packets' own; `direction` says which end
    is the subscriber's. Times are wall-clock seconds."""

    subscriber: str
    direction: str  # one of DIRECTIONS
    service: str | None  # the other end's host, when it is a service or a resolver
    src: str
    dst: str
    proto: int
    src_port: int
    dst_port: int
    packets: int
    bytes: int
    first_seen: float
    last_seen: float
    dpid: int  # the switch that exported it
    policy: int  # the log policy that covered it
    collected_at: float
    dropped: bool = False  # the switch forwarded it nowhere (denied, rejected, not admitted)
    id: int | None = None  # the store's row id; None until stored


def logging_policy(topo: Topology, policies: Iterable[Policy],
                   subscribers: Mapping[str, SubscriberState], subscriber: str, dst_ip: str,
                   proto: int, dst_port: int | None) -> Policy | None:
    """The log policy that names traffic from `subscriber` to dst_ip (proto/dst_port), if any."""
    return overlay(topo, policies, "log", subscribers, subscriber, dst_ip, proto, dst_port)


def exporters(topo: Topology) -> dict[str, int]:
    """switch name -> exporter number (1..65535) for every switch a subscriber attaches to.

    The network sets it as the bridge's NetFlow engine (type = high byte, id = low byte) and the
    collector reads it back from each packet's header to know which switch sent it: on the
    userspace datapath every bridge shares one datapath, so OVS's default engine is the same
    for all of them. 0 is left out: it is what an unconfigured exporter sends."""
    attached = {h.switch for h in topo.hosts if h.kind == "subscriber"}
    names = [s.name for s in topo.switches if s.name in attached]
    if len(names) > MAX_EXPORTERS:
        raise CompileError(f"{len(names)} switches with subscribers: NetFlow engine ids tell "
                           f"at most {MAX_EXPORTERS} apart (expected fewer)")
    return {name: i for i, name in enumerate(names, start=1)}


def engine(number: int) -> tuple[int, int]:
    """Exporter number -> (engine_type, engine_id) of the NetFlow header."""
    return number >> 8, number & 0xFF


def to_records(topo: Topology, policies: Iterable[Policy],
               subscribers: Mapping[str, SubscriberState], switch: Switch, flow: ExportedFlow,
               collected_at: float) -> list[FlowRecord]:
    """The flow-log records of a flow `switch` exported: the sender's upload and the
    receiver's download where they are subscribers of that switch (both, between two
    subscribers of one switch) and a log policy covers them; most often one or none."""
    records = []
    for subscriber, direction in _subscriber_sides(topo, switch, flow):
        # The subscriber's view: the other end, and the port it was reached on.
        remote, remote_port = ((flow.dst, flow.dst_port) if direction == "up"
                               else (flow.src, flow.src_port))
        port = None if flow.proto == ICMP else remote_port  # ICMP has no port
        policy = logging_policy(topo, policies, subscribers, subscriber, remote, flow.proto,
                                port)
        if policy is None:
            continue
        other = topo.host_for_ip(remote)
        records.append(FlowRecord(
            subscriber=subscriber, direction=direction,
            service=other.name if other is not None and other.kind != "subscriber" else None,
            src=flow.src, dst=flow.dst, proto=flow.proto, src_port=flow.src_port,
            dst_port=flow.dst_port, packets=flow.packets, bytes=flow.bytes,
            first_seen=flow.first_seen, last_seen=flow.last_seen, dpid=switch.dpid,
            policy=policy.id, collected_at=collected_at,
            dropped=flow.out_port == OUT_DROP))
    return records


def _subscriber_sides(topo: Topology, switch: Switch,
                      flow: ExportedFlow) -> list[tuple[str, str]]:
    src, dst = topo.host_for_ip(flow.src), topo.host_for_ip(flow.dst)
    sides = []
    if (src is not None and src.kind == "subscriber" and src.switch == switch.name
            and flow.in_port == src.port):
        sides.append((src.name, "up"))
    if (dst is not None and dst.kind == "subscriber" and dst.switch == switch.name
            and flow.out_port == dst.port):
        sides.append((dst.name, "down"))
    return sides
