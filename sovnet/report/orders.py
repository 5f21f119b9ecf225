"""What was ordered, and when each ISP obeyed: the store's revisions of a run read as orders.

    orders(run)        -> [Order]        each revision a reader should see, in plain words, with
                                         when each ISP's first and last switch enforced it
    policy_spans(run)  -> [PolicySpan]   each policy from its order to its revocation (or the end)

From revisions.jsonl (who, why, what changed, every switch's answer); a folder older than that
file falls back to the timeline's steps in events.jsonl, which carry what was done and the acks
but not the author. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sovnet.model.policy import Policy, initial_subscribers
from sovnet.model.schedule import Clock
from sovnet.model.topology import Topology
from sovnet.report.dataset import Run
from sovnet.report.words import change_words
from sovnet.results import Revision, StepEvent

SHARED = "shared"  # switches no ISP owns: the IXP, the data centre, the internet


@dataclass(frozen=True)
class IspEnforcement:
    isp: str  # an ISP's name, or SHARED
    switches: int
    acked: int  # switches that enforce the revision
    refused: int
    changed: int  # ... of which changed their flow table for it
    first_ms: float | None  # commit -> the first of its switches' answers
    last_ms: float | None  # ... the last one's (None: none answered)

    @property
    def complete(self) -> bool:
        return self.acked == self.switches


@dataclass(frozen=True)
class Order:
    number: int  # 1, 2, ...: how the figures and the table refer to it
    revision: int | None
    step: int | None  # the timeline step that made it (None: made outside the timeline)
    t_scenario: float | None
    author: str
    reason: str
    lines: tuple[str, ...]  # what changed, in plain words
    enforcement: tuple[IspEnforcement, ...]


@dataclass(frozen=True)
class PolicySpan:
    policy: Policy
    start_s: float
    end_s: float | None  # None: still in force at the end of the run
    order: int  # the Order that made it
    windows: tuple[tuple[float, float], ...] = ()  # a scheduled policy: when it bit

    def in_force(self, until: float, origin: float) -> tuple[tuple[float, float], ...]:
        """(start, end) scenario seconds when it applied, up to `until`: its whole span, or
        for a scheduled policy its windows, on the scenario's clock (`origin`: the time of
        day at t=0)."""
        end = until if self.end_s is None else min(self.end_s, until)
        sched = self.policy.schedule
        if sched is None:
            return ((self.start_s, end),)
        clock = Clock(0.0, 1.0, origin)  # the schedule's t is scenario time, as is ours
        out, t = [], self.start_s
        for _ in range(100_000):  # a bound, not a limit met: a daily window over 100 years
            if t >= end:
                break
            nxt = min(sched.next_change(clock, t) or end, end)
            if sched.active(clock, t):
                out.append((t, nxt))
            t = nxt
        return tuple(out)


def switch_owners(topo: Topology) -> dict[str, list[str]]:
    """ISP (or SHARED) -> its switches, ISPs in the topology's order, SHARED last."""
    out: dict[str, list[str]] = {isp.name: [] for isp in topo.isps}
    for sw in topo.switches:
        out.setdefault(sw.isp or SHARED, []).append(sw.name)
    return {k: v for k, v in out.items() if v}


def enforcement(topo: Topology, ack_ms: dict[str, float], refused: dict[str, str],
                changed: dict[str, int]) -> tuple[IspEnforcement, ...]:
    out = []
    for isp, names in switch_owners(topo).items():
        ms = [ack_ms[n] for n in names if n in ack_ms and n not in refused]
        out.append(IspEnforcement(
            isp, len(names), len(ms), sum(n in refused for n in names),
            sum(changed.get(n, 0) > 0 for n in names),
            min(ms) if ms else None, max(ms) if ms else None))
    return tuple(out)


def _step_of(run: Run) -> dict[int, StepEvent]:
    return {s.revision: s for s in run.steps if s.revision is not None}


def _t(rev: Revision, step: StepEvent | None) -> float | None:
    if step is not None:
        return step.t_scenario
    return rev.t_scenario


def orders(run: Run) -> list[Order]:
    if not run.revisions:
        return _from_steps(run)
    steps = _step_of(run)
    before = _inventory(run.topology)
    out: list[Order] = []
    for rev in run.revisions:
        lines = []
        for c in rev.changes:
            text = change_words(c.entity, c.key, c.op, c.body, before.get((c.entity, c.key)))
            if c.op == "put":
                before[(c.entity, c.key)] = c.body
            else:
                before.pop((c.entity, c.key), None)
            if text is not None:
                lines.append(text)
        if not lines:
            continue
        ack_ms = {sw: ms for sw in rev.acks if (ms := rev.ack_ms(sw)) is not None}
        refused = {sw: a.refused for sw, a in rev.acks.items() if a.refused}
        changed = {sw: a.flows_changed for sw, a in rev.acks.items()}
        step = steps.get(rev.revision)
        out.append(Order(len(out) + 1, rev.revision, step.index if step else None,
                         _t(rev, step), rev.author, rev.reason, tuple(lines),
                         enforcement(run.topology, ack_ms, refused, changed)))
    return out


def _inventory(topo: Topology) -> dict[tuple[str, str], dict[str, Any]]:
    """What the store holds of subscribers and devices once it has loaded the topology (the
    revision before revisions.jsonl begins), so that the first change says what it changed."""
    subs = initial_subscribers(topo)
    out: dict[tuple[str, str], dict[str, Any]] = {
        ("subscriber", name): {"status": st.status, "standing": st.standing}
        for name, st in subs.items()}
    out |= {("device", mac): {"subscriber": name}
            for name, st in subs.items() for mac in st.devices}
    return out


def others(orders: list[Order]) -> list[tuple[float, str]]:
    """(scenario time, what) of each order that is not a policy's: registrations, standing."""
    out = []
    for o in orders:
        rest = [line for line in o.lines if not line.startswith(("ordered: ", "revoked: "))]
        if rest and o.t_scenario is not None:
            more = f" (+{len(rest) - 1} more)" if len(rest) > 1 else ""
            out.append((o.t_scenario, rest[0] + more))
    return out


def _from_steps(run: Run) -> list[Order]:
    out: list[Order] = []
    for s in run.steps:
        if s.revision is None or s.t_commit is None:
            continue
        ack_ms = {sw: (t - s.t_commit) * 1000.0 for sw, t in s.acks.items()}
        out.append(Order(len(out) + 1, s.revision, s.index, s.t_scenario, "", s.label,
                         s.actions, enforcement(run.topology, ack_ms, s.refused, {})))
    return out


def policy_spans(run: Run, made: list[Order] | None = None) -> list[PolicySpan]:
    """Every policy ordered during the run, from its order to its revocation; `made`: the
    run's orders(run), where the caller has them already."""
    number = {o.revision: o.number for o in (orders(run) if made is None else made)}
    steps = _step_of(run)
    open_: dict[str, PolicySpan] = {}
    done: list[PolicySpan] = []
    for rev in run.revisions:
        t = _t(rev, steps.get(rev.revision))
        if t is None:
            continue
        for c in rev.changes:
            if c.entity != "policy":
                continue
            if c.key in open_:  # replaced or revoked: its span ends here
                done.append(_ended(open_.pop(c.key), t))
            if c.op == "put":
                open_[c.key] = PolicySpan(Policy.from_body(int(c.key), c.body), t, None,
                                          number.get(rev.revision, 0))
    return sorted([*done, *open_.values()], key=lambda s: (s.start_s, s.policy.id))


def clock_origin(run: Run) -> float:
    """The time of day at t=0 (seconds), as the run's clock setting says; else midnight."""
    for rev in run.revisions:
        for c in rev.changes:
            if (c.entity, c.key, c.op) == ("setting", "clock", "put"):
                return float(c.body.get("origin") or 0.0)
    return run.calendar_t0 % 86400.0 if run.calendar_t0 is not None else 0.0


def _ended(span: PolicySpan, t: float) -> PolicySpan:
    return PolicySpan(span.policy, span.start_s, t, span.order)


def ms_text(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "–"
    return f"{v:.0f} ms" if v >= 10 else f"{v:.1f} ms"
