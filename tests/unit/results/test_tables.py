"""load_tables: a synthetic run folder as tables, with pandas and without."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sovnet.results import (
    RecordError,
    StepEvent,
    ThroughputKeys,
    WebKeys,
    load_tables,
    read_jsonl,
    read_measurements,
)
from sovnet.results.bgp import series
from sovnet.results.tables import (
    ACK_COLUMNS,
    EVENT_COLUMNS,
    EXPECTATION_COLUMNS,
    MEASUREMENT_COLUMNS,
    SIGNAL_COLUMNS,
)
from tests.unit.report.fakerun import T0_WALL, make_run

EXTRA_EVENTS = [  # what make_run does not write: a refusal, a stream and a route effect
    {"type": "step", "index": 3, "phase": "restored", "label": "log the bank", "at_s": 36000.0,
     "t_scenario": 36001.0, "t_real": 15.0004, "actions": ["log bank"], "revision": 4,
     "committed_wall": T0_WALL + 15.001, "t_commit": 15.001,
     "acks": {"acc1": 15.0123, "acc2": 15.0201}, "t_enforced": 15.0201,
     "refused": {"gw1": "failed: table full"}, "effect": []},
    {"type": "stream_effect", "step": 1, "at_s": 14400.0, "subscriber": "erin",
     "service": "social", "allowed": False, "t_commit": 6.0012, "switch": "acc2",
     "switch_ack_ms": 21.0, "t_packet": 6.0331, "delay_ms": 31.9, "replies_before": 100,
     "replies_after": 0, "note": ""},
    {"type": "route_effect", "step": 1, "withdrawn": ["10.2.0.0/16"], "announced": [],
     "peers": 2, "withdrawal_seen_s": 0.0465},
]
IODA = [series("asn", "64512", "fixnet", "bgp", int(T0_WALL), 300, [256, 256, 0, None]),
        series("country", "minimal", "minimal", "ping-slash24", int(T0_WALL), 300, [2, 1, 0, 0])]
DNS = [series("resolver", "dns1", "dns1", "dns-queries", int(T0_WALL), 300, [12, 0, 3, 4])]


def _signals(items: list[dict]) -> str:
    return json.dumps({"type": "signals", "error": None, "data": [[s] for s in items]})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_run(tmp_path_factory.mktemp("tables") / "run")
    with open(run / "events.jsonl", "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(e) + "\n" for e in EXTRA_EVENTS))
    (run / "ioda.json").write_text(_signals(IODA))
    (run / "dns.json").write_text(_signals(DNS))
    return run


@pytest.fixture(scope="module")
def rows(folder: Path):
    return load_tables(folder, as_frames=False)


def _names(columns) -> list[str]:
    return [c for c, _ in columns]


def test_one_measurement_row_per_record_read_off_the_model(folder: Path, rows) -> None:
    model = read_measurements(str(folder / "measurements.jsonl"), None)
    assert len(rows.measurements) == len(model) == rows.manifest["counts"]["measurements"]
    assert all(list(r) == _names(MEASUREMENT_COLUMNS) for r in rows.measurements)
    for r, m in zip(rows.measurements, model, strict=True):
        assert (r["t_real"], r["kind"], r["subscriber"], r["class"], r["round"]) == (
            m.t_real, m.kind, m.subscriber, m.cls, m.round)
        assert r["isp"] == m.raw["isp"] and r["store_revision"] == m.raw["store_revision"]
        if isinstance(m.keys, WebKeys):
            assert (r["accessible"], r["usable"], r["blocking"]) == (
                m.keys.accessible, m.keys.usable, m.keys.verdict)
        if isinstance(m.keys, ThroughputKeys):
            assert r["value"] == m.keys.kbps and r["transfer_failed"] is False
    error = [r for r in rows.measurements if r["probe_error"]]
    assert [(r["subscriber"], r["service"], r["round"]) for r in error] == [("erin", "gov", 5)]
    assert error[0]["accessible"] is None and error[0]["blocking"] is None
    latency = next(r for r in rows.measurements if r["kind"] == "latency")
    assert latency["test_name"] == "sovnet_latency" and latency["sent"] == 3
    assert 1.5 <= latency["value"] <= 4.0  # ms
    assert Counter(r["blocking"] for r in rows.measurements if r["kind"] == "web")["ok"] > 100


def test_one_event_row_per_line_of_any_type(folder: Path, rows) -> None:
    lines = read_jsonl(str(folder / "events.jsonl"), None)
    assert len(rows.events) == len(lines)
    assert all(list(r) == _names(EVENT_COLUMNS) for r in rows.events)
    assert Counter(r["type"] for r in rows.events) == Counter(e["type"] for _, e in lines)
    steps = [r for r in rows.events if r["type"] == "step"]
    assert [(s["index"], s["revision"]) for s in steps] == [(0, None), (1, 2), (2, 3), (3, 4)]
    parsed = StepEvent.parse(next(e for _, e in lines if e.get("index") == 1), "step 1")
    assert steps[1]["t_commit"] == parsed.t_commit and steps[1]["t_enforced"] == parsed.t_enforced
    rounds = {(r["kind"], r["round"]) for r in rows.events if r["type"] == "probe_round"}
    assert ("web_connectivity", 0) in rounds and ("sovnet_latency", 23) in rounds
    stream = next(r for r in rows.events if r["type"] == "stream_effect")
    assert (stream["index"], stream["subscriber"], stream["allowed"], stream["delay_ms"]) == (
        1, "erin", False, 31.9)
    assert stream["t_real"] is None  # the entry has none
    route = next(r for r in rows.events if r["type"] == "route_effect")
    assert route["index"] == 1 and route["delay_ms"] == pytest.approx(46.5)


def test_one_ack_row_per_step_and_switch(rows) -> None:
    assert all(list(r) == _names(ACK_COLUMNS) for r in rows.acks)
    per_step = Counter(r["step"] for r in rows.acks)
    assert per_step == {1: 7, 2: 7, 3: 3}  # every switch of minimal.yaml; step 0 changed nothing
    for r in rows.acks:
        if r["t_ack"] is not None:
            assert r["ms_after_commit"] == pytest.approx((r["t_ack"] - r["t_commit"]) * 1000,
                                                         abs=1e-3)
            assert 11.9 <= r["ms_after_commit"] <= 45.1 or r["step"] == 3
    isp = {r["switch"]: r["isp"] for r in rows.acks}
    assert isp == {"acc1": "fixnet", "core1": "fixnet", "acc2": "mobinet", "core2": "mobinet",
                   "dc1": None, "gw1": None, "inet1": None}
    last = [r for r in rows.acks if r["step"] == 3]
    assert [(r["switch"], r["refused"]) for r in last] == [
        ("acc1", None), ("acc2", None), ("gw1", "table full")]  # answered first, refusals last
    assert last[2]["t_ack"] is None and last[2]["ms_after_commit"] is None
    assert last[0]["ms_after_commit"] == pytest.approx(11.3) and last[0]["role"] == "access"


def test_one_signal_row_per_series_and_time_step(rows) -> None:
    assert all(list(r) == _names(SIGNAL_COLUMNS) for r in rows.signals)
    assert len(rows.signals) == sum(len(s["values"]) for s in IODA + DNS)
    bgp = [r for r in rows.signals if r["datasource"] == "bgp"]
    assert [(r["t"] - T0_WALL, r["t_scenario"], r["value"]) for r in bgp] == [
        (0, 0, 256), (300, 300, 256), (600, 600, 0), (900, 900, None)]
    assert {(r["entityType"], r["entityCode"], r["entityName"]) for r in rows.signals} == {
        ("asn", "64512", "fixnet"), ("country", "minimal", "minimal"),
        ("resolver", "dns1", "dns1")}


def test_expectations_and_manifest(folder: Path, rows) -> None:
    assert all(list(r) == _names(EXPECTATION_COLUMNS) for r in rows.expectations)
    items = json.loads((folder / "expectations.json").read_text())
    assert [(r["name"], r["pass"], r["n"], r["during_start"]) for r in rows.expectations] == [
        (x["name"], x["pass"], x["n"], x["during"][0]) for x in items]
    assert rows.manifest["scenario"] == "synthetic-cutoff" and rows.notes == []


def test_frames_hold_the_same_rows(folder: Path, rows) -> None:
    pd = pytest.importorskip("pandas")
    frames = load_tables(folder)
    for name, columns in (("measurements", MEASUREMENT_COLUMNS), ("events", EVENT_COLUMNS),
                          ("acks", ACK_COLUMNS), ("signals", SIGNAL_COLUMNS),
                          ("expectations", EXPECTATION_COLUMNS)):
        df = getattr(frames, name)
        assert isinstance(df, pd.DataFrame)
        assert list(df.columns) == _names(columns) and len(df) == len(getattr(rows, name))
    ms = frames.measurements
    assert str(ms["accessible"].dtype) == "boolean" and str(ms["round"].dtype) == "Int64"
    web = ms[(ms.kind == "web") & ms.probe_error.isna()]
    known = [r["accessible"] for r in rows.measurements
             if r["kind"] == "web" and r["probe_error"] is None and r["accessible"] is not None]
    assert web.accessible.mean() == pytest.approx(sum(known) / len(known))
    assert frames.acks.groupby("step").size().to_dict() == {1: 7, 2: 7, 3: 3}
    assert frames.signals.value.isna().sum() == 1


def test_tables_of_a_folder_without_signals_keep_their_columns(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    run = make_run(tmp_path / "run")  # no ioda.json, dns.json: an older folder
    tables = load_tables(run)
    assert len(tables.signals) == 0 and list(tables.signals.columns) == _names(SIGNAL_COLUMNS)
    assert load_tables(run, as_frames=False).signals == []


def test_without_pandas_lists_of_dicts(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    tables = load_tables(folder)
    assert isinstance(tables.measurements, list) and isinstance(tables.measurements[0], dict)
    assert isinstance(tables.acks, list) and isinstance(tables.signals, list)
    with pytest.raises(ImportError, match="needs pandas"):
        load_tables(folder, as_frames=True)


def test_sovnet_does_not_import_pandas() -> None:
    code = ("import sys, sovnet.results, sovnet.report, sovnet.cli\n"
            "sys.exit('pandas' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_an_interrupted_run_loses_its_torn_last_line_with_a_note(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", status="incomplete")
    with open(run / "measurements.jsonl", "a", encoding="utf-8") as f:
        f.write('{"test_name": "web_conn')
    tables = load_tables(run, as_frames=False)
    assert len(tables.measurements) == tables.manifest["counts"]["measurements"]
    assert tables.expectations == [] and len(tables.notes) == 1
    assert "measurements.jsonl" in tables.notes[0] and "cut-off last line" in tables.notes[0]


def _broken(tmp_path: Path, name: str, text: str) -> Path:
    run = make_run(tmp_path / "run")
    (run / name).write_text(text)
    return run


@pytest.mark.parametrize(("name", "text", "message"), [
    ("measurements.jsonl", '{"test_name": "web_connectivity", "t_real": "soon"}\n',
     r"measurements.jsonl:1: 't_real' must be a number, got 'soon'"),
    ("events.jsonl", '{"type": "run_start", "t_real": 0}\n{"type": "step", "index": 1}\n',
     r"events.jsonl:2: 't_scenario' must be a number, got nothing"),
    ("events.jsonl", "[1, 2]\n", r"events.jsonl:1: expected a JSON object, got list"),
    ("ioda.json", _signals([{"entityType": "asn", "from": 0, "step": 300, "values": 3}]),
     r"ioda.json: data\[0\]\[0\]: 'values' must be a list"),
    ("dns.json", '{"type": "signals", "data": [{"from": 0}]}',
     r"dns.json: data\[0\]: expected a list of series"),
    ("expectations.json", '{"name": "x"}', r"expectations.json: expected a list of objects"),
    ("manifest.json", '{"format": "sovnet-run/0"}', r"manifest.json: format is 'sovnet-run/0'"),
], ids=["measurement", "step", "not-an-object", "ioda-values", "dns-data", "expectations",
        "format"])
def test_a_malformed_file_is_a_record_error_naming_it(tmp_path: Path, name: str, text: str,
                                                      message: str) -> None:
    run = _broken(tmp_path, name, text)
    with pytest.raises(RecordError, match=message):
        load_tables(run, as_frames=False)


def test_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="not a run folder"):
        load_tables(tmp_path)
