"""The inspector for real: the controller reads the SNI of subscribers' ClientHellos (and the
Host of their HTTP) and resets, drops or throttles what a policy names, while everything else
passes; a residual block outlives the trigger; a split ClientHello beats the first-packet
inspector but not the reassembling one."""

from __future__ import annotations

import time

import pytest

from sovnet.experiments import ooni
from sovnet.poll import eventually
from tests.integration.test_blockpage import IN, OUT, agent, curl, policies  # noqa: F401
from tests.integration.test_https import TOPOLOGY  # noqa: F401

SOCIAL, NEWS = "friendbook.example", "worldnews.example"


def web(lab, url: str, service: str, host: str = IN, split: bool = False) -> dict:
    target = {"service": service, "url": url, **({"split_hello": True} if split else {})}
    obs = agent(lab.host(host), {"id": "w", "kind": "web", "page": False,
                                 "targets": [target]})["observation"]
    ctrl = agent(lab.host(OUT), {"id": "c", "kind": "web", "control": True, "targets": [
        {"service": service, "url": url, "addrs": [lab.topology.host(service).ip]}]})["control"]
    return ooni.classify(obs, ctrl)


def verdict(tk: dict) -> tuple:
    return tk["http_experiment_failure"], tk["blocking"], tk["x_blocking_flags"]


@pytest.mark.parametrize("action, failure", [("reject", "connection_reset"),
                                             ("deny", "generic_timeout_error")])
def test_an_sni_rule_resets_or_drops_and_other_names_pass(lab, policies, clean,  # noqa: F811
                                                          action, failure):
    policies(action, f"sni:{SOCIAL}")
    assert verdict(web(lab, f"https://{SOCIAL}/", "social")) == (failure, "http-failure", 4)
    assert verdict(web(lab, f"https://{NEWS}/", "news")) == (None, False, 32)
    # Out of scope (the policy is for fixnet's subscribers): untouched.
    code, status, _ = curl(lab.host(OUT), f"https://{SOCIAL}/")
    assert (code, status.split()[0]) == ("0", "200")


def test_a_substring_rule_catches_the_innocent_too(lab, policies, clean):  # noqa: F811
    policies("reject", "sni-contains:news")
    assert verdict(web(lab, f"https://{NEWS}/", "news"))[0] == "connection_reset"
    assert verdict(web(lab, f"https://{SOCIAL}/", "social"))[0] is None


def test_a_host_rule_resets_cleartext_http(lab, policies, clean):  # noqa: F811
    policies("reject", f"host:{SOCIAL}")
    assert verdict(web(lab, f"http://{SOCIAL}/", "social"))[:2] == ("connection_reset",
                                                                      "http-failure")
    assert verdict(web(lab, f"https://{SOCIAL}/", "social"))[0] is None


def test_residual_blocking_refuses_the_server_then_lets_it_go(lab, policies, clean):  # noqa: F811
    policies("reject:residual=4s", f"sni:{SOCIAL}")
    social_ip = lab.topology.host("social").ip
    assert verdict(web(lab, f"https://{SOCIAL}/", "social"))[0] == "connection_reset"
    triggered = time.monotonic()
    # The same server by its address (no SNI a rule names): refused inside the window.
    code = curl(lab.host(IN), f"https://{social_ip}/ -k", timeout=2)[0]
    assert code == "7" and time.monotonic() - triggered < 4
    eventually(lambda: _served(lab, social_ip), timeout=10)


def _served(lab, ip: str) -> None:
    assert curl(lab.host(IN), f"https://{ip}/ -k", timeout=2)[:2][0] == "0"


def test_a_split_hello_beats_the_first_packet_inspector_not_the_reassembling_one(
        lab, policies, clean):  # noqa: F811
    policies("reject", f"sni:{SOCIAL}")
    assert verdict(web(lab, f"https://{SOCIAL}/", "social", split=True)) == (None, False, 32)
    policies("reject:reassemble", f"sni:{SOCIAL}", priority=200)
    assert verdict(web(lab, f"https://{SOCIAL}/", "social", split=True))[0] == \
        "connection_reset"


def test_a_throttle_by_sni_holds_both_directions_near_the_rate(lab, policies, clean):  # noqa: F811
    """TSPU's 2021 throttle of Twitter: 130-150 kbit/s by dropping, both ways."""
    policies("throttle:140kbit", f"sni:{SOCIAL}")
    line = agent(lab.host(IN), {"id": "t", "kind": "throughput", "timeout": 20,
                                "direction": "both", "targets": [
        {"service": "social", "url": f"https://{SOCIAL}/bytes?n=60000"}]})["observation"]
    up = line["x_upload"]
    assert line["failure"] is None and up["failure"] is None, line
    assert [h["server_name"] for h in line["tls_handshakes"] + up["tls_handshakes"]] == \
        [SOCIAL, SOCIAL]
    for kbps in (line["throughput_kbps"], up["throughput_kbps"]):
        assert 0.85 * 140 <= kbps <= 1.15 * 140, line
    free = agent(lab.host(IN), {"id": "t", "kind": "throughput", "timeout": 20,
                                "direction": "both", "targets": [
        {"service": "news", "url": f"https://{NEWS}/bytes?n=60000"}]})["observation"]
    assert min(free["throughput_kbps"], free["x_upload"]["throughput_kbps"]) > 10 * 140


KEEP_ALIVE = """
import http.client, sys
conn = http.client.HTTPSConnection(sys.argv[1], timeout=5)
conn.request("GET", "/"); r = conn.getresponse(); r.read()
print("first", r.status, flush=True)
sys.stdin.readline()  # the test says when
try:
    conn.request("GET", "/"); r = conn.getresponse(); r.read()
    print("second", r.status, flush=True)
except OSError as e:
    print("second", type(e).__name__, flush=True)
"""


def test_a_connection_open_when_a_block_begins_keeps_its_verdict(lab, policies,  # noqa: F811
                                                                 clean):
    """A stateful middlebox decides once per connection: one already passed goes on (until it
    idles out), while a new connection to the same name is reset."""
    import subprocess
    import sys

    proc = lab.host(IN).popen([sys.executable, "-c", KEEP_ALIVE, SOCIAL], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().split() == ["first", "200"]
        policies("reject", f"sni:{SOCIAL}")
        assert curl(lab.host(IN), f"https://{SOCIAL}/")[0] == "35"  # a new one: reset
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().split() == ["second", "200"]  # the open one: on
    finally:
        proc.kill()
        proc.wait()
