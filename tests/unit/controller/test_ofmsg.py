"""What sovnet sends, without a switch: every compiled flow survives encode -> serialize ->
parse -> decode, and a push puts meters, bundle, meter deletes and barrier in a safe order."""

import struct
from types import SimpleNamespace

import pytest
from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as parser

from sovnet.compile import compile_network
from sovnet.controller import ofmsg
from sovnet.controller.ofcodec import decode_meters, decode_stats
from sovnet.model.flows import KINDS, Meter, cookie_kind, make_cookie
from sovnet.reconcile.diff import FlowPlan
from tests.unit import handmade

DP = SimpleNamespace(id=1, ofproto=ofp, ofproto_parser=parser)  # all serialize needs
EVERY_ACTION = (
    handmade.policy(1, "allow", "service:bank", "subscriber:alice", 5),
    handmade.policy(2, "deny", "international", "isp:fixnet"),
    handmade.policy(3, "reject", "service:gov"),
    handmade.policy(4, "blockpage", "category:GRP"),
    handmade.policy(5, "steer_dns", "port:udp/53", "isp:mobinet"),
    handmade.policy(6, "throttle:256kbit", "service:cdn"),
    handmade.policy(7, "dns_tamper:nxdomain", "service:social"),
    handmade.policy(8, "log", "any"),
    handmade.policy(9, "reject:residual=5s", "sni:social.example", "isp:fixnet"),
    handmade.policy(10, "throttle:140kbit", "sni-contains:cdn"),
    handmade.policy(11, "deny", "quic"),
)


def wire(msg):
    """Serialize as os-ken would for a switch, and parse the bytes back."""
    ofmsg.bind(DP, [msg])
    msg.serialize()
    version, msg_type, msg_len, xid = ofproto_parser.header(msg.buf)
    return ofproto_parser.msg(DP, version, msg_type, msg_len, xid, bytes(msg.buf))


def unbundle(parsed):
    """os-ken parses a bundle-add as a bare experimenter message: the wrapped one follows
    its bundle id and flags."""
    bundle_id, flags = struct.unpack_from(ofp.ONF_BUNDLE_ADD_MSG_PACK_STR, parsed.data)
    inner = parsed.data[struct.calcsize(ofp.ONF_BUNDLE_ADD_MSG_PACK_STR):]
    version, msg_type, msg_len, xid = ofproto_parser.header(inner)
    return bundle_id, flags, ofproto_parser.msg(DP, version, msg_type, msg_len, xid, inner)


def wire_meter_mod(msg):
    """os-ken has no parser for a meter-mod (only a switch receives one): read it by hand."""
    ofmsg.bind(DP, [msg])
    msg.serialize()
    buf = bytes(msg.buf)
    command, flags, meter_id = struct.unpack_from(ofp.OFP_METER_MOD_PACK_STR, buf,
                                                  ofp.OFP_HEADER_SIZE)
    bands, offset = [], ofp.OFP_METER_MOD_SIZE
    while offset < len(buf):
        bands.append(parser.OFPMeterBandHeader.parser(buf, offset))
        offset += bands[-1].len
    return SimpleNamespace(command=command, flags=flags, meter_id=meter_id, bands=bands)


@pytest.fixture(scope="module")
def compiled():
    topo = handmade.topology()
    return compile_network(topo, EVERY_ACTION, handmade.subscribers(topo))


def test_the_policy_set_makes_every_instruction_the_compiler_emits(compiled):
    ops = {ins[0] for flows in compiled.flows.values() for f in flows for ins in f.instructions}
    assert ops == {"output", "set_eth_dst", "meter", "meta", "goto"}
    assert any(ins == ("output", ofp.OFPP_CONTROLLER)
               for flows in compiled.flows.values() for f in flows for ins in f.instructions)
    kinds = {cookie_kind(f.cookie) for flows in compiled.flows.values() for f in flows}
    # route flows need routers and their RIBs (tests/unit/compile/test_routes.py); they are
    # made of outputs and drops, as forward flows are
    assert kinds == set(KINDS) - {"route"}
    assert compiled.meters


def test_every_compiled_flow_round_trips_through_the_wire(compiled):
    for dpid, flows in compiled.flows.items():
        for f in flows:
            parsed = wire(ofmsg.flow_mod(f, "add"))
            assert isinstance(parsed, parser.OFPFlowMod) and parsed.command == ofp.OFPFC_ADD
            assert decode_stats(dpid, ofp, [parsed]) == [f]


def test_every_compiled_flow_round_trips_inside_a_bundle(compiled):
    flows = compiled.flows[1]
    msgs = ofmsg.bundle(9, [ofmsg.flow_mod(f, "add") for f in flows])
    for i, m in enumerate(msgs):
        m.set_xid(100 + i)
    parsed = [wire(m) for m in msgs]
    assert [(p.bundle_id, p.type, p.flags) for p in (parsed[0], parsed[-1])] == [
        (9, ofp.ONF_BCT_OPEN_REQUEST, ofmsg.BUNDLE_FLAGS),
        (9, ofp.ONF_BCT_COMMIT_REQUEST, ofmsg.BUNDLE_FLAGS)]
    inner = [unbundle(p) for p in parsed[1:-1]]
    assert {(b, fl) for b, fl, _ in inner} == {(9, ofmsg.BUNDLE_FLAGS)}
    assert [m.xid for _, _, m in inner] == [100 + i for i in range(1, len(flows) + 1)]
    assert decode_stats(1, ofp, [m for _, _, m in inner]) == list(flows)


def test_modify_and_delete_are_strict_and_a_delete_carries_no_instructions(compiled):
    f = next(f for f in compiled.flows[1] if f.instructions)
    assert wire(ofmsg.flow_mod(f, "modify")).command == ofp.OFPFC_MODIFY_STRICT
    gone = wire(ofmsg.flow_mod(f, "delete"))
    assert (gone.command, gone.instructions, gone.priority) == (
        ofp.OFPFC_DELETE_STRICT, [], f.key.priority)


def test_meters_round_trip(compiled):
    meters = [m for ms in compiled.meters.values() for m in ms]
    for m in meters:
        parsed = wire_meter_mod(ofmsg.meter_mod(m, "add"))
        assert (parsed.command, parsed.flags) == (ofp.OFPMC_ADD, ofp.OFPMF_KBPS | ofp.OFPMF_BURST)
        assert decode_meters([parsed]) == {m.meter_id: (m.rate_kbps, m.burst_kbit)}
    gone = wire_meter_mod(ofmsg.meter_delete(7))
    assert (gone.command, gone.meter_id, gone.bands) == (ofp.OFPMC_DELETE, 7, [])


def plan_of_everything(compiled):
    flows = compiled.flows[1]
    return FlowPlan(add=flows[:2], modify=flows[2:3], delete=flows[3:4],
                    meters_add=(Meter(1, 1, 256, 25, 6),),
                    meters_modify=(Meter(1, 2, 512, 51, 6),),
                    meters_delete=(3,))


def summary(msgs):
    out = []
    for m in msgs:
        name = type(m).__name__
        if name == "OFPMeterMod":
            out.append(({ofp.OFPMC_ADD: "meter add", ofp.OFPMC_MODIFY: "meter modify",
                         ofp.OFPMC_DELETE: "meter delete"}[m.command], m.meter_id))
        elif name == "ONFBundleCtrlMsg":
            out.append(({ofp.ONF_BCT_OPEN_REQUEST: "open", ofp.ONF_BCT_COMMIT_REQUEST: "commit"}
                        [m.type], m.bundle_id))
        elif name == "ONFBundleAddMsg":
            out.append(("bundled", m.message.command))
        elif name == "OFPFlowMod":
            out.append(("flow", m.command))
        else:
            out.append((name, m.xid))
    return out


def test_a_push_adds_meters_before_the_bundle_and_deletes_them_after(compiled):
    plan = plan_of_everything(compiled)
    current = {plan.modify[0].key: plan.modify[0]}  # same cookie: a modify, not a re-add
    assert summary(ofmsg.push(plan, current, bundle_id=4, xid=77)) == [
        ("meter add", 1), ("meter modify", 2),
        ("open", 4),
        ("bundled", ofp.OFPFC_ADD), ("bundled", ofp.OFPFC_ADD),
        ("bundled", ofp.OFPFC_MODIFY_STRICT), ("bundled", ofp.OFPFC_DELETE_STRICT),
        ("commit", 4),
        ("meter delete", 3),
        ("OFPBarrierRequest", 77)]


def test_without_bundles_the_flow_mods_go_bare_in_the_same_order(compiled):
    plan = plan_of_everything(compiled)
    assert summary(ofmsg.push(plan, {}, bundle_id=None, xid=5)) == [
        ("meter add", 1), ("meter modify", 2),
        ("flow", ofp.OFPFC_ADD), ("flow", ofp.OFPFC_ADD),
        ("flow", ofp.OFPFC_ADD),  # not current: re-added, so it takes the new cookie
        ("flow", ofp.OFPFC_DELETE_STRICT),
        ("meter delete", 3),
        ("OFPBarrierRequest", 5)]


def test_a_rule_whose_cookie_changed_is_re_added(compiled):
    f = next(f for f in compiled.flows[1] if cookie_kind(f.cookie) == "policy")
    old = f.__class__(f.key, f.instructions, f.cookie + 1)
    (mod,) = ofmsg.flow_mods(FlowPlan(modify=(f,)), {f.key: old})
    assert (mod.command, mod.cookie) == (ofp.OFPFC_ADD, f.cookie)


def test_an_empty_plan_is_just_a_barrier():
    assert summary(ofmsg.push(FlowPlan(), {}, bundle_id=1, xid=3)) == [("OFPBarrierRequest", 3)]


def serialized(msg) -> bytes:
    """The bytes os-ken would send (it has no parser for requests only a switch receives)."""
    ofmsg.bind(DP, [msg])
    msg.serialize()
    assert ofproto_parser.header(msg.buf)[2] == len(msg.buf)
    return bytes(msg.buf)


@pytest.mark.parametrize("kinds, cookie, mask", [
    (None, 0x50E7 << 48, 0xFFFF << 48),
    ({"policy", "admission"}, 0x50E7 << 48, 0xFFFF << 48),
    ({"policy"}, make_cookie("policy", 0), 0xFFFFFF << 40),
    ({"shaping"}, make_cookie("shaping", 0), 0xFFFFFF << 40),
])
def test_a_flow_stats_request_filters_on_our_cookie_and_one_kind(kinds, cookie, mask):
    buf = serialized(ofmsg.flow_stats_request(kinds))
    assert struct.unpack_from("!HH", buf, ofp.OFP_HEADER_SIZE)[0] == ofp.OFPMP_FLOW
    table, out_port, out_group, got_cookie, got_mask = struct.unpack_from(
        ofp.OFP_FLOW_STATS_REQUEST_0_PACK_STR, buf, ofp.OFP_MULTIPART_REQUEST_SIZE)
    assert (table, out_port, out_group) == (ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY)
    assert (got_cookie, got_mask) == (cookie, mask)


def test_the_meter_config_request_asks_for_every_meter():
    buf = serialized(ofmsg.meter_config_request())
    assert struct.unpack_from("!HH", buf, ofp.OFP_HEADER_SIZE)[0] == ofp.OFPMP_METER_CONFIG
    assert struct.unpack_from(ofp.OFP_METER_MULTIPART_REQUEST_PACK_STR, buf,
                              ofp.OFP_MULTIPART_REQUEST_SIZE) == (ofp.OFPM_ALL,)


def test_a_packet_out_leaves_by_the_port_the_packet_came_in():
    buf = serialized(ofmsg.packet_out(3, b"\x01" * 60))
    buffer_id, in_port, actions_len = struct.unpack_from(ofp.OFP_PACKET_OUT_PACK_STR, buf,
                                                         ofp.OFP_HEADER_SIZE)
    assert (buffer_id, in_port) == (ofp.OFP_NO_BUFFER, ofp.OFPP_CONTROLLER)
    action = parser.OFPAction.parser(buf, ofp.OFP_PACKET_OUT_SIZE)
    assert action.port == 3
    assert buf[ofp.OFP_PACKET_OUT_SIZE + actions_len:] == b"\x01" * 60
