"""events.jsonl entries that readers use, as typed values. Pure.

A `step` event: a timeline step, its store commit and each switch's acknowledgement (or
refusal). A `stream_effect` event: when a step's cut or admission showed in a stream probe's
replies (sovnet.experiments.stream_effect derives them, the report draws them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sovnet.results.files import RecordError, num, opt_num, opt_str, string

REFUSED_PREFIX = "failed: "  # how folders before `Ack.refused` wrote a switch's refusal


def refusal(note: str) -> str:
    """A switch's refusal as a reason: old folders wrote "failed: <why>", newer ones "<why>"."""
    return note[len(REFUSED_PREFIX):] if note.startswith(REFUSED_PREFIX) else note


@dataclass(frozen=True)
class StepEvent:
    index: int
    label: str
    phase: str
    t_scenario: float
    t_real: float
    revision: int | None  # None: the step changed nothing in the store
    t_commit: float | None
    acks: dict[str, float]  # switch -> t_real of its barrier reply
    t_enforced: float | None
    refused: dict[str, str]  # switch -> why it refused the change
    effect: tuple[tuple[str, str, bool], ...]  # (vantage, service, allowed after)
    actions: tuple[str, ...] = ()
    at_s: float | None = None  # the step's scheduled emulated time
    stream_effect: tuple[tuple[str, str, bool], ...] = ()  # ... for the stream probes' pairs

    @classmethod
    def parse(cls, e: Mapping[str, Any], where: str) -> StepEvent:
        d = dict(e)
        acks = d.get("acks") or {}
        refused = d.get("refused") or {}
        if not isinstance(acks, dict) or not isinstance(refused, dict):
            raise RecordError(f"{where}: 'acks' and 'refused' must be objects keyed by switch")
        rev = d.get("revision")
        return cls(
            index=int(num(d, "index", where)), label=str(d.get("label", "")),
            phase=str(d.get("phase") or ""), at_s=opt_num(d.get("at_s")),
            t_scenario=num(d, "t_scenario", where), t_real=num(d, "t_real", where),
            revision=rev if isinstance(rev, int) and not isinstance(rev, bool) else None,
            t_commit=opt_num(d.get("t_commit")),
            acks={str(k): float(v) for k, v in acks.items() if opt_num(v) is not None},
            t_enforced=opt_num(d.get("t_enforced")),
            refused={str(k): refusal(str(v)) for k, v in refused.items()},
            effect=_pairs(d, "effect", where), stream_effect=_pairs(d, "stream_effect", where),
            actions=tuple(str(a) for a in d.get("actions") or ()))


def _pairs(e: dict[str, Any], key: str, where: str) -> tuple[tuple[str, str, bool], ...]:
    out = []
    for item in e.get(key) or []:
        if not (isinstance(item, (list, tuple)) and len(item) == 3
                and isinstance(item[2], bool)):
            raise RecordError(f"{where}: '{key}' items must be [vantage, service, true|false],"
                              f" got {item!r}")
        out.append((str(item[0]), str(item[1]), item[2]))
    return tuple(out)


@dataclass(frozen=True)
class StreamEffect:
    """A step's effect on one stream: store commit -> last reply (a cut) or first reply (an
    admission)."""

    step: int
    at_s: float | None
    subscriber: str
    service: str
    allowed: bool  # after the step
    t_commit: float
    switch: str | None  # the subscriber's access switch
    switch_ack_ms: float | None  # its acknowledgement of the step, from the commit
    t_packet: float | None  # t_real of that last (first) reply
    delay_ms: float | None  # None: not measured, `note` says why
    replies_before: int
    replies_after: int
    note: str

    @classmethod
    def parse(cls, e: Mapping[str, Any], where: str) -> StreamEffect:
        d = dict(e)
        if not isinstance(d.get("allowed"), bool):
            raise RecordError(f"{where}: 'allowed' must be true or false, got "
                              f"{d.get('allowed')!r}")
        return cls(step=int(num(d, "step", where)), at_s=opt_num(d.get("at_s")),
                   subscriber=string(d, "subscriber", where), service=string(d, "service", where),
                   allowed=d["allowed"], t_commit=num(d, "t_commit", where),
                   switch=opt_str(d.get("switch")), switch_ack_ms=opt_num(d.get("switch_ack_ms")),
                   t_packet=opt_num(d.get("t_packet")), delay_ms=opt_num(d.get("delay_ms")),
                   replies_before=int(opt_num(d.get("replies_before")) or 0),
                   replies_after=int(opt_num(d.get("replies_after")) or 0),
                   note=str(d.get("note") or ""))

    def to_json(self) -> dict[str, Any]:
        """The event as written to events.jsonl (its field names, its order)."""
        return {"type": "stream_effect", "step": self.step, "at_s": self.at_s,
                "subscriber": self.subscriber, "service": self.service, "allowed": self.allowed,
                "t_commit": self.t_commit, "switch": self.switch,
                "switch_ack_ms": self.switch_ack_ms, "t_packet": self.t_packet,
                "delay_ms": self.delay_ms, "replies_before": self.replies_before,
                "replies_after": self.replies_after, "note": self.note}
