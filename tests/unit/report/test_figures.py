"""Each figure draws what it should (titles, labels, series, marks), read back from the
matplotlib objects rather than compared pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh

from sovnet.config import load_topology
from sovnet.report import analysis, figures, topology_plot
from sovnet.report.plots import service_labels
from sovnet.report.style import Timeline
from tests.unit.report.fakerun import ROOT


@pytest.fixture(scope="module")
def tl(run) -> Timeline:
    return Timeline.from_run(run)


@pytest.fixture(scope="module")
def bins(run) -> analysis.Bins:
    return analysis.make_bins(run.web, run.duration_s)


def gids(ax, gid: str) -> int:
    return sum(a.get_gid() == gid for a in ax.get_children())


def series(ax) -> list[str]:
    return [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_time_axis_in_hours_with_phases_and_steps(tl) -> None:
    assert tl.unit_s == 3600 and tl.xlabel == "scenario time (h)"
    assert Timeline(3600.0, (), ()).xlabel == "scenario time (min)"
    assert tl.stopped_at is None


def test_reachability(run, tl, bins) -> None:
    fig = figures.new_figure(11, 6)
    axes = figures.reachability(fig, analysis.reachability(run, bins), bins, tl)
    assert len(axes) == 2
    assert series(axes[0]) == ["BANK: banking", "GOVT: government", "HEALTH: health services"]
    assert series(axes[1]) == ["CDN: content delivery network", "GRP: social networking",
                               "NEWS: news media"]
    assert axes[0].get_title(loc="left") == "Could subscribers reach each kind of service?"
    assert "reachable (% of measurements)" in axes[0].get_ylabel()
    assert axes[1].get_xlabel() == "scenario time (h)"
    for ax in axes:
        assert gids(ax, "step") == 3 and gids(ax, "phase") == 3
    assert gids(axes[0], "phase-ribbon") == 3 and gids(axes[1], "phase-ribbon") == 0
    assert {"normal", "cutoff", "restored", "1", "2"} <= set(texts(axes[0]))
    assert axes[0].get_xlim() == (0, 12)


def test_heatmap(run, tl, bins) -> None:
    fig = figures.new_figure(11, 6)
    maps = analysis.heatmaps(run, bins)
    axes = figures.heatmap(fig, maps, service_labels(run), bins, tl)
    assert [ax.get_title(loc="left") for ax in axes] == [
        "subscriber class: mobile_prepaid", "subscriber class: fixed_home"]
    mesh = [c for c in axes[0].collections if isinstance(c, QuadMesh)]
    assert len(mesh) == 1 and mesh[0].get_array().shape == (6, 24)
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert labels[0] == "bank (banking, domestic)" and labels[-1] == "news (news media, foreign)"
    assert all(gids(ax, "step") == 3 for ax in axes)
    assert len(fig.axes) == 3  # two panels and a shared colour bar
    assert fig.axes[-1].get_xlabel() == "reachable (% of measurements)"


def test_heatmap_of_many_classes_uses_two_columns(run, tl, bins) -> None:
    one = analysis.heatmaps(run, bins)["fixed_home"]
    maps = {c: one for c in ("mobile_prepaid", "mobile_postpaid", "fixed_home", "enterprise",
                             "kiosk")}
    fig = figures.new_figure(11, 9)
    axes = figures.heatmap(fig, maps, service_labels(run), bins, tl)
    assert figures.heatmap_grid(5) == (3, 2) and len(axes) == 5
    assert sum(ax.get_visible() for ax in fig.axes) == 6  # five panels and the colour bar
    assert [ax.get_xlabel() for ax in axes] == ["", "", "", "scenario time (h)",
                                                "scenario time (h)"]
    assert [gids(ax, "phase-ribbon") for ax in axes] == [3, 3, 0, 0, 0]


def test_blocking_mix(run, tl, bins) -> None:
    fig = figures.new_figure(11, 4)
    ax = fig.add_subplot()
    mix = analysis.blocking_mix(run, bins)
    figures.blocking_mix(ax, mix, bins, tl)
    stacks = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(stacks) == len(mix) == 6
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[-1] == "no blocking (OK)" and "TCP/IP blocking" in legend
    assert ax.get_ylim() == (0, 1) and ax.get_ylabel() == "share of web measurements"
    assert gids(ax, "step") == 3


def test_enforcement_latency(run) -> None:
    fig = figures.new_figure(11, 4)
    ax = fig.add_subplot()
    lats = analysis.step_latencies(run)
    figures.enforcement_latency(ax, lats)
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in dots] == [7, 1, 7, 1]  # per step: acks, first probe
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "time after the store commit (real time, log scale)"
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == 2 and ticks[0].startswith("1. international cutoff")
    assert any("alice saw social blocked" in t for t in texts(ax))
    assert len(fig.legends) == 1


def test_throughput(run, tl) -> None:
    fig = figures.new_figure(11, 4)
    ax = fig.add_subplot()
    tb = analysis.make_bins(run.throughput, run.duration_s)
    figures.throughput(ax, analysis.throughput(run, tb), tb, tl)
    assert series(ax) == ["mobile_prepaid", "fixed_home"]  # the model's order of classes
    assert ax.get_ylabel() == "median throughput (Mbit/s)"
    assert ax.get_title(loc="left") == "Download throughput per subscriber class"


def test_collateral(run) -> None:
    fig = figures.new_figure(11, 4)
    rows = [s for s, _, _ in analysis.service_rows(run)]
    axes = figures.collateral(fig, analysis.collateral(run), rows, service_labels(run))
    assert [ax.get_title() for ax in axes] == ["normal", "cutoff", "restored"]
    cut = axes[1]
    reachable, gap, usable = cut.containers
    assert len(reachable) == len(rows) == 6
    bank = rows.index("bank")
    assert gap[bank].get_width() == pytest.approx(2 / 3) and usable[bank].get_width() == 0
    assert texts(cut).count("0 %: none reached") == 3  # the foreign services
    assert fig.legends and "reachable but not usable" in [
        t.get_text() for t in fig.legends[0].get_texts()]


def test_topology_minimal(run) -> None:
    fig = figures.new_figure(12, 5)
    ax = fig.add_subplot()
    pos = topology_plot.draw(ax, run.topology, ["alice", "erin"])
    border = topology_plot.BORDER_X
    for outside in ("inet1", "social", "news", "cdn"):
        assert pos[outside][0] > border
    for inside in ("acc1", "core1", "gw1", "bank", "dns1", "sub:acc1"):
        assert pos[inside][0] < border
    labels = texts(ax)
    assert "2 subs, 1 probing\n(1 fixed_home, 1 enterprise)" in labels
    assert "bank (BANK)" in labels and "dns2 (resolver)" in labels
    assert "alice" not in labels  # subscribers are counted, not drawn one by one
    assert ax.get_title(loc="left") == "The network: minimal"


def test_topology_national_leaves_do_not_collide() -> None:
    topo = load_topology(str(ROOT / "topologies" / "national.yaml"))
    g, pos = topology_plot.layout(topo)
    groups = [d["counts"] for n, d in g.nodes(data=True) if n.startswith("sub:")]
    assert len(groups) == 8 and sum(sum(c.values()) for c in groups) == 54  # not 54 dots
    pts = np.array(list(pos.values()))
    for i in range(len(pts)):
        d = np.hypot(*(pts - pts[i]).T)
        d[i] = np.inf
        assert d.min() > 0.4, list(pos)[i]
    assert pos["ixp1"][0] < pos["gw2"][0] < topology_plot.BORDER_X < pos["inet3"][0]
