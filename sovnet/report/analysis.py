"""What the figures show, computed from a Run: time bins, shares, medians, latencies. No drawing.

Shares leave out measurements whose probe could not run (`probe_error`) and, for a boolean such
as `accessible`, the ones where OONI could not decide (null): a share says "of the measurements
that tell, how many were reachable". Empty cells are NaN, which the figures draw as gaps.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from sovnet.model.topology import SUBSCRIBER_CLASSES
from sovnet.report.dataset import Run, Sample, Web
from sovnet.results import StepEvent, StreamEffect, median_value

MAX_BINS = 80
BLOCKING_ORDER = ("ok", "dns", "tcp_ip", "http-failure", "http-diff", "undetermined")

T = TypeVar("T", Web, Sample)
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Bins:
    """Time bins in scenario seconds. While probe rounds are few enough to see, one bin per
    round, from its first measurement to the next round's: a change then shows from the first
    round that measured it, never half a bin early. Else equal widths. `edges` has one more
    element than there are bins; `times` is when each bin's measurements were taken (mean)."""

    edges: tuple[float, ...]
    times: tuple[float, ...]
    by_round: dict[int, int] | None = None

    @property
    def n(self) -> int:
        return len(self.edges) - 1

    def of(self, item: Web | Sample) -> int | None:
        if self.by_round is not None and item.round in self.by_round:
            return self.by_round[item.round]
        i = bisect.bisect_right(self.edges, item.t_scenario) - 1
        return min(max(i, 0), self.n - 1) if self.n > 0 else None


def make_bins(items: Sequence[Web | Sample], duration_s: float, max_bins: int = MAX_BINS) -> Bins:
    if not items:
        end = max(duration_s, 1.0)
        return Bins((0.0, end), (end / 2,))
    rounds: dict[int, list[float]] = defaultdict(list)
    for m in items:
        if m.round is not None:
            rounds[m.round].append(m.t_scenario)
    if rounds and len(rounds) <= max_bins and all(m.round is not None for m in items):
        order = sorted(rounds, key=lambda r: min(rounds[r]))
        starts = [min(rounds[r]) for r in order]
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        gap = statistics.median(gaps) if gaps else max(duration_s, 1.0) / 50
        last = max(starts[-1] + gap, max(rounds[order[-1]]))
        return Bins(tuple([*starts, last]), tuple(statistics.fmean(rounds[r]) for r in order),
                    {r: i for i, r in enumerate(order)})
    end = max(duration_s, max(m.t_scenario for m in items))
    n = min(max_bins, max(1, len({m.t_scenario for m in items})))
    edges = np.linspace(0.0, end, n + 1)
    return Bins(tuple(edges.tolist()), tuple(((edges[:-1] + edges[1:]) / 2).tolist()))


def share(values: Iterable[bool | None]) -> float:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else math.nan


def median(values: Iterable[float | None]) -> float:
    """The median the expectations take too (sovnet.results.median_value), NaN for none."""
    value, _ = median_value(values)
    return math.nan if value is None else value


def grid(items: Iterable[T], bins: Bins, key: Callable[[T], K],
         agg: Callable[[list[T]], float]) -> dict[K, np.ndarray]:
    """{key: one aggregated value per time bin} over `items`."""
    cells: dict[K, list[list[T]]] = {}
    for m in items:
        i = bins.of(m)
        if i is not None:
            cells.setdefault(key(m), [[] for _ in range(bins.n)])[i].append(m)
    return {k: np.array([agg(c) if c else math.nan for c in row]) for k, row in cells.items()}


def usable_web(run: Run) -> list[Web]:
    return [w for w in run.web if w.probe_error is None]


def reachability(run: Run, bins: Bins) -> dict[tuple[str, str], np.ndarray]:
    """(category, locus) -> accessible share per bin."""
    return grid(usable_web(run), bins, lambda w: (w.category, w.locus),
                lambda ws: share(w.accessible for w in ws))


def service_rows(run: Run) -> list[tuple[str, str, str]]:
    """(service, category, locus) in a reading order: domestic first, then by category."""
    seen = {w.service: (w.category, w.locus) for w in run.web}
    rows = [(s, c, loc) for s, (c, loc) in seen.items()]
    return sorted(rows, key=lambda r: (r[2] != "domestic", r[1], r[0]))


def class_order(cls: str) -> tuple[int, str]:
    """The model's order of classes (mobile first, then fixed, ...), unknown ones last."""
    known = SUBSCRIBER_CLASSES.index(cls) if cls in SUBSCRIBER_CLASSES else len(SUBSCRIBER_CLASSES)
    return known, cls


def heatmaps(run: Run, bins: Bins) -> dict[str, tuple[list[str], np.ndarray]]:
    """class -> (service names, services x bins matrix of accessible share)."""
    rows = [s for s, _, _ in service_rows(run)]
    out = {}
    for cls in sorted({w.cls for w in run.web}, key=class_order):
        g = grid((w for w in usable_web(run) if w.cls == cls), bins, lambda w: w.service,
                 lambda ws: share(w.accessible for w in ws))
        empty = np.full(bins.n, math.nan)
        out[cls] = (rows, np.vstack([g.get(s, empty) for s in rows]))
    return out


def blocking_mix(run: Run, bins: Bins) -> dict[str, np.ndarray]:
    """blocking value -> its share of the bin's web measurements (each bin sums to 1)."""
    web = usable_web(run)
    totals = grid(web, bins, lambda w: 0, len).get(0, np.full(bins.n, math.nan))
    counts = grid(web, bins, lambda w: w.blocking, len)
    values = [b for b in BLOCKING_ORDER if b in counts] + sorted(set(counts) - set(BLOCKING_ORDER))
    return {b: np.nan_to_num(counts[b]) / totals for b in values}


@dataclass(frozen=True)
class ThroughputSeries:
    """One subscriber class's throughput per bin: the median (kbit/s, NaN where there is no
    sample) and its n, over samples only, and beside them the transfers that failed. The same
    rule as the `throughput_kbps` expectations (sovnet.results): a failure is not a sample."""

    median: np.ndarray
    n: np.ndarray
    failed: np.ndarray
    lo: np.ndarray | None = None  # the lowest and highest sample of each bin: the spread
    hi: np.ndarray | None = None
    samples: tuple[tuple[float, float], ...] = ()  # (t_scenario, kbit/s) of every sample


def throughput_items(run: Run) -> list[Sample]:
    """The throughput probes that ran: samples and failed transfers."""
    return [s for s in run.throughput
            if s.probe_error is None and (s.value is not None or s.failed)]


def throughput(run: Run, bins: Bins) -> dict[str, ThroughputSeries]:
    """class -> its throughput per bin (ThroughputSeries)."""
    items = throughput_items(run)
    med = grid(items, bins, lambda s: s.cls, lambda ss: median(s.value for s in ss))
    n = grid(items, bins, lambda s: s.cls, lambda ss: median_value(s.value for s in ss)[1])
    failed = grid(items, bins, lambda s: s.cls, lambda ss: sum(s.failed for s in ss))
    lo = grid(items, bins, lambda s: s.cls, lambda ss: _extreme(ss, min))
    hi = grid(items, bins, lambda s: s.cls, lambda ss: _extreme(ss, max))
    return {cls: ThroughputSeries(
        med[cls], np.nan_to_num(n[cls]), np.nan_to_num(failed[cls]), lo[cls], hi[cls],
        tuple((s.t_scenario, s.value) for s in items if s.cls == cls and s.value is not None))
        for cls in med}


def _extreme(samples: list[Sample], pick: Callable[[list[float]], float]) -> float:
    values = [s.value for s in samples if s.value is not None]
    return pick(values) if values else math.nan


def collateral(run: Run) -> dict[str, dict[str, tuple[float, float, int]]]:
    """phase -> service -> (accessible share, usable share, n)."""
    cells: dict[str, dict[str, list[Web]]] = defaultdict(lambda: defaultdict(list))
    for w in usable_web(run):
        cells[w.phase][w.service].append(w)
    order = [p.name for p in run.phases] + sorted(set(cells) - {p.name for p in run.phases})
    return {ph: {s: (share(w.accessible for w in ws), share(w.usable for w in ws), len(ws))
                 for s, ws in cells[ph].items()} for ph in order if ph in cells}


@dataclass(frozen=True)
class FirstSeen:
    delay_s: float  # real seconds from the store commit
    subscriber: str
    service: str
    allowed: bool


@dataclass(frozen=True)
class StepLatency:
    step: StepEvent
    ack_ms: dict[str, float]  # switch -> ms from the store commit to its barrier reply
    first_seen: FirstSeen | None
    packets: tuple[StreamEffect, ...] = ()  # streams it cut or let in: commit -> last/first reply

    @property
    def median_ms(self) -> float:
        return statistics.median(self.ack_ms.values()) if self.ack_ms else math.nan

    @property
    def worst_ms(self) -> float:
        return max(self.ack_ms.values()) if self.ack_ms else math.nan


def first_seen(step: StepEvent, web: Sequence[Web], until: float | None = None) -> FirstSeen | None:
    """The earliest web measurement decided at or after the commit that saw one of the step's
    effects: its (subscriber, service) is in `effect` and `accessible` equals the allowed-after
    value. Timed by the deciding packet (the completed connection, or the first dropped SYN),
    not the probe's start: a probe started just before a change can see it through a retried
    SYN. A measurement decided after `until` (the next change's commit) belongs to that change.
    """
    if step.t_commit is None or not step.effect:
        return None
    wanted = {(v, s): allowed for v, s, allowed in step.effect}
    for w in sorted(web, key=lambda w: w.t_decisive):
        if w.t_decisive < step.t_commit or w.probe_error is not None:
            continue
        if until is not None and w.t_decisive >= until:
            break
        allowed = wanted.get((w.subscriber, w.service))
        if allowed is not None and w.accessible is allowed:
            return FirstSeen(w.t_decisive - step.t_commit, w.subscriber, w.service, allowed)
    return None


def step_latencies(run: Run) -> list[StepLatency]:
    """One entry per step that committed a revision, in time order."""
    changes = [s for s in run.steps if s.revision is not None and s.t_commit is not None]
    out = []
    for i, s in enumerate(changes):
        until = changes[i + 1].t_commit if i + 1 < len(changes) else None
        acks = {sw: (t - s.t_commit) * 1000.0 for sw, t in sorted(s.acks.items())}
        packets = tuple(x for x in run.stream_effects if x.step == s.index)
        out.append(StepLatency(s, acks, first_seen(s, run.web, until), packets))
    return out


@dataclass(frozen=True)
class PacketRow:
    """One stream around one change: when its replies arrived, in ms from the store commit."""

    subscriber: str
    service: str
    effect: StreamEffect | None  # None: the change was not meant to touch this stream
    offsets_ms: np.ndarray


def packets_around(run: Run, lat: StepLatency, before_s: float, after_s: float) -> list[PacketRow]:
    """The streams running across a change's commit, affected ones first, each with the replies
    that arrived from `before_s` before the commit to `after_s` after it."""
    t = lat.step.t_commit
    if t is None:
        return []
    effects = {(x.subscriber, x.service): x for x in lat.packets}
    rows = []
    for m in run.streams:
        if m.probe_error is not None or not m.start <= t <= m.end:
            continue
        r = np.asarray(m.replies)
        near = r[(r >= t - before_s) & (r <= t + after_s)]
        rows.append(PacketRow(m.subscriber, m.service, effects.get((m.subscriber, m.service)),
                              (near - t) * 1000.0))
    return sorted(rows, key=lambda row: (row.effect is None, row.subscriber, row.service))


def stream_by_step(run: Run) -> list[StepLatency]:
    """The changes that cut or let in at least one stream probe's vantage point."""
    return [lat for lat in step_latencies(run) if lat.packets]
