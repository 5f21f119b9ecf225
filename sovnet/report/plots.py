"""The figures of a report: how each is made from a run, its title and its caption, in the
order the report shows them (PLOTS). A maker raises Skip, with the one-line note the report
gives instead, when the run has nothing for it to show.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from matplotlib.figure import Figure

from sovnet.model.topology import CATEGORY_NAMES
from sovnet.report import (
    analysis,
    figures,
    isp_plot,
    orders,
    orders_plot,
    outcomes,
    topology_plot,
)
from sovnet.report.dataset import Run
from sovnet.report.style import Timeline


class Skip(Exception):
    """A figure with nothing to show; the message is the one-line note the report gives."""


def service_labels(run: Run) -> dict[str, str]:
    return {s: f"{s} ({CATEGORY_NAMES.get(c, c)}, {loc})"
            for s, c, loc in analysis.service_rows(run)}


def _need_web(run: Run) -> None:
    if not analysis.usable_web(run):
        raise Skip("No web_connectivity measurements in this run.")


def _orders(run: Run, tl: Timeline) -> Figure:
    made = orders.orders(run)
    spans = orders.policy_spans(run, made)
    others = orders.others(made) if run.revisions else []
    if not spans and not others:
        raise Skip("No policy was ordered during the run (or the folder has no "
                   "revisions.jsonl: see the table of orders below).")
    fig = figures.new_figure(11, 1.5 + 0.55 * (len(spans) + len(others)))
    orders_plot.draw(fig.add_subplot(), spans, tl, orders.clock_origin(run), others)
    return fig


def _per_isp(run: Run, tl: Timeline) -> Figure:
    _need_web(run)
    bins = analysis.make_bins(run.web, tl.duration_s)
    panels = {f"{locus} services": outcomes.per_isp(run, bins, locus)
              for locus in ("foreign", "domestic")}
    panels = {k: v for k, v in panels.items() if any(v.values())}
    isps = {i.name: f"{i.name} (AS{i.asn})" if i.asn else i.name for i in run.topology.isps}
    rows = len(next(iter(panels.values())))
    fig = figures.new_figure(12, 1.6 + 1.55 * rows)
    isp_plot.draw(fig, panels, bins, tl, "What subscribers saw, per ISP", isps)
    return fig


def _per_region(run: Run, tl: Timeline) -> Figure:
    _need_web(run)
    bins = analysis.make_bins(run.web, tl.duration_s)
    regions = outcomes.per_region(run, bins)
    if not regions:
        raise Skip("The topology names no regions.")
    fig = figures.new_figure(12, 1.6 + 1.55 * len(regions))
    isp_plot.draw(fig, {"all services": regions}, bins, tl, "What subscribers saw, per region",
                  {r: f"region {r}" for r in regions})
    return fig


def _reachability(run: Run, tl: Timeline) -> Figure:
    _need_web(run)
    bins = analysis.make_bins(run.web, tl.duration_s)
    data = analysis.reachability(run, bins)
    fig = figures.new_figure(11, 1.2 + 2.6 * len({loc for _, loc in data}))
    figures.reachability(fig, data, bins, tl)
    return fig


def _heatmap(run: Run, tl: Timeline) -> Figure:
    _need_web(run)
    bins = analysis.make_bins(run.web, tl.duration_s)
    maps = analysis.heatmaps(run, bins)
    rows = len(analysis.service_rows(run))
    panel_rows, _ = figures.heatmap_grid(len(maps))
    fig = figures.new_figure(11, 1.3 + panel_rows * (0.7 + 0.24 * rows))
    figures.heatmap(fig, maps, service_labels(run), bins, tl)
    return fig


def _blocking(run: Run, tl: Timeline) -> Figure:
    _need_web(run)
    bins = analysis.make_bins(run.web, tl.duration_s)
    fig = figures.new_figure(11, 4.2)
    figures.blocking_mix(fig.add_subplot(), analysis.blocking_mix(run, bins), bins, tl)
    return fig


def _collateral(run: Run, tl: Timeline) -> Figure:
    _need_web(run)
    rows = [s for s, _, _ in analysis.service_rows(run)]
    fig = figures.new_figure(11, 1.9 + 0.3 * len(rows))
    figures.collateral(fig, analysis.collateral(run), rows, service_labels(run))
    return fig


def _latency(run: Run, tl: Timeline) -> Figure:
    lats = analysis.step_latencies(run)
    if not lats:
        raise Skip("No timeline step changed the policy store, so there is no latency to show.")
    fig = figures.new_figure(11, 1.9 + 0.85 * len(lats))
    figures.enforcement_latency(fig.add_subplot(), lats)
    return fig


PACKET_SPAN = (-250.0, 750.0)  # ms around a commit the packets figure shows, at least


def _packets(run: Run, tl: Timeline) -> Figure:
    lats = analysis.stream_by_step(run)
    if not lats:
        raise Skip("No timeline step changed what a stream probe could reach (no stream probe, "
                   "or no step touched its vantage points).")
    worst = max((x.delay_ms for lat in lats for x in lat.packets if x.delay_ms is not None),
                default=0.0)
    lo, hi = PACKET_SPAN[0], max(PACKET_SPAN[1], worst * 1.6)
    panels = [(lat, analysis.packets_around(run, lat, -lo / 1000, hi / 1000)) for lat in lats]
    fig = figures.new_figure(11, 1.4 + sum(0.9 + 0.32 * len(rows) for _, rows in panels))
    figures.packets(fig, panels, (lo, hi))
    return fig


def _throughput(run: Run, tl: Timeline) -> Figure:
    ok = analysis.throughput_items(run)
    if not ok:
        raise Skip("No sovnet_throughput measurements in this run.")
    bins = analysis.make_bins(ok, tl.duration_s)
    fig = figures.new_figure(11, 4.2)
    figures.throughput(fig.add_subplot(), analysis.throughput(run, bins), bins, tl)
    return fig


def _outside(run: Run, tl: Timeline) -> Figure:
    panels: dict[str, list[dict]] = {}
    abroad = {r.name for r in run.topology.public_resolvers}
    for name in ("ioda.json", "dns.json"):
        path = run.folder / name
        if not path.exists():
            continue
        for [s] in json.loads(path.read_text())["data"]:
            if s["datasource"] != "dns-queries" or s["entityCode"] in abroad:
                panels.setdefault(s["datasource"], []).append(s)
    if not panels:
        raise Skip("This network has no view from abroad (no route collectors, outside "
                   "prober or public resolver abroad).")
    fig = figures.new_figure(11, 1.2 + 2.4 * len(panels))
    figures.outside(fig, panels, tl)
    return fig


def _topology(run: Run, tl: Timeline) -> Figure:
    vantage = [v.get("subscriber", "") for v in run.manifest.get("vantage_points") or []]
    return topology_plot.figure(run.topology, vantage)


PLOTS: list[tuple[str, str, Callable[[Run, Timeline], Figure], str]] = [
    ("orders", "What was ordered", _orders,
     "Every policy ordered during the run, in plain words, as a bar from the store revision "
     "that ordered it to the one that revoked it (to the end of the run if none did); a "
     "scheduled policy is pale while the store holds it and solid in the windows it bites "
     "(a nightly curfew: each night). The table below gives "
     "each order's time, author and reason, and how many milliseconds after the commit the "
     "first and the last switch of each ISP enforced it (too short to show on this axis). "
     "Caveat: 'enforced' is a switch's barrier reply, in real time: the switch has taken the "
     "change into its tables, which under load precedes the data plane's obeying by a little "
     "(the packets figure, where the scenario streams, shows the data plane itself)."),
    ("reachability", "Reachability by service category", _reachability,
     "Share of web measurements (all vantage points) that reached a service of each category, "
     "per probe round. Shaded bands and the ribbon on top are the scenario's phases; dashed "
     "numbered lines are the timeline steps. Lines at equal values are nudged apart slightly "
     "so that all of them stay visible. Caveat: a share is over the few vantage points that "
     "measured in that round (one per ISP and class unless the scenario says more: see the "
     "facts above), and leaves out measurements OONI could not classify (accessible null, "
     "e.g. when the control abroad was cut off too), so a round of only those is a gap."),
    ("per_isp", "What subscribers saw, per ISP", _per_isp,
     "One row per ISP: the web measurements of its subscribers, foreign services on the left "
     "and domestic ones on the right, split by how each ended (OONI's failure strings: a "
     "timeout is a dropped packet, 'refused' a reset answer to the connection attempt, DNS a "
     "resolver that failed or lied). Each panel's title says from which round fewer than 90 % "
     "got through, the largest share that failed, and how most of the failures ended. "
     "'Undetermined' is OONI's null: the control failed too. Caveat: vantage points are few "
     "per ISP (see the facts above), so a share is over a handful of measurements per round, "
     "and an exempted class (a whitelist by class) shows as a share that kept working."),
    ("per_region", "What subscribers saw, per region", _per_region,
     "The same, per region of the country (the subscriber's region, else its access "
     "switch's): a regional shutdown shows in one row only. Caveat: a region's vantage "
     "points are those the seed picked in it, possibly one ISP's only."),
    ("heatmap", "Reachability per service and subscriber class", _heatmap,
     "Each row is a service, each column a probe round; blue means every vantage point of that "
     "class reached it, red that none did, grey that nobody measured it then. Caveat: a cell "
     "is usually one or two measurements."),
    ("blocking", "OONI blocking verdicts over time", _blocking,
     "What an OONI-style measurer would have reported: each web measurement compared with the "
     "unfiltered control vantage point and classified. 'TCP/IP blocking' is the signature of "
     "dropped packets; 'undetermined' means the comparison could not decide. Caveat: the "
     "verdict needs the control; when the control abroad is cut off too (an inbound cut at "
     "the border), measurements read 'undetermined'. The rules are OONI's web_connectivity "
     "0.4 classification as sovnet.experiments.ooni implements it, tested against OONI's own "
     "package."),
    ("collateral", "Collateral damage: reachable versus usable", _collateral,
     "For each phase and service, the wide bar is the share of measurements where the page "
     "loaded; the narrow bar inside it, where the page and every subresource it needs (for "
     "example scripts on a foreign CDN) loaded. Hatching marks pages that loaded but did not "
     "work: whitelisting a service does not help if what it depends on is cut off. Caveat: "
     "'usable' is sovnet's own (x_sovnet_usable), not an OONI field: every subresource the "
     "page lists loaded; real pages degrade more gracefully than all or nothing."),
    ("latency", "Policy-to-enforcement latency", _latency,
     "For each change committed to the policy store: when each switch acknowledged it (blue "
     "dots, one per switch; bar: median) and when a probe first saw its effect (star), in real "
     "time on a log scale. A probe's time is that of the packet that decided its outcome: the "
     "completed connection to a service the change opened, the first dropped SYN to one it "
     "closed. A switch can enforce a change before its acknowledgement reaches the store, so a "
     "probe may see it before the last ack; a probe that measures rarely sees it late. "
     "Diamonds, where the scenario has stream probes: the last packet through of a stream the "
     "change cut, and the first of one it let in (figure 'the last and first packet through'). "
     "Caveat: real time on one machine's clock; with several switches a change is in force "
     "everywhere only at the last acknowledgement."),
    ("packets", "The last and first packet through, per change", _packets,
     "Stream probes send small ICMP echo requests at a fixed rate (100 per second unless the "
     "scenario says otherwise) from subscriber hosts to a service, through every change. Each "
     "tick is a reply, placed at the time it arrived after the change's store commit (real "
     "time, on the clock of the commit and the switches' acknowledgements). For a subscriber a "
     "change cut, the last tick is the last packet that got through; for one it let in, the "
     "first. Blue triangles mark when that subscriber's access switch acknowledged the change. "
     "Grey rows are streams the change was not meant to touch. Caveat: ICMP echo only: a "
     "change aimed at a port, a name or an SNI does not touch these streams."),
    ("throughput", "Throughput per subscriber class", _throughput,
     "Median download throughput of the throughput probes of each subscriber class, per probe "
     "round (line), every transfer (dots) and the lowest to the highest of each round (band); "
     "a round often has one or two transfers per class, so a median is as good as its dots. "
     "A failed transfer is not a throughput sample: crosses at the foot of the axes mark the "
     "rounds of a class in which transfers failed (the expectations on throughput take their "
     "medians the same way). Caveat: on Open vSwitch's userspace datapath (this run's "
     "'datapath' below says which) every packet is forwarded by ovs-vswitchd on the machine's "
     "own CPUs, so throughput measures CPU contention as much as the network: when a cutoff "
     "stops most traffic, the transfers left run faster, and a class can seem to gain during "
     "a cut. A throttle (a meter) is exact; an unthrottled figure is comparable within a round, "
     "not across phases, and not with the kernel datapath."),
    ("outside", "The view from abroad: what IODA and observers would have shown", _outside,
     "Top: IODA's BGP signal, the /24 blocks of each ISP's space that more than half of the "
     "route collectors' full-feed peers see (ioda.json, from the collectors' update feeds). "
     "Middle: IODA's active probing, the /24 blocks a Trinocular-like prober abroad finds up. "
     "Both are shares of their value at the start; the dashed line is the whole country. "
     "Traffic: the bytes each ISP's subscribers exchanged across the border gateways per step "
     "(background demand on a daily curve, plus the probes), as a share of the run's busiest "
     "step, as Cloudflare Radar draws it. "
     "Bottom: the DNS queries the country's resolvers sent to the public resolver abroad "
     "per step (dns.json): a cut that lets queries out but no answers in shows as a flood of "
     "retries. A cut of the routes empties the top panel; a cut of the data plane leaves it "
     "flat while the middle one drops. Caveat: two route collectors with two transit peers "
     "each, not RIS's and RouteViews' hundreds; a Trinocular-like prober (a fixed set of "
     "addresses that ever answered, no Bayesian belief); traffic is emulated demand."),
    ("topology", "The emulated network", _topology,
     "Subscribers (grouped per access switch) on the left, the national network in layers "
     "towards the border gateways, and the internet with the foreign services beyond the "
     "country border on the right. Switch colour is the owning ISP; shape is the role. "
     "Caveat: link capacities and delays are not drawn (topology.json has them)."),
]
