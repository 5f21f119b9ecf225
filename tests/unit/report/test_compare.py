"""`sovnet report --compare A B`: the differences first, then the same figures side by side,
written to a folder of its own."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from sovnet.cli import main
from sovnet.report import load_run
from sovnet.report.compare import expectation_rows, share_rows


def _whitelisted(run_dir: Path, dest: Path) -> Path:
    """A copy of the run in which the bank stayed usable through the cutoff (its CDN
    whitelisted too), as whitelist_the_cdn.py's second run."""
    folder = Path(shutil.copytree(run_dir, dest))
    lines = []
    for line in (folder / "measurements.jsonl").read_text().splitlines():
        m = json.loads(line)
        if m.get("service") == "bank" and m["test_keys"].get("accessible") is True:
            m["test_keys"]["x_sovnet_usable"] = True
        lines.append(json.dumps(m))
    (folder / "measurements.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_the_differences_come_first(run_dir: Path, tmp_path: Path, capsys) -> None:
    b = _whitelisted(run_dir, tmp_path / "cdn-whitelisted")
    assert main(["report", "--compare", str(run_dir), str(b), "--out", str(tmp_path / "cmp")]) == 0
    html_path = Path(capsys.readouterr().out.strip())
    assert html_path == tmp_path / "cmp" / "compare.html"
    rows = share_rows(load_run(run_dir), load_run(b))
    changed = [(r.phase, r.service) for r in rows if r.delta != (0.0, 0.0)]
    assert changed == [("cutoff", "bank")]
    bank = next(r for r in rows if (r.phase, r.service) == ("cutoff", "bank"))
    assert bank.a[1] == 0.0 and bank.b[1] == bank.b[0] > 0.5 and bank.a[2] == bank.b[2] > 0
    html = html_path.read_text()
    notable = html.split("What reached, and what worked")[1].split("<details>")[0]
    assert "<tr><td>cutoff</td><td>bank</td>" in notable and "<b class=good>+67%</b>" in notable
    assert notable.count("<tr><td>") == 1  # only the bank differs
    assert "the bank stays usable during the cutoff" in html
    assert html.count('<div class="pair">') == 9  # every figure drawn, A beside B
    assert sorted(p.name for p in (tmp_path / "cmp" / "a" / "plots").glob("*.svg"))[:2] == [
        "blocking.svg", "collateral.svg"]
    assert not (run_dir / "compare.html").exists() and not (b / "compare.html").exists()


def test_runs_that_measured_different_things(run_dir: Path, tmp_path: Path) -> None:
    from tests.unit.report.fakerun import make_run

    stopped = make_run(tmp_path / "stopped", status="incomplete")
    a, b = load_run(run_dir), load_run(stopped)
    restored = [r for r in share_rows(a, b) if r.phase == "restored"]
    assert restored and all(math.isnan(r.b[0]) and r.b[2] == 0 for r in restored)
    assert [(n, x is not None, y is not None) for n, x, y in expectation_rows(a, b)][0] == (
        "essential services survive the cutoff", True, False)


def test_compare_takes_exactly_two_runs(run_dir: Path, capsys) -> None:
    assert main(["report", str(run_dir), "--compare", str(run_dir), str(run_dir)]) == 2
    assert capsys.readouterr().err.strip() == (
        "report: --compare takes two run folders and no other folder or --pdf")
