"""Small multiples of what subscribers saw, one row per ISP (or region): foreign services on
the left, domestic ones on the right, each panel the mix of outcomes over scenario time on the
same axis as every other time figure. Which ISP cut first, and how, is read down a column.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sovnet.report import style
from sovnet.report.analysis import Bins
from sovnet.report.outcomes import OUTCOME_LABELS, first_cut
from sovnet.report.style import Timeline

OUTCOME_COLOURS = {  # Okabe-Ito, so reset and drop stay apart with colour-vision deficiencies
    "reached": "#009E73", "tls_name": "#8FD1B9", "dropped": "#D55E00", "refused": "#E69F00",
    "reset": "#CC79A7",
    "dns": "#56B4E9", "blockpage": "#0072B2", "tls": "#F0E442", "other": "#666666",
    "undetermined": "#BBBBBB",
}

Panels = dict[str, dict[str, dict[str, np.ndarray]]]  # column -> row -> outcome -> shares


def _stack(ax: Axes, mix: dict[str, np.ndarray], bins: Bins, tl: Timeline) -> None:
    edges = np.asarray(bins.edges) / tl.unit_s
    if not mix:
        ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center", va="center",
                fontsize=9, color="#777777")
        return
    outcomes = list(mix)
    ys = [np.append(np.nan_to_num(mix[o]), np.nan_to_num(mix[o])[-1:]) for o in outcomes]
    ax.stackplot(edges, ys, step="post", lw=0,
                 colors=[OUTCOME_COLOURS.get(o, "#999999") for o in outcomes])
    empty = np.isnan(next(iter(mix.values())))
    for i in np.flatnonzero(empty):  # a bin nobody measured is grey, not "reached 0 %"
        ax.axvspan(edges[i], edges[i + 1], color=style.NO_DATA, lw=0, zorder=2)


CUT_SHARE = 0.9  # a panel's headline names the first round where fewer than this got through


def _headline(mix: dict[str, np.ndarray], bins: Bins, tl: Timeline) -> str:
    """'up to 100 % failed from 4 h: mostly refused', or '' when nearly all got through."""
    t = first_cut(mix, bins, CUT_SHARE)
    if t is None or not mix:
        return ""
    i = int(np.searchsorted(bins.times, t))
    failing = {o: np.nan_to_num(v[i:]) for o, v in mix.items()
               if o not in ("reached", "tls_name", "undetermined")}
    if not failing:
        return ""
    worst = max(failing, key=lambda o: float(failing[o].sum()))
    peak = float(np.max(sum(failing.values())))
    how = OUTCOME_LABELS[worst].split(" (")[0]
    return f"up to {peak:.0%} failed from the round at {tl.at(bins.edges[i])}: mostly {how}"


def draw(fig: Figure, panels: Panels, bins: Bins, tl: Timeline, title: str,
         row_label: dict[str, str]) -> list[Axes]:
    """`panels`: {column title: {row: outcome mix}}; every column has the same rows."""
    columns = list(panels)
    rows = list(next(iter(panels.values())))
    grid = fig.subplots(len(rows), len(columns), sharex=True, sharey=True, squeeze=False)
    seen: set[str] = set()
    for c, col in enumerate(columns):
        for r, row in enumerate(rows):
            ax = grid[r, c]
            mix = panels[col].get(row, {})
            seen |= set(mix)
            _stack(ax, mix, bins, tl)
            style.decorate(ax, tl, shade=False, ribbon=r == 0)
            ax.set_ylim(0, 1)
            ax.set_yticks([0, 0.5, 1])
            style.percent_axis(ax)
            head = _headline(mix, bins, tl)
            top = f"{col.upper()}\n" if r == 0 else ""
            ax.set_title(top + (head or "nearly all got through, throughout"), loc="left",
                         fontsize=9, pad=style.TITLE_PAD if r == 0 else 3,
                         color="#8E1300" if head else "#0B5D1E")
            if c == 0:
                ax.set_ylabel(row_label.get(row, row), fontsize=10, fontweight="bold")
        grid[-1, c].set_xlabel(tl.xlabel)
    fig.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
    handles = [Patch(color=OUTCOME_COLOURS[o], label=OUTCOME_LABELS[o])
               for o in OUTCOME_COLOURS if o in seen]
    if any(np.isnan(next(iter(mix.values()))).any() for col in panels.values()
           for mix in col.values() if mix):
        handles.append(Patch(color=style.NO_DATA, label="not measured then"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)),
               fontsize=9, frameon=False)
    return [ax for row_axes in grid for ax in row_axes]
