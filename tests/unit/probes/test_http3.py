"""HTTP/3 end to end without Mininet: the real h3d server and dnsd on loopback addresses, the
probe (and the agent) measuring them; and the pure parts (routes, failure strings, specs)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from base64 import b64decode
from pathlib import Path

import pytest
from cryptography import x509

from sovnet.config import load_topology
from sovnet.emulation import servers
from sovnet.emulation.h3d import respond
from sovnet.emulation.labca import LabCA, cert_paths
from sovnet.poll import wait_for
from sovnet.probes.http3 import H3Timeouts, measure_http3, quic_failure, split_h3_url
from sovnet.probes.net import ProbeEnv

ROOT = Path(__file__).resolve().parents[3]
SOCIAL, DNS, SILENT = "127.0.3.2", "127.0.3.3", "127.0.3.4"
ZONE = {"friendbook.example": SOCIAL, "impostor.example": SOCIAL, "silent.example": SILENT}
TIMEOUTS = H3Timeouts(dns=1.0, handshake=1.0, http=2.0)


def _free_udp_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("h3")
    topo = load_topology(ROOT / "topologies" / "minimal.yaml")
    ca = LabCA(tmp)
    cert, key = ca.issue("social", list(topo.service("social").domains))
    (tmp / "zone.json").write_text(json.dumps(ZONE))
    port, dns_port = _free_udp_port(SOCIAL), _free_udp_port(DNS)
    procs = []
    for name, args in (
        ("h3d", ["-m", "sovnet.emulation.h3d", "--service", "social", "--domains",
                 "friendbook.example", "--cert", str(cert), "--key", str(key), "--port",
                 str(port), "--address", SOCIAL]),
        ("dnsd", ["-m", "sovnet.emulation.dnsd", "--zone", str(tmp / "zone.json"),
                  "--address", DNS, "--port", str(dns_port)])):
        ready = tmp / f"{name}.ready"
        with open(tmp / f"{name}.log", "w") as log:
            p = subprocess.Popen([sys.executable, *args, "--ready", str(ready)], cwd=ROOT,
                                 stdout=log, stderr=log)
        procs.append(p)
        wait_for(lambda p=p, ready=ready: ready.exists() or p.poll() is not None, 10,
                 f"{name} to listen", error=AssertionError)
        assert p.poll() is None, (tmp / f"{name}.log").read_text()
    yield {"ca": str(ca.ca_file), "port": port, "env": ProbeEnv((DNS, dns_port)),
           "dns_port": dns_port}
    for p in procs:
        p.terminate()
        p.wait(timeout=5)


def fetch(lab, host: str, cafile: str | None = "lab") -> dict:
    return measure_http3({"url": f"https://{host}:{lab['port']}/"}, TIMEOUTS, lab["env"],
                         lab["ca"] if cafile == "lab" else cafile)


def test_fetch_over_http3_records_ooni_quic_handshake(lab):
    obs = fetch(lab, "friendbook.example")
    [hs] = obs["quic_handshakes"]
    assert (hs["network"], hs["address"], hs["server_name"], hs["tls_version"],
            hs["negotiated_protocol"], hs["failure"]) == (
        "udp", f"{SOCIAL}:{lab['port']}", "friendbook.example", "TLSv1.3", "h3", None)
    assert hs["cipher_suite"] in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                  "TLS_CHACHA20_POLY1305_SHA256")
    assert 0 <= hs["t0"] < hs["t"]
    leaf = x509.load_der_x509_certificate(b64decode(hs["peer_certificates"][0]["data"]))
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["friendbook.example"]
    [req] = obs["requests"]
    assert req["request"]["url"] == f"https://friendbook.example:{lab['port']}/"
    assert (req["response"]["code"], req["response"]["title"], req["failure"]) == (
        200, "social", None)
    assert req["response"]["headers"]["server"] == "sovnet-h3d/social"
    assert (obs["http_experiment_failure"], obs["accessible"]) == (None, True)


def test_a_certificate_from_an_unknown_ca_is_ssl_unknown_authority(lab):
    obs = fetch(lab, "friendbook.example", cafile=None)  # the system's CAs only
    assert obs["quic_handshakes"][0]["failure"] == "ssl_unknown_authority"
    assert (obs["requests"], obs["http_experiment_failure"], obs["accessible"]) == (
        [], "ssl_unknown_authority", False)


def test_a_certificate_for_another_name_is_ssl_invalid_hostname(lab):
    obs = fetch(lab, "impostor.example")
    assert obs["http_experiment_failure"] == "ssl_invalid_hostname"
    assert obs["quic_handshakes"][0]["peer_certificates"]  # what the server presented


def test_no_answer_to_the_initial_is_generic_timeout_error(lab):
    start = time.monotonic()
    obs = fetch(lab, "silent.example")
    took = time.monotonic() - start
    assert obs["http_experiment_failure"] == "generic_timeout_error"
    assert obs["quic_handshakes"][0]["negotiated_protocol"] is None
    assert TIMEOUTS.handshake <= took < TIMEOUTS.handshake + 1.5


def test_a_name_not_in_the_zone_fails_at_dns(lab):
    obs = fetch(lab, "nowhere.example")
    assert (obs["dns_experiment_failure"], obs["quic_handshakes"], obs["accessible"]) == (
        "dns_nxdomain_error", [], False)


def test_the_agent_runs_http3_commands(lab):
    agent = subprocess.Popen(
        [sys.executable, "-m", "sovnet.probes.agent", "--name", "t", "--resolver",
         f"{DNS}:{lab['dns_port']}"], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    cmd = {"id": "h3-0-1", "kind": "http3", "cafile": lab["ca"],
           "timeouts": {"dns": 1, "handshake": 1, "http": 2},
           "targets": [{"service": "social",
                        "url": f"https://friendbook.example:{lab['port']}/"}]}
    out, _ = agent.communicate(json.dumps(cmd) + "\n", timeout=20)
    [line] = [json.loads(x) for x in out.splitlines()]
    assert (line["id"], line["kind"], line["service"]) == ("h3-0-1", "http3", "social")
    assert line["observation"]["quic_handshakes"][0]["negotiated_protocol"] == "h3"
    assert line["observation"]["requests"][0]["response"]["code"] == 200


NAMES = {"friendbook.example"}


@pytest.mark.parametrize("authority, path, code", [
    ("friendbook.example", "/", 200), ("FriendBook.example.:443", "/asset.js", 200),
    ("friendbook.example", "/bytes?n=10", 200), ("friendbook.example", "/bytes?n=x", 400),
    ("friendbook.example", "/nothing", 404), ("other.example", "/", 421),
])
def test_routes_are_httpds(authority, path, code):
    got, _, body = respond("social", NAMES, [], "GET", authority, path)
    assert got == code
    if path == "/bytes?n=10":
        assert len(body) == 10


def test_https_urls_only():
    u = split_h3_url("https://a.example/x?y=1")
    assert (u.host, u.port, u.authority, u.path) == ("a.example", 443, "a.example", "/x?y=1")
    assert split_h3_url("https://a.example:8443/").port == 8443
    with pytest.raises(ValueError, match="not an https URL"):
        split_h3_url("http://a.example/")


@pytest.mark.parametrize("reason, failure", [
    ("hostname 'a.example' doesn't match 'b.example'", "ssl_invalid_hostname"),
    ("unable to get local issuer certificate", "ssl_unknown_authority"),
    ("self-signed certificate", "ssl_unknown_authority"),
    ("Certificate is no longer valid", "ssl_invalid_certificate"),
    ("No supported protocol version", "ssl_failed_handshake"),
])
def test_quic_failure_strings(reason, failure):
    assert quic_failure(reason) == failure


def test_server_specs_add_h3d_for_http3_services(tmp_path):
    topo = load_topology(ROOT / "topologies" / "minimal.yaml")
    specs = [s for s in servers.server_specs(topo, tmp_path, tmp_path / "z") if s.kind == "http3"]
    assert [(s.host, s.ports) for s in specs] == [("social", ("udp/443",))]
    cert, key = cert_paths(tmp_path, "social")
    assert specs[0].argv[specs[0].argv.index("--cert") + 1] == str(cert)
    assert specs[0].argv[specs[0].argv.index("--key") + 1] == str(key)
