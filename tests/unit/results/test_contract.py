"""The results contract: the expectations and the report read the same run folder through the
same model (sovnet.results), so a PASS line and its figure agree on the same data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sovnet.experiments import expect
from sovnet.model.policy import parse_scope
from sovnet.model.scenario import Expectation, ServiceFilter
from sovnet.report import analysis, build_report, figures, load_run
from sovnet.report.style import Timeline
from sovnet.results import read_measurements
from tests.unit.report.fakerun import CUT, DURATION, RESTORE, make_run


def evaluate(*args) -> list[dict]:
    """The results as written to expectations.json."""
    return [r.to_json() for r in expect.evaluate(*args)]


MOBILE = parse_scope("class:mobile_prepaid")


def throughput(name: str, start: float, end: float, threshold: float = 1000.0) -> Expectation:
    return Expectation(name, (MOBILE,), (start, end), ServiceFilter(), "throughput_kbps", ">=",
                       threshold)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose mobile transfers fail in every other round of the cutoff, with the
    expectations evaluated as the runner does, over the records read back from the folder."""
    folder = make_run(tmp_path_factory.mktemp("runs") / "failures", failed_transfers=True)
    run = load_run(folder)
    ms = read_measurements(str(folder / "measurements.jsonl"), None)
    results = evaluate(run.topology, [throughput("mobile throughput in the cutoff", CUT,
                                                 math.nextafter(RESTORE, 0))], ms)
    (folder / "expectations.json").write_text(json.dumps(results))
    return folder


def test_a_pass_line_and_the_figure_agree_on_median_and_n(folder: Path) -> None:
    run = load_run(folder)
    [x] = run.expectations
    failed = [s for s in run.throughput if s.failed]
    assert failed and all(s.cls == "mobile_prepaid" and s.value is None for s in failed)
    # the figure's own computation, with a bin that is the expectation's window
    bins = analysis.Bins((0.0, CUT, RESTORE, DURATION), (CUT / 2, (CUT + RESTORE) / 2,
                                                         (RESTORE + DURATION) / 2))
    fig = analysis.throughput(run, bins)["mobile_prepaid"]
    assert x.passed and x.observed == fig.median[1] and x.n == fig.n[1]
    assert fig.failed[1] == len(failed)
    assert x.note == f"{len(failed)} failed transfers not counted"
    assert x.n + len(failed) == sum(s.cls == "mobile_prepaid" and CUT <= s.t_scenario < RESTORE
                                       for s in run.throughput)
    # the line the reader sees says the same
    summary = build_report(folder)["summary"].read_text()
    line = next(ln for ln in summary.splitlines() if "mobile throughput in the cutoff" in ln)
    assert "PASS" in line and f"{x.observed:,.0f} kbit/s" in line
    assert line.endswith(f"| {x.n} |")


def test_every_plotted_median_is_the_median_an_expectation_would_see(folder: Path) -> None:
    """Per bin of the throughput figure and per class: an expectation over exactly that bin
    observes the plotted median, over the plotted n, failures left out of both."""
    run = load_run(folder)
    ms = read_measurements(str(folder / "measurements.jsonl"), None)
    bins = analysis.make_bins(analysis.throughput_items(run), run.duration_s)
    series = analysis.throughput(run, bins)
    checked = {"samples": 0, "failures only": 0}
    for cls, s in series.items():
        scope = (parse_scope(f"class:{cls}"),)
        for i in range(bins.n):
            start, end = bins.edges[i], math.nextafter(bins.edges[i + 1], 0)
            e = Expectation("bin", scope, (start, end), ServiceFilter(), "throughput_kbps",
                            ">=", 0.0)
            [r] = evaluate(run.topology, [e], ms)
            assert r["n"] == s.n[i]
            if s.n[i]:
                assert r["observed"] == s.median[i]
                checked["samples"] += 1
            else:
                assert r["observed"] is None and math.isnan(s.median[i])
                checked["failures only"] += s.failed[i] > 0
    assert checked["samples"] > 20 and checked["failures only"] > 0


def test_the_figure_marks_failed_transfers_rather_than_plotting_zero(folder: Path) -> None:
    run = load_run(folder)
    bins = analysis.make_bins(analysis.throughput_items(run), run.duration_s)
    series = analysis.throughput(run, bins)
    fig = figures.new_figure(11, 4.2)
    ax = fig.add_subplot()
    figures.throughput(ax, series, bins, Timeline.from_run(run))
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "x"]
    assert len(marks) == 1 and list(marks[0].get_ydata()) == [0.0] * int(
        (series["mobile_prepaid"].failed > 0).sum())
    medians = [ln for ln in ax.get_lines() if ln.get_label() == "mobile_prepaid"]
    assert not any(v == 0.0 for v in medians[0].get_ydata())  # no failure drawn as 0 kbit/s
    assert "failed transfer(s)" in [t.get_text() for t in ax.get_legend().get_texts()]
