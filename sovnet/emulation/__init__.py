"""The emulated network: Mininet hosts and Open vSwitch bridges built from a Topology.

The only part of sovnet that imports Mininet. Names are loaded lazily so that the host
servers (`python -m sovnet.emulation.httpd`, `...dnsd`) start without importing Mininet.

    Network(topology, controller_port, ...)   network.py: start/stop/wait_connected/host
    build_topo(topology) -> mininet Topo       topo.py (pure)
    cleanup_stale() -> list[str]               cleanup.py: remove what killed runs left
    ensure_ovs_running(), datapath()           ovs.py
    netem_available(), check_links()           tc.py
    zone(topology) -> {domain: ip}             servers.py (pure)
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Network": "network",
    "build_topo": "topo",
    "interface_names": "topo",
    "cleanup_stale": "cleanup",
    "RunState": "cleanup",
    "ensure_ovs_running": "ovs",
    "datapath": "ovs",
    "netem_available": "tc",
    "check_links": "tc",
    "zone": "servers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sovnet.emulation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sovnet.emulation.{module}"), name)
