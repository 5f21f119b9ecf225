"""What should happen to a packet, read straight off the policies: the compiler's specification.

Deliberately naive and obviously correct; no flows, no metadata, no priorities arithmetic. Tests
check that the compiled flow tables (run in the simulator) agree with it on random policy sets.

Pure: standard library only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from sovnet.compile.targets import target_services
from sovnet.model.policy import FLOW_ACTIONS, Policy, SubscriberState, in_scope, parse_port
from sovnet.model.topology import Topology


def admitted(topo: Topology, subscribers: Mapping[str, SubscriberState], host: str,
             mac: str) -> bool:
    h = topo.host(host)
    if h.kind != "subscriber":
        return h.mac == mac
    st = subscribers.get(host)
    return st is not None and st.status != "revoked" and mac in st.devices


def targets(topo: Topology, policy: Policy, dst_ip: str, proto: int, port: int | None) -> bool:
    t = policy.target
    addr = ipaddress.IPv4Address(dst_ip)
    if t.kind == "any":
        return True
    if t.kind == "international":
        return any(addr in ipaddress.IPv4Network(p) for p in topo.foreign_prefixes)
    if t.kind == "prefix":
        return addr in ipaddress.IPv4Network(t.value)
    if t.kind == "port":
        want_proto, want_port = parse_port(t.value)
        return proto == want_proto and (want_port is None or port == want_port)
    return any(topo.host(s).ip == dst_ip for s in target_services(topo, t, policy.id))


def covers(topo: Topology, policy: Policy, subscribers: Mapping[str, SubscriberState],
           src: str, dst_ip: str, proto: int, port: int | None) -> bool:
    """Does the access policy decide for this packet? steer_dns decides only for DNS."""
    if policy.action == "steer_dns" and not (proto in (6, 17) and port == 53):
        return False
    return (in_scope(topo, policy.scope, src, subscribers.get(src))
            and targets(topo, policy, dst_ip, proto, port))


def overlay(topo: Topology, policies: Iterable[Policy], kind: str,
            subscribers: Mapping[str, SubscriberState], src: str, dst_ip: str, proto: int,
            port: int | None) -> Policy | None:
    """The policy of an overlay `kind` (dns_tamper, throttle, log) that applies to this packet:
    the highest priority covering it, the newest on a tie; None if none does."""
    state = subscribers.get(src)
    covering = [p for p in policies if p.act.kind == kind
                and in_scope(topo, p.scope, src, state) and targets(topo, p, dst_ip, proto, port)]
    return max(covering, key=lambda p: (p.priority, p.id)) if covering else None


def allowed(topo: Topology, policies: Iterable[Policy],
            subscribers: Mapping[str, SubscriberState], src: str, mac: str, dst_ip: str,
            proto: int = 6, port: int | None = 80) -> bool:
    """May host `src`, sending from `mac`, reach `dst_ip` itself (not a blockpage server or the
    ISP resolver instead)? The highest-priority access policy that covers the packet decides,
    anything but an allow winning a tie; no policy means allow."""
    if not admitted(topo, subscribers, src, mac):
        return False
    if topo.host(src).kind != "subscriber":
        return True
    deciding = [p for p in policies if p.action in FLOW_ACTIONS
                and covers(topo, p, subscribers, src, dst_ip, proto, port)]
    if not deciding:
        return True
    top = [p for p in deciding if p.priority == max(q.priority for q in deciding)]
    redirected = any(p.action == "steer_dns" or (p.action == "blockpage" and proto == 6
                                                 and port in (80, 443)) for p in top)
    if redirected:  # to the ISP's resolver host: the destination only if that is where it went
        resolver = topo.resolver_for(topo.subscriber(src).isp)
        return resolver is not None and topo.host(resolver.name).ip == dst_ip
    return all(p.action == "allow" for p in top)
