"""Reading a run folder: values as written, and errors that name the file, line and problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sovnet.errors import SovnetError
from sovnet.report import ReportError, load_run
from tests.unit.report.fakerun import make_run


@pytest.fixture
def copy(run_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_dir, tmp_path / "x"))


def test_reads_the_synthetic_run(run) -> None:
    assert run.status == "complete" and run.duration_s == 12 * 3600
    assert [p.name for p in run.phases] == ["normal", "cutoff", "restored"]
    assert [s.index for s in run.steps] == [0, 1, 2]
    assert run.steps[0].revision is None and run.steps[1].revision == 2
    assert len(run.steps[1].acks) == 7 and ("alice", "social", False) in run.steps[1].effect
    assert len(run.web) == 24 * 18 and len(run.throughput) == 48 and len(run.latency) == 48
    assert run.probe_errors == 1
    assert {w.blocking for w in run.web} >= {"ok", "dns", "tcp_ip", "http-failure",
                                              "undetermined"}
    assert run.topology.name == "minimal" and len(run.expectations) == 3
    assert [w.t_real for w in run.web] == sorted(w.t_real for w in run.web)


def test_report_error_is_a_sovnet_error() -> None:
    assert issubclass(ReportError, SovnetError)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="^.*/nope: not a folder$"):
        load_run(tmp_path / "nope")


def test_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(ReportError) as e:
        load_run(tmp_path)
    assert str(e.value) == f"{tmp_path}: not a run folder (no manifest.json)"


def test_malformed_measurement_line_names_file_and_line(copy: Path) -> None:
    path = copy / "measurements.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[16] = '{"test_name": "web_connectivity", oops}\n'
    path.write_text("".join(lines))
    with pytest.raises(ReportError) as e:
        load_run(str(copy))
    assert str(e.value) == (f"{copy}/measurements.jsonl:17: not JSON (Expecting property name "
                            "enclosed in double quotes at column 35)")


def test_measurement_without_a_needed_key(copy: Path) -> None:
    path = copy / "measurements.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    m = json.loads(lines[2])
    del m["t_scenario"]
    lines[2] = json.dumps(m) + "\n"
    path.write_text("".join(lines))
    with pytest.raises(ReportError) as e:
        load_run(copy)
    assert str(e.value) == (f"{copy}/measurements.jsonl:3: 't_scenario' must be a number, "
                            "got nothing")


def test_wrong_format_and_bad_topology(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest | {"format": "other/9"}))
    with pytest.raises(ReportError, match=r"manifest.json: format is 'other/9', expected "
                                          r"'sovnet-run/1'"):
        load_run(copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    (copy / "topology.json").write_text('{"name": "t"}')
    with pytest.raises(ReportError, match=r"topology.json: not a sovnet topology \(KeyError: "
                                          r"'isps'\)"):
        load_run(copy)
    (copy / "topology.json").write_text("[")
    with pytest.raises(ReportError, match=r"topology.json: not JSON \(Expecting value"):
        load_run(copy)


def test_bad_step_effect(copy: Path) -> None:
    events = (copy / "events.jsonl").read_text().splitlines()
    i = next(i for i, e in enumerate(events) if '"index": 1' in e and '"step"' in e)
    events[i] = json.dumps(json.loads(events[i]) | {"effect": [["alice", "social"]]})
    (copy / "events.jsonl").write_text("\n".join(events) + "\n")
    with pytest.raises(ReportError, match=rf"events.jsonl:{i + 1}: 'effect' items must be"):
        load_run(copy)


def test_cut_off_last_line_is_an_error_in_a_complete_run_only(tmp_path: Path) -> None:
    for status in ("complete", "incomplete"):
        folder = make_run(tmp_path / status, status=status)
        with open(folder / "measurements.jsonl", "a") as f:
            f.write('{"test_name": "web_conn')
        if status == "complete":
            with pytest.raises(ReportError, match=r"measurements.jsonl:\d+: not JSON"):
                load_run(folder)
        else:
            run = load_run(folder)
            assert any("ignored a cut-off last line" in n for n in run.notes)
            assert run.expectations is None and run.status == "incomplete"
