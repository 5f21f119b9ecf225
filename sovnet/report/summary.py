"""summary.md: the few lines someone reads in a terminal or a pull request; report.html has
the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sovnet.report import text

if TYPE_CHECKING:
    from sovnet.report.build import Report


def _cell(v: object) -> str:
    return "–" if v is None or v == "" else str(v).replace("|", "\\|").replace("\n", " ")


def render(r: Report) -> str:
    run, m = r.run, r.run.manifest
    out = [f"# {_cell(m.get('title') or m.get('scenario'))}", ""]
    out.append(f"**Status: {text.status_line(run)}** (exit code {_cell(m.get('exit_code'))}) · "
               f"started {_cell(m.get('started_at'))} · wall time "
               f"{text.duration(m.get('wall_seconds'))}")
    if run.status != "complete":
        out += ["", f"> **Warning:** {text.incomplete_warning(run)}"]
    out += ["", f"## Expectations: {text.expectation_counts(run)}", ""]
    if run.expectations:
        out += ["| result | expectation | condition | during | observed | n |",
                "|---|---|---|---|---:|---:|"]
        out += [f"| {'✅' if text.verdict(x) == 'PASS' else '❌'} {text.verdict(x)} | "
                f"{_cell(x.name)} | {_cell(text.condition(x))} | "
                f"{_cell(text.during(x, r.timeline))} | {_cell(text.observed(x))} | "
                f"{_cell(x.n)} |" for x in run.expectations]
    elif run.expectations is None:
        out.append("No expectations.json: the run stopped before they were evaluated.")
    counts = text.measurement_counts(run)
    lat = text.latency_figures(r.latencies)
    out += ["", "## Key figures", "",
            f"- measurements: {sum(counts.values()):,} ("
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            + f"); probe errors: {run.probe_errors}",
            f"- vantage points: {text.vantage_summary(run)}",
            f"- policy changes: {lat['changes']}; store commit → switch ack: median "
            f"{lat['ack_median']}, worst {lat['ack_worst']}",
            f"- store commit → first probe that saw the effect: median {lat['seen_median']}, "
            f"worst {lat['seen_worst']}"]
    packets = text.packet_figures(run)
    if packets is not None:
        out += [f"- store commit → last packet through, streams cut ({packets['cut_n']}): "
                f"median {packets['cut_median']}, worst {packets['cut_worst']}; → first packet "
                f"through, streams let in ({packets['in_n']}): median {packets['in_median']}, "
                f"worst {packets['in_worst']}"]
    out += [f"- note: {n}" for n in run.notes]
    if r.orders:
        out += ["", "## What was ordered", ""]
        for o in r.orders:
            when = (f"{r.timeline.at(o.t_scenario)} ({text.calendar(run, o.t_scenario)})"
                    if o.t_scenario is not None else "–")
            who = ", ".join(x for x in (o.author, o.reason) if x)
            out.append(f"- step {_cell(o.step)} at {when}{f', {who}' if who else ''}: "
                       + "; ".join(o.lines))
    out += ["", "## Plots", ""]
    for p in r.plots:
        if p.path is not None:
            out.append(f"- [{p.title}](plots/{p.path.name})")
        else:
            out.append(f"- {p.title}: skipped. {p.note}")
    out += ["", "The full report, with every figure explained, is `report.html`.", ""]
    return "\n".join(out)
