"""The network as frozen values: what the YAML loader produces and the store keeps as inventory.

Pure: imports only the standard library. Knows nothing of YAML, Mininet or OpenFlow.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

SWITCH_ROLES = ("access", "aggregation", "core", "border", "ixp", "internet")
ISP_KINDS = ("fixed", "mobile", "transit")
SUBSCRIBER_CLASSES = (
    "mobile_prepaid",
    "mobile_postpaid",
    "fixed_home",
    "fixed_macbound",
    "enterprise",
    "hosting",
    "privileged",
    "kiosk",
)
# Citizen Lab test-list codes, plus sovnet's BANK and HEALTH (the legend has no finance code).
CATEGORIES = (
    "GRP", "COMT", "NEWS", "GOVT", "SRCH", "ANON", "HOST", "MMED", "COMM", "PUBH", "FILE",
    "CTRL", "CDN", "BANK", "HEALTH",
)
# What each code stands for, in the Citizen Lab test lists' own words where they have one.
CATEGORY_NAMES = {
    "GRP": "social networking", "COMT": "communication tools", "NEWS": "news media",
    "GOVT": "government", "SRCH": "search engines", "ANON": "anonymization and circumvention",
    "HOST": "hosting and blogging", "MMED": "media sharing", "COMM": "e-commerce",
    "PUBH": "public health", "FILE": "file sharing", "CTRL": "control content",
    "CDN": "content delivery network", "BANK": "banking", "HEALTH": "health services",
}
LOCI = ("domestic", "foreign")
HOST_KINDS = ("subscriber", "service", "resolver", "router", "collector", "prober")
PRIVATE_ASN = 64512  # an ISP without `asn:` is AS 64512 + its place in the file (RFC 6996)
COLLECTOR_ASN = 12654  # RIPE RIS's, for a collector without `asn:`


@dataclass(frozen=True)
class Isp:
    name: str
    kind: str  # one of ISP_KINDS
    prefix: str  # e.g. "10.1.0.0/16"; subscribers and resolvers of this ISP are numbered from it
    asn: int = 0  # its autonomous system, announced from its border routers
    announce: tuple[str, ...] = ()  # what its routers announce abroad; () : the prefix itself

    @property
    def announced(self) -> tuple[str, ...]:
        return self.announce or (self.prefix,)

    @property
    def space(self) -> tuple[str, ...]:
        """Its prefix and what it announces, collapsed: the addresses that are its own."""
        return tuple(str(n) for n in ipaddress.collapse_addresses(
            ipaddress.IPv4Network(x) for x in (self.prefix, *self.announced)))


@dataclass(frozen=True)
class Switch:
    name: str
    dpid: int
    role: str  # one of SWITCH_ROLES
    isp: str | None  # owning ISP; None for internet / IXP switches nobody in the country owns
    prefix: str = ""  # a block of its ISP's prefix holding every host on it ("": none)
    region: str = ""  # the part of the country it serves ("": none named)


@dataclass(frozen=True)
class Host:
    """A Mininet host: one interface, one address, attached to one switch port. A pod subscriber
    (`pod`) is an interface in a shared host instead, on the port of that host."""

    name: str
    kind: str  # one of HOST_KINDS
    ip: str  # "10.1.0.5"
    prefixlen: int
    mac: str  # lower-case "02:00:0a:01:00:05"
    switch: str
    port: int
    ip6: str = ""  # "fd00:5e::a01:5" in a dual-stack topology (its IPv4 embedded), else ""
    pod: str = ""  # the emulated host it shares with its switch's other pod subscribers, or ""


def pod_name(switch: str) -> str:
    """The pod host of a switch. Topology names have no '-', so no name can clash with it."""
    return f"pod-{switch}"


@dataclass(frozen=True)
class Subscriber:
    name: str  # also the name of its host
    cls: str  # one of SUBSCRIBER_CLASSES
    isp: str
    registered: bool = True  # initial admission state loaded into the store
    region: str = ""  # its own, or else its switch's ("": none)


@dataclass(frozen=True)
class Service:
    name: str  # also the name of its host
    domains: tuple[str, ...]
    category: str
    locus: str  # "domestic" or "foreign"
    depends_on: tuple[str, ...] = ()
    https_redirect: bool = False  # port 80 answers 301 to https://
    http3: bool = False  # also HTTP/3 over QUIC on udp/443


@dataclass(frozen=True)
class Resolver:
    name: str  # also the name of its host
    isp: str  # "" for a public resolver abroad


@dataclass(frozen=True)
class Router:
    """A BGP speaker (also the name of its host): an ISP's border router, announcing the ISP's
    prefixes (`isp`), or a foreign transit network's (`isp` empty), which carries them on to
    the route collectors."""

    name: str
    isp: str  # "" for a transit router abroad
    asn: int


@dataclass(frozen=True)
class Collector:
    """A route collector abroad, in the style of RIPE RIS and RouteViews: it peers with every
    transit router as a full-feed peer and records every update it receives."""

    name: str  # also the name of its host
    asn: int = COLLECTOR_ASN


@dataclass(frozen=True)
class Link:
    a: str
    a_port: int | None  # None on the host side of a host link
    b: str
    b_port: int | None
    bw: float | None = None  # Mbit/s, shaped with HTB
    delay: str | None = None  # needs netem; refused where the kernel has none
    loss: float | None = None  # percent; needs netem too


@dataclass(frozen=True)
class Topology:
    name: str
    isps: tuple[Isp, ...]
    switches: tuple[Switch, ...]
    hosts: tuple[Host, ...]
    subscribers: tuple[Subscriber, ...]
    services: tuple[Service, ...]
    resolvers: tuple[Resolver, ...]
    links: tuple[Link, ...]  # switch-switch and host-switch links, in file order
    domestic_prefixes: tuple[str, ...] = ("10.0.0.0/8",)
    foreign_prefixes: tuple[str, ...] = ("172.16.0.0/12",)
    description: str = ""
    ipv6: str = ""  # the /96 every address is embedded in when dual-stack ("" : IPv4 only)
    routers: tuple[Router, ...] = ()
    collectors: tuple[Collector, ...] = ()
    probers: tuple[str, ...] = ()  # outside probers (Trinocular), by host name
    _index: dict[str, Any] = field(default_factory=dict, compare=False, repr=False, hash=False)

    # Lookups by name; built lazily so the dataclass stays a plain value.
    def _by(self, attr: str) -> dict[str, Any]:
        cached = self._index.get(attr)
        if cached is None:
            cached = {x.name: x for x in getattr(self, attr)}
            self._index[attr] = cached
        return cached

    def memo(self, key: str, make: Any) -> Any:
        """A value derived from this (immutable) topology, made once by `make(self)`."""
        if key not in self._index:
            self._index[key] = make(self)
        return self._index[key]

    def subscriber_number(self, name: str) -> int:
        """1, 2, 3... in file order: the subscriber field of the metadata (0 is "nobody")."""
        return self.memo("subscriber_number", lambda t: {
            s.name: n for n, s in enumerate(t.subscribers, 1)})[name]

    def hosts_on(self, switch: str) -> tuple[Host, ...]:
        return self.memo("hosts_on", _hosts_by_switch).get(switch, ())

    def size(self) -> str:
        """"22 switches, 70 hosts", or with pods "34 switches, 10,104 hosts in 124 namespaces"."""
        pods = {h.pod for h in self.hosts if h.pod}
        text = f"{len(self.switches):,} switches, {len(self.hosts):,} hosts"
        if pods:
            spaces = sum(1 for h in self.hosts if not h.pod) + len(pods)
            text += f" in {spaces:,} namespaces"
        return text

    def switch(self, name: str) -> Switch:
        return self._by("switches")[name]

    def host(self, name: str) -> Host:
        return self._by("hosts")[name]

    def service(self, name: str) -> Service:
        return self._by("services")[name]

    def subscriber(self, name: str) -> Subscriber:
        return self._by("subscribers")[name]

    def isp(self, name: str) -> Isp:
        return self._by("isps")[name]

    def router(self, name: str) -> Router:
        return self._by("routers")[name]

    @property
    def border_routers(self) -> tuple[Router, ...]:
        return tuple(r for r in self.routers if r.isp)

    @property
    def transit_routers(self) -> tuple[Router, ...]:
        return tuple(r for r in self.routers if not r.isp)

    def has_switch(self, name: str) -> bool:
        return name in self._by("switches")

    def has_host(self, name: str) -> bool:
        return name in self._by("hosts")

    def host_for_ip(self, ip: str) -> Host | None:
        return self.memo("host_for_ip", lambda t: {h.ip: h for h in t.hosts}).get(ip)

    def resolver_for(self, isp: str) -> Resolver | None:
        """The ISP's resolver; else the first of the country's (never a public one abroad)."""
        domestic = [r for r in self.resolvers if r.isp]
        for r in domestic:
            if r.isp == isp:
                return r
        return domestic[0] if domestic else None

    @property
    def public_resolvers(self) -> tuple[Resolver, ...]:
        """Resolvers abroad (no ISP): the ISPs' resolvers recurse to the first for foreign
        names."""
        return tuple(r for r in self.resolvers if not r.isp)

    def is_foreign(self, ip: str) -> bool:
        addr = ipaddress.ip_address(ip)
        if addr.version == 6:
            return any(addr in ipaddress.ip_network(p) for p in self.foreign_prefixes6)
        return any(addr in ipaddress.ip_network(p) for p in self.foreign_prefixes)

    @property
    def foreign_prefixes6(self) -> tuple[str, ...]:
        return tuple(embed6(self.ipv6, p) for p in self.foreign_prefixes) if self.ipv6 else ()

    @property
    def domestic_prefixes6(self) -> tuple[str, ...]:
        return tuple(embed6(self.ipv6, p) for p in self.domestic_prefixes) if self.ipv6 else ()

    def addresses(self, host: str) -> tuple[str, ...]:
        """A host's addresses: IPv4, then IPv6 where the topology is dual-stack."""
        h = self.host(host)
        return (h.ip, h.ip6) if h.ip6 else (h.ip,)

    def switch_links(self) -> tuple[Link, ...]:
        switches = self._by("switches")
        return tuple(lk for lk in self.links if lk.a in switches and lk.b in switches)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_index")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Topology:
        def tup(kind, items, **conv):
            out = []
            for it in items:
                it = dict(it)
                for k, f in conv.items():
                    if k in it:
                        it[k] = f(it[k])
                out.append(kind(**it))
            return tuple(out)

        return cls(
            name=d["name"],
            description=d.get("description", ""),
            isps=tup(Isp, d["isps"], announce=tuple),
            switches=tup(Switch, d["switches"]),
            hosts=tup(Host, d["hosts"]),
            subscribers=tup(Subscriber, d["subscribers"]),
            services=tup(Service, d["services"], domains=tuple, depends_on=tuple),
            resolvers=tup(Resolver, d["resolvers"]),
            links=tup(Link, d["links"]),
            domestic_prefixes=tuple(d.get("domestic_prefixes", ("10.0.0.0/8",))),
            foreign_prefixes=tuple(d.get("foreign_prefixes", ("172.16.0.0/12",))),
            ipv6=d.get("ipv6", ""),
            routers=tup(Router, d.get("routers", ())),
            collectors=tup(Collector, d.get("collectors", ())),
            probers=tuple(d.get("probers", ())),
        )


def _hosts_by_switch(topo: Topology) -> dict[str, tuple[Host, ...]]:
    out: dict[str, list[Host]] = {}
    for h in topo.hosts:
        out.setdefault(h.switch, []).append(h)
    return {k: tuple(v) for k, v in out.items()}


def embed6(prefix96: str, v4: str) -> str:
    """An IPv4 address or prefix inside a /96, as RFC 6052 embeds it: ("fd00:5e::/96",
    "10.1.0.5") -> "fd00:5e::a01:5"; ("fd00:5e::/96", "172.16.0.0/12") -> "fd00:5e::ac10:0/108".
    Every IPv4 prefix so has its IPv6 twin, and longest-prefix match works the same in both."""
    base = int(ipaddress.IPv6Network(prefix96).network_address)
    if "/" in v4:
        net = ipaddress.IPv4Network(v4, strict=False)
        return f"{ipaddress.IPv6Address(base + int(net.network_address))}/{96 + net.prefixlen}"
    return str(ipaddress.IPv6Address(base + int(ipaddress.IPv4Address(v4))))


def resolver_ip(topology: Topology, host: str) -> str | None:
    """The resolver a host asks: its ISP's for subscribers and resolvers, else the first one."""
    h = topology.host(host)
    isp = None
    if h.kind == "subscriber":
        isp = topology.subscriber(host).isp
    elif h.kind == "resolver":
        isp = next(r.isp for r in topology.resolvers if r.name == host)
    r = topology.resolver_for(isp or "")
    return topology.host(r.name).ip if r else None
