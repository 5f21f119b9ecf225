"""A scenario as frozen values: what `experiments/*.yaml` says once loaded and checked.

A scenario replays a regime on a topology: a timeline of store changes at emulated times, probes
that measure from subscriber hosts on a schedule, and the outcomes expected. Emulated time runs
`time_scale` times faster than real time, so a week-long shutdown with nightly windows fits in
minutes of real time.

Pure: standard library and sovnet.model only.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from sovnet.model.command import PolicyRequest
from sovnet.model.policy import Scope, in_scope
from sovnet.model.schedule import Clock, Schedule
from sovnet.model.topology import Subscriber, Topology

PROBE_KINDS = ("web", "throughput", "latency", "stream", "http3")
# metric -> the kind of probe whose measurements it is computed from
MEASURED_BY = {"accessible": "web", "usable": "web", "blocking": "web", "failure": "web",
               "throughput_kbps": "throughput", "throughput_up_kbps": "throughput",
               "rtt_ms": "latency", "delivered": "stream",
               "last_packet_ms": "stream", "first_packet_ms": "stream",
               "h3_accessible": "http3", "h3_failure": "http3",
               # the view from abroad: the route collectors, the outside prober
               "bgp_visibility": "bgp", "slash24_up": "ping-slash24",
               "dns_abroad_per_h": "dns-queries", "traffic": "traffic"}
METRICS = tuple(MEASURED_BY)
# a probe's parameter -> the kind of probe it belongs to
# The probe parameters and the kinds of probe each applies to.
PROBE_PARAMS = {"bytes": ("throughput",), "count": ("latency",), "rate": ("stream",),
                "window": ("stream",), "scheme": ("web", "throughput"),
                "split_hello": ("web",), "sni": ("web",),
                "family": ("web", "throughput", "http3"), "direction": ("throughput",)}
DIRECTIONS = ("down", "up", "both")
SCHEMES = ("http", "https")
BLOCKING_VALUES = ("false", "dns", "tcp_ip", "http-failure", "http-diff", "null")
# Metrics that check the share of web measurements with one value of a test key: OONI's
# `blocking` verdict, or its `http_experiment_failure` string ("null": no failure), the
# latter also for HTTP/3 (h3_failure).
SHARE_METRICS = ("blocking", "failure", "h3_failure")
FAILURE_RE = re.compile(r"^(null|[a-z0-9_]+)$")
OPS = (">=", "<=", ">", "<", "==")

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|d|h|m|s))+$")
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")


MAX_DURATION = 3650 * 86400.0  # ten years


def parse_duration(text: str | int | float) -> float:
    """'1h30m' -> 5400.0; a bare number is seconds. ValueError names what was expected."""
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 90s, 15m, 8h or 2d, got {text!r}")
    if isinstance(text, (int, float)):
        if math.isnan(text):
            raise ValueError("expected a duration such as 90s, 15m, 8h or 2d, got .nan")
        if text < 0:
            raise ValueError(f"expected a duration of at least 0, got {text:g}")
        return _bounded(float(text), f"{text:g}")
    compact = text.replace(" ", "")
    if not _DURATION_RE.match(compact):
        raise ValueError(f"bad duration {text!r} (expected a duration such as 90s, 15m, 8h, "
                         "2d or 1h30m)")
    return _bounded(sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(compact)), text)


def _bounded(seconds: float, text: str) -> float:
    # Beyond this nothing can be scheduled or replayed in a lifetime, and inf breaks arithmetic.
    if seconds > MAX_DURATION:
        raise ValueError(f"duration {text} is too long (expected at most "
                         f"{format_duration(MAX_DURATION)})")
    return seconds


def format_duration(seconds: float) -> str:
    """5400 -> '1h30m'; 0.5 -> '0.5s'. The inverse of parse_duration for whole units."""
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    out, rest = [], int(round(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out) or "0s"


def parse_time_scale(text: str | int | float) -> float:
    """'1h per 2s' -> 1800.0 emulated seconds per real second; a number is that ratio."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"expected a time scale greater than 0, got {text:g}")
        return float(text)
    if isinstance(text, str) and " per " in text:
        emulated, _, real = text.partition(" per ")
        e, r = parse_duration(emulated.strip()), parse_duration(real.strip())
        if e > 0 and r > 0:
            return e / r
    raise ValueError(f"bad time scale {text!r} (expected EMULATED per REAL, such as "
                     "'1h per 2s', or a number of emulated seconds per real second)")


@dataclass(frozen=True)
class PolicyChange:
    """A policy the timeline adds (`request`); `name` lets a later step revoke it."""

    name: str
    request: PolicyRequest

    @property
    def action(self) -> str:
        return str(self.request.action)

    @property
    def schedule(self) -> Schedule | None:
        return self.request.schedule

    def describe(self) -> str:
        r = self.request
        when = f", {r.schedule}" if r.schedule else ""
        return (f"{r.action} {r.target} for {r.scope} (priority {r.priority}{when})"
                + (f" as {self.name}" if self.name else ""))


@dataclass(frozen=True)
class Step:
    at: float  # emulated seconds since T0
    phase: str  # the phase this step starts ("" keeps the current one)
    label: str
    add: tuple[PolicyChange, ...] = ()  # policies written inline or loaded from a policy set
    revoke: tuple[str, ...] = ()  # names given to earlier adds (a policy set's name revokes it all)
    status: tuple[tuple[str, str], ...] = ()  # (subscriber, a SUBSCRIBER_STATUSES value)
    standing: tuple[tuple[str, int], ...] = ()  # (subscriber, 0-100)
    register: tuple[tuple[str, str], ...] = ()  # (subscriber, MAC)
    unregister: tuple[str, ...] = ()  # MACs
    restore: bool = False  # revoke every policy and give subscribers back their initial state
    loaded: tuple[str, ...] = ()  # policy-set files this step loads (for the record)

    def changes_store(self) -> bool:
        return bool(self.add or self.revoke or self.status or self.standing or self.register
                    or self.unregister or self.restore)

    def describe(self) -> list[str]:
        out = ["restore: revoke every policy, reset subscribers"] if self.restore else []
        out += [f"revoke {n}" for n in self.revoke]
        out += [f"load {f}" for f in self.loaded]
        out += [p.describe() for p in self.add]
        out += [f"subscriber {s} {st}" for s, st in self.status]
        out += [f"subscriber {s} standing {n}" for s, n in self.standing]
        out += [f"register device {m} for {s}" for s, m in self.register]
        out += [f"revoke device {m}" for m in self.unregister]
        return out


@dataclass(frozen=True)
class ServiceFilter:
    """Services by name, category and locus: each given field must match (empty: any)."""

    services: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    loci: tuple[str, ...] = ()

    def select(self, topology: Topology) -> tuple[str, ...]:
        return tuple(s.name for s in topology.services
                     if (not self.services or s.name in self.services)
                     and (not self.categories or s.category in self.categories)
                     and (not self.loci or s.locus in self.loci))

    def __str__(self) -> str:
        parts = [f"{k}:{'|'.join(v)}" for k, v in (("service", self.services),
                 ("category", self.categories), ("locus", self.loci)) if v]
        return ", ".join(parts) or "any service"


@dataclass(frozen=True)
class Probe:
    kind: str  # one of PROBE_KINDS
    every: float  # emulated seconds between rounds
    scopes: tuple[Scope, ...]  # who measures: subscribers in any of these scopes
    per_group: int  # at most this many vantage points per (ISP, class)
    to: ServiceFilter
    start: float = 0.0  # first round, emulated seconds
    bytes: int = 1_000_000  # throughput: bytes per transfer
    count: int = 3  # latency: echo requests per measurement
    rate: int = 100  # stream: echo requests per second (real time)
    window: float = 0.0  # stream: emulated seconds each round sends for (0: `every`)
    scheme: str = "http"  # web, throughput: the services' URLs are http:// or https://
    split_hello: bool = False  # web: send the ClientHello in small TCP segments (an evasion)
    sni: str = ""  # web: the SNI to send instead of the URL's host (OONI's test SNI)
    family: str = ""  # web, throughput, http3: ipv4 or ipv6 only ("": every family the lab has)
    direction: str = "down"  # throughput: download, upload (POST) or both


@dataclass(frozen=True)
class Expectation:
    name: str
    scopes: tuple[Scope, ...]  # measurements from subscribers in any of these
    during: tuple[float, float]  # emulated seconds, inclusive
    to: ServiceFilter
    metric: str  # one of METRICS
    op: str  # one of OPS
    threshold: float
    outcome: str = ""  # for SHARE_METRICS: the value whose share is checked

    def metric_label(self) -> str:
        return f"{self.metric}:{self.outcome}" if self.metric in SHARE_METRICS else self.metric

    def scope_label(self) -> str:
        return ", ".join(str(s) for s in self.scopes)


@dataclass(frozen=True)
class Demand:
    """Background demand (sovnet.probes.demand): who pulls from which service, how much."""

    service: str
    kbps: tuple[tuple[str, float], ...]  # (subscriber class, rate at the curve's peak)
    curve: tuple[float, ...]  # 24 shares of the peak, per hour of the scenario's day


@dataclass(frozen=True)
class Scenario:
    name: str
    topology: Topology
    time_scale: float  # emulated seconds per real second
    duration: float  # emulated seconds
    probes: tuple[Probe, ...]
    steps: tuple[Step, ...]
    expectations: tuple[Expectation, ...] = ()
    title: str = ""
    description: str = ""
    seed: int = 1
    control: str = ""  # the service host whose vantage is unfiltered
    origin: float = 0.0  # time of day at t=0, seconds: the clock daily schedules run on
    starts_on: str = "2026-01-01"  # the date at t=0 (YYYY-MM-DD): the measurements' calendar
    probe_cc: str = "ZZ"  # the country the probes report
    demand: Demand | None = None

    @property
    def calendar_t0(self) -> float:
        """The Unix time of t=0 in the scenario's calendar (UTC): starts_on at starts_at."""
        day = dt.datetime.fromisoformat(self.starts_on).replace(tzinfo=dt.UTC)
        return day.timestamp() + self.origin
    source: Path | None = None  # the scenario file, when it came from one
    inputs: tuple[tuple[str, Path], ...] = field(default=())  # (role, path) of every file read

    def real(self, emulated: float) -> float:
        return emulated / self.time_scale

    def phases(self) -> list[tuple[str, float, float]]:
        """(name, start, end) in emulated seconds; a step without a phase keeps the current."""
        out: list[tuple[str, float, float]] = []
        for step in self.steps:
            if step.phase and (not out or out[-1][0] != step.phase):
                if out:
                    out[-1] = (out[-1][0], out[-1][1], step.at)
                out.append((step.phase, step.at, self.duration))
        if out and out[0][1] > 0:
            out.insert(0, ("start", 0.0, out[0][1]))
        return out or [("run", 0.0, self.duration)]

    def scheduled_windows(self) -> list[tuple[str, float, float]]:
        """(policy name, start, end) in scenario time of each stretch in which a scheduled
        policy of the timeline is in force: the curfew nights the figures hatch."""
        clock = Clock(epoch=0.0, scale=1.0, origin=self.origin)  # Unix time = scenario time
        live: list[tuple[PolicyChange, float]] = []
        out: list[tuple[str, float, float]] = []

        def close(pc: PolicyChange, a: float, b: float) -> None:
            when = pc.schedule
            assert when is not None  # only scheduled policies are live here
            t = a
            while t < b:
                nxt = when.next_change(clock, t)
                end = b if nxt is None else min(nxt, b)
                if when.active(clock, t):
                    label = pc.name or pc.action
                    if out and out[-1][0] == label and out[-1][2] == t:
                        out[-1] = (label, out[-1][1], end)  # the same stretch, split by a step
                    else:
                        out.append((label, t, end))
                t = end

        for step in self.steps:
            for pc, since in live:
                if step.restore or (pc.name and pc.name in step.revoke):
                    close(pc, since, step.at)
            live = [(pc, since) for pc, since in live
                    if not (step.restore or (pc.name and pc.name in step.revoke))]
            live += [(pc, step.at) for pc in step.add if pc.schedule is not None]
        for pc, since in live:
            close(pc, since, self.duration)
        return sorted(out, key=lambda w: (w[1], w[0]))

    def phase_at(self, t: float) -> str:
        name = ""
        for phase, start, _ in self.phases():
            if t >= start:
                name = phase
        return name


@dataclass(frozen=True)
class Vantage:
    subscriber: str
    cls: str
    isp: str


def select_vantages(topology: Topology, probe: Probe, seed: int) -> list[Vantage]:
    """Up to `per_group` subscribers per (ISP, class) among those in the probe's scopes.

    Subscribers the topology leaves unregistered are skipped unless named one by one: a
    measurer is someone who is online when the run starts. The choice is seeded, so the same
    scenario picks the same vantage points every run.
    """
    named = {s.value for s in probe.scopes if s.kind == "subscriber"}
    groups: dict[tuple[str, str], list[Subscriber]] = {}
    for sub in topology.subscribers:
        if not any(in_scope(topology, scope, sub.name) for scope in probe.scopes):
            continue
        if not sub.registered and sub.name not in named:
            continue
        groups.setdefault((sub.isp, sub.cls), []).append(sub)
    out = []
    for key in sorted(groups):
        # One generator per group: a group's pick does not depend on which other groups are
        # in scope, so probes with different scopes agree on who measures.
        rng = random.Random(f"{seed}:{key[0]}:{key[1]}")
        members = sorted(groups[key], key=lambda s: s.name)
        for sub in sorted(rng.sample(members, min(probe.per_group, len(members))),
                          key=lambda s: s.name):
            out.append(Vantage(sub.name, sub.cls, sub.isp))
    return out
