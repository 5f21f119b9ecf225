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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sovnet.compile import dpi
from sovnet.compile.paths import next_hops, trunk_ports
from sovnet.compile.targets import (
    ETH_ARP,
    ETH_IPV4,
    ETH_IPV6,
    check_scope,
    in_scope,
    scope_matches,
    subscriber_index,
    subscriber_metadata,
    target_matches,
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
    DPI_TARGETS,
    FLOW_ACTIONS,
    MAX_PRIORITY,
    Policy,
    SubscriberState,
)
from sovnet.model.topology import Topology

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


def compile_flows(
    topo: Topology,
    policies: Iterable[Policy],
    subscribers: Mapping[str, SubscriberState],
) -> FlowTables:
    """{dpid: flows} for every switch of the topology."""
    return compile_network(topo, policies, subscribers).flows


def compile_network(
    topo: Topology,
    policies: Iterable[Policy],
    subscribers: Mapping[str, SubscriberState],
) -> Compiled:
    """Flows and meters for every switch of the topology."""
    hops = next_hops(topo)
    trunks = trunk_ports(topo)
    ordered = sorted(policies, key=lambda p: p.id)
    # Each policy's packet matches, worked out once (and so validated, even where no switch
    # needs it) rather than again on every switch. dns_tamper and log are enforced off the
    # switches (sovnet.compile.dns_tamper, sovnet.flowlog).
    plain = [p for p in ordered if p.target.kind not in DPI_TARGETS]
    access = [(p, target_matches(topo, p.target, p.id)) for p in plain
              if p.act.kind in FLOW_ACTIONS]
    throttles = [(p, target_matches(topo, p.target, p.id)) for p in plain
                 if p.act.kind == "throttle"]
    inspected = dpi.dpi_policies(ordered)
    dpi_meters: dict[int, dict[int, tuple[int, int]]] = {}
    for p, _ in (*access, *throttles):
        check_scope(topo, p.scope, p.id)
    flows_out: FlowTables = {}
    meters_out: MeterTables = {}
    for sw in sorted(topo.switches, key=lambda s: s.dpid):
        local_subs = [s.name for s in topo.subscribers if topo.host(s.name).switch == sw.name]
        shaping, meters = _shaping(topo, sw.dpid, local_subs, throttles, subscribers)
        inspect, more, ids = dpi.switch_flows(topo, sw.dpid, local_subs, inspected, subscribers,
                                              len(meters) + 1)
        if len(meters) + len(more) > MAX_METERS:
            raise CompileError(f"more than {MAX_METERS} meters on switch dpid={sw.dpid} "
                               "(expected fewer throttles)")
        meters = (*meters, *more)
        for pid, pair in ids.items():
            dpi_meters.setdefault(pid, {})[sw.dpid] = pair
        flows = [
            *_admission(topo, sw.dpid, sw.name, trunks[sw.name], subscribers),
            *(_policy(topo, sw.dpid, local_subs, access, subscribers) if local_subs else ()),
            *shaping,
            *inspect,
            *_forward(topo, sw.dpid, hops[sw.name]),
        ]
        flows_out[sw.dpid] = _dedupe(flows)
        meters_out[sw.dpid] = meters
    return Compiled(flows_out, meters_out,
                    dpi.rules(topo, inspected, subscribers, dpi_meters))


def _admission(topo, dpid, switch, trunks, subscribers) -> list[FlowRule]:
    baseline = make_cookie("baseline")
    flows = [rule(dpid, TABLE_ADMISSION, PRIO_MISS, {}, (), baseline)]
    for port in sorted(trunks):
        flows.append(rule(dpid, TABLE_ADMISSION, PRIO_TRUNK, {"in_port": port},
                          (("goto", TABLE_SHAPING),), baseline))
    for h in topo.hosts:
        if h.switch != switch:
            continue
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


def _policy(topo, dpid, local_subs, access, subscribers) -> list[FlowRule]:
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
    for p, matches in access:
        covered = [s for s in local_subs if in_scope(topo, p.scope, s, subscribers.get(s))]
        if not covered:
            continue
        cookie = make_cookie("policy", p.id)
        metas = scope_matches(topo, p.scope, p.id, local_subs, subscribers)
        if p.act.kind in ("blockpage", "steer_dns"):
            flows.extend(_redirects(topo, dpid, p, matches, metas, covered, cookie))
            if p.act.kind == "steer_dns":
                continue  # only DNS is steered; the rest goes on to lower-priority policies
        instructions = {"allow": onward, "deny": (), "blockpage": (),
                        "reject": (("output", CONTROLLER_PORT),)}[p.act.kind]
        for meta in metas:
            for m in matches:
                if meta is not None:
                    m = {**m, "metadata": meta}
                flows.append(rule(dpid, TABLE_POLICY, policy_priority(p), m, instructions,
                                  cookie))
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


def _shaping(topo, dpid, local_subs, throttles, subscribers) -> tuple[list[FlowRule], tuple]:
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
        for s in local_subs:
            if not in_scope(topo, p.scope, s, subscribers.get(s)):
                continue
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


def _forward(topo, dpid, hops: dict[str, int]) -> list[FlowRule]:
    forward = make_cookie("forward")
    flows = [rule(dpid, TABLE_FORWARD, PRIO_MISS, {}, (), make_cookie("baseline"))]
    families = (ETH_IPV4, ETH_IPV6) if topo.ipv6 else (ETH_IPV4,)
    for r in topo.resolvers:
        port = hops.get(r.name)
        if port is not None:  # packets a blockpage or steer_dns policy sent to this resolver
            for eth_type in families:
                flows.append(rule(dpid, TABLE_FORWARD, PRIO_STEERED,
                                  {"eth_type": eth_type, "eth_dst": topo.host(r.name).mac},
                                  (("output", port),), forward))
    for h in topo.hosts:
        port = hops.get(h.name)
        if port is None:
            continue
        out = (("output", port),)
        flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                          {"eth_type": ETH_IPV4, "ipv4_dst": h.ip}, out, forward))
        flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                          {"eth_type": ETH_ARP, "arp_tpa": h.ip}, out, forward))
        if h.ip6:  # neighbour solicitations go where ARP requests go: to the target's port
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                              {"eth_type": ETH_IPV6, "ipv6_dst": h.ip6}, out, forward))
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                              {"eth_type": ETH_IPV6, "ip_proto": ICMPV6,
                               "icmpv6_type": ND_SOLICIT, "ipv6_nd_target": h.ip6}, out, forward))
    return flows


def _dedupe(flows: list[FlowRule]) -> tuple[FlowRule, ...]:
    """Two policies can compile to the same flow (service:bank and category:BANK, both allow at
    one priority). The switch can hold only one; the older policy (lower id, listed first) keeps
    its name on it."""
    seen: dict[FlowKey, FlowRule] = {}
    for f in flows:
        seen.setdefault(f.key, f)
    return tuple(seen.values())


def flow_counts(tables: FlowTables) -> dict[int, int]:
    return {dpid: len(flows) for dpid, flows in tables.items()}
