"""The measurement explorer of report.html in headless Chromium, offline (Playwright driving the
system Chromium): it shows the synthetic run's measurements, filters count exactly, a header
sorts, a row opens by click or keyboard to its raw record beside its control, hostile strings
stay text, and the page asks nothing of the network and logs no error. With the other browser
test because it needs Chromium (setup.sh installs it); skipped, with the reason, without it or
without Playwright (a dev dependency: pip install -e .[dev]; no `playwright install`, the
system's Chromium is used)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sovnet.report import build_report
from tests.integration.browser import chromium
from tests.unit.report.fakerun import HOSTILE, make_run

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e .[dev])")




@dataclass
class Tab:
    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def count(self) -> str:
        return self.page.locator("#sx .sx-count").inner_text()

    def column(self, n: int) -> list[str]:
        return self.page.locator(f"#sx tr.sx-row td:nth-child({n})").all_inner_texts()

    def search(self, text: str) -> None:
        box = self.page.locator("#sx input[type=search]")
        box.fill(text)
        box.press("Enter")  # filters at once (else shortly after the last key)

    def offline_and_quiet(self) -> None:
        assert self.requests == [self.url], "the page asked for something beyond itself"
        assert self.problems == []


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = make_run(tmp_path_factory.mktemp("runs") / "explorer", every_kind=True)
    html = build_report(folder)["html"]
    lines = (folder / "measurements.jsonl").read_text().splitlines()
    return html, [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def tab(browser: Any, records: tuple[Path, list[dict[str, Any]]]) -> Iterator[Tab]:
    html, _ = records
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    t = Tab(page, html.as_uri())
    page.on("request", lambda r: t.requests.append(r.url))
    page.on("console", lambda m: t.problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: t.problems.append(f"page error: {e}"))
    page.goto(t.url)
    page.wait_for_selector("#sx[data-ready]", state="attached", timeout=20_000)
    yield t
    context.close()


def _label(value: str, n: int) -> str:
    return f"{value} ({n:,})"


def test_the_explorer_shows_the_run_a_page_at_a_time(tab: Tab, records) -> None:
    _, ms = records
    page = tab.page
    assert page.locator("h1").inner_text() == ("International cutoff with an "
                                               "essential-services whitelist")
    assert tab.count() == f"{len(ms)} of {len(ms)} measurements"
    assert page.locator("#sx tr.sx-row").count() == 100  # never all of them in the DOM
    assert page.locator("#sx .sx-pageinfo").inner_text() == "rows 1–100, page 1 of 7"
    page.click("#sx button[aria-label='next page']")
    assert page.locator("#sx .sx-pageinfo").inner_text() == "rows 101–200, page 2 of 7"
    page.click("#sx button[aria-label='last page']")
    assert page.locator("#sx .sx-pageinfo").inner_text() == "rows 601–624, page 7 of 7"
    assert page.locator("#sx tr.sx-row").count() == 24
    # every kind is there, and the first rows are the first measurements in time
    tests = {o.split(" (")[0] for o in page.locator("#sx select[data-col=test] option")
             .all_inner_texts()[1:]}
    assert tests == {"web_connectivity", "sovnet_throughput", "sovnet_latency",
                     "sovnet_stream", "sovnet_http3"}
    page.click("#sx button[aria-label='first page']")
    first = min(ms, key=lambda m: m["t_scenario"])
    hours = round(first["t_scenario"] / 3600, 2)
    assert (tab.column(3)[0], tab.column(1)[0]) == (first["subscriber"], f"{hours:g} h")
    tab.offline_and_quiet()


def test_filters_count_exactly(tab: Tab, records) -> None:
    _, ms = records
    page = tab.page
    mobinet = [m for m in ms if m["isp"] == "mobinet"]
    page.select_option("#sx select[data-col=isp]", label=_label("mobinet", len(mobinet)))
    assert tab.count() == f"{len(mobinet)} of {len(ms)} measurements"
    assert set(tab.column(4)) == {"mobinet"}
    news = [m for m in mobinet if m.get("service") == "news" or "news" in (m["input"] or "")]
    tab.search("news")
    assert tab.count() == f"{len(news)} of {len(ms)} measurements" and 0 < len(news) < 100
    assert set(tab.column(6)) == {"news"}
    # words narrow each other: a failure string and a vantage point
    timeouts = [m for m in ms if m["subscriber"] == "erin" and "generic_timeout_error" in
                json.dumps(m["test_keys"].get("http_experiment_failure"))]
    page.click("#sx .sx-bar button")  # clear filters
    assert tab.count() == f"{len(ms)} of {len(ms)} measurements"
    tab.search("erin generic_timeout")
    assert tab.count() == f"{len(timeouts)} of {len(ms)} measurements" and timeouts
    tcp = [m for m in timeouts if m["test_keys"].get("blocking") == "tcp_ip"]
    page.select_option("#sx select[data-col=blocking]",
                       label=_label("tcp_ip", sum(m["test_keys"].get("blocking") == "tcp_ip"
                                                  for m in ms)))
    assert tab.count() == f"{len(tcp)} of {len(ms)} measurements"
    tab.search("no-such-thing")
    assert tab.count() == f"0 of {len(ms)} measurements"
    assert page.locator("#sx tbody").inner_text() == "No measurement matches the filter."
    tab.offline_and_quiet()


def test_a_header_sorts_the_rows(tab: Tab, records) -> None:
    _, ms = records
    page = tab.page
    http3 = [m for m in ms if m["test_name"] == "sovnet_http3"]
    page.select_option("#sx select[data-col=test]", label=_label("sovnet_http3", len(http3)))
    page.click("#sx th button[data-sort=accessible]")
    assert page.get_attribute("#sx th:has(button[data-sort=accessible])",
                              "aria-sort") == "ascending"
    got = tab.column(9)
    assert got == sorted(got) and got[0] == "false" and got[-1] == "true"
    page.click("#sx th button[data-sort=accessible]")
    assert tab.column(9) == sorted(got, reverse=True)
    # time, descending: the last measurement first
    page.click("#sx th button[data-sort=t]")
    page.click("#sx th button[data-sort=t]")
    hours = [float(t.removesuffix(" h")) for t in tab.column(1)]
    assert hours == sorted(hours, reverse=True)
    assert hours[0] == round(max(m["t_scenario"] for m in http3) / 3600, 2)
    # a text column over all the rows: names in order across the first page
    page.click("#sx .sx-bar button")
    page.click("#sx th button[data-sort=vantage]")
    assert set(tab.column(3)) == {"alice"}
    page.click("#sx th button[data-sort=vantage]")
    assert set(tab.column(3)) == {"erin"}
    tab.offline_and_quiet()


def _open_detail(tab: Tab, records) -> tuple[Any, dict[str, Any]]:
    """The open record's detail row and the record it says it shows (by its line number)."""
    _, ms = records
    detail = tab.page.locator("#sx tr.sx-detail")
    detail.locator(".sx-label", has_text="The raw record").wait_for()
    head = detail.locator(".sx-head b").inner_text()
    line = int(re.match(r"measurements.jsonl line (\d+)", head).group(1))
    return detail, ms[line - 1]


def test_a_row_opens_to_its_record_beside_the_control(tab: Tab, records) -> None:
    _, ms = records
    page = tab.page
    alice = sum(m["subscriber"] == "alice" for m in ms)
    page.select_option("#sx select[data-col=vantage]", label=_label("alice", alice))
    tab.search("social tcp_ip")
    row = page.locator("#sx tr.sx-row").first
    row.click()
    assert row.get_attribute("aria-expanded") == "true"
    detail, m = _open_detail(tab, records)
    keys = m["test_keys"]
    assert (m["subscriber"], m["service"], keys["blocking"]) == ("alice", "social", "tcp_ip")
    head = detail.locator(".sx-head b").inner_text()
    assert m["input"] in head and "web_connectivity" in head
    # the probe saw its connection time out; the control connected and got the page
    ip = keys["control"]["dns"]["addrs"][0]
    probe, control = detail.locator(".sx-probe"), detail.locator(".sx-control")
    assert f"{ip}:80: generic_timeout_error (blocked)" in probe.inner_text()
    status = keys["control"]["http_request"]["status_code"]
    assert f"status {status}, 300 bytes" in control.inner_text()
    assert f"{ip}:80: connected" in control.inner_text()
    box_p, box_c = probe.bounding_box(), control.bounding_box()
    assert box_p["x"] + box_p["width"] <= box_c["x"] and abs(box_p["y"] - box_c["y"]) < 2
    assert json.loads(detail.locator("pre.sx-json").inner_text()) == m
    # the copy button copies the line as it is on disk
    detail.locator("button", has_text="Copy JSON").click()
    assert page.evaluate("navigator.clipboard.readText()") == json.dumps(m)
    # a second click closes it
    row.click()
    assert page.locator("#sx tr.sx-detail").count() == 0
    tab.offline_and_quiet()


def test_the_keyboard_opens_and_closes_a_row(tab: Tab, records) -> None:
    page = tab.page
    rows = page.locator("#sx tr.sx-row")
    rows.nth(0).focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.i") == rows.nth(1).get_attribute(
        "data-i")
    page.keyboard.press("Enter")
    detail, m = _open_detail(tab, records)
    assert rows.nth(1).get_attribute("aria-expanded") == "true"
    assert m["subscriber"] == rows.nth(1).locator("td").nth(2).inner_text()
    page.keyboard.press("Enter")
    assert page.locator("#sx tr.sx-detail").count() == 0
    tab.offline_and_quiet()


def test_other_kinds_open_to_their_raw_record(tab: Tab, records) -> None:
    _, ms = records
    page = tab.page
    n = sum(m["test_name"] == "sovnet_throughput" for m in ms)
    page.select_option("#sx select[data-col=test]", label=_label("sovnet_throughput", n))
    page.locator("#sx tr.sx-row").nth(5).click()
    detail, m = _open_detail(tab, records)
    assert m["test_name"] == "sovnet_throughput"
    assert detail.locator(".sx-cols").count() == 0  # no control to show
    assert json.loads(detail.locator("pre.sx-json").inner_text()) == m
    tab.offline_and_quiet()


def test_hostile_strings_stay_text(tab: Tab, records) -> None:
    page = tab.page
    tab.search("onerror")
    assert tab.count() == "1 of 624 measurements"
    assert HOSTILE in tab.column(10)[0]
    page.locator("#sx tr.sx-row").first.click()
    detail, m = _open_detail(tab, records)
    assert detail.locator(".sx-error").inner_text() == (f"The probe itself failed: "
                                                        f"{m['probe_error']}")
    assert HOSTILE in m["probe_error"]
    assert page.locator("#sx img").count() == 0
    assert page.evaluate("window.pwned") is None
    tab.offline_and_quiet()
