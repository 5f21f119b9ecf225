"""The BGP speakers of a network: a GoBGP daemon in every router and collector host, and a
live feed beside each collector (sovnet.emulation.risfeed).

Files, in the network's BGP folder (bgp/ in a run folder):
  NAME.json               the daemon's configuration (sovnet.compile.bgpconf)
  NAME.sock               its API (gRPC on a Unix socket, reachable from every namespace)
  NAME.log                its log
  COLLECTOR.updates.mrt   every update the collector received, MRT (BGP4MP)
  COLLECTOR.ris.jsonl     the same, as RIS Live messages stamped to the microsecond
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from sovnet.compile import bgpconf
from sovnet.emulation.servers import ServerSpec
from sovnet.errors import EmulationError
from sovnet.model.topology import Topology

UNIX_PATH_MAX = 107  # bytes in a Unix socket's path, without the NUL


def bgp_dir(workdir: Path) -> Path:
    return Path(workdir) / "bgp"


def check_tools(topology: Topology) -> None:
    if topology.routers and (shutil.which("gobgpd") is None or shutil.which("gobgp") is None):
        raise EmulationError("the topology has routers, but gobgpd is not installed "
                             "(expected the gobgpd package: run ./setup.sh)")


def specs(topology: Topology, d: Path, python: str = sys.executable) -> list[ServerSpec]:
    """Write each daemon's configuration into `d` and return the command lines (nothing
    started)."""
    out: list[ServerSpec] = []
    names = bgpconf.speakers(topology)
    if not names:
        return out
    check_tools(topology)
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    longest = max(len(str(bgpconf.socket_path(d, n)).encode()) for n in names)
    if longest > UNIX_PATH_MAX:
        raise EmulationError(f"the folder {d} is too deep for the BGP daemons' API "
                             f"sockets ({longest} bytes, expected at most {UNIX_PATH_MAX}: "
                             "use a shorter path)")
    for name in names:
        conf = d / f"{name}.json"
        conf.write_text(json.dumps(bgpconf.config(topology, name), indent=1))
        sock = bgpconf.socket_path(d, name)
        argv = ["gobgpd", "-t", "json", "-f", str(conf.resolve()), "--api-hosts",
                f"unix://{sock.resolve()}", "--pprof-disable", "-p"]
        out.append(ServerSpec(name, "bgp", argv, sock, d / f"{name}.log", ("tcp/179",)))
    for i, c in enumerate(topology.collectors):
        link = bgpconf.mrt_path(d, c.name)
        link.unlink(missing_ok=True)
        link.symlink_to(bgpconf.mrt_written(i))
        peers = [f"--peer={topology.host(r.name).ip}={r.asn}" for r in topology.transit_routers]
        ready = d / f"{c.name}.ris.ready"
        argv = [python, "-m", "sovnet.emulation.risfeed",
                "--socket", str(bgpconf.socket_path(d, c.name).resolve()),
                "--collector", c.name, "--out", str((d / f"{c.name}.ris.jsonl").resolve()),
                "--ready", str(ready.resolve()), *peers, "--family", "ipv4",
                *(["--family", "ipv6"] if topology.ipv6 else [])]
        out.append(ServerSpec(c.name, "ris-feed", argv, ready, d / f"{c.name}.risfeed.log", ()))
    return out
