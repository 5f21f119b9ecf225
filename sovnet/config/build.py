"""Deterministic allocation (dpids, ports, addresses, MACs) and the model.Topology.

Allocation rules (also in topologies/README.md):
- dpid: explicit ones kept; the others get 1, 2, 3... in file order, skipping taken ones.
- ports: explicit SWITCH:PORT reserved first; then each switch hands out its lowest free
  port, in this order: links (file order, a then b), subscribers, services, resolvers,
  routers, collectors, probers. The
  pod subscribers of a switch share one port, taken where the first of them comes.
- addresses: explicit ones kept (and skipped by every pool); subscribers, resolvers and border
  routers are numbered from their ISP's prefix, domestic services from addressing.services,
  foreign ones, transit routers and collectors from addressing.foreign_services; every pool
  starts at its network address + 2 (.1 is kept free for a gateway) and goes up in the order
  subscribers, services, resolvers, routers, collectors, probers (from the foreign pool).
- MAC: explicit, or 02:00: and the four bytes of the IPv4 address (locally administered).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sovnet.config.checks import MAX_NAME
from sovnet.config.report import Reporter
from sovnet.config.resolve import HostSpec, Parsed
from sovnet.config.values import MAX_PORT, split_endpoint
from sovnet.config.yamlsrc import Path, render_path
from sovnet.model.topology import (
    COLLECTOR_ASN,
    PRIVATE_ASN,
    Collector,
    Host,
    Isp,
    Link,
    Resolver,
    Router,
    Service,
    Subscriber,
    Switch,
    Topology,
    embed6,
    pod_name,
)

IFNAMSIZ = 15  # characters in a Linux interface name, without the NUL


def build(p: Parsed, r: Reporter) -> Topology | None:
    """Allocate and report conflicts; return the Topology only when no issue was found at all."""
    dpids = _dpids(p, r)
    ports = _ports(p, r)
    ips = _ips(p, r)
    macs = _macs(p, ips, r)
    if r.issues or p.addressing is None or p.defaults is None:
        return None
    return _topology(p, dpids, ports, ips, macs)


def _dpids(p: Parsed, r: Reporter) -> dict[str, int]:
    switches = p.sections["switches"].entries
    owner: dict[int, str] = {}
    out: dict[str, int] = {}
    for name, sw in switches.items():
        if sw.dpid is None:
            continue
        if sw.dpid in owner:
            r.value(("switches", name, "dpid"),
                    f"duplicate dpid {sw.dpid} (first used by switches.{owner[sw.dpid]})")
        else:
            owner[sw.dpid] = name
        out[name] = sw.dpid
    nxt = 1
    for name, sw in switches.items():
        if sw.dpid is None:
            while nxt in owner:
                nxt += 1
            owner[nxt] = name
            out[name] = nxt
    return out


def _ports(p: Parsed, r: Reporter) -> dict[Any, int]:
    """Port per user: ("links", i, "a"|"b") for link ends, the index in p.hosts for hosts."""
    switches = p.sections["switches"].entries
    uses: list[tuple[str, int | None, Path, Any]] = []
    for i, link in p.links:
        for side in ("a", "b"):
            name, port = split_endpoint(getattr(link, side))
            uses.append((name, port, ("links", i, side), ("links", i, side)))
    pods: dict[int, tuple[str, str]] = {}  # a pod subscriber's index -> its pod's key
    for n, h in enumerate(p.hosts):
        name, port = split_endpoint(h.get("switch"))
        if not (h.kind == "subscriber" and h.get("pod")):
            uses.append((name, port, h.at("switch"), n))
        elif port is not None:
            r.value(h.at("switch"), f"a pod subscriber takes its pod's port, not {name}:{port} "
                                    f"(expected {name}, or pod: false)")
        else:
            if ("pod", name) not in pods.values():
                uses.append((name, None, h.at("switch"), ("pod", name)))
            pods[n] = ("pod", name)
    taken: dict[str, dict[int, Path]] = {n: {} for n in switches}
    out: dict[Any, int] = {}
    for name, port, at, key in uses:
        if port is None or name not in taken:
            continue
        if port in taken[name]:
            first = render_path(taken[name][port])
            r.value(at, f"duplicate port {name}:{port} (first used by {first})")
        else:
            taken[name][port] = at
        out[key] = port
    lowest = dict.fromkeys(taken, 1)  # no free port below it: ports are only ever taken
    full: set[str] = set()
    for name, port, at, key in uses:
        if port is not None or name not in taken or name in full:
            continue
        port = lowest[name]
        while port in taken[name]:
            port += 1
        if port > MAX_PORT:
            full.add(name)
            r.value(at, f"no free port left on switch {name} (expected at most {MAX_PORT} "
                        "links and hosts on one switch)")
            continue
        taken[name][port] = at
        out[key] = port
        lowest[name] = port + 1
    for n, key in pods.items():
        if key in out:
            out[n] = out[key]
    for name, used in taken.items():
        if used and len(name) <= MAX_NAME and len(f"{name}-eth{max(used)}") > IFNAMSIZ:
            ifname = f"{name}-eth{max(used)}"
            r.key(("switches", name), f"interface name {ifname!r} is too long: {len(ifname)} "
                                      f"characters (expected at most {IFNAMSIZ}: shorten the "
                                      "switch name or use lower port numbers)")
    return out


def _net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


def _switch_prefix(p: Parsed, h: HostSpec) -> tuple[str, ipaddress.IPv4Network] | None:
    """The prefix of the switch a subscriber or resolver sits on, when that switch has one."""
    if h.kind == "service" or h.get("switch") is None:
        return None
    sw = p.sections["switches"].entries.get(split_endpoint(h.get("switch"))[0])
    if sw is None or sw.prefix is None:
        return None
    return f"the prefix of switch {split_endpoint(h.get('switch'))[0]!r}", _net(sw.prefix)


def _switch_blocks(p: Parsed) -> list[tuple[int, int]]:
    """The address ranges switches own, which their ISP's pool skips."""
    return sorted((int(n.network_address), int(n.broadcast_address))
                  for n in (_net(sw.prefix) for sw in p.sections["switches"].entries.values()
                            if sw.prefix is not None))


def _pool_of(p: Parsed, h: HostSpec) -> tuple[str, ipaddress.IPv4Network] | None:
    """The pool a host is numbered from, as (description, network), or None if unknowable."""
    if h.kind in ("router", "collector", "prober", "resolver") and h.get("isp") is None:
        if p.addressing is None:
            return None
        return "addressing.foreign_services", _net(p.addressing.foreign_services)
    if h.kind == "service":
        if p.addressing is None:
            return None
        if h.get("locus") == "foreign":
            return "addressing.foreign_services", _net(p.addressing.foreign_services)
        return "addressing.services", _net(p.addressing.services)
    own = _switch_prefix(p, h)
    if own is not None:
        return own
    isp = p.sections["isps"].entries.get(h.get("isp"))
    if isp is None:
        return None
    return f"the prefix of ISP {h.get('isp')!r}", ipaddress.IPv4Network(isp.prefix)


def _space_of(p: Parsed, h: HostSpec) -> tuple[str, list[ipaddress.IPv4Network]] | None:
    """Where an explicit address must lie."""
    own = _switch_prefix(p, h)
    if own is not None:
        return own[0], [own[1]]
    if h.kind in ("router", "collector", "prober", "resolver") and h.get("isp") is None:
        if p.addressing is None:
            return None
        return "the foreign space", [ipaddress.IPv4Network(x) for x in p.addressing.foreign]
    if h.kind != "service":
        pool = _pool_of(p, h)
        return None if pool is None else (pool[0], [pool[1]])
    if p.addressing is None:
        return None
    if h.get("locus") == "foreign":
        return "the foreign space", [ipaddress.IPv4Network(x) for x in p.addressing.foreign]
    return "the domestic space", [ipaddress.IPv4Network(x) for x in p.addressing.domestic]


def _ips(p: Parsed, r: Reporter) -> dict[int, str]:
    """Address per index in p.hosts."""
    out: dict[int, str] = {}
    owner: dict[str, str] = {}
    for n, h in enumerate(p.hosts):
        ip = h.get("ip")
        if ip is None:
            continue
        if ip in owner:
            r.value(h.at("ip"), f"duplicate IP {ip} (first used by {owner[ip]})")
        else:
            owner[ip] = render_path(h.path)
        space = _space_of(p, h)
        edge = _edge_of_subnet(p, ip)
        if edge is not None:
            r.value(h.at("ip"), edge)
        elif space is not None and not any(ipaddress.IPv4Address(ip) in n for n in space[1]):
            r.value(h.at("ip"), f"address {ip} is outside {space[0]} "
                                f"(expected an address inside {', '.join(map(str, space[1]))})")
        elif _switch_prefix(p, h) is None:
            taken = next((name for name, sw in p.sections["switches"].entries.items()
                          if sw.prefix is not None
                          and ipaddress.IPv4Address(ip) in _net(sw.prefix)), None)
            if taken is not None:
                r.value(h.at("ip"), f"address {ip} is in the prefix of switch {taken!r}, "
                                    f"which only hosts on {taken!r} may use (expected an "
                                    "address outside every switch prefix)")
        out[n] = ip
    cursor: dict[ipaddress.IPv4Network, int] = {}
    exhausted: set[ipaddress.IPv4Network] = set()
    blocks = _switch_blocks(p)
    for n, h in enumerate(p.hosts):
        pool = _pool_of(p, h)
        if n in out or pool is None:
            continue
        what, net = pool
        if net in exhausted:
            continue
        cur = cursor.get(net, int(net.network_address) + 2)
        last = int(net.broadcast_address) - 1
        # An ISP's pool skips the blocks its switches own; a switch's own pool is one of them.
        skip = [(a, b) for a, b in blocks
                if int(net.network_address) <= a and b <= int(net.broadcast_address)
                and (a, b) != (int(net.network_address), int(net.broadcast_address))]
        while cur <= last:
            inside = next((b for a, b in skip if a <= cur <= b), None)
            if inside is not None:
                cur = inside + 1
            elif str(ipaddress.IPv4Address(cur)) in owner:
                cur += 1
            else:
                break
        if cur > last:
            if net not in exhausted:
                exhausted.add(net)
                r.entry(h.path, f"no free address left in {net}, {what} "
                                "(expected a larger prefix or fewer hosts)")
            continue
        ip = str(ipaddress.IPv4Address(cur))
        owner[ip] = render_path(h.path)
        out[n] = ip
        cursor[net] = cur + 1
    return out


def _edge_of_subnet(p: Parsed, ip: str) -> str | None:
    """Why `ip` cannot be a host's address in the subnet it gets (_subnet), or None."""
    if p.addressing is None:
        return None
    addr = ipaddress.IPv4Address(ip)
    net = _subnet(ip, list(p.addressing.domestic) + list(p.addressing.foreign))
    if net is None or net.prefixlen >= 31 or addr not in (net.network_address,
                                                          net.broadcast_address):
        return None
    edge = "network" if addr == net.network_address else "broadcast"
    return (f"address {ip} is the {edge} address of {net}, the subnet of its host (expected an "
            f"address from {net[1]} to {net[-2]})")


def mac_for(ip: str) -> str:
    """10.1.0.5 -> 02:00:0a:01:00:05."""
    return "02:00:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


def _macs(p: Parsed, ips: dict[int, str], r: Reporter) -> dict[int, str]:
    """MAC per index in p.hosts. Two derived MACs clash only if their addresses do: not
    reported again."""
    out: dict[int, str] = {}
    owner: dict[str, tuple[str, bool]] = {}
    for n, h in enumerate(p.hosts):
        explicit = h.get("mac") is not None
        mac = h.get("mac") or (mac_for(ips[n]) if n in ips else None)
        if mac is None:
            continue
        if mac not in owner:
            owner[mac] = (render_path(h.path), explicit)
        elif explicit or owner[mac][1]:
            at = h.at("mac") if explicit else h.path
            r.value(at, f"duplicate MAC {mac} (first used by {owner[mac][0]})")
        out[n] = mac
    return out


def _subnet(ip: str, prefixes: list[str]) -> ipaddress.IPv4Network | None:
    """The subnet a host at `ip` is given: the first of `prefixes` (the domestic then the
    foreign ones) it lies in."""
    addr = ipaddress.IPv4Address(ip)
    return next((net for net in map(_net, prefixes) if addr in net), None)


def _prefixlen(ip: str, prefixes: list[str]) -> int:
    net = _subnet(ip, prefixes)
    return 32 if net is None else net.prefixlen  # None: outside every prefix, reported before


def _topology(p: Parsed, dpids: dict[str, int], ports: dict[Any, int],
              ips: dict[int, str], macs: dict[int, str]) -> Topology:
    assert p.addressing is not None and p.defaults is not None
    secs = p.sections
    all_prefixes = list(p.addressing.domestic) + list(p.addressing.foreign)
    dflt = p.defaults.link
    links = []
    for i, lk in p.links:
        (a, _), (b, _) = split_endpoint(lk.a), split_endpoint(lk.b)
        links.append(Link(
            a=a, a_port=ports[("links", i, "a")], b=b, b_port=ports[("links", i, "b")],
            bw=lk.bw if lk.bw is not None else dflt.bw,
            delay=lk.delay if lk.delay is not None else dflt.delay,
            loss=lk.loss if lk.loss is not None else dflt.loss,
        ))
    hosts, subscribers, services, resolvers, routers, collectors = [], [], [], [], [], []
    probers: list[str] = []
    isps = {n: Isp(n, i.kind, i.prefix, i.asn if i.asn is not None else PRIVATE_ASN + k,
                   tuple(i.announce or ()))
            for k, (n, i) in enumerate(secs["isps"].entries.items())}
    for n, h in enumerate(p.hosts):
        sw, _ = split_endpoint(h.get("switch"))
        hosts.append(Host(name=h.name, kind=h.kind, ip=ips[n],
                          prefixlen=_prefixlen(ips[n], all_prefixes), mac=macs[n],
                          switch=sw, port=ports[n],
                          ip6=embed6(p.addressing.ipv6, ips[n]) if p.addressing.ipv6 else "",
                          pod=pod_name(sw) if h.kind == "subscriber" and h.get("pod") else ""))
        links.append(Link(a=h.name, a_port=None, b=sw, b_port=ports[n]))
        if h.kind == "subscriber":
            subscribers.append(Subscriber(
                name=h.name, cls=h.get("class"), isp=h.get("isp"),
                registered=h.get("registered", True),
                region=h.get("region") or secs["switches"].entries[sw].region or ""))
        elif h.kind == "service":
            services.append(Service(name=h.name, domains=tuple(h.get("domains")),
                                    category=h.get("category"), locus=h.get("locus"),
                                    depends_on=tuple(h.get("depends_on") or ()),
                                    https_redirect=bool(h.get("https_redirect", False)),
                                    http3=bool(h.get("http3", False))))
        elif h.kind == "router":
            isp = h.get("isp")
            routers.append(Router(h.name, isp or "", isps[isp].asn if isp else h.get("asn")))
        elif h.kind == "collector":
            collectors.append(Collector(h.name, h.get("asn") or COLLECTOR_ASN))
        elif h.kind == "prober":
            probers.append(h.name)
        else:
            resolvers.append(Resolver(name=h.name, isp=h.get("isp") or ""))
    return Topology(
        name=p.name,
        description=p.description,
        isps=tuple(isps.values()),
        switches=tuple(
            Switch(n, dpids[n], s.role, s.isp, s.prefix or "", s.region or "")
            for n, s in secs["switches"].entries.items()
        ),
        hosts=tuple(hosts),
        subscribers=tuple(subscribers),
        services=tuple(services),
        resolvers=tuple(resolvers),
        links=tuple(links),
        domestic_prefixes=tuple(p.addressing.domestic),
        foreign_prefixes=tuple(p.addressing.foreign),
        ipv6=p.addressing.ipv6 or "",
        routers=tuple(routers),
        collectors=tuple(collectors),
        probers=tuple(probers),
    )
