"""Stream probes in the report: the synthetic run with one cut stream and one bystander, read
back, drawn around the commit, and named in report.html and summary.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sovnet.experiments.stream_effect import stream_effects
from sovnet.report import analysis, build_report, load_run
from sovnet.results import Measurement, StepEvent, dump_line
from tests.unit.report.fakerun import T0_WALL, make_run, step_events

RATE = 100.0


def stream_record(sub: str, cls: str, start: float, until: float | None) -> dict:
    """A 4 s stream starting `start` s after T0 whose replies stop at `until` (None: never)."""
    sent = int(4 * RATE)
    replies = [[i, round(i / RATE, 4), round(i / RATE + 0.0008, 4)] for i in range(sent)
               if until is None or start + i / RATE + 0.0008 <= until]
    return {"test_name": "sovnet_stream", "subscriber": sub, "class": cls, "isp": "fixnet",
            "service": "gov", "round": 0, "t_real": start, "t_scenario": start * 2400.0,
            "t_scenario_end": (start + 4.3) * 2400.0, "probe_error": None,
            "test_keys": {"ip": "10.9.0.2", "rate": RATE, "window_s": 4.0,
                          "start_wall": T0_WALL + start, "sent": sent,
                          "received": len(replies), "replies": replies, "icmp_errors": 0,
                          "failure": None}}


@pytest.fixture(scope="module")
def stream_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = make_run(tmp_path_factory.mktemp("runs") / "streams")
    cut = step_events()[1]
    t = cut["t_commit"]
    ms = [stream_record("alice", "fixed_home", t - 2.0, t + 0.047),
          stream_record("erin", "mobile_prepaid", t - 2.0, None)]
    step = dict(cut, stream_effect=[["alice", "gov", False]])
    effects = stream_effects([StepEvent.parse(step, "step")],
                             [Measurement.parse(m, "m") for m in ms], T0_WALL, {"alice": "acc1"})
    with open(folder / "measurements.jsonl", "a") as f:
        f.writelines(json.dumps(m) + "\n" for m in ms)
    with open(folder / "events.jsonl", "a") as f:
        f.writelines(dump_line(x.to_json()) for x in effects)
    return folder


def test_streams_and_their_effects_are_read_back(stream_run: Path) -> None:
    run = load_run(stream_run)
    assert [(s.subscriber, s.sent, len(s.replies)) for s in run.streams] == [
        ("alice", 400, 205), ("erin", 400, 400)]
    [x] = run.stream_effects
    assert (x.step, x.subscriber, x.allowed, x.switch) == (1, "alice", False, "acc1")
    assert x.delay_ms == pytest.approx(40.8, abs=0.1)
    assert x.switch_ack_ms is not None and x.replies_after == 5


def test_the_packets_around_a_cut_put_the_cut_stream_first(stream_run: Path) -> None:
    run = load_run(stream_run)
    [lat] = analysis.stream_by_step(run)
    assert lat.step.index == 1 and [p.subscriber for p in lat.packets] == ["alice"]
    cut, bystander = analysis.packets_around(run, lat, 0.25, 0.75)
    assert (cut.subscriber, cut.effect is not None, bystander.effect) == ("alice", True, None)
    assert cut.offsets_ms.max() == pytest.approx(40.8, abs=0.1)
    assert cut.offsets_ms.min() >= -250 and bystander.offsets_ms.max() > 740


def test_the_report_draws_and_names_the_last_packet(stream_run: Path) -> None:
    built = build_report(stream_run)
    assert built["packets"] == stream_run / "plots" / "packets.png"
    html = built["html"].read_text()
    for text in ("commit → last packet through (cut)", "alice → gov", "+40.8 ms",
                 "sovnet_stream: 2", "The last and first packet through, per change"):
        assert text in html, text
    md = built["summary"].read_text()
    assert "store commit → last packet through, streams cut (1 of 1): median 40.8 ms" in md


def test_a_run_without_streams_skips_the_figure_and_says_nothing_of_packets(run_dir: Path,
                                                                             built) -> None:
    assert "packets" not in built
    html = built["html"].read_text()
    assert "No timeline step changed what a stream probe could reach" in html
    assert "commit → last packet through" not in html and "sovnet_stream" not in html
