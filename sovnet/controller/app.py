"""The os-ken application: a shim that routes OpenFlow and store events to SwitchSync.

Each handler hands its event to sovnet.controller.sync, which decides, and sends what comes back
(ofmsg builds the messages without a switch; `bind` attaches this one). Threads (the store
watcher, the schedule and retry timers, the audit loop) live here because they are the edge.

Load it as any os-ken app (`AppManager.run_apps(["sovnet.controller.app"])`); it reads its
settings from os-ken's configuration, group [sovnet] (see OPTS), so they come from the command
line (--sovnet-store ...) when the module is imported before os-ken parses it, or from a
--config-file section otherwise. `sovnet controller` and controller/sovnet_controller.py do this.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import (
    CONFIG_DISPATCHER,
    DEAD_DISPATCHER,
    MAIN_DISPATCHER,
    set_ev_cls,
)
from os_ken.ofproto import ofproto_v1_3
from oslo_config import cfg as oslo_cfg

from sovnet.compile.shards import parse_shard
from sovnet.controller import ofmsg
from sovnet.controller.ackwriter import AckWriter
from sovnet.controller.enforcer import Enforcer
from sovnet.controller.inspector import Inspector, for_inspector
from sovnet.controller.refusal import refusal
from sovnet.controller.routes import Announcer, RibWatcher
from sovnet.controller.sync import Step, SwitchSync
from sovnet.store import StoreWatcher, open_store

log = logging.getLogger("sovnet.controller")

GROUP = "sovnet"
OPTS = [
    oslo_cfg.StrOpt("store", default="sovnet.db", help="the policy store (SQLite file)"),
    oslo_cfg.FloatOpt("reconcile-interval", default=30.0, min=0.0,
                      help="seconds between full audits of every switch; 0 turns them off"),
    oslo_cfg.BoolOpt("bundles", default=True,
                     help="apply each switch's flow changes in one atomic bundle"),
    oslo_cfg.StrOpt("shard", default="",
                    help="I/N: this is process I of N, and enforces only its switches"),
    oslo_cfg.StrOpt("bgp-dir", default="",
                    help="where the BGP daemons' API sockets are (a network with routers)"),
]


def register_options(conf=cfg.CONF) -> None:
    """On the command line while os-ken has not parsed it yet; in a config file after."""
    try:
        conf.register_cli_opts(OPTS, group=GROUP)
    except oslo_cfg.ArgsAlreadyParsedError:
        conf.register_opts(OPTS, group=GROUP)


register_options()


@dataclass(frozen=True)
class Settings:
    store_path: str = "sovnet.db"
    reconcile_interval: float = 30.0  # s between full audits of every switch; 0 turns them off
    use_bundles: bool = True
    shard: tuple[int, int] | None = None  # (I, N): process I of N (sovnet.compile.shards)
    bgp_dir: str = ""  # the BGP daemons' sockets; "": the network has no routers

    @classmethod
    def from_conf(cls, conf) -> Settings:
        group = getattr(conf, GROUP)
        return cls(group.store, group.reconcile_interval, group.bundles,
                   parse_shard(group.shard) if group.shard else None, group.bgp_dir)


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
                self._do(dp, self.sync.failed(dpid, f"{handler.__name__}: {e}"))

    return run


class SovnetController(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = Settings.from_conf(self.CONF)
        self.store = open_store(self.settings.store_path)
        self.ack_writer = AckWriter(self.store)
        self.enforcer = Enforcer(self.store, shard=self.settings.shard, acks=self.ack_writer)
        self.sync = SwitchSync(self.enforcer, self.settings.use_bundles)
        self.inspector = Inspector()
        self.datapaths: dict[int, object] = {}
        self.send_lock = threading.Lock()
        self.stopping = threading.Event()
        self.schedule_timer: threading.Timer | None = None
        self.timer_lock = threading.Lock()
        self.watcher = StoreWatcher(self.settings.store_path, self._store_changed)
        # Routes: every process follows the transit RIBs for its internet switches; the first
        # alone announces, so that each change is made once.
        bgp_dir = self.settings.bgp_dir
        first = self.settings.shard is None or self.settings.shard[0] == 0
        self.announcer = Announcer(bgp_dir) if bgp_dir and first else None
        self.ribs: RibWatcher | None = None

    def start(self):
        self.ack_writer.start()
        thread = super().start()
        # Watcher first: a commit that lands meanwhile is then seen by one or the other; the
        # enforcer keeps whichever compile is newest.
        self.watcher.start()
        self.enforcer.recompile()
        self._announce()
        self._follow_routes()
        self._arm_schedule()
        if self.settings.reconcile_interval > 0:
            threading.Thread(target=self._audit_loop, daemon=True, name="audit").start()
        return thread

    def stop(self):
        self.stopping.set()
        self.watcher.stop()
        if self.ribs is not None:
            self.ribs.stop()
        self.ack_writer.stop()
        with self.timer_lock:
            if self.schedule_timer is not None:
                self.schedule_timer.cancel()
        super().stop()

    # -- store and clocks ---------------------------------------------------------------------
    def _store_changed(self, revision: int | None = None) -> None:
        try:
            if self.enforcer.recompile():
                for dpid, step in self.sync.sync_all().items():
                    dp = self.datapaths.get(dpid)
                    if dp is not None:
                        self._do(dp, step)
        except Exception:  # noqa: BLE001 (the watcher thread must survive a bad revision)
            log.exception("revision %s: enforcement failed", revision)
        self._announce()
        self._arm_schedule()

    def _announce(self) -> None:
        """Bring the border routers to what the policies in force announce."""
        topology = self.enforcer.topology
        if self.announcer is not None and topology is not None and topology.routers:
            try:
                self.announcer.apply(topology, self.enforcer.active)
            except Exception:  # noqa: BLE001
                log.exception("announcements failed")

    def _follow_routes(self) -> None:
        topology = self.enforcer.topology
        if not self.settings.bgp_dir or topology is None or not topology.transit_routers:
            return
        self.ribs = RibWatcher(self.settings.bgp_dir,
                               [r.name for r in topology.transit_routers], self._routes_changed)
        self.ribs.start()

    def _routes_changed(self, routes: frozenset[str]) -> None:
        self.enforcer.routes = routes
        self._store_changed()

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

    def _audit_loop(self) -> None:
        """Every switch is audited once per reconcile_interval, one at a time and evenly
        spread: auditing all at once parses every flow of the network in one burst (32,000
        at 10,000 subscribers, a second of this process's time), which a change arriving
        then would wait behind."""
        while not self.stopping.is_set():
            dpids = sorted(self.datapaths)
            if not dpids:
                self.stopping.wait(self.settings.reconcile_interval)
                continue
            gap = self.settings.reconcile_interval / len(dpids)
            for dpid in dpids:
                if self.stopping.wait(gap):
                    return
                dp = self.datapaths.get(dpid)
                if dp is not None:
                    self._do(dp, self.sync.audit(dpid))

    def _resync(self, dpid: int) -> None:
        dp = self.datapaths.get(dpid)
        if dp is not None:
            self._do(dp, self.sync.sync(dpid))

    # -- switches ---------------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    @guarded
    def _features(self, ev):
        dp = ev.msg.datapath
        log.info("dpid=%016x connected from %s", dp.id, dp.address)
        self.datapaths[dp.id] = dp
        self._do(dp, self.sync.connected(dp.id))

    @set_ev_cls(ofp_event.EventOFPStateChange, DEAD_DISPATCHER)
    @guarded
    def _gone(self, ev):
        dp = ev.datapath
        if dp.id is not None and self.datapaths.get(dp.id) is dp:
            log.warning("dpid=%016x disconnected", dp.id)
            del self.datapaths[dp.id]
            self.sync.disconnected(dp.id)

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    @guarded
    def _flow_stats(self, ev):
        dp = ev.msg.datapath
        self._do(dp, self.sync.flow_stats(dp.id, ev.msg.body, ev.msg.flags))

    @set_ev_cls(ofp_event.EventOFPMeterConfigStatsReply, MAIN_DISPATCHER)
    @guarded
    def _meter_stats(self, ev):
        self.sync.meter_stats(ev.msg.datapath.id, ev.msg.body)

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    @guarded
    def _barrier(self, ev):
        dp = ev.msg.datapath
        self._do(dp, self.sync.barrier_reply(dp.id, ev.msg.xid))

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    @guarded
    def _error(self, ev):
        self.sync.error(ev.msg.datapath.id, ev.msg.type, ev.msg.code)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev):
        """A packet the inspect flows sent up goes to the inspector; one a reject policy (or an
        inspector's residual block) sent up is refused: its sender is told no, out of the port
        it came in. Not @guarded: one packet we cannot answer is no reason to resync the
        switch, but no exception may leave the handler (it would end os-ken's event loop)."""
        msg = ev.msg
        try:
            if for_inspector(msg.cookie):
                self._send(msg.datapath, self.inspector.packet_in(
                    msg.datapath.id, msg.match["in_port"], msg.data,
                    self.enforcer.inspect_rules))
                return
            answer = refusal(msg.data)
            if answer is not None:
                self._send(msg.datapath, [ofmsg.packet_out(msg.match["in_port"], answer)])
        except Exception:  # noqa: BLE001
            log.exception("dpid=%016x cannot answer a packet sent up", msg.datapath.id)

    @set_ev_cls(ofp_event.EventONFBundleCtrlMsg, MAIN_DISPATCHER)
    @guarded
    def _bundle_reply(self, ev):
        log.debug("dpid=%016x bundle %d reply type %d", ev.msg.datapath.id,
                  ev.msg.bundle_id, ev.msg.type)

    # -- sending ----------------------------------------------------------------------------
    def _do(self, dp, step: Step) -> None:
        """Send a step's messages to the switch it was worked out for (a reconnected switch is
        another datapath) and arm its retry; from any thread."""
        if step.send:
            self._send(dp, step.send)
        if step.retry_in is not None:
            timer = threading.Timer(step.retry_in, self._resync, args=(dp.id,))
            timer.daemon = True
            timer.start()

    def _send(self, dp, msgs) -> None:
        """All of a step's messages as one buffer: one hand-over to the switch's send thread
        and one socket write, not one per message (a bulk install is thousands of them)."""
        with self.send_lock:
            bufs = []
            for m in ofmsg.bind(dp, msgs):
                if m.xid is None:
                    dp.set_xid(m)
                m.serialize()
                bufs.append(m.buf)
            if bufs:
                dp.send(b"".join(bufs))
