"""When to sync which switch, with which desired flows, and what to record when it acknowledges.

One sync per switch is in flight at a time: flow-stats request -> diff -> bundle -> barrier.
A store change that arrives meanwhile marks the switch dirty and is synced right after the
barrier, so a diff is never computed from a dump that predates flow-mods still on the way
(kytos flow_manager's "verdict window", made exact by OpenFlow's in-order channel).

No os-ken here: the os-ken app feeds events in and sends what this decides.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sovnet.compile import compile_flows
from sovnet.errors import CompileError
from sovnet.model.flows import FlowKey, FlowRule
from sovnet.reconcile.diff import FlowPlan, diff

log = logging.getLogger("sovnet.controller")


@dataclass
class SwitchState:
    busy: bool = False
    dirty: bool = False
    acked_upto: int | None = None  # last revision this switch acknowledged
    syncing_rev: int = 0
    note: str = ""


class Enforcer:
    def __init__(self, store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock
        self.lock = threading.RLock()
        self.revision = -1
        self.desired: dict[int, tuple[FlowRule, ...]] = {}
        self.switches: dict[int, SwitchState] = {}

    # -- store side -------------------------------------------------------------------------
    def recompile(self) -> bool:
        """Read the store; compile when its revision moved. True when the desired flows changed."""
        snap = self.store.snapshot()
        with self.lock:
            if snap.revision == self.revision:
                return False
        if snap.topology is None:
            log.warning("revision %d: no inventory loaded yet; nothing to enforce", snap.revision)
            return False
        try:
            tables = compile_flows(snap.topology, snap.policies, snap.subscribers)
        except CompileError as e:
            log.error("revision %d not enforced: %s", snap.revision, e)
            return False
        with self.lock:
            self.revision, self.desired = snap.revision, tables
        log.info("revision %d compiled: %d flows on %d switches", snap.revision,
                 sum(len(f) for f in tables.values()), len(tables))
        return True

    # -- switch side ------------------------------------------------------------------------
    def connected(self, dpid: int) -> None:
        with self.lock:
            self.switches[dpid] = SwitchState()

    def disconnected(self, dpid: int) -> None:
        with self.lock:
            self.switches.pop(dpid, None)

    def begin_sync(self, dpid: int) -> bool:
        """True when the caller should request this switch's flows now."""
        with self.lock:
            st = self.switches.get(dpid)
            if st is None:
                return False
            if st.busy:
                st.dirty = True
                return False
            st.busy, st.dirty, st.note = True, False, ""
            return True

    def plan_for(
        self, dpid: int, actual: list[FlowRule]
    ) -> tuple[FlowPlan, dict[FlowKey, FlowRule], int]:
        with self.lock:
            desired = self.desired.get(dpid)
            rev = self.revision
            st = self.switches.get(dpid)
            if st is not None:
                st.syncing_rev = rev
        if desired is None:
            # A switch the inventory does not know: leave its flows alone, say so once.
            log.warning("dpid=%016x is not in the inventory; its flows are left alone", dpid)
            return FlowPlan(), {}, rev
        current = {f.key: f for f in actual}
        return diff(desired, actual), current, rev

    def error(self, dpid: int, text: str) -> None:
        with self.lock:
            st = self.switches.get(dpid)
            if st is not None:
                st.note = (st.note + "; " if st.note else "") + text

    def acknowledged(self, dpid: int, revision: int, flows_changed: int) -> bool:
        """Record the barrier reply. True when the switch went dirty meanwhile (sync again)."""
        now = self.clock()
        with self.lock:
            st = self.switches.get(dpid)
            if st is None:
                return False
            first = revision if st.acked_upto is None else st.acked_upto + 1
            st.acked_upto = max(revision, st.acked_upto or 0)
            st.busy = False
            note, dirty = st.note, st.dirty
        for rev in range(first, revision + 1):
            self.store.record_ack(rev, dpid, now, flows_changed if rev == revision else 0, note)
        return dirty or revision != self.revision
