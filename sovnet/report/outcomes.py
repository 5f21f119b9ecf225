"""What a subscriber saw, per ISP and per region: each web measurement reduced to how it ended
(reached, dropped, refused, reset, DNS, block page, TLS), so that staged and different cuts show
side by side: which ISP cut first, which one reset and which one dropped. Pure.

The classes come from OONI's failure strings (http_experiment_failure, dns_experiment_failure)
and verdict, in that order of precedence: a DNS verdict is DNS whatever the HTTP step then did.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sovnet.report.analysis import Bins, grid, usable_web
from sovnet.report.dataset import Run, Web

OUTCOMES = ("reached", "tls_name", "dropped", "refused", "reset", "dns", "blockpage", "tls",
            "other", "undetermined")
OUTCOME_LABELS = {
    "reached": "reached the service",
    "tls_name": "certificate for another name (the server was reached: a test SNI)",
    "dropped": "timed out (packets dropped)",
    "refused": "refused (connection attempt reset)",
    "reset": "reset after connecting",
    "dns": "DNS failed or lied",
    "blockpage": "another page (block page)",
    "tls": "TLS handshake failed",
    "other": "other failure",
    "undetermined": "undetermined",
}


def outcome(w: Web) -> str:
    """One of OUTCOMES."""
    if w.accessible is True:
        return "reached"
    f = w.failure or ""
    if w.blocking == "dns" or f.startswith("dns_"):
        return "dns"
    if w.blocking == "http-diff":
        return "blockpage"
    if f == "connection_refused":
        return "refused"
    if f == "connection_reset":
        return "reset"
    if "timeout" in f:
        return "dropped"
    if f == "ssl_invalid_hostname":  # what OONI's test SNI gets from the real server
        return "tls_name"
    if f.startswith("ssl_") or "tls" in f:
        return "tls"
    if w.accessible is False:
        return "other"
    return "undetermined"


def outcome_mix(items: list[Web], bins: Bins) -> dict[str, np.ndarray]:
    """outcome -> its share of each bin's measurements (NaN where the bin has none), in
    OUTCOMES order, only the outcomes that occur."""
    counts = grid(items, bins, outcome, len)
    totals = grid(items, bins, lambda w: 0, len).get(0, np.full(bins.n, math.nan))
    return {o: np.nan_to_num(counts[o]) / totals for o in OUTCOMES if o in counts}


def by(run: Run, key: Callable[[Web], str | None]) -> dict[str, list[Web]]:
    out: dict[str, list[Web]] = {}
    for w in usable_web(run):
        k = key(w)
        if k:
            out.setdefault(k, []).append(w)
    return out


def isp_of(run: Run) -> Callable[[Web], str | None]:
    subs = {s.name: s for s in run.topology.subscribers}
    return lambda w: subs[w.subscriber].isp if w.subscriber in subs else None


def region_of(run: Run) -> Callable[[Web], str | None]:
    subs = {s.name: s for s in run.topology.subscribers}
    return lambda w: subs[w.subscriber].region or None if w.subscriber in subs else None


def per_isp(run: Run, bins: Bins, locus: str | None = None) -> dict[str, dict[str, np.ndarray]]:
    """ISP -> its outcome mix per bin, ISPs in the topology's order; `locus` keeps only the
    measurements of domestic (or foreign) services."""
    groups = by(run, isp_of(run))
    order = [i.name for i in run.topology.isps if i.name in groups]
    return {isp: outcome_mix([w for w in groups[isp] if locus in (None, w.locus)], bins)
            for isp in order}


def per_region(run: Run, bins: Bins) -> dict[str, dict[str, np.ndarray]]:
    groups = by(run, region_of(run))
    return {r: outcome_mix(groups[r], bins) for r in sorted(groups)}


def first_cut(mix: dict[str, np.ndarray], bins: Bins, below: float = 0.5) -> float | None:
    """Scenario seconds of the first bin where fewer than `below` of the measurements that
    OONI could decide reached their service (None: never): when an ISP's cut showed."""
    if not mix:
        return None
    told = sum(v for o, v in mix.items() if o != "undetermined")  # OONI could decide these
    reached = mix.get("reached", np.zeros(bins.n)) + mix.get("tls_name", np.zeros(bins.n))
    for t, r, known in zip(bins.times, reached, told, strict=True):
        if not math.isnan(known) and known > 0 and r / known < below:
            return t
    return None
