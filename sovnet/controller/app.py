"""The os-ken application: a shim that routes OpenFlow and store events to the Enforcer.

Each handler is a few lines. Decisions (what to compile, what to change, when to sync) live in
sovnet.controller.enforcer and the pure core; this module only talks OpenFlow.
"""

from __future__ import annotations

import logging
import threading
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

from sovnet.controller.enforcer import Enforcer
from sovnet.controller.ofcodec import decode_stats, plan_messages
from sovnet.model.flows import KIND_SHIFT, KINDS, OWNER_MASK, OWNER_SHIFT, OWNER_TAG
from sovnet.store import StoreWatcher, open_store

log = logging.getLogger("sovnet.controller")


@dataclass
class Settings:
    store_path: str = "sovnet.db"
    reconcile_interval: float = 30.0  # s between full audits of every switch; 0 turns them off
    use_bundles: bool = True


SETTINGS = Settings()  # set by the launcher before os-ken instantiates the app


class SovnetController(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = SETTINGS
        self.store = open_store(self.settings.store_path)
        self.enforcer = Enforcer(self.store)
        self.datapaths: dict[int, object] = {}
        self.stats_parts: dict[int, list] = {}
        self.barriers: dict[tuple[int, int], tuple[int, int]] = {}  # (dpid, xid) -> (rev, n)
        self.send_lock = threading.Lock()
        self.bundle_id = 0
        self.stopping = threading.Event()
        self.watcher = StoreWatcher(self.settings.store_path, self._store_changed)

    def start(self):
        thread = super().start()
        self.enforcer.recompile()
        self.watcher.start()
        if self.settings.reconcile_interval > 0:
            threading.Thread(target=self._audit_loop, daemon=True, name="audit").start()
        return thread

    def stop(self):
        self.stopping.set()
        self.watcher.stop()
        super().stop()

    # -- store ------------------------------------------------------------------------------
    def _store_changed(self, revision: int) -> None:
        if self.enforcer.recompile():
            for dpid in list(self.datapaths):
                self._sync(dpid)

    def _audit_loop(self) -> None:
        while not self.stopping.wait(self.settings.reconcile_interval):
            for dpid in list(self.datapaths):
                self.enforcer.audit(dpid)
                self._sync(dpid)

    # -- switches ---------------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _features(self, ev):
        dp = ev.msg.datapath
        log.info("dpid=%016x connected from %s", dp.id, dp.address)
        self.datapaths[dp.id] = dp
        self.enforcer.connected(dp.id)
        self._sync(dp.id)

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    def _gone(self, ev):
        dp = ev.datapath
        if dp.id is not None and self.datapaths.get(dp.id) is dp:
            log.warning("dpid=%016x disconnected", dp.id)
            del self.datapaths[dp.id]
            self.enforcer.disconnected(dp.id)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def _flow_stats(self, ev):
        dp, msg = ev.msg.datapath, ev.msg
        self.stats_parts.setdefault(dp.id, []).extend(msg.body)
        if msg.flags & dp.ofproto.OFPMPF_REPLY_MORE:
            return
        actual = decode_stats(dp.id, dp.ofproto, self.stats_parts.pop(dp.id))
        plan, current, rev = self.enforcer.plan_for(dp.id, actual)
        self._push(dp, plan, current, rev)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier(self, ev):
        dp = ev.msg.datapath
        rev, n = self.barriers.pop((dp.id, ev.msg.xid), (None, 0))
        if rev is None:
            return
        log.info("dpid=%016x enforces revision %d (%d flow changes)", dp.id, rev, n)
        if self.enforcer.acknowledged(dp.id, rev, n):
            self._sync(dp.id)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def _error(self, ev):
        msg = ev.msg
        text = f"OpenFlow error type={msg.type} code={msg.code}"
        log.error("dpid=%016x %s", msg.datapath.id, text)
        self.enforcer.error(msg.datapath.id, text)

    @set_ev_cls(ofp_event.EventONFBundleCtrlMsg, MAIN_DISPATCHER)
    def _bundle_reply(self, ev):
        log.debug("dpid=%016x bundle %d reply type %d", ev.msg.datapath.id,
                  ev.msg.bundle_id, ev.msg.type)

    # -- sending ----------------------------------------------------------------------------
    def _sync(self, dpid: int) -> None:
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
        self._send(dp, [stats])

    def _push(self, dp, plan, current, rev: int) -> None:
        ofp, parser = dp.ofproto, dp.ofproto_parser
        mods = plan_messages(dp, plan, current)
        msgs = []
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
