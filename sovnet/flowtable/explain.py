"""`explain SRC DST`: which policy, table and flow decide the fate of traffic from a host.

Pure: works on compiled flows and the policies that made them, via the simulator.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sovnet.compile.dns_tamper import tampering
from sovnet.compile.flowlog import logging_policy
from sovnet.flowtable.simulate import Trace, table_name, trace
from sovnet.inspect.rules import Rule, decide
from sovnet.model.flows import FlowRule, cookie_kind, cookie_policy
from sovnet.model.policy import PROTOCOLS, Policy, SubscriberState
from sovnet.model.topology import Topology


class ExplainError(ValueError):
    pass


@dataclass(frozen=True)
class Explanation:
    src: str
    dst_ip: str
    dst_name: str
    packet: dict
    trace: Trace
    deciding: FlowRule | None  # the policy-table flow, or the admission drop, or the last flow
    policy: Policy | None
    dns: Policy | None = None  # a dns_tamper policy that makes src's resolver lie about dst
    policies: Mapping[int, Policy] = field(default_factory=dict)  # by id, to name meters' owners
    logged: Policy | None = None  # the log policy that records this traffic, if any
    # Sent to the inspector: (the name it reads, its protocol, the rule that decides or None)
    inspected: tuple[str | None, str, Rule | None] | None = None

    def to_json(self) -> dict:
        """The same as render(), for scripts."""
        t = self.trace
        verdict = t.verdict if self.inspected is None else _inspector_verdict(self.inspected)
        decided: dict | None = None
        if self.policy is not None:
            decided = {"policy": self.policy.id, "policy_text": self.policy.describe(),
                       "reason": self.policy.reason}
        elif self.deciding is not None:
            decided = {"table": table_name(self.deciding.key.table),
                       "flow": cookie_kind(self.deciding.cookie)}
        return {
            "src": self.src, "dst": self.dst_name, "dst_ip": self.dst_ip,
            "packet": dict(self.packet), "verdict": verdict, "path": list(t.hops),
            "steps": [{"switch": st.switch, "table": table_name(st.table),
                       "flow": st.flow.describe() if st.flow else None} for st in t.steps],
            "decided_by": decided,
            "dns": self.dns.describe() if self.dns is not None else None,
            "throttled_by": [cookie_policy(f.cookie) for f in t.meters],
            "logged_by": self.logged.id if self.logged is not None else None,
            "inspector": None if self.inspected is None else {
                "reads": self.inspected[0], "protocol": self.inspected[1],
                "rule": self.inspected[2].describe() if self.inspected[2] else None},
        }

    def render(self) -> str:
        t = self.trace
        verdict = t.verdict if self.inspected is None else _inspector_verdict(self.inspected)
        lines = [
            f"{self.src} -> {self.dst_name} ({self.dst_ip}) "
            f"{_proto_name(self.packet)}: {verdict}",
            f"  path: {' -> '.join(t.hops)}",
        ]
        if self.dns is not None:
            answer = self.dns.act.answer
            told = "NXDOMAIN" if answer == "nxdomain" else answer
            lines.insert(1, f"  dns: {self.src}'s resolver answers {told} for this name, by "
                            f"policy {self.dns.describe()}; the path below is to the real "
                            "address")
        for st in t.steps:
            what = st.flow.describe() if st.flow else "no flow matched (table miss: drop)"
            lines.append(f"  {st.switch} {table_name(st.table)}: {what}")
        if self.inspected is not None:
            name, protocol, rule = self.inspected
            what = {"tls": "the SNI", "http": "the Host", "quic": "the QUIC SNI"}[protocol]
            read = f"{what} {name}" if name else f"{what} (none given: pass --sni NAME)"
            lines.append(f"  the inspector reads {read}: "
                         + (f"decided by {rule.describe()}" if rule
                            else "no inspector rule names it"))
        if self.policy is not None:
            lines.append(f"  decided by policy {self.policy.describe()}"
                         + (f": {self.policy.reason}" if self.policy.reason else ""))
        elif self.deciding is not None:
            kind = cookie_kind(self.deciding.cookie)
            lines.append(f"  decided by the {table_name(self.deciding.key.table)} table "
                         f"({kind} flow, no policy)")
        for f in t.meters:
            p = self.policies.get(cookie_policy(f.cookie))
            lines.append(f"  throttled by policy {p.describe() if p else cookie_policy(f.cookie)}"
                         " (a meter per subscriber and direction)")
        if self.logged is not None:
            lines.append(f"  logged by policy {self.logged.describe()}: the flow-log collector "
                         "keeps a record of it")
        return "\n".join(lines)


_DONE_BY = {"deny": "dropped by the inspector (the client times out)",
            "reject": "reset by the inspector (connection_reset)",
            "throttle": "throttled by the inspector, both ways"}


def _inspector_verdict(inspected: tuple[str | None, str, Rule | None]) -> str:
    rule = inspected[2]
    if rule is None:
        return "delivered: the inspector lets it pass"
    text = _DONE_BY[rule.action]
    if rule.residual:
        text += f", and the server blocked for {rule.residual:g} s after"
    return text


def resolve_destination(topo: Topology, dst: str) -> tuple[str, str]:
    """A host or service name, a domain name, or an IPv4 address -> (ip, display name)."""
    for h in topo.hosts:
        if h.name == dst:
            return h.ip, dst
    for s in topo.services:
        if dst in s.domains:
            return topo.host(s.name).ip, f"{s.name} [{dst}]"
    try:
        ip = str(ipaddress.IPv4Address(dst))
    except ValueError:
        names = sorted(h.name for h in topo.hosts)
        raise ExplainError(
            f"unknown destination {dst!r} (expected a host, service, domain name or IPv4 "
            f"address; hosts: {', '.join(names[:12])}{', ...' if len(names) > 12 else ''})"
        ) from None
    h = topo.host_for_ip(ip)
    return ip, h.name if h else ip


def explain(topo: Topology, tables: Mapping[int, Iterable[FlowRule]],
            policies: Iterable[Policy], src: str, dst: str,
            proto: str = "tcp", port: int | None = 80,
            subscribers: Mapping[str, SubscriberState] | None = None,
            rules: tuple[Rule, ...] = (), sni: str | None = None) -> Explanation:
    """`rules`: the inspector's (Compiled.inspect); `sni`: the name the client sends, by
    default the destination when it is a domain name."""
    try:
        h = topo.host(src)
    except KeyError:
        raise ExplainError(
            f"unknown source host {src!r} (expected one of the topology's hosts)"
        ) from None
    ip, name = resolve_destination(topo, dst)
    if proto not in PROTOCOLS:
        raise ExplainError(f"bad protocol {proto!r} (expected tcp, udp or icmp)")
    pkt = {"eth_src": h.mac, "eth_type": 0x0800, "ipv4_src": h.ip, "ipv4_dst": ip,
           "ip_proto": PROTOCOLS[proto]}
    if proto in ("tcp", "udp") and port is not None:
        pkt[f"{proto}_dst"] = port
    t = trace(topo, tables, src, pkt)
    deciding = _deciding_flow(t)
    by_id = {p.id: p for p in policies}
    policy = by_id.get(cookie_policy(deciding.cookie)) if deciding is not None else None
    if deciding is not None and cookie_kind(deciding.cookie) != "policy":
        policy = None
    svc = topo.host_for_ip(ip)
    lie = (tampering(topo, by_id.values(), src, svc.name, subscribers)
           if h.kind == "subscriber" and svc is not None and svc.kind == "service"
           and dst != ip else None)
    logged = (logging_policy(topo, by_id.values(), subscribers or {}, src, ip,
                             PROTOCOLS[proto], port if proto in ("tcp", "udp") else None)
              if h.kind == "subscriber" else None)
    inspected = None
    if t.rejected and t.steps and t.steps[-1].flow is not None and \
            cookie_kind(t.steps[-1].flow.cookie) == "inspect":
        read = sni or (dst if dst != ip and "." in dst else None)
        protocol = "quic" if proto == "udp" else ("http" if port == 80 else "tls")
        inspected = (read, protocol, decide(rules, h.ip, protocol, read))
    return Explanation(src, ip, name, pkt, t, deciding, policy, lie, by_id, logged, inspected)


def _deciding_flow(t: Trace) -> FlowRule | None:
    if t.dropped_at is not None:
        return t.dropped_at.flow
    for st in t.steps:
        if st.flow is not None and cookie_kind(st.flow.cookie) == "policy":
            return st.flow
    return t.steps[-1].flow if t.steps else None


def _proto_name(pkt: dict) -> str:
    names = {v: k for k, v in PROTOCOLS.items()}
    proto = names.get(pkt.get("ip_proto"), "ip")
    port = pkt.get("tcp_dst") or pkt.get("udp_dst")
    return f"{proto}/{port}" if port else proto
