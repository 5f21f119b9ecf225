"""What an ISP resolver answers under the policies: the truth, NXDOMAIN, or a chosen address.

dns_tamper policies are enforced by the resolvers, not the switches: a resolver asked by a
subscriber for a service's name applies the highest-priority dns_tamper policy whose scope
covers that subscriber and whose target covers that service (the newest wins a tie). Allow and
deny policies do not interact with it: a whitelist does not stop a resolver from lying.

Pure: standard library and sovnet.model only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sovnet.compile.reference import overlay
from sovnet.model.policy import Policy, SubscriberState
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
    return overlay(topo, policies, "dns_tamper", subscribers or {}, subscriber,
                   topo.host(service).ip, TCP, HTTP)


def resolver_answer(topo: Topology, policies: Iterable[Policy], client_ip: str,
                    qname: str, subscribers: Mapping[str, SubscriberState] | None = None
                    ) -> str | None:
    """None: answer the truth; "nxdomain"; or the IPv4 address to answer instead."""
    host = topo.host_for_ip(client_ip)
    service = service_of(topo, qname)
    if host is None or host.kind != "subscriber" or service is None:
        return None
    policy = tampering(topo, policies, host.name, service, subscribers)
    return policy.act.answer if policy else None
