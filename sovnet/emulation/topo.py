"""Topology -> mininet Topo, and the interface names a run creates. Pure: starts nothing."""

from __future__ import annotations

from mininet.topo import Topo

from sovnet.errors import EmulationError
from sovnet.model.topology import Link, Topology

IFNAMSIZ = 15  # longest Linux interface name


def _host_end(topology: Topology, link: Link) -> str | None:
    hosts = {h.name for h in topology.hosts}
    return link.a if link.a in hosts else link.b if link.b in hosts else None


def interface_names(topology: Topology) -> tuple[list[str], list[str], list[str]]:
    """(bridges, switch-side interfaces in the root namespace, host interfaces)."""
    bridges = [s.name for s in topology.switches]
    sw_intfs, host_intfs = [], []
    for lk in topology.links:
        for node, port in ((lk.a, lk.a_port), (lk.b, lk.b_port)):
            if node == _host_end(topology, lk):
                host_intfs.append(f"{node}-eth0")
            else:
                sw_intfs.append(f"{node}-eth{port}")
    return bridges, sw_intfs, host_intfs


def check_names(topology: Topology) -> None:
    """Refuse names Linux cannot take as interface names (at most 15 characters)."""
    bad = [n for group in interface_names(topology) for n in group if len(n) > IFNAMSIZ]
    if bad:
        raise EmulationError(
            "interface names longer than 15 characters: "
            + ", ".join(sorted(set(bad)))
            + " (shorten the switch or host names)"
        )


def build_topo(topology: Topology, tx_offload: bool = True) -> Topo:
    """The Mininet Topo of a Topology (pure: nothing is started).

    tx_offload=False turns transmit checksum offload off on host interfaces, which TCP
    through OVS's userspace datapath needs.
    """
    topo = Topo()
    for h in topology.hosts:
        topo.addHost(
            h.name, ip=f"{h.ip}/{h.prefixlen}", mac=h.mac, defaultRoute=f"dev {h.name}-eth0"
        )
    for s in topology.switches:
        topo.addSwitch(s.name, dpid=f"{s.dpid:016x}")
    for lk in topology.links:
        opts: dict = {}
        if lk.bw is not None:
            opts["bw"] = float(lk.bw)
        host = _host_end(topology, lk)
        port1 = 0 if lk.a == host else lk.a_port
        port2 = 0 if lk.b == host else lk.b_port
        if host is not None and not tx_offload:
            opts["params1" if lk.a == host else "params2"] = {"txo": False}
        topo.addLink(lk.a, lk.b, port1=port1, port2=port2, **opts)
    return topo
