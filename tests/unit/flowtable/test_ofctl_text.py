import pytest

from sovnet.compile import compile_flows
from sovnet.flowtable.ofctl_text import DumpParseError, parse_dump, parse_line
from sovnet.model.flows import make_cookie, rule
from tests.unit import handmade

# Lines as OVS 3.1 prints them for sovnet's flows (copied from a real dump).
DUMP = """OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0x50e7020000000000, duration=0.009s, table=0, n_packets=0, n_bytes=0, priority=20,in_port=2,dl_src=02:00:0a:01:00:02 actions=write_metadata:0x103000001,goto_table:1
 cookie=0x50e7010000000000, duration=0.009s, table=0, n_packets=0, n_bytes=0, priority=0 actions=drop
 cookie=0x50e7030000000001, duration=6.728s, table=1, n_packets=0, n_bytes=0, priority=1201,ip,metadata=0x100000000/0xff00000000,nw_dst=172.16.0.0/12 actions=drop
 cookie=0x50e7040000000000, duration=0.009s, table=2, n_packets=0, n_bytes=0, priority=10,arp,arp_tpa=10.1.0.53 actions=output:1
"""


def test_parse_real_dump():
    flows = parse_dump(1, DUMP)
    assert flows[0] == rule(1, 0, 20, {"in_port": 2, "eth_src": "02:00:0a:01:00:02"},
                            (("meta", 0x103000001, (1 << 64) - 1), ("goto", 1)),
                            make_cookie("admission"))
    assert flows[2].key.match == (("eth_type", 0x800),
                                  ("ipv4_dst", ("172.16.0.0", "255.240.0.0")),
                                  ("metadata", (0x100000000, 0xFF00000000)))
    assert flows[3].instructions == (("output", 1),)


def test_udp_port_shorthand():
    f = parse_line(1, "cookie=0x1, table=1, priority=1201,udp,tp_dst=443 actions=drop")
    assert dict(f.key.match) == {"eth_type": 0x800, "ip_proto": 17, "udp_dst": 443}


def test_unknown_field_is_an_error_not_a_guess():
    with pytest.raises(DumpParseError, match="unknown match field 'vlan_tci'"):
        parse_line(1, "cookie=0x1, table=0, priority=1,vlan_tci=0x1000 actions=drop")


def test_compiled_flows_printed_like_ovs_parse_back_equal():
    """Render compiled flows the way ovs-ofctl prints them and parse them back."""
    topo = handmade.topology()
    policies = (handmade.policy(3, "deny", "port:udp/443"),
                handmade.policy(4, "blockpage", "service:social"),
                handmade.policy(5, "throttle:256kbit", "port:tcp/80"))
    tables = compile_flows(topo, policies, handmade.subscribers(topo))
    assert {i[0] for f in tables[1] for i in f.instructions} >= {"meter", "set_eth_dst"}
    for dpid, flows in tables.items():
        text = "\n".join(_ovs_style(f) for f in flows)
        assert parse_dump(dpid, text) == list(flows)


def _ovs_style(f) -> str:
    m = dict(f.key.match)
    parts = []
    if m.get("eth_type") == 0x806:
        parts.append("arp")
    elif m.get("ip_proto") == 17:
        parts.append("udp")
    elif m.get("ip_proto") == 6:
        parts.append("tcp")
    elif m.get("eth_type") == 0x800:
        parts.append("ip")
    for k, v in m.items():
        if k in ("eth_type", "ip_proto"):
            continue
        name = {"eth_src": "dl_src", "eth_dst": "dl_dst", "ipv4_dst": "nw_dst",
                "ipv4_src": "nw_src", "udp_dst": "tp_dst", "tcp_dst": "tp_dst",
                "tcp_src": "tp_src"}.get(k, k)
        if isinstance(v, tuple):
            v = f"{v[0]:#x}/{v[1]:#x}" if isinstance(v[0], int) else f"{v[0]}/{v[1]}"
        parts.append(f"{name}={v}")
    acts = []
    for i in f.instructions:
        if i[0] == "meta":
            full = i[2] == (1 << 64) - 1
            acts.append(f"write_metadata:{i[1]:#x}" + ("" if full else f"/{i[2]:#x}"))
        elif i[0] == "goto":
            acts.append(f"goto_table:{i[1]}")
        elif i[0] == "meter":
            acts.append(f"meter:{i[1]}")
        elif i[0] == "set_eth_dst":
            acts.append(f"mod_dl_dst:{i[1]}")
        else:
            acts.append(f"output:{i[1]}")
    return (f" cookie={f.cookie:#x}, table={f.key.table}, priority={f.key.priority}"
            f"{',' if parts else ''}{','.join(parts)} actions={','.join(acts) or 'drop'}")
