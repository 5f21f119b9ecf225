"""Two runs side by side (`sovnet report --compare RUN_A RUN_B`): what differs in their
expectations and in the shares of measurements that reached and could use each service, then
the same figures of both, next to each other. Written to a folder of its own (compare.html and
the figures), never into the runs' folders.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from sovnet.report import analysis, text
from sovnet.report.build import Plot, render_plots
from sovnet.report.dataset import ReportError, Run, load_run
from sovnet.report.html import CSS, esc, img
from sovnet.report.style import Timeline

NOTABLE = 0.10  # a difference of shares this large is highlighted


@dataclass(frozen=True)
class ShareRow:
    phase: str
    service: str
    a: tuple[float, float, int]  # (reachable, usable, n); NaN where not measured
    b: tuple[float, float, int]

    @property
    def delta(self) -> tuple[float, float]:
        return self.b[0] - self.a[0], self.b[1] - self.a[1]


def share_rows(a: Run, b: Run) -> list[ShareRow]:
    """Per phase and service, both runs' reachable and usable shares, phases in A's order."""
    ca, cb = analysis.collateral(a), analysis.collateral(b)
    none = (math.nan, math.nan, 0)
    phases = list(ca) + [p for p in cb if p not in ca]
    services = [s for s, _, _ in analysis.service_rows(a)]
    services += [s for s, _, _ in analysis.service_rows(b) if s not in services]
    return [ShareRow(ph, s, ca.get(ph, {}).get(s, none), cb.get(ph, {}).get(s, none))
            for ph in phases for s in services
            if s in ca.get(ph, {}) or s in cb.get(ph, {})]


def expectation_rows(a: Run, b: Run) -> list[tuple[str, object, object]]:
    """(name, A's result or None, B's result or None), A's order first; an expectation is
    the same in both when its name and condition are."""
    xa = {x.key: x for x in a.expectations or []}
    xb = {x.key: x for x in b.expectations or []}
    keys = list(xa) + [k for k in xb if k not in xa]
    return [(k[0], xa.get(k), xb.get(k)) for k in keys]


def _pct(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:.0%}"


def _delta(v: float) -> str:
    if math.isnan(v):
        return "–"
    cls = " class=alarm" if v <= -NOTABLE else " class=good" if v >= NOTABLE else ""
    return f"<b{cls}>{v:+.0%}</b>" if abs(v) >= NOTABLE else f"{v:+.0%}"


def _result(x) -> str:
    if x is None:
        return "<td>–</td>"
    return (f'<td class="v {text.verdict(x).lower()}">{text.verdict(x)} '
            f"{esc(text.observed(x))}</td>")


def _img(plot: Plot) -> str:
    if plot.path is None:
        return f'<p class="note">Skipped: {esc(plot.note)}</p>'
    return img(plot)


def _facts(label: str, run: Run) -> str:
    m = run.manifest
    return (f"<td><b>{label}</b></td><td><code>{esc(run.folder.name)}</code></td>"
            f"<td>{esc(m.get('title') or m.get('scenario'))}</td><td>{esc(m.get('seed'))}</td>"
            f"<td>{esc(run.status)}</td><td>{esc(text.expectation_counts(run))}</td>"
            f"<td class=num>{len(run.web):,}</td>")


def render(a: Run, b: Run, plots_a: list[Plot], plots_b: list[Plot]) -> str:
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td class=nw>{esc(text.condition(x or y))}</td>"
        f"{_result(x)}{_result(y)}</tr>"
        for name, x, y in expectation_rows(a, b))
    all_rows = share_rows(a, b)
    notable = [r for r in all_rows if any(abs(d) >= NOTABLE for d in r.delta)]
    by_key = {p.key: p for p in plots_b}
    figs = "".join(
        f'<section class="figure"><p class="kicker">{esc(p.title)}</p>'
        f'<div class="pair"><div><p class="sub">A</p>{_img(p)}</div>'
        f'<div><p class="sub">B</p>{_img(by_key[p.key])}</div></div></section>'
        for p in plots_a if p.path is not None or by_key[p.key].path is not None)
    title = f"{a.manifest.get('scenario')} vs {b.manifest.get('scenario')}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}: sovnet comparison</title><style>{CSS}"
            ".pair{display:grid;grid-template-columns:1fr 1fr;gap:14px}"
            "td.v.pass{background:#D7F0DD;color:#0B5D1E;font-weight:700}"
            "td.v.fail{background:#FCE1DE;color:#8E1300;font-weight:700}</style></head>"
            f"<body><main><section><h1>Comparison: {esc(title)}</h1>"
            "<table><tr><th></th><th>run folder</th><th>title</th><th>seed</th><th>status</th>"
            "<th>expectations</th><th>web measurements</th></tr>"
            f"<tr>{_facts('A', a)}</tr><tr>{_facts('B', b)}</tr></table></section>"
            "<section><h2>Expectations</h2>"
            + ("<table><tr><th>expectation</th><th>condition</th><th>A</th><th>B</th></tr>"
               f"{rows}</table>" if rows else '<p class="note">Neither run sets any.</p>')
            + "</section>"
            "<section><h2>What reached, and what worked, per phase</h2>"
            '<p class="caption">Shares of web measurements that reached each service '
            "(reachable) and that loaded it with everything it needs (usable), per phase. "
            f"Below: where B differs from A by {NOTABLE:.0%} or more (phases or services only "
            "one run measured show as –). n: measurements in A / in B.</p>"
            + (_share_table(notable) if notable else
               f'<p class="note">No share differs by {NOTABLE:.0%} or more.</p>')
            + f"<details><summary>Every phase and service ({len(all_rows)} rows)</summary>"
            f"{_share_table(all_rows)}</details></section>{figs}</main></body></html>\n")


def _share_table(rows: list[ShareRow]) -> str:
    body = "".join(
        f"<tr><td>{esc(r.phase)}</td><td>{esc(r.service)}</td>"
        f"<td class=num>{_pct(r.a[0])}</td><td class=num>{_pct(r.b[0])}</td>"
        f"<td class=num>{_delta(r.delta[0])}</td>"
        f"<td class=num>{_pct(r.a[1])}</td><td class=num>{_pct(r.b[1])}</td>"
        f"<td class=num>{_delta(r.delta[1])}</td>"
        f"<td class=num>{r.a[2]} / {r.b[2]}</td></tr>" for r in rows)
    return ("<table><tr><th>phase</th><th>service</th><th>reachable A</th><th>B</th>"
            "<th>B − A</th><th>usable A</th><th>B</th><th>B − A</th><th>n</th></tr>"
            f"{body}</table>")


def compare_runs(folder_a: str | os.PathLike[str], folder_b: str | os.PathLike[str],
                 out: str | os.PathLike[str]) -> Path:
    """Write OUT/compare.html (and OUT/a/plots, OUT/b/plots); return the HTML's path."""
    a, b = load_run(folder_a), load_run(folder_b)
    dest = Path(out)
    try:
        plots = [render_plots(r, Timeline.from_run(r), dest / side / "plots")
                 for r, side in ((a, "a"), (b, "b"))]
        path = dest / "compare.html"
        path.write_text(render(a, b, *plots), encoding="utf-8")
    except OSError as e:
        raise ReportError(f"{e.filename or dest}: cannot write ({e.strerror})") from None
    return path
