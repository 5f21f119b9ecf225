"""Resolver hosts answer what the switches steer to them, whatever its IP destination.

blockpage and steer_dns policies rewrite the Ethernet destination of a subscriber's HTTP or DNS
to the MAC of its ISP's resolver host, and leave the IP destination alone: it is still the
blocked site's address, or the resolver the subscriber asked. Linux would drop such packets (not
addressed to it, no forwarding), so each resolver host's network namespace gets an nftables NAT
rule per port its servers listen on that redirects them to those servers; conntrack gives the
replies the address the client asked as their source, so its socket takes them. rp_filter does
not interfere: every source is routed back through the host's only interface. The rules live
in the host's namespace and disappear with it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterable

from sovnet.errors import EmulationError
from sovnet.model.topology import Topology

TABLE = "sovnet_steer"


def ruleset(own_ip: str, ports: Iterable[str]) -> str:
    """The nft script for a host at `own_ip` serving `ports` ("tcp/80", "udp/53", ...).
    Replaces the table if it exists, so it can be loaded again."""
    rules = []
    for p in dict.fromkeys(ports):
        proto, _, port = p.partition("/")
        if proto not in ("tcp", "udp") or not port.isdigit():
            raise ValueError(f"bad server port {p!r} (expected tcp/N or udp/N)")
        # Only what was steered here: packets for the host's own address need no rewriting.
        rules.append(f"    ip daddr != {own_ip} {proto} dport {port} counter redirect")
    return "\n".join([
        f"table ip {TABLE}",
        f"delete table ip {TABLE}",
        f"table ip {TABLE} {{",
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        *rules,
        "  }",
        "}",
        "",
    ])


def steered_ports(topology: Topology, specs: Iterable) -> dict[str, list[str]]:
    """Resolver host -> the ports of its servers (ServerSpec.ports), in spec order."""
    resolvers = {r.name for r in topology.resolvers}
    out: dict[str, list[str]] = {}
    for spec in specs:
        if spec.host in resolvers:
            out.setdefault(spec.host, []).extend(spec.ports)
    return out


def install(topology: Topology, specs: Iterable, host_of: Callable[[str], object]) -> None:
    """Load the redirect rules into every resolver host (Mininet hosts from host_of)."""
    if shutil.which("nft") is None:
        raise EmulationError(
            "nft (nftables) is not installed: resolver hosts need it to answer the HTTP and DNS "
            "that blockpage and steer_dns policies send them (run setup.sh as root)"
        )
    for name, ports in steered_ports(topology, specs).items():
        script = ruleset(topology.host(name).ip, ports)
        proc = host_of(name).popen(["nft", "-f", "-"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = proc.communicate(script, timeout=10)
        if proc.returncode != 0:
            raise EmulationError(
                f"host {name}: cannot load its nftables redirect rules (nft exit "
                f"{proc.returncode}): {out.strip()}\n{script}"
            )
