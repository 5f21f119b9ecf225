"""A small hand-built topology for tests of the pure core (independent of the YAML loader).

    alice(fixnet) bob(mobinet) carol(mobinet, unregistered)
        |            |             |
       acc1         acc2 ----------+
          \\        /
            core1 -- gw1 -- inet1 -- social, cdn (foreign)
              |
             dc1 -- bank (domestic, depends on cdn), gov
              |
             dns1
"""

import time

from sovnet.model.policy import Policy, Scope, SubscriberState, Target, initial_subscribers
from sovnet.model.topology import Host, Isp, Link, Resolver, Service, Subscriber, Switch, Topology


def topology() -> Topology:
    switches = (
        Switch("acc1", 1, "access", "fixnet"),
        Switch("acc2", 2, "access", "mobinet"),
        Switch("core1", 3, "core", "fixnet"),
        Switch("dc1", 4, "core", "fixnet"),
        Switch("gw1", 5, "border", None),
        Switch("inet1", 6, "internet", None),
    )
    sw_links = (
        Link("acc1", 1, "core1", 1),
        Link("acc2", 1, "core1", 2),
        Link("core1", 3, "gw1", 1),
        Link("gw1", 2, "inet1", 1),
        Link("core1", 4, "dc1", 1),
    )

    def host(name, kind, ip, sw, port, plen=8):
        mac = "02:00:" + ":".join(f"{int(b):02x}" for b in ip.split("."))
        return Host(name, kind, ip, plen, mac, sw, port)

    hosts = (
        host("alice", "subscriber", "10.1.0.2", "acc1", 2),
        host("bob", "subscriber", "10.2.0.2", "acc2", 2),
        host("carol", "subscriber", "10.2.0.3", "acc2", 3),
        host("bank", "service", "10.250.0.2", "dc1", 2),
        host("gov", "service", "10.250.0.3", "dc1", 3),
        host("social", "service", "172.16.0.2", "inet1", 2, 12),
        host("cdn", "service", "172.16.0.3", "inet1", 3, 12),
        host("dns1", "resolver", "10.1.0.53", "dc1", 4),
    )
    host_links = tuple(Link(h.name, None, h.switch, h.port) for h in hosts)
    return Topology(
        name="handmade",
        isps=(Isp("fixnet", "fixed", "10.1.0.0/16"), Isp("mobinet", "mobile", "10.2.0.0/16")),
        switches=switches,
        hosts=hosts,
        subscribers=(
            Subscriber("alice", "fixed_home", "fixnet"),
            Subscriber("bob", "mobile_prepaid", "mobinet"),
            Subscriber("carol", "mobile_prepaid", "mobinet", registered=False),
        ),
        services=(
            Service("bank", ("bank.sov",), "BANK", "domestic", ("cdn",)),
            Service("gov", ("gov.sov",), "GOVT", "domestic"),
            Service("social", ("social.example",), "GRP", "foreign"),
            Service("cdn", ("cdn.example",), "CDN", "foreign"),
        ),
        resolvers=(Resolver("dns1", "fixnet"),),
        links=sw_links + host_links,
    )


def subscribers(topo: Topology) -> dict[str, SubscriberState]:
    return initial_subscribers(topo)


def policy(pid, action, target, scope="all", priority=100) -> Policy:
    from sovnet.model.policy import parse_scope, parse_target

    t = target if isinstance(target, Target) else parse_target(target)
    s = scope if isinstance(scope, Scope) else parse_scope(scope)
    return Policy(pid, action, s, t, priority)


NOW = time.time()


def flow_record(subscriber="alice", service="bank", first=NOW - 10, last=None, nbytes=700,
                **kw):
    """A flow record of the handmade network, as the collector would store it."""
    from sovnet.store.flowrecords import FlowRecord

    ips = {"alice": "10.1.0.2", "bob": "10.2.0.2", "bank": "10.250.0.2", "social": "172.16.0.2"}
    fields = dict(subscriber=subscriber, direction="up", service=service, src=ips[subscriber],
                  dst=ips[service], proto=6, src_port=40000, dst_port=80, packets=5,
                  bytes=nbytes, first_seen=first, last_seen=first + 1 if last is None else last,
                  dpid=1, policy=1, collected_at=first + 2)
    return FlowRecord(**{**fields, **kw})
