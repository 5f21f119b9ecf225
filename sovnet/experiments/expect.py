"""Checking a scenario's `expect:` block against its measurements. Pure.

Each expectation selects measurements (who measured, what, and when: start and end inside
its window) and compares one figure with a
threshold: the share of web measurements that were accessible, usable or blocked in a given
way, the median throughput or round-trip time, or the share of a stream's packets answered.
`last_packet_ms` and `first_packet_ms` are about the timeline steps in the window instead: the
worst, over the (vantage point, service) pairs a step cut or let in, of the time from the store
commit to the last (first) reply of a stream probe (sovnet.experiments.stream_effect). No
measurement selected is a failure: an expectation that nothing tested has not held.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from sovnet.model.policy import in_scope
from sovnet.model.scenario import MEASURED_BY, Expectation, ServiceFilter
from sovnet.model.topology import Topology
from sovnet.results import (
    ExpectationResult,
    Http3Keys,
    Measurement,
    StreamEffect,
    StreamKeys,
    ThroughputKeys,
    WebKeys,
    median_value,
)

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}
_PACKET = {"last_packet_ms": False, "first_packet_ms": True}  # metric -> allowed after the step


def selected(topology: Topology, measurements: Iterable[Measurement], e: Expectation,
             services: set[str]) -> list[Measurement]:
    """The measurements an expectation is about: those that ran entirely inside its window (a
    blocked connection retried after a policy was lifted would otherwise count against it)."""
    start, end = e.during
    return [m for m in measurements
            if m.kind == MEASURED_BY[e.metric] and m.ok and m.service in services
            and any(in_scope(topology, s, m.subscriber) for s in e.scopes)
            and start <= m.t_scenario and m.t_end <= end]


def observe(e: Expectation, ms: list[Measurement]) -> tuple[float | None, int, str]:
    """(figure, n, note): n is how many measurements the figure is over. For the medians
    (throughput, round-trip time) that is the samples only (sovnet.results.median_value): a
    failed transfer, or a latency probe with no reply, has no figure to take a median of; the
    note says how many there were."""
    if e.metric in ("throughput_kbps", "throughput_up_kbps", "rtt_ms"):
        value, n = median_value(m.keys.up_kbps if e.metric == "throughput_up_kbps"
                                and isinstance(m.keys, ThroughputKeys) else m.value for m in ms)
        left = len(ms) - n
        what = "probe without a reply" if e.metric == "rtt_ms" else "failed transfer"
        plural = "" if left == 1 else "s"
        return value, n, (f"{left} {what}{plural} not counted" if left and n
                          else f"{left} {what}{plural}, no sample" if left else "")
    if not ms:
        return None, 0, ""
    if e.metric == "delivered":
        streams = [m.keys for m in ms if isinstance(m.keys, StreamKeys)]
        sent = sum(k.sent for k in streams)
        return (sum(k.received for k in streams) / sent if sent else None), len(ms), ""
    if e.metric in ("h3_accessible", "h3_failure"):
        h3 = [m.keys for m in ms if isinstance(m.keys, Http3Keys)]
        hits = (sum(k.accessible is True for k in h3) if e.metric == "h3_accessible"
                else sum((k.failure or "null") == e.outcome for k in h3))
        return hits / len(ms), len(ms), ""
    web = [m.keys for m in ms if isinstance(m.keys, WebKeys)]
    if e.metric == "accessible":
        hits = sum(k.accessible is True for k in web)
    elif e.metric == "usable":
        hits = sum(k.usable is True for k in web)
    elif e.metric == "failure":
        hits = sum((k.failure or "null") == e.outcome for k in web)
    else:
        hits = sum(k.blocking_text == e.outcome for k in web)
    return hits / len(ms), len(ms), ""


def packet_effects(topology: Topology, effects: Iterable[StreamEffect], e: Expectation,
                   services: set[str]) -> list[StreamEffect]:
    """The stream effects a last/first_packet_ms expectation is about: cuts (or admissions) of
    steps inside its window, for vantage points in its scopes and services it names."""
    start, end = e.during
    return [x for x in effects
            if x.allowed is _PACKET[e.metric] and x.service in services
            and any(in_scope(topology, s, x.subscriber) for s in e.scopes)
            and start <= (x.at_s if x.at_s is not None else -1) <= end]


def _worst_delay(xs: list[StreamEffect]) -> tuple[float | None, str]:
    unmeasured = [x for x in xs if x.delay_ms is None]
    if unmeasured:
        return None, (f"{len(unmeasured)} of {len(xs)} not measured: "
                      f"{unmeasured[0].subscriber} -> {unmeasured[0].service}: "
                      f"{unmeasured[0].note or 'no figure'}")
    return max(x.delay_ms for x in xs if x.delay_ms is not None), ""


_DATASOURCE = {"bgp_visibility": "bgp", "slash24_up": "ping-slash24", "traffic": "traffic"}


def outside(e: Expectation, signals: list[dict]) -> tuple[float | None, int, str]:
    """bgp_visibility, slash24_up, traffic: per scope (all: the country; isp:NAME: its AS), a
    share of a reference in the window, the median of the samples; the worst scope's. The
    reference: for /24s visible (up), the first sample; for traffic, the run's busiest step
    (as Radar normalises), and only whole steps inside the window count."""
    source = _DATASOURCE[e.metric]
    worst: float | None = None
    n = 0
    for scope in e.scopes:
        kind = "country" if scope.kind == "all" else "asn"
        s = next((x for x in signals if x["entityType"] == kind and x["datasource"] == source
                  and (kind == "country" or x["entityName"] == scope.value)), None)
        known = [v for v in s["values"] if v is not None] if s else []
        base = (max(known, default=0) if source == "traffic"
                else next(iter(known), None))
        if s is None or not base:
            what = "traffic counted" if source == "traffic" else f"{source} signal"
            return None, 0, f"no {what} for {scope}"
        step = s["step"]
        end = step if source == "traffic" else 0  # a step ends inside the window, or starts
        inside = [v / base for k, v in enumerate(s["values"])
                  if v is not None and e.during[0] <= k * step and k * step + end <= e.during[1]]
        value, m = median_value(inside)
        n += m
        if value is not None:
            worst = value if worst is None else (min if e.op in (">=", ">") else max)(worst,
                                                                                      value)
    empty = "no whole step in the window" if source == "traffic" else "no sample in the window"
    return worst, n, "" if n else empty


def dns_abroad(topology: Topology, e: Expectation,
               signals: list[dict]) -> tuple[float | None, int, str]:
    """dns_abroad_per_h: the queries the public resolvers abroad received in the window, per
    emulated hour (what an observer abroad sees of the country's lookups, and of a retry
    flood)."""
    abroad = {r.name for r in topology.public_resolvers}
    xs = [s for s in signals if s["datasource"] == "dns-queries" and s["entityCode"] in abroad]
    if not xs:
        return None, 0, "no resolver abroad counted queries"
    step = xs[0]["step"]
    ks = [k for k in range(len(xs[0]["values"]))
          if e.during[0] <= k * step and (k + 1) * step <= e.during[1]]
    if not ks:
        return None, 0, "no whole step in the window"
    total = sum(s["values"][k] for s in xs for k in ks)
    return total / (len(ks) * step / 3600.0), len(ks), ""


def evaluate(topology: Topology, expectations: Iterable[Expectation],
             measurements: list[Measurement],
             effects: Iterable[StreamEffect] = (),
             signals: Iterable[dict] = ()) -> list[ExpectationResult]:
    """One result per expectation (an expectations.json item). `effects` are the stream
    effects of the run's steps (stream_effect.stream_effects), for last/first_packet_ms;
    `signals` the outside view's series (sovnet.results.bgp), for bgp_visibility."""
    effects = list(effects)
    signals = list(signals)
    out = []
    for e in expectations:
        services = set(e.to.select(topology))
        if e.metric in _DATASOURCE:
            value, n, note = outside(e, signals)
        elif e.metric == "dns_abroad_per_h":
            value, n, note = dns_abroad(topology, e, signals)
        elif e.metric in _PACKET:
            xs = packet_effects(topology, effects, e, services)
            n = len(xs)
            value, note = _worst_delay(xs) if xs else (
                None, "no step in the window changed what a stream probe in scope could reach")
        else:
            ms = selected(topology, measurements, e, services)
            value, n, note = observe(e, ms)
            note = note or ("no measurement matched" if not ms
                            else "no measurement had a value" if value is None else "")
        ok = value is not None and _OPS[e.op](value, e.threshold)
        out.append(ExpectationResult(
            name=e.name, scope=e.scope_label(), during=(e.during[0], e.during[1]),
            to=str(e.to) if e.to != ServiceFilter() else "any service",
            metric=e.metric_label(), op=e.op, threshold=e.threshold, observed=value, n=n,
            passed=ok, note=note))
    return out
