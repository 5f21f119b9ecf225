"""One function per figure. Each draws computed data (sovnet.report.analysis) onto axes it is
given (`ax`) or, for small multiples whose panel count depends on the data, into a Figure.
Object-oriented matplotlib only: no pyplot state, so figures can be built in any thread.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import LogLocator, NullFormatter

from sovnet.report import style
from sovnet.report.analysis import Bins, PacketRow, StepLatency, ThroughputSeries, class_order
from sovnet.report.style import Timeline

DODGE = 0.008  # lines at equal values are nudged apart this much (1 = 100 %) so all show


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _x(tl: Timeline, bins: Bins) -> np.ndarray:
    return np.asarray(bins.times) / tl.unit_s


def _held(values: np.ndarray) -> np.ndarray:
    """Per-bin values for a step plot over the edges: the last one repeated to close it."""
    return np.append(values, values[-1:])


def reachability(fig: Figure, data: dict[tuple[str, str], np.ndarray], bins: Bins,
                 tl: Timeline) -> list[Axes]:
    """One panel per locus (domestic above foreign), one line per service category."""
    loci = sorted({loc for _, loc in data}, key=lambda loc: (loc != "domestic", loc))
    axes = fig.subplots(len(loci), 1, sharex=True, squeeze=False)[:, 0]
    x = np.asarray(bins.edges) / tl.unit_s
    for ax, locus in zip(axes, loci, strict=True):
        style.decorate(ax, tl, ribbon=ax is axes[0])
        cats = sorted(c for c, loc in data if loc == locus)
        for k, cat in enumerate(cats):
            y = _held(data[(cat, locus)]) + DODGE * (k - (len(cats) - 1) / 2)
            ax.plot(x, y, drawstyle="steps-post", color=style.category_colour(cat), lw=2,
                    marker=style.CATEGORY_MARKERS.get(cat, "o"), ms=5,
                    markevery=max(1, len(x) // 12), label=style.category_label(cat),
                    zorder=10)
        ax.set_ylim(-0.04, 1.06)
        style.percent_axis(ax)
        ax.set_ylabel(f"{locus} services\nreachable (% of measurements)")
        ax.grid(axis="y", color="white", lw=0.8)
        ax.legend(title=f"{locus}: category", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=9, title_fontsize=9, frameon=False)
    axes[-1].set_xlabel(tl.xlabel)
    axes[0].set_title("Could subscribers reach each kind of service?", loc="left",
                      pad=style.TITLE_PAD, fontsize=13, fontweight="bold")
    return list(axes)


def heatmap_grid(n_classes: int) -> tuple[int, int]:
    """(rows, columns) of panels: one column while that stays short, else two."""
    cols = 1 if n_classes <= 3 else 2
    return -(-n_classes // cols), cols


def heatmap(fig: Figure, maps: dict[str, tuple[list[str], np.ndarray]],
            labels: dict[str, str], bins: Bins, tl: Timeline) -> list[Axes]:
    """One panel per subscriber class: services x time, coloured by reachable share. Every
    panel has the same rows, so only the left column names them."""
    classes = list(maps)
    nrows, ncols = heatmap_grid(len(classes))
    grid = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    axes = [ax for row in grid for ax in row][:len(classes)]
    for spare in [ax for row in grid for ax in row][len(classes):]:
        spare.set_visible(False)
    edges = np.asarray(bins.edges) / tl.unit_s
    cmap = colormaps[style.ACCESSIBLE_CMAP].with_extremes(bad=style.NO_DATA)
    mesh = None
    for i, (ax, cls) in enumerate(zip(axes, classes, strict=True)):
        services, m = maps[cls]
        mesh = ax.pcolormesh(edges, np.arange(len(services) + 1), np.ma.masked_invalid(m),
                             cmap=cmap, vmin=0, vmax=1, shading="flat",
                             rasterized=True)  # thousands of cells: a picture in the SVG
        top = i < ncols
        style.decorate(ax, tl, shade=False, ribbon=top)
        ax.tick_params(axis="y", length=0, labelsize=8.5)
        ax.set_title(f"subscriber class: {cls}", loc="left", fontsize=10,
                     color=style.class_colour(cls), fontweight="bold",
                     pad=style.TITLE_PAD if top else 4)
        if i + ncols >= len(classes):  # lowest panel of its column: it carries the time axis
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(tl.xlabel)
    services = maps[classes[0]][0]
    axes[0].set_yticks(np.arange(len(services)) + 0.5, [labels.get(s, s) for s in services])
    axes[0].set_ylim(len(services), 0)
    fig.suptitle("Reachability of each service, per subscriber class", x=0.01, ha="left",
                 fontsize=13, fontweight="bold")
    if mesh is not None:
        bar = fig.colorbar(mesh, ax=axes, location="bottom", shrink=0.45, aspect=35, pad=0.01)
        bar.set_label("reachable (% of measurements)")
        style.percent_axis(bar.ax, "x")
    return axes


def blocking_mix(ax: Axes, mix: dict[str, np.ndarray], bins: Bins, tl: Timeline) -> None:
    """Stacked shares of OONI's `blocking` verdicts over time."""
    edges = np.asarray(bins.edges) / tl.unit_s
    values = list(mix)
    ys = [_held(np.nan_to_num(mix[b])) for b in values]
    ax.stackplot(edges, ys, step="post", colors=[style.BLOCKING_COLOURS.get(b, style.OTHER)
                                                 for b in values],
                 labels=[style.BLOCKING_LABELS.get(b, b) for b in values], lw=0)
    style.decorate(ax, tl, shade=False)
    ax.set_ylim(0, 1)
    style.percent_axis(ax)
    ax.set_ylabel("share of web measurements")
    ax.set_xlabel(tl.xlabel)
    ax.set_title("How blocking looked to a measurer (OONI's verdict)", loc="left",
                 pad=style.TITLE_PAD, fontsize=13, fontweight="bold")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], title="blocking", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize=9, title_fontsize=9, frameon=False)


def _step_label(lat: StepLatency) -> str:
    s = lat.step
    text = textwrap.shorten(s.label or ", ".join(s.actions) or "(no label)", 60)
    return "\n".join(textwrap.wrap(f"{s.index}. {text}", 30)) + f"\n(revision {s.revision})"


def enforcement_latency(ax: Axes, lats: Sequence[StepLatency]) -> None:
    """Per change: every switch's acknowledgement and the first probe that saw the effect."""
    rng = np.random.default_rng(0)  # fixed jitter: the same run draws the same picture
    xs: list[float] = []
    for row, lat in enumerate(lats):
        acks = np.array(list(lat.ack_ms.values())) / 1000.0
        if acks.size:
            ax.scatter(acks, row + rng.uniform(-0.18, 0.18, acks.size), s=22, color="#0072B2",
                       alpha=0.75, edgecolor="white", lw=0.4, zorder=3)
            ax.plot([lat.median_ms / 1000] * 2, [row - 0.3, row + 0.3], color="#003F66", lw=2.5,
                    zorder=4)
            xs += list(acks)
        else:
            ax.annotate("no switch acknowledged it", (0, row), xycoords=("axes fraction", "data"),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=8.5,
                        color="#B00020")
        fs = lat.first_seen
        if fs is not None:
            ax.scatter([fs.delay_s], [row], marker="*", s=220, color="#D55E00",
                       edgecolor="black", lw=0.5, zorder=5)
            word = "reachable" if fs.allowed else "blocked"
            # Beside the star, on the side away from the switches' dots, so neither hides.
            left = bool(lat.ack_ms) and fs.delay_s * 1000.0 < lat.median_ms
            ax.annotate(f"{style.seconds_label(fs.delay_s)}: {fs.subscriber} saw "
                        f"{fs.service} {word}", (fs.delay_s, row),
                        xytext=(-10 if left else 10, 0), textcoords="offset points",
                        ha="right" if left else "left", va="center", fontsize=8.5,
                        color="#8A3A00")
            xs.append(fs.delay_s)
        elif lat.step.effect:
            ax.annotate("no probe saw the effect", (1.0, row), xycoords=("axes fraction", "data"),
                        xytext=(-4, 0), textcoords="offset points", ha="right", va="center",
                        fontsize=8.5, color="#8A3A00")
        for x in lat.packets:  # the stream probes: the data plane's own answer, to a packet
            if x.delay_ms is not None and x.delay_ms > 0:
                ax.scatter([x.delay_ms / 1000.0], [row + 0.3], marker="D", s=30, zorder=6,
                           color=PACKET_COLOURS[x.allowed], edgecolor="black", lw=0.4)
                xs.append(x.delay_ms / 1000.0)
        if lat.step.refused:
            ax.annotate("refused by " + ", ".join(sorted(lat.step.refused)), (0, row),
                        xycoords=("axes fraction", "data"), xytext=(4, -12),
                        textcoords="offset points", fontsize=8, color="#B00020")
    positive = [x for x in xs if x > 0]
    lo, hi = (min(positive), max(positive)) if positive else (1e-3, 1.0)
    ax.set_xscale("log")
    ax.set_xlim(lo / 2.5, hi * 4)
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(lambda v, _: style.seconds_label(v))
    ax.xaxis.set_minor_formatter(NullFormatter())  # log-scale minor labels would read 3x10^-2
    ax.set_yticks(range(len(lats)), [_step_label(lat) for lat in lats], fontsize=8.5)
    ax.set_ylim(len(lats) - 0.5, -0.7)
    ax.grid(axis="x", which="major", color="#DDDDDD")
    ax.set_xlabel("time after the store commit (real time, log scale)")
    ax.set_title("From policy change to enforcement: how fast did it bite?", loc="left",
                 fontsize=13, fontweight="bold")
    handles = [
        Line2D([], [], ls="", marker="o", color="#0072B2", label="a switch acknowledged"),
        Line2D([], [], color="#003F66", lw=2.5, label="median over switches"),
        Line2D([], [], ls="", marker="*", ms=13, color="#D55E00", markeredgecolor="black",
               label="first probe that saw the effect"),
    ]
    kinds = {x.allowed for lat in lats for x in lat.packets if x.delay_ms is not None}
    handles += [Line2D([], [], ls="", marker="D", ms=6, color=PACKET_COLOURS[k],
                       markeredgecolor="black", label=PACKET_LABELS[k]) for k in sorted(kinds)]
    ax.figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9,
                     frameon=False)


PACKET_COLOURS = {False: "#CC79A7", True: "#009E73"}  # cut / let in (Okabe-Ito)
PACKET_LABELS = {False: "last packet through (stream cut)",
                 True: "first packet through (stream let in)"}


def packets(fig: Figure, panels: Sequence[tuple[StepLatency, list[PacketRow]]],
            span_ms: tuple[float, float]) -> list[Axes]:
    """One panel per change that cut or let in a stream: each stream's replies as ticks around
    the store commit, so the moment the data plane obeyed is seen to the packet."""
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    lo, hi = span_ms
    for ax, (lat, rows) in zip(axes, panels, strict=True):
        for y, row in enumerate(rows):
            x = row.effect
            colour = "#777777" if x is None else PACKET_COLOURS[x.allowed]
            ax.scatter(row.offsets_ms, np.full(row.offsets_ms.size, y), marker="|", s=90,
                       lw=1.2, color=colour, zorder=3)
            if x is None:
                continue
            if x.switch_ack_ms is not None:
                ax.scatter([x.switch_ack_ms], [y - 0.38], marker="v", s=36, color="#0072B2",
                           zorder=4)
            if x.delay_ms is not None:
                word = "last" if not x.allowed else "first"
                ax.annotate(f"{word} reply {x.delay_ms:+.0f} ms", (x.delay_ms, y),
                            xytext=(6, 7), textcoords="offset points", fontsize=8.5,
                            color=colour, fontweight="bold")
            else:
                ax.annotate(x.note, (1.0, y), xycoords=("axes fraction", "data"),
                            xytext=(-4, 7), textcoords="offset points", ha="right",
                            fontsize=8, color="#B00020")
        ax.axvline(0, color="black", lw=1.2, zorder=2)
        labels = [f"{r.subscriber} → {r.service}"
                  + ("" if r.effect is None else " (cut)" if not r.effect.allowed
                     else " (let in)") for r in rows]
        ax.set_yticks(range(len(rows)), labels, fontsize=8.5)
        for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
            tick.set_color("#555555" if r.effect is None else PACKET_COLOURS[r.effect.allowed])
        ax.set_ylim(len(rows) - 0.4, -0.8)
        ax.set_xlim(lo, hi)
        ax.grid(axis="x", color="#E5E5E5")
        ax.set_title(_step_label(lat).replace("\n", " "), loc="left", fontsize=10,
                     fontweight="bold")
    axes[-1].set_xlabel("ms after the store commit (real time): one tick per echo reply")
    fig.suptitle("The data plane around each change: every reply of the stream probes", x=0.01,
                 ha="left", fontsize=13, fontweight="bold")
    handles = [Line2D([], [], color="black", lw=1.2, label="store commit"),
               Line2D([], [], ls="", marker="v", color="#0072B2",
                      label="the subscriber's access switch acknowledged"),
               Line2D([], [], ls="", marker="|", ms=10, mew=1.5, color="#777777",
                      label="a reply (streams the change did not touch: grey)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    return list(axes)


def throughput(ax: Axes, series: dict[str, ThroughputSeries], bins: Bins,
               tl: Timeline) -> None:
    """Median throughput per subscriber class over scenario time; failed transfers are not
    samples: a cross at the foot of the axes marks a bin of a class with failures."""
    style.decorate(ax, tl)
    x = _x(tl, bins)
    medians = {cls: s.median for cls, s in series.items()}
    top = max((np.nanmax(v) for v in medians.values() if np.isfinite(v).any()), default=math.nan)
    fmt, unit = style.kbps_formatter(top)
    for cls in sorted(series, key=class_order):
        s = series[cls]
        colour = style.class_colour(cls)
        ax.plot(x, medians[cls], color=colour, lw=2, zorder=10,
                marker=style.CLASS_MARKERS.get(cls, "o"), ms=5, label=cls)
        if s.lo is not None and s.hi is not None:  # the spread: from the lowest to the highest
            ax.fill_between(x, s.lo, s.hi, color=colour, alpha=0.16, lw=0, zorder=8)
        if s.samples:  # every sample, so a median of one or two shows as what it is
            t, v = np.array(s.samples).T
            ax.scatter(t / tl.unit_s, v, s=9, color=colour, alpha=0.55, lw=0, zorder=9)
    values = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in medians.values()] or [[]])
    low = float(values.min()) if values.size else math.nan
    scale = ""
    if math.isfinite(top) and math.isfinite(low) and top / low >= 100:
        # Two decades or more (a 2G-class cap next to broadband): on a linear axis the capped
        # line would lie on zero. Logarithmic above the lowest decade seen, linear below it so
        # that the failure marks at 0 still show.
        ax.set_yscale("symlog", linthresh=10 ** math.floor(math.log10(low)), linscale=0.5)
        ax.set_ylim(0, top * 2.5)
        scale = ", log scale"
    else:
        ax.set_ylim(0, (top if math.isfinite(top) and top > 0 else 1.0) * 1.08)
    failed = False
    for cls in sorted(series, key=class_order):
        hit = series[cls].failed > 0
        if hit.any():
            failed = True
            ax.plot(x[hit], np.zeros(int(hit.sum())), ls="none", marker="x", ms=7, mew=2,
                    color=style.class_colour(cls), zorder=11, clip_on=False)
    ax.yaxis.set_major_formatter(fmt)
    ax.set_ylabel(f"median throughput ({unit}{scale})")
    ax.set_xlabel(tl.xlabel)
    ax.set_title("Download throughput per subscriber class", loc="left",
                 pad=style.TITLE_PAD, fontsize=13, fontweight="bold")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], ls="none", marker="o", ms=4, alpha=0.55, color=style.OTHER),
                Patch(color=style.OTHER, alpha=0.16)]
    labels += ["one transfer", "lowest to highest of a round"]
    if failed:
        handles.append(Line2D([], [], ls="none", marker="x", ms=7, mew=2, color=style.OTHER))
        labels.append("failed transfer(s)")
    ax.legend(handles, labels, title="subscriber class", loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize=9, title_fontsize=9, frameon=False)


def collateral(fig: Figure, data: dict[str, dict[str, tuple[float, float, int]]],
               rows: Sequence[str], labels: dict[str, str]) -> list[Axes]:
    """Per phase and service: reachable share (wide bar) and usable share (narrow bar inside).
    A wide bar with a short narrow one is a page that loads but does not work."""
    phases = list(data)
    axes = fig.subplots(1, len(phases), sharey=True, squeeze=False)[0]
    fig.get_layout_engine().set(wspace=0.15)  # keeps "100%" and the next panel's "0%" apart
    y = np.arange(len(rows))
    for ax, phase in zip(axes, phases, strict=True):
        acc = np.array([data[phase].get(s, (math.nan,) * 3)[0] for s in rows])
        use = np.array([data[phase].get(s, (math.nan,) * 3)[1] for s in rows])
        ax.barh(y, np.nan_to_num(acc), height=0.78, color="#BBD3E8", label="reachable")
        gap = np.where(acc - use >= 0.05, acc - use, 0)
        ax.barh(y, np.nan_to_num(gap), left=np.nan_to_num(use), height=0.78, fill=False,
                hatch="///", edgecolor="#D55E00", lw=0, label="reachable but not usable")
        ax.barh(y, np.nan_to_num(use), height=0.36, color="#0072B2", label="usable")
        for yi, a in zip(y, acc, strict=True):
            if np.isnan(a) or a == 0:
                ax.text(0.02, yi, "no data" if np.isnan(a) else "0 %: none reached",
                        va="center", fontsize=8, color="#666666")
        ax.set_xlim(0, 1)
        style.percent_axis(ax, "x")
        ax.set_xticks([0, 0.5, 1])
        ax.set_title(phase, fontsize=11)
        ax.set_xlabel("share of web measurements", fontsize=9)
        ax.grid(axis="x", color="#DDDDDD")
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks(y, [labels.get(s, s) for s in rows], fontsize=8.5)
    axes[0].set_ylim(len(rows) - 0.5, -0.5)
    fig.suptitle("Collateral damage: reachable is not the same as usable", x=0.01, ha="left",
                 fontsize=13, fontweight="bold")
    handles = [Patch(color="#BBD3E8", label="page reachable (accessible)"),
               Patch(color="#0072B2", label="page usable (every subresource loaded)"),
               Patch(fill=False, hatch="///", edgecolor="#D55E00",
                     label="reachable but not usable")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    return list(axes)


OUTSIDE_PANELS = {"bgp": "BGP: /24s visible\n(% of t=0, IODA's rule)",
                  "ping-slash24": "active probing:\n/24s up (% of t=0)",
                  "traffic": "traffic across the border\n(% of the busiest step)",
                  "dns-queries": "DNS queries reaching\nresolvers abroad per step"}


def outside(fig: Figure, panels: dict[str, list[dict]], tl: Timeline) -> list[Axes]:
    """What IODA and an observer abroad would have shown: one panel per datasource, one line
    per ISP (and the country, dashed); the DNS panel counts queries, the others are shares of
    the first sample."""
    keys = [k for k in OUTSIDE_PANELS if panels.get(k)]
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys, strict=True):
        style.decorate(ax, tl, ribbon=ax is axes[0])
        for k, s in enumerate(panels[key]):
            x = np.arange(len(s["values"])) * s["step"] / tl.unit_s
            vals = np.array([np.nan if v is None else v for v in s["values"]], dtype=float)
            if key == "traffic":  # as Radar draws it: a share of the period's peak
                base = np.nanmax(vals) if not np.all(np.isnan(vals)) and np.nanmax(vals) else None
                if base is None:
                    continue
                vals = vals / base + DODGE * (k - (len(panels[key]) - 1) / 2)
            elif key != "dns-queries":
                base = next((v for v in vals if not np.isnan(v) and v), None)
                if base is None:
                    continue
                vals = vals / base + DODGE * (k - (len(panels[key]) - 1) / 2)
            country = s["entityType"] == "country"
            region = s["entityType"] == "region"
            ax.plot(x, vals, drawstyle="steps-post", lw=2.4 if country else 1.8,
                    ls=(0, (5, 2)) if country else (0, (1, 1.5)) if region else "-",
                    color="#333333" if country else style.ISP_COLOURS[k % len(style.ISP_COLOURS)],
                    label=f"{s['entityName']} (the country)" if country
                    else f"{s['entityName']} (AS{s['entityCode']})"
                    if s["entityType"] == "asn" else f"region {s['entityName']}"
                    if region else s["entityName"], zorder=10)
        if key != "dns-queries":
            ax.set_ylim(-0.04, 1.06)
            style.percent_axis(ax)
        else:
            ax.set_ylim(bottom=0)
        ax.set_ylabel(OUTSIDE_PANELS[key])
        ax.grid(axis="y", color="white", lw=0.8)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    axes[-1].set_xlabel(tl.xlabel)
    axes[0].set_title("What the world saw: routes, probing, traffic and DNS, from abroad",
                      loc="left", pad=style.TITLE_PAD, fontsize=13, fontweight="bold")
    return list(axes)
