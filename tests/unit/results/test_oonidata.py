"""Every kind of line sovnet writes loads with OONI's own package, oonidata (load_measurement),
unpatched: web (HTTP and HTTPS, with tls_handshakes), throughput (both directions), latency,
stream, and a probe error."""

from __future__ import annotations

import dataclasses
import json

import pytest

from sovnet.experiments.records import record
from tests.unit.experiments.test_run_records import CONTROL, CTX, _observation

oonidata = pytest.importorskip("oonidata.dataclient",
                               reason="oonidata is installed by setup.sh (extra 'ooni')")

IRAN = dataclasses.replace(CTX, calendar_t0=1573862400.0, probe_cc="IR", run_id="run",
                           control="th")  # 2019-11-16 00:00 UTC
TLS = {"network": "tcp", "address": "172.16.0.1:443", "server_name": "friendbook.example",
       "alpn": ["http/1.1"], "no_tls_verify": False, "tls_version": "", "cipher_suite": "",
       "negotiated_protocol": "", "peer_certificates": [], "failure": "connection_reset",
       "t0": 0.002, "t": 0.004}


def lines() -> list[tuple[str, dict]]:
    https = _observation(False)
    https.update(tls_handshakes=[TLS], requests=[], http_experiment_failure="connection_reset")
    return [
        ("web", {"observation": _observation(True), "t0_wall": 1.7e9, "runtime": 0.1}),
        ("web", {"observation": https, "t0_wall": 1.7e9, "runtime": 0.1}),
        ("throughput", {"observation": {
            "url": "https://friendbook.example/bytes?n=1", "bytes": 1, "seconds": 0.1,
            "throughput_kbps": 0.08, "failure": None, "tls_handshakes": [TLS],
            "x_upload": {"bytes": 1, "seconds": 0.1, "throughput_kbps": 0.08,
                         "failure": None}}, "t0_wall": 1.7e9, "runtime": 0.3}),
        ("latency", {"observation": {"ip": "172.16.0.1", "sent": 3, "received": 0,
                                     "rtt_avg_ms": None, "failure": "generic_timeout_error"},
                     "t0_wall": 1.7e9, "runtime": 1.0}),
        ("stream", {"observation": {"ip": "172.16.0.1", "rate": 10, "window_s": 1.0,
                                    "start_wall": 1.7e9, "sent": 2, "received": 1,
                                    "replies": [[0, 0.0, 0.01]], "icmp_errors": 0,
                                    "failure": None}, "t0_wall": 1.7e9, "runtime": 1.0}),
        ("web", {"error": "the probe agent is not running", "raw": ""}),
    ]


@pytest.mark.parametrize("kind, line", lines())
def test_each_kind_of_line_loads(kind, line):
    obj = json.loads(json.dumps(record(IRAN, kind, line, CONTROL).to_json()))
    loaded = oonidata.load_measurement(msmt=obj)
    assert loaded.test_name == obj["test_name"] and loaded.probe_cc == "IR"
    assert loaded.report_id.startswith("20191116T000000Z_")
    # dated in the scenario's calendar: t_scenario (2 h 7 min 30 s) after 2019-11-16 00:00
    assert loaded.measurement_start_time == "2019-11-16 02:07:30"
    assert obj["x_wall_time"].startswith("20")
