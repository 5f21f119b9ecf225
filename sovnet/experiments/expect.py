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
import statistics
from collections.abc import Iterable

from sovnet.compile.targets import in_scope
from sovnet.model.scenario import Expectation, ServiceFilter
from sovnet.model.topology import Topology

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq}
_TEST = {"accessible": "web_connectivity", "usable": "web_connectivity",
         "blocking": "web_connectivity", "throughput_kbps": "sovnet_throughput",
         "rtt_ms": "sovnet_latency", "delivered": "sovnet_stream"}
_PACKET = {"last_packet_ms": False, "first_packet_ms": True}  # metric -> allowed after the step


def selected(topology: Topology, measurements: Iterable[dict], e: Expectation,
             services: set[str]) -> list[dict]:
    """The measurements an expectation is about: those that ran entirely inside its window (a
    blocked connection retried after a policy was lifted would otherwise count against it)."""
    start, end = e.during
    return [m for m in measurements
            if m.get("test_name") == _TEST[e.metric] and not m.get("probe_error")
            and m.get("service") in services
            and any(in_scope(topology, s, m["subscriber"]) for s in e.scopes)
            and start <= m.get("t_scenario", -1)
            and m.get("t_scenario_end", m.get("t_scenario", end + 1)) <= end]


def _blocking_text(value) -> str:
    return "null" if value is None else "false" if value is False else str(value)


def observe(e: Expectation, ms: list[dict]) -> float | None:
    if not ms:
        return None
    keys = [m.get("test_keys") or {} for m in ms]
    if e.metric == "accessible":
        return sum(k.get("accessible") is True for k in keys) / len(keys)
    if e.metric == "usable":
        return sum(k.get("x_sovnet_usable") is True for k in keys) / len(keys)
    if e.metric == "blocking":
        return sum(_blocking_text(k.get("blocking")) == e.blocking for k in keys) / len(keys)
    if e.metric == "delivered":
        sent = sum(k.get("sent") or 0 for k in keys)
        return sum(k.get("received") or 0 for k in keys) / sent if sent else None
    field = "throughput_kbps" if e.metric == "throughput_kbps" else "rtt_avg_ms"
    values = [k[field] for k in keys if isinstance(k.get(field), (int, float))]
    return statistics.median(values) if values else None


def packet_effects(topology: Topology, effects: Iterable[dict], e: Expectation,
                   services: set[str]) -> list[dict]:
    """The stream effects a last/first_packet_ms expectation is about: cuts (or admissions) of
    steps inside its window, for vantage points in its scopes and services it names."""
    start, end = e.during
    return [x for x in effects
            if x["allowed"] is _PACKET[e.metric] and x["service"] in services
            and any(in_scope(topology, s, x["subscriber"]) for s in e.scopes)
            and start <= (x.get("at_s") if x.get("at_s") is not None else -1) <= end]


def _worst_delay(xs: list[dict]) -> tuple[float | None, str]:
    unmeasured = [x for x in xs if x.get("delay_ms") is None]
    if unmeasured:
        return None, (f"{len(unmeasured)} of {len(xs)} not measured: "
                      f"{unmeasured[0]['subscriber']} -> {unmeasured[0]['service']}: "
                      f"{unmeasured[0].get('note') or 'no figure'}")
    return max(x["delay_ms"] for x in xs), ""


def evaluate(topology: Topology, expectations: Iterable[Expectation],
             measurements: list[dict], effects: Iterable[dict] = ()) -> list[dict]:
    """One result per expectation, in the shape of expectations.json. `effects` are the stream
    effects of the run's steps (stream_effect.stream_effects), for last/first_packet_ms."""
    effects = list(effects)
    out = []
    for e in expectations:
        services = set(e.to.select(topology))
        if e.metric in _PACKET:
            ms = packet_effects(topology, effects, e, services)
            value, note = _worst_delay(ms) if ms else (
                None, "no step in the window changed what a stream probe in scope could reach")
        else:
            ms = selected(topology, measurements, e, services)
            value, note = observe(e, ms), ""
        ok = value is not None and _OPS[e.op](value, e.threshold)
        note = note or ("no measurement matched" if not ms
                        else "no measurement had a value" if value is None else "")
        out.append({"name": e.name, "from": e.scope_label(), "during": list(e.during),
                    "to": str(e.to) if e.to != ServiceFilter() else "any service",
                    "metric": e.metric_label(), "op": e.op, "threshold": e.threshold,
                    "observed": value, "n": len(ms), "pass": ok, "note": note})
    return out
