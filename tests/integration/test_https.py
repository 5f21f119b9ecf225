"""HTTPS for real: every service answers TLS 1.2 and 1.3 on 443 with a certificate from the
lab's own CA, which curl, Python and the probe in every host trust; HTTP redirects to HTTPS
where the topology says so; and the probe records OONI's tls_handshakes, whose failures are
OONI's strings when a censor interferes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.experiments import ooni
from tests.integration.test_blockpage import IN, OUT, agent, curl, policies  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "tests" / "integration" / "topologies" / "https.yaml"


def web(lab, host: str, url: str, service: str) -> dict:
    return agent(lab.host(host), {"id": "w", "kind": "web", "page": False,
                                  "targets": [{"service": service, "url": url}]})["observation"]


def control(lab, url: str, service: str) -> dict:
    return agent(lab.host(OUT), {"id": "c", "kind": "web", "control": True, "targets": [
        {"service": service, "url": url, "addrs": [lab.topology.host(service).ip]}]})["control"]


def test_hosts_trust_the_lab_ca_with_curl_and_python(lab):
    name = lab.topology.service("bank").domains[1]  # www.bank.sov: every domain is on the cert
    code, status, body = curl(lab.host(IN), f"https://{name}/")
    assert (code, status.split()[0]) == ("0", "200") and "<title>bank</title>" in body
    for version in ("1.2", "1.3"):
        out = lab.host(IN).cmd(f"curl -s -o /dev/null -w '%{{ssl_verify_result}}' "
                               f"--tlsv{version} --tls-max {version} https://{name}/")
        assert out.strip() == "0", version  # verified against the lab CA
    py = lab.host(IN).cmd(
        "python3 -c \"import urllib.request as u; "
        f"print(u.urlopen('https://{name}/', timeout=3).status)\"")
    assert py.strip() == "200"


def test_the_probe_records_tls_handshakes_as_ooni_does(lab):
    name = lab.topology.service("social").domains[0]
    obs = web(lab, IN, f"https://{name}/", "social")
    (hs,) = obs["tls_handshakes"]
    addr = lab.topology.host("social").ip
    assert {k: hs[k] for k in ("network", "address", "server_name", "tls_version",
                               "negotiated_protocol", "failure")} == {
        "network": "tcp", "address": f"{addr}:443", "server_name": name,
        "tls_version": "TLSv1.3", "negotiated_protocol": "http/1.1", "failure": None}
    assert hs["cipher_suite"].startswith("TLS_") and hs["peer_certificates"][0]["format"] == \
        "base64"
    assert 0 <= hs["t0"] <= hs["t"]
    tk = ooni.classify(obs, control(lab, f"https://{name}/", "social"))
    assert (tk["blocking"], tk["accessible"], tk["x_blocking_flags"]) == (False, True, 32)


def test_http_redirects_to_https_and_the_probe_follows(lab):
    name = lab.topology.service("news").domains[0]
    code, status, _ = curl(lab.host(IN), f"http://{name}/")
    assert (code, status.split()[0]) == ("0", "301")
    obs = web(lab, IN, f"http://{name}/", "news")
    # OONI's order: the last request first.
    assert [r["request"]["url"] for r in obs["requests"]] == [f"https://{name}/",
                                                               f"http://{name}/"]
    assert [r["response"]["code"] for r in obs["requests"]] == [200, 301]
    assert obs["tls_handshakes"][0]["server_name"] == name
    tk = ooni.classify(obs, control(lab, f"http://{name}/", "news"))
    assert (tk["blocking"], tk["accessible"]) == (False, True)


@pytest.mark.parametrize("action, failure, blocking, flags", [
    ("blockpage", "ssl_invalid_hostname", "http-failure", 4),
    ("reject", "connection_refused", "tcp_ip", 2),
    ("deny", "generic_timeout_error", "tcp_ip", 2),
])
def test_a_censor_on_https_gives_oonis_failure_strings(lab, policies, clean,  # noqa: F811
                                                       action, failure, blocking, flags):
    name = lab.topology.service("social").domains[0]
    url = f"https://{name}/"
    ctrl = control(lab, url, "social")
    policies(action, "service:social")
    tk = ooni.classify(web(lab, IN, url, "social"), ctrl)
    assert (tk["http_experiment_failure"], tk["blocking"], tk["accessible"],
            tk["x_blocking_flags"]) == (failure, blocking, False, flags)
