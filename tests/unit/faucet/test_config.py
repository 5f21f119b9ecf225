"""The Faucet configuration of a topology (the side-by-side benchmark's), checked by value."""

from __future__ import annotations

from pathlib import Path

from sovnet.config import load_topology
from sovnet.faucet.config import ACL, VLAN, faucet_config, stack_root

ROOT = Path(__file__).resolve().parents[3]


def test_every_bridge_is_a_datapath_joined_by_stack_links_with_the_acl_on_subscriber_ports():
    topo = load_topology(str(ROOT / "topologies" / "minimal.yaml"))
    cfg = faucet_config(topo, ["172.16.0.4"])
    assert set(cfg["dps"]) == {s.name for s in topo.switches}
    assert cfg["dps"]["acc1"]["dp_id"] == topo.switch("acc1").dpid
    assert stack_root(topo) == "core1"  # no IXP: a core, the one with the most links
    assert cfg["dps"]["core1"]["stack"] == {"priority": 1}
    assert sum("stack" in dp for dp in cfg["dps"].values()) == 1
    for lk in topo.switch_links():  # both ends, each naming the other
        assert cfg["dps"][lk.a]["interfaces"][lk.a_port] == {
            "stack": {"dp": lk.b, "port": lk.b_port}}
        assert cfg["dps"][lk.b]["interfaces"][lk.b_port] == {
            "stack": {"dp": lk.a, "port": lk.a_port}}
    alice, bank = topo.host("alice"), topo.host("bank")
    assert cfg["dps"]["acc1"]["interfaces"][alice.port] == {"native_vlan": VLAN,
                                                            "acls_in": [ACL]}
    assert cfg["dps"][bank.switch]["interfaces"][bank.port] == {"native_vlan": VLAN}
    assert cfg["acls"][ACL] == [
        {"rule": {"dl_type": 0x0800, "ipv4_dst": "172.16.0.4/32", "actions": {"allow": False}}},
        {"rule": {"actions": {"allow": True}}}]


def test_a_pod_is_one_port_for_faucet_too():
    topo = load_topology(str(ROOT / "tests" / "integration" / "topologies" / "pods.yaml"))
    ports = faucet_config(topo, [])["dps"]["acc1"]["interfaces"]
    pod_port = topo.host("home1").port
    assert ports[pod_port] == {"native_vlan": VLAN, "acls_in": [ACL]}
    assert len(ports) == 2  # the link to core1 and the pod
