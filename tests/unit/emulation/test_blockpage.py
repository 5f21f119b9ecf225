"""The hosts' side of blockpage and steer_dns, without root: the blockpage server, the resolver
hosts' redirect rules, how a measurer classifies a blockpage, and what the policies make
reachable."""

from __future__ import annotations

import http.client
import signal
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from sovnet.config import load_topology
from sovnet.emulation import blockpaged, httpd, servers, steer
from sovnet.experiments import ooni
from sovnet.experiments.effect import web_reachable
from sovnet.lab import free_port
from sovnet.model.policy import Policy, initial_subscribers, parse_scope, parse_target
from sovnet.poll import wait_for
from sovnet.probes.parse import parse_page
from tests.unit.emulation.test_emulation import small

ROOT = Path(__file__).resolve().parents[3]
TOPO = load_topology(ROOT / "topologies" / "minimal.yaml")
SUBS = initial_subscribers(TOPO)


# --- the blockpage server ---------------------------------------------------------------


@pytest.fixture
def blockpage():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), blockpaged.make_handler("fixnet"))
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, per test
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def request(port, path="/", host="bank.sov", method="GET", body=None):
    """host None: no Host header at all, as an HTTP/1.0 client may send."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    if host is not None:
        c.putheader("Host", host)
    if body is not None:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body)
    r = c.getresponse()
    out = r.status, dict(r.getheaders()), r.read()
    c.close()
    return out


@pytest.mark.parametrize(("host", "path"), [("bank.sov", "/"), ("WWW.Bank.Sov:80", "/x?y=1"),
                                            ("friendbook.example", "/asset.js"),
                                            ("10.9.0.1", "/bytes?n=100")])
def test_any_host_and_path_gets_the_blockpage(blockpage, host, path):
    status, headers, body = request(blockpage, path, host)
    assert status == 403
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    title, refs = parse_page(body)
    assert title == "fixnet: access denied"
    assert refs == []  # nothing for a page-loading probe to fetch from elsewhere
    name = host.split(":")[0].lower()
    assert f"Access to <b>{name}</b> is blocked by fixnet".encode() in body


def test_head_post_and_no_host(blockpage):
    status, headers, body = request(blockpage, method="HEAD")
    assert (status, body) == (403, b"") and int(headers["Content-Length"]) > 0
    status, _, body = request(blockpage, "/login", method="POST", body=b"user=a&pass=b")
    assert status == 403 and b"fixnet" in body
    status, _, body = request(blockpage, host=None)
    assert status == 403 and b"<b>this website</b>" in body


def test_page_escapes_what_the_client_sent():
    assert b"<b>&lt;script&gt;</b>" in blockpaged.page("isp", "<script>")


def test_blockpaged_process_listens_and_stops(tmp_path):
    port, ready = free_port(), tmp_path / "bp.ready"
    proc = subprocess.Popen([sys.executable, "-m", "sovnet.emulation.blockpaged", "--isp",
                             "mobinet", "--address", "127.0.0.1", "--port", str(port),
                             "--ready", str(ready)], stderr=subprocess.PIPE, text=True)
    try:
        def listening():
            assert proc.poll() is None, proc.stderr.read()
            return ready.exists()

        wait_for(listening, 10, "blockpaged to write its ready file", 0.02, error=AssertionError)
        status, _, body = request(port, "/", "portal.gov.sov")
        assert status == 403 and b"blocked by mobinet" in body
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
    assert "mobinet" in proc.stderr.read()  # its log names the ISP and has the request


# --- server specs and redirect rules ----------------------------------------------------


def test_every_resolver_host_runs_its_isps_blockpage_server(tmp_path):
    specs = servers.server_specs(TOPO, tmp_path, tmp_path / "z")
    pages = {s.host: s for s in specs if s.kind == "blockpage"}
    assert set(pages) == {r.name for r in TOPO.resolvers}
    for r in TOPO.resolvers:
        argv = pages[r.name].argv
        assert argv[1:3] == ["-m", "sovnet.emulation.blockpaged"]
        assert argv[argv.index("--isp") + 1] == r.isp
        assert argv[argv.index("--port") + 1] == "80"
        assert pages[r.name].ports == ("tcp/80", "tcp/443")
        assert argv[argv.index("--tls-port") + 1] == "443"
        assert pages[r.name].ready != next(s.ready for s in specs
                                           if s.host == r.name and s.kind == "dns")


def test_resolver_hosts_redirect_the_ports_of_their_servers(tmp_path):
    specs = servers.server_specs(small(), tmp_path, tmp_path / "z")
    assert steer.steered_ports(small(), specs) == {
        "dns1": ["udp/53", "tcp/53", "tcp/80", "tcp/443"]}
    script = steer.ruleset("10.1.0.53", ["udp/53", "tcp/53", "tcp/80", "tcp/80"])
    rules = [line.strip() for line in script.splitlines() if "redirect" in line]
    assert rules == [
        "ip daddr != 10.1.0.53 udp dport 53 counter redirect",
        "ip daddr != 10.1.0.53 tcp dport 53 counter redirect",
        "ip daddr != 10.1.0.53 tcp dport 80 counter redirect",
    ]
    assert "type nat hook prerouting priority dstnat" in script
    # Loadable again: the table is created, deleted and rebuilt in one transaction.
    assert script.startswith(f"table ip {steer.TABLE}\ndelete table ip {steer.TABLE}\n")
    with pytest.raises(ValueError, match="bad server port 'sctp/9'"):
        steer.ruleset("10.1.0.53", ["sctp/9"])


# --- what a measurer concludes ----------------------------------------------------------


def response_record(status: int, headers: dict, body: bytes) -> dict:
    """What the web probe records of a response."""
    return {"code": status, "headers": headers, "body_length": len(body),
            "title": parse_page(body)[0], "body_is_truncated": False}


def test_the_blockpage_reads_as_http_diff(blockpage):
    """The servers' real answers: the service's page for the control, the ISP's blockpage for
    the probe, whose connection to the service's address worked."""
    site = TOPO.host("bank").ip
    real = httpd.page("bank", ["bank.sov", "www.bank.sov"], ["fastcdn.example"])
    ctrl = {"dns": {"addrs": [site], "failure": None},
            "tcp_connect": {f"{site}:80": {"status": True, "failure": None}},
            "http_request": {"body_length": len(real), "failure": None,
                             "title": parse_page(real)[0],
                             "headers": {"Server": "sovnet-httpd/bank Python/3.11.2",
                                         "Content-Type": "text/html; charset=utf-8",
                                         "Content-Length": str(len(real))},
                             "status_code": 200}}
    status, headers, body = request(blockpage, "/", "bank.sov")
    obs = {"client_resolver": "10.1.255.1",
           "queries": [{"engine": "udp", "resolver_address": "10.1.255.1:53",
                        "hostname": "bank.sov", "query_type": "A",
                        "answers": [{"answer_type": "A", "ipv4": site}], "failure": None,
                        "rcode": 0, "t0": 0.0, "t": 0.001}],
           "tcp_connect": [{"ip": site, "port": 80,
                            "status": {"success": True, "failure": None}, "t0": 0.001,
                            "t": 0.002}],
           "requests": [{"request": {"url": "http://bank.sov/", "method": "GET",
                                     "headers": {"Host": "bank.sov"}},
                         "response": response_record(status, headers, body), "failure": None,
                         "t0": 0.002, "t": 0.004}],
           "dns_experiment_failure": None, "http_experiment_failure": None,
           "page": {"resources": []}}
    tk = ooni.classify(obs, ctrl)
    assert {k: tk[k] for k in ("dns_consistency", "status_code_match", "title_match",
                               "headers_match", "blocking", "accessible",
                               "x_blocking_flags", "x_sovnet_usable")} == {
        # "bank" is too short a title to compare (OONI compares words of 5 letters or more)
        "dns_consistency": "consistent", "status_code_match": False, "title_match": None,
        "headers_match": False, "blocking": "http-diff", "accessible": False,
        "x_blocking_flags": ooni.HTTP_DIFF, "x_sovnet_usable": False}
    assert tk["tcp_connect"][0]["status"]["blocked"] is False


# --- what the policies make reachable ---------------------------------------------------


def pol(pid, action, target, scope="all", priority=100):
    return Policy(pid, action, parse_scope(scope), parse_target(target), priority)


def test_a_blockpage_makes_the_service_unreachable_in_scope_only():
    policies = [pol(1, "blockpage", "service:social", scope="isp:fixnet")]
    assert not web_reachable(TOPO, policies, SUBS, "alice", "social")
    assert web_reachable(TOPO, policies, SUBS, "alice", "bank")
    assert web_reachable(TOPO, policies, SUBS, "dave", "social")  # another ISP
    # An allow of higher priority wins over the blockpage.
    lifted = [*policies, pol(2, "allow", "service:social", scope="subscriber:alice", priority=200)]
    assert web_reachable(TOPO, lifted, SUBS, "alice", "social")


def test_steering_dns_to_the_own_resolver_changes_nothing_by_itself():
    steered = [pol(1, "steer_dns", "any")]
    assert all(web_reachable(TOPO, steered, SUBS, "alice", s.name) for s in TOPO.services)


def test_steered_dns_is_answered_by_the_resolver_that_lies():
    policies = [pol(1, "steer_dns", "any"),
                pol(2, "dns_tamper:nxdomain", "service:news", scope="isp:fixnet")]
    assert not web_reachable(TOPO, policies, SUBS, "alice", "news")
    assert web_reachable(TOPO, policies, SUBS, "alice", "social")


def test_a_steer_outranks_a_deny_of_dns_at_the_same_priority():
    no_dns = [pol(1, "deny", "port:udp/53")]
    assert not web_reachable(TOPO, no_dns, SUBS, "alice", "bank")
    assert web_reachable(TOPO, [*no_dns, pol(2, "steer_dns", "any")], SUBS, "alice", "bank")
    # ... but not a deny above it, and a steer of DNS lets no other traffic through.
    assert not web_reachable(TOPO, [pol(1, "deny", "port:udp/53", priority=200),
                                    pol(2, "steer_dns", "any")], SUBS, "alice", "bank")
    assert not web_reachable(TOPO, [pol(1, "deny", "service:bank"),
                                    pol(2, "steer_dns", "any", priority=200)],
                             SUBS, "alice", "bank")
