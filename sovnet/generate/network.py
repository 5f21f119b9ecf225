"""A national network from Params, as the sections of a topology file (plain dicts and lists).

Layout: each ISP has a core switch (with its resolver), an aggregation level per region and
access switches below it; each access switch owns an aligned block of its ISP's prefix, so
every other switch reaches its subscribers by one prefix. ISP cores and the data centres meet
at the national exchanges; the international gateways join the exchanges to the internet
switches, where the foreign services are.

Deterministic: the same Params (seed included) give the same file. Pure: standard library.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
from dataclasses import dataclass
from typing import Any

from sovnet.generate.params import (
    DOMESTIC_CATEGORIES,
    FIXED_MIX,
    FOREIGN_CATEGORIES,
    MOBILE_MIX,
    GenerateError,
    Params,
)

FIXED_NAMES = ("telenat", "fibrex", "linkra", "homenet", "cablex", "wirely")
MOBILE_NAMES = ("mobiq", "celnova", "airtal", "voxel", "ringo", "zentel")
CLASS_LETTER = {"fixed_home": "h", "enterprise": "e", "fixed_macbound": "b", "privileged": "v",
                "mobile_prepaid": "p", "mobile_postpaid": "q"}
SERVICE_SPACE = "10.250.0.0/16"
FIRST_BLOCK = 256  # an ISP's first /24 is left to its resolver and other infrastructure


@dataclass
class Entry:
    name: str
    fields: dict[str, Any]
    comment: str = ""  # a line written above the entry


@dataclass
class Network:
    params: Params
    isps: list[Entry]
    switches: list[Entry]
    links: list[tuple[str, str]]
    subscribers: list[Entry]
    services: list[Entry]
    resolvers: list[Entry]

    @property
    def counts(self) -> dict[str, int]:
        subs = sum(e.fields.get("count", 1) for e in self.subscribers)
        return {"isps": len(self.isps), "switches": len(self.switches),
                "subscribers": subs, "services": len(self.services),
                "resolvers": len(self.resolvers)}


def generate(p: Params) -> Network:
    p.check()
    rng = random.Random(p.seed)
    net = Network(p, [], [], [], [], [], [])
    kinds = [("fixed", i) for i in range(p.fixed)] + [("mobile", i) for i in range(p.mobile)]
    block = _block_size(p.subscribers)
    per_isp = p.regions * p.aggregation * p.access
    if -(-FIRST_BLOCK // block) * block + per_isp * block > 65536:
        raise GenerateError(f"{per_isp} access switches per ISP, of {p.subscribers} "
                            "subscribers each, do not fit in an ISP's /16 (expected fewer "
                            "access switches or subscribers)")
    for k, (kind, i) in enumerate(kinds, 1):
        _isp(net, rng, kind, i, k, block)
    _shared(net)
    _services(net, rng)
    return net


def _block_size(subscribers: int) -> int:
    """The smallest aligned block holding the subscribers (a pool leaves out network + 1 and
    the broadcast address)."""
    size = 4
    while size - 3 < max(subscribers, 1):
        size *= 2
    return size


REGIONS = ("north", "south", "east", "west", "centre", "coast", "highlands", "islands")


def region_name(r: int) -> str:
    """Region r (1-based): every ISP's region r is the same part of the country."""
    return REGIONS[r - 1] if r <= len(REGIONS) else f"region{r}"


def _isp(net: Network, rng: random.Random, kind: str, i: int, k: int, block: int) -> None:
    p = net.params
    names = FIXED_NAMES if kind == "fixed" else MOBILE_NAMES
    name = names[i] if i < len(names) else f"{kind}{i + 1}"
    code = f"{kind[0]}{i + 1}"
    prefix = ipaddress.IPv4Network(f"10.{k}.0.0/16")
    net.isps.append(Entry(name, {"kind": kind, "prefix": str(prefix)}))
    core = f"{code}c"
    net.switches.append(Entry(core, {"role": "core", "isp": name}, f"{name} ({kind})"))
    net.resolvers.append(Entry(f"dns{k}", {"isp": name, "switch": core}))
    mix = FIXED_MIX if kind == "fixed" else MOBILE_MIX
    base = int(prefix.network_address) + -(-FIRST_BLOCK // block) * block  # aligned
    n = 0
    for r in range(1, p.regions + 1):
        region = region_name(r)
        for g in range(1, p.aggregation + 1):
            agg = f"{code}r{r}g{g}"
            net.switches.append(Entry(agg, {"role": "aggregation", "isp": name,
                                            "region": region}))
            net.links.append((agg, core))
            for _ in range(p.access):
                n += 1
                acc = f"{code}a{n}"
                own = ipaddress.IPv4Network((base + (n - 1) * block, 32 - block.bit_length() + 1))
                net.switches.append(Entry(acc, {"role": "access", "isp": name,
                                                "prefix": str(own), "region": region}))
                net.links.append((acc, agg))
                _subscribers(net, rng, acc, name, mix)


def _subscribers(net: Network, rng: random.Random, acc: str, isp: str,
                 mix: tuple[tuple[str, float], ...]) -> None:
    p = net.params
    counts = {cls: int(p.subscribers * share) for cls, share in mix}
    counts[mix[0][0]] += p.subscribers - sum(counts.values())
    waiting = sum(rng.random() < p.unregistered for _ in range(p.subscribers))
    first = mix[0][0]
    take = min(waiting, counts[first])
    counts[first] -= take
    for cls, n in counts.items():
        if n:
            net.subscribers.append(Entry(f"{acc}{CLASS_LETTER[cls]}",
                                         {"switch": acc, "isp": isp, "class": cls, "count": n}))
    if take:
        net.subscribers.append(Entry(f"{acc}u", {"switch": acc, "isp": isp, "class": first,
                                                 "count": take, "registered": False}))


def _shared(net: Network) -> None:
    p = net.params
    ixps = [f"ixp{i}" for i in range(1, p.ixps + 1)]
    dcs = [f"dc{i}" for i in range(1, p.datacentres + 1)]
    gws = [f"gw{i}" for i in range(1, p.borders + 1)]
    inet = [f"inet{i}" for i in range(1, p.internet + 1)]
    for n, x in enumerate(ixps):
        net.switches.append(Entry(x, {"role": "ixp"}, "shared: exchanges, data centres, "
                                                      "gateways, abroad" if n == 0 else ""))
    net.switches += [Entry(d, {"role": "aggregation"}) for d in dcs]
    net.switches += [Entry(g, {"role": "border"}) for g in gws]
    net.switches += [Entry(x, {"role": "internet"}) for x in inet]
    cores = [e.name for e in net.switches if e.fields["role"] == "core"]
    net.links += [(c, ixps[n % len(ixps)]) for n, c in enumerate(cores)]
    net.links += [(a, b) for a, b in itertools.pairwise(ixps)]
    net.links += [(d, ixps[n % len(ixps)]) for n, d in enumerate(dcs)]
    for n, g in enumerate(gws):
        net.links += [(ixps[n % len(ixps)], g), (g, inet[n % len(inet)])]
    net.links += [(a, b) for a, b in itertools.pairwise(inet)]


def _services(net: Network, rng: random.Random) -> None:
    p = net.params
    dcs = [e.name for e in net.switches if e.name.startswith("dc")]
    inet = [e.name for e in net.switches if e.fields["role"] == "internet"]
    cdns: list[str] = []
    seen: dict[str, int] = {}
    for locus, count, cats, places in (("foreign", p.foreign, FOREIGN_CATEGORIES, inet),
                                       ("domestic", p.domestic, DOMESTIC_CATEGORIES, dcs)):
        tld = "example" if locus == "foreign" else "sov"
        for n in range(count):
            cat = cats[n % len(cats)]
            seen[locus + cat] = seen.get(locus + cat, 0) + 1
            name = f"{locus[0]}{cat.lower()}{seen[locus + cat]}"
            fields: dict[str, Any] = {"domains": [f"{name}.{tld}", f"www.{name}.{tld}"],
                                      "category": cat, "locus": locus,
                                      "switch": places[n * len(places) // count]}
            if cat == "CDN":
                cdns.append(name)
            elif cdns and rng.random() < p.depend:
                fields["depends_on"] = [cdns[rng.randrange(len(cdns))]]
            if locus == "foreign" and rng.random() < p.http3:
                fields["http3"] = True
            net.services.append(Entry(name, fields))
