"""A run folder (results/README.md) read into plain values, checked as it is read.

Every problem is a ReportError naming the file (and line, for .jsonl) and what is wrong, so a
folder written by a crashed or foreign tool gives a message rather than a traceback.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovnet.errors import SovnetError
from sovnet.model.topology import Topology

FORMAT = "sovnet-run/1"


class ReportError(SovnetError):
    """The folder is not a run folder, or one of its files is malformed."""

    exit_code = 2


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Step:
    index: int
    label: str
    phase: str
    t_scenario: float
    t_real: float
    revision: int | None  # None: the step changed nothing in the store
    t_commit: float | None
    acks: dict[str, float]  # switch -> t_real of its barrier reply
    t_enforced: float | None
    refused: dict[str, str]
    effect: tuple[tuple[str, str, bool], ...]  # (vantage, service, allowed after)
    actions: tuple[str, ...] = ()


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


@dataclass(frozen=True)
class Sample:
    """A throughput or latency measurement: one number, None when the probe failed."""

    t_real: float
    t_scenario: float
    round: int | None
    subscriber: str
    cls: str
    value: float | None
    probe_error: str | None


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


@dataclass(frozen=True)
class StreamEffect:
    """A step's effect on one stream: store commit -> last reply (a cut) or first reply (an
    admission), from the run's `stream_effect` events (sovnet.experiments.stream_effect)."""

    step: int
    subscriber: str
    service: str
    allowed: bool  # after the step
    t_commit: float
    delay_ms: float | None  # None: not measured, `note` says why
    switch: str | None  # the subscriber's access switch
    switch_ack_ms: float | None  # its acknowledgement of the step, from the commit
    replies_after: int
    note: str


@dataclass
class Run:
    folder: Path
    label: str  # the folder as the user named it, for messages
    manifest: dict[str, Any]
    topology: Topology
    phases: list[Phase]
    steps: list[Step]
    web: list[Web]
    throughput: list[Sample]
    latency: list[Sample]
    expectations: list[dict[str, Any]] | None  # None: the run wrote none (e.g. interrupted)
    notes: list[str] = field(default_factory=list)  # things worth telling the reader
    windows: list[Phase] = field(default_factory=list)  # scheduled policies in force (curfews)
    streams: list[Stream] = field(default_factory=list)
    stream_effects: list[StreamEffect] = field(default_factory=list)

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


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ReportError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: not JSON ({e})") from None


def _read_jsonl(path: str, torn_notes: list[str] | None) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line. An interrupted writer can leave half a
    last line; when `torn_notes` is given (the run did not complete) that line is dropped and
    a note saying so is appended."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        if torn_notes is None:
            raise ReportError(f"{path}: missing") from None
        torn_notes.append(f"{path}: missing (run interrupted before writing it)")
        return []
    lines = text.split("\n")
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if torn_notes is not None and n == len(lines):
                torn_notes.append(f"{path}:{n}: ignored a cut-off last line (run interrupted)")
                break
            raise ReportError(f"{path}:{n}: not JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(obj, dict):
            raise ReportError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        out.append((n, obj))
    return out


def _num(obj: dict[str, Any], key: str, where: str) -> float:
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        got = "nothing" if key not in obj else repr(v)
        raise ReportError(f"{where}: '{key}' must be a number, got {got}")
    return float(v)


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    v = obj.get(key)
    if not isinstance(v, str):
        got = "nothing" if key not in obj else repr(v)
        raise ReportError(f"{where}: '{key}' must be a string, got {got}")
    return v


def _opt_num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _blocking(v: Any) -> str:
    if v is False:
        return "ok"
    return v if isinstance(v, str) else "undetermined"


def _step(e: dict[str, Any], where: str) -> Step:
    effect = []
    for item in e.get("effect") or []:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], bool)):
            raise ReportError(f"{where}: 'effect' items must be [vantage, service, true|false],"
                              f" got {item!r}")
        effect.append((str(item[0]), str(item[1]), item[2]))
    acks = e.get("acks") or {}
    refused = e.get("refused") or {}
    if not isinstance(acks, dict) or not isinstance(refused, dict):
        raise ReportError(f"{where}: 'acks' and 'refused' must be objects keyed by switch")
    return Step(
        index=int(_num(e, "index", where)), label=str(e.get("label", "")),
        phase=str(e.get("phase") or ""), t_scenario=_num(e, "t_scenario", where),
        t_real=_num(e, "t_real", where),
        revision=e["revision"] if isinstance(e.get("revision"), int) else None,
        t_commit=_opt_num(e.get("t_commit")),
        acks={str(k): float(v) for k, v in acks.items() if _opt_num(v) is not None},
        t_enforced=_opt_num(e.get("t_enforced")),
        refused={str(k): str(v) for k, v in refused.items()},
        effect=tuple(effect), actions=tuple(str(a) for a in e.get("actions") or ()),
    )


def _stream_effect(e: dict[str, Any], where: str) -> StreamEffect:
    if not isinstance(e.get("allowed"), bool):
        raise ReportError(f"{where}: 'allowed' must be true or false, got {e.get('allowed')!r}")
    return StreamEffect(
        step=int(_num(e, "step", where)), subscriber=_str(e, "subscriber", where),
        service=_str(e, "service", where), allowed=e["allowed"],
        t_commit=_num(e, "t_commit", where), delay_ms=_opt_num(e.get("delay_ms")),
        switch=e.get("switch") if isinstance(e.get("switch"), str) else None,
        switch_ack_ms=_opt_num(e.get("switch_ack_ms")),
        replies_after=int(_opt_num(e.get("replies_after")) or 0), note=str(e.get("note") or ""))


def _stream(common: dict[str, Any], m: dict[str, Any], keys: dict, t0_wall: float,
            where: str) -> Stream:
    service = _str(m, "service", where)
    if common["probe_error"] is not None:
        return Stream(**common, service=service, start=common["t_real"], end=common["t_real"],
                      rate=0.0, sent=0, replies=())
    at = where + ": test_keys"
    start = _num(keys, "start_wall", at) - t0_wall
    rate, sent = _num(keys, "rate", at), int(_num(keys, "sent", at))
    replies = keys.get("replies") or []
    if not isinstance(replies, list) or not all(
            isinstance(r, list) and len(r) == 3 and _opt_num(r[2]) is not None for r in replies):
        raise ReportError(f"{at}: 'replies' must be a list of [seq, t_sent, t_received]")
    return Stream(**common, service=service, start=start,
                  end=start + max(sent - 1, 0) / rate if rate > 0 else start, rate=rate,
                  sent=sent, replies=tuple(sorted(start + float(r[2]) for r in replies)))


def _measurement(m: dict[str, Any], where: str,
                 t0_wall: float = 0.0) -> Web | Sample | Stream | None:
    name = _str(m, "test_name", where)
    if name not in ("web_connectivity", "sovnet_throughput", "sovnet_latency", "sovnet_stream"):
        return None  # a newer probe kind: not ours to draw
    keys = m.get("test_keys") or {}
    if not isinstance(keys, dict):
        raise ReportError(f"{where}: 'test_keys' must be an object")
    common = dict(t_real=_num(m, "t_real", where), t_scenario=_num(m, "t_scenario", where),
                  round=m.get("round") if isinstance(m.get("round"), int) else None,
                  subscriber=_str(m, "subscriber", where), cls=_str(m, "class", where),
                  probe_error=m.get("probe_error") or None)
    if name == "sovnet_stream":
        return _stream(common, m, keys, t0_wall, where)
    if name == "web_connectivity":
        acc, usable = keys.get("accessible"), keys.get("x_sovnet_usable")
        return Web(**common, service=_str(m, "service", where),
                   category=_str(m, "category", where), locus=_str(m, "locus", where),
                   phase=str(m.get("phase") or "(no phase)"),
                   accessible=acc if isinstance(acc, bool) else None,
                   usable=usable if isinstance(usable, bool) else None,
                   blocking=_blocking(keys.get("blocking")),
                   t_decisive=common["t_real"] + _decisive_offset(keys, acc))
    if name == "sovnet_throughput":
        # A transfer that failed delivered nothing: that is what its user experienced.
        kbps = _opt_num(keys.get("throughput_kbps"))
        if kbps is None and keys.get("failure") and common["probe_error"] is None:
            kbps = 0.0
        return Sample(**common, value=kbps)
    return Sample(**common, value=_opt_num(keys.get("rtt_avg_ms")))


def _decisive_offset(keys: dict, accessible) -> float:
    """Seconds from a web measurement's start to its deciding packet (0 when unknown)."""
    tcp = [c for c in keys.get("tcp_connect") or [] if isinstance(c, dict)]
    if accessible is True:
        done = [c.get("t") for c in tcp if (c.get("status") or {}).get("success")]
        return _opt_num(done[0]) or 0.0 if done else 0.0
    return _opt_num(tcp[0].get("t0")) or 0.0 if tcp else 0.0


def load_run(folder: str | os.PathLike[str]) -> Run:
    label = os.fspath(folder)
    root = Path(folder)
    if not root.is_dir():
        raise ReportError(f"{label}: not a folder")
    mpath = os.path.join(label, "manifest.json")
    if not os.path.exists(mpath):
        raise ReportError(f"{label}: not a run folder (no manifest.json)")
    manifest = _read_json(mpath)
    if not isinstance(manifest, dict):
        raise ReportError(f"{mpath}: expected a JSON object")
    if manifest.get("format") != FORMAT:
        raise ReportError(f"{mpath}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    _num(manifest, "duration_s", mpath)
    _str(manifest, "status", mpath)
    phases, windows = [], []
    for key, into in (("phases", phases), ("windows", windows)):
        for i, p in enumerate(manifest.get(key) or []):
            where = f"{mpath}: {key}[{i}]"
            if not isinstance(p, dict):
                raise ReportError(f"{where}: expected an object")
            end = _opt_num(p.get("end_s"))
            into.append(Phase(_str(p, "name", where), _num(p, "start_s", where),
                              manifest["duration_s"] if end is None else end))

    tpath = os.path.join(label, "topology.json")
    tdict = _read_json(tpath)
    try:
        topology = Topology.from_dict(tdict)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ReportError(f"{tpath}: not a sovnet topology ({type(e).__name__}: {e})") from None

    notes: list[str] = []
    torn = notes if manifest["status"] != "complete" else None
    steps = []
    effects = []
    epath = os.path.join(label, "events.jsonl")
    for n, e in _read_jsonl(epath, torn):
        if e.get("type") == "step":
            steps.append(_step(e, f"{epath}:{n}"))
        elif e.get("type") == "stream_effect":
            effects.append(_stream_effect(e, f"{epath}:{n}"))
    web: list[Web] = []
    throughput: list[Sample] = []
    latency: list[Sample] = []
    streams: list[Stream] = []
    # Stream replies carry wall-clock times: onto the run's clock through the manifest's T0.
    t0_wall = _opt_num(manifest.get("t0_wall")) or 0.0
    mmpath = os.path.join(label, "measurements.jsonl")
    for n, m in _read_jsonl(mmpath, torn):
        got = _measurement(m, f"{mmpath}:{n}", t0_wall)
        if isinstance(got, Web):
            web.append(got)
        elif isinstance(got, Stream):
            streams.append(got)
        elif got is not None:
            (throughput if m["test_name"] == "sovnet_throughput" else latency).append(got)

    xpath = os.path.join(label, "expectations.json")
    expectations = None
    if os.path.exists(xpath):
        expectations = _read_json(xpath)
        if not isinstance(expectations, list) or not all(
                isinstance(x, dict) and isinstance(x.get("name"), str) for x in expectations):
            raise ReportError(f"{xpath}: expected a list of objects, each with a 'name'")
    elif torn is None:
        notes.append("expectations.json is missing: no expectations were evaluated.")
    return Run(root, label, manifest, topology, phases, sorted(steps, key=lambda s: s.t_real),
               sorted(web, key=lambda w: w.t_real), throughput, latency, expectations, notes,
               windows, sorted(streams, key=lambda s: s.t_real), effects)
