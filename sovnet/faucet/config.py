"""A topology as a Faucet configuration (faucet.yaml), for the side-by-side benchmark.

Pure: a dict that PyYAML writes. Faucet sees sovnet's network as it is: every bridge a
datapath with its dpid, every switch link a stack link (Faucet's way of joining datapaths
without loops), every host port in one VLAN, as sovnet's hosts are all on-link. Subscriber
ports carry one ACL, `sovnet`: a deny of the addresses in `denied`, then allow everything,
the change sovnet's latency benchmark makes.
"""

from __future__ import annotations

from typing import Any

from sovnet.model.topology import Topology

VLAN = "sovnet"
VID = 100
ACL = "sovnet"
# Stack ports come up when Faucet hears its own LLDP beacons back; its defaults send 5 every
# 5 s per datapath. Faster beacons bring a big stack up sooner, so Faucet is timed on its
# reloads, not on its start.
LLDP_BEACON = {"send_interval": 1, "max_per_interval": 50}
_ROOT_ROLES = ("ixp", "core", "border", "aggregation", "access", "internet")


def stack_root(topology: Topology) -> str:
    """The most central switch by role, then the most links: Faucet's stack root."""
    degree: dict[str, int] = {}
    for lk in topology.switch_links():
        degree[lk.a] = degree.get(lk.a, 0) + 1
        degree[lk.b] = degree.get(lk.b, 0) + 1
    return min(topology.switches,
               key=lambda s: (_ROOT_ROLES.index(s.role), -degree.get(s.name, 0), s.name)).name


def acl_rules(denied: list[str]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {"rule": {"dl_type": 0x0800, "ipv4_dst": f"{ip}/32", "actions": {"allow": False}}}
        for ip in denied]
    return rules + [{"rule": {"actions": {"allow": True}}}]


def faucet_config(topology: Topology, denied: list[str]) -> dict[str, Any]:
    root = stack_root(topology)
    dps: dict[str, Any] = {}
    for s in topology.switches:
        dps[s.name] = {"dp_id": s.dpid, "hardware": "Open vSwitch", "interfaces": {},
                       "lldp_beacon": dict(LLDP_BEACON)}
        if s.name == root:
            dps[s.name]["stack"] = {"priority": 1}
    for lk in topology.switch_links():
        dps[lk.a]["interfaces"][lk.a_port] = {"stack": {"dp": lk.b, "port": lk.b_port}}
        dps[lk.b]["interfaces"][lk.b_port] = {"stack": {"dp": lk.a, "port": lk.a_port}}
    for h in topology.hosts:
        port = dps[h.switch]["interfaces"].setdefault(h.port, {"native_vlan": VLAN})
        if h.kind == "subscriber":
            port["acls_in"] = [ACL]
    return {"vlans": {VLAN: {"vid": VID}}, "acls": {ACL: acl_rules(denied)}, "dps": dps}
