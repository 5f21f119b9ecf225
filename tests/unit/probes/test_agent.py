"""The measurement agent end to end, without Mininet: real sovnet HTTP and DNS servers on
loopback addresses of the root namespace, the agent driven through its stdin and stdout."""

from __future__ import annotations

import errno
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sovnet.experiments import ooni
from sovnet.poll import wait_for
from sovnet.probes.agent import default_resolver
from sovnet.probes.net import DNSNoAnswer, DNSRcodeError, EOFFailure, failure_string

ROOT = Path(__file__).resolve().parents[3]
BANK, CDN, SHOP, DEAD_CDN, NO_SERVER, STALL = (f"127.0.0.{i}" for i in range(2, 8))
ZONE = {"bank.sov": BANK, "cdn.example": CDN, "shop.sov": SHOP, "deadcdn.example": DEAD_CDN,
        "refused.sov": NO_SERVER, "stall.sov": STALL}
TIMEOUTS = {"dns": 1.0, "connect": 1.0, "http": 2.0}


@pytest.mark.parametrize("exc, failure", [
    (TimeoutError("timed out"), "generic_timeout_error"),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), "generic_timeout_error"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection_refused"),
    (ConnectionResetError(errno.ECONNRESET, "reset"), "connection_reset"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "host_unreachable"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "network_unreachable"),
    (http.client.RemoteDisconnected("closed"), "eof_error"),
    (http.client.IncompleteRead(b"abc", 10), "eof_error"),
    (EOFFailure("7 bytes missing"), "eof_error"),
    (DNSRcodeError(3), "dns_nxdomain_error"),
    (DNSRcodeError(2), "dns_servfail_error"),
    (DNSRcodeError(5), "dns_refused_error"),
    (DNSRcodeError(1), "unknown_failure: DNS rcode FORMERR"),
    (DNSNoAnswer(), "dns_no_answer"),
    (OSError(errno.EPERM, "Not permitted"), "unknown_failure: [Errno 1] Not permitted"),
    (http.client.BadStatusLine("HTTP/9"), "unknown_failure: HTTP/9"),
])
def test_failure_strings(exc, failure):
    assert failure_string(exc) == failure


def test_default_resolver_is_the_first_nameserver(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# bind-mounted by sovnet\nsearch sov\nnameserver 10.1.255.1\n"
                    "nameserver 10.2.255.1\n")
    assert default_resolver(str(conf)) == "10.1.255.1"
    conf.write_text("search sov\n")
    assert default_resolver(str(conf)) is None
    assert default_resolver(str(tmp_path / "missing")) is None


def _free_port(address: str, udp_too: bool = False) -> int:
    while True:
        with socket.socket() as s:
            s.bind((address, 0))
            port = s.getsockname()[1]
            if not udp_too:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind((address, port))
                except OSError:
                    continue
                return port


class Lab:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = _free_port(BANK)
        self.dns_port = _free_port("127.0.0.1", udp_too=True)
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        ready = self.tmp / f"{name}.ready"
        with open(self.tmp / f"{name}.log", "w") as log:
            p = subprocess.Popen([sys.executable, *args, "--ready", str(ready)], cwd=ROOT,
                                 stdout=log, stderr=log)
        self.procs.append(p)
        wait_for(lambda: ready.exists() or p.poll() is not None, 10, f"{name} to listen",
                 error=AssertionError)
        assert p.poll() is None, (self.tmp / f"{name}.log").read_text()
        return p

    def httpd(self, service: str, domain: str, address: str, depends: str = ""):
        return self.start(service, "-m", "sovnet.emulation.httpd", "--service", service,
                          "--domains", domain, "--depends", depends, "--port", str(self.port),
                          "--address", address)

    def stop(self, p: subprocess.Popen) -> None:
        p.terminate()
        p.wait(timeout=5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("agent"))
    zone = lab.tmp / "zone.json"
    zone.write_text(json.dumps(ZONE))
    lab.start("dnsd", "-m", "sovnet.emulation.dnsd", "--zone", str(zone), "--address",
              "127.0.0.1", "--port", str(lab.dns_port))
    lab.httpd("bank", "bank.sov", BANK, depends="cdn.example")
    lab.httpd("cdn", "cdn.example", CDN)
    yield lab
    for p in lab.procs:
        if p.poll() is None:
            lab.stop(p)


class Agent:
    """The agent process; lines read by a thread so that every wait has a timeout."""

    def __init__(self, lab: Lab, resolver: str | None = None):
        self.stderr = open(lab.tmp / "agent.log", "a")
        resolver = resolver or f"127.0.0.1:{lab.dns_port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sovnet.probes.agent", "--name", "test", "--resolver",
             resolver, "--http-port", str(lab.port)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True)
        self.lines: queue.Queue = queue.Queue()
        self.order: list[str] = []
        self.seen: dict[str, list[dict]] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, command: dict | str) -> None:
        self.proc.stdin.write((command if isinstance(command, str) else json.dumps(command))
                              + "\n")
        self.proc.stdin.flush()

    def collect(self, cmd_id: str | None, n: int = 1, timeout: float = 5) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.seen.get(cmd_id, [])) < n:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            self.order.append(line["id"])
            self.seen.setdefault(line["id"], []).append(line)
        return self.seen[cmd_id]

    def ask(self, command: dict, n: int = 1) -> list[dict]:
        self.send(command)
        return self.collect(command["id"], n)

    def close(self) -> int:
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=10)
        finally:
            self.stderr.close()


@pytest.fixture(scope="module")
def agent(lab):
    a = Agent(lab)
    yield a
    if a.proc.poll() is None:
        a.proc.kill()
        a.proc.wait()


def web(cmd_id: str, *targets: tuple[str, str], **extra) -> dict:
    return {"id": cmd_id, "kind": "web", "timeouts": TIMEOUTS, "page": True,
            "targets": [{"service": s, "url": u} for s, u in targets], **extra}


def by_service(lines: list[dict]) -> dict[str, dict]:
    return {line["service"]: line for line in lines}


def test_accessible_page_with_its_resources(agent, lab):
    [line] = agent.ask(web("web-1", ("bank", "http://bank.sov/")))
    assert {"t0_mono", "t0_wall", "runtime"} <= line.keys() and "error" not in line
    obs = line["observation"]
    assert obs["client_resolver"] == "127.0.0.1"
    [q] = obs["queries"]
    assert (q["resolver_address"], q["answers"], q["failure"], q["rcode"]) == (
        f"127.0.0.1:{lab.dns_port}", [{"answer_type": "A", "ipv4": BANK}], None, 0)
    assert obs["tcp_connect"][0]["status"] == {"success": True, "failure": None}
    [req] = obs["requests"]
    assert req["request"]["headers"] == {"Host": "bank.sov", "Connection": "close"}
    assert (req["response"]["code"], req["response"]["title"], req["failure"]) == (
        200, "bank", None)
    assert obs["page"]["resources"] == [
        {"url": "http://bank.sov/asset.js", "failure": None, "status_code": 200},
        {"url": "http://cdn.example/asset.js", "failure": None, "status_code": 200}]
    assert q["t0"] <= q["t"] <= obs["tcp_connect"][0]["t0"] <= req["t0"] <= req["t"]

    control = {"id": "ctl-1", "kind": "web", "control": True, "timeouts": TIMEOUTS,
               "targets": [{"service": "bank", "url": "http://bank.sov/", "addrs": [BANK]}]}
    [ctl] = agent.ask(control)
    assert ctl["control"]["dns"] == {"addrs": [BANK], "failure": None}
    assert ctl["control"]["tcp_connect"] == {
        f"{BANK}:{lab.port}": {"status": True, "failure": None}}
    http = ctl["control"]["http_request"]
    assert (http["status_code"], http["title"], http["failure"], http["body_length"]) == (
        200, "bank", None, req["response"]["body_length"])

    tk = ooni.classify(obs, ctl["control"])
    assert (tk["blocking"], tk["accessible"], tk["x_sovnet_usable"]) == (False, True, True)


def test_nxdomain_and_refused(agent):
    lines = by_service(agent.ask(web("web-2", ("nx", "http://nope.sov/"),
                                     ("refused", "http://refused.sov/")), 2))
    nx = lines["nx"]["observation"]
    assert (nx["dns_experiment_failure"], nx["queries"][0]["rcode"], nx["tcp_connect"],
            nx["requests"]) == ("dns_nxdomain_error", 3, [], [])
    refused = lines["refused"]["observation"]
    assert refused["tcp_connect"][0]["status"]["failure"] == "connection_refused"
    assert (refused["requests"], refused["http_experiment_failure"]) == (
        [], "connection_refused")
    assert refused["page"] == {"resources": []}


def test_dependency_down_leaves_the_page_incomplete(agent, lab):
    lab.httpd("shop", "shop.sov", SHOP, depends="deadcdn.example")
    lab.stop(lab.httpd("deadcdn", "deadcdn.example", DEAD_CDN))
    [line] = agent.ask(web("web-3", ("shop", "http://shop.sov/")))
    obs = line["observation"]
    assert obs["requests"][0]["response"]["code"] == 200
    assert obs["page"]["resources"][1] == {
        "url": "http://deadcdn.example/asset.js", "failure": "connection_refused",
        "status_code": None}
    page = ooni.classify(obs, None)["x_sovnet_page"]
    assert page["complete"] is False


def test_a_stalled_command_does_not_hold_up_the_next(agent, lab):
    with socket.socket() as stall:  # accepts connections (backlog) but never answers
        stall.bind((STALL, lab.port))
        stall.listen(8)
        agent.send(web("web-4", ("stall", "http://stall.sov/"),
                       timeouts={"dns": 1.0, "connect": 1.0, "http": 1.5}))
        [lat] = agent.ask({"id": "lat-1", "kind": "latency", "count": 2, "timeout": 1,
                           "targets": [{"service": "lo", "ip": "127.0.0.1"}]})
        [stalled] = agent.collect("web-4")
    assert agent.order.index("lat-1") < agent.order.index("web-4")
    ping = lat["observation"]
    assert (ping["ip"], ping["sent"], ping["received"], ping["failure"]) == (
        "127.0.0.1", 2, 2, None)
    assert 0 < ping["rtt_min_ms"] <= ping["rtt_avg_ms"] <= ping["rtt_max_ms"]
    obs = stalled["observation"]
    assert obs["tcp_connect"][0]["status"]["success"] is True
    assert obs["http_experiment_failure"] == obs["requests"][0]["failure"] == (
        "generic_timeout_error")


def test_throughput(agent):
    [line] = agent.ask({"id": "tp-1", "kind": "throughput", "timeout": 5, "targets": [
        {"service": "bank", "url": "http://bank.sov/bytes?n=2000000"}]})
    obs = line["observation"]
    assert (obs["url"], obs["bytes"], obs["failure"]) == (
        "http://bank.sov/bytes?n=2000000", 2000000, None)
    assert obs["seconds"] > 0 and obs["throughput_kbps"] == pytest.approx(
        2000000 * 8 / 1000 / obs["seconds"], rel=1e-3)


@pytest.mark.skipif(os.geteuid() != 0, reason="a stream sends from a raw ICMP socket: root only")
def test_stream_on_loopback(agent):
    [line] = agent.ask({"id": "st-1", "kind": "stream", "rate": 100, "window": 0.5, "targets": [
        {"service": "lo", "ip": "127.0.0.1"}]})
    obs = line["observation"]
    assert (obs["ip"], obs["sent"], obs["received"], obs["failure"]) == ("127.0.0.1", 50, 50, None)
    seqs = [r[0] for r in obs["replies"]]
    assert seqs == list(range(50))
    # on schedule: request i leaves i/rate after the start, its reply right after it
    assert all(abs(r[1] - r[0] / 100) < 0.05 and 0 <= r[2] - r[1] < 0.05
               for r in obs["replies"])


def test_a_stream_with_bad_parameters_is_an_error_line(agent):
    [line] = agent.ask({"id": "st-2", "kind": "stream", "rate": 5000, "window": 1, "targets": [
        {"service": "lo", "ip": "127.0.0.1"}]})
    assert "out of range" in line["error"] and "Traceback" in line["raw"]


def test_unknown_kind_and_malformed_lines_are_error_lines(agent):
    command = {"id": "odd-1", "kind": "teleport", "targets": [{"service": "bank"}]}
    [line] = agent.ask(command)
    assert line == {"id": "odd-1", "kind": "teleport", "service": "bank",
                    "error": "unknown command kind 'teleport'", "raw": json.dumps(command)}
    agent.send("this is not json")
    [bad] = agent.collect(None)
    assert bad["error"].startswith("malformed command") and bad["raw"] == "this is not json"
    [lat] = agent.ask({"id": "lat-2", "kind": "latency", "targets": [
        {"service": "bad", "ip": "bank.sov"}]})
    assert "not an IPv4 address" in lat["error"] and "Traceback" in lat["raw"]


def test_dns_timeout_is_retried_once_and_eof_ends_the_agent(lab):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        a = Agent(lab, resolver=f"127.0.0.1:{silent.getsockname()[1]}")
        a.send(web("web-9", ("bank", "http://bank.sov/"),
                   timeouts={"dns": 0.2, "connect": 1.0, "http": 1.0}))
        assert a.close() == 0  # EOF: exits once the command in flight is done
        [line] = a.collect("web-9")
    obs = line["observation"]
    assert [q["failure"] for q in obs["queries"]] == ["generic_timeout_error"] * 2
    assert obs["dns_experiment_failure"] == "generic_timeout_error"


def test_a_dual_stack_resolver_answers_aaaa_and_the_probe_asks_both(lab):
    from sovnet.probes.net import Clock, resolve

    port = _free_port("127.0.0.1", udp_too=True)
    zone = lab.tmp / "zone.json"
    p = lab.start("dnsd6", "-m", "sovnet.emulation.dnsd", "--zone", str(zone), "--address",
                  "127.0.0.1", "--port", str(port), "--ipv6", "fd00:5e::/96")
    try:
        queries, addrs, failure = resolve("bank.sov", ("127.0.0.1", port), 1.0, Clock(),
                                          ("ipv4", "ipv6"))
        assert (addrs, failure) == ([BANK, "fd00:5e::7f00:2"], None)
        assert [(q["query_type"], q["answers"]) for q in queries] == [
            ("A", [{"answer_type": "A", "ipv4": BANK}]),
            ("AAAA", [{"answer_type": "AAAA", "ipv6": "fd00:5e::7f00:2"}])]
        _, v6, _ = resolve("bank.sov", ("127.0.0.1", port), 1.0, Clock(), ("ipv6",))
        assert v6 == ["fd00:5e::7f00:2"]
        _, v4only, _ = resolve("bank.sov", ("127.0.0.1", lab.dns_port), 1.0, Clock(),
                               ("ipv4", "ipv6"))
        assert v4only == [BANK]  # an IPv4-only resolver: AAAA answers nothing, A still counts
    finally:
        lab.stop(p)
