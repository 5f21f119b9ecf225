"""measurements.jsonl objects as typed values, and the figures derived from them. Pure.

A line keeps OONI's envelope and test keys on disk (`raw`); what sovnet's readers use of it is
parsed here once, checked, with a `file:line: what is wrong` error. Derived values that more than
one reader needs (a throughput sample's kbit/s, whether a transfer failed, a stream's replies on
the run's clock) are properties of the model, so the expectations and the report cannot differ
on them.

One rule for failed transfers: a throughput transfer that failed (no kbit/s, a `failure`) is not
a throughput sample. Medians and their n are over samples only (`median_value`); failures are
counted and shown beside them, never as 0 kbit/s.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sovnet.results.files import RecordError, num, opt_num, opt_str, read_jsonl, string

KINDS = {"web_connectivity": "web", "sovnet_throughput": "throughput",
         "sovnet_latency": "latency", "sovnet_stream": "stream", "sovnet_http3": "http3"}
TEST_NAMES = {kind: name for name, kind in KINDS.items()}


@dataclass(frozen=True)
class WebKeys:
    accessible: bool | None
    usable: bool | None  # x_sovnet_usable: the page and everything it needs loaded
    blocking: str | bool | None  # OONI's value: false, null or a verdict string
    decisive_offset: float = 0.0  # seconds from the start to the packet that decided it
    failure: str | None = None  # OONI's http_experiment_failure: why the page did not load

    @property
    def verdict(self) -> str:
        """"ok", "dns", "tcp_ip", "http-failure", "http-diff" or "undetermined"."""
        if self.blocking is False:
            return "ok"
        return self.blocking if isinstance(self.blocking, str) else "undetermined"

    @property
    def blocking_text(self) -> str:
        """The value as a scenario's `blocking:` names it: "null", "false" or the verdict."""
        b = self.blocking
        return "null" if b is None else "false" if b is False else str(b)


@dataclass(frozen=True)
class ThroughputKeys:
    kbps: float | None
    failure: str | None
    up_kbps: float | None = None  # the upload leg's (x_upload), when the probe sent one

    @property
    def failed(self) -> bool:
        """A transfer that delivered no figure: not a throughput sample."""
        return self.kbps is None and bool(self.failure)


@dataclass(frozen=True)
class LatencyKeys:
    sent: int
    received: int
    rtt_avg_ms: float | None


@dataclass(frozen=True)
class StreamKeys:
    start_wall: float  # wall clock of the first request
    rate: float  # requests per second
    sent: int
    received: int
    replies: tuple[float, ...]  # seconds from the first request to each reply, as listed

    def reply_times(self, t0_wall: float) -> list[float]:
        """When each reply arrived, in t_real (seconds since the run's T0), sorted."""
        start = self.start_wall - t0_wall
        return sorted(start + r for r in self.replies)

    def window(self, t0_wall: float) -> tuple[float, float]:
        """(first send, last send), in t_real."""
        start = self.start_wall - t0_wall
        return start, start + (max(self.sent - 1, 0) / self.rate if self.rate > 0 else 0.0)


@dataclass(frozen=True)
class Http3Keys:
    accessible: bool | None  # the GET over QUIC got an HTTP response
    failure: str | None  # OONI's http_experiment_failure (the handshake's, if it failed)


Keys = WebKeys | ThroughputKeys | LatencyKeys | StreamKeys | Http3Keys


@dataclass(frozen=True)
class Measurement:
    kind: str  # web | throughput | latency | stream | http3
    t_real: float  # real seconds since T0 at the start
    t_scenario: float  # emulated seconds at the start
    t_scenario_end: float | None  # ... at the end (None in folders older than the field)
    round: int | None
    subscriber: str
    cls: str
    service: str | None
    category: str | None
    locus: str | None
    phase: str | None
    probe_error: str | None
    keys: Keys | None  # None for a probe error: it has no test keys
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, m: Mapping[str, Any], where: str) -> Measurement | None:
        """One measurements.jsonl object; None for a probe kind this version does not know."""
        name = string(m, "test_name", where)  # type: ignore[arg-type]
        kind = KINDS.get(name)
        if kind is None:
            return None
        keys = m.get("test_keys") or {}
        if not isinstance(keys, dict):
            raise RecordError(f"{where}: 'test_keys' must be an object")
        d: dict[str, Any] = dict(m)
        t_real, t_scenario = num(d, "t_real", where), num(d, "t_scenario", where)
        subscriber, klass = string(d, "subscriber", where), string(d, "class", where)
        error = m.get("probe_error") or None
        service = opt_str(m.get("service"))
        if kind in ("web", "stream"):
            service = string(d, "service", where)
        if kind == "web":
            string(d, "category", where)
            string(d, "locus", where)
        parsed = None if error else _keys(kind, keys, where + ": test_keys")
        rnd = m.get("round")
        return cls(kind=kind, t_real=t_real, t_scenario=t_scenario,
                   t_scenario_end=opt_num(m.get("t_scenario_end")),
                   round=rnd if isinstance(rnd, int) and not isinstance(rnd, bool) else None,
                   subscriber=subscriber, cls=klass, service=service,
                   category=opt_str(m.get("category")), locus=opt_str(m.get("locus")),
                   phase=opt_str(m.get("phase")), probe_error=str(error) if error else None,
                   keys=parsed, raw=d)

    @property
    def test_name(self) -> str:
        return TEST_NAMES[self.kind]

    @property
    def ok(self) -> bool:
        """The probe ran (not a probe error): its test keys say what it saw."""
        return self.probe_error is None

    @property
    def t_end(self) -> float:
        """Emulated seconds at the end (the start, in folders without the field)."""
        return self.t_scenario if self.t_scenario_end is None else self.t_scenario_end

    @property
    def transfer_failed(self) -> bool:
        return isinstance(self.keys, ThroughputKeys) and self.keys.failed

    @property
    def value(self) -> float | None:
        """The number a throughput (kbit/s) or latency (average RTT, ms) probe measured; None
        for anything else, a probe error, a failed transfer or no reply at all."""
        if isinstance(self.keys, ThroughputKeys):
            return self.keys.kbps
        if isinstance(self.keys, LatencyKeys):
            return self.keys.rtt_avg_ms
        return None

    def to_json(self) -> dict[str, Any]:
        """The object as written to measurements.jsonl."""
        return dict(self.raw)


def read_measurements(path: str, torn_notes: list[str] | None) -> list[Measurement]:
    """measurements.jsonl as the model, in file order; kinds this version does not know are
    left out (see read_jsonl for `torn_notes`)."""
    out = []
    for n, obj in read_jsonl(path, torn_notes):
        m = Measurement.parse(obj, f"{path}:{n}")
        if m is not None:
            out.append(m)
    return out


def median_value(values: Iterable[float | None]) -> tuple[float | None, int]:
    """(median, n) over the numbers among `values`: None (a failed transfer, no reply) is not a
    sample. The expectations and the report's figures both take their medians here."""
    known = [v for v in values if v is not None]
    return (statistics.median(known) if known else None), len(known)


def _count(keys: Mapping[str, Any], key: str) -> int:
    v = opt_num(keys.get(key))
    return int(v) if v is not None else 0


def _keys(kind: str, k: dict[str, Any], where: str) -> Keys:
    if kind == "web":
        acc, usable = k.get("accessible"), k.get("x_sovnet_usable")
        blocking = k.get("blocking")
        return WebKeys(accessible=acc if isinstance(acc, bool) else None,
                       usable=usable if isinstance(usable, bool) else None,
                       blocking=blocking if isinstance(blocking, (str, bool)) else None,
                       decisive_offset=_decisive_offset(k, acc),
                       failure=opt_str(k.get("http_experiment_failure")))
    if kind == "throughput":
        failure = k.get("failure")
        up = k.get("x_upload")
        up = up if isinstance(up, dict) else {}
        return ThroughputKeys(kbps=opt_num(k.get("throughput_kbps")),
                              failure=str(failure) if failure else None,
                              up_kbps=opt_num(up.get("throughput_kbps")))
    if kind == "http3":
        acc = k.get("accessible")
        return Http3Keys(accessible=acc if isinstance(acc, bool) else None,
                         failure=opt_str(k.get("http_experiment_failure")))
    if kind == "latency":
        return LatencyKeys(sent=_count(k, "sent"), received=_count(k, "received"),
                           rtt_avg_ms=opt_num(k.get("rtt_avg_ms")))
    start, rate, sent = num(k, "start_wall", where), num(k, "rate", where), num(k, "sent", where)
    replies = k.get("replies") or []
    if not isinstance(replies, list) or not all(
            isinstance(r, list) and len(r) == 3 and opt_num(r[2]) is not None for r in replies):
        raise RecordError(f"{where}: 'replies' must be a list of [seq, t_sent, t_received]")
    return StreamKeys(start_wall=start, rate=rate, sent=int(sent), received=_count(k, "received"),
                      replies=tuple(float(r[2]) for r in replies))


def _decisive_offset(keys: Mapping[str, Any], accessible: Any) -> float:
    """Seconds from a web measurement's start to its deciding packet (0 when unknown): the
    connection's completion for a page that loaded, the first SYN for one that did not."""
    tcp = [c for c in keys.get("tcp_connect") or [] if isinstance(c, dict)]
    if accessible is True:
        done = [c.get("t") for c in tcp if (c.get("status") or {}).get("success")]
        return opt_num(done[0]) or 0.0 if done else 0.0
    return opt_num(tcp[0].get("t0")) or 0.0 if tcp else 0.0
