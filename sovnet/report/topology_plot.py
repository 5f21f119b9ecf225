"""The topology as a picture: a layered tree from subscribers (left) through the national network
to the border and the internet (right), with the country border drawn between them.

Layout: a breadth-first spanning tree grown from the border switches (networkx), drawn as a tidy
tree whose x is the switch role's layer, so every leaf (a subscriber group, a service, a
resolver) gets a row of its own and no two labels collide. Links outside the tree are drawn too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sovnet.model.topology import Topology
from sovnet.report import style

LAYER = {"access": 1.0, "aggregation": 2.0, "core": 3.0, "ixp": 4.0, "border": 5.0,
         "internet": 6.5}
BORDER_X = 5.75
ROLE_MARKERS = {"access": "o", "aggregation": "s", "core": "D", "ixp": "h", "border": "H",
                "internet": "o"}
INTERNET_FILL = "#D9D9D9"
SUBS_ROWS = 1.7  # a subscriber group's two-line label needs more height than one row
RESOLVER_COLOUR = "#AA3377"


def _graph(topo: Topology, vantage: set[str]) -> nx.Graph:
    """Switches, services and resolvers as nodes; subscribers folded into one node per
    access switch ("sub:SWITCH") that knows how many there are and of which classes."""
    g = nx.Graph()
    for sw in topo.switches:
        g.add_node(sw.name, kind="switch", role=sw.role, isp=sw.isp)
    subs: dict[str, Counter[str]] = defaultdict(Counter)
    probes: Counter[str] = Counter()
    classes = {s.name: s.cls for s in topo.subscribers}
    loci = {s.name: s for s in topo.services}
    for h in topo.hosts:
        if h.kind == "subscriber":
            subs[h.switch][classes.get(h.name, "?")] += 1
            probes[h.switch] += h.name in vantage
        elif h.kind == "service" and h.name in loci:
            svc = loci[h.name]
            g.add_node(h.name, kind="service", locus=svc.locus, category=svc.category)
            g.add_edge(h.name, h.switch, leaf=True)
        elif h.kind == "resolver":
            g.add_node(h.name, kind="resolver")
            g.add_edge(h.name, h.switch, leaf=True)
    for sw, counts in subs.items():
        g.add_node(f"sub:{sw}", kind="subs", counts=counts, probes=probes[sw])
        g.add_edge(f"sub:{sw}", sw, leaf=True)
    for lk in topo.switch_links():
        g.add_edge(lk.a, lk.b, leaf=False)
    return g


def _x(g: nx.Graph, node: str, parent: str | None) -> float:
    data = g.nodes[node]
    if data["kind"] == "switch":
        return LAYER.get(data["role"], 3.0)
    px = _x(g, parent, None) if parent else 3.0
    if data["kind"] == "subs":
        return px - 1.0
    return px + 0.9 if px > BORDER_X else px - 0.55


def _parents(g: nx.Graph) -> dict[str, str]:
    """Each node's parent: its neighbour one hop closer to the border (the higher layer on a
    tie), so the tree follows the network's hierarchy whatever order the links were given in."""
    roles = {n: d.get("role") for n, d in g.nodes(data=True)}
    parent: dict[str, str] = {}
    for comp in nx.connected_components(g):
        for role in ("border", "ixp", "core", "aggregation", "access", "internet", None):
            roots = sorted(n for n in comp if roles[n] == role)
            if roots:
                break
        dist = nx.multi_source_dijkstra_path_length(g, roots)
        for n in comp:
            closer = [c for c in g[n] if dist[c] == dist[n] - 1]
            if closer:
                parent[n] = min(closer, key=lambda c: (-LAYER.get(roles[c] or "", 0), c))
    return parent


def layout(topo: Topology, vantage: Sequence[str] = ()) -> tuple[nx.Graph, dict[str, Any]]:
    """(graph, {node: (x, y)}); y grows downwards from 0 in rows."""
    g = _graph(topo, set(vantage))
    parent = _parents(g)
    children: dict[str, list[str]] = defaultdict(list)
    for c, p in parent.items():
        children[p].append(c)
    # Separate row counters inside and outside the border, so the (few) foreign nodes are
    # spread over the height of the (many) domestic ones instead of stacked below them.
    rows = {"in": 0.0, "out": 0.0}
    pos: dict[str, tuple[float, float]] = {}

    def place(n: str) -> float:
        x = _x(g, n, parent.get(n))
        kids = sorted(children[n], key=_child_key(g))
        if not kids:
            side = "out" if x > BORDER_X else "in"
            height = SUBS_ROWS if g.nodes[n]["kind"] == "subs" else 1.0
            y, rows[side] = rows[side] + (height - 1) / 2, rows[side] + height
        else:
            y = sum(place(c) for c in kids) / len(kids)
        pos[n] = (x, y)
        return y

    for root in sorted((n for n in g if n not in parent), key=_child_key(g)):
        place(root)
    if rows["out"] and rows["in"] > rows["out"]:
        stretch = min(2.5, rows["in"] / rows["out"])
        pos = {n: (x, y * stretch if x > BORDER_X else y) for n, (x, y) in pos.items()}
    return g, pos


def _child_key(g: nx.Graph) -> Callable[[str], tuple[int, str, str]]:
    kinds = {"subs": 0, "switch": 1, "resolver": 2, "service": 3}
    return lambda n: (kinds[g.nodes[n]["kind"]], str(g.nodes[n].get("isp") or "~"), n)


def _subs_label(d: dict[str, Any]) -> str:
    counts: Counter[str] = d["counts"]
    total = sum(counts.values())
    kinds = ", ".join(f"{n} {c}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    probes = f", {d['probes']} probing" if d["probes"] else ""
    return f"{total} subs{probes}\n({kinds})"


def draw(ax: Axes, topo: Topology, vantage: Sequence[str] = ()) -> dict[str, tuple[float, float]]:
    g, pos = layout(topo, vantage)
    isp_colour = {isp.name: style.ISP_COLOURS[i % len(style.ISP_COLOURS)]
                  for i, isp in enumerate(topo.isps)}
    top = max((y for _, y in pos.values()), default=0) + 0.8
    ax.axvspan(BORDER_X, 9, color="#F2F2F2", zorder=0)
    ax.axvline(BORDER_X, color="#B00020", lw=2, ls=(0, (6, 3)), zorder=1)
    ax.text(BORDER_X - 0.05, -1.0, "inside the country ◀", ha="right", va="center",
            fontsize=10, color="#B00020", fontweight="bold")
    ax.text(BORDER_X + 0.05, -1.0, "▶ abroad", ha="left", va="center", fontsize=10,
            color="#B00020", fontweight="bold")
    for a, b, d in g.edges(data=True):
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.plot([xa, xb], [ya, yb], color="#BBBBBB" if d["leaf"] else "#555555",
                lw=0.8 if d["leaf"] else 1.6, zorder=2)
    for n, d in g.nodes(data=True):
        x, y = pos[n]
        if d["kind"] == "switch":
            border = d["role"] == "border"
            fill = INTERNET_FILL if d["role"] == "internet" else isp_colour.get(d["isp"], "white")
            size = 420 if border else 300 if d["role"] == "ixp" else 230
            ax.scatter([x], [y], s=size, marker=ROLE_MARKERS.get(d["role"], "o"), color=fill,
                       edgecolor="#B00020" if border else "#333333", lw=3 if border else 1,
                       zorder=4)
            ax.annotate(n, (x, y), xytext=(0, 11 if border else 9), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8.5, zorder=6,
                        fontweight="bold" if border else "normal",
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        elif d["kind"] == "subs":
            ax.annotate(_subs_label(d), (x, y), ha="right", va="center", fontsize=8, zorder=6,
                        bbox=dict(boxstyle="round,pad=0.35", fc="#FFF7E0", ec="#8C6D1F"))
        else:
            service = d["kind"] == "service"
            colour = style.LOCUS_COLOURS.get(d.get("locus"), "#777777") if service \
                else RESOLVER_COLOUR
            ax.scatter([x], [y], s=110, marker="s" if service else "^", color=colour,
                       edgecolor="white", lw=0.8, zorder=4)
            text = f"{n} ({d['category']})" if service else f"{n} (resolver)"
            right = x > BORDER_X
            ax.annotate(text, (x, y), xytext=(8 if right else -8, 0), textcoords="offset points",
                        ha="left" if right else "right", va="center", fontsize=8, zorder=6)
    ax.set_xlim(-1.9, 8.6)
    ax.set_ylim(top, -1.6)
    ax.set_axis_off()
    ax.set_title(f"The network: {topo.name}", loc="left", fontsize=13, fontweight="bold")
    # Fill colours as wide patches, shapes as markers: the two legends cannot be confused.
    handles: list[Any] = [Patch(fc=c, ec="#333333", lw=0.6, label=f"ISP {name}")
                          for name, c in isp_colour.items()]
    handles.append(Patch(fc="white", ec="#333333", lw=0.6, label="no ISP (shared)"))
    handles += [Line2D([], [], ls="", marker=ROLE_MARKERS[r], ms=9,
                       color=INTERNET_FILL if r == "internet" else "white",
                       markeredgecolor="#B00020" if r == "border" else "#333333",
                       markeredgewidth=2.5 if r == "border" else 1, label=f"{r} switch")
                for r in ROLE_MARKERS if any(s.role == r for s in topo.switches)]
    handles += [Line2D([], [], ls="", marker="s", ms=8, color=c, label=f"{loc} service")
                for loc, c in style.LOCUS_COLOURS.items()]
    handles += [Line2D([], [], ls="", marker="^", ms=8, color=RESOLVER_COLOUR, label="resolver")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=7,
              fontsize=8.5, frameon=False)
    return pos


def figure(topo: Topology, vantage: Sequence[str] = ()) -> Figure:
    """The drawing on a Figure of its own, sized to the topology's rows."""
    _, pos = layout(topo, vantage)
    rows = max((y for _, y in pos.values()), default=1)
    fig = Figure(figsize=(12, 2.2 + 0.3 * rows), layout="constrained")
    draw(fig.add_subplot(), topo, vantage)
    return fig
