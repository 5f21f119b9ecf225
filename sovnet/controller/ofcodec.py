"""FlowRule <-> os-ken OpenFlow 1.3 matches and instructions (whole messages: ofmsg.py).

Decoding brings a switch's flow-stats entry into the canonical form of sovnet.model.flows, so a
flow compiled and the same flow read back from OVS compare equal (tested on real OVS).
"""

from __future__ import annotations

import socket
from typing import Any

from os_ken.lib import addrconv, type_desc

from sovnet.model.flows import FlowRule, canonical_instructions, rule

FULL64 = (1 << 64) - 1


def _packed(family: int, slow):
    def text_to_bin(text):
        try:
            return socket.inet_pton(family, text)
        except (OSError, TypeError):
            return slow(text)  # anything but a plain address: os-ken's own answer, or error
    return text_to_bin


# os-ken turns every address of a match into bytes through netaddr, at 20 us each: a quarter
# of a bulk install's time in the controller. The kernel's inet_pton gives the very same bytes
# for the plain addresses sovnet writes (tests/unit/controller/test_ofcodec.py) in 1 us.
type_desc.IPv4Addr.from_user = staticmethod(_packed(socket.AF_INET, addrconv.ipv4.text_to_bin))
type_desc.IPv6Addr.from_user = staticmethod(_packed(socket.AF_INET6, addrconv.ipv6.text_to_bin))


def to_match(parser, match: tuple[tuple[str, Any], ...]):
    return parser.OFPMatch(**dict(match))


def to_instructions(ofp, parser, instructions) -> list:
    out, actions = [], []
    for ins in instructions:
        if ins[0] == "meta":
            out.append(parser.OFPInstructionWriteMetadata(ins[1], ins[2]))
        elif ins[0] == "goto":
            out.append(parser.OFPInstructionGotoTable(ins[1]))
        elif ins[0] == "output":
            # the whole packet to the controller (a reject answers it), not a 128-byte head
            max_len = ofp.OFPCML_NO_BUFFER if ins[1] == ofp.OFPP_CONTROLLER else 0
            actions.append(parser.OFPActionOutput(ins[1], max_len))
        elif ins[0] == "set_eth_dst":
            actions.append(parser.OFPActionSetField(eth_dst=ins[1]))
        elif ins[0] == "meter":
            out.append(parser.OFPInstructionMeter(ins[1]))
        else:
            raise ValueError(f"unknown instruction {ins!r}")
    if actions:
        at = 1 if out and type(out[0]).__name__ == "OFPInstructionMeter" else 0
        out.insert(at, parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions))
    return out


def decode_meters(stats) -> dict[int, tuple[int, int]]:
    """OFPMeterConfigStats entries -> {meter id: (rate kbit/s, burst kbit)} of the drop band;
    a meter of any other shape decodes as (-1, -1), which differs from anything compiled."""
    out = {}
    for st in stats:
        bands = [b for b in st.bands if type(b).__name__ == "OFPMeterBandDrop"]
        out[st.meter_id] = ((bands[0].rate, bands[0].burst_size) if len(bands) == 1
                            and len(st.bands) == 1 else (-1, -1))
    return out


def decode_instructions(ofp, instructions) -> tuple:
    """Instructions sovnet never writes (someone edited a flow carrying our cookie) decode as
    ("foreign", text): they differ from anything compiled, so the diff replaces the flow."""
    out: list[tuple] = []
    for ins in instructions:
        name = type(ins).__name__
        if name == "OFPInstructionActions":
            for a in ins.actions:
                if type(a).__name__ == "OFPActionOutput":
                    out.append(("output", a.port))
                elif type(a).__name__ == "OFPActionSetField" and a.key == "eth_dst":
                    out.append(("set_eth_dst", str(a.value).lower()))
                else:
                    out.append(("foreign", str(a)))
        elif name == "OFPInstructionMeter":
            out.append(("meter", ins.meter_id))
        elif name == "OFPInstructionWriteMetadata":
            out.append(("meta", ins.metadata, ins.metadata_mask))
        elif name == "OFPInstructionGotoTable":
            out.append(("goto", ins.table_id))
        else:
            out.append(("foreign", str(ins)))
    return canonical_instructions(out)


def decode_stats(dpid: int, ofp, stats) -> list[FlowRule]:
    """OFPFlowStats entries -> canonical FlowRules."""
    out = []
    for st in stats:
        fields = dict(st.match.items())
        if isinstance(fields.get("metadata"), tuple) and fields["metadata"][1] == FULL64:
            fields["metadata"] = fields["metadata"][0]
        f = rule(dpid, st.table_id, st.priority, fields,
                 decode_instructions(ofp, st.instructions), st.cookie)
        out.append(f)
    return out


