"""A switch in memory that speaks to SwitchSync through the bytes sovnet would send.

Every message a Step carries is serialized as for a real switch; flow-mods are parsed back from
those bytes and kept as the switch's table, so a dump returns what the wire carried. Bundles
apply at commit, all or nothing; `refuse_commits` makes the switch reject them (as OVS does a
bundle with a bad flow) with an OpenFlow error before the barrier reply.
"""

from __future__ import annotations

from types import SimpleNamespace

from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sovnet.controller import ofmsg
from sovnet.controller.sync import Step, SwitchSync


class FakeSwitch:
    def __init__(self, dpid: int, part_size: int = 1000):
        self.id = dpid
        self.ofproto, self.ofproto_parser = ofp, parser
        self.flows: dict[tuple, parser.OFPFlowMod] = {}  # (table, priority, match) -> flow-mod
        self.meters: dict[int, tuple[int, int]] = {}
        self.part_size = part_size
        self.refuse_commits = False
        self.sent: list[str] = []  # what the controller sent, one short name per message
        self.bundle: list | None = None

    # -- the wire -----------------------------------------------------------------------------
    def receive(self, step: Step) -> list[tuple]:
        """Take a step's messages in order; return the switch's answers as events."""
        events: list[tuple] = []
        for msg in ofmsg.bind(self, step.send):
            msg.serialize()
            self.sent.append(self._name(msg))
            events.extend(self._handle(msg))
        return events

    def _handle(self, msg) -> list[tuple]:
        name = type(msg).__name__
        if name == "OFPMeterConfigStatsRequest":
            body = [SimpleNamespace(meter_id=i, bands=[parser.OFPMeterBandDrop(rate, burst)])
                    for i, (rate, burst) in sorted(self.meters.items())]
            return [("meter_stats", body)]
        if name == "OFPFlowStatsRequest":
            body = [f for f in self.flows.values()
                    if f.cookie & msg.cookie_mask == msg.cookie & msg.cookie_mask]
            parts = [body[i:i + self.part_size] for i in range(0, len(body), self.part_size)]
            parts = parts or [[]]
            return [("flow_stats", p, ofp.OFPMPF_REPLY_MORE if i < len(parts) - 1 else 0)
                    for i, p in enumerate(parts)]
        if name == "OFPMeterMod":
            if msg.command == ofp.OFPMC_DELETE:
                del self.meters[msg.meter_id]
            else:
                (band,) = msg.bands
                self.meters[msg.meter_id] = (band.rate, band.burst_size)
            return []
        if name == "ONFBundleCtrlMsg":
            if msg.type == ofp.ONF_BCT_OPEN_REQUEST:
                self.bundle = []
                return []
            mods, self.bundle = self.bundle, None
            if self.refuse_commits:
                return [("error", ofp.OFPET_BAD_ACTION, 4)]
            for m in mods:
                self._apply(m)
            return []
        if name == "ONFBundleAddMsg":
            self.bundle.append(self._parsed(msg.message))
            return []
        if name == "OFPFlowMod":
            self._apply(self._parsed(msg))
            return []
        if name == "OFPBarrierRequest":
            return [("barrier", msg.xid)]
        raise AssertionError(f"the fake switch does not expect {name}")

    def _parsed(self, msg):
        if msg.buf is None:
            msg.datapath = self
            msg.serialize()
        version, msg_type, msg_len, xid = ofproto_parser.header(msg.buf)
        return ofproto_parser.msg(self, version, msg_type, msg_len, xid, bytes(msg.buf))

    def _apply(self, mod) -> None:
        key = (mod.table_id, mod.priority, tuple(sorted(mod.match.items())))
        if mod.command == ofp.OFPFC_DELETE_STRICT:
            self.flows.pop(key, None)
        elif mod.command == ofp.OFPFC_MODIFY_STRICT:
            old = self.flows[key]
            mod.cookie = old.cookie  # OpenFlow 1.3: a modify keeps the cookie
            self.flows[key] = mod
        else:
            self.flows[key] = mod

    @staticmethod
    def _name(msg) -> str:
        name = type(msg).__name__
        if name == "OFPMeterMod":
            return {ofp.OFPMC_ADD: "meter+", ofp.OFPMC_MODIFY: "meter~",
                    ofp.OFPMC_DELETE: "meter-"}[msg.command]
        if name == "ONFBundleCtrlMsg":
            return "open" if msg.type == ofp.ONF_BCT_OPEN_REQUEST else "commit"
        if name == "ONFBundleAddMsg":
            return "bundled"
        return {"OFPMeterConfigStatsRequest": "meters?", "OFPFlowStatsRequest": "flows?",
                "OFPFlowMod": "flow-mod", "OFPBarrierRequest": "barrier"}[name]


def converse(sync: SwitchSync, switch: FakeSwitch, step: Step) -> list[Step]:
    """Deliver `step`, feed the switch's answers back in order, until nobody has more to say.
    Returns every step the controller produced (the retries they ask for are not armed)."""
    steps, queue = [step], list(switch.receive(step))
    while queue:
        event, *args = queue.pop(0)
        if event == "error":
            sync.error(switch.id, *args)
            continue
        handler = {"meter_stats": sync.meter_stats, "flow_stats": sync.flow_stats,
                   "barrier": sync.barrier_reply}[event]
        step = handler(switch.id, *args)
        steps.append(step)
        queue.extend(switch.receive(step))
    return steps
