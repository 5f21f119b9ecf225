"""build_report: a run folder -> plots/*.png, summary.md and report.html, from the folder alone."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display, ever: reports are built on servers and in CI

from sovnet.report import analysis, orders  # noqa: E402
from sovnet.report.dataset import ReportError, Run, load_run  # noqa: E402
from sovnet.report.plots import PLOTS, Skip  # noqa: E402
from sovnet.report.style import Timeline  # noqa: E402

DPI = 150  # the PNGs, for summary.md and slides; report.html embeds the SVGs
SVG_STYLE = {"svg.fonttype": "none",  # text stays text: selectable, searchable, smaller
             "svg.hashsalt": "sovnet"}  # the same figure gives the same file


@dataclass(frozen=True)
class Plot:
    key: str
    title: str
    caption: str
    path: Path | None  # the PNG; None: skipped
    note: str = ""

    @property
    def svg(self) -> Path | None:
        return None if self.path is None else self.path.with_suffix(".svg")


@dataclass(frozen=True)
class Report:
    run: Run
    timeline: Timeline
    plots: list[Plot]
    latencies: list[analysis.StepLatency]
    orders: list[orders.Order]


def render_plots(run: Run, tl: Timeline, out_dir: Path) -> list[Plot]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = []
    for key, title, make, caption in PLOTS:
        path = out_dir / f"{key}.png"
        try:
            fig = make(run, tl)
        except Skip as e:
            for old in (path, path.with_suffix(".svg")):  # an earlier build's would mislead
                old.unlink(missing_ok=True)
            plots.append(Plot(key, title, caption, None, str(e)))
            continue
        fig.savefig(path, dpi=DPI, facecolor="white")
        with matplotlib.rc_context(SVG_STYLE):
            fig.savefig(path.with_suffix(".svg"), facecolor="white", metadata={"Date": None})
        plots.append(Plot(key, title, caption, path))
    return plots


def build_report(folder: str | os.PathLike[str],
                 out: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Rebuild plots/*.png and *.svg, summary.md and report.html of a run folder, in the folder
    or in `out` (a folder of the reader's own: a run's folder is root's); return their paths
    ({"html", "summary", and one key per plot drawn}). ReportError when the folder is not a
    run folder or one of its files is malformed, or `out` cannot be written."""
    from sovnet.report import html, summary

    run = load_run(folder)
    tl = Timeline.from_run(run)
    dest = run.folder if out is None else Path(out)
    try:
        report = Report(run, tl, render_plots(run, tl, dest / "plots"),
                        analysis.step_latencies(run), orders.orders(run))
        paths = {p.key: p.path for p in report.plots if p.path is not None}
        paths["summary"] = dest / "summary.md"
        paths["html"] = dest / "report.html"
        paths["summary"].write_text(summary.render(report), encoding="utf-8")
        paths["html"].write_text(html.render(report), encoding="utf-8")
    except OSError as e:
        hint = " (sovnet report --out DIR writes it elsewhere)" if out is None else ""
        raise ReportError(f"{e.filename or dest}: cannot write ({e.strerror}){hint}") from None
    return paths
