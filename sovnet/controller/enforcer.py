"""When to sync which switch, with which desired flows, and what to record when it acknowledges.

One sync per switch is in flight at a time: flow-stats request -> diff -> bundle -> barrier.
A routine sync after a store change fetches only the kinds of flows (admission, policy, ...:
the cookie's kind byte) whose desired state changed on that switch, and a switch with nothing
to change gets just a barrier; on connect and on the periodic audit every flow is fetched.
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
from sovnet.model.flows import FlowKey, FlowRule, cookie_kind
from sovnet.reconcile.diff import FlowPlan, diff

log = logging.getLogger("sovnet.controller")


@dataclass
class SwitchState:
    busy: bool = False
    dirty: bool = False
    acked_upto: int | None = None  # last revision this switch acknowledged
    syncing_rev: int = 0
    note: str = ""
    pending: set[str] | None = None  # kinds to fetch at the next sync; None: every flow
    syncing: frozenset[str] | None = None


@dataclass(frozen=True)
class SyncRequest:
    kinds: frozenset[str] | None  # None: fetch every flow of ours; empty: fetch nothing


def changed_kinds(old: tuple[FlowRule, ...], new: tuple[FlowRule, ...]) -> set[str]:
    return {cookie_kind(f.cookie) for f in set(old) ^ set(new)}


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
            old, self.revision, self.desired = self.desired, snap.revision, tables
            for dpid, st in self.switches.items():
                if st.pending is not None:
                    st.pending |= changed_kinds(old.get(dpid, ()), tables.get(dpid, ()))
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

    def audit(self, dpid: int) -> None:
        """The next sync of this switch fetches and checks every flow."""
        with self.lock:
            st = self.switches.get(dpid)
            if st is not None:
                st.pending = None

    def begin_sync(self, dpid: int) -> SyncRequest | None:
        """What to fetch from this switch now; None when no sync should start now."""
        with self.lock:
            st = self.switches.get(dpid)
            if st is None:
                return None
            if st.busy:
                st.dirty = True
                return None
            st.busy, st.dirty, st.note = True, False, ""
            st.syncing = None if st.pending is None else frozenset(st.pending)
            st.pending = set()
            return SyncRequest(st.syncing)

    def plan_for(
        self, dpid: int, actual: list[FlowRule]
    ) -> tuple[FlowPlan, dict[FlowKey, FlowRule], int]:
        """The plan for the flows fetched by the sync under way (`actual` holds those only)."""
        with self.lock:
            desired = self.desired.get(dpid)
            rev = self.revision
            st = self.switches.get(dpid)
            kinds = st.syncing if st is not None else None
            if st is not None:
                st.syncing_rev = rev
        if desired is None:
            # A switch the inventory does not know: leave its flows alone, say so once.
            log.warning("dpid=%016x is not in the inventory; its flows are left alone", dpid)
            return FlowPlan(), {}, rev
        if kinds is not None:
            desired = tuple(f for f in desired if cookie_kind(f.cookie) in kinds)
            actual = [f for f in actual if cookie_kind(f.cookie) in kinds]
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
