"""`sovnet run` end to end on real Mininet, OVS, os-ken, servers and probes (root).

A short cutoff scenario whose expectations hold (exit 0), one whose expectations are violated on
purpose (exit 1), and a run interrupted with Ctrl-C (exit 130, folder marked incomplete). Each
checks the run folder and that nothing the run started is left behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sovnet.emulation import ovs
from sovnet.emulation.cleanup import run_dir
from sovnet.poll import eventually

HERE = Path(__file__).parent
SCENARIOS = HERE / "scenarios"
MINIMAL_BRIDGES = {"acc1", "core1", "acc2", "core2", "dc1", "gw1", "inet1"}


def sovnet(*args: str, timeout: float = 240, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sovnet", *args], capture_output=True,
                          text=True, timeout=timeout, **kw)


def lines(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def assert_nothing_left() -> None:
    assert not MINIMAL_BRIDGES & set(ovs.bridges())
    assert not list(run_dir().glob("*.json")), "a run-state file was left behind"
    ps = subprocess.run(["pgrep", "-af", "sovnet.probes.agent|sovnet controller|"
                                        "sovnet.flowlog.collector"],
                        capture_output=True, text=True)
    assert ps.stdout.strip() == "", f"processes left: {ps.stdout}"


@pytest.fixture(scope="module")
def cutoff_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "cutoff"
    proc = sovnet("run", str(SCENARIOS / "minimal-cutoff.yaml"), "--out", str(out), "--quiet")
    return proc, out


def test_cutoff_run_passes_and_says_so(cutoff_run):
    proc, out = cutoff_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "complete:" in proc.stdout and "FAIL" not in proc.stdout
    results = json.loads((out / "expectations.json").read_text())
    assert len(results) == 9 and all(r["pass"] for r in results), results
    assert_nothing_left()


def test_run_folder_has_everything(cutoff_run):
    _, out = cutoff_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["exit_code"] == 0
    assert manifest["datapath"] in ("user", "kernel") or manifest.get("kernel")
    assert {i["role"] for i in manifest["inputs"]} == {"scenario", "topology", "policy-set"}
    assert all(len(i["sha256"]) == 64 and (out / i["copy"]).is_file()
               for i in manifest["inputs"])
    assert manifest["versions"]["os_ken"] == "4.2.2" and manifest["versions"]["openvswitch"]
    assert manifest["git"]["commit"]
    for name in ("report.html", "summary.md", "topology.json", "store.db",
                 "logs/controller.log"):
        assert (out / name).is_file(), name
    assert list((out / "plots").glob("*.png")) and list((out / "plots").glob("*.svg"))
    orders = lines(out / "revisions.jsonl")  # the store's orders, exported for the report
    cut = next(o for o in orders if any(c["body"].get("action") == "deny"
                                        for c in o["changes"]))
    assert cut["author"] == "scenario:minimal-cutoff"
    assert set(cut["acks"]) == MINIMAL_BRIDGES
    assert 2 * 3600 <= cut["t_scenario"] < 2.5 * 3600
    assert "drop everything abroad for all subscribers" in (out / "report.html").read_text()
    for step in (1, 2):
        for when in ("before", "after"):
            dump = (out / "flows" / f"step-{step:02d}-{when}.txt").read_text()
            assert dump.count("## ") == len(MINIMAL_BRIDGES) and "cookie=" in dump


def test_every_change_is_acknowledged_by_every_switch(cutoff_run):
    _, out = cutoff_run
    steps = [e for e in lines(out / "events.jsonl") if e["type"] == "step" and e["revision"]]
    assert len(steps) == 2
    for ev in steps:
        assert set(ev["acks"]) == MINIMAL_BRIDGES and not ev["refused"]
        assert ev["t_commit"] <= min(ev["acks"].values())
        assert ev["t_enforced"] == max(ev["acks"].values())
        assert ev["t_enforced"] - ev["t_commit"] < 5
    cut, restore = steps
    assert ["alice", "social", False] in cut["effect"]
    assert ["alice", "social", True] in restore["effect"]


def test_measurements_carry_ooni_and_sovnet_keys(cutoff_run):
    _, out = cutoff_run
    ms = lines(out / "measurements.jsonl")
    web = [m for m in ms if m["test_name"] == "web_connectivity"]
    # 12 rounds x 4 registered vantage points (one per ISP and class) x 6 services
    assert len(web) == 12 * 4 * 6
    assert not [m for m in ms if m["probe_error"]], "a probe failed to run"
    for m in web:
        assert {"measurement_start_time", "probe_asn", "input", "annotations"} <= m.keys()
        assert {"subscriber", "class", "isp", "service", "category", "locus", "t_scenario",
                "store_revision"} <= m.keys()
        assert m["test_keys"]["control_failure"] is None
    # measured entirely under the cutoff (a blocked one waits ~45 emulated minutes for its SYN)
    cut = [m for m in web if m["phase"] == "cutoff" and m["t_scenario"] >= 2.25 * 3600
           and m["t_scenario_end"] <= 4 * 3600]
    social = [m["test_keys"] for m in cut if m["service"] == "social"]
    assert social and all(k["blocking"] == "tcp_ip" and k["accessible"] is False
                          and k["dns_consistency"] == "consistent" for k in social)
    bank = [m["test_keys"] for m in cut if m["service"] == "bank"]
    assert bank and all(k["accessible"] and not k["x_sovnet_usable"] for k in bank)
    assert {m["store_revision"] for m in cut} == {max(m["store_revision"] for m in web) - 1}
    tp = [m for m in ms if m["test_name"] == "sovnet_throughput"]
    assert tp and all(m["test_keys"]["throughput_kbps"] > 0 for m in tp)
    lat = [m for m in ms if m["test_name"] == "sovnet_latency"]
    by_svc = {m["service"]: m["test_keys"] for m in lat if m["phase"] == "cutoff"}
    assert by_svc["gov"]["received"] == 3 and by_svc["social"]["received"] == 0


def test_report_rebuilds_from_the_folder_alone(cutoff_run, tmp_path):
    _, out = cutoff_run
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(out), str(copy)], check=True)
    for p in (copy / "plots").glob("*.png"):
        p.unlink()
    (copy / "report.html").unlink()
    proc = sovnet("report", str(copy))
    assert proc.returncode == 0, proc.stderr
    assert (copy / "report.html").stat().st_size > 10_000
    assert len(list((copy / "plots").glob("*.png"))) == len(list((out / "plots").glob("*.png")))


def test_violated_expectations_exit_1(tmp_path):
    out = tmp_path / "violated"
    proc = sovnet("run", str(SCENARIOS / "minimal-violated.yaml"), "--out", str(out), "--quiet")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL  the blocked service is reachable (it is not): accessible 0" in proc.stdout
    assert "PASS  the domestic service is reachable" in proc.stdout
    results = json.loads((out / "expectations.json").read_text())
    assert [r["pass"] for r in results] == [True, False]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["exit_code"]) == ("complete", 1)
    assert_nothing_left()


def test_repeat_runs_with_two_seeds_and_summarises(tmp_path):
    out = tmp_path / "twice"
    proc = sovnet("run", str(SCENARIOS / "minimal-violated.yaml"), "--out", str(out),
                  "--quiet", "--repeat", "2", timeout=480)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"summary of 2 runs: {out / 'repeat.html'}" in proc.stdout
    seeds = [json.loads((out / f"run-{i}" / "manifest.json").read_text())["seed"]
             for i in (1, 2)]
    assert seeds[1] == seeds[0] + 1
    summary = json.loads((out / "repeat.json").read_text())
    assert [(x["name"], x["passed_runs"], x["runs"], x["median_holds"])
            for x in summary["expectations"]] == [
        ("the domestic service is reachable", 2, 2, True),
        ("the blocked service is reachable (it is not)", 0, 2, False)]
    assert "2 of 2" in (out / "repeat.html").read_text()
    assert_nothing_left()


def test_ctrl_c_tears_down_and_marks_the_run_incomplete(tmp_path):
    out = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "sovnet", "run",
                             str(SCENARIOS / "minimal-cutoff.yaml"), "--out", str(out),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        def measuring():
            path = out / "measurements.jsonl"
            assert path.exists() and path.stat().st_size > 0, "no measurement yet"

        eventually(measuring, timeout=90)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stdout + stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and "Ctrl-C" in manifest["reason"]
    assert lines(out / "measurements.jsonl")  # what was measured is kept
    assert (out / "report.html").is_file()
    assert_nothing_left()


def test_mechanisms_are_classified_as_a_measurer_would(tmp_path):
    out = tmp_path / "mechanisms"
    proc = sovnet("run", str(SCENARIOS / "minimal-mechanisms.yaml"), "--out", str(out),
                  "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the round at T0 may beat the policies to a switch or a resolver (~20 ms): skip it
    ms = [m for m in lines(out / "measurements.jsonl") if m["t_scenario"] >= 15 * 60]
    cdn = {}
    for m in ms:
        if m["service"] == "cdn":
            k = m["test_keys"]
            cdn.setdefault(m["isp"], set()).add((k["blocking"], k["http_experiment_failure"]))
    assert cdn == {"fixnet": {("tcp_ip", "generic_timeout_error")},  # dropped: silence
                   "mobinet": {("tcp_ip", "connection_refused")}}  # rejected: a reset
    web = [m for m in ms if m["subscriber"] == "alice"]
    social = {(k["dns_experiment_failure"], k["dns_consistency"], k["blocking"])
              for m in web if m["service"] == "social" for k in [m["test_keys"]]}
    assert social == {("dns_nxdomain_error", "inconsistent", "dns")}
    news = [m["test_keys"] for m in web if m["service"] == "news"]
    assert news and {(k["dns_consistency"], k["blocking"]) for k in news} == {
        ("inconsistent", "dns")}
    # nobody has the spoofed address: the connect times out, or ARP for it fails first
    assert {k["http_experiment_failure"] for k in news} <= {"generic_timeout_error",
                                                            "host_unreachable"}
    health = {(m["isp"], m["test_keys"]["blocking"], m["test_keys"]["accessible"])
              for m in ms if m["service"] == "health"}
    assert health == {("mobinet", "http-diff", False), ("fixnet", False, True)}  # the blockpage
    step = next(e for e in lines(out / "events.jsonl") if e["type"] == "step")
    assert ["alice", "social", False] in step["effect"]  # the reference semantics know it
    assert ["dave", "social", False] not in step["effect"]
    # the flow log: the fixed ISP's probes of gov, both ways, on the run's clocks
    flows = lines(out / "flows.jsonl")
    assert {(f["subscriber"], f["service"]) for f in flows} == {("alice", "gov"),
                                                               ("carol", "gov")}
    assert {f["direction"] for f in flows} == {"up", "down"}
    tcp = [f for f in flows if f["proto"] == 6 and f["t_real"] >= 0]
    assert tcp and all(f["bytes"] > 0 and f["switch"] == "acc1" and not f["dropped"]
                       for f in tcp)
    assert all(0 <= f["t_scenario"] <= f["t_scenario_end"] for f in tcp)


def test_every_line_loads_with_oonis_own_package(cutoff_run):
    """OONI's oonidata (its load_measurement, unpatched) reads every line of a real run, and
    the measurements are dated in the scenario's calendar, the wall time kept aside."""
    from oonidata.dataclient import load_measurement

    _, out = cutoff_run
    ms = lines(out / "measurements.jsonl")
    loaded = [load_measurement(msmt=m) for m in ms]
    assert len(loaded) == len(ms) > 0
    assert {type(x).__name__ for x in loaded} >= {"WebConnectivity", "BaseMeasurement"}
    first = min(m["measurement_start_time"] for m in ms)
    assert first.startswith("2026-01-01 00:") and all(m["x_wall_time"] for m in ms)
    assert len({m["report_id"] for m in ms}) == len({(m["subscriber"], m["test_name"])
                                                     for m in ms})


def test_quic_blocked_by_udp_endpoint_reads_as_a_handshake_timeout(tmp_path):
    out = tmp_path / "quic"
    proc = sovnet("run", str(SCENARIOS / "minimal-quic.yaml"), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    h3 = [m for m in lines(out / "measurements.jsonl") if m["test_name"] == "sovnet_http3"]
    seen = {(m["t_scenario"] >= 3600, m["test_keys"]["http_experiment_failure"],
             m["test_keys"]["quic_handshakes"][0]["negotiated_protocol"]) for m in h3}
    assert seen == {(False, None, "h3"), (True, "generic_timeout_error", None)}
    assert all(m["test_keys"]["quic_handshakes"][0]["network"] == "udp" for m in h3)
    assert "sovnet_http3 16" in (out / "summary.md").read_text()
    from oonidata.dataclient import load_measurement

    assert all(load_measurement(msmt=m) for m in h3)
