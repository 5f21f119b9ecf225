"""Inspector policies (targets sni, sni-contains, host, quic) -> the flows that bring a flow's
first packets to the inspector, the meters a throttle by name uses, and the inspector's rules.

On each switch with subscribers in scope, in the shaping table (reached only by what the access
decision let through, so a DPI rule never opens what a deny closed), above every throttle:

  SYN to tcp/443 (tcp/80 for host)    on to forwarding: the handshake is not delayed
  the rest of tcp/443 (tcp/80)        to the controller, until it installs a verdict for the
  udp/443 (quic)                      connection (sovnet.controller.inspector)

A throttle by name gets two meters per switch (what the client sends, what it receives),
allocated after the subscribers' throttle meters; the inspector puts a connection it throttles
on them, in both directions.
Pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sovnet.compile.targets import ETH_IPV4, ETH_IPV6, check_scope, in_scope, scope_matches
from sovnet.inspect.rules import PORT_OF, PROTOCOL_OF, Rule
from sovnet.model.flows import (
    CONTROLLER_PORT,
    TABLE_FORWARD,
    TABLE_INSPECT,
    FlowRule,
    Meter,
    make_cookie,
    rule,
)
from sovnet.model.policy import DPI_TARGETS, PROTOCOLS, Policy, SubscriberState
from sovnet.model.topology import Topology

PRIO_INSPECT = 45_000  # above every throttle flow (at most 1000 + 4 * 10000 + 3)
PRIO_HANDSHAKE = PRIO_INSPECT + 1
PRIO_VERDICT = 46_000  # the inspector's per-connection flows
PRIO_RESIDUAL = 47_000  # a residual block outranks any connection's verdict
TCP_SYN = 0x002
BURST_SECONDS = 0.5  # as the subscribers' throttles (compile.pipeline)


def dpi_policies(policies: Iterable[Policy]) -> list[Policy]:
    return [p for p in policies if p.target.kind in DPI_TARGETS]


def rules(topo: Topology, policies: Iterable[Policy],
          subscribers: Mapping[str, SubscriberState],
          meters: Mapping[int, Mapping[int, tuple[int, int]]]) -> tuple[Rule, ...]:
    """The inspector's rules; meters: policy id -> dpid -> (up, down) meter ids."""
    out = []
    for p in dpi_policies(policies):
        check_scope(topo, p.scope, p.id)
        covered = frozenset(a for s in topo.subscribers
                            if in_scope(topo, p.scope, s.name, subscribers.get(s.name))
                            for a in topo.addresses(s.name))
        out.append(Rule(p.id, p.priority, p.target.kind, p.target.value, p.act.kind, covered,
                        p.act.rate_kbps, p.act.residual, p.act.reassemble, p.act.reset_server,
                        dict(meters.get(p.id, {}))))
    return tuple(out)


def switch_flows(topo: Topology, dpid: int, local_subs: list[str], policies: Iterable[Policy],
                 subscribers: Mapping[str, SubscriberState], first_meter: int
                 ) -> tuple[list[FlowRule], list[Meter], dict[int, tuple[int, int]]]:
    """(flows, meters, policy id -> (up, down) meter ids) for one switch."""
    flows: list[FlowRule] = []
    meters: list[Meter] = []
    ids: dict[int, tuple[int, int]] = {}
    for p in dpi_policies(policies):
        covered = [s for s in local_subs if in_scope(topo, p.scope, s, subscribers.get(s))]
        if not covered:
            continue
        cookie = make_cookie("inspect", p.id)
        proto_name, port = PORT_OF[PROTOCOL_OF[p.target.kind]]
        proto = PROTOCOLS[proto_name]
        field = f"{proto_name}_dst"
        families = (ETH_IPV4, ETH_IPV6) if topo.ipv6 else (ETH_IPV4,)
        for meta in scope_matches(topo, p.scope, p.id, local_subs, subscribers):
            for eth_type in families:
                m = {"eth_type": eth_type, "ip_proto": proto, field: port}
                if meta is not None:
                    m["metadata"] = meta
                if proto_name == "tcp":
                    flows.append(rule(dpid, TABLE_INSPECT, PRIO_HANDSHAKE,
                                      {**m, "tcp_flags": (TCP_SYN, TCP_SYN)},
                                      (("goto", TABLE_FORWARD),), cookie))
                flows.append(rule(dpid, TABLE_INSPECT, PRIO_INSPECT, m,
                                  (("output", CONTROLLER_PORT),), cookie))
        if p.act.kind == "throttle" and p.act.rate_kbps:
            up, down = first_meter + len(meters), first_meter + len(meters) + 1
            burst = max(int(p.act.rate_kbps * BURST_SECONDS), 1)
            meters += [Meter(dpid, up, p.act.rate_kbps, burst, p.id),
                       Meter(dpid, down, p.act.rate_kbps, burst, p.id)]
            ids[p.id] = (up, down)
    return flows, meters, ids
