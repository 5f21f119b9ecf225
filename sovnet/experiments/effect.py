"""Which (vantage point, service) pairs a store change should open or close. Pure.

Read straight off the policies with the compiler's reference semantics, so the "first probe that
saw the effect" of a change can be found in the measurements afterwards, and a measurer's view
can be compared with what the store says should happen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sovnet.compile.dns_tamper import tampering
from sovnet.compile.reference import allowed
from sovnet.model.policy import Policy, SubscriberState
from sovnet.model.topology import Topology, resolver_ip

UDP, TCP, ICMP = 17, 6, 1


def web_reachable(topo: Topology, policies: Iterable[Policy],
                  subscribers: Mapping[str, SubscriberState], subscriber: str,
                  service: str) -> bool:
    """Can `subscriber`'s own device look the service up through its resolver and fetch it?"""
    policies = list(policies)
    lie = tampering(topo, policies, subscriber, service, subscribers)
    if lie is not None and lie.act.answer != topo.host(service).ip:
        return False
    mac = topo.host(subscriber).mac
    dns = resolver_ip(topo, subscriber)
    if dns is not None and not allowed(topo, policies, subscribers, subscriber, mac, dns,
                                       UDP, 53):
        return False
    return allowed(topo, policies, subscribers, subscriber, mac, topo.host(service).ip, TCP, 80)


def reachability(topo: Topology, policies: Iterable[Policy],
                 subscribers: Mapping[str, SubscriberState], vantages: Iterable[str],
                 services: Iterable[str]) -> dict[tuple[str, str], bool]:
    policies = list(policies)
    return {(v, s): web_reachable(topo, policies, subscribers, v, s)
            for v in vantages for s in services}


def ping_reachability(topo: Topology, policies: Iterable[Policy],
                      subscribers: Mapping[str, SubscriberState],
                      pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bool]:
    """(vantage, service) -> do the vantage's echo requests reach the service? What a stream
    probe measures: no DNS, no port, just the subscriber's device and the address."""
    policies = list(policies)
    return {(v, s): allowed(topo, policies, subscribers, v, topo.host(v).mac,
                            topo.host(s).ip, ICMP, None) for v, s in pairs}


def effect(before: Mapping[tuple[str, str], bool],
           after: Mapping[tuple[str, str], bool]) -> list[tuple[str, str, bool]]:
    """The pairs whose reachability changed, with their new value, sorted."""
    return sorted((v, s, after[v, s]) for (v, s) in after if before.get((v, s)) != after[v, s])
