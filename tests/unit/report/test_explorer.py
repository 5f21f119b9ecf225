"""The measurement explorer's data and section, without a browser: the index says what the records
say, the chunks give back the exact lines, hostile strings cannot break out of the page, and
every kind of measurement is in it (tests/integration/test_explorer_browser.py drives the page)."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from sovnet.report import explorer, explorer_data, load_run
from sovnet.results import TEST_NAMES, Measurement
from tests.unit.report.fakerun import HOSTILE, make_run


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "every-kind", every_kind=True)


def _lines(folder: Path) -> list[str]:
    return (folder / "measurements.jsonl").read_text(encoding="utf-8").splitlines()


def _build(folder: Path, chunk: int = explorer_data.CHUNK) -> explorer_data.Data:
    return explorer_data.build(explorer_data.read_records(folder / "measurements.jsonl"), chunk)


def _rows(index: dict[str, Any]) -> list[dict[str, Any]]:
    """The index decoded as the page decodes it: one dict per row."""
    out, t, line = [], 0, 0
    for i in range(index["n"]):
        t += index["t"][i]
        line += index["line"][i]
        d = index["date"][i]
        row = {c: col["values"][col["codes"][i]] for c, col in index["cols"].items()}
        out.append(row | {"tenths": t, "line": line,
                          "date": None if d is None else index["date_base"] + d + t // 10})
    return out


def _text(v: Any) -> str:
    return "null" if v is None else "true" if v is True else "false" if v is False else str(v)


def test_the_index_says_what_each_record_says(every_kind: Path) -> None:
    lines = _lines(every_kind)
    rows = _rows(_build(every_kind).index)
    assert len(rows) == len(lines) == 624
    for row, text in zip(rows, lines, strict=True):
        m = json.loads(text)
        keys = m["test_keys"]
        web = m["test_name"] == "web_connectivity" and not m["probe_error"]
        failure = (f"probe_error: {m['probe_error']}" if m["probe_error"] else
                   keys.get("http_experiment_failure") or keys.get("dns_experiment_failure")
                   or keys.get("failure") or "")
        when = dt.datetime.strptime(m["measurement_start_time"], "%Y-%m-%d %H:%M:%S")
        assert row == {
            "vantage": m["subscriber"], "isp": m["isp"], "class": m["class"],
            "service": m.get("service") or "", "input": m["input"] or "",
            "test": m["test_name"], "blocking": _text(keys["blocking"]) if web else "",
            "accessible": _text(keys["accessible"]) if "accessible" in keys else "",
            "failure": failure, "phase": m["phase"],
            "tenths": round(m["t_scenario"] * 10),
            "line": lines.index(text) + 1,
            "date": int(when.replace(tzinfo=dt.UTC).timestamp()),
        }, text
    blocking = {r["blocking"] for r in rows}
    assert blocking == {"", "false", "null", "dns", "tcp_ip", "http-failure", "http-diff"}


def test_the_isp_falls_back_to_the_annotation(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "run")
    lines = _lines(folder)
    first = json.loads(lines[0])
    del first["isp"]
    lines[0] = json.dumps(first)
    (folder / "measurements.jsonl").write_text("\n".join(lines) + "\n")
    assert _rows(_build(folder).index)[0]["isp"] == first["annotations"]["emulated_isp"]


def test_the_chunks_give_back_the_exact_lines(every_kind: Path) -> None:
    data = _build(every_kind, chunk=100)
    assert len(data.chunks) == 7
    got = [line for c in data.chunks for line in gzip.decompress(c).decode().split("\n")]
    assert got == _lines(every_kind)
    # row i is line i % chunk of chunk i // chunk, as the page looks it up
    row = 437
    assert gzip.decompress(data.chunks[4]).decode().split("\n")[row % 100] == got[row]


def test_blank_and_unknown_lines_are_left_out_and_rows_keep_their_line_numbers(
        tmp_path: Path) -> None:
    folder = make_run(tmp_path / "run", status="incomplete")
    lines = _lines(folder)
    future = json.dumps(json.loads(lines[1]) | {"test_name": "sovnet_telepathy"})
    text = "\n".join([lines[0], "", future, *lines[2:], '{"test_name": "web_conn'])
    (folder / "measurements.jsonl").write_text(text)  # the last line cut off: interrupted
    rows = _rows(_build(folder).index)
    assert len(rows) == len(lines) - 1
    assert [r["line"] for r in rows[:3]] == [1, 4, 5]


def test_every_kind_of_measurement_is_in_the_section(every_kind: Path) -> None:
    run = load_run(every_kind)
    html = explorer.section(run)
    assert html.startswith('<section id="sx"') and html.endswith("</section>")
    blob = re.search(r'<script type="application/octet-stream" id="sx-index">([^<]+)</script>',
                     html)
    assert blob is not None
    index = json.loads(gzip.decompress(base64.b64decode(blob.group(1))))
    assert sorted(index["cols"]["test"]["values"]) == sorted(TEST_NAMES.values())
    assert (index["unit"], index["unit_s"]) == ("h", 3600.0)
    assert index["phases"] == ["normal", "cutoff", "restored"]
    chunks = re.findall(r'<script type="application/octet-stream" id="sx-c(\d+)">', html)
    assert chunks == ["0", "1"]
    assert "All 624 measurements of the run" in html


def test_hostile_strings_cannot_break_out_of_the_page(every_kind: Path) -> None:
    html = explorer.section(load_run(every_kind))
    # Each of our elements closes once; the record's "</script>", "<img" and "<!--" are inside
    # base64 and gzip, nowhere as markup.
    assert html.lower().count("</script>") == html.lower().count("<script")
    assert "<img" not in html and "onerror" not in html and "<!--" not in html
    records = [gzip.decompress(base64.b64decode(b)).decode() for b in
               re.findall(r'id="sx-c\d+">([^<]+)<', html)]
    assert sum(HOSTILE.replace('"', '\\"') in r for r in records) == 1


def test_the_assets_cannot_end_their_element_early() -> None:
    for name in ("explorer.js", "explorer.css"):
        assert explorer.asset(name)
    for bad in ("x = '</script>'", "a</Script >b", "/* </style> */", "<!-- x"):
        with pytest.raises(ValueError, match="cannot be inlined"):
            explorer.inlinable(bad, "bad.js")


def test_a_run_without_measurements_has_no_explorer(tmp_path: Path) -> None:
    folder = make_run(tmp_path / "empty", status="incomplete")
    (folder / "measurements.jsonl").write_text("")
    run = load_run(folder)
    assert explorer.section(run) == ""
    (folder / "measurements.jsonl").unlink()
    assert explorer.section(run) == ""


def test_the_report_carries_the_explorer(built: dict[str, Path]) -> None:
    html = built["html"].read_text()
    start = html.index('<section id="sx"')
    assert html.index('id="latency"') < start < html.index("<h2>Inputs and environment</h2>")
    assert html.count('id="sx-c') == 2  # 624 measurements in chunks of 500


def test_the_index_is_compact() -> None:
    """Dictionary codes and time deltas: rows that repeat a few values, as a run's rows do,
    take under a byte each in the page, not the ~60 of their JSON."""
    lines = [json.dumps({"test_name": "web_connectivity", "subscriber": f"s{i % 12}",
                         "class": "fixed_home", "isp": f"isp{i % 3}", "service": f"svc{i % 13}",
                         "category": "NEWS", "locus": "foreign", "input": f"http://svc{i % 13}/",
                         "t_real": i * 0.02, "t_scenario": i * 9.0, "phase": "normal",
                         "measurement_start_time": time.strftime(
                             "%Y-%m-%d %H:%M:%S", time.gmtime(1767225600 + i * 9)),
                         "probe_error": None,
                         "test_keys": {"blocking": False, "accessible": True}})
             for i in range(10_000)]
    records = (explorer_data.Record(n, text, Measurement.parse(json.loads(text), "x"))
               for n, text in enumerate(lines, 1))
    data = explorer_data.build(records)
    assert len(explorer_data.gzip_json(data.index)) < 10_000
