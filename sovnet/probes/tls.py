"""The probe's TLS handshake, recorded as OONI's df-006 tls_handshakes entry.

The client verifies the server's certificate against the host's trust store (the lab CA is in
it: sovnet.emulation.labca) and the SNI it sent, as a browser and OONI's probe do; what went
wrong becomes OONI's failure string (ssl_invalid_hostname, ssl_unknown_authority, ...).
"""

from __future__ import annotations

import base64
import functools
import socket
import ssl

from sovnet.probes.net import NETWORK_ERRORS, Clock, endpoint, failure_string

# OpenSSL's X509_V_ERR_* codes -> OONI's df-007 strings.
_VERIFY = {
    62: "ssl_invalid_hostname",  # X509_V_ERR_HOSTNAME_MISMATCH
    18: "ssl_unknown_authority",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "ssl_unknown_authority",  # SELF_SIGNED_CERT_IN_CHAIN
    20: "ssl_unknown_authority",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "ssl_unknown_authority",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    9: "ssl_invalid_certificate",  # CERT_NOT_YET_VALID
    10: "ssl_invalid_certificate",  # CERT_HAS_EXPIRED
}
TLS_VERSIONS = {"TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3"}


def tls_failure(exc: BaseException) -> str:
    """OONI's failure string for a TLS handshake that went wrong."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _VERIFY.get(exc.verify_code, "ssl_invalid_certificate")
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return "eof_error"
    if isinstance(exc, ssl.SSLError):
        # An alert or garbage from the peer: the handshake itself failed.
        reason = getattr(exc, "reason", None)
        if reason == "UNEXPECTED_EOF_WHILE_READING":
            return "eof_error"
        return "ssl_failed_handshake"
    return failure_string(exc)


TLS_ERRORS = (ssl.SSLError, *NETWORK_ERRORS)


@functools.lru_cache(maxsize=8)
def client_context(alpn: tuple[str, ...] = ("http/1.1",)) -> ssl.SSLContext:
    """One context per process and ALPN list: loading the CA bundle takes some 20 ms, which
    every handshake's timing would otherwise carry."""
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(list(alpn))
    return ctx


def _cipher_name(tls: ssl.SSLSocket) -> str | None:
    """The IANA name OONI records (TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_...)."""
    cipher = tls.cipher()
    if cipher is None:
        return None
    name, version, _ = cipher
    if version == "TLSv1.3":
        return name  # OpenSSL already uses the IANA names for TLS 1.3
    return _IANA_12.get(name, name)


_IANA_12 = {
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
}


def _certificates(tls: ssl.SSLSocket) -> list[dict]:
    """The leaf certificate as OONI stores it (base64 DER). Python's ssl exposes the verified
    leaf only; the rest of the chain is not recorded."""
    der = tls.getpeercert(binary_form=True)
    return [{"format": "base64", "data": base64.b64encode(der).decode()}] if der else []


def record(ip: str, port: int, server_name: str, t0: float, t: float,
           tls: ssl.SSLSocket | None, failure: str | None) -> dict:
    ok = tls is not None and failure is None
    return {
        "network": "tcp",
        "address": endpoint(ip, port),
        "server_name": server_name,
        "alpn": ["http/1.1"],
        "no_tls_verify": False,
        "tls_version": TLS_VERSIONS.get(tls.version() or "", tls.version()) if ok else "",
        "cipher_suite": _cipher_name(tls) if ok else "",
        "negotiated_protocol": (tls.selected_alpn_protocol() or "") if ok else "",
        "peer_certificates": _certificates(tls) if ok else [],
        "failure": failure,
        "t0": t0,
        "t": t,
    }


def handshake(sock: socket.socket, ip: str, port: int, server_name: str, timeout: float,
              clock: Clock):
    """-> (tls_handshakes entry, the TLS socket or None). On failure `sock` is closed."""
    t0 = clock.now()
    sock.settimeout(timeout)
    try:
        tls = client_context().wrap_socket(sock, server_hostname=server_name)
    except TLS_ERRORS as e:
        sock.close()
        return record(ip, port, server_name, t0, clock.now(), None, tls_failure(e)), None
    return record(ip, port, server_name, t0, clock.now(), tls, None), tls
