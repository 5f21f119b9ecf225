"""What should happen to a packet, read straight off the policies: the compiler's specification.

Deliberately naive and obviously correct; no flows, no metadata, no priorities arithmetic. Tests
check that the compiled flow tables (run in the simulator) agree with it on random policy sets.

Pure: standard library only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from sovnet.compile.targets import in_scope, target_services
from sovnet.model.policy import BLOCKING_ACTIONS, FLOW_ACTIONS, Policy, SubscriberState, parse_port
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


def allowed(topo: Topology, policies: Iterable[Policy],
            subscribers: Mapping[str, SubscriberState], src: str, mac: str, dst_ip: str,
            proto: int = 6, port: int | None = 80) -> bool:
    """May host `src`, sending from `mac`, reach `dst_ip`? The highest-priority policy that
    covers the packet decides, a deny winning a tie; no policy means allow."""
    if not admitted(topo, subscribers, src, mac):
        return False
    if topo.host(src).kind != "subscriber":
        return True
    deciding = [p for p in policies if p.action in FLOW_ACTIONS
                and in_scope(topo, p.scope, src) and targets(topo, p, dst_ip, proto, port)]
    if not deciding:
        return True
    top = max(p.priority for p in deciding)
    return not any(p.action in BLOCKING_ACTIONS for p in deciding if p.priority == top)
