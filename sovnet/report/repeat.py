"""N runs of one scenario with different seeds (`sovnet run --repeat N`), summarised: each
expectation's median over the runs with a confidence interval and how many runs passed it; the
reachability figure as the median over runs with its interval; the shares per phase likewise.

The interval is the distribution-free one for a median (from the order statistics, by the
binomial distribution): no assumption about how runs vary. With few runs the widest interval,
from the lowest to the highest run, is all there is, and its confidence is below 95 % (75 % for
3 runs, 94 % for 5): the level actually reached is given with every interval.
"""

from __future__ import annotations

import json
import math
import operator
import os
from dataclasses import dataclass, replace
from functools import partial
from math import comb
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sovnet.report import analysis, figures, style, text
from sovnet.report.build import SVG_STYLE
from sovnet.report.dataset import ReportError, Run, load_run
from sovnet.report.html import CSS, data_img, esc
from sovnet.report.style import Timeline
from sovnet.results import ExpectationResult

LEVEL = 0.95
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Interval:
    median: float
    lo: float
    hi: float
    level: float  # the confidence the interval actually has
    n: int

    def text(self, fmt=lambda v: f"{v:.3g}") -> str:
        if self.n == 0:
            return "–"
        if self.n == 1:
            return f"{fmt(self.median)} (one run)"
        return (f"{fmt(self.median)} [{fmt(self.lo)}, {fmt(self.hi)}] "
                f"({self.level:.0%} CI, n={self.n})")


def median_ci(values: list[float], level: float = LEVEL) -> Interval:
    """The median and the narrowest order-statistic interval [x(k), x(n-k+1)] whose coverage
    is at least `level`, or [min, max] with its coverage when even that is below it."""
    xs = sorted(v for v in values if v is not None and not math.isnan(v))
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0.0, 0)
    med = float(np.median(xs))

    def coverage(k: int) -> float:  # P(x(k) <= median <= x(n-k+1)) = 1 - 2 P(Bin < k)
        return 1.0 - 2.0 * sum(comb(n, i) for i in range(k)) / 2 ** n

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= level:
        k += 1
    return Interval(med, xs[k - 1], xs[n - k], coverage(k) if n > 1 else 0.0, n)


@dataclass(frozen=True)
class ExpectationSummary:
    first: ExpectationResult  # the expectation as the first run states it
    observed: Interval
    passed: int  # runs in which it held
    runs: int

    @property
    def median_holds(self) -> bool:
        t = self.first.threshold
        op = OPS.get(self.first.op)
        return (op is not None and t is not None and self.observed.n > 0
                and bool(op(self.observed.median, t)))


def expectations(runs: list[Run]) -> list[ExpectationSummary]:
    by_name: dict[tuple, list[ExpectationResult]] = {}
    for r in runs:
        for x in r.expectations or []:
            by_name.setdefault(x.key, []).append(x)
    return [ExpectationSummary(xs[0], median_ci([x.observed for x in xs
                                                 if x.observed is not None]),
                               sum(x.passed for x in xs), len(runs))
            for xs in by_name.values()]


def reachability(runs: list[Run]) -> tuple[np.ndarray, dict[tuple[str, str], list[Interval]]]:
    """Per probe round (in order), the median over runs of each (category, locus)'s reachable
    share, with its interval; and the rounds' mean times. Runs of one scenario probe in the
    same rounds; a run with fewer rounds (stopped early) leaves the later ones to the others."""
    per_run = []
    for r in runs:
        bins = analysis.make_bins(r.web, r.duration_s)
        per_run.append((np.asarray(bins.times), analysis.reachability(r, bins)))
    n = max((len(t) for t, _ in per_run), default=0)
    times = np.array([np.mean([t[i] for t, _ in per_run if i < len(t)]) for i in range(n)])
    keys = sorted({k for _, data in per_run for k in data})
    out = {k: [median_ci([float(data[k][i]) for _, data in per_run
                          if k in data and i < len(data[k])]) for i in range(n)]
           for k in keys}
    return times, out


def shares(runs: list[Run]) -> dict[tuple[str, str], tuple[Interval, Interval]]:
    """(phase, service) -> (reachable, usable) share: median over runs and interval."""
    cells: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in runs:
        for phase, services in analysis.collateral(r).items():
            for s, (acc, use, _) in services.items():
                cells.setdefault((phase, s), []).append((acc, use))
    return {k: (median_ci([a for a, _ in v]), median_ci([u for _, u in v]))
            for k, v in cells.items()}


def reachability_figure(runs: list[Run]) -> Figure:
    tl = Timeline.from_run(runs[0])
    times, data = reachability(runs)
    loci = sorted({loc for _, loc in data}, key=lambda loc: (loc != "domestic", loc))
    fig = figures.new_figure(11, 1.2 + 2.6 * max(len(loci), 1))
    axes = fig.subplots(max(len(loci), 1), 1, sharex=True, squeeze=False)[:, 0]
    x = times / tl.unit_s
    for ax, locus in zip(axes, loci, strict=False):
        style.decorate(ax, tl, ribbon=ax is axes[0])
        for cat in sorted(c for c, loc in data if loc == locus):
            ivs = data[(cat, locus)]
            colour = style.category_colour(cat)
            ax.fill_between(x, [i.lo for i in ivs], [i.hi for i in ivs], color=colour,
                            alpha=0.15, lw=0, zorder=8)
            ax.plot(x, [i.median for i in ivs], color=colour, lw=2, zorder=10,
                    marker=style.CATEGORY_MARKERS.get(cat, "o"), ms=4,
                    label=style.category_label(cat))
        ax.set_ylim(-0.04, 1.06)
        style.percent_axis(ax)
        ax.set_ylabel(f"{locus} services reachable\n(median of runs)")
        ax.legend(title=f"{locus}: category", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=9, title_fontsize=9, frameon=False)
    axes[-1].set_xlabel(tl.xlabel)
    axes[0].set_title(f"Could subscribers reach each kind of service? Median of {len(runs)} "
                      "runs, band: its confidence interval", loc="left", pad=style.TITLE_PAD,
                      fontsize=12, fontweight="bold")
    return fig


def _pct(i: Interval) -> str:
    return i.text(lambda v: f"{v:.0%}")


def render(runs: list[Run], folders: list[Path], out: Path, figure: str) -> str:
    xs = expectations(runs)
    rows = "".join(
        f'<tr class="{"pass" if s.median_holds else "fail"}"><td class="v">'
        f'{"PASS" if s.median_holds else "FAIL"}</td><td>{esc(s.first.name)}</td>'
        f"<td class=nw>{esc(text.condition(s.first))}</td>"
        f"<td class=num>{esc(s.observed.text(partial(_observed, s.first)))}</td>"
        f"<td class=num>{s.passed} of {s.runs}</td></tr>" for s in xs)
    share_rows = "".join(
        f"<tr><td>{esc(ph)}</td><td>{esc(svc)}</td><td class=num>{esc(_pct(a))}</td>"
        f"<td class=num>{esc(_pct(u))}</td></tr>" for (ph, svc), (a, u) in shares(runs).items())
    run_rows = "".join(
        f"<tr><td><a href=\"{esc(os.path.relpath(f / 'report.html', out))}\">"
        f"{esc(f.name)}</a></td><td class=num>{esc(r.manifest.get('seed'))}</td>"
        f"<td>{esc(r.status)}</td><td>{esc(text.expectation_counts(r))}</td>"
        f"<td class=num>{len(r.web):,}</td>"
        f"<td class=num>{esc(text.duration(r.manifest.get('wall_seconds')))}</td></tr>"
        for r, f in zip(runs, folders, strict=True))
    m = runs[0].manifest
    title = m.get("title") or m.get("scenario")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)} ×{len(runs)}: sovnet</title><style>{CSS}</style></head><body>"
            f"<main><section><h1>{esc(title)}, {len(runs)} runs</h1>"
            f'<p class="sub">scenario <code>{esc(m.get("scenario"))}</code>, one seed per run '
            "(the seed picks the vantage points). Medians over the runs, with distribution-free "
            "confidence intervals for the median; with few runs the interval is the lowest to "
            "the highest run and its confidence is lower, as stated.</p>"
            "<table><tr><th>run</th><th>seed</th><th>status</th><th>expectations</th>"
            f"<th>web measurements</th><th>wall time</th></tr>{run_rows}</table></section>"
            "<section><h2>Expectations over the runs</h2><p class=caption>The verdict is on "
            "the median of the runs; 'runs' counts those in which the expectation held.</p>"
            "<table><tr><th>median</th><th>expectation</th><th>condition</th>"
            f"<th>observed: median [interval]</th><th>runs</th></tr>{rows}</table></section>"
            f'<section class="figure"><p class="kicker">Reachability by service category, '
            f"median of runs</p>{figure}</section>"
            "<section><h2>Reachable and usable shares per phase</h2><table><tr><th>phase</th>"
            "<th>service</th><th>reachable: median [interval]</th><th>usable</th></tr>"
            f"{share_rows}</table></section></main></body></html>\n")


def _observed(x: ExpectationResult, v: float) -> str:
    return text.observed(replace(x, observed=v))


def summarise(folders: list[Path], out: str | os.PathLike[str]) -> Path:
    """Write OUT/repeat.html (its figure beside it) and OUT/repeat.json; return the HTML."""
    import matplotlib

    runs = [load_run(f) for f in folders]
    if not runs:
        raise ReportError("no runs to summarise")
    dest = Path(out)
    try:
        fig = reachability_figure(runs)
        svg = dest / "repeat-reachability.svg"
        with matplotlib.rc_context(SVG_STYLE):
            fig.savefig(svg, facecolor="white", metadata={"Date": None})
        html = dest / "repeat.html"
        html.write_text(render(runs, folders, dest,
                               data_img(svg, "reachability, median of runs")),
                        encoding="utf-8")
        (dest / "repeat.json").write_text(json.dumps(
            {"runs": [str(f.name) for f in folders],
             "expectations": [{"name": s.first.name, "median": _num(s.observed.median),
                               "lo": _num(s.observed.lo), "hi": _num(s.observed.hi),
                               "level": s.observed.level, "n": s.observed.n,
                               "passed_runs": s.passed, "runs": s.runs,
                               "median_holds": s.median_holds}
                              for s in expectations(runs)]}, indent=1) + "\n")
    except OSError as e:
        raise ReportError(f"{e.filename or dest}: cannot write ({e.strerror})") from None
    return html


def _num(v: float) -> float | None:
    return None if math.isnan(v) else v
