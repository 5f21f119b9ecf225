"""Parse `ovs-ofctl -O OpenFlow13 dump-flows` text into canonical FlowRules.

An independent second reading of a switch's tables (the controller decodes OpenFlow messages
instead): tests compare what OVS says it holds with what was compiled, and experiment runs keep
flow dumps that `explain` and reports can read. Covers the fields sovnet compiles.

Pure: standard library only.
"""

from __future__ import annotations

import re

from sovnet.model.flows import CONTROLLER_PORT, FlowRule, canonical_instructions, rule

_SHORTHAND = {"ip": {"eth_type": 0x0800}, "arp": {"eth_type": 0x0806},
              "tcp": {"eth_type": 0x0800, "ip_proto": 6},
              "udp": {"eth_type": 0x0800, "ip_proto": 17},
              "icmp": {"eth_type": 0x0800, "ip_proto": 1},
              "ipv6": {"eth_type": 0x86DD}}
_FIELDS = {"in_port": "in_port", "dl_src": "eth_src", "dl_dst": "eth_dst", "nw_dst": "ipv4_dst",
           "nw_src": "ipv4_src", "arp_tpa": "arp_tpa", "arp_spa": "arp_spa",
           "nw_proto": "ip_proto", "dl_type": "eth_type", "metadata": "metadata"}
_SKIP = {"cookie", "duration", "table", "n_packets", "n_bytes", "priority", "idle_age",
         "hard_age", "reset_counts", "idle_timeout", "hard_timeout", "send_flow_rem"}


class DumpParseError(ValueError):
    pass


def _int(v: str) -> int:
    return int(v, 0)


def _masked(v: str):
    if "/" in v:
        a, b = v.split("/", 1)
        return (_int(a), _int(b))
    return _int(v)


def parse_line(dpid: int, line: str) -> FlowRule:
    line = line.strip()
    head, sep, actions = line.partition(" actions=")
    if not sep:
        raise DumpParseError(f"no actions in {line!r}")
    cookie, table, priority = 0, 0, 32768
    match: dict = {}
    proto_field = None
    for part in re.split(r",\s*|\s+", head):
        if not part:
            continue
        key, eq, val = part.partition("=")
        if not eq:
            if key not in _SHORTHAND:
                raise DumpParseError(f"unknown match keyword {key!r} in {line!r}")
            match.update(_SHORTHAND[key])
            proto_field = {"tcp": "tcp", "udp": "udp"}.get(key, proto_field)
            continue
        if key == "cookie":
            cookie = _int(val)
        elif key == "table":
            table = _int(val)
        elif key == "priority":
            priority = _int(val)
        elif key in _SKIP:
            continue
        elif key in ("tp_dst", "tp_src"):
            match[f"{proto_field or 'tcp'}_{key[3:]}"] = _int(val)
        elif key in ("tcp_dst", "udp_dst", "tcp_src", "udp_src", "ip_proto", "eth_type"):
            match[key] = _int(val)
        elif key in _FIELDS:
            name = _FIELDS[key]
            if name == "metadata":
                match[name] = _masked(val)
            elif name in ("in_port", "ip_proto", "eth_type"):
                match[name] = _int(val)
            else:
                match[name] = val
        else:
            raise DumpParseError(f"unknown match field {key!r} in {line!r}")
    return rule(dpid, table, priority, match, _actions(actions, line), cookie)


def _actions(text: str, line: str) -> tuple:
    if text in ("drop", ""):
        return ()
    out = []
    for act in text.split(","):
        name, _, val = act.partition(":")
        if name == "output":
            out.append(("output", _int(val)))
        elif name == "goto_table":
            out.append(("goto", _int(val)))
        elif name == "meter":
            out.append(("meter", _int(val)))
        elif name == "mod_dl_dst":
            out.append(("set_eth_dst", val.lower()))
        elif name == "set_field" and val.endswith("->eth_dst"):
            out.append(("set_eth_dst", val[: -len("->eth_dst")].lower()))
        elif name == "write_metadata":
            v = _masked(val)
            out.append(("meta", *v) if isinstance(v, tuple) else ("meta", v, (1 << 64) - 1))
        elif name == "CONTROLLER":  # "CONTROLLER:65535": output to the controller, max_len
            out.append(("output", CONTROLLER_PORT))
        elif name.isdigit():  # "actions=2" is OVS's shorthand for output:2
            out.append(("output", int(name)))
        else:
            raise DumpParseError(f"unknown action {act!r} in {line!r}")
    return canonical_instructions(out)


def parse_dump(dpid: int, text: str) -> list[FlowRule]:
    return [parse_line(dpid, ln) for ln in text.splitlines()
            if ln.strip().startswith("cookie=")]


_NAMES = {v: k for k, v in _FIELDS.items()}


def format_line(flow: FlowRule, actions: bool = True) -> str:
    """A FlowRule as `ovs-ofctl add-flows` reads it (IPv4 and ARP fields: what parse_line
    reads back); without actions for `del-flows --strict`."""
    parts = [f"cookie={flow.cookie:#x}", f"table={flow.key.table}",
             f"priority={flow.key.priority}"]
    for name, value in flow.key.match:
        field = _NAMES.get(name, name if name in ("tcp_dst", "udp_dst", "tcp_src",
                                                   "udp_src") else None)
        if field is None:
            raise DumpParseError(f"no ovs-ofctl form for match field {name!r}")
        if isinstance(value, tuple):
            a, b = value
            text = f"{a:#x}/{b:#x}" if isinstance(a, int) else f"{a}/{b}"
        elif name == "eth_type":
            text = f"{value:#x}"
        else:
            text = str(value)
        parts.append(f"{field}={text}")
    line = ",".join(parts)
    if not actions:
        return line
    acts = []
    for ins in flow.instructions:
        if ins[0] == "output":
            acts.append("CONTROLLER:65535" if ins[1] == CONTROLLER_PORT else f"output:{ins[1]}")
        elif ins[0] == "goto":
            acts.append(f"goto_table:{ins[1]}")
        elif ins[0] == "meter":
            acts.append(f"meter:{ins[1]}")
        elif ins[0] == "set_eth_dst":
            acts.append(f"set_field:{ins[1]}->eth_dst")
        elif ins[0] == "meta":
            acts.append(f"write_metadata:{ins[1]:#x}/{ins[2]:#x}")
    return f"{line} actions={','.join(acts) or 'drop'}"
