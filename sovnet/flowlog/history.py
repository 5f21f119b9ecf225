"""Judge each exported flow by the policies in force while it ran. Pure: no store, no sockets.

An export reaches the collector 1-3 s after the flow's packets, and a timeline step may add or
revoke a log policy in between (at an experiment's time scale, a second is emulated hours). So
a flow is judged by every store revision in force from its first packet to its last, not only
by the one in force when its export arrives: it is recorded if a log policy covered it at any
moment it ran, under the newest such revision's policy. A scheduled log policy (a daily
window, from/until on the scenario clock) counts where its schedule held at the flow's first or
last packet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sovnet.compile.flowlog import ExportedFlow, FlowRecord, exporters, to_records
from sovnet.model.schedule import in_force
from sovnet.model.topology import Switch, Topology

KEEP = 120.0  # seconds of superseded revisions kept: far longer than an export's lag


class PolicyTimeline:
    """The store snapshots (sovnet.store.Snapshot) in force over the last KEEP seconds."""

    def __init__(self, keep: float = KEEP):
        self.keep = keep
        self._snaps: list[tuple[float, Any]] = []  # (committed_at, snapshot), oldest first

    def add(self, snapshot: Any) -> None:
        """A newly committed revision's snapshot (one writer at a time; readers in other
        threads see the old list or the new one, never one half-changed)."""
        at = snapshot.committed_at or 0.0
        if self._snaps and snapshot.revision <= self._snaps[-1][1].revision:
            return  # already known: the watcher and a direct read can race to report it
        snaps = self._snaps + [(at, snapshot)]
        # Keep the one in force at `at - keep`, and everything after it.
        while len(snaps) > 1 and snaps[1][0] <= at - self.keep:
            snaps.pop(0)
        self._snaps = snaps

    @property
    def current(self) -> Any | None:
        snaps = self._snaps
        return snaps[-1][1] if snaps else None

    def during(self, start: float, end: float) -> list[Any]:
        """The snapshots in force at some moment of [start, end], newest first. Before the
        oldest one kept, the oldest one kept stands in."""
        snaps = self._snaps
        if not snaps:
            return []
        first = max((i for i, (at, _) in enumerate(snaps) if at <= start), default=0)
        kept = snaps[first:]
        return [snap for at, snap in reversed(kept) if at <= end] or [kept[0][1]]


def exporter_switches(topo: Topology) -> dict[int, Switch]:
    """NetFlow exporter number -> the switch (see sovnet.compile.flowlog.exporters)."""
    return {number: topo.switch(name) for name, number in exporters(topo).items()}


def records(timeline: PolicyTimeline, switch: Switch, flows: Iterable[ExportedFlow],
            collected_at: float) -> list[FlowRecord]:
    """The flow-log records of flows `switch` exported, judged by `timeline`."""
    out: list[FlowRecord] = []
    for flow in flows:
        chosen: dict[tuple[str, str], FlowRecord] = {}
        for snap in timeline.during(flow.first_seen, flow.last_seen):
            if snap.topology is None:
                continue
            clock = snap.clock
            scheduled = {p.id: p for t in (flow.first_seen, flow.last_seen)
                         for p in in_force(snap.policies, clock, t)}
            for r in to_records(snap.topology, scheduled.values(), snap.subscribers, switch,
                                flow, collected_at):
                chosen.setdefault((r.subscriber, r.direction), r)  # the newest revision's
        out.extend(chosen.values())
    return out
