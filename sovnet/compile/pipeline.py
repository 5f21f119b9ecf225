"""Inventory + subscribers + policies -> the flows and meters every switch should hold.

The pipeline (table ids in sovnet.model.flows):

  admission  which device is this and may it use the network? Registered devices of subscribers
             in good standing get metadata = tier | isp | class | subscriber and go to `policy`;
             service and resolver hosts and trunk ports go on to `shaping`; anything else drops
             ("permission to connect").
  policy     scope (metadata, masked) x target (packet match) -> the access decision: on to
             `shaping`, drop, up to the controller (reject), or steered to the ISP's resolver
             host (blockpage: HTTP; steer_dns: DNS) by rewriting the Ethernet destination.
             Only switches with subscribers attached get policy flows: policy is enforced at the
             subscriber's ingress, transit switches only forward.
  shaping    throttle policies: per subscriber in scope, one meter for what it sends (matched by
             metadata) and one for what it receives (matched by its address, on traffic coming
             back to its access switch); the highest-priority throttle covering a packet decides.
  inspect    policies on what an inspector reads (sni, host, quic: sovnet.compile.dpi): the
             first packets go up to the controller, whose per-connection verdicts land here;
             after shaping, so an inspected connection keeps its subscriber's throttle.
  forward    destination address (IPv4 and ARP target; IPv6 and neighbour solicitation
             target in a dual-stack topology) -> output port, shortest paths; packets steered to
             a resolver host by Ethernet destination.

Pure and deterministic: the same inputs give the same flows and meters, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sovnet.compile.paths import host_port, remote_routes
from sovnet.compile.targets import (
    ETH_ARP,
    ETH_IPV4,
    ETH_IPV6,
    subscriber_index,
    subscriber_metadata,
)
from sovnet.errors import CompileError
from sovnet.inspect.rules import Rule
from sovnet.model.flows import (
    CONTROLLER_PORT,
    META_INFRA,
    META_ISP_BITS,
    META_ISP_SHIFT,
    META_SUB_BITS,
    META_SUB_SHIFT,
    TABLE_ADMISSION,
    TABLE_FORWARD,
    TABLE_INSPECT,
    TABLE_POLICY,
    TABLE_SHAPING,
    FlowKey,
    FlowRule,
    Meter,
    make_cookie,
    meta_field,
    rule,
)
from sovnet.model.policy import (
    MAX_PRIORITY,
    Policy,
)
from sovnet.model.topology import embed6

# Flow priorities. Policy flows sit at POLICY_BASE + 4 * policy.priority + a step by action, so
# that at equal policy priority the more restrictive action wins, deterministically, and a
# blockpage's HTTP redirect sits above its own drop.
PRIO_MISS = 0
PRIO_TRUNK = 10
PRIO_DEVICE = 20
PRIO_FORWARD = 10
PRIO_STEERED = 11  # by Ethernet destination, above the IPv4 destination of a steered packet
POLICY_BASE = 1000
_ACTION_STEP = {"allow": 0, "throttle": 0, "deny": 2, "reject": 2, "blockpage": 2,
                "steer_dns": 3}
REDIRECT_STEP = 3
PRIO_ND = POLICY_BASE + 4 * MAX_PRIORITY + 4  # above every policy
HTTP, HTTPS, DNS, TCP, UDP = 80, 443, 53, 6, 17
# A drop-band policer's bucket, in seconds of traffic at the rate. Measured with TCP downloads
# of 6 s at the cap (tests/integration/test_throttle.py): 0.25 s gave 97 % of a 1 Mbit/s cap,
# 0.5 s 99-104 % of 256 kbit/s to 2 Mbit/s caps, 1 s 111 % (its bucket passes at line rate
# first); the research notes saw a far smaller bucket hold TCP near half the rate.
BURST_SECONDS = 0.5
MAX_METERS = 262_144  # what Open vSwitch reports as max_meter (meter features)

FlowTables = dict[int, tuple[FlowRule, ...]]
MeterTables = dict[int, tuple[Meter, ...]]


@dataclass(frozen=True)
class Compiled:
    flows: FlowTables
    meters: MeterTables
    inspect: tuple[Rule, ...] = ()  # the inspector's rules (sovnet.compile.dpi)


def policy_priority(policy: Policy, step: int | None = None) -> int:
    if step is None:
        step = _ACTION_STEP[policy.act.kind]
    return POLICY_BASE + 4 * policy.priority + step


def admission(topo, dpid, switch, trunks, subscribers) -> list[FlowRule]:
    baseline = make_cookie("baseline")
    flows = [rule(dpid, TABLE_ADMISSION, PRIO_MISS, {}, (), baseline)]
    # A border gateway's policy table holds the policies placed at the border (compile.border)
    trunk_to = TABLE_POLICY if topo.switch(switch).role == "border" else TABLE_SHAPING
    for port in sorted(trunks):
        flows.append(rule(dpid, TABLE_ADMISSION, PRIO_TRUNK, {"in_port": port},
                          (("goto", trunk_to),), baseline))
    for h in topo.hosts_on(switch):
        if h.kind != "subscriber":
            flows.append(rule(dpid, TABLE_ADMISSION, PRIO_DEVICE,
                              {"in_port": h.port, "eth_src": h.mac},
                              (("meta", META_INFRA, META_INFRA), ("goto", TABLE_SHAPING)),
                              baseline))
            continue
        state = subscribers.get(h.name)
        if state is None or state.status == "revoked":
            continue
        meta = subscriber_metadata(topo, h.name, state.status)
        for mac in sorted(state.devices):
            flows.append(rule(dpid, TABLE_ADMISSION, PRIO_DEVICE,
                              {"in_port": h.port, "eth_src": mac},
                              (("meta", meta, (1 << 64) - 1), ("goto", TABLE_POLICY)),
                              make_cookie("admission")))
    return flows


def policy_head(topo, dpid) -> list[FlowRule]:
    """The policy table's own flows: the miss (on to shaping) and, dual-stack, ND."""
    onward = (("goto", TABLE_SHAPING),)
    flows = [rule(dpid, TABLE_POLICY, PRIO_MISS, {}, onward, make_cookie("baseline"))]
    if topo.ipv6:
        # Neighbour discovery is between a host and its first hop, which no cutoff touches (as
        # ARP, it is not IP traffic a policy names): an IPv6 cut then times out, as it does
        # behind a real router, instead of failing at once for want of a neighbour.
        for nd_type in (ND_SOLICIT, ND_ADVERT):
            flows.append(rule(dpid, TABLE_POLICY, PRIO_ND,
                              {"eth_type": ETH_IPV6, "ip_proto": ICMPV6, "icmpv6_type": nd_type},
                              onward, make_cookie("baseline")))
    return flows


def policy_flows(topo, dpid, cover, p, matches) -> list[FlowRule]:
    """One access policy's flows on one switch (cover: its subscribers, targets.Coverage)."""
    covered = cover.covered(p.scope)
    if not covered:
        return []
    flows: list[FlowRule] = []
    cookie = make_cookie("policy", p.id)
    metas = cover.metas(p.scope, p.id)
    if p.act.kind in ("blockpage", "steer_dns"):
        flows.extend(_redirects(topo, dpid, p, matches, metas, covered, cookie))
        if p.act.kind == "steer_dns":
            return flows  # only DNS is steered; the rest goes on to lower-priority policies
    instructions = {"allow": (("goto", TABLE_SHAPING),), "deny": (), "blockpage": (),
                    "reject": (("output", CONTROLLER_PORT),)}[p.act.kind]
    for meta in metas:
        for m in matches:
            if meta is not None:
                m = {**m, "metadata": meta}
            flows.append(rule(dpid, TABLE_POLICY, policy_priority(p), m, instructions, cookie))
    return flows


def _redirects(topo, dpid, p, matches, metas, covered, cookie) -> list[FlowRule]:
    """blockpage / steer_dns: the target's HTTP and HTTPS, or DNS, goes to the resolver host of
    each covered subscriber's ISP (which answers for any address: sovnet.emulation.servers).
    HTTPS steered there meets the blockpage's own certificate, as in reality."""
    ports = [(TCP, "tcp_dst", HTTP), (TCP, "tcp_dst", HTTPS)] if p.act.kind == "blockpage" else \
        [(UDP, "udp_dst", DNS), (TCP, "tcp_dst", DNS)]
    flows = []
    for isp in sorted({topo.subscriber(s).isp for s in covered}):
        resolver = topo.resolver_for(isp)
        if resolver is None:
            raise CompileError(f"policy #{p.id}: {p.action} needs a resolver host for ISP "
                               f"{isp!r} to steer to (expected a resolver in the topology)")
        isp_meta = meta_field(META_ISP_SHIFT, META_ISP_BITS,
                              [i.name for i in topo.isps].index(isp) + 1)
        steer = (("set_eth_dst", topo.host(resolver.name).mac), ("goto", TABLE_SHAPING))
        for meta in metas:
            both = _combine(meta, isp_meta)
            if both is None:
                continue
            for m in matches:
                for proto, field, port in ports:
                    narrowed = _narrow(m, proto, field, port)
                    if narrowed is not None:
                        flows.append(rule(dpid, TABLE_POLICY, policy_priority(p, REDIRECT_STEP),
                                          {**narrowed, "metadata": both}, steer, cookie))
    return flows


def _combine(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int] | None:
    """Both metadata matches at once; None when they contradict (no packet has both)."""
    if a is None:
        return b
    overlap = a[1] & b[1]
    if a[0] & overlap != b[0] & overlap:
        return None
    return a[0] | b[0], a[1] | b[1]


def _narrow(match: dict[str, Any], proto: int, field: str, port: int) -> dict[str, Any] | None:
    """`match` restricted to proto/port; None when the target excludes it (port:udp/443)."""
    if match.get("ip_proto", proto) != proto or match.get(field, port) != port:
        return None
    return {**match, "ip_proto": proto, field: port}


_REVERSE = {"ipv4_dst": "ipv4_src", "ipv6_dst": "ipv6_src", "tcp_dst": "tcp_src",
            "udp_dst": "udp_src"}
ICMPV6, ND_SOLICIT, ND_ADVERT = 58, 135, 136


def shaping(topo, dpid, cover, throttles) -> tuple[list[FlowRule], tuple]:
    """Meters for the throttled subscribers of this switch: ids are handed out densely, in
    (policy, subscriber, direction) order, because Open vSwitch allows only MAX_METERS."""
    flows = [rule(dpid, TABLE_INSPECT, PRIO_MISS, {}, (("goto", TABLE_FORWARD),),
                  make_cookie("baseline")),
             rule(dpid, TABLE_SHAPING, PRIO_MISS, {}, (("goto", TABLE_INSPECT),),
                  make_cookie("baseline"))]
    meters: list[Meter] = []
    for p, matches in throttles:
        kbps = p.act.rate_kbps
        burst = max(int(kbps * BURST_SECONDS), 1)
        cookie = make_cookie("shaping", p.id)
        prio = policy_priority(p)
        for s in cover.covered(p.scope):
            up, down = len(meters) + 1, len(meters) + 2
            if down > MAX_METERS:
                raise CompileError(f"policy #{p.id}: more than {MAX_METERS} meters on switch "
                                   f"dpid={dpid} (expected fewer throttled subscribers)")
            meters += [Meter(dpid, up, kbps, burst, p.id), Meter(dpid, down, kbps, burst, p.id)]
            me = meta_field(META_SUB_SHIFT, META_SUB_BITS, subscriber_index(topo, s))
            for m in matches:
                back = {_REVERSE.get(k, k): v for k, v in m.items()}
                if m["eth_type"] == ETH_IPV6:
                    back["ipv6_dst"] = topo.host(s).ip6
                else:
                    back["ipv4_dst"] = topo.host(s).ip
                flows.append(rule(dpid, TABLE_SHAPING, prio, {**m, "metadata": me},
                                  (("meter", up), ("goto", TABLE_INSPECT)), cookie))
                flows.append(rule(dpid, TABLE_SHAPING, prio, back,
                                  (("meter", down), ("goto", TABLE_INSPECT)), cookie))
    return flows, tuple(meters)


def forward(topo, dpid, switch) -> list[FlowRule]:
    """Hosts on this switch one by one; everything else by the fewest prefixes per output port
    (paths.remote_routes). The blocks never overlap, so one priority serves them all."""
    forward = make_cookie("forward")
    flows = [rule(dpid, TABLE_FORWARD, PRIO_MISS, {}, (), make_cookie("baseline"))]
    families = (ETH_IPV4, ETH_IPV6) if topo.ipv6 else (ETH_IPV4,)
    for r in topo.resolvers:
        port = host_port(topo, switch, r.name)
        if port is not None:  # packets a blockpage or steer_dns policy sent to this resolver
            for eth_type in families:
                flows.append(rule(dpid, TABLE_FORWARD, PRIO_STEERED,
                                  {"eth_type": eth_type, "eth_dst": topo.host(r.name).mac},
                                  (("output", port),), forward))
    routes = [(h.port, [h.ip], [h.ip6] if h.ip6 else []) for h in topo.hosts_on(switch)]
    for port, nets in remote_routes(topo, switch).items():
        v4 = [str(n) if n.prefixlen < 32 else str(n.network_address) for n in nets]
        routes.append((port, v4, [embed6(topo.ipv6, a) for a in v4] if topo.ipv6 else []))
    for port, v4, v6 in routes:
        out = (("output", port),)
        for dst in v4:
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                              {"eth_type": ETH_IPV4, "ipv4_dst": dst}, out, forward))
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                              {"eth_type": ETH_ARP, "arp_tpa": dst}, out, forward))
        for dst in v6:  # neighbour solicitations go where ARP requests go: to the target's port
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                              {"eth_type": ETH_IPV6, "ipv6_dst": dst}, out, forward))
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                              {"eth_type": ETH_IPV6, "ip_proto": ICMPV6,
                               "icmpv6_type": ND_SOLICIT, "ipv6_nd_target": dst}, out, forward))
    return flows


def dedupe(flows: list[FlowRule]) -> tuple[FlowRule, ...]:
    """Two policies can compile to the same flow (service:bank and category:BANK, both allow at
    one priority). The switch can hold only one; the older policy (lower id, listed first) keeps
    its name on it."""
    seen: dict[FlowKey, FlowRule] = {}
    for f in flows:
        seen.setdefault(f.key, f)
    return tuple(seen.values())


def flow_counts(tables: FlowTables) -> dict[int, int]:
    return {dpid: len(flows) for dpid, flows in tables.items()}
