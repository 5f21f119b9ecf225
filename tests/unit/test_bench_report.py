"""`sovnet bench report`: its synthetic run folder and what it prints, on a small topology and
without the browser (tests/integration/test_explorer_browser.py drives one)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from sovnet import bench_report
from sovnet.cli import main
from sovnet.config import load_topology
from sovnet.report import load_run


def test_the_synthetic_run_is_a_run_folder_of_real_sized_records(tmp_path: Path) -> None:
    topo = load_topology("topologies/national.yaml")
    folder = bench_report.write_run(tmp_path / "run", topo, 1000)
    run = load_run(folder)
    lines = (folder / "measurements.jsonl").read_text().splitlines()
    kinds = Counter(json.loads(line)["test_name"] for line in lines)
    assert len(lines) == 1000 and set(kinds) == {
        "web_connectivity", "sovnet_throughput", "sovnet_latency", "sovnet_stream",
        "sovnet_http3"}
    web = [len(line) for line in lines if '"web_connectivity"' in line[:40]]
    assert 2200 < sum(web) / len(web) < 2900  # as a real run's (~2.6 KB)
    assert len(run.web) == kinds["web_connectivity"] and run.status == "complete"
    assert {w.blocking for w in run.web} >= {"ok", "dns", "tcp_ip"}
    assert len({v["isp"] for v in run.manifest["vantage_points"]}) == len(topo.isps)


def test_it_prints_the_size_the_share_and_the_build_time(monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench_report, "browser_load", lambda page: "not in a unit test")
    assert main(["bench", "report", "topologies/minimal.yaml", "--measurements", "200"]) == 0
    out = capsys.readouterr().out
    assert "minimal: 200 measurements, measurements.jsonl" in out
    assert "; the explorer " in out and "bytes a measurement, 1 chunks)" in out
    assert "build " in out and ", of which the explorer " in out
    assert "browser: skipped, not in a unit test" in out
