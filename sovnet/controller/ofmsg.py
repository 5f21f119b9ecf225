"""The OpenFlow 1.3 messages sovnet sends, built as values: no live switch needed.

Every builder returns os-ken parser messages whose datapath is None (as Faucet's valve_of
builds them); `bind` attaches the switch at the edge, just before `send_msg`. So what sovnet
sends, and in which order, is tested without a switch (tests/unit/controller/test_ofmsg.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sovnet.controller.ofcodec import to_instructions, to_match
from sovnet.model.flows import (
    KIND_SHIFT,
    KINDS,
    OWNER_MASK,
    OWNER_SHIFT,
    OWNER_TAG,
    FlowRule,
    Meter,
)
from sovnet.reconcile.diff import FlowPlan

BUNDLE_FLAGS = ofp.ONF_BF_ATOMIC | ofp.ONF_BF_ORDERED
_FLOW_COMMANDS = {"add": ofp.OFPFC_ADD, "modify": ofp.OFPFC_MODIFY_STRICT,
                  "delete": ofp.OFPFC_DELETE_STRICT}
_METER_COMMANDS = {"add": ofp.OFPMC_ADD, "modify": ofp.OFPMC_MODIFY}


def flow_mod(f: FlowRule, command: str) -> parser.OFPFlowMod:
    """command: add | modify | delete (all strict on priority and match)."""
    return parser.OFPFlowMod(
        datapath=None,
        cookie=f.cookie,
        cookie_mask=0,
        table_id=f.key.table,
        command=_FLOW_COMMANDS[command],
        priority=f.key.priority,
        buffer_id=ofp.OFP_NO_BUFFER,
        out_port=ofp.OFPP_ANY,
        out_group=ofp.OFPG_ANY,
        match=to_match(parser, f.key.match),
        instructions=[] if command == "delete" else to_instructions(ofp, parser, f.instructions),
    )


def flow_mods(plan: FlowPlan, current: dict) -> list:
    """Flow-mods for a plan, deletes last (make before break). A rule whose cookie changes is
    re-added: OpenFlow 1.3's modify keeps the old cookie, and the cookie names the policy."""
    msgs = [flow_mod(f, "add") for f in plan.add]
    for f in plan.modify:
        old = current.get(f.key)
        same_cookie = old is not None and old.cookie == f.cookie
        msgs.append(flow_mod(f, "modify" if same_cookie else "add"))
    msgs.extend(flow_mod(f, "delete") for f in plan.delete)
    return msgs


def meter_mod(meter: Meter, command: str) -> parser.OFPMeterMod:
    """command: add | modify."""
    band = parser.OFPMeterBandDrop(rate=meter.rate_kbps, burst_size=meter.burst_kbit)
    return parser.OFPMeterMod(None, command=_METER_COMMANDS[command],
                              flags=ofp.OFPMF_KBPS | ofp.OFPMF_BURST,
                              meter_id=meter.meter_id, bands=[band])


def meter_delete(meter_id: int) -> parser.OFPMeterMod:
    return parser.OFPMeterMod(None, command=ofp.OFPMC_DELETE, flags=0, meter_id=meter_id,
                              bands=[])


def meter_mods(plan: FlowPlan) -> tuple[list, list]:
    """(before the flows' bundle, after it): a flow may only name a meter that exists."""
    before = [meter_mod(m, "add") for m in plan.meters_add]
    before += [meter_mod(m, "modify") for m in plan.meters_modify]
    return before, [meter_delete(i) for i in plan.meters_delete]


def bundle(bundle_id: int, mods: list) -> list:
    """[open, add per message..., commit]: one atomic bundle, so a packet sees the old tables
    or the new, never a mix."""
    return [parser.ONFBundleCtrlMsg(None, bundle_id, ofp.ONF_BCT_OPEN_REQUEST, BUNDLE_FLAGS, []),
            *(parser.ONFBundleAddMsg(None, bundle_id, BUNDLE_FLAGS, m, []) for m in mods),
            parser.ONFBundleCtrlMsg(None, bundle_id, ofp.ONF_BCT_COMMIT_REQUEST, BUNDLE_FLAGS,
                                    [])]


def barrier(xid: int | None = None) -> parser.OFPBarrierRequest:
    msg = parser.OFPBarrierRequest(None)
    if xid is not None:
        msg.set_xid(xid)
    return msg


def push(plan: FlowPlan, current: dict, bundle_id: int | None, xid: int) -> list:
    """Everything that brings a switch to `plan`, in order: meters added or changed, the flow
    changes (in one bundle unless bundle_id is None), meters deleted, and a barrier with `xid`
    whose reply says the switch has applied all of it."""
    before, after = meter_mods(plan)
    mods = flow_mods(plan, current)
    if mods and bundle_id is not None:
        mods = bundle(bundle_id, mods)
    return [*before, *mods, *after, barrier(xid)]


def cookie_filter(kinds: Iterable[str] | None) -> tuple[int, int]:
    """(cookie, mask) selecting sovnet's flows, of one kind when `kinds` names exactly one
    (a stats request filters on one cookie/mask pair, so several kinds fetch all of ours)."""
    cookie, mask = OWNER_TAG << OWNER_SHIFT, OWNER_MASK
    kinds = None if kinds is None else set(kinds)
    if kinds is not None and len(kinds) == 1:
        (kind,) = kinds
        cookie |= KINDS[kind] << KIND_SHIFT
        mask |= 0xFF << KIND_SHIFT
    return cookie, mask


def flow_stats_request(kinds: Iterable[str] | None = None) -> parser.OFPFlowStatsRequest:
    cookie, mask = cookie_filter(kinds)
    return parser.OFPFlowStatsRequest(None, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY,
                                      cookie, mask, parser.OFPMatch())


def meter_config_request() -> parser.OFPMeterConfigStatsRequest:
    return parser.OFPMeterConfigStatsRequest(None, 0, ofp.OFPM_ALL)


def packet_out(in_port: int, data: bytes) -> parser.OFPPacketOut:
    """`data` sent out of `in_port` (where the packet it answers came in)."""
    return parser.OFPPacketOut(None, buffer_id=ofp.OFP_NO_BUFFER, in_port=ofp.OFPP_CONTROLLER,
                               actions=[parser.OFPActionOutput(in_port)], data=data)


def bind(datapath, msgs: list) -> list:
    """Attach the switch to messages built here (and to a bundled message: os-ken serializes
    it through its own datapath)."""
    for m in msgs:
        m.datapath = datapath
        inner = getattr(m, "message", None)
        if inner is not None:
            inner.datapath = datapath
    return msgs
