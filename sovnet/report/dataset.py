"""A run folder (results/README.md) read into plain values, checked as it is read.

Every problem is a ReportError naming the file (and line, for .jsonl) and what is wrong, so a
folder written by a crashed or foreign tool gives a message rather than a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovnet.errors import SovnetError
from sovnet.model.topology import Topology
from sovnet.results import (
    ExpectationResult,
    Measurement,
    RecordError,
    Revision,
    StepEvent,
    StreamEffect,
    StreamKeys,
    WebKeys,
    read_json,
    read_jsonl,
    read_measurements,
)
from sovnet.results.files import num, opt_num, read_manifest, string


class ReportError(SovnetError):
    """The folder is not a run folder, or one of its files is malformed."""

    exit_code = 2


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Web:
    t_real: float
    t_scenario: float
    round: int | None
    subscriber: str
    cls: str
    service: str
    category: str
    locus: str
    phase: str
    accessible: bool | None
    usable: bool | None
    blocking: str  # "ok", "dns", "tcp_ip", "http-failure", "http-diff" or "undetermined"
    probe_error: str | None
    # When the packet that decided the outcome crossed the network (real seconds): the
    # connection's completion for a page that loaded, the first SYN for one that did not. A
    # probe started before a change may be decided after it (a retried SYN), and vice versa.
    t_decisive: float = 0.0
    failure: str | None = None  # OONI's http_experiment_failure: why the page did not load


@dataclass(frozen=True)
class Sample:
    """A throughput or latency measurement: one number, None when there is none (a probe
    error, a failed transfer, no reply). A failed transfer is not a sample (sovnet.results):
    `failed` marks it, so figures can show it beside the medians rather than as 0 kbit/s."""

    t_real: float
    t_scenario: float
    round: int | None
    subscriber: str
    cls: str
    value: float | None
    probe_error: str | None
    failed: bool = False


@dataclass(frozen=True)
class Stream:
    """A stream measurement: echo requests at a fixed rate, and when each reply arrived."""

    t_real: float
    t_scenario: float
    round: int | None
    subscriber: str
    cls: str
    service: str
    start: float  # real seconds since T0 of the first request
    end: float  # ... and of the last
    rate: float
    sent: int
    replies: tuple[float, ...]  # real seconds since T0 at which each reply arrived, sorted
    probe_error: str | None


@dataclass
class Run:
    folder: Path
    label: str  # the folder as the user named it, for messages
    manifest: dict[str, Any]
    topology: Topology
    phases: list[Phase]
    steps: list[StepEvent]
    web: list[Web]
    throughput: list[Sample]
    latency: list[Sample]
    expectations: list[ExpectationResult] | None  # None: the run wrote none (interrupted)
    notes: list[str] = field(default_factory=list)  # things worth telling the reader
    windows: list[Phase] = field(default_factory=list)  # scheduled policies in force (curfews)
    streams: list[Stream] = field(default_factory=list)
    stream_effects: list[StreamEffect] = field(default_factory=list)
    http3: int = 0  # sovnet_http3 measurements: counted; no figure reads them yet
    revisions: list[Revision] = field(default_factory=list)  # the store's orders (revisions.jsonl)
    calendar_t0: float | None = None  # Unix time of t=0 in the scenario's calendar

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "unknown"))

    @property
    def duration_s(self) -> float:
        return float(self.manifest.get("duration_s") or 0.0)

    @property
    def probe_errors(self) -> int:
        return sum(m.probe_error is not None
                   for m in [*self.web, *self.throughput, *self.latency, *self.streams])


def _common(m: Measurement) -> dict[str, Any]:
    return dict(t_real=m.t_real, t_scenario=m.t_scenario, round=m.round,
                subscriber=m.subscriber, cls=m.cls, probe_error=m.probe_error)


def _view(m: Measurement, t0_wall: float) -> Web | Sample | Stream:
    """The report's view of one measurement, all of it read off the model."""
    common = _common(m)
    if m.kind == "stream":
        keys = m.keys
        if not isinstance(keys, StreamKeys):  # a probe error: no stream to draw
            return Stream(**common, service=m.service or "", start=m.t_real, end=m.t_real,
                          rate=0.0, sent=0, replies=())
        start, end = keys.window(t0_wall)
        return Stream(**common, service=m.service or "", start=start, end=end, rate=keys.rate,
                      sent=keys.sent, replies=tuple(keys.reply_times(t0_wall)))
    if m.kind == "web":
        k = m.keys if isinstance(m.keys, WebKeys) else WebKeys(None, None, None)
        return Web(**common, service=m.service or "", category=m.category or "",
                   locus=m.locus or "", phase=m.phase or "(no phase)", accessible=k.accessible,
                   usable=k.usable, blocking=k.verdict, t_decisive=m.t_real + k.decisive_offset,
                   failure=k.failure)
    return Sample(**common, value=m.value, failed=m.transfer_failed)


def load_run(folder: str | os.PathLike[str]) -> Run:
    try:
        return _load(folder)
    except RecordError as e:
        raise ReportError(str(e)) from None


def _load(folder: str | os.PathLike[str]) -> Run:
    label = os.fspath(folder)
    root = Path(folder)
    if not root.is_dir():
        raise ReportError(f"{label}: not a folder")
    mpath = os.path.join(label, "manifest.json")
    manifest = read_manifest(label)
    num(manifest, "duration_s", mpath)
    string(manifest, "status", mpath)
    phases, windows = [], []
    for key, into in (("phases", phases), ("windows", windows)):
        for i, p in enumerate(manifest.get(key) or []):
            where = f"{mpath}: {key}[{i}]"
            if not isinstance(p, dict):
                raise ReportError(f"{where}: expected an object")
            end = opt_num(p.get("end_s"))
            into.append(Phase(string(p, "name", where), num(p, "start_s", where),
                              manifest["duration_s"] if end is None else end))

    tpath = os.path.join(label, "topology.json")
    tdict = read_json(tpath)
    try:
        topology = Topology.from_dict(tdict)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ReportError(f"{tpath}: not a sovnet topology ({type(e).__name__}: {e})") from None

    notes: list[str] = []
    torn = notes if manifest["status"] != "complete" else None
    steps = []
    effects = []
    epath = os.path.join(label, "events.jsonl")
    for n, e in read_jsonl(epath, torn):
        if e.get("type") == "step":
            steps.append(StepEvent.parse(e, f"{epath}:{n}"))
        elif e.get("type") == "stream_effect":
            effects.append(StreamEffect.parse(e, f"{epath}:{n}"))
    web: list[Web] = []
    throughput: list[Sample] = []
    latency: list[Sample] = []
    streams: list[Stream] = []
    http3 = 0
    calendar_t0 = opt_num(manifest.get("calendar_t0"))
    # Stream replies carry wall-clock times: onto the run's clock through the manifest's T0.
    t0_wall = opt_num(manifest.get("t0_wall")) or 0.0
    mmpath = os.path.join(label, "measurements.jsonl")
    for m in read_measurements(mmpath, torn):  # newer probe kinds are left out: not ours
        if calendar_t0 is None:  # a folder older than the manifest's field: the records' dates
            calendar_t0 = _calendar_t0(m)
        if m.kind == "http3":  # no figure of the report reads HTTP/3 yet
            http3 += 1
            continue
        got = _view(m, t0_wall)
        if isinstance(got, Web):
            web.append(got)
        elif isinstance(got, Stream):
            streams.append(got)
        else:
            (throughput if m.kind == "throughput" else latency).append(got)

    xpath = os.path.join(label, "expectations.json")
    expectations = None
    if os.path.exists(xpath):
        items = read_json(xpath)
        if not isinstance(items, list) or not all(
                isinstance(x, dict) and isinstance(x.get("name"), str) for x in items):
            raise ReportError(f"{xpath}: expected a list of objects, each with a 'name'")
        expectations = [ExpectationResult.parse(x) for x in items]
    elif torn is None:
        notes.append("expectations.json is missing: no expectations were evaluated.")
    rpath = os.path.join(label, "revisions.jsonl")
    revisions = ([Revision.parse(obj, f"{rpath}:{n}") for n, obj in read_jsonl(rpath, torn)]
                 if os.path.exists(rpath) else [])
    return Run(root, label, manifest, topology, phases, sorted(steps, key=lambda s: s.t_real),
               sorted(web, key=lambda w: w.t_real), throughput, latency, expectations, notes,
               windows, sorted(streams, key=lambda s: s.t_real), effects, http3, revisions,
               calendar_t0)


def _calendar_t0(m: Measurement) -> float | None:
    """t=0 in the scenario's calendar, from a record dated in it (OONI's UTC format)."""
    stamp = m.raw.get("measurement_start_time")
    try:
        when = dt.datetime.strptime(str(stamp), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    # The record is dated to the second: t=0 is taken to the nearest minute, as scenarios
    # set it (starts_at HH:MM).
    return round((when.replace(tzinfo=dt.UTC).timestamp() - m.t_scenario) / 60) * 60
