"""build_report end to end on synthetic run folders: files, self-containment, odd runs."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pytest

from sovnet.report import ReportError, build_report
from tests.unit.report.fakerun import make_run

PLOTS = ["orders", "reachability", "per_isp", "heatmap", "blocking", "collateral", "latency",
         "throughput", "topology"]
PNG = b"\x89PNG\r\n\x1a\n"


def test_writes_every_file(run_dir: Path, built: dict[str, Path]) -> None:
    assert set(built) == {"html", "summary", *PLOTS}
    assert built["html"] == run_dir / "report.html"
    assert built["summary"] == run_dir / "summary.md"
    for key in PLOTS:
        assert built[key] == run_dir / "plots" / f"{key}.png"
        assert built[key].read_bytes().startswith(PNG)
        svg = built[key].with_suffix(".svg").read_text()
        assert svg.startswith("<?xml") and "<svg" in svg


def test_html_is_self_contained(built: dict[str, Path]) -> None:
    html = built["html"].read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert "@import" not in html and "url(" not in html
    # the explorer's inline script and its data blocks, which no browser runs; nothing loaded
    scripts = re.findall(r"<script([^>]*)>", html, re.I)
    assert scripts and set(scripts) - {""} <= {
        ' type="application/octet-stream" id="sx-index"',
        *(f' type="application/octet-stream" id="sx-c{k}"' for k in range(len(scripts)))}
    images = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == len(PLOTS)
    assert all(b"<svg" in base64.b64decode(i) for i in images)


def test_html_says_what_matters(built: dict[str, Path]) -> None:
    html = built["html"].read_text()
    for text in ("International cutoff with an essential-services whitelist",
                 "2 of 3 passed", ">complete<", "the bank stays usable during the cutoff",
                 ">FAIL<", ">PASS<", "ffde08c131b5", "5165707aabbc", "web_connectivity: 432",
                 "7 of 7", "159 ms (alice: social blocked)", "step 1 at 4 h"):
        assert text in html, text
    assert "INCOMPLETE" not in html


def test_summary_is_short_and_links_plots(built: dict[str, Path]) -> None:
    md = built["summary"].read_text()
    assert md.startswith("# International cutoff")
    assert "**Status: complete** (exit code 1)" in md
    assert ("| ❌ FAIL | the bank stays usable during the cutoff | usable >= 95% | 4.5–9 h | 0% |"
            in md)
    assert "- measurements: 528 (web_connectivity 432, sovnet_throughput 48, " in md
    assert "worst 39.3 ms" in md
    for key in PLOTS:
        assert f"(plots/{key}.png)" in md
    assert ("- step 1 at 4 h (Tue 25 Nov 2025 04:00 UTC), scenario:synthetic, international "
            "cutoff, essential services whitelisted: ordered: drop everything abroad for all "
            "subscribers (priority 100): national order 7; ordered: allow banking (BANK)") in md
    assert len(md.splitlines()) < 50


def test_incomplete_run_without_throughput(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "stopped", status="incomplete", throughput=False)
    (folder / "plots" / "throughput.png").write_bytes(PNG)  # left over from an earlier build
    out = build_report(folder)
    assert "throughput" not in out and not (folder / "plots" / "throughput.png").exists()
    html = out["html"].read_text()
    assert '<div class="banner"><b>INCOMPLETE: interrupted (Ctrl-C).</b>' in html
    assert "Skipped: No sovnet_throughput measurements in this run." in html
    assert "No expectations.json" in html
    md = out["summary"].read_text()
    assert "**Status: INCOMPLETE: interrupted (Ctrl-C)**" in md and "> **Warning:**" in md
    assert "- Throughput per subscriber class: skipped. No sovnet_throughput" in md


def test_run_without_any_measurements(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "empty", status="incomplete")
    (folder / "measurements.jsonl").write_text("")
    out = build_report(folder)
    assert set(out) == {"html", "summary", "orders", "latency", "topology"}
    assert out["html"].read_text().count("Skipped: No web_connectivity measurements") == 6


def test_errors_surface_as_report_errors(run_dir: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(run_dir, tmp_path / "bad"))
    (folder / "expectations.json").write_text('{"not": "a list"}')
    with pytest.raises(ReportError, match=r"expectations.json: expected a list of objects"):
        build_report(folder)
    with pytest.raises(ReportError, match="not a run folder"):
        build_report(tmp_path)


def test_every_caption_states_its_caveats() -> None:
    from sovnet.report.plots import PLOTS

    assert [key for key, _, _, caption in PLOTS if "Caveat:" not in caption] == []


def test_a_folder_it_cannot_write_says_where_else(run_dir: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(run_dir, tmp_path / "theirs"))
    shutil.rmtree(folder / "plots")
    (folder / "plots").write_text("a file where the folder should be")
    with pytest.raises(ReportError, match=r"plots.*: cannot write \(.*\) \(sovnet report --out "
                                          r"DIR writes it elsewhere\)"):
        build_report(folder)
    out = build_report(folder, tmp_path / "mine")
    assert out["html"] == tmp_path / "mine" / "report.html" and out["html"].exists()
