"""The outside prober's view (IODA's `ping-slash24`): what it probes, and the signal its
rounds make. Pure apart from reading the rounds file."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

from sovnet.results.bgp import region_blocks, sample_times, series

PROBED_KINDS = ("subscriber", "service", "resolver")  # not the routers: their link addresses


def targets(topology) -> dict[str, list[str]]:
    """{domestic /24 block: the addresses in it the prober is given}: every domestic host's."""
    out: dict[str, list[str]] = {}
    for h in topology.hosts:
        if h.kind in PROBED_KINDS and not topology.is_foreign(h.ip):
            block = str(ipaddress.IPv4Network(f"{h.ip}/24", strict=False))
            out.setdefault(block, []).append(h.ip)
    return dict(sorted(out.items()))


def read_rounds(path: Path) -> list[dict[str, Any]]:
    """The prober's rounds, in order (a torn last line is skipped)."""
    out: list[dict[str, Any]] = []
    if not Path(path).exists():
        return out
    for line in Path(path).read_text().splitlines():
        try:
            r = json.loads(line)
            out.append({"t_end": float(r["t_end"]), "blocks": dict(r["blocks"])})
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(out, key=lambda r: r["t_end"])


def _inside(block: str, space: list[str]) -> bool:
    net = ipaddress.IPv4Network(block)
    return any(net.subnet_of(ipaddress.IPv4Network(s)) for s in space)


def ping_signals(topology, rounds: list[dict[str, Any]], start: float, until: float,
                 step: int, to_wall=lambda t: t) -> list[dict[str, Any]]:
    """Up /24 blocks per ISP (entityType asn: the blocks of its space) and for the country, at
    start, start + step, ... (the latest round finished by then; None before the first)."""
    times = sample_times(start, until, step)
    latest: list[dict[str, Any] | None] = []
    i, current = 0, None
    for t in times:
        while i < len(rounds) and rounds[i]["t_end"] <= to_wall(t):
            current = rounds[i]
            i += 1
        latest.append(current)

    def up(space: list[str] | None) -> list[int | None]:
        return [None if r is None else sum(
            1 for b, s in r["blocks"].items()
            if s["state"] == "up" and (space is None or _inside(b, space))) for r in latest]

    out = [series("asn", str(isp.asn), isp.name, "ping-slash24", int(start), step,
                  up(list(isp.space))) for isp in topology.isps]
    out.append(series("country", topology.name, topology.name, "ping-slash24", int(start),
                      step, up(None)))
    for region, blocks in region_blocks(topology).items():
        out.append(series("region", region, region, "ping-slash24", int(start), step,
                          [None if r is None else sum(
                              1 for b in blocks if r["blocks"].get(b, {}).get("state") == "up")
                           for r in latest]))
    return out


def read_counts(path: Path) -> list[tuple[int, int]]:
    """A resolver's (second, queries received then), in order."""
    out = []
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            try:
                r = json.loads(line)
                out.append((int(r["t"]), int(r["n"])))
            except (ValueError, KeyError, TypeError):
                continue
    return sorted(out)


def dns_signals(names: list[str], counts: dict[str, list[tuple[int, int]]], start: float,
                until: float, step: int, to_wall=lambda t: t) -> list[dict[str, Any]]:
    """Queries each resolver received in each step [t, t + step) (scenario time), in the
    shape of IODA's series (entityType resolver, datasource dns-queries: sovnet's own)."""
    out = []
    for name in names:
        values = [sum(n for s, n in counts.get(name, ()) if to_wall(t) <= s < to_wall(t + step))
                  for t in sample_times(start, until, step)]
        out.append(series("resolver", name, name, "dns-queries", int(start), step, values))
    return out


def read_traffic(path: Path) -> list[tuple[float, dict[str, int]]]:
    """The border's cumulative byte counters, (time, {"ISP/in": n, ...}), in order."""
    out = []
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            try:
                r = json.loads(line)
                out.append((float(r["t"]), {k: int(v) for k, v in r["bytes"].items()}))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
    return sorted(out, key=lambda x: x[0])


def traffic_signals(topology, samples: list[tuple[float, dict[str, int]]], start: float,
                    until: float, step: int, to_wall=lambda t: t) -> list[dict[str, Any]]:
    """Bytes crossing the border per step, both ways, per ISP (entityType asn) and for the
    country (datasource traffic, as Radar and Kentik count it)."""
    def at(t: float) -> dict[str, int] | None:
        last = None
        for ts, c in samples:
            if ts > t:
                break
            last = c
        return last

    times = sample_times(start, until, step)
    per_isp: dict[str, list[int | None]] = {i.name: [] for i in topology.isps}
    for t in times:
        lo, hi = at(to_wall(t)), at(to_wall(t + step))
        for isp in topology.isps:
            keys = (f"{isp.name}/in", f"{isp.name}/out")
            if lo is None or hi is None or hi is lo:
                per_isp[isp.name].append(None)
            else:
                per_isp[isp.name].append(sum(hi.get(k, 0) - lo.get(k, 0) for k in keys))
    out = [series("asn", str(i.asn), i.name, "traffic", int(start), step, per_isp[i.name])
           for i in topology.isps]
    country: list[int | None] = []
    for k in range(len(times)):
        column = [v[k] for v in per_isp.values()]
        country.append(None if None in column else sum(x for x in column if x is not None))
    out.append(series("country", topology.name, topology.name, "traffic", int(start), step,
                      country))
    return out
