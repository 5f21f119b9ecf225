"""N runs of one scenario summarised: medians over the runs with distribution-free intervals."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from sovnet.report import load_run
from sovnet.report.repeat import expectations, median_ci, reachability, summarise


@pytest.mark.parametrize(("values", "expected"), [
    ([0.5], (0.5, 0.5, 0.5, 0.0, 1)),
    ([0.2, 0.9, 0.4], (0.4, 0.2, 0.9, 0.75, 3)),  # min to max of 3: 1 - 2/8
    ([1, 2, 3, 4, 5], (3, 1, 5, 0.9375, 5)),
    # 9 runs: [x(2), x(8)] covers 1 - 2 (1 + 9) / 512 = 96.1 %; [x(3), x(7)] only 82 %
    ([9, 1, 8, 2, 7, 3, 6, 4, 5], (5, 2, 8, 1 - 20 / 512, 9)),
    ([1.0, math.nan, 3.0], (2.0, 1.0, 3.0, 0.5, 2)),
])
def test_median_and_its_interval(values, expected) -> None:
    iv = median_ci(values)
    assert (iv.median, iv.lo, iv.hi, iv.level, iv.n) == pytest.approx(expected)


def test_no_value_no_interval() -> None:
    iv = median_ci([])
    assert iv.n == 0 and math.isnan(iv.median) and iv.text() == "–"


def _three(run_dir: Path, tmp: Path) -> list[Path]:
    """Three runs that differ: in the second the bank stayed usable; the third is a copy."""
    folders = [Path(shutil.copytree(run_dir, tmp / f"run-{i}")) for i in (1, 2, 3)]
    path = folders[1] / "measurements.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    for m in lines:
        if m.get("service") == "bank" and m["test_keys"].get("accessible") is True:
            m["test_keys"]["x_sovnet_usable"] = True
    path.write_text("".join(json.dumps(m) + "\n" for m in lines))
    xs = json.loads((folders[1] / "expectations.json").read_text())
    for x in xs:
        if x["name"] == "the bank stays usable during the cutoff":
            x |= {"observed": 1.0, "pass": True}
    (folders[1] / "expectations.json").write_text(json.dumps(xs))
    return folders


def test_summary_of_three_runs(run_dir: Path, tmp_path: Path) -> None:
    folders = _three(run_dir, tmp_path)
    runs = [load_run(f) for f in folders]
    by_name = {s.first.name: s for s in expectations(runs)}
    bank = by_name["the bank stays usable during the cutoff"]
    assert (bank.passed, bank.runs, bank.observed.n) == (1, 3, 3)
    assert (bank.observed.median, bank.observed.lo, bank.observed.hi) == (0.0, 0.0, 1.0)
    assert not bank.median_holds and by_name["essential services survive the cutoff"].median_holds
    times, data = reachability(runs)
    assert len(times) == 24 and set(data) == {(c, "domestic") for c in ("BANK", "GOVT", "HEALTH")
                                              } | {(c, "foreign") for c in ("CDN", "GRP", "NEWS")}
    html = summarise(folders, tmp_path)
    assert html == tmp_path / "repeat.html"
    text = html.read_text()
    assert "International cutoff with an essential-services whitelist, 3 runs" in text
    assert "0% [0%, 100%] (75% CI, n=3)" in text and "1 of 3" in text
    assert text.count('href="run-') == 3
    summary = json.loads((tmp_path / "repeat.json").read_text())
    assert summary["runs"] == ["run-1", "run-2", "run-3"]
    first = summary["expectations"][0]
    assert first["name"] == "essential services survive the cutoff"
    assert first["level"] == 0.75 and first["passed_runs"] == 3 and first["median_holds"]


def test_one_name_with_two_conditions_is_two_expectations(run_dir: Path, tmp_path: Path) -> None:
    folders = [Path(shutil.copytree(run_dir, tmp_path / f"run-{i}")) for i in (1, 2)]
    for f in folders:
        xs = json.loads((f / "expectations.json").read_text())
        twin = dict(xs[0], metric="usable", observed=0.5, **{"pass": False})
        (f / "expectations.json").write_text(json.dumps([*xs, twin]))
    got = expectations([load_run(f) for f in folders])
    assert [(s.first.name, s.first.metric, s.passed, s.runs) for s in got] == [
        ("essential services survive the cutoff", "accessible", 2, 2),
        ("foreign services are blocked for registered subscribers", "accessible", 2, 2),
        ("the bank stays usable during the cutoff", "usable", 0, 2),
        ("essential services survive the cutoff", "usable", 0, 2)]
