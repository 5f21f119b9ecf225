"""Inventory + subscribers + policies -> the flows every switch should hold.

The pipeline (table ids in sovnet.model.flows):

  admission  which device is this and may it use the network? Registered devices of subscribers
             in good standing get metadata = isp | class | subscriber and go to `policy`; service
             and resolver hosts and trunk ports go straight to `forward`; anything else drops
             ("permission to connect").
  policy     scope (metadata, masked) x target (packet match) -> drop or on to `forward`.
             Only switches with subscribers attached get policy flows: policy is enforced at the
             subscriber's ingress, transit switches only forward.
  forward    destination address (IPv4 and ARP target) -> output port, shortest paths.

Pure and deterministic: the same inputs give the same flows, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sovnet.compile.paths import next_hops, trunk_ports
from sovnet.compile.targets import (
    ETH_ARP,
    ETH_IPV4,
    in_scope,
    scope_metadata,
    subscriber_metadata,
    target_matches,
)
from sovnet.model.flows import (
    CONTROLLER_PORT,
    META_INFRA,
    TABLE_ADMISSION,
    TABLE_FORWARD,
    TABLE_POLICY,
    FlowKey,
    FlowRule,
    make_cookie,
    rule,
)
from sovnet.model.policy import BLOCKING_ACTIONS, FLOW_ACTIONS, Policy, SubscriberState
from sovnet.model.topology import Topology

# Flow priorities. Policy flows sit at POLICY_BASE + 2 * policy.priority (+1 for a deny or a
# reject, so that at equal policy priority the more restrictive action wins, deterministically).
PRIO_MISS = 0
PRIO_TRUNK = 10
PRIO_DEVICE = 20
PRIO_FORWARD = 10
POLICY_BASE = 1000

FlowTables = dict[int, tuple[FlowRule, ...]]


def policy_priority(policy: Policy) -> int:
    return POLICY_BASE + 2 * policy.priority + (1 if policy.action in BLOCKING_ACTIONS else 0)


def compile_flows(
    topo: Topology,
    policies: Iterable[Policy],
    subscribers: Mapping[str, SubscriberState],
) -> FlowTables:
    """{dpid: flows} for every switch of the topology."""
    hops = next_hops(topo)
    trunks = trunk_ports(topo)
    # Each policy's metadata and packet matches, worked out once (and so validated, even where
    # no switch needs it) rather than again on every switch.
    # Actions such as dns_tamper are enforced off the switches (sovnet.compile.dns).
    resolved = [(p, scope_metadata(topo, p.scope, p.id), target_matches(topo, p.target, p.id))
                for p in sorted(policies, key=lambda p: p.id) if p.action in FLOW_ACTIONS]
    out: FlowTables = {}
    for sw in sorted(topo.switches, key=lambda s: s.dpid):
        local_subs = [s.name for s in topo.subscribers if topo.host(s.name).switch == sw.name]
        flows = [
            *_admission(topo, sw.dpid, sw.name, trunks[sw.name], subscribers),
            *(_policy(topo, sw.dpid, local_subs, resolved) if local_subs else ()),
            *_forward(topo, sw.dpid, hops[sw.name]),
        ]
        out[sw.dpid] = _dedupe(flows)
    return out


def _admission(topo, dpid, switch, trunks, subscribers) -> list[FlowRule]:
    baseline = make_cookie("baseline")
    flows = [rule(dpid, TABLE_ADMISSION, PRIO_MISS, {}, (), baseline)]
    for port in sorted(trunks):
        flows.append(rule(dpid, TABLE_ADMISSION, PRIO_TRUNK, {"in_port": port},
                          (("goto", TABLE_FORWARD),), baseline))
    for h in topo.hosts:
        if h.switch != switch:
            continue
        if h.kind != "subscriber":
            flows.append(rule(dpid, TABLE_ADMISSION, PRIO_DEVICE,
                              {"in_port": h.port, "eth_src": h.mac},
                              (("meta", META_INFRA, META_INFRA), ("goto", TABLE_FORWARD)),
                              baseline))
            continue
        state = subscribers.get(h.name)
        if state is None or state.status == "revoked":
            continue
        meta = subscriber_metadata(topo, h.name)
        for mac in sorted(state.devices):
            flows.append(rule(dpid, TABLE_ADMISSION, PRIO_DEVICE,
                              {"in_port": h.port, "eth_src": mac},
                              (("meta", meta, (1 << 64) - 1), ("goto", TABLE_POLICY)),
                              make_cookie("admission")))
    return flows


def _policy(topo, dpid, local_subs, resolved) -> list[FlowRule]:
    flows = [rule(dpid, TABLE_POLICY, PRIO_MISS, {}, (("goto", TABLE_FORWARD),),
                  make_cookie("baseline"))]
    for p, meta, matches in resolved:
        if not any(in_scope(topo, p.scope, s) for s in local_subs):
            continue
        instructions = {"allow": (("goto", TABLE_FORWARD),), "deny": (),
                        "reject": (("output", CONTROLLER_PORT),)}[p.action]
        for m in matches:
            if meta is not None:
                m = {**m, "metadata": meta}
            flows.append(rule(dpid, TABLE_POLICY, policy_priority(p), m, instructions,
                              make_cookie("policy", p.id)))
    return flows


def _forward(topo, dpid, hops: dict[str, int]) -> list[FlowRule]:
    forward = make_cookie("forward")
    flows = [rule(dpid, TABLE_FORWARD, PRIO_MISS, {}, (), make_cookie("baseline"))]
    for h in topo.hosts:
        port = hops.get(h.name)
        if port is None:
            continue
        out = (("output", port),)
        flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                          {"eth_type": ETH_IPV4, "ipv4_dst": h.ip}, out, forward))
        flows.append(rule(dpid, TABLE_FORWARD, PRIO_FORWARD,
                          {"eth_type": ETH_ARP, "arp_tpa": h.ip}, out, forward))
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
