"""Policies placed at the border: allow, deny and reject with a direction (model.policy
DIRECTIONS) are enforced on the border gateways, on traffic crossing them, not at the
subscribers' ingress.

  inbound   from abroad to the scope's addresses (the far end, the target, is the source)
  outbound  from the scope's addresses to abroad (the target is the destination)
  border    both

The scope stands for addresses: all, the domestic space; isp:NAME, the ISP's prefix and what it
announces; any other scope, its subscribers' own addresses. The border routers' session
addresses are let through above every policy: a cut of the data plane leaves BGP up.

On a border switch, packets from its trunks go through the policy table (compile.pipeline),
where these flows sit beside the miss that sends everything else on to shaping.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sovnet.compile.targets import ETH_IPV4, ETH_IPV6, check_scope, target_matches
from sovnet.model.flows import (
    CONTROLLER_PORT,
    TABLE_ADMISSION,
    TABLE_POLICY,
    TABLE_SHAPING,
    FlowRule,
    make_cookie,
    rule,
)
from sovnet.model.policy import MAX_PRIORITY, Policy, SubscriberState, in_scope
from sovnet.model.topology import Topology, embed6

POLICY_BASE = 1000
PRIO_SESSIONS = POLICY_BASE + 4 * MAX_PRIORITY + 5  # above every policy (and ND)
_STEP = {"allow": 0, "deny": 2, "reject": 2}
# A match's fields as seen from the other side: what names a destination names the source.
_REVERSE = {"ipv4_dst": "ipv4_src", "ipv6_dst": "ipv6_src", "tcp_dst": "tcp_src",
            "udp_dst": "udp_src"}
_OWN = {ETH_IPV4: ("ipv4_src", "ipv4_dst"), ETH_IPV6: ("ipv6_src", "ipv6_dst")}


def border_policies(policies: Iterable[Policy]) -> list[Policy]:
    return [p for p in policies if p.act.direction]


def scope_addresses(topo: Topology, p: Policy,
                    subscribers: Mapping[str, SubscriberState]) -> dict[int, list[str]]:
    """{eth_type: the prefixes or addresses the policy's scope stands for}."""
    if p.scope.kind == "all":
        v4 = list(topo.domestic_prefixes)
    elif p.scope.kind == "isp":
        v4 = list(topo.isp(p.scope.value).space)
    else:
        check_scope(topo, p.scope, p.id)
        covered = [s.name for s in topo.subscribers
                   if in_scope(topo, p.scope, s.name, subscribers.get(s.name))]
        v4 = [topo.host(s).ip for s in covered]
        v6 = [topo.host(s).ip6 for s in covered if topo.host(s).ip6]
        return {ETH_IPV4: v4, ETH_IPV6: v6}
    return {ETH_IPV4: v4, ETH_IPV6: [embed6(topo.ipv6, x) for x in v4] if topo.ipv6 else []}


def _flows(topo, dpid, p, subscribers) -> list[FlowRule]:
    kind, direction = p.act.kind, p.act.direction
    instructions = {"allow": (("goto", TABLE_SHAPING),), "deny": (),
                    "reject": (("output", CONTROLLER_PORT),)}[kind]
    prio = POLICY_BASE + 4 * p.priority + _STEP[kind]
    cookie = make_cookie("policy", p.id)
    ours = scope_addresses(topo, p, subscribers)
    flows = []
    for far in target_matches(topo, p.target, p.id):
        src, dst = _OWN[far["eth_type"]]
        for addr in ours[far["eth_type"]]:
            if direction in ("outbound", "border"):
                flows.append(rule(dpid, TABLE_POLICY, prio, {**far, src: addr},
                                  instructions, cookie))
            if direction in ("inbound", "border"):
                back: dict[str, Any] = {_REVERSE.get(k, k): v for k, v in far.items()}
                flows.append(rule(dpid, TABLE_POLICY, prio, {**back, dst: addr},
                                  instructions, cookie))
    return flows


def sessions(topo: Topology, dpid: int) -> list[FlowRule]:
    """The border routers' own addresses, through in both directions above every policy."""
    cookie = make_cookie("baseline")
    onward = (("goto", TABLE_SHAPING),)
    flows = []
    for r in topo.border_routers:
        h = topo.host(r.name)
        for eth, addr in ((ETH_IPV4, h.ip), (ETH_IPV6, h.ip6)):
            if not addr:
                continue
            src, dst = _OWN[eth]
            flows.append(rule(dpid, TABLE_POLICY, PRIO_SESSIONS,
                              {"eth_type": eth, src: addr}, onward, cookie))
            flows.append(rule(dpid, TABLE_POLICY, PRIO_SESSIONS,
                              {"eth_type": eth, dst: addr}, onward, cookie))
    return flows


PRIO_ACCOUNT = 11  # above the plain trunk flow (admission table), which catches the rest
ACCOUNT_DIRECTIONS = ("in", "out")  # towards the ISP's space, from it


def account_id(isp_index: int, direction: str) -> int:
    """The policy-id field of an accounting flow's cookie: (ISP, direction)."""
    return 2 * isp_index + ACCOUNT_DIRECTIONS.index(direction)


def accounting(topo: Topology, dpid: int, trunks: Iterable[int]) -> list[FlowRule]:
    """A border gateway's byte counters per ISP and direction, as traffic observers (Radar,
    Kentik) count at the border: on each trunk port, what comes from abroad to an ISP's space
    and what leaves it for abroad, on to the policy table as the plain trunk flow would send
    it. Domestic traffic that happens to cross a gateway is not counted (and no two of these
    flows match one packet)."""
    onward = (("goto", TABLE_POLICY),)
    abroad = [(ETH_IPV4, p) for p in topo.foreign_prefixes]
    abroad += [(ETH_IPV6, p) for p in topo.foreign_prefixes6]
    flows = []
    for k, isp in enumerate(topo.isps):
        nets = [(ETH_IPV4, a) for a in isp.space]
        nets += [(ETH_IPV6, embed6(topo.ipv6, a)) for a in isp.space] if topo.ipv6 else []
        for direction in ACCOUNT_DIRECTIONS:
            cookie = make_cookie("account", account_id(k, direction))
            for eth, net in nets:
                src, dst = _OWN[eth]
                for eth_far, far in abroad:
                    if eth_far != eth:
                        continue
                    m = {dst: net, src: far} if direction == "in" else {src: net, dst: far}
                    for port in sorted(trunks):
                        flows.append(rule(dpid, TABLE_ADMISSION, PRIO_ACCOUNT,
                                          {"in_port": port, "eth_type": eth, **m}, onward,
                                          cookie))
    return flows


def border_flows(topo: Topology, dpid: int, policies: Iterable[Policy],
                 subscribers: Mapping[str, SubscriberState]) -> list[FlowRule]:
    """A border switch's policy flows: every border policy's, and the sessions' way through."""
    flows = sessions(topo, dpid)
    for p in border_policies(policies):
        flows += _flows(topo, dpid, p, subscribers)
    return flows
