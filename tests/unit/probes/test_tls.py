"""The probe's TLS: OONI's failure strings, and a real handshake against a local server with
a trustme CA (no root: loopback only)."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import trustme

from sovnet.probes import tls
from sovnet.probes.net import Clock, ProbeEnv, Response
from sovnet.probes.web import HostCache, Timeouts, measure_web, redirect_location


def verify_error(code: int) -> ssl.SSLCertVerificationError:
    e = ssl.SSLCertVerificationError(1, "certificate verify failed")
    e.verify_code = code
    return e


@pytest.mark.parametrize("exc, want", [
    (verify_error(62), "ssl_invalid_hostname"),
    (verify_error(20), "ssl_unknown_authority"),
    (verify_error(18), "ssl_unknown_authority"),
    (verify_error(10), "ssl_invalid_certificate"),
    (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), "eof_error"),
    (ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] alert"), "ssl_failed_handshake"),
    (ConnectionResetError(104, "reset"), "connection_reset"),
    (TimeoutError("timed out"), "generic_timeout_error"),
])
def test_tls_failures_are_oonis_strings(exc, want):
    assert tls.tls_failure(exc) == want


def test_redirects_resolve_against_the_url():
    moved = Response(301, {"Location": "https://x.example/a"}, b"", False)
    rel = Response(302, {"location": "/b"}, b"", False)
    assert redirect_location(moved, "http://x.example/") == "https://x.example/a"
    assert redirect_location(rel, "https://x.example/a") == "https://x.example/b"
    assert redirect_location(Response(200, {}, b"", False), "http://x/") is None
    assert redirect_location(None, "http://x/") is None


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A TLS server on loopback with a cert for good.example from a CA the client trusts."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    tls.client_context.cache_clear()  # a context made before would trust another CA
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("good.example").configure_cert(ctx)
    ctx.set_alpn_protocols(["http/1.1"])
    lsock = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            try:
                ctx.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield lsock.getsockname()[1]
    done.set()
    lsock.close()
    tls.client_context.cache_clear()


@pytest.mark.parametrize("name, failure", [("good.example", None),
                                           ("other.example", "ssl_invalid_hostname")])
def test_a_real_handshake_is_recorded_with_oonis_fields(server, name, failure):
    sock = socket.create_connection(("127.0.0.1", server))
    record, conn = tls.handshake(sock, "127.0.0.1", server, name, 3.0, Clock())
    assert record["failure"] == failure and record["server_name"] == name
    assert record["address"] == f"127.0.0.1:{server}" and record["network"] == "tcp"
    if failure is None:
        assert record["tls_version"] == "TLSv1.3" and record["negotiated_protocol"] == "http/1.1"
        assert record["cipher_suite"].startswith("TLS_") and len(record["peer_certificates"]) == 1
        conn.close()
    else:
        assert conn is None and record["tls_version"] == "" and record["peer_certificates"] == []


@pytest.mark.parametrize("sni, failure", [("good.example", None),
                                          ("innocuous.example", "ssl_invalid_hostname")])
def test_the_web_probe_sends_the_test_sni_it_is_given(server, sni, failure):
    """OONI's test SNI: the URL's host is connected to, the handshake names `sni`;
    ssl_invalid_hostname then means the server was reached."""
    env = ProbeEnv(None, https_port=server)
    obs = measure_web({"url": f"https://127.0.0.1:{server}/", "sni": sni}, Timeouts(), env,
                      HostCache(env, 1.0), page=False)
    [hs] = obs["tls_handshakes"]
    assert (hs["server_name"], hs["failure"]) == (sni, failure)
