"""Colours, markers and the scenario-time decorations every time figure shares.

Colours are fixed per category, class, locus and blocking value (not per figure or per run), so
the same thing has the same colour everywhere. They come from the Okabe-Ito and Paul Tol
palettes, which stay distinguishable with the common colour-vision deficiencies; lines also get
markers or dashes so nothing depends on colour alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter
from matplotlib.transforms import offset_copy

from sovnet.model.topology import CATEGORY_NAMES
from sovnet.report.dataset import Phase, Run

CATEGORY_COLOURS = {
    "BANK": "#0072B2", "HEALTH": "#009E73", "GOVT": "#E69F00", "SRCH": "#56B4E9",
    "COMT": "#D55E00", "MMED": "#CC79A7", "GRP": "#332288", "NEWS": "#882255",
    "CDN": "#999933", "ANON": "#000000", "HOST": "#44AA99", "COMM": "#AA4499",
    "PUBH": "#117733", "FILE": "#88CCEE", "CTRL": "#CC6677",
}
CATEGORY_MARKERS = {
    "BANK": "o", "HEALTH": "s", "GOVT": "^", "SRCH": "D", "COMT": "v", "MMED": "P",
    "GRP": "X", "NEWS": "*", "CDN": "h", "ANON": "<", "HOST": ">", "COMM": "p",
    "PUBH": "d", "FILE": "8", "CTRL": "H",
}
LOCUS_COLOURS = {"domestic": "#4477AA", "foreign": "#EE6677"}
LOCUS_LINESTYLES = {"domestic": "-", "foreign": "--"}
CLASS_COLOURS = {  # Paul Tol's "vibrant"
    "fixed_home": "#0077BB", "fixed_macbound": "#33BBEE", "enterprise": "#009988",
    "mobile_prepaid": "#EE7733", "mobile_postpaid": "#CC3311", "hosting": "#EE3377",
    "privileged": "#555555", "kiosk": "#AA4499",
}
CLASS_MARKERS = {
    "fixed_home": "o", "fixed_macbound": "s", "enterprise": "D", "mobile_prepaid": "^",
    "mobile_postpaid": "v", "hosting": "P", "privileged": "*", "kiosk": "X",
}
BLOCKING_COLOURS = {
    "ok": "#009E73", "dns": "#E69F00", "tcp_ip": "#D55E00", "http-failure": "#CC79A7",
    "http-diff": "#0072B2", "undetermined": "#BBBBBB",
}
BLOCKING_LABELS = {
    "ok": "no blocking (OK)", "dns": "DNS tampering", "tcp_ip": "TCP/IP blocking",
    "http-failure": "HTTP failure", "http-diff": "HTTP diff (page differs)",
    "undetermined": "undetermined (null)",
}
ISP_COLOURS = ("#88CCEE", "#DDCC77", "#CC6677", "#AA4499", "#44AA99", "#999933", "#117733")
PHASE_FILLS = ("#E8ECF4", "#FBE3D6", "#E3F1E0", "#F4ECD2", "#EADCF0", "#DDEFF5")
OTHER = "#777777"
STEP_COLOUR = "#222222"
RIBBON_PT = 15  # thickness of the phase ribbon above a time axis
TITLE_PAD = RIBBON_PT + 8  # title padding (points) that clears the ribbon
# Red = blocked, blue = reachable, pale yellow = half; ColorBrewer rates it colour-blind safe,
# and its middle is not the light grey that marks "no data".
ACCESSIBLE_CMAP = "RdYlBu"
NO_DATA = "#D9D9D9"
HALO = [patheffects.Stroke(linewidth=3, foreground="white", alpha=0.8), patheffects.Normal()]


def category_colour(cat: str) -> str:
    return CATEGORY_COLOURS.get(cat, OTHER)


def category_label(cat: str) -> str:
    """'GRP' -> 'GRP: social networking', as legends spell the codes out."""
    name = CATEGORY_NAMES.get(cat)
    return f"{cat}: {name}" if name else cat


def class_colour(cls: str) -> str:
    return CLASS_COLOURS.get(cls, OTHER)


def percent_axis(ax: Axes, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def seconds_label(s: float) -> str:
    """0.0123 -> '12 ms'; 2.5 -> '2.5 s': for latency axes spanning both."""
    if s < 1:
        return f"{s * 1000:.3g} ms"
    return f"{s:.3g} s" if s < 120 else f"{s / 60:.3g} min"


@dataclass(frozen=True)
class Timeline:
    """Scenario time as the figures draw it: in days for runs of 10 days or more (months of a
    regime read better in days than in thousands of hours), hours from 2 h, else minutes."""

    duration_s: float
    phases: tuple[Phase, ...]
    steps: tuple[tuple[float, int, str], ...]  # (t_scenario, index, label)
    stopped_at: float | None = None  # where an interrupted run's measurements end
    windows: tuple[Phase, ...] = ()  # scheduled policies in force, e.g. nightly curfews

    @classmethod
    def from_run(cls, run: Run) -> Timeline:
        times = [m.t_scenario for m in [*run.web, *run.throughput, *run.latency]]
        end = max([run.duration_s, *times]) if times or run.duration_s else 1.0
        stopped = None
        if run.status != "complete":
            stopped = max(times, default=0.0)
            if stopped >= end:
                stopped = None
        steps = tuple((s.t_scenario, s.index, s.label) for s in run.steps)
        return cls(end, tuple(run.phases), steps, stopped, tuple(run.windows))

    @property
    def unit_s(self) -> float:
        return 86400.0 if self.duration_s >= 10 * 86400 else 3600.0 if self.duration_s >= 7200 \
            else 60.0

    @property
    def unit(self) -> str:
        return {86400.0: "d", 3600.0: "h"}.get(self.unit_s, "min")

    @property
    def xlabel(self) -> str:
        return f"scenario time ({self.unit})"

    def x(self, t: float) -> float:
        return t / self.unit_s

    def at(self, t: float) -> str:
        return f"{round(self.x(t), 2):g} {self.unit}"

    def step_caption(self) -> str:
        return "; ".join(f"step {i} at {self.at(t)}: {label}" for t, i, label in self.steps)

    def phase_caption(self) -> str:
        text = "; ".join(f"{p.name} {self.at(p.start_s)}–{self.at(p.end_s)}" for p in self.phases)
        if self.windows:
            names = sorted({w.name for w in self.windows})
            text += (f". Hatched: {', '.join(names)} in force on its schedule "
                     f"({len(self.windows)} windows, applied and lifted by the controller)")
        return text


def decorate(ax: Axes, tl: Timeline, *, shade: bool = True, ribbon: bool = True) -> None:
    """Phases as a named ribbon above the axes (and, with `shade`, as background bands),
    timeline steps as dashed lines numbered on the ribbon, and the part of an interrupted run
    that never ran hatched. The ribbon keeps names off the data, whatever the figure draws."""
    xform = ax.get_xaxis_transform()
    # Drawn in points above the axes so the ribbon is as thick on a tall axes as on a flat one.
    above = offset_copy(xform, fig=ax.figure, y=RIBBON_PT / 2 + 1, units="points")
    for i, p in enumerate(tl.phases):
        fill = PHASE_FILLS[i % len(PHASE_FILLS)]
        x0, x1 = tl.x(p.start_s), tl.x(min(p.end_s, tl.duration_s))
        if shade:
            ax.axvspan(x0, x1, color=fill, zorder=0, lw=0, gid="phase")
        if ribbon:
            # A name that does not fit its band is left to the caption's list of phases.
            fits = (x1 - x0) >= 0.07 * tl.x(tl.duration_s) or len(p.name) <= 3
            ax.plot([x0, x1], [1.0, 1.0], transform=above, color=fill, lw=RIBBON_PT,
                    solid_capstyle="butt", clip_on=False, zorder=3, gid="phase-ribbon")
            ax.text((x0 + x1) / 2, 1.0, p.name if fits else "", transform=above, ha="center",
                    va="center", fontsize=9, color="#222222", clip_on=False, zorder=4)
    for w in tl.windows:
        ax.axvspan(tl.x(w.start_s), tl.x(min(w.end_s, tl.duration_s)), facecolor="none",
                   hatch="xx", edgecolor="#9A9A9A", lw=0, zorder=1, gid="window")
    if tl.stopped_at is not None:
        ax.axvspan(tl.x(tl.stopped_at), tl.x(tl.duration_s), facecolor="white", hatch="//",
                   edgecolor="#AAAAAA", lw=0, zorder=12, gid="stopped")  # above the data
        ax.text(tl.x((tl.stopped_at + tl.duration_s) / 2), 0.5, "run stopped:\nno data",
                transform=xform, ha="center", va="center", fontsize=9, color="#444444",
                bbox=dict(boxstyle="round", fc="white", ec="#999999"), zorder=13)
    for t, index, _ in tl.steps:
        ax.axvline(tl.x(t), color=STEP_COLOUR, ls=(0, (4, 2)), lw=1.2, zorder=5,
                   path_effects=HALO, gid="step")
        if ribbon:
            ax.text(tl.x(t), 1.0, str(index), transform=above, ha="center",
                    va="center", fontsize=7.5, fontweight="bold", color="white", zorder=6,
                    clip_on=False, bbox=dict(boxstyle="circle,pad=0.25", fc=STEP_COLOUR,
                                             ec="none"))
    ax.set_xlim(0, tl.x(tl.duration_s))


def step_handle() -> Line2D:
    return Line2D([], [], color=STEP_COLOUR, ls=(0, (4, 2)), lw=1.1, label="timeline step (n)")


def phase_handles(tl: Timeline) -> list[Patch]:
    return [Patch(color=PHASE_FILLS[i % len(PHASE_FILLS)], label=f"phase: {p.name}")
            for i, p in enumerate(tl.phases)]


def kbps_formatter(max_kbps: float) -> tuple[FuncFormatter, str]:
    """Throughput in Mbit/s when it gets that large, else kbit/s."""
    if not math.isnan(max_kbps) and max_kbps >= 2000:
        return FuncFormatter(lambda v, _: f"{v / 1000:g}"), "Mbit/s"
    return FuncFormatter(lambda v, _: f"{v:g}"), "kbit/s"
