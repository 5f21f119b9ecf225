"""load_scenario: a scenario file -> sovnet.model.scenario.Scenario, every problem at once.

Paths inside a scenario (topology, policy sets) are relative to the scenario file. Names are
checked against the topology with the store's own rule, so a scenario that validates is one the
store will accept at every step.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from sovnet.config.coverage import measured
from sovnet.config.load import load_topology, read_doc
from sovnet.config.policyset import check_names
from sovnet.config.report import Reporter, one_of
from sovnet.config.scenario_file import ExpectIn, ProbeIn, ScenarioFile, ServicesIn
from sovnet.config.shape import validate
from sovnet.config.timeline import timeline
from sovnet.config.yamlsrc import Doc
from sovnet.errors import ConfigError
from sovnet.model.scenario import (
    BLOCKING_VALUES,
    FAILURE_RE,
    METRICS,
    PROBE_PARAMS,
    SHARE_METRICS,
    Demand,
    Expectation,
    Probe,
    Scenario,
    ServiceFilter,
    format_duration,
    select_vantages,
)
from sovnet.model.schedule import time_of_day
from sovnet.model.topology import SUBSCRIBER_CLASSES, Topology

MIN_REAL_INTERVAL = 1.0  # seconds of real time between probe rounds: a round's timeouts are ~5 s
DEFAULT_BYTES = 1_000_000
DEFAULT_COUNT = 3
DEFAULT_RATE = 100
MAX_RATE = 200  # echo requests per second of one stream
MAX_WINDOW = 20.0  # real seconds a stream round may send for: the run waits for the last one
# Echo requests per second of all stream probes together. Each crosses ~6 switches and comes
# back: 2000/s is ~25k packet-hops/s, half of what the userspace datapath keeps up with on two
# cores next to everything else (../shared/research/feasibility.md, gotcha 4).
MAX_STREAM_PPS = 2000
# An SNI a probe may send: letters, digits, hyphens and dots, as in a DNS name.
HOST_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load and check a scenario file and what it refers to. Raises ConfigError."""
    path = Path(path)
    return scenario_from_doc(read_doc(path), path.parent, path)


def scenario_from_doc(doc: Doc, base: Path, source: Path,
                      relative_to: str = "the scenario file") -> Scenario:
    """Same as load_scenario, for a file already read and parsed, whose topology and policy
    sets are named relative to `base` (`relative_to` says what that is, for messages)."""
    r = Reporter(doc)
    if doc.data is None:
        r.value((), "the file is empty (expected a mapping with name, topology, time_scale, "
                    "duration and probes)")
        r.raise_if_any()
    parsed = validate(ScenarioFile, doc.data, r)
    if parsed is None:
        r.raise_if_any()
    assert isinstance(parsed, ScenarioFile)
    topo_path = Path(os.path.normpath(base / parsed.topology))
    topology = _topology(topo_path, parsed.topology, relative_to, r)
    inputs = [("scenario", source), ("topology", topo_path)]
    control = _control(parsed, topology, r)
    probes = [_probe(p, ("probes", i), parsed.time_scale, parsed.duration, topology, r)
              for i, p in enumerate(parsed.probes)]
    if not r.issues:
        _stream_budget(probes, topology, parsed.seed, r)
    steps = timeline(parsed.timeline, parsed.duration, base, relative_to, topology, r, inputs)
    grouped = [_expectations(item, ("expect", i), parsed.duration, topology, r)
               for i, item in enumerate(parsed.expect)]
    expectations = [e for group in grouped for e in group]
    if parsed.duration <= 0:
        r.value(("duration",), "expected a duration greater than 0")
    if not r.issues:  # what each expectation is about can be told only of a sound scenario
        measured(probes, grouped, parsed.duration, topology, parsed.seed, r)
    r.raise_if_any()
    return Scenario(
        name=parsed.name, title=parsed.title or parsed.name, description=parsed.description.strip(),
        topology=topology, time_scale=parsed.time_scale, duration=parsed.duration,
        probes=tuple(probes), steps=tuple(steps), expectations=tuple(expectations),
        seed=parsed.seed, control=control, source=source, inputs=tuple(inputs),
        origin=time_of_day(parsed.starts_at), starts_on=parsed.starts_on,
        probe_cc=parsed.probe_cc, demand=_demand(parsed, topology, r),
    )


def _demand(parsed: ScenarioFile, topology: Topology, r: Reporter) -> Demand | None:
    d = parsed.demand
    if d is None:
        return None
    from sovnet.probes.demand import DIURNAL

    if d.to not in {s.name for s in topology.services}:
        known = one_of(sorted(s.name for s in topology.services), "services")
        r.value(("demand", "to"), f"unknown service {d.to!r} in topology {topology.name!r} "
                                  f"({known})")
    for cls in d.kbps:
        if cls not in SUBSCRIBER_CLASSES:
            r.key(("demand", "kbps", cls), f"unknown subscriber class {cls!r} (expected one of: "
                                           f"{', '.join(SUBSCRIBER_CLASSES)})")
    r.raise_if_any()
    return Demand(d.to, tuple(d.kbps.items()), tuple(d.curve) if d.curve else DIURNAL)


def _topology(path: Path, written: str, relative_to: str, r: Reporter) -> Topology | None:
    if not path.is_file():
        r.value(("topology",), f"no topology file {written!r} (expected a path relative to "
                               f"{relative_to})")
        r.raise_if_any()
    try:
        return load_topology(path)
    except ConfigError as exc:
        # The topology's own problems, at their own positions, then where it was named.
        r.issues.extend(exc.issues)
        r.value(("topology",), f"the topology {str(path)!r} has errors (reported at its own lines)")
        r.raise_if_any()
    return None


def _control(parsed: ScenarioFile, topology: Topology, r: Reporter) -> str:
    services = sorted(s.name for s in topology.services)
    if parsed.control is not None:
        if parsed.control not in services:
            r.value(("control",), f"unknown service {parsed.control!r} in topology "
                                  f"{topology.name!r} ({one_of(services, 'services')})")
        return parsed.control
    outside = [s.name for s in topology.services
               if topology.switch(topology.host(s.name).switch).role == "internet"]
    if not outside:
        r.missing(("control",), "no service outside the country to take control measurements "
                                "from (expected control: NAME of a service host)")
        return ""
    return outside[-1]


# What a view from abroad needs in the topology: (attribute, what it is, how to add one).
_ABROAD = {
    "bgp_visibility": ("collectors", "route collectors",
                       "collectors: in the topology, peering with its transit routers"),
    "slash24_up": ("probers", "outside prober", "probers: in the topology, on an internet switch"),
    "dns_abroad_per_h": ("public_resolvers", "public resolver abroad",
                         "a resolver without isp: on an internet switch"),
    "traffic": ("isps", "ISP", "isps: in the topology"),  # counted on every border gateway
}


def _abroad(e: ExpectIn, at: tuple, topology: Topology, r: Reporter) -> None:
    """The view from abroad needs its observers, and is seen per ISP or for the country (BGP:
    per ISP that announces routes)."""
    for metric, (attr, noun, how) in _ABROAD.items():
        if getattr(e, metric) is None:
            continue
        if not getattr(topology, attr):
            r.value(at + (metric,), f"topology {topology.name!r} has no {noun} (expected {how})")
            continue
        if metric == "dns_abroad_per_h":
            continue  # the resolvers abroad see the whole country
        isps = (sorted({x.isp for x in topology.border_routers}) if metric == "bgp_visibility"
                else [i.name for i in topology.isps])
        for scope in e.from_:
            if scope.kind != "all" and not (scope.kind == "isp" and scope.value in isps):
                r.value(at + ("from",), f"{metric} is seen per ISP or for the country, not from "
                                        f"{scope} (expected all or isp:NAME with NAME one of: "
                                        f"{', '.join(isps)})")


def _scopes_known(scopes, at: tuple, topology: Topology, r: Reporter) -> None:
    for scope in scopes:
        check_names(scope, at, topology, r)


def _services(to: ServicesIn, at: tuple, topology: Topology, r: Reporter) -> ServiceFilter:
    f = ServiceFilter(to.service or (), to.category or (), to.locus or ())
    known = {"service": sorted(s.name for s in topology.services),
             "category": sorted({s.category for s in topology.services}),
             "locus": ["domestic", "foreign"]}
    for key, values in (("service", f.services), ("category", f.categories),
                        ("locus", f.loci)):
        for v in values:
            if v not in known[key]:
                noun = "categories" if key == "category" else f"{key}s"
                r.value(at + (key,), f"unknown {key} {v!r} in topology {topology.name!r} "
                                     f"({one_of(known[key], noun + ' with services')})")
    if not f.select(topology) and not r.issues:
        r.value(at, f"no service of topology {topology.name!r} is {f} (expected a selection "
                    "that matches at least one service)")
    return f


def _probe(p: ProbeIn, at: tuple, scale: float, duration: float, topology: Topology,
           r: Reporter) -> Probe:
    _scopes_known(p.from_, at + ("from",), topology, r)
    real = p.every / scale
    if real < MIN_REAL_INTERVAL:
        r.value(at + ("every",), f"{format_duration(p.every)} is {real:.2g} s of real time at "
                                 f"this time scale (expected at least {MIN_REAL_INTERVAL:g} s "
                                 "between rounds, so that a round's timeouts fit)")
    _within_run(p, at, duration, r)
    if p.kind == "latency" and p.count is not None:
        _echo_count(p.count, real, at + ("count",), r)
    for key, kinds in PROBE_PARAMS.items():
        if getattr(p, key) is not None and p.kind not in kinds:
            r.key(at + (key,), f"'{key}' applies to {' and '.join(kinds)} probes only (this "
                               f"one is {p.kind})")
    if p.sni is not None and not HOST_NAME_RE.match(p.sni):
        r.value(at + ("sni",), f"bad host name {p.sni!r} (expected a DNS name such as "
                               "innocuous.example)")
    if p.family == "ipv6" and not topology.ipv6:
        r.value(at + ("family",), f"topology {topology.name!r} has no IPv6 (expected "
                                  "addressing.ipv6 in the topology, or family: ipv4)")
    for key in ("split_hello", "sni"):
        if getattr(p, key) and (p.scheme or "http") != "https":
            r.key(at + (key,), f"'{key}' needs scheme: https (a ClientHello is only sent "
                               "over TLS)")
    if p.bytes is not None and p.bytes > 1 << 30:
        r.value(at + ("bytes",), f"expected at most {1 << 30} bytes, got {p.bytes}")
    window = p.window if p.window is not None else p.every
    if p.kind == "stream":
        _stream_shape(p, window, at, scale, r)
    to = _services(p.to, at + ("to",), topology, r)
    if p.kind == "http3":
        _serve_http3(to, at + ("to",), topology, r)
    return Probe(kind=p.kind, every=p.every, scopes=p.from_, per_group=p.per_group, to=to,
                 start=p.start,
                 bytes=p.bytes or DEFAULT_BYTES, count=p.count or DEFAULT_COUNT,
                 rate=p.rate or DEFAULT_RATE, window=window, scheme=p.scheme or "http",
                 split_hello=bool(p.split_hello), sni=p.sni or "", family=p.family or "",
                 direction=p.direction or "down")


def _within_run(p: ProbeIn, at: tuple, duration: float, r: Reporter) -> None:
    """Rounds start at `start`, then come every `every` until the end: a probe that starts at
    the end never measures, and one whose rounds are further apart than the run is long measures
    once, whatever `every` says."""
    if duration <= 0:
        return  # reported with the duration
    end = format_duration(duration)
    if p.start >= duration:
        r.value(at + ("start",), f"{format_duration(p.start)} is not before the end of the "
                                 f"scenario ({end}) (expected a start before {end}, so "
                                 "that the probe measures)")
    elif p.every > duration:
        r.value(at + ("every",), f"{format_duration(p.every)} between rounds is longer than "
                                 f"the scenario ({end}) (expected at most {end})")


def _echo_count(count: int, real: float, at: tuple, r: Reporter) -> None:
    """A latency measurement's echo requests go out in real time, and must be done before the
    next round's; judged by arithmetic alone, so that any count is answered at once."""
    from sovnet.probes.agent import PING_INTERVAL  # only here: the agent's imports are many

    most = math.floor(real / PING_INTERVAL + 1e-9)  # 0.6 / 0.2 is 2.9999999999999996
    if count > most:
        r.value(at, f"{count} echo requests take {count * PING_INTERVAL:.3g} s of real time (one "
                    f"every {PING_INTERVAL:g} s), longer than the {real:.3g} s between rounds "
                    f"at this time scale (expected at most {most})")


def _serve_http3(to: ServiceFilter, at: tuple, topology: Topology, r: Reporter) -> None:
    """An HTTP/3 probe measures services that serve it: elsewhere it would only ever time out,
    which reads as QUIC blocking."""
    without = [s for s in to.select(topology) if not topology.service(s).http3]
    if without:
        r.value(at, f"{', '.join(without)} in topology {topology.name!r} "
                    f"{'does' if len(without) == 1 else 'do'} not serve HTTP/3 (expected "
                    "services with http3: true, or a `to:` that selects only those)")


def _stream_shape(p: ProbeIn, window: float, at: tuple, scale: float, r: Reporter) -> None:
    """A stream's rate and window: rounds of one stream must not overlap (two streams from one
    vantage to one target would double its rate), and must fit what the run waits for."""
    if p.rate is not None and p.rate > MAX_RATE:
        r.value(at + ("rate",), f"{p.rate} echo requests per second (expected at most "
                                f"{MAX_RATE})")
    key = at + ("window",) if p.window is not None else at + ("every",)
    if window > p.every:
        r.value(key, f"a window of {format_duration(window)} is longer than the "
                     f"{format_duration(p.every)} between rounds (expected rounds that do not "
                     "overlap)")
    elif not 1.0 <= window / scale <= MAX_WINDOW:
        r.value(key, f"a window of {format_duration(window)} is {window / scale:.3g} s of real "
                     f"time at this time scale (expected 1 to {MAX_WINDOW:g} s: a stream sends "
                     "in real time)")


def _stream_budget(probes: list[Probe], topology: Topology, seed: int, r: Reporter) -> None:
    """All streams together within what the datapath keeps up with."""
    rates = [(i, p.rate * len(select_vantages(topology, p, seed)) * len(p.to.select(topology)))
             for i, p in enumerate(probes) if p.kind == "stream"]
    total = sum(pps for _, pps in rates)
    if total > MAX_STREAM_PPS:
        i = rates[-1][0]
        r.value(("probes", i), f"the stream probes send {total} echo requests per second in all "
                               f"(rate x vantage points x targets; expected at most "
                               f"{MAX_STREAM_PPS}, what the userspace datapath keeps up with "
                               "beside the rest of the run)")


def _expectations(e: ExpectIn, at: tuple, duration: float, topology: Topology,
                  r: Reporter) -> list[Expectation]:
    _scopes_known(e.from_, at + ("from",), topology, r)
    start, end = e.during
    if not 0 <= start < end <= duration:
        r.value(at + ("during",), f"[{format_duration(start)}, {format_duration(end)}] is not a "
                                  f"window inside the scenario (expected 0 <= start < end <= "
                                  f"{format_duration(duration)})")
    to = _services(e.to, at + ("to",), topology, r)
    checks = [(m, "", getattr(e, m)) for m in METRICS
              if m not in SHARE_METRICS and getattr(e, m) is not None]
    for value in e.blocking or {}:
        if value not in BLOCKING_VALUES:
            r.key(at + ("blocking", value), f"unknown blocking value {value!r} (expected one "
                                            f"of: {', '.join(BLOCKING_VALUES)})")
    for metric in ("failure", "h3_failure"):
        for value in getattr(e, metric) or {}:
            if not FAILURE_RE.match(value):
                r.key(at + (metric, value), f"bad failure string {value!r} (expected an OONI "
                                            "failure such as connection_reset, "
                                            "generic_timeout_error or null)")
    checks += [("blocking", value, t) for value, t in (e.blocking or {}).items()
               if value in BLOCKING_VALUES]
    checks += [(metric, value, t) for metric in ("failure", "h3_failure")
               for value, t in (getattr(e, metric) or {}).items() if FAILURE_RE.match(value)]
    _abroad(e, at, topology, r)
    if not checks and not e.blocking and not e.failure and not e.h3_failure:
        r.entry(at, f"no outcome to check (expected one of: {', '.join(METRICS)})")
    return [Expectation(e.name, e.from_, (start, end), to, metric, op, value, blocking)
            for metric, blocking, (op, value) in checks]
