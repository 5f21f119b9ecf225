"""Semantic checks of a topology file: names, references, attachment rules, the switch graph.

Each check reports every problem it finds and skips only what broken entries make unknowable.
Allocation-time checks (ports, dpids, addresses) live in build.py.
"""

from __future__ import annotations

import ipaddress
import re

from sovnet.config.report import Reporter, got, one_of
from sovnet.config.resolve import HOST_SECTIONS, Parsed
from sovnet.config.values import split_endpoint
from sovnet.model.topology import PRIVATE_ASN

NAME_RE = re.compile(r"^[a-z][a-z0-9]*$")
MAX_NAME = 10  # Mininet names interfaces NAME-eth0; Linux allows 15 characters (IFNAMSIZ 16)
_DOMESTIC_ONLY = ("subscriber", "resolver")


def check(parsed: Parsed, r: Reporter) -> None:
    _names(parsed, r)
    _references(parsed, r)
    _links(parsed, r)
    _attachments(parsed, r)
    _connected(parsed, r)
    _resolvers(parsed, r)
    _routing(parsed, r)
    _addressing(parsed, r)
    _domains(parsed, r)


def name_problem(name: str, limit: int | None = MAX_NAME, note: str = "") -> str | None:
    if not NAME_RE.match(name):
        return f"bad name {name!r} (expected lower-case letters and digits, starting with a letter)"
    if limit is not None and len(name) > limit:
        return (
            f"name {name!r}{note} is too long: {len(name)} characters (expected at most {limit}: "
            "Mininet names interfaces NAME-eth0 and Linux allows 15 characters)"
        )
    return None


def _names(p: Parsed, r: Reporter) -> None:
    for name in sorted(p.sections["isps"].names()):
        problem = name_problem(name, None)
        if problem:
            r.key(("isps", name), problem)
    used: dict[str, str] = {}
    for key in ("switches", *HOST_SECTIONS):
        sec = p.sections[key]
        expanded = {h.path[-1]: [] for h in p.hosts if h.path[0] == key}
        for h in p.hosts:
            if h.path[0] == key:
                expanded[h.path[-1]].append(h.name)
        for name in list(sec.entries) + sorted(sec.broken):
            problem = name_problem(name)
            names = expanded.get(name, [name])
            if problem is None and names != [name]:
                problem = name_problem(names[-1], note=f" (from count: {len(names)})")
            if problem:
                r.key((key, name), problem)
            for n in names:
                if n in used and used[n] != f"{key}.{name}":
                    r.key((key, name), f"name {n!r} is already used by {used[n]} "
                                       "(expected a unique name)")
                used.setdefault(n, f"{key}.{name}")


def _references(p: Parsed, r: Reporter) -> None:
    isps = p.sections["isps"]
    switches = p.sections["switches"]
    services = p.sections["services"]
    known_isps = one_of(sorted(isps.names()), "ISPs")
    for name, sw in p.sections["switches"].entries.items():
        if sw.isp is not None and isps.ok and sw.isp not in isps.names():
            r.value(("switches", name, "isp"), f"unknown ISP {got(sw.isp)} ({known_isps})")
    for h in p.hosts + p.unexpanded:
        isp = h.get("isp")
        if isp is not None and isps.ok and isp not in isps.names():
            r.value(h.at("isp"), f"unknown ISP {got(isp)} ({known_isps})")
        sw, _ = split_endpoint(h.get("switch"))
        if switches.ok and sw not in switches.names():
            known = one_of(sorted(switches.names()), "switches")
            r.value(h.at("switch"), f"unknown switch {sw!r} ({known})")
        for i, dep in enumerate(h.get("depends_on") or ()):
            at = h.at("depends_on") + (i,)
            if dep == h.name:
                r.value(at, f"service {dep!r} cannot depend on itself (expected another service)")
            elif services.ok and dep not in services.names():
                known = one_of(sorted(services.names()), "services")
                r.value(at, f"unknown service {got(dep)} ({known})")


def _links(p: Parsed, r: Reporter) -> None:
    switches = p.sections["switches"]
    hosts = {h.name: h.kind for h in p.hosts}
    for key, kind in (("subscribers", "subscriber"), ("services", "service"),
                      ("resolvers", "resolver"), ("routers", "router"),
                      ("collectors", "collector"), ("probers", "prober")):
        hosts.update((n, kind) for n in p.sections[key].names() if n not in hosts)
    known = one_of(sorted(switches.names()), "switches")
    for i, link in p.links:
        ends = []
        for side in ("a", "b"):
            name, _ = split_endpoint(getattr(link, side))
            ends.append(name)
            if not switches.ok or name in switches.names():
                continue
            if name in hosts:
                r.value(("links", i, side),
                        f"node {name!r} is a {hosts[name]}, not a switch "
                        "(expected a switch; hosts attach with their switch: key)")
            else:
                r.value(("links", i, side), f"unknown node {name!r} ({known})")
        if ends[0] == ends[1]:
            r.value(("links", i), f"link joins switch {ends[0]!r} to itself "
                                  "(expected two different switches)")
            continue
        roles = [switches.entries[n].role if n in switches.entries else None for n in ends]
        for x, y in ((0, 1), (1, 0)):
            (n1, r1), (n2, r2) = (ends[x], roles[x]), (ends[y], roles[y])
            if r1 == "internet" and r2 not in (None, "internet", "border"):
                r.value(("links", i), f"link joins internet switch {n1!r} to {r2} switch {n2!r} "
                                      "without a border switch (expected internet switches "
                                      "linked only to border or internet switches)")
                break


def _attachments(p: Parsed, r: Reporter) -> None:
    switches = p.sections["switches"].entries
    for h in p.hosts + p.unexpanded:
        name, _ = split_endpoint(h.get("switch"))
        sw = switches.get(name)
        if sw is None:
            continue
        abroad = _abroad(h)
        if abroad and sw.role != "internet":
            hint = ", or isp: NAME for an ISP's resolver" if h.kind == "resolver" else ""
            r.value(h.at("switch"), f"{abroad} on {sw.role} switch {name!r} "
                                    f"(expected a switch of role internet{hint})")
        elif h.kind == "router" and not abroad and sw.role != "border":
            r.value(h.at("switch"), f"border router on {sw.role} switch {name!r} (expected a "
                                    "switch of role border, where the ISP meets the world)")
        elif not abroad and sw.role == "internet":
            what = "domestic service" if h.kind == "service" else h.kind
            r.value(h.at("switch"), f"{what} on internet switch {name!r} "
                                    "(expected a switch inside the country)")
        isps = p.sections["isps"].entries
        if (h.kind in _DOMESTIC_ONLY and sw.isp in isps and h.get("isp") in isps
                and sw.isp != h.get("isp")):
            r.value(h.at("switch"), f"switch {name!r} belongs to ISP {sw.isp!r} (expected a "
                                    f"switch of ISP {h.get('isp')!r} or one without an ISP)")


def _abroad(h) -> str:
    """What a host abroad is ("foreign service", "transit router", "collector"), or ""."""
    if h.kind == "service" and h.get("locus") == "foreign":
        return "foreign service"
    if h.kind == "router" and h.get("isp") is None:
        return "transit router"
    if h.kind == "resolver" and h.get("isp") is None:
        return "public resolver"
    return h.kind if h.kind in ("collector", "prober") else ""


def _routing(p: Parsed, r: Reporter) -> None:
    """AS numbers and announcements: eBGP needs each network's own AS; an ISP announces only
    what is its own."""
    isps = p.sections["isps"].entries
    owner: dict[int, str] = {}
    for i, (name, isp) in enumerate(isps.items()):
        asn = isp.asn if isp.asn is not None else PRIVATE_ASN + i
        if asn in owner:
            r.value(("isps", name, "asn"), f"AS {asn} is already used by {owner[asn]} "
                                           "(expected each ISP its own AS number)")
        owner.setdefault(asn, f"isps.{name}")
        for j, text in enumerate(isp.announce or ()):
            net = ipaddress.IPv4Network(text)
            other = next((n for n, i in isps.items() if n != name
                          and net.overlaps(ipaddress.IPv4Network(i.prefix))), None)
            domestic = [ipaddress.IPv4Network(x) for x in (p.addressing.domestic
                                                           if p.addressing else ())]
            if other is not None:
                r.value(("isps", name, "announce", j),
                        f"prefix {net} overlaps the prefix {isps[other].prefix} of ISP "
                        f"{other!r} (expected a block of the ISP's own prefix, or of the "
                        "domestic space it hosts)")
            elif domestic and not _inside(net, domestic):
                r.value(("isps", name, "announce", j),
                        f"prefix {net} is outside the domestic space (expected inside "
                        f"{', '.join(map(str, domestic))})")
    transit = [h for h in p.hosts if h.kind == "router" and h.get("isp") is None]
    for h in p.hosts:
        if h.kind == "router" and h.get("isp") is not None and h.get("asn") is not None:
            r.value(h.at("asn"), f"a border router speaks for its ISP's AS, got asn: "
                                 f"{h.get('asn')} (expected no asn, or asn: under isps."
                                 f"{h.get('isp')})")
        elif h.kind == "router" and h.get("isp") is None:
            if h.get("asn") is None:
                r.missing(h.path + ("asn",), "missing required key 'asn' (a transit router "
                                             "needs its own AS number, or isp: NAME for an "
                                             "ISP's border router)")
            elif h.get("asn") in owner and owner[h.get("asn")].startswith("isps."):
                r.value(h.at("asn"), f"AS {h.get('asn')} is already used by "
                                     f"{owner[h.get('asn')]} (expected a transit network's "
                                     "own AS number)")
        if (h.kind == "collector" or (h.kind == "router" and h.get("isp") is not None)) \
                and not transit and p.hosts_complete.get("routers", False):
            r.entry(h.path, f"{h.kind} {h.name!r} has no transit router to peer with (expected "
                            "a router without isp: on an internet switch)")


def _connected(p: Parsed, r: Reporter) -> None:
    switches = p.sections["switches"]
    if not (switches.complete() and p.links_complete) or len(switches.entries) < 2:
        return
    parent = {n: n for n in switches.entries}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for _, link in p.links:
        a, b = (split_endpoint(link.a)[0], split_endpoint(link.b)[0])
        if a not in parent or b not in parent:
            return  # an unknown endpoint is reported already; the graph is unknowable
        parent[root(a)] = root(b)
    order = list(switches.entries)
    main = root(order[0])
    groups: dict[str, list[str]] = {}
    for n in order:
        if root(n) != main:
            groups.setdefault(root(n), []).append(n)
    for members in groups.values():
        cut = ", ".join(members)
        r.key(("switches", members[0]), f"not connected to switch {order[0]!r} (expected every "
                                        f"switch reachable over links; cut off: {cut})")


def _resolvers(p: Parsed, r: Reporter) -> None:
    if not p.hosts_complete.get("resolvers", False):
        return
    served = {h.get("isp") for h in p.hosts if h.kind == "resolver"}
    for name, isp in p.sections["isps"].entries.items():
        if isp.kind != "transit" and name not in served:
            r.key(("isps", name), f"no resolver for ISP {name!r} "
                                  f"(expected a resolver with isp: {name})")


def _inside(net: ipaddress.IPv4Network, space: list[ipaddress.IPv4Network]) -> bool:
    return any(net.subnet_of(s) for s in space)


def _addressing(p: Parsed, r: Reporter) -> None:
    a = p.addressing
    if a is None:
        return
    dom = [ipaddress.IPv4Network(x) for x in a.domestic]
    fgn = [ipaddress.IPv4Network(x) for x in a.foreign]
    for j, f in enumerate(fgn):
        for d in dom:
            if f.overlaps(d):
                r.value(("addressing", "foreign", j), f"prefix {f} overlaps domestic prefix {d} "
                                                      "(expected domestic and foreign space apart)")
    pool = ipaddress.IPv4Network(a.services)
    if not _inside(pool, dom):
        r.value(("addressing", "services"), f"prefix {pool} is outside the domestic space "
                                            f"(expected inside {', '.join(a.domestic)})")
    fpool = ipaddress.IPv4Network(a.foreign_services)
    if not _inside(fpool, fgn):
        r.value(("addressing", "foreign_services"), f"prefix {fpool} is outside the foreign space "
                                                    f"(expected inside {', '.join(a.foreign)})")
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for name, isp in p.sections["isps"].entries.items():
        net = ipaddress.IPv4Network(isp.prefix)
        at = ("isps", name, "prefix")
        if not _inside(net, dom):
            r.value(at, f"prefix {net} is outside the domestic space "
                        f"(expected inside {', '.join(a.domestic)})")
        if net.overlaps(pool):
            r.value(at, f"prefix {net} overlaps addressing.services {pool} "
                        "(expected ISP prefixes apart from the services pool)")
        _apart(r, at, name, net, seen, "ISP")
    _switch_prefixes(p, r)


def _apart(r: Reporter, at, name: str, net: ipaddress.IPv4Network,
           seen: list[tuple[str, ipaddress.IPv4Network]], owner: str) -> None:
    """Report `net` overlapping a prefix seen before; then count it as seen."""
    for other, onet in seen:
        if net.overlaps(onet):
            r.value(at, f"prefix {net} overlaps prefix {onet} of {owner} {other!r} "
                        f"(expected {owner} prefixes apart)")
    seen.append((name, net))


def _switch_prefixes(p: Parsed, r: Reporter) -> None:
    isps = p.sections["isps"].entries
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for name, sw in p.sections["switches"].entries.items():
        if sw.prefix is None:
            continue
        net = ipaddress.IPv4Network(sw.prefix)
        at = ("switches", name, "prefix")
        isp = isps.get(sw.isp) if sw.isp else None
        if sw.isp is None:
            r.value(at, f"switch {name!r} has a prefix but no isp "
                        "(expected isp: NAME, whose prefix holds the switch's)")
        elif isp is not None and not net.subnet_of(ipaddress.IPv4Network(isp.prefix)):
            r.value(at, f"prefix {net} is outside the prefix {isp.prefix} of ISP {sw.isp!r} "
                        "(expected a block of the ISP's prefix)")
        _apart(r, at, name, net, seen, "switch")


def _domains(p: Parsed, r: Reporter) -> None:
    served: dict[str, str] = {}
    for h in p.hosts:
        if h.kind != "service":
            continue
        for i, dom in enumerate(h.get("domains") or ()):
            if dom in served:
                r.value(h.at("domains") + (i,), f"domain {dom!r} is already served by "
                                                f"{served[dom]} (expected each domain once)")
            else:
                served[dom] = f"services.{h.name}"
