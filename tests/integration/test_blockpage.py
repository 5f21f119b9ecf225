"""blockpage and steer_dns for real on topologies/minimal.yaml: the switches send a subscriber's
HTTP or DNS to its ISP's resolver host with the IP destination unchanged, and that host's
blockpage server or resolver answers in the name of the address the subscriber asked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sovnet.experiments import ooni
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import parse_scope, parse_target
from sovnet.model.topology import resolver_ip
from sovnet.poll import eventually
from tests.integration.probing import pings

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "topologies" / "minimal.yaml"
IN, OUT = "alice", "dave"  # fixnet's and mobinet's


@pytest.fixture
def policies(lab, clean):
    """add(action, target, scope): in force once every switch acknowledged it; all revoked
    after the test (by `clean`)."""
    assert lab.topology.subscriber(IN).isp == "fixnet"
    assert lab.topology.subscriber(OUT).isp == "mobinet"

    def add(action, target, scope="isp:fixnet", priority=100):
        p = lab.store.add_policy(PolicyRequest.of(
                action, parse_scope(scope), parse_target(target), priority, author="test",
                reason=f"{action} {target}"))
        lab.wait_enforced(lab.store.revision())
        return p

    return add


def log_lines(lab, resolver: str, server: str, *needles: str) -> list[str]:
    """The lines of a resolver host's server log (server: "dnsd" or "blockpaged") that contain
    every needle."""
    path = lab.network.workdir / f"{resolver}.{server}.log"
    return [line for line in path.read_text().splitlines() if all(n in line for n in needles)]


def curl(host, url: str, timeout: float = 2) -> tuple[str, str, str]:
    """(exit code, "HTTP status peer-address", body) of one request by name, as a browser."""
    out = host.cmd(f"curl -s -m {timeout} -w '\\n%{{exitcode}} %{{http_code}} %{{remote_ip}}' "
                   f"{url}")
    body, _, tail = out.rstrip().rpartition("\n")
    code, _, rest = tail.partition(" ")
    return code, rest, body


def test_blockpage_answers_http_in_scope_and_drops_the_rest(lab, policies):
    topo = lab.topology
    name, addr = topo.service("social").domains[0], topo.host("social").ip
    url = f"http://{name}/"
    for sub in (IN, OUT):
        assert curl(lab.host(sub), url)[:2] == ("0", f"200 {addr}"), sub
    policies("blockpage", "service:social")

    def blocked():
        code, status, body = curl(lab.host(IN), url)
        # The peer is the service's own address: the resolver host answered in its name.
        assert (code, status) == ("0", f"403 {addr}"), body
        assert "<title>fixnet: access denied</title>" in body
        assert f"Access to <b>{name}</b> is blocked by fixnet" in body

    eventually(blocked, timeout=5)
    ip_in = topo.host(IN).ip
    assert log_lines(lab, "dns1", "blockpaged", ip_in, name, "403")  # fixnet's answered
    assert not log_lines(lab, "dns2", "blockpaged", ip_in)
    code, status, body = curl(lab.host(OUT), url)  # out of scope: the real page
    assert (code, status) == ("0", f"200 {addr}") and "<title>social</title>" in body

    # HTTPS goes to the blockpage server too, whose certificate names only itself: curl in
    # scope refuses it (60: peer certificate cannot be authenticated) while the subscriber out
    # of scope gets the real page. Everything else to the service is dropped.
    https = f"https://{name}/"
    assert curl(lab.host(IN), https, timeout=2)[0] == "60"
    assert curl(lab.host(OUT), https, timeout=2)[:2] == ("0", f"200 {addr}")
    assert pings(lab.host(IN), [addr]) == {addr: False}
    assert pings(lab.host(OUT), [addr]) == {addr: True}


def agent(host, command: dict) -> dict:
    """One command to a probe agent in `host`, as the experiment runner sends it; its line."""
    proc = host.popen([sys.executable, "-m", "sovnet.probes.agent", "--name", host.name],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                      text=True)
    out, err = proc.communicate(json.dumps(command) + "\n", timeout=30)
    assert proc.returncode == 0, err
    (line,) = [json.loads(x) for x in out.splitlines() if x.strip()]
    assert "error" not in line, line
    return line


def test_a_measurer_in_scope_sees_http_diff(lab, policies):
    """The real probe in a subscriber in scope, the test helper's side from one out of scope."""
    topo = lab.topology
    target = {"service": "social", "url": f"http://{topo.service('social').domains[0]}/"}
    policies("blockpage", "service:social")
    web = {"id": "w", "kind": "web", "targets": [target], "page": True}
    control = agent(lab.host(OUT), {"id": "c", "kind": "web", "control": True, "targets": [
        {**target, "addrs": [topo.host("social").ip]}]})["control"]
    assert control["http_request"]["status_code"] == 200
    tk = ooni.classify(agent(lab.host(IN), web)["observation"], control)
    assert {k: tk[k] for k in ("dns_consistency", "status_code_match", "blocking",
                               "accessible", "x_sovnet_usable")} == {
        "dns_consistency": "consistent", "status_code_match": False, "blocking": "http-diff",
        "accessible": False, "x_sovnet_usable": False}
    assert tk["tcp_connect"][0]["status"] == {"success": True, "failure": None,
                                              "blocked": False}
    assert tk["requests"][0]["response"]["title"] == "fixnet: access denied"
    out_of_scope = ooni.classify(agent(lab.host(OUT), web)["observation"], control)
    assert (out_of_scope["blocking"], out_of_scope["accessible"]) == (False, True)


def dig(host, server: str, name: str, tcp: bool = False) -> str:
    """dig's full answer. dig ignores replies from any address but the one it asked, so an
    answer shows the reply carried `server` as its source."""
    return host.cmd(f"dig {'+tcp ' if tcp else ''}+time=1 +tries=1 @{server} {name} A")


def test_steer_dns_makes_the_own_isp_resolver_answer_whatever_was_asked(lab, policies):
    topo = lab.topology
    own, other = resolver_ip(topo, IN), resolver_ip(topo, OUT)
    assert own != other
    nowhere = topo.host("news").ip  # a foreign web server: nothing listens on its port 53
    news, gov = topo.service("news").domains[0], topo.service("gov").domains[0]
    alice, dave = lab.host(IN), lab.host(OUT)
    ip_in = topo.host(IN).ip
    assert "status: NOERROR" in dig(alice, other, "health.sov")  # mobinet's answers anyone
    assert "status:" not in dig(alice, nowhere, news)

    policies("dns_tamper:nxdomain", "service:news")
    policies("steer_dns", "any")

    def steered():
        for tcp in (False, True):
            out = dig(alice, nowhere, news, tcp)
            assert "status: NXDOMAIN" in out, out  # a fixnet resolver's lie
            assert f"SERVER: {nowhere}#53" in out, out
        out = dig(alice, other, gov)
        assert "status: NOERROR" in out and topo.host("gov").ip in out, out

    eventually(steered, timeout=5)
    # Which resolver answered: fixnet's logged alice's questions, mobinet's never saw them.
    assert log_lines(lab, "dns1", "dnsd", f"[{ip_in}:", f"'{news}.'")
    assert log_lines(lab, "dns1", "dnsd", f"[{ip_in}:", f"'{gov}.'")
    assert not log_lines(lab, "dns2", "dnsd", f"[{ip_in}:", f"'{gov}.'")
    # Out of scope, dave's DNS goes where he sends it.
    assert "status:" not in dig(dave, nowhere, news)
    assert "status: NOERROR" in dig(dave, own, gov)
