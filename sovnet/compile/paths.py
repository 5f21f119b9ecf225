"""Proactive forwarding: for every destination host, the port each switch sends it out of.

Shortest paths by hop count over the switch graph, ties broken by switch name, so the result is
deterministic and every destination's paths form a tree (no loops, never back out of in_port).

Pure: standard library and networkx.
"""

from __future__ import annotations

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


def next_hops(topo: Topology) -> dict[str, dict[str, int]]:
    """{switch: {destination host: output port}} for every pair that is connected."""
    g = switch_graph(topo)
    out: dict[str, dict[str, int]] = {s.name: {} for s in topo.switches}
    for dest_switch in sorted(g.nodes):
        parents = dict(nx.bfs_predecessors(g, dest_switch, sort_neighbors=sorted))
        local = [h for h in topo.hosts if h.switch == dest_switch]
        for sw, parent in parents.items():
            port = g.edges[sw, parent]["ports"][sw]
            for h in local:
                out[sw][h.name] = port
        for h in local:
            out[dest_switch][h.name] = h.port
    return out


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
