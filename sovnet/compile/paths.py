"""Proactive forwarding: for every destination, the port each switch sends it out of.

Shortest paths by hop count over the switch graph, ties broken by switch name, so the result is
deterministic and every destination's paths form a tree (no loops, never back out of in_port).

Pure: standard library and networkx.
"""

from __future__ import annotations

import ipaddress

import networkx as nx

from sovnet.model.topology import Topology


def switch_graph(topo: Topology) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(sorted(s.name for s in topo.switches))
    for lk in topo.switch_links():
        # The first link between two switches carries the traffic; parallel links are spares.
        if not g.has_edge(lk.a, lk.b):
            g.add_edge(lk.a, lk.b, ports={lk.a: lk.a_port, lk.b: lk.b_port})
    return g


def switch_hops(topo: Topology) -> dict[str, dict[str, int]]:
    """{switch: {destination switch: output port}} for every pair that is connected."""
    return topo.memo("switch_hops", _switch_hops)


def _switch_hops(topo: Topology) -> dict[str, dict[str, int]]:
    g = switch_graph(topo)
    out: dict[str, dict[str, int]] = {s.name: {} for s in topo.switches}
    for dest in sorted(g.nodes):
        for sw, parent in nx.bfs_predecessors(g, dest, sort_neighbors=sorted):
            out[sw][dest] = g.edges[sw, parent]["ports"][sw]
    return out


def host_port(topo: Topology, switch: str, host: str) -> int | None:
    """The port `switch` sends packets for `host` out of; None when it cannot reach it."""
    h = topo.host(host)
    if h.switch == switch:
        return h.port
    return switch_hops(topo)[switch].get(h.switch)


def destination_blocks(topo: Topology) -> tuple[tuple[str, ipaddress.IPv4Network], ...]:
    """(switch, IPv4 block) covering every host: a switch's own prefix where it has one (its
    hosts are all inside it), each other host's address alone. Blocks never overlap."""
    return topo.memo("destination_blocks", _destination_blocks)


def _destination_blocks(topo: Topology) -> tuple[tuple[str, ipaddress.IPv4Network], ...]:
    out = [(s.name, ipaddress.IPv4Network(s.prefix)) for s in topo.switches if s.prefix]
    owned = {s.name for s in topo.switches if s.prefix}
    out += [(h.switch, ipaddress.IPv4Network(h.ip)) for h in topo.hosts
            if h.switch not in owned]
    return tuple(out)


def remote_routes(topo: Topology, switch: str) -> dict[int, list[ipaddress.IPv4Network]]:
    """{output port: the fewest prefixes covering exactly the blocks of other switches that
    leave by it}: the forward table grows with the network's prefixes, not its hosts."""
    hops = switch_hops(topo)[switch]
    by_port: dict[int, list[ipaddress.IPv4Network]] = {}
    for dest, block in destination_blocks(topo):
        port = hops.get(dest)
        if dest != switch and port is not None:
            by_port.setdefault(port, []).append(block)
    return {port: list(ipaddress.collapse_addresses(blocks))
            for port, blocks in sorted(by_port.items())}


def host_ports(topo: Topology) -> dict[str, set[int]]:
    """{switch: ports facing hosts}."""
    out: dict[str, set[int]] = {s.name: set() for s in topo.switches}
    for h in topo.hosts:
        out[h.switch].add(h.port)
    return out


def trunk_ports(topo: Topology) -> dict[str, set[int]]:
    """{switch: ports facing other switches}."""
    out: dict[str, set[int]] = {s.name: set() for s in topo.switches}
    for lk in topo.switch_links():
        out[lk.a].add(lk.a_port)
        out[lk.b].add(lk.b_port)
    return out
