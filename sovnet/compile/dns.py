"""What an ISP resolver answers under the policies: the truth, NXDOMAIN, or a chosen address.

dns_tamper policies are enforced by the resolvers, not the switches: a resolver asked by a
subscriber for a service's name applies the highest-priority dns_tamper policy whose scope
covers that subscriber and whose target covers that service (the newest wins a tie). Allow and
deny policies do not interact with it: a whitelist does not stop a resolver from lying.

Pure: standard library and sovnet.model only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sovnet.compile.reference import targets
from sovnet.compile.targets import in_scope
from sovnet.model.policy import Policy, SubscriberState, action_kind, dns_answer
from sovnet.model.topology import Topology

TCP, HTTP = 6, 80


def service_of(topo: Topology, qname: str) -> str | None:
    name = qname.lower().rstrip(".")
    for svc in topo.services:
        if name in (d.lower().rstrip(".") for d in svc.domains):
            return svc.name
    return None


def tampering(topo: Topology, policies: Iterable[Policy], subscriber: str,
              service: str, subscribers: Mapping[str, SubscriberState] | None = None
              ) -> Policy | None:
    """The dns_tamper policy that decides what `subscriber` is told about `service`, if any
    (`subscribers`: the store's subscriber states, for tier and standing scopes)."""
    ip = topo.host(service).ip
    state = (subscribers or {}).get(subscriber)
    deciding = [p for p in policies if action_kind(p.action) == "dns_tamper"
                and in_scope(topo, p.scope, subscriber, state)
                and targets(topo, p, ip, TCP, HTTP)]
    return max(deciding, key=lambda p: (p.priority, p.id)) if deciding else None


def resolver_answer(topo: Topology, policies: Iterable[Policy], client_ip: str,
                    qname: str, subscribers: Mapping[str, SubscriberState] | None = None
                    ) -> str | None:
    """None: answer the truth; "nxdomain"; or the IPv4 address to answer instead."""
    host = topo.host_for_ip(client_ip)
    service = service_of(topo, qname)
    if host is None or host.kind != "subscriber" or service is None:
        return None
    policy = tampering(topo, policies, host.name, service, subscribers)
    return dns_answer(policy.action) if policy else None
