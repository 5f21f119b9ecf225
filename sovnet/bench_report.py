"""`sovnet bench report TOPOLOGY [--measurements N]`: what a large run does to report.html. No
root, nothing started but a headless Chromium.

Writes a synthetic run folder of N measurements on the topology (its subscribers measure its
services round after round over a day; web_connectivity records shaped and sized like a real
run's, ~2.6 KB, with their own report ids, addresses, timings and Date headers so that they
compress as real ones do, plus a few of every other kind), builds its report, and prints the
size of report.html, the explorer's share of it, the build time (and the explorer's part of
it), and the time headless Chromium takes from navigation to the explorer's first page, then
to open a record. The browser part needs Playwright (a dev dependency) and the system
Chromium; without them it says so and prints the rest.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sovnet.config import load_topology
from sovnet.model.topology import Service, Subscriber, Topology
from sovnet.results import Measurement, dump_line

T0_WALL = 1796378600.0  # the run's real clock at t=0 (Unix seconds)
CALENDAR_T0 = 1767225600.0  # the scenario's calendar at t=0: 2026-01-01 00:00 UTC
SCALE = 450.0
DURATION = 86400.0
PHASES = [("normal", 0.0, 21600.0), ("cutoff", 21600.0, 64800.0), ("restored", 64800.0, DURATION)]
VANTAGE_POINTS = 12
CHROMIUM = "/usr/bin/chromium"


def _stamp(unix: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix))


def _http_date(unix: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(unix))


class Records:
    """Measurements as the runner writes them, varied the way real ones vary."""

    def __init__(self, topo: Topology, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        by_isp: dict[str, list[Subscriber]] = {}
        for s in topo.subscribers:
            by_isp.setdefault(s.isp, []).append(s)
        # vantage points spread over the ISPs, as scenarios pick them
        self.vps: list[Subscriber] = []
        while len(self.vps) < VANTAGE_POINTS and any(by_isp.values()):
            for pool in by_isp.values():
                if pool and len(self.vps) < VANTAGE_POINTS:
                    self.vps.append(pool.pop(0))
        self.asn = {isp.name: isp.asn or 64512 + i for i, isp in enumerate(topo.isps)}
        self.services = list(topo.services)
        self.addr = {s.name: (f"172.16.0.{i + 2}" if s.locus == "foreign" else f"10.250.0.{i + 2}")
                     for i, s in enumerate(self.services)}
        self.report_ids: dict[tuple[str, str], str] = {}  # one per vantage point and test

    def envelope(self, test: str, vp: Subscriber, svc: Service, inp: str,
                 t_s: float, rnd: int, keys: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        t_real = t_s / SCALE
        asn = self.asn.get(vp.isp, 64512)
        phase = next(name for name, start, end in PHASES if start <= t_s < end or end == DURATION)
        n = self.vps.index(vp)
        rid = self.report_ids.setdefault((vp.name, test), f"{rng.getrandbits(64):016x}")
        return {
            "test_name": test, "test_version": "0.4.3-sovnet",
            "report_id": f"20260101T000000Z_{test.replace('_', '')}_ZZ_{asn}_n1_"
                         f"{rid}",
            "test_start_time": _stamp(CALENDAR_T0),
            "measurement_start_time": _stamp(CALENDAR_T0 + t_s),
            "x_wall_time": _stamp(T0_WALL + t_real), "test_runtime": round(rng.uniform(0.02, 2), 6),
            "input": inp, "probe_cc": "ZZ", "probe_asn": f"AS{asn}", "probe_network_name": vp.isp,
            "probe_ip": f"10.{n + 1}.0.{n + 2}", "resolver_ip": f"10.{n + 1}.0.29",
            "resolver_asn": f"AS{asn}", "resolver_network_name": vp.isp,
            "test_helpers": {"backend": {"address": "sovnet://fsearch", "type": "sovnet"}},
            "software_name": "sovnet", "software_version": "0.2.0",
            "data_format_version": "0.2.0",
            "annotations": {"network_type": "mobile" if "mobile" in vp.cls else "fixed",
                            "platform": "linux", "scenario_id": "bench-report",
                            "subscriber_class": vp.cls, "policy_version": str(2 + (t_s > 21600)),
                            "emulated_isp": vp.isp},
            "test_keys": keys, "round": rnd, "subscriber": vp.name, "class": vp.cls,
            "isp": vp.isp, "service": svc.name, "category": svc.category, "locus": svc.locus,
            "t_real": round(t_real, 4), "t_scenario": round(t_s, 1),
            "t_scenario_end": round(t_s + rng.uniform(5, 900), 1),
            "store_revision": 2 + (t_s > 21600), "phase": phase, "probe_error": None,
            "raw_output": None,
        }

    def web_keys(self, vp: Subscriber, svc: Service, t_s: float) -> dict[str, Any]:
        rng = self.rng
        host, ip = svc.domains[0] if svc.domains else f"{svc.name}.sov", self.addr[svc.name]
        wall = T0_WALL + t_s / SCALE
        size = 200 + len(svc.name) * 7
        headers = {"Server": f"sovnet-httpd/{svc.name} Python/3.11.2", "Date": _http_date(wall),
                   "Content-Type": "text/html; charset=utf-8", "Content-Length": str(size)}
        cut = PHASES[1][1] <= t_s < PHASES[1][2] and svc.locus == "foreign"
        blocking: Any = False
        if cut:
            blocking = "dns" if "fixed" in vp.cls else "tcp_ip"
        elif rng.random() < 0.01:
            blocking = rng.choice([None, "http-diff"])
        t = sorted(round(rng.uniform(0, 0.06), 6) for _ in range(6))
        dns_ok = blocking != "dns"
        tcp_ok = blocking not in ("dns", "tcp_ip")
        queries = [{"engine": "udp", "resolver_address": f"10.{self.vps.index(vp) + 1}.0.29:53",
                    "hostname": host, "query_type": "A",
                    "answers": [{"answer_type": "A", "ipv4": ip}] if dns_ok else [],
                    "failure": None if dns_ok else "dns_nxdomain_error",
                    "rcode": 0 if dns_ok else 3, "t0": t[0], "t": t[1]}]
        tcp = [{"ip": ip, "port": 80, "status": {
            "success": tcp_ok, "failure": None if tcp_ok else "generic_timeout_error",
            "blocked": not tcp_ok}, "t0": t[2], "t": t[3]}] if dns_ok else []
        requests = [{"request": {"url": f"http://{host}/", "method": "GET",
                                 "headers": {"Host": host, "Connection": "close"}},
                     "response": {"code": 200, "headers": headers, "body_length": size,
                                  "title": svc.name, "body_is_truncated": False},
                     "failure": None, "t0": t[4], "t": t[5]}] if tcp_ok else []
        failure = None if tcp_ok else "dns_nxdomain_error" if not dns_ok else \
            "generic_timeout_error"
        accessible = None if blocking is None else blocking is False
        return {
            "client_resolver": f"10.{self.vps.index(vp) + 1}.0.29", "queries": queries,
            "tcp_connect": tcp, "tls_handshakes": [], "requests": requests,
            "dns_experiment_failure": None if dns_ok else "dns_nxdomain_error",
            "http_experiment_failure": failure, "control_failure": None,
            "control": {"dns": {"addrs": [ip], "failure": None},
                        "tcp_connect": {f"{ip}:80": {"status": True, "failure": None}},
                        "tls_handshake": {},
                        "http_request": {"body_length": size, "failure": None,
                                         "title": svc.name, "headers": headers,
                                         "status_code": 200}},
            "dns_consistency": "consistent" if dns_ok else "inconsistent",
            "body_length_match": True if tcp_ok else None, "body_proportion": 1.0 if tcp_ok else 0,
            "status_code_match": True if tcp_ok else None, "headers_match": tcp_ok or None,
            "title_match": True if tcp_ok else None, "blocking": blocking,
            "accessible": accessible, "x_blocking_flags": 32 if tcp_ok else 2,
            "x_sovnet_page": {"resources": [{"url": f"http://{host}/asset.js",
                                             "failure": None if tcp_ok else failure,
                                             "status_code": 200 if tcp_ok else None}],
                              "complete": tcp_ok},
            "x_sovnet_usable": bool(accessible and tcp_ok),
        }

    def other(self, rnd: int, i: int, vp: Subscriber, svc: Service, t_s: float) -> dict[str, Any]:
        """One of the other kinds, in turn: throughput, latency, stream, HTTP/3."""
        rng, ip = self.rng, self.addr[svc.name]
        host = svc.domains[0] if svc.domains else svc.name
        kind = ("throughput", "latency", "stream", "http3")[(rnd + i) % 4]
        if kind == "throughput":
            kbps = round(rng.uniform(2000, 90000), 3)
            keys = {"url": f"http://{host}/bytes?n=500000", "bytes": 500000,
                    "seconds": round(4000 / kbps, 6), "throughput_kbps": kbps, "failure": None}
            return self.envelope("sovnet_throughput", vp, svc, keys["url"], t_s, rnd, keys)
        if kind == "latency":
            rtts = sorted(round(rng.uniform(1, 30), 3) for _ in range(3))
            keys = {"ip": ip, "sent": 3, "received": 3, "rtt_min_ms": rtts[0],
                    "rtt_avg_ms": round(sum(rtts) / 3, 3), "rtt_max_ms": rtts[2],
                    "failure": None}
            return self.envelope("sovnet_latency", vp, svc, ip, t_s, rnd, keys)
        if kind == "stream":
            replies = [[k, round(k / 100, 4), round(k / 100 + rng.uniform(0.004, 0.009), 4)]
                       for k in range(40)]
            keys = {"ip": ip, "rate": 100.0, "window_s": 0.4,
                    "start_wall": round(T0_WALL + t_s / SCALE, 6), "sent": 40, "received": 40,
                    "replies": replies, "icmp_errors": 0, "failure": None}
            return self.envelope("sovnet_stream", vp, svc, ip, t_s, rnd, keys)
        keys = {"queries": [], "quic_handshakes": [], "requests": [],
                "http_experiment_failure": None, "accessible": True}
        return self.envelope("sovnet_http3", vp, svc, f"https://{host}/", t_s, rnd, keys)

    def lines(self, n: int) -> list[str]:
        per_round = len(self.vps) * (len(self.services) + 1)
        rounds = max(1, -(-n // per_round))
        out: list[str] = []
        for rnd in range(rounds):
            start = rnd * DURATION / rounds
            for i, vp in enumerate(self.vps):
                for j, svc in enumerate(self.services):
                    t_s = start + (i * len(self.services) + j) * 0.4
                    out.append(self._line(self.envelope(
                        "web_connectivity", vp, svc,
                        f"http://{svc.domains[0] if svc.domains else svc.name}/", t_s, rnd,
                        self.web_keys(vp, svc, t_s))))
                svc = self.services[(rnd + i) % len(self.services)]
                out.append(self._line(self.other(rnd, i, vp, svc, start + 300.0 + i)))
        return out[:n]

    @staticmethod
    def _line(obj: dict[str, Any]) -> str:
        m = Measurement.parse(obj, "bench record")  # the model reads what it is given
        assert m is not None
        return dump_line(m.to_json())


def write_run(folder: Path, topo: Topology, n: int) -> Path:
    """A complete run folder of `n` measurements on `topo` (results/README.md)."""
    folder.mkdir(parents=True, exist_ok=True)
    recs = Records(topo)
    lines = recs.lines(n)
    (folder / "measurements.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "topology.json").write_text(json.dumps(topo.to_dict()))
    switches = [s.name for s in topo.switches]
    events = [{"type": "run_start", "t_real": 0.0, "t_scenario": 0.0, "wall": T0_WALL}]
    for index, (name, start, _) in enumerate(PHASES[1:], 1):
        t_real = start / SCALE
        acks = {sw: round(t_real + 0.01 + 0.001 * k, 6) for k, sw in enumerate(switches)}
        events.append({"type": "step", "index": index, "phase": name, "label": name,
                       "at_s": start, "t_scenario": start, "t_real": t_real, "actions": [],
                       "revision": index + 1, "committed_wall": T0_WALL + t_real,
                       "t_commit": t_real, "acks": acks, "t_enforced": max(acks.values()),
                       "refused": {}, "effect": []})
    events.append({"type": "run_end", "t_real": DURATION / SCALE, "t_scenario": DURATION,
                   "wall": T0_WALL + DURATION / SCALE, "status": "complete"})
    (folder / "events.jsonl").write_text("".join(dump_line(e) for e in events))
    (folder / "expectations.json").write_text("[]")
    manifest = {
        "format": "sovnet-run/1", "scenario": "bench-report",
        "title": f"Report benchmark: {len(lines):,} synthetic measurements",
        "status": "complete", "reason": None, "exit_code": 0,
        "started_at": _stamp(T0_WALL).replace(" ", "T") + "Z",
        "finished_at": _stamp(T0_WALL + DURATION / SCALE).replace(" ", "T") + "Z",
        "wall_seconds": DURATION / SCALE, "t0_wall": T0_WALL, "time_scale": SCALE,
        "duration_s": DURATION, "calendar_t0": CALENDAR_T0, "seed": 1, "topology": topo.name,
        "control": "fsearch",
        "phases": [{"name": n, "start_s": a, "end_s": b} for n, a, b in PHASES],
        "vantage_points": [{"subscriber": v.name, "class": v.cls, "isp": v.isp}
                           for v in recs.vps],
        "inputs": [], "versions": {}, "git": {},
        "counts": {"measurements": len(lines), "probe_errors": 0, "changes": len(PHASES) - 1},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder


def explorer_bytes(html: str) -> int:
    start = html.index('<section id="sx"')
    return html.index("</section>", start) + len("</section>") - start


def browser_load(page: Path) -> dict[str, float] | str:
    """Milliseconds from navigation to the explorer's first page, and to an opened record;
    or why the browser could not be asked."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "Playwright is not installed (pip install -e .[dev])"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (setup.sh installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            tab = browser.new_page()
            tab.goto(page.as_uri(), wait_until="commit")
            tab.wait_for_selector("#sx[data-ready]", state="attached", timeout=300_000)
            loaded = float(tab.get_attribute("#sx", "data-load-ms") or "nan")
            rows = tab.locator("#sx tr.sx-row").count()
            tab.locator("#sx tr.sx-row").last.scroll_into_view_if_needed()
            opened = tab.evaluate("""async () => {
                const t0 = performance.now();
                const rows = document.querySelectorAll('#sx tr.sx-row');
                rows[rows.length - 1].click();
                while (!document.querySelector('#sx .sx-json'))
                    await new Promise(r => setTimeout(r, 1));
                return performance.now() - t0; }""")
            heap = tab.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0")
        finally:
            browser.close()
    return {"load_ms": loaded, "open_ms": float(opened), "rows": rows, "heap_mb": heap / 1e6}


def main(args) -> int:
    from sovnet.report import build_report, explorer, load_run

    topo = load_topology(args.topology)
    n = args.measurements
    tmp = Path(tempfile.mkdtemp(prefix="sovnet-bench-report-"))
    try:
        t = time.perf_counter()
        folder = write_run(tmp / "run", topo, n)
        wrote = time.perf_counter() - t
        jsonl = (folder / "measurements.jsonl").stat().st_size
        print(f"{topo.name}: {n:,} measurements, measurements.jsonl {jsonl / 1e6:.1f} MB "
              f"({jsonl / n:,.0f} bytes each), written in {wrote:.1f} s")
        t = time.perf_counter()
        html_path = build_report(folder)["html"]
        built = time.perf_counter() - t
        run = load_run(folder)
        t = time.perf_counter()
        explorer.section(run)
        section_s = time.perf_counter() - t
        html = html_path.read_text(encoding="utf-8")
        size, part = len(html.encode()), explorer_bytes(html)
        chunks = len(re.findall(r'id="sx-c\d+"', html))
        print(f"report.html {size / 1e6:.1f} MB; the explorer {part / 1e6:.1f} MB of it "
              f"({part / size:.0%}, {part / n:,.0f} bytes a measurement, {chunks} chunks)")
        print(f"build {built:.1f} s (sovnet report), of which the explorer {section_s:.1f} s")
        got = browser_load(html_path)
        if isinstance(got, str):
            print(f"browser: skipped, {got}")
        else:
            print(f"headless Chromium: the explorer's first page {got['load_ms']:,.0f} ms after "
                  f"navigation start ({got['rows']} rows in the DOM), a record opened in "
                  f"{got['open_ms']:,.0f} ms, JS heap {got['heap_mb']:,.0f} MB")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0
