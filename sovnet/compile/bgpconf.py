"""The BGP speakers' configuration: one GoBGP daemon per router and per collector.

Sessions, as the Internet has them:
- each ISP border router peers (eBGP) with every transit router, and exports only its own
  ISP's space (no ISP carries one transit network's routes to another: valley-free);
- each transit router peers with every border router and every collector, and exports all it
  knows: collectors see full feeds, as RIPE RIS's and RouteViews' full-feed peers give;
- each collector peers with every transit router, exports nothing, and dumps every update it
  receives as MRT (the format RIS and RouteViews publish) into the run folder.

Nothing is announced by configuration: the controller announces and withdraws each border
router's prefixes through its API (controller.routes), as the store's policies say.

Pure: standard library only. Written as GoBGP's JSON configuration (`gobgpd -t json`).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from sovnet.model.topology import Topology, embed6

# Seconds. Fast enough for a lab: a session comes up within seconds of the daemons starting,
# and a dead peer is noticed within HOLD_TIME.
CONNECT_RETRY, HOLD_TIME, KEEPALIVE = 1, 9, 3


def socket_path(bgp_dir: Path, name: str) -> Path:
    """Where the daemon of router or collector `name` takes API calls (gRPC on a Unix socket:
    the controller reaches it from outside the host's network namespace)."""
    return Path(bgp_dir) / f"{name}.sock"


def mrt_path(bgp_dir: Path, collector: str) -> Path:
    """Where a collector's MRT dump is read (a link to the file the daemon writes)."""
    return Path(bgp_dir) / f"{collector}.updates.mrt"


# GoBGP reads an MRT file name as a Go time layout: "rv2" would become "rv4" on the 4th of the
# month. The daemon writes, in its working directory, a name made of letters no layout uses.
_SAFE = "bcdfghkqrstvwxyz"


def mrt_written(index: int) -> str:
    """The file name collector number `index` (from 0) has its daemon write."""
    code = ""
    while True:
        code = _SAFE[index % 16] + code
        index //= 16
        if index == 0:
            return f"updates-{code}.mrt"


def _neighbor(address: str, asn: int, passive: bool = False) -> dict[str, Any]:
    n: dict[str, Any] = {
        "config": {"neighbor-address": address, "peer-as": asn},
        "timers": {"config": {"connect-retry": CONNECT_RETRY, "hold-time": HOLD_TIME,
                              "keepalive-interval": KEEPALIVE}},
    }
    if passive:
        n["transport"] = {"config": {"passive-mode": True}}
    return n


def _families(topo: Topology) -> list[dict[str, Any]]:
    names = ["ipv4-unicast", "ipv6-unicast"] if topo.ipv6 else ["ipv4-unicast"]
    return [{"config": {"afi-safi-name": n}} for n in names]


def config(topo: Topology, name: str) -> dict[str, Any]:
    """GoBGP's configuration for router or collector `name` of `topo` (the daemon runs in the
    folder of its files: the MRT dump's name is relative)."""
    host = topo.host(name)
    if host.kind == "collector":
        asn = next(c.asn for c in topo.collectors if c.name == name)
        peers = [(topo.host(r.name).ip, r.asn, True) for r in topo.transit_routers]
    else:
        router = topo.router(name)
        asn = router.asn
        if router.isp:
            peers = [(topo.host(r.name).ip, r.asn, False) for r in topo.transit_routers]
        else:
            peers = [(topo.host(r.name).ip, r.asn, True) for r in topo.border_routers]
            peers += [(topo.host(c.name).ip, c.asn, False) for c in topo.collectors]
    neighbors = []
    for address, peer_as, passive in peers:
        n = _neighbor(address, peer_as, passive)
        n["afi-safis"] = _families(topo)
        neighbors.append(n)
    out: dict[str, Any] = {
        "global": {"config": {"as": asn, "router-id": host.ip, "port": 179}},
        "neighbors": neighbors,
    }
    if host.kind == "collector":
        out["global"]["apply-policy"] = {"config": {"default-export-policy": "reject-route"}}
        index = [c.name for c in topo.collectors].index(name)
        out["mrt-dump"] = [{"config": {"dump-type": "updates",
                                       "file-name": mrt_written(index)}}]
    elif topo.router(name).isp:
        own = _own_space(topo, topo.router(name).isp)
        out["defined-sets"] = {"prefix-sets": [{"prefix-set-name": "own", "prefix-list": own}]}
        out["policy-definitions"] = [{"name": "own-only", "statements": [{
            "name": "own", "conditions": {"match-prefix-set": {"prefix-set": "own"}},
            "actions": {"route-disposition": "accept-route"}}]}]
        out["global"]["apply-policy"] = {"config": {"export-policy-list": ["own-only"],
                                                    "default-export-policy": "reject-route"}}
    return out


def _own_space(topo: Topology, isp_name: str) -> list[dict[str, str]]:
    nets = [ipaddress.IPv4Network(x) for x in topo.isp(isp_name).space]
    out = [{"ip-prefix": str(n), "masklength-range": f"{n.prefixlen}..32"} for n in nets]
    if topo.ipv6:
        for n in list(out):
            v6 = embed6(topo.ipv6, n["ip-prefix"])
            out.append({"ip-prefix": v6, "masklength-range": f"{v6.split('/')[1]}..128"})
    return out


def speakers(topo: Topology) -> list[str]:
    """Every host that runs a BGP daemon: routers, then collectors, in file order."""
    return [r.name for r in topo.routers] + [c.name for c in topo.collectors]
