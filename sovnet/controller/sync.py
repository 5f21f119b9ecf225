"""The controller's side of its conversation with the switches, as one object fed events.

Each method takes an OpenFlow event (a switch connected, a part of a flow or meter dump came,
a barrier was answered, an error, a disconnect) or a tick (a sync or an audit is due)
and returns a Step: the messages to send to that switch, in order, and whether to try it again
after a pause. It keeps what lives between events: the dump parts of the sync under way, the
barrier xids awaiting a reply, bundle ids and retry delays. What to sync and when is the
Enforcer's; which bytes go out is ofmsg's; the os-ken app only routes events here and sends what
comes back, so all of this is tested with a fake switch (tests/unit/controller/test_sync.py).

Thread-safe: the os-ken event loop, the store watcher, timers and the audit thread all call in.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from os_ken.ofproto import ofproto_v1_3 as ofp

from sovnet.controller import ofmsg
from sovnet.controller.enforcer import Enforcer
from sovnet.controller.ofcodec import decode_meters, decode_stats
from sovnet.reconcile.diff import FlowPlan

log = logging.getLogger("sovnet.controller")

RETRY_FIRST, RETRY_MAX = 0.5, 30.0  # s between attempts at a switch that refused a change
MAX_XID = 0xFFFFFFFF


@dataclass
class Step:
    send: list = field(default_factory=list)  # messages for the switch, datapath not yet bound
    retry_in: float | None = None  # sync the switch again after this many seconds


class SwitchSync:
    def __init__(self, enforcer: Enforcer, use_bundles: bool = True):
        self.enforcer = enforcer
        self.use_bundles = use_bundles
        self.lock = threading.Lock()
        self.online: set[int] = set()
        self.stats_parts: dict[int, list] = {}
        self.meter_parts: dict[int, list] = {}  # meter config replies of the sync under way
        self.barriers: dict[tuple[int, int], tuple[int, int]] = {}  # (dpid, xid) -> (rev, n)
        self.bundle_id = 0
        self.xid = 0
        self.retry_delay: dict[int, float] = {}

    # -- ticks ------------------------------------------------------------------------------
    def audit(self, dpid: int) -> Step:
        """Fetch and check every flow of the switch."""
        self.enforcer.audit(dpid)
        return self.sync(dpid)

    def sync_all(self) -> dict[int, Step]:
        """After a compile: the switches it left untouched are acknowledged at once and sent
        nothing; the others start a sync."""
        with self.lock:
            online = sorted(self.online)
        return {dpid: self.sync(dpid) for dpid in self.enforcer.settle(online)}

    def sync(self, dpid: int) -> Step:
        """Start a sync of one switch (from any thread). A failure starts it over later."""
        try:
            return self._start_sync(dpid)
        except Exception as e:  # noqa: BLE001
            log.exception("dpid=%016x sync failed", dpid)
            return self.failed(dpid, f"sync: {e}")

    # -- events -----------------------------------------------------------------------------
    def connected(self, dpid: int) -> Step:
        with self.lock:
            self.stats_parts.pop(dpid, None)
            self.meter_parts.pop(dpid, None)
            self.retry_delay.pop(dpid, None)
            self.online.add(dpid)
        self.enforcer.connected(dpid)
        return self.sync(dpid)

    def disconnected(self, dpid: int) -> None:
        with self.lock:
            self.online.discard(dpid)
            self.stats_parts.pop(dpid, None)  # a dump cut off by the disconnect
            self.meter_parts.pop(dpid, None)
        self.enforcer.disconnected(dpid)

    def flow_stats(self, dpid: int, body: list, flags: int) -> Step:
        """One part of the flow dump; the last part (no REPLY_MORE flag) gets the push."""
        with self.lock:
            self.stats_parts.setdefault(dpid, []).extend(body)
            if flags & ofp.OFPMPF_REPLY_MORE:
                return Step()
            parts = self.stats_parts.pop(dpid)
            # The meter dump was asked for first, so on OpenFlow's in-order channel it is
            # complete.
            meters = self.meter_parts.pop(dpid, None)
        actual = decode_stats(dpid, ofp, parts)
        plan, current, rev = self.enforcer.plan_for(
            dpid, actual, None if meters is None else decode_meters(meters))
        return self._push(dpid, plan, current, rev)

    def meter_stats(self, dpid: int, body: list) -> Step:
        with self.lock:
            self.meter_parts.setdefault(dpid, []).extend(body)
        return Step()

    def barrier_reply(self, dpid: int, xid: int) -> Step:
        with self.lock:
            rev, n = self.barriers.pop((dpid, xid), (None, 0))
        if rev is None:
            return Step()
        then = self.enforcer.acknowledged(dpid, rev, n)
        if then == "retry":
            return self._retry_later(dpid)
        log.info("dpid=%016x enforces revision %d (%d flow changes)", dpid, rev, n)
        with self.lock:
            self.retry_delay.pop(dpid, None)
        return self.sync(dpid) if then == "sync" else Step()

    def error(self, dpid: int, err_type: int, code: int) -> None:
        text = f"OpenFlow error type={err_type} code={code}"
        log.error("dpid=%016x %s", dpid, text)
        self.enforcer.error(dpid, text)

    def failed(self, dpid: int, text: str) -> Step:
        """The sync under way broke on our side: start the switch over, fully, after a pause."""
        self.enforcer.failed(dpid, text)
        return self._retry_later(dpid)

    # -- inside -----------------------------------------------------------------------------
    def _start_sync(self, dpid: int) -> Step:
        with self.lock:
            if dpid not in self.online:
                return Step()
        req = self.enforcer.begin_sync(dpid)
        if req is None:
            return Step()
        if req.kinds is not None and not req.kinds:
            # Nothing of this switch changed: a barrier alone acknowledges the revision.
            return self._push(dpid, *self.enforcer.plan_for(dpid, []))
        msgs = [ofmsg.flow_stats_request(req.kinds)]
        with self.lock:
            if req.meters:
                self.meter_parts[dpid] = []  # an empty reply still means "no meters"
                msgs.insert(0, ofmsg.meter_config_request())
            else:
                self.meter_parts.pop(dpid, None)
        return Step(msgs)

    def _push(self, dpid: int, plan: FlowPlan, current: dict, rev: int) -> Step:
        with self.lock:
            bundle_id = None
            if self.use_bundles and (plan.add or plan.modify or plan.delete):
                self.bundle_id = bundle_id = (self.bundle_id + 1) & 0xFFFFFFFF
            self.xid = xid = self.xid % MAX_XID + 1
            self.barriers[(dpid, xid)] = (rev, len(plan))
        if plan:
            log.info("dpid=%016x revision %d: %s", dpid, rev, plan.summary())
        return Step(ofmsg.push(plan, current, bundle_id, xid))

    def _retry_later(self, dpid: int) -> Step:
        with self.lock:
            delay = self.retry_delay.get(dpid, RETRY_FIRST)
            self.retry_delay[dpid] = min(delay * 2, RETRY_MAX)
        return Step(retry_in=delay)
