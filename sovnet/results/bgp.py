"""BGP visibility as IODA computes it, from the route collectors' live feeds.

IODA (https://ioda.inetintel.cc.gatech.edu/help) counts, for each prefix, the full-feed peers
of the RouteViews and RIPE RIS collectors that see it; a prefix is visible when more than half
of them do, and the `bgp` signal of an AS or a country is the number of /24 blocks its visible
prefixes cover. Here every transit router is a full-feed peer of every collector: the peers
are the (collector, transit router) sessions.

The input is the collectors' RIS Live messages (sovnet.emulation.risfeed); the output, time
series in the shape of IODA's signals API (entityType, entityCode, datasource, from, until,
step, values). Pure apart from reading the feed files.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VISIBLE_SHARE = 0.5  # visible: seen by more than this share of the full-feed peers
IODA_BGP_STEP = 300  # s: IODA's native step for the bgp datasource


@dataclass(frozen=True)
class Update:
    t: float  # Unix time the collector received it
    peer: tuple[str, str]  # (collector, peer address)
    announced: tuple[str, ...]
    withdrawn: tuple[str, ...]


def read_feeds(bgp_dir: Path, collectors: Iterable[str]) -> list[Update]:
    """Every collector's RIS Live messages, in time order (a torn last line is skipped)."""
    out: list[Update] = []
    for c in collectors:
        path = Path(bgp_dir) / f"{c}.ris.jsonl"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            try:
                d = json.loads(line)["data"]
            except (ValueError, KeyError, TypeError):
                continue
            out.append(Update(float(d["timestamp"]), (d["host"], d["peer"]),
                              tuple(p for a in d.get("announcements", ()) for p in a["prefixes"]),
                              tuple(d.get("withdrawals", ()))))
    out.sort(key=lambda u: u.t)
    return out


def slash24s(prefixes: Iterable[str], within: Iterable[str] | None = None) -> int:
    """/24 blocks covered by `prefixes` (overlaps counted once), inside `within` if given."""
    nets = list(ipaddress.collapse_addresses(
        ipaddress.IPv4Network(p) for p in prefixes if ":" not in p))
    if within is not None:
        bounds = [ipaddress.IPv4Network(w) for w in within if ":" not in w]
        clipped = []
        for n in nets:
            for b in bounds:
                if n.subnet_of(b):
                    clipped.append(n)
                elif b.subnet_of(n):
                    clipped.append(b)
        nets = list(ipaddress.collapse_addresses(clipped))
    return sum(2 ** (24 - n.prefixlen) for n in nets if n.prefixlen <= 24)


def visible(ribs: dict[tuple[str, str], set[str]], peers: list[tuple[str, str]]) -> set[str]:
    """The prefixes more than VISIBLE_SHARE of `peers` see."""
    counts: dict[str, int] = {}
    for peer in peers:
        for p in ribs.get(peer, ()):
            counts[p] = counts.get(p, 0) + 1
    return {p for p, n in counts.items() if n > VISIBLE_SHARE * len(peers)}


def timeline(updates: list[Update], peers: list[tuple[str, str]],
             times: list[float]) -> list[set[str]]:
    """The visible prefixes at each of `times` (ascending), replaying the updates."""
    ribs: dict[tuple[str, str], set[str]] = {p: set() for p in peers}
    out, i = [], 0
    for t in times:
        while i < len(updates) and updates[i].t <= t:
            u = updates[i]
            rib = ribs.setdefault(u.peer, set())
            rib.difference_update(u.withdrawn)
            rib.update(u.announced)
            i += 1
        out.append(visible(ribs, peers))
    return out


def last_seen_withdrawal(updates: list[Update], prefixes: set[str], after: float,
                         peers: list[tuple[str, str]]) -> float | None:
    """When the last of `peers` withdrew the last of `prefixes` after `after`: the moment the
    withdrawal had reached every collector through every transit network; None if it never
    did."""
    pending = {(peer, p) for peer in peers for p in prefixes}
    for u in updates:
        if u.t < after:
            continue
        for p in u.withdrawn:
            pending.discard((u.peer, p))
        if not pending:
            return u.t
    return None


def region_blocks(topology) -> dict[str, list[str]]:
    """{region: the /24 blocks geolocated to it}: a block is where most of its subscribers are,
    as IODA geolocates a /24 to the region most of its addresses map to."""
    votes: dict[str, dict[str, int]] = {}
    for s in topology.subscribers:
        if s.region:
            block = str(ipaddress.IPv4Network(f"{topology.host(s.name).ip}/24", strict=False))
            votes.setdefault(block, {}).setdefault(s.region, 0)
            votes[block][s.region] += 1
    out: dict[str, list[str]] = {}
    for block, v in sorted(votes.items()):
        out.setdefault(max(sorted(v), key=v.__getitem__), []).append(block)
    return dict(sorted(out.items()))


def covered_blocks(prefixes: Iterable[str], blocks: list[str]) -> int:
    """How many of the /24 `blocks` some prefix covers."""
    nets = [ipaddress.IPv4Network(p) for p in prefixes if ":" not in p]
    return sum(1 for b in blocks
               if any(ipaddress.IPv4Network(b).subnet_of(n) for n in nets))


def sample_times(start: float, until: float, step: int) -> list[float]:
    """start, start + step, ... up to until: where a series is sampled."""
    times = []
    t = start
    while t <= until:
        times.append(t)
        t += step
    return times


def series(entity_type: str, code: str, name: str, datasource: str, start: int, step: int,
           values: list[Any]) -> dict[str, Any]:
    """One signal as IODA's API gives it (/v2/signals/raw/{entityType}/{entityCode})."""
    return {"entityType": entity_type, "entityCode": code, "entityName": name,
            "datasource": datasource, "subtype": "", "from": start,
            "until": start + step * len(values), "step": step, "nativeStep": step,
            "values": values}


def bgp_signals(topology, updates: list[Update], start: float, until: float, step: int,
                to_wall=lambda t: t) -> list[dict[str, Any]]:
    """The bgp signal per ISP (entityType asn: the /24s of its space visible) and for the
    country (every ISP's), sampled at start, start + step, ... (scenario seconds as Unix time;
    `to_wall` maps them to the feed's wall-clock time)."""
    peers = peers_of(topology)
    times = sample_times(start, until, step)
    seen = timeline(updates, peers, [to_wall(x) for x in times])
    speaking = {r.isp for r in topology.border_routers}
    out = []
    everything: list[str] = []
    for isp in topology.isps:
        if isp.name not in speaking:
            continue
        space = list(isp.space)
        everything += space
        out.append(series("asn", str(isp.asn), isp.name, "bgp", int(start), step,
                          [slash24s(v, space) for v in seen]))
    out.append(series("country", topology.name, topology.name, "bgp", int(start), step,
                      [slash24s(v, everything) for v in seen]))
    for region, blocks in region_blocks(topology).items():
        out.append(series("region", region, region, "bgp", int(start), step,
                          [covered_blocks(v, blocks) for v in seen]))
    return out


def peers_of(topology) -> list[tuple[str, str]]:
    """The full-feed peers: every (collector, transit router address) session."""
    return [(c.name, topology.host(r.name).ip)
            for c in topology.collectors for r in topology.transit_routers]


def route_effects(topology, updates: list[Update], commits: list[tuple[int, float]],
                  end: float) -> list[dict[str, Any]]:
    """Per step that changed what is visible abroad (commits: (step index, commit wall time),
    in order): the prefixes it took off the map and put on it, and for a withdrawal the
    seconds from the store commit until the last collector had it from the last full-feed
    peer."""
    if not commits:
        return []
    peers = peers_of(topology)
    out = []
    bounds = [t for _, t in commits[1:]] + [end]
    for (index, t), t_next in zip(commits, bounds, strict=True):
        before, after = timeline(updates, peers, [t, t_next])
        gone, back = sorted(before - after), sorted(after - before)
        if not gone and not back:
            continue
        last = last_seen_withdrawal(updates, set(gone), t, peers) if gone else None
        out.append({"type": "route_effect", "step": index, "withdrawn": gone,
                    "announced": back, "peers": len(peers),
                    "withdrawal_seen_s": None if last is None else round(last - t, 4)})
    return out
