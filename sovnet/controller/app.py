"""The os-ken application: a shim that routes OpenFlow and store events to the Enforcer.

Each handler is a few lines. Decisions (what to compile, what to change, when to sync) live in
sovnet.controller.enforcer and the pure core; this module only talks OpenFlow.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import (
    CONFIG_DISPATCHER,
    DEAD_DISPATCHER,
    MAIN_DISPATCHER,
    set_ev_cls,
)
from os_ken.ofproto import ofproto_v1_3

from sovnet.controller import ofmsg
from sovnet.controller.enforcer import Enforcer
from sovnet.controller.ofcodec import decode_meters, decode_stats
from sovnet.controller.refusal import refusal
from sovnet.model.flows import KIND_SHIFT, KINDS, OWNER_MASK, OWNER_SHIFT, OWNER_TAG
from sovnet.store import StoreWatcher, open_store

log = logging.getLogger("sovnet.controller")


@dataclass
class Settings:
    store_path: str = "sovnet.db"
    reconcile_interval: float = 30.0  # s between full audits of every switch; 0 turns them off
    use_bundles: bool = True


SETTINGS = Settings()  # set by the launcher before os-ken instantiates the app
RETRY_FIRST, RETRY_MAX = 0.5, 30.0  # s between attempts at a switch that refused a change


def guarded(handler):
    """Keep os-ken's event loop alive: on the native hub any exception a handler raises ends
    the loop (TaskExit is Exception there), silently, and with it all enforcement. Log it, and
    start the switch over with a full sync after a pause."""

    @functools.wraps(handler)
    def run(self, ev):
        try:
            return handler(self, ev)
        except Exception as e:  # noqa: BLE001
            msg = getattr(ev, "msg", None)
            dp = getattr(ev, "datapath", None) or getattr(msg, "datapath", None)
            dpid = getattr(dp, "id", None)
            log.exception("dpid=%s %s failed", f"{dpid:016x}" if dpid else "?", handler.__name__)
            if dpid is not None:
                self.enforcer.failed(dpid, f"{handler.__name__}: {e}")
                self._retry_later(dpid)

    return run


class SovnetController(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = SETTINGS
        self.store = open_store(self.settings.store_path)
        self.enforcer = Enforcer(self.store)
        self.datapaths: dict[int, object] = {}
        self.stats_parts: dict[int, list] = {}
        self.meter_parts: dict[int, list] = {}  # meter config replies of the sync under way
        self.barriers: dict[tuple[int, int], tuple[int, int]] = {}  # (dpid, xid) -> (rev, n)
        self.send_lock = threading.Lock()
        self.bundle_id = 0
        self.stopping = threading.Event()
        self.retry_delay: dict[int, float] = {}
        self.schedule_timer: threading.Timer | None = None
        self.timer_lock = threading.Lock()
        self.watcher = StoreWatcher(self.settings.store_path, self._store_changed)

    def start(self):
        thread = super().start()
        # Watcher first: a commit that lands meanwhile is then seen by one or the other; the
        # enforcer keeps whichever compile is newest.
        self.watcher.start()
        self.enforcer.recompile()
        self._arm_schedule()
        if self.settings.reconcile_interval > 0:
            threading.Thread(target=self._audit_loop, daemon=True, name="audit").start()
        return thread

    def stop(self):
        self.stopping.set()
        self.watcher.stop()
        with self.timer_lock:
            if self.schedule_timer is not None:
                self.schedule_timer.cancel()
        super().stop()

    # -- store ------------------------------------------------------------------------------
    def _store_changed(self, revision: int | None = None) -> None:
        try:
            if self.enforcer.recompile():
                for dpid in list(self.datapaths):
                    self._sync(dpid)
        except Exception:  # noqa: BLE001 (the watcher thread must survive a bad revision)
            log.exception("revision %s: enforcement failed", revision)
        self._arm_schedule()

    def _arm_schedule(self) -> None:
        """Recompile when the next schedule may flip: nobody writes the store for a curfew to
        start or end."""
        at = self.enforcer.next_change
        with self.timer_lock:
            if self.schedule_timer is not None:
                self.schedule_timer.cancel()
                self.schedule_timer = None
            if at is None or self.stopping.is_set():
                return
            # a millisecond late, so that the flip has happened when the clock is read
            self.schedule_timer = threading.Timer(max(at - time.time(), 0.0) + 0.001,
                                                  self._store_changed)
            self.schedule_timer.daemon = True
            self.schedule_timer.start()

    def _retry_later(self, dpid: int) -> None:
        delay = self.retry_delay.get(dpid, RETRY_FIRST)
        self.retry_delay[dpid] = min(delay * 2, RETRY_MAX)
        timer = threading.Timer(delay, self._sync, args=(dpid,))
        timer.daemon = True
        timer.start()

    def _audit_loop(self) -> None:
        while not self.stopping.wait(self.settings.reconcile_interval):
            for dpid in list(self.datapaths):
                self.enforcer.audit(dpid)
                self._sync(dpid)

    # -- switches ---------------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    @guarded
    def _features(self, ev):
        dp = ev.msg.datapath
        log.info("dpid=%016x connected from %s", dp.id, dp.address)
        self.stats_parts.pop(dp.id, None)
        self.meter_parts.pop(dp.id, None)
        self.retry_delay.pop(dp.id, None)
        self.datapaths[dp.id] = dp
        self.enforcer.connected(dp.id)
        self._sync(dp.id)

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    @guarded
    def _gone(self, ev):
        dp = ev.datapath
        if dp.id is not None and self.datapaths.get(dp.id) is dp:
            log.warning("dpid=%016x disconnected", dp.id)
            del self.datapaths[dp.id]
            self.stats_parts.pop(dp.id, None)  # a dump cut off by the disconnect
            self.meter_parts.pop(dp.id, None)
            self.enforcer.disconnected(dp.id)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    @guarded
    def _flow_stats(self, ev):
        dp, msg = ev.msg.datapath, ev.msg
        self.stats_parts.setdefault(dp.id, []).extend(msg.body)
        if msg.flags & dp.ofproto.OFPMPF_REPLY_MORE:
            return
        actual = decode_stats(dp.id, dp.ofproto, self.stats_parts.pop(dp.id))
        # The meter dump was asked for first, so on OpenFlow's in-order channel it is complete.
        meters = self.meter_parts.pop(dp.id, None)
        plan, current, rev = self.enforcer.plan_for(
            dp.id, actual, None if meters is None else decode_meters(meters))
        self._push(dp, plan, current, rev)

    @set_ev_cls(ofp_event.EventOFPMeterConfigStatsReply, MAIN_DISPATCHER)
    @guarded
    def _meter_stats(self, ev):
        self.meter_parts.setdefault(ev.msg.datapath.id, []).extend(ev.msg.body)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    @guarded
    def _barrier(self, ev):
        dp = ev.msg.datapath
        rev, n = self.barriers.pop((dp.id, ev.msg.xid), (None, 0))
        if rev is None:
            return
        then = self.enforcer.acknowledged(dp.id, rev, n)
        if then == "retry":
            self._retry_later(dp.id)
            return
        log.info("dpid=%016x enforces revision %d (%d flow changes)", dp.id, rev, n)
        self.retry_delay.pop(dp.id, None)
        if then == "sync":
            self._sync(dp.id)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    @guarded
    def _error(self, ev):
        msg = ev.msg
        text = f"OpenFlow error type={msg.type} code={msg.code}"
        log.error("dpid=%016x %s", msg.datapath.id, text)
        self.enforcer.error(msg.datapath.id, text)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev):
        """A packet a reject policy sent up: tell its sender no, out of the port it came in.
        Not @guarded: one packet we cannot answer is no reason to resync the switch, but no
        exception may leave the handler (it would end os-ken's event loop)."""
        msg = ev.msg
        try:
            answer = refusal(msg.data)
            if answer is None:
                return
            dp = msg.datapath
            ofp, parser = dp.ofproto, dp.ofproto_parser
            out = parser.OFPPacketOut(datapath=dp, buffer_id=ofp.OFP_NO_BUFFER,
                                      in_port=ofp.OFPP_CONTROLLER,
                                      actions=[parser.OFPActionOutput(msg.match["in_port"])],
                                      data=answer)
            self._send(dp, [out])
        except Exception:  # noqa: BLE001
            log.exception("dpid=%016x cannot answer a rejected packet", msg.datapath.id)

    @set_ev_cls(ofp_event.EventONFBundleCtrlMsg, MAIN_DISPATCHER)
    @guarded
    def _bundle_reply(self, ev):
        log.debug("dpid=%016x bundle %d reply type %d", ev.msg.datapath.id,
                  ev.msg.bundle_id, ev.msg.type)

    # -- sending ----------------------------------------------------------------------------
    def _sync(self, dpid: int) -> None:
        """Start a sync of one switch (from any thread). A failure starts it over later."""
        try:
            self._start_sync(dpid)
        except Exception as e:  # noqa: BLE001
            log.exception("dpid=%016x sync failed", dpid)
            self.enforcer.failed(dpid, f"sync: {e}")
            self._retry_later(dpid)

    def _start_sync(self, dpid: int) -> None:
        dp = self.datapaths.get(dpid)
        req = self.enforcer.begin_sync(dpid) if dp is not None else None
        if req is None:
            return
        if req.kinds is not None and not req.kinds:
            # Nothing of this switch changed: a barrier alone acknowledges the revision.
            self._push(dp, *self.enforcer.plan_for(dpid, []))
            return
        cookie, mask = OWNER_TAG << OWNER_SHIFT, OWNER_MASK
        if req.kinds is not None and len(req.kinds) == 1:
            (kind,) = req.kinds
            cookie |= KINDS[kind] << KIND_SHIFT
            mask |= 0xFF << KIND_SHIFT
        parser = dp.ofproto_parser
        stats = parser.OFPFlowStatsRequest(
            dp, 0, dp.ofproto.OFPTT_ALL, dp.ofproto.OFPP_ANY, dp.ofproto.OFPG_ANY,
            cookie, mask, parser.OFPMatch())
        msgs = [stats]
        if req.meters:
            self.meter_parts[dpid] = []  # an empty reply still means "no meters"
            msgs.insert(0, parser.OFPMeterConfigStatsRequest(dp, 0, dp.ofproto.OFPM_ALL))
        else:
            self.meter_parts.pop(dpid, None)
        self._send(dp, msgs)

    def _push(self, dp, plan, current, rev: int) -> None:
        ofp, parser = dp.ofproto, dp.ofproto_parser
        mods = ofmsg.bind(dp, ofmsg.flow_mods(plan, current))
        meters_before, meters_after = (ofmsg.bind(dp, m) for m in ofmsg.meter_mods(plan))
        msgs = list(meters_before)
        if mods and self.settings.use_bundles:
            # One atomic bundle per switch: a packet sees the old tables or the new, never a mix.
            self.bundle_id = (self.bundle_id + 1) & 0xFFFFFFFF
            flags = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED
            msgs.append(parser.ONFBundleCtrlMsg(dp, self.bundle_id, ofp.ONF_BCT_OPEN_REQUEST,
                                                flags, []))
            msgs.extend(parser.ONFBundleAddMsg(dp, self.bundle_id, flags, m, []) for m in mods)
            msgs.append(parser.ONFBundleCtrlMsg(dp, self.bundle_id, ofp.ONF_BCT_COMMIT_REQUEST,
                                                flags, []))
        else:
            msgs.extend(mods)
        msgs.extend(meters_after)
        barrier = parser.OFPBarrierRequest(dp)
        with self.send_lock:
            dp.set_xid(barrier)
            self.barriers[(dp.id, barrier.xid)] = (rev, len(plan))
        if plan:
            log.info("dpid=%016x revision %d: %s", dp.id, rev, plan.summary())
        self._send(dp, [*msgs, barrier])

    def _send(self, dp, msgs) -> None:
        with self.send_lock:
            for m in msgs:
                dp.send_msg(m)
