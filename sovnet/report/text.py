"""Words and numbers shared by report.html and summary.md, so both say the same thing."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter

from sovnet.report.analysis import StepLatency
from sovnet.report.dataset import Run
from sovnet.report.style import Timeline
from sovnet.results import ExpectationResult


def duration(seconds: float | None) -> str:
    if seconds is None or not isinstance(seconds, (int, float)) or math.isnan(seconds):
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def ms(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:.1f} ms"


def status_line(run: Run) -> str:
    """'complete' or, for a run that did not finish, what the reader must know first."""
    if run.status == "complete":
        return "complete"
    why = run.manifest.get("reason")
    what = "still running when this report was made" if run.status == "running" else run.status
    return f"{what.upper()}{f': {why}' if why else ''}"


def incomplete_warning(run: Run) -> str:
    if run.status == "complete":
        return ""
    if run.status == "running":
        return ("The run had not finished when this report was made, or it was killed before it "
                "could record how it ended. The figures show only what had been measured "
                "(hatched: no data), and expectations were not evaluated.")
    return ("This run did not complete. The figures show only what was measured before it "
            "stopped (hatched: no data), and expectations may not have been evaluated.")


def measurement_counts(run: Run) -> dict[str, int]:
    counts = {"web_connectivity": len(run.web), "sovnet_throughput": len(run.throughput),
              "sovnet_latency": len(run.latency)}
    if run.streams:  # only where a scenario streams: the others' reports stay as they were
        counts["sovnet_stream"] = len(run.streams)
    if run.http3:
        counts["sovnet_http3"] = run.http3
    return counts


def vantage_summary(run: Run) -> str:
    vps = run.manifest.get("vantage_points") or []
    by_class = Counter(str(v.get("class", "?")) for v in vps)
    return f"{len(vps)} (" + ", ".join(f"{n} {c}" for c, n in sorted(by_class.items())) + ")"


def latency_figures(lats: list[StepLatency]) -> dict[str, str]:
    """Median and worst over all changes; the worst switch per change is what matters for a
    change to be in force everywhere."""
    worst = [lat.worst_ms for lat in lats if lat.ack_ms]
    seen = [lat.first_seen.delay_s for lat in lats if lat.first_seen]
    every_ack = [v for lat in lats for v in lat.ack_ms.values()]
    return {
        "changes": str(len(lats)),
        "ack_median": ms(statistics.median(every_ack)) if every_ack else "–",
        "ack_worst": ms(max(worst)) if worst else "–",
        "seen_median": duration(statistics.median(seen)) if seen else "–",
        "seen_worst": duration(max(seen)) if seen else "–",
    }


def packet_figures(run: Run) -> dict[str, str] | None:
    """Commit -> last packet through (cuts) and -> first packet through (admissions), median
    and worst over the stream probes' vantage points; None when no step touched a stream."""
    if not run.stream_effects:
        return None
    out = {}
    for key, allowed in (("cut", False), ("in", True)):
        xs = [x for x in run.stream_effects if x.allowed is allowed]
        got = [x.delay_ms for x in xs if x.delay_ms is not None]
        out[f"{key}_n"] = f"{len(got)} of {len(xs)}"
        out[f"{key}_median"] = ms(statistics.median(got)) if got else "–"
        out[f"{key}_worst"] = ms(max(got)) if got else "–"
    return out


def packet_text(delay_ms: float | None, note: str) -> str:
    return note if delay_ms is None else f"{delay_ms:+.1f} ms"


def first_seen_text(lat: StepLatency) -> str:
    fs = lat.first_seen
    if fs is None:
        return "not seen" if lat.step.effect else "no effect expected"
    word = "reachable" if fs.allowed else "blocked"
    return f"{duration(fs.delay_s)} ({fs.subscriber}: {fs.service} {word})"


def during(x: ExpectationResult, tl: Timeline) -> str:
    d = x.during
    if d is None:
        return "whole run"
    unit = tl.unit
    return f"{tl.x(d[0]):.3g}–{tl.x(d[1]):.3g} {unit}"


def observed(x: ExpectationResult) -> str:
    v = x.observed
    if v is None:
        return "–"
    metric = x.metric
    if _is_share(metric):
        return f"{v:.0%}"
    if metric == "throughput_kbps":
        return f"{v:,.0f} kbit/s"
    if metric == "rtt_ms":
        return f"{v:.1f} ms"
    return f"{v:g}"


def _is_share(metric: str) -> bool:
    return metric in ("accessible", "usable") or metric.startswith(("blocking:", "failure:"))


def condition(x: ExpectationResult) -> str:
    t, metric = x.threshold, x.metric
    shown = str(t) if t is None else f"{t:.0%}" if _is_share(metric) else f"{t:g}"
    return f"{metric} {x.op} {shown}"


def verdict(x: ExpectationResult) -> str:
    return "PASS" if x.passed else "FAIL"


def expectation_counts(run: Run) -> str:
    xs = run.expectations
    if xs is None:
        return "not evaluated"
    ok = sum(x.passed for x in xs)
    return f"{ok} of {len(xs)} passed"


def calendar(run: Run, t_scenario: float | None) -> str:
    """Scenario time as a date in the scenario's calendar: 'Sat 16 Nov 2019 14:00 UTC'."""
    if run.calendar_t0 is None or t_scenario is None:
        return ""
    when = dt.datetime.fromtimestamp(run.calendar_t0 + t_scenario, dt.UTC)
    return when.strftime("%a %d %b %Y %H:%M UTC")
