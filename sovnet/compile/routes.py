"""Routes at the border: what each ISP's border routers announce abroad, and where the foreign
side of the network then has no route.

Two halves, both pure:
- `announcements`: withdraw and restore policies decide, prefix by prefix, what each border
  router announces (the controller carries it out on the BGP speakers: controller.routes).
- `noroute_flows`: the internet switches forward the way the transit networks' routers route,
  as an SDN-IP data plane does: a domestic address no route abroad covers is dropped there,
  so nothing from abroad reaches it, and nothing comes back to it either (a foreign service's
  replies to a subscriber in a withdrawn prefix die on the way).

Pure: standard library only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from sovnet.compile.targets import ETH_IPV4, ETH_IPV6
from sovnet.errors import CompileError
from sovnet.model.flows import TABLE_FORWARD, FlowRule, make_cookie, rule
from sovnet.model.policy import ROUTE_ACTIONS, Policy
from sovnet.model.topology import Topology, embed6

PRIO_NOROUTE = 12  # above forwarding by destination (10) and steering (11)
PRIO_PEERING = 13  # a border router's own address: its session address, no announcement's
IPv4Net = ipaddress.IPv4Network


def route_policies(policies: Iterable[Policy]) -> list[Policy]:
    return [p for p in policies if p.act.kind in ROUTE_ACTIONS]


def covers(policy: Policy, isp: str, prefix: str) -> bool:
    """Does a withdraw or restore policy speak of this announced prefix of this ISP?"""
    if policy.scope.kind == "isp" and policy.scope.value != isp:
        return False
    if policy.target.kind == "any":
        return True
    return IPv4Net(prefix).subnet_of(IPv4Net(policy.target.value))


def announced(topo: Topology, policies: Iterable[Policy]) -> dict[str, tuple[str, ...]]:
    """{ISP: the prefixes it announces now}, for the ISPs with border routers. The
    highest-priority withdraw or restore covering a prefix decides; at equal priority withdraw
    wins, as deny does. A prefix no policy covers stays announced."""
    ordered = sorted(route_policies(policies),
                     key=lambda p: (-p.priority, p.act.kind != "withdraw", p.id))
    speaking = {r.isp for r in topo.border_routers}
    out: dict[str, tuple[str, ...]] = {}
    for isp in topo.isps:
        if isp.name not in speaking:
            continue
        out[isp.name] = tuple(
            prefix for prefix in isp.announced
            if next((p.act.kind for p in ordered if covers(p, isp.name, prefix)),
                    "restore") == "restore")
    return out


def announcements(topo: Topology, policies: Iterable[Policy]) -> dict[str, tuple[str, ...]]:
    """{border router: the prefixes it announces now}: every router of an ISP announces the
    ISP's."""
    by_isp = announced(topo, policies)
    return {r.name: by_isp[r.isp] for r in topo.border_routers}


def check_targets(topo: Topology, policies: Iterable[Policy]) -> None:
    """A withdraw or restore of prefix:CIDR must speak of some announced prefix of an ISP in
    its scope: one that covers none would do nothing, silently."""
    for p in route_policies(policies):
        if p.target.kind != "prefix":
            continue
        isps = [i for i in topo.isps if p.scope.kind == "all" or i.name == p.scope.value]
        if not any(covers(p, i.name, prefix) for i in isps for prefix in i.announced):
            known = ", ".join(prefix for i in isps for prefix in i.announced)
            raise CompileError(f"policy #{p.id}: {p.target} covers no announced prefix of "
                               f"{p.scope} (expected one covering some of: {known})")


def routed_space(topo: Topology) -> list[IPv4Net]:
    """The domestic space reachability from abroad depends on: what the speaking ISPs hold and
    announce when nothing is withdrawn."""
    speaking = {r.isp for r in topo.border_routers}
    nets = [IPv4Net(x) for i in topo.isps if i.name in speaking for x in i.space]
    return list(ipaddress.collapse_addresses(nets))


def unrouted(topo: Topology, routes: Iterable[str]) -> list[IPv4Net]:
    """The blocks of the routed space that no route in `routes` covers, fewest first."""
    left = routed_space(topo)
    for text in routes:
        net = ipaddress.ip_network(text, strict=False)
        if net.version != 4:
            continue
        rest: list[IPv4Net] = []
        for block in left:
            if block.subnet_of(net):
                continue
            if net.subnet_of(block):
                rest.extend(block.address_exclude(net))
            else:
                rest.append(block)
        left = rest
    return list(ipaddress.collapse_addresses(left))


def noroute_flows(topo: Topology, dpid: int, switch: str, port_of,
                  routes: Iterable[str] | None) -> list[FlowRule]:
    """An internet switch's drops for the domestic space no route abroad covers (IPv6: its
    twin), and its way to each border router's own address, which stays reachable: a BGP
    session runs on link addresses no announcement carries. routes None: the network has no
    routers, and nothing is dropped."""
    if routes is None or topo.switch(switch).role != "internet":
        return []
    cookie = make_cookie("route")
    flows = []
    for block in unrouted(topo, routes):
        flows.append(rule(dpid, TABLE_FORWARD, PRIO_NOROUTE,
                          {"eth_type": ETH_IPV4, "ipv4_dst": str(block)}, (), cookie))
        if topo.ipv6:
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_NOROUTE,
                              {"eth_type": ETH_IPV6, "ipv6_dst": embed6(topo.ipv6, str(block))},
                              (), cookie))
    for r in topo.border_routers:
        port = port_of(r.name)
        if port is None:
            continue
        h = topo.host(r.name)
        flows.append(rule(dpid, TABLE_FORWARD, PRIO_PEERING,
                          {"eth_type": ETH_IPV4, "ipv4_dst": h.ip}, (("output", port),), cookie))
        if h.ip6:
            flows.append(rule(dpid, TABLE_FORWARD, PRIO_PEERING,
                              {"eth_type": ETH_IPV6, "ipv6_dst": h.ip6}, (("output", port),),
                              cookie))
    return flows
