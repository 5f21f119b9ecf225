"""Result writing without root: measurement records, the run folder and the timeline store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sovnet.config.scenario import load_scenario
from sovnet.experiments.records import Context, record
from sovnet.experiments.rundir import RunFolder, default_folder
from sovnet.experiments.timeline import TimelineStore
from sovnet.results import Measurement, ThroughputKeys
from sovnet.store import open_store

ROOT = Path(__file__).resolve().parents[3]
SHORT = ROOT / "tests" / "integration" / "scenarios" / "minimal-cutoff.yaml"

CTX = Context(scenario="s", round=3, subscriber="alice", cls="fixed_home", isp="fixnet",
              isp_kind="fixed", asn=64512, probe_ip="10.1.0.2", resolver_ip="10.1.255.1",
              service="social", category="GRP", locus="foreign",
              input="http://friendbook.example/", t_real=4.25, t_scenario=7650.0,
              t_scenario_end=10350.0, store_revision=2, phase="cutoff")


def _observation(connected: bool) -> dict:
    tcp = {"ip": "172.16.0.1", "port": 80, "t0": 0.001, "t": 0.002 if connected else 1.5,
           "status": {"success": connected, "failure": None if connected
                      else "generic_timeout_error"}}
    req = ({"request": {"url": CTX.input, "method": "GET", "headers": {"Host": "x"}},
            "response": {"code": 200, "headers": {"Server": "s"}, "body_length": 300,
                         "title": "friendbook"}, "failure": None, "t0": 0.003, "t": 0.01}
           if connected else
           {"request": {"url": CTX.input, "method": "GET", "headers": {"Host": "x"}},
            "response": {"code": None, "headers": {}, "body_length": None, "title": None},
            "failure": "generic_timeout_error", "t0": 0.001, "t": 1.5})
    return {"client_resolver": "10.1.255.1",
            "queries": [{"engine": "udp", "resolver_address": "10.1.255.1:53",
                         "hostname": "friendbook.example", "query_type": "A",
                         "answers": [{"answer_type": "A", "ipv4": "172.16.0.1"}],
                         "failure": None, "rcode": 0, "t0": 0.0, "t": 0.001}],
            "tcp_connect": [tcp], "requests": [req], "dns_experiment_failure": None,
            "http_experiment_failure": None if connected else "generic_timeout_error",
            "page": {"resources": []}}


CONTROL = {"dns": {"addrs": ["172.16.0.1"], "failure": None},
           "tcp_connect": {"172.16.0.1:80": {"status": True, "failure": None}},
           "http_request": {"body_length": 300, "failure": None, "title": "friendbook",
                            "headers": {"Server": "s"}, "status_code": 200}}


def test_a_blocked_web_measurement_is_an_ooni_record_with_sovnet_keys():
    line = {"id": "web-0-3", "kind": "web", "service": "social", "t0_mono": 1.0,
            "t0_wall": 1764028800.0, "runtime": 1.5, "observation": _observation(False)}
    m = record(CTX, "web", line, CONTROL)
    assert (m.kind, m.keys.verdict, m.keys.accessible, m.t_end) == ("web", "tcp_ip", False,
                                                                     10350.0)
    rec = m.to_json()
    assert rec["test_name"] == "web_connectivity"
    assert rec["measurement_start_time"] == "2025-11-25 00:00:00"
    assert (rec["probe_asn"], rec["probe_network_name"], rec["input"]) == (
        "AS64512", "fixnet", "http://friendbook.example/")
    assert rec["annotations"]["policy_version"] == "2"
    assert rec["annotations"]["network_type"] == "fixed"
    keys = rec["test_keys"]
    assert (keys["blocking"], keys["accessible"], keys["dns_consistency"]) == (
        "tcp_ip", False, "consistent")
    assert (rec["subscriber"], rec["class"], rec["service"], rec["category"], rec["locus"],
            rec["t_scenario"], rec["t_scenario_end"], rec["store_revision"], rec["phase"]) == (
        "alice", "fixed_home", "social", "GRP", "foreign", 7650.0, 10350.0, 2, "cutoff")
    assert rec["probe_error"] is None and rec["raw_output"] is None
    json.dumps(rec)  # one JSON line


def test_no_control_means_undetermined_not_blocked():
    line = {"id": "w", "service": "social", "observation": _observation(False)}
    keys = record(CTX, "web", line, None).to_json()["test_keys"]
    assert keys["blocking"] is None and keys["accessible"] is None
    assert keys["control_failure"]


def test_a_probe_that_could_not_run_keeps_its_raw_output_and_claims_nothing():
    line = {"id": "lat-1", "kind": "latency", "service": "gov",
            "error": "ping output not understood", "raw": "ping: socket: Operation not permitted"}
    m = record(CTX, "latency", line)
    assert (m.kind, m.ok, m.keys, m.value) == ("latency", False, None, None)
    rec = m.to_json()
    assert rec["test_name"] == "sovnet_latency"
    assert rec["test_keys"] == {}
    assert rec["probe_error"] == "ping output not understood"
    assert rec["raw_output"] == "ping: socket: Operation not permitted"


def test_run_folder_lifecycle(tmp_path):
    sc = load_scenario(SHORT)
    assert default_folder(sc, tmp_path, now=0).name == "1970-01-01T00-00-00Z-minimal-cutoff"
    folder = RunFolder(tmp_path / "run")
    folder.create(sc, {"vantage_points": []})
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "running" and manifest["format"] == "sovnet-run/1"
    assert [p["name"] for p in manifest["phases"]] == ["normal", "cutoff", "restored"]
    for inp in manifest["inputs"]:
        assert (tmp_path / "run" / inp["copy"]).read_bytes() == Path(inp["path"]).read_bytes()
    topo = json.loads((tmp_path / "run" / "topology.json").read_text())
    assert topo["name"] == "minimal"
    folder.event({"type": "run_start", "t_real": 0.0})
    m = record(CTX, "latency", {"error": "x", "raw": ""}, wall=0.0)
    folder.measurement(m)
    # a reader sees what was written before the run ends (a killed run keeps it), and the
    # runner keeps the same in memory for its expectations
    written = (tmp_path / "run" / "measurements.jsonl").read_text()
    assert written == json.dumps(m.to_json(), separators=(",", ":")) + "\n"
    assert folder.measurements == [m]
    assert Measurement.parse(json.loads(written), "measurements.jsonl:1") == m
    folder.finish("incomplete", 130, "interrupted (Ctrl-C)", counts={"measurements": 1})
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (manifest["status"], manifest["exit_code"], manifest["reason"]) == (
        "incomplete", 130, "interrupted (Ctrl-C)")
    assert manifest["wall_seconds"] >= 0 and manifest["counts"] == {"measurements": 1}


def test_a_run_folder_is_never_reused(tmp_path):
    from sovnet.experiments.runner import RunError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("keep me")
    with pytest.raises(RunError, match="exists and is not empty"):
        RunFolder(tmp_path / "run").create(load_scenario(SHORT), {})
    assert (tmp_path / "run" / "old.txt").read_text() == "keep me"


def test_timeline_steps_are_revisions_and_restore_resets_everything(tmp_path):
    sc = load_scenario(SHORT)
    store = open_store(str(tmp_path / "s.db"))
    store.load_inventory(sc.topology)
    tl = TimelineStore(store, sc.topology, author="scenario:test")
    assert tl.apply(sc.steps[0]) is None  # a phase marker changes nothing
    rev = tl.apply(sc.steps[1])
    assert rev == store.revision()
    info = store.revision_info(rev)
    assert info.author == "scenario:test" and info.reason == sc.steps[1].label
    assert len(store.policies()) == 4 and set(tl.named) == {"cutoff", "essential-services"}
    with store.transaction(author="x") as tx:  # someone else changes a subscriber meanwhile
        tx.set_subscriber_status("alice", "revoked")
        tx.register_device("bob", "02:00:00:00:00:b0")
    tl.apply(sc.steps[2])
    assert store.policies() == () and tl.named == {}
    subs = store.subscribers()
    assert subs["alice"].status == "registered" and subs["bob"].devices == frozenset()


def test_a_result_the_model_cannot_read_is_a_probe_error_not_a_crash():
    line = {"id": "s-1", "t0_wall": 1764028800.0, "runtime": 2.0,
            "observation": {"rate": 100, "sent": 3, "replies": [[1, 0.0, 0.01]]}}
    m = record(CTX, "stream", line)
    assert m.kind == "stream" and m.keys is None
    assert m.probe_error == ("unreadable result (alice -> social: test_keys: 'start_wall' must "
                             "be a number, got nothing)")
    assert json.loads(m.to_json()["raw_output"]) == line


def test_a_failed_transfer_is_not_a_throughput_sample():
    failed = record(CTX, "throughput", {"observation": {"throughput_kbps": None,
                                                        "failure": "connection_refused"}})
    ok = record(CTX, "throughput", {"observation": {"throughput_kbps": 812.5, "failure": None}})
    assert failed.keys == ThroughputKeys(None, "connection_refused")
    assert (failed.transfer_failed, failed.value) == (True, None)
    assert (ok.transfer_failed, ok.value) == (False, 812.5)
