"""What was ordered, on the time axis every other figure uses: one bar per policy from its
order to its revocation, in the plain words of sovnet.report.words, coloured by what it does.
"""

from __future__ import annotations

import textwrap

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sovnet.model.policy import action_kind
from sovnet.report import style
from sovnet.report.orders import PolicySpan
from sovnet.report.style import Timeline
from sovnet.report.words import policy_words

FAMILIES = {  # action kind -> (family, colour)
    "deny": ("cuts", "#D55E00"), "reject": ("cuts", "#D55E00"),
    "blockpage": ("cuts", "#D55E00"), "withdraw": ("cuts", "#D55E00"),
    "allow": ("exemptions", "#009E73"), "restore": ("exemptions", "#009E73"),
    "throttle": ("throttling", "#E69F00"),
    "dns_tamper": ("DNS interference", "#56B4E9"), "steer_dns": ("DNS interference", "#56B4E9"),
    "log": ("surveillance (flow log)", "#777777"),
}
LABEL_CHARS = 125


def family(action: str) -> tuple[str, str]:
    return FAMILIES.get(action_kind(action), ("other", "#999999"))


def draw(ax: Axes, spans: list[PolicySpan], tl: Timeline, origin: float,
         others: list[tuple[float, str]] = ()) -> None:
    """`origin`: the time of day at t=0, where a scheduled policy's windows fall; `others`:
    (time, what) of orders that are not policies (a device registered, a standing lowered),
    drawn as marks on a row of their own below the policies."""
    end = tl.duration_s
    for row, s in enumerate(spans):
        x0, x1 = tl.x(s.start_s), tl.x(end if s.end_s is None else s.end_s)
        _, colour = family(s.policy.action)
        if s.policy.schedule is not None:  # held in the store: pale; in force: solid
            ax.barh(row, x1 - x0, left=x0, height=0.34, color=colour, alpha=0.25, lw=0,
                    zorder=6)
        for a, b in s.in_force(end, origin):
            ax.barh(row, tl.x(b) - tl.x(a), left=tl.x(a), height=0.34, color=colour,
                    alpha=0.9, lw=0, zorder=7)
        lines = textwrap.wrap(policy_words(s.policy), LABEL_CHARS)
        text = "\n".join(lines[:2]) + (" …" if len(lines) > 2 else "")
        right = x0 > 0.55 * tl.x(end)
        ax.text(x1 if right else x0, row - 0.22, text, ha="right" if right else "left",
                va="bottom", fontsize=8.3, color="#1F2328", zorder=8,
                bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.75))
    for row, (t, what) in enumerate(others, len(spans)):  # a row each, below the policies
        ax.scatter([tl.x(t)], [row], marker="D", s=42, color="#6A3D9A", zorder=8)
        right = tl.x(t) > 0.55 * tl.x(end)
        ax.text(tl.x(t), row - 0.22, textwrap.shorten(what, LABEL_CHARS, placeholder=" …"),
                ha="right" if right else "left", va="bottom", fontsize=8.3, zorder=8,
                bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.75))
    style.decorate(ax, tl)
    ax.set_ylim(len(spans) + len(others) - 0.5, -0.95)
    ax.set_yticks([])
    ax.set_xlabel(tl.xlabel)
    ax.set_title("What was ordered: every policy, from its order to its revocation", loc="left",
                 pad=style.TITLE_PAD, fontsize=13, fontweight="bold")
    kinds = {family(s.policy.action) for s in spans}
    handles = [Patch(color=c, label=f) for f, c in sorted(kinds)]
    if others:
        handles.append(Line2D([], [], ls="", marker="D", color="#6A3D9A",
                              label="a subscriber or device changed"))
    if any(s.policy.schedule for s in spans):
        handles.append(Patch(color="#777777", alpha=0.25,
                             label="scheduled: held, not in force (its windows solid)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
              frameon=False, title="the order", title_fontsize=9)
