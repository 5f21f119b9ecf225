"""HTTP/3 on a real lab: the social service of minimal.yaml serves it over QUIC on udp/443 with a
certificate from the lab's CA; a subscriber's probe fetches it with h3 over TLS 1.3, and a deny
of port:udp/443 is a blackholed QUIC endpoint (generic_timeout_error, as OONI reports it) while
the same service stays reachable over TCP."""

from __future__ import annotations

import json
import sys

import pytest

from sovnet.model.command import PolicyRequest
from sovnet.model.policy import parse_scope, parse_target

from .probing import http_status

SERVICE, DOMAIN, SUBSCRIBER = "social", "friendbook.example", "alice"


def h3_fetch(lab, host: str, handshake: float = 2.0) -> dict:
    """The http3 probe's observation, taken inside `host` through its ISP's resolver."""
    code = ("import json, sys; from sovnet.probes.agent import default_resolver; "
            "from sovnet.probes.http3 import H3Timeouts, measure_http3; "
            "from sovnet.probes.net import ProbeEnv; "
            f"env = ProbeEnv((default_resolver(), 53)); "
            f"print(json.dumps(measure_http3({{'url': 'https://{DOMAIN}/'}}, "
            f"H3Timeouts(handshake={handshake}), env)))")
    out = lab.host(host).cmd(f"{sys.executable} -c \"{code}\"")
    return json.loads(out.strip().splitlines()[-1])


def test_http3_fetch_negotiates_h3_over_tls13(lab):
    obs = h3_fetch(lab, SUBSCRIBER)
    [hs] = obs["quic_handshakes"]
    assert (hs["network"], hs["address"], hs["server_name"], hs["failure"]) == (
        "udp", f"{lab.topology.host(SERVICE).ip}:443", DOMAIN, None)
    assert (hs["tls_version"], hs["negotiated_protocol"]) == ("TLSv1.3", "h3")
    assert hs["peer_certificates"]
    [req] = obs["requests"]
    assert (req["response"]["code"], req["response"]["title"], req["failure"]) == (
        200, SERVICE, None)


def test_deny_udp_443_times_quic_out_and_leaves_tcp(lab, clean):
    lab.store.add_policy(PolicyRequest.of(
        "deny", parse_scope(f"subscriber:{SUBSCRIBER}"), parse_target("port:udp/443"), 300,
        author="test", reason="QUIC blocked by UDP endpoint"))
    lab.wait_enforced(lab.store.revision())
    obs = h3_fetch(lab, SUBSCRIBER, handshake=1.5)
    assert obs["dns_experiment_failure"] is None
    assert obs["quic_handshakes"][0]["failure"] == "generic_timeout_error"
    assert (obs["requests"], obs["http_experiment_failure"], obs["accessible"]) == (
        [], "generic_timeout_error", False)
    # The same service over TCP is untouched, as browsers fall back to it.
    assert http_status(lab.host(SUBSCRIBER), lab.topology.host(SERVICE).ip, DOMAIN) == "200"
    # and a subscriber outside the policy's scope still speaks QUIC to it
    other = next(s.name for s in lab.topology.subscribers if s.name != SUBSCRIBER and s.registered)
    assert h3_fetch(lab, other)["quic_handshakes"][0]["negotiated_protocol"] == "h3"


@pytest.mark.parametrize("target, failure", [("quic", "generic_timeout_error"),
                                             (f"quic:{DOMAIN}", "generic_timeout_error"),
                                             ("quic:worldnews.example", None)])
def test_the_inspector_drops_quic_by_its_initial_and_leaves_tcp(lab, clean, target, failure):
    """`deny quic` drops every QUIC flow the inspector sees (the GFW's and TSPU's way to push
    browsers back to TCP); `deny quic:NAME` only those whose Initial carries that SNI."""
    lab.store.add_policy(PolicyRequest.of(
        "deny", parse_scope(f"subscriber:{SUBSCRIBER}"), parse_target(target), 300,
        author="test", reason="QUIC blocked by the inspector"))
    lab.wait_enforced(lab.store.revision())
    obs = h3_fetch(lab, SUBSCRIBER, handshake=1.5)
    assert (obs["quic_handshakes"][0]["failure"], obs["http_experiment_failure"]) == (
        failure, failure)
    assert obs["accessible"] is (failure is None)
    assert http_status(lab.host(SUBSCRIBER), lab.topology.host(SERVICE).ip, DOMAIN) == "200"
