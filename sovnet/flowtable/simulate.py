"""A small OpenFlow 1.3 pipeline simulator over compiled flows, and `explain` built on it.

It answers "what happens to this packet?" hop by hop: which table, which flow (and so which
policy, through the cookie) decided, and where the packet ends up. Tests use it to check
behaviour rather than flow text (Faucet's FakeOFTable idea, much smaller); the CLI's `explain`
uses it to show a person why traffic is dropped.

Pure: standard library only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sovnet.model.flows import (
    CONTROLLER_PORT,
    TABLE_ADMISSION,
    TABLE_NAMES,
    FlowRule,
    ipv6_network,
)
from sovnet.model.topology import Host, Topology

Packet = Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    switch: str
    table: int
    flow: FlowRule | None  # None: no flow matched (OpenFlow 1.3 drops on table miss)
    in_port: int = 0


@dataclass(frozen=True)
class Trace:
    steps: tuple[Step, ...]
    delivered_to: str | None  # host name, or None when dropped
    dropped_at: Step | None = None
    hops: tuple[str, ...] = field(default=())
    rejected: bool = False  # sent to the controller, which answers the sender with a refusal
    steered: bool = False  # its Ethernet destination was rewritten (blockpage, steer_dns)

    @property
    def meters(self) -> tuple[FlowRule, ...]:
        """The shaping flows that policed the packet on its way."""
        return tuple(st.flow for st in self.steps
                     if st.flow is not None and any(i[0] == "meter" for i in st.flow.instructions))

    @property
    def verdict(self) -> str:
        if self.delivered_to and self.steered:
            return (f"steered to {self.delivered_to} (the ISP's resolver and blockpage server "
                    "answers in the destination's name)")
        if self.delivered_to:
            return f"delivered to {self.delivered_to}"
        return "rejected (the sender gets a TCP reset or ICMP prohibited)" if self.rejected \
            else "dropped"


def field_matches(field_name: str, want: Any, packet: Packet) -> bool:
    have = packet.get(field_name)
    if have is None:
        return False
    if field_name in ("ipv4_dst", "ipv4_src", "arp_tpa", "arp_spa"):
        addr = ipaddress.IPv4Address(have)
        net = ipaddress.IPv4Network(f"{want[0]}/{want[1]}" if isinstance(want, tuple) else want)
        return addr in net
    if field_name in ("ipv6_dst", "ipv6_src", "ipv6_nd_target"):
        return ipaddress.IPv6Address(have) in ipv6_network(want)
    if isinstance(want, tuple):
        value, mask = want
        return (have & mask) == value
    return have == want


def lookup(flows: Iterable[FlowRule], table: int, packet: Packet) -> FlowRule | None:
    best: FlowRule | None = None
    for f in flows:
        if f.key.table != table:
            continue
        if best is not None and f.key.priority <= best.key.priority:
            continue
        if all(field_matches(k, v, packet) for k, v in f.key.match):
            best = f
    return best


def run_switch(
    flows: Iterable[FlowRule], packet: Packet
) -> tuple[list[tuple[int, FlowRule | None]], int | None]:
    """Walk one switch's pipeline from table 0. Returns the visited (table, flow) and the output
    port (None when dropped)."""
    flows = tuple(flows)
    pkt = dict(packet)
    pkt.setdefault("metadata", 0)
    table, visited = TABLE_ADMISSION, []
    while True:
        f = lookup(flows, table, pkt)
        visited.append((table, f))
        if f is None:
            return visited, None
        goto, port = None, None
        for ins in f.instructions:
            if ins[0] == "meta":
                _, value, mask = ins
                pkt["metadata"] = (pkt["metadata"] & ~mask) | (value & mask)
            elif ins[0] == "goto":
                goto = ins[1]
            elif ins[0] == "output":
                port = ins[1]
            elif ins[0] == "set_eth_dst":
                pkt["eth_dst"] = ins[1]
        if port is not None:
            return visited, port
        if goto is None:
            return visited, None
        table = goto


def trace(topo: Topology, tables: Mapping[int, Iterable[FlowRule]], src: str,
          packet: Packet, max_hops: int = 64) -> Trace:
    """Follow `packet` sent by host `src` through the compiled `tables` ({dpid: flows})."""
    h = topo.host(src)
    attach: dict[tuple[str, int], list[Host]] = {}
    for x in topo.hosts:  # a pod's subscribers share their pod's port
        attach.setdefault((x.switch, x.port), []).append(x)
    links = {}
    for lk in topo.switch_links():
        links[(lk.a, lk.a_port)] = (lk.b, lk.b_port)
        links[(lk.b, lk.b_port)] = (lk.a, lk.a_port)
    switch, in_port = h.switch, h.port
    steps: list[Step] = []
    hops: list[str] = []
    packet = dict(packet)
    steered = False
    for _ in range(max_hops):
        hops.append(switch)
        flows = tables.get(topo.switch(switch).dpid, ())
        visited, port = run_switch(flows, {**packet, "in_port": in_port})
        steps.extend(Step(switch, t, f, in_port) for t, f in visited)
        for _t, f in visited:
            for ins in f.instructions if f is not None else ():
                if ins[0] == "set_eth_dst":  # the rewrite travels with the packet
                    packet["eth_dst"], steered = ins[1], True
        if port is None or port == CONTROLLER_PORT:
            return Trace(tuple(steps), None, steps[-1], tuple(hops),
                         rejected=port == CONTROLLER_PORT)
        if (switch, port) in attach:
            return Trace(tuple(steps), _receiver(attach[(switch, port)], packet), None,
                         tuple(hops), steered=steered)
        if (switch, port) not in links:
            return Trace(tuple(steps), None, steps[-1], tuple(hops))
        switch, in_port = links[(switch, port)]
    return Trace(tuple(steps), None, steps[-1] if steps else None, tuple(hops))


def _receiver(hosts: list[Host], packet: Packet) -> str:
    """The host on a port that takes the packet: the one it is addressed to, on a pod's port."""
    if len(hosts) > 1:
        for field in ("ipv4_dst", "ipv6_dst", "arp_tpa", "ipv6_nd_target"):
            for h in hosts:
                if packet.get(field) in (h.ip, h.ip6):
                    return h.name
    return hosts[0].name


def table_name(table: int) -> str:
    return TABLE_NAMES.get(table, str(table))
