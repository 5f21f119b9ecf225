"""Whether each expectation of a scenario is about measurements its probes will make.

An expectation is checked on the measurements of one kind of probe (sovnet.model.scenario
MEASURED_BY) made from a vantage point in its scopes, of a service it names, starting in its
window (sovnet.experiments.expect.selected). If no probe can make one, the expectation fails
every run with "no measurement matched": that is told here, before a run, instead.
"""

from __future__ import annotations

import math

from sovnet.config.report import Reporter
from sovnet.model.policy import in_scope
from sovnet.model.scenario import (
    MEASURED_BY,
    PROBE_KINDS,
    Expectation,
    Probe,
    Vantage,
    format_duration,
    select_vantages,
)
from sovnet.model.topology import Topology

_STEP_METRICS = ("last_packet_ms", "first_packet_ms")  # about the steps in the window, not rounds


def measured(probes: list[Probe], grouped: list[list[Expectation]], duration: float,
             topology: Topology, seed: int, r: Reporter) -> None:
    """Report each expectation (grouped per `expect:` item) that no probe measures."""
    vantages = [select_vantages(topology, p, seed) for p in probes]  # as the runner picks them
    for i, group in enumerate(grouped):
        for e in group:
            if MEASURED_BY[e.metric] in PROBE_KINDS:
                problem = _unmeasured(e, probes, vantages, duration, topology)
                if problem is not None:
                    r.value(("expect", i, problem[0]), problem[1])


def _unmeasured(e: Expectation, probes: list[Probe], vantages: list[list[Vantage]],
                duration: float, topology: Topology) -> tuple[str, str] | None:
    """(the key at fault, why) when no probe makes a measurement `e` is about."""
    kind, who = MEASURED_BY[e.metric], e.scope_label()
    of_kind = [(p, vs) for p, vs in zip(probes, vantages, strict=True) if p.kind == kind]
    if not of_kind:
        return e.metric, (f"no probe measures {e.metric} (expected a {kind} probe: "
                          f"{e.metric} is computed from {kind} measurements)")
    here = [p for p, vs in of_kind
            if any(in_scope(topology, s, v.subscriber) for v in vs for s in e.scopes)]
    if not here:
        return "from", (f"no {kind} probe measures from {who} (expected a {kind} probe with a "
                        f"vantage point in {who}, for {e.metric})")
    wanted = set(e.to.select(topology))
    to = [p for p in here if wanted & set(p.to.select(topology))]
    if not to:
        return "to", (f"no {kind} probe from {who} measures {e.to} (expected a {kind} probe "
                      f"from there whose to: selects one of: {', '.join(sorted(wanted))})")
    start, end = e.during
    if e.metric in _STEP_METRICS or any(_starts_in(p, start, min(end, duration)) for p in to):
        return None
    when = (f"; its rounds start at {format_duration(to[0].start)}, then every "
            f"{format_duration(to[0].every)}" if len(to) == 1 else "")
    return "during", (f"no round of a {kind} probe from {who} to {e.to} starts in "
                      f"[{format_duration(start)}, {format_duration(end)}] (expected a window "
                      f"in which one starts{when})")


def _starts_in(p: Probe, start: float, end: float) -> bool:
    """Whether a round of `p` starts at or after `start` and before `end`. A measurement
    counts only if it also ends in the window, which depends on the network: not judged."""
    if p.every <= 0 or p.start >= start:
        return start <= p.start < end
    first = p.start + math.ceil((start - p.start) / p.every) * p.every
    return first < end
