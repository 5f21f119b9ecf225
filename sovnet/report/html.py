"""report.html: one self-contained file (inline CSS, figures as data: URIs, the measurement
explorer's data and script inline, no external fetch), so it can be mailed, archived or opened
offline years later; print styles make it report.pdf (sovnet.report.pdf)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sovnet.report import explorer, orders, text
from sovnet.report.analysis import StepLatency
from sovnet.report.orders import IspEnforcement

if TYPE_CHECKING:
    from sovnet.report.build import Plot, Report

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
 background:#F4F5F7;color:#1F2328;line-height:1.45}
main{max-width:1200px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:28px;margin:0 0 4px}h2{font-size:21px;margin:0 0 8px}
.sub{color:#57606A;margin:0 0 14px}
section{background:#FFF;border-radius:10px;padding:18px 22px;margin:18px 0;
 box-shadow:0 1px 3px rgba(0,0,0,.08)}
.badge{display:inline-block;padding:3px 12px;border-radius:999px;font-weight:700;
 font-size:14px;letter-spacing:.03em;vertical-align:middle}
.ok{background:#D7F0DD;color:#0B5D1E}.bad{background:#FCE1DE;color:#8E1300}
.warn{background:#FFF1C2;color:#6B4E00}.good{color:#0B5D1E}.alarm{color:#B00020}
td.nw{white-space:nowrap}
.kicker{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:#57606A;
 margin:0 0 4px;font-weight:600}
.banner{background:#B00020;color:#FFF;padding:14px 18px;border-radius:8px;font-size:17px;
 margin:12px 0}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px 22px;
 margin:14px 0}
.facts div{border-left:3px solid #D0D7DE;padding-left:10px}
.facts b{display:block;font-size:12px;text-transform:uppercase;letter-spacing:.05em;
 color:#57606A}
.big{font-size:22px;font-weight:700}
table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0}
th,td{text-align:left;padding:6px 9px;border-bottom:1px solid #E1E4E8;vertical-align:top}
th{background:#F6F8FA;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.pass td.v{background:#D7F0DD;color:#0B5D1E;font-weight:700}
tr.fail td.v{background:#FCE1DE;color:#8E1300;font-weight:700}
img{max-width:100%;height:auto;display:block;margin:6px auto}
section>img{width:100%}
.caption{color:#444C56;font-size:14px;margin:6px 0 0}
.note{color:#57606A;font-style:italic}
code{font-size:13px;background:#F6F8FA;padding:1px 4px;border-radius:4px}
details summary{cursor:pointer;font-weight:600}
ul.orders{margin:0;padding-left:18px}
@page{size:A4;margin:12mm 11mm}
@media print{
 body{background:#FFF;font-size:11px}main{max-width:none;padding:0}
 section{box-shadow:none;border:1px solid #E1E4E8;padding:10px 12px;margin:0 0 10px}
 section.figure{break-inside:avoid}h1{font-size:20px}.big{font-size:16px}
 .facts{grid-template-columns:repeat(3,1fr);gap:6px 14px}
 table{font-size:9px}th,td{padding:3px 5px}td.nw{white-space:normal}
 .caption{font-size:10px}.screen-only{display:none}
}
td .sub{margin:0;font-size:12px}
"""


def esc(v: Any) -> str:
    return escape("–" if v is None or v == "" else str(v))


def data_img(path: Path, alt: str) -> str:
    """An image file as an <img> that carries it (data: URI): the page stays one file."""
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:{mime};base64,{data}">'


def img(plot: Plot) -> str:
    """The SVG (it zooms and prints sharp), or the PNG where there is no SVG."""
    assert plot.path is not None
    svg = plot.svg
    return data_img(svg if svg and svg.exists() else plot.path, plot.title)


def _facts(items: list[tuple[str, str]]) -> str:
    return '<div class="facts">' + "".join(
        f"<div><b>{esc(k)}</b>{v}</div>" for k, v in items) + "</div>"


def _all_pass(run: Any) -> bool:
    return bool(run.expectations) and all(x.passed for x in run.expectations)


def _header(r: Report) -> str:
    run, m = r.run, r.run.manifest
    tone = {"complete": "ok", "running": "warn"}.get(run.status, "bad")
    badge = f'<span class="badge {tone}">{esc(run.status)}</span>'
    banner = (f'<div class="banner"><b>{esc(text.status_line(run))}.</b> '
              f"{esc(text.incomplete_warning(run))}</div>" if run.status != "complete" else "")
    counts = text.measurement_counts(run)
    lat = text.latency_figures(r.latencies)
    scale = m.get("time_scale")
    emulated = f"{text.duration(run.duration_s)} emulated" + (
        f" at ×{scale:g} (1 s real = {text.duration(scale)})"
        if isinstance(scale, (int, float)) else "")
    facts = [
        ("status", f"{badge} exit code {esc(m.get('exit_code'))}"),
        ("expectations", f'<span class="big {"good" if _all_pass(run) else "alarm"}">'
         f"{esc(text.expectation_counts(run))}</span>"),
        ("measurements", f'<span class="big">{sum(counts.values()):,}</span><br>'
         + "<br>".join(f"{esc(k)}: {v:,}" for k, v in counts.items())),
        ("probe errors", f'<span class="big">{run.probe_errors}</span>'),
        ("commit → last switch ack", f'<span class="big">{esc(lat["ack_worst"])}</span>'
         f' worst, median {esc(lat["ack_median"])} over {lat["changes"]} '
         f'change{"" if lat["changes"] == "1" else "s"}'),
        ("commit → first probe saw it", f'<span class="big">{esc(lat["seen_worst"])}</span>'
         f' worst, median {esc(lat["seen_median"])}'),
        *_packet_facts(run),
        ("when (UTC)", f"{esc(m.get('started_at'))}<br>to {esc(m.get('finished_at'))}"),
        ("wall time", esc(text.duration(m.get("wall_seconds")))),
        ("scenario time", esc(emulated)),
        ("topology", f"{esc(run.topology.name)}: {len(run.topology.switches)} switches, "
         f"{len(run.topology.subscribers)} subscribers, {len(run.topology.services)} services"),
        ("vantage points", esc(text.vantage_summary(run))
         + f"<br>control: {esc(m.get('control'))}"),
        ("seed", esc(m.get("seed"))),
    ]
    desc = f'<p>{esc(m["description"])}</p>' if m.get("description") else ""
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in run.notes)
    return (f"<section><h1>{esc(m.get('title') or m.get('scenario'))}</h1>"
            f'<p class="sub">scenario <code>{esc(m.get("scenario"))}</code> · '
            f"run folder <code>{esc(run.folder.name)}</code></p>"
            f"{banner}{desc}{_facts(facts)}{notes}</section>")


def _packet_facts(run: Any) -> list[tuple[str, str]]:
    p = text.packet_figures(run)
    if p is None:
        return []
    return [("commit → last packet through (cut)", f'<span class="big">{esc(p["cut_worst"])}'
             f'</span> worst, median {esc(p["cut_median"])} ({esc(p["cut_n"])} measured)'),
            ("commit → first packet through (let in)", f'<span class="big">'
             f'{esc(p["in_worst"])}</span> worst, median {esc(p["in_median"])} '
             f'({esc(p["in_n"])} measured)')]


def _packet_table(run: Any) -> str:
    steps = {s.index: s for s in run.steps}
    rows = "".join(
        f"<tr><td>{x.step}</td><td>{esc(steps[x.step].label if x.step in steps else '')}</td>"
        f"<td>{esc(x.subscriber)} → {esc(x.service)}</td>"
        f"<td>{'cut' if not x.allowed else 'let in'}</td>"
        f"<td class=num>{esc(x.switch)}: {esc(text.packet_text(x.switch_ack_ms, ''))}</td>"
        f"<td class=num>{esc(text.packet_text(x.delay_ms, x.note))}</td>"
        f"<td class=num>{x.replies_after}</td></tr>"
        for x in run.stream_effects)
    return ("<table><tr><th>step</th><th>change</th><th>stream</th><th>effect</th>"
            "<th>access switch acked</th><th>commit → last (cut) / first (let in) reply</th>"
            f"<th>replies after the commit</th></tr>{rows}</table>")


def _expectations(r: Report) -> str:
    xs = r.run.expectations
    if xs is None:
        return ('<section><h2>Expectations</h2><p class="note">No expectations.json: '
                "the run stopped before they were evaluated.</p></section>")
    if not xs:
        return '<section><h2>Expectations</h2><p class="note">The scenario sets none.</p></section>'
    rows = "".join(
        f'<tr class="{text.verdict(x).lower()}"><td class="v">{text.verdict(x)}</td>'
        f"<td>{esc(x.name)}</td><td>{esc(x.scope)}</td>"
        f"<td>{esc(x.to)}</td><td class=nw>{esc(text.during(x, r.timeline))}</td>"
        f"<td class=nw>{esc(text.condition(x))}</td><td class=num>{esc(text.observed(x))}</td>"
        f"<td class=num>{esc(x.n)}</td><td>{esc(x.note)}</td></tr>"
        for x in xs)
    return ("<section><h2>Expectations</h2><table><tr><th>result</th><th>expectation</th>"
            "<th>from</th><th>to</th><th>during</th><th>condition</th><th>observed</th>"
            f"<th>n</th><th>note</th></tr>{rows}</table></section>")


def _latency_table(lats: list[StepLatency], n_switches: int) -> str:
    rows = "".join(
        f"<tr><td>{lat.step.index}</td><td>{esc(lat.step.label)}</td>"
        f"<td class=num>{esc(lat.step.revision)}</td>"
        f"<td class=num>{len(lat.ack_ms)} of {n_switches}</td>"
        f"<td class=num>{esc(text.ms(lat.median_ms))}</td>"
        f"<td class=num>{esc(text.ms(lat.worst_ms))}</td>"
        f"<td>{esc(text.first_seen_text(lat))}</td>"
        f"<td>{esc(', '.join(f'{k}: {v}' for k, v in lat.step.refused.items()))}</td></tr>"
        for lat in lats)
    return ("<table><tr><th>step</th><th>change</th><th>revision</th><th>switches acked</th>"
            "<th>median ack</th><th>worst ack</th><th>first probe saw it</th><th>refused</th>"
            f"</tr>{rows}</table>")


def _enforced(e: IspEnforcement) -> str:
    if e.acked == 0:
        return (f"<b>{esc(e.isp)}</b>: <span class=alarm>no switch answered</span>"
                if not e.refused else
                f"<b>{esc(e.isp)}</b>: <span class=alarm>refused by {e.refused}</span>")
    span = (orders.ms_text(e.first_ms) if e.first_ms == e.last_ms
            else f"{orders.ms_text(e.first_ms)} – {orders.ms_text(e.last_ms)}")
    short = "" if e.complete else f' <span class=alarm>({e.acked} of {e.switches})</span>'
    return f"<b>{esc(e.isp)}</b> {span}{short}"


def _orders_table(r: Report) -> str:
    if not r.orders:
        return '<p class="note">No order was given during the run.</p>'
    rows = []
    for o in r.orders:
        when = (f"{esc(r.timeline.at(o.t_scenario))}<br><span class=sub>"
                f"{esc(text.calendar(r.run, o.t_scenario))}</span>"
                if o.t_scenario is not None else "–")
        lines = "".join(f"<li>{esc(line)}</li>" for line in o.lines)
        enforced = "<br>".join(_enforced(e) for e in o.enforcement)
        rows.append(f"<tr><td class=num>{esc(o.step)}</td><td class=nw>{when}</td>"
                    f"<td>{esc(o.author)}<br><i>{esc(o.reason)}</i></td>"
                    f'<td><ul class="orders">{lines}</ul></td>'
                    f"<td class=nw>{enforced}</td></tr>")
    return ("<table><tr><th>step</th><th>when</th><th>who, and why</th><th>what changed</th>"
            "<th>first – last switch of each ISP enforcing it (after the commit)</th></tr>"
            f"{''.join(rows)}</table>")


def _plot(r: Report, plot: Plot, number: int) -> str:
    body = (img(plot) + f'<p class="caption">{esc(plot.caption)}</p>' if plot.path
            else f'<p class="note">Skipped: {esc(plot.note)}</p>')
    if plot.key in ("reachability", "heatmap", "blocking", "throughput") and plot.path:
        tl = r.timeline
        body += (f'<p class="caption"><b>Phases:</b> {esc(tl.phase_caption() or "none")}.'
                 f' <b>Steps:</b> {esc(tl.step_caption() or "none")}.</p>')
    if plot.key == "orders":
        body += _orders_table(r)
    if plot.key == "latency" and r.latencies:
        body += _latency_table(r.latencies, len(r.run.topology.switches))
    if plot.key == "packets" and r.run.stream_effects:
        body += _packet_table(r.run)
    # The PNG carries its own headline (it is also linked alone from summary.md), so the
    # section names the figure quietly instead of repeating it.
    return (f'<section id="{plot.key}" class="figure"><p class="kicker">Figure {number} · '
            f"{esc(plot.title)}</p>{body}</section>")


def _provenance(r: Report) -> str:
    m = r.run.manifest
    git = m.get("git") or {}
    env = [(k, str(v)) for k, v in (m.get("versions") or {}).items()]
    env += [("datapath", m.get("datapath")), ("kernel", m.get("kernel")),
            ("hostname", m.get("hostname")),
            ("git commit", f"{str(git.get('commit') or '–')[:12]}"
             + (" (uncommitted changes)" if git.get("dirty") else ""))]
    envfacts = [(k, f"<code>{esc(v)}</code>") for k, v in env]
    inputs = "".join(
        f"<tr><td>{esc(i.get('role'))}</td><td><code>{esc(i.get('path'))}</code></td>"
        f"<td><code>{esc(i.get('copy'))}</code></td>"
        f"<td><code>{esc(str(i.get('sha256') or '')[:12])}</code></td></tr>"
        for i in m.get("inputs") or [])
    return ("<section><h2>Inputs and environment</h2><table><tr><th>role</th><th>file</th>"
            f"<th>copy in this folder</th><th>sha256 (first 12)</th></tr>{inputs}</table>"
            f"{_facts(envfacts)}</section>")


def render(r: Report) -> str:
    title = r.run.manifest.get("title") or r.run.manifest.get("scenario") or "run"
    figs = [_plot(r, p, i) for i, p in enumerate(r.plots, 1)]
    parts = [_header(r), _expectations(r), *figs, explorer.section(r.run), _provenance(r)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}: sovnet report</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(parts)}</main></body></html>\n")
