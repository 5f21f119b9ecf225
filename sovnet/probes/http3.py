"""HTTP/3 from a vantage point, recorded as OONI records QUIC (urlgetter's quic_handshakes).

measure_http3 resolves the URL's host through the vantage's resolver, does a QUIC handshake
with the host as SNI and ALPN h3 to the first address, then one HTTP/3 GET. The keys are
OONI's: `queries`, `quic_handshakes` (network "udp", address, server_name, tls_version,
cipher_suite, negotiated_protocol, peer_certificates, failure, t0, t), `requests`, and
`http_experiment_failure` with OONI's failure strings (a handshake that gets no answer within
the timeout is generic_timeout_error, as OONI reports a blackholed QUIC endpoint).
aioquic speaks QUIC; each measurement runs its own event loop, since the agent measures
targets on threads.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from aioquic.asyncio import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import ConnectionTerminated, QuicEvent
from cryptography.hazmat.primitives.serialization import Encoding

from sovnet.probes import source
from sovnet.probes.net import MAX_BODY, Clock, ProbeEnv, endpoint, is_ip, resolve
from sovnet.probes.parse import parse_page


@dataclass(frozen=True)
class H3Timeouts:
    dns: float = 1.0
    handshake: float = 2.0
    http: float = 3.0

    @classmethod
    def from_command(cls, raw: dict | None) -> H3Timeouts:
        return cls(**{k: float(v) for k, v in (raw or {}).items()})


@dataclass(frozen=True)
class H3Url:
    host: str
    port: int
    authority: str
    path: str


def split_h3_url(url: str) -> H3Url:
    """An https URL (HTTP/3 is only ever spoken over TLS); port-less URLs use 443."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"not an https URL: {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return H3Url(parts.hostname, parts.port or 443, parts.netloc, path)


def quic_failure(reason: str) -> str:
    """aioquic's reason for closing a handshake -> OONI's failure string. The certificate
    checks are aioquic's (service_identity for the name, OpenSSL for the chain)."""
    low = reason.lower()
    if "doesn't match" in low or "hostname" in low:
        return "ssl_invalid_hostname"
    if "issuer" in low or "self-signed" in low or "self signed" in low:
        return "ssl_unknown_authority"
    if "no longer valid" in low or "not valid yet" in low or "expired" in low:
        return "ssl_invalid_certificate"
    return "ssl_failed_handshake"


class _Client(QuicConnectionProtocol):
    """Keeps the close reason (for the failure string) and gathers one HTTP/3 response."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h3: H3Connection | None = None
        self.reason = ""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.truncated = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A close during the handshake fails `done` before anyone awaits it: mark it retrieved.
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ConnectionTerminated):
            self.reason = event.reason_phrase or f"error code {event.error_code}"
            if not self.done.done():
                self.done.set_exception(ConnectionError(self.reason))
            return
        if self.h3 is None:
            return
        for ev in self.h3.handle_event(event):
            if isinstance(ev, HeadersReceived):
                self.headers += ev.headers
                ended = ev.stream_ended
            elif isinstance(ev, DataReceived):
                room = MAX_BODY - len(self.body)
                self.truncated = self.truncated or len(ev.data) > room
                self.body += ev.data[:max(0, room)]
                ended = ev.stream_ended
            else:
                continue
            if ended and not self.done.done():
                self.done.set_result(None)


def _certificates(client: _Client) -> list[dict]:
    tls = client._quic.tls
    chain = [c for c in [tls._peer_certificate, *tls._peer_certificate_chain] if c is not None]
    return [{"format": "base64", "data": base64.b64encode(c.public_bytes(Encoding.DER)).decode()}
            for c in chain]


async def _fetch(url: H3Url, ip: str, timeouts: H3Timeouts, cafile: str | None,
                 clock: Clock) -> tuple[dict, dict | None]:
    """-> (quic_handshakes record, requests record or None when the handshake failed)."""
    config = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN, server_name=url.host)
    # aioquic would trust certifi's bundle; the host's own (where the lab CA is) is what a
    # browser on that host trusts.
    config.load_verify_locations(cafile or ssl.get_default_verify_paths().cafile
                                 or "/etc/ssl/certs/ca-certificates.crt")
    hs: dict = {"network": "udp", "address": endpoint(ip, url.port), "server_name": url.host,
                "alpn": list(H3_ALPN), "no_tls_verify": False, "tls_version": None,
                "cipher_suite": None, "negotiated_protocol": None, "peer_certificates": [],
                "failure": None, "t0": clock.now(), "t": None}
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    transport, client = await loop.create_datagram_endpoint(
        lambda: _Client(QuicConnection(configuration=config)), family=family,
        local_addr=source.local_address(family))
    try:
        client.connect((ip, url.port))
        try:
            await asyncio.wait_for(client.wait_connected(), timeouts.handshake)
        except TimeoutError:
            hs["failure"] = "generic_timeout_error"
        except ConnectionError:
            hs["failure"] = quic_failure(client.reason)
        hs["t"] = clock.now()
        tls = client._quic.tls
        hs["peer_certificates"] = _certificates(client)
        if hs["failure"] is not None:
            return hs, None
        hs.update(tls_version="TLSv1.3", negotiated_protocol=tls.alpn_negotiated,
                  cipher_suite=f"TLS_{tls.key_schedule.cipher_suite.name}"
                  if tls.key_schedule else None)
        return hs, await _get(client, url, timeouts, clock)
    finally:
        client.close()
        transport.close()


async def _get(client: _Client, url: H3Url, timeouts: H3Timeouts, clock: Clock) -> dict:
    client.h3 = H3Connection(client._quic)
    headers = {"user-agent": "sovnet-probe/0.2", "accept": "*/*"}
    req: dict = {"request": {"url": f"https://{url.authority}{url.path}", "method": "GET",
                             "headers": headers, "x_transport": "quic"},
                 "failure": None, "t0": clock.now(), "t": None}
    stream = client._quic.get_next_available_stream_id()
    client.h3.send_headers(stream, [
        (b":method", b"GET"), (b":scheme", b"https"), (b":authority", url.authority.encode()),
        (b":path", url.path.encode()), *((k.encode(), v.encode()) for k, v in headers.items()),
    ], end_stream=True)
    client.transmit()
    try:
        await asyncio.wait_for(asyncio.shield(client.done), timeouts.http)
    except TimeoutError:
        req["failure"] = "generic_timeout_error"
    except ConnectionError:
        req["failure"] = "connection_reset" if not client.reason else \
            f"unknown_failure: {client.reason}"
    req["t"] = clock.now()
    head = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in client.headers}
    code = int(head[":status"]) if head.get(":status", "").isdigit() else None
    body = bytes(client.body)
    req["response"] = {
        "code": code, "headers": {k: v for k, v in head.items() if not k.startswith(":")},
        "body_length": len(body) if code is not None else None,
        "title": parse_page(body)[0] if code is not None else None,
        "body_is_truncated": client.truncated,
    }
    return req


def measure_http3(target: dict, timeouts: H3Timeouts, env: ProbeEnv,
                  cafile: str | None = None) -> dict:
    """The probe's observation of target["url"] over HTTP/3 (test keys of results/README.md)."""
    clock = Clock()
    url = split_h3_url(target["url"])
    obs: dict = {"client_resolver": env.resolver[0] if env.resolver else None, "queries": [],
                 "quic_handshakes": [], "requests": [], "dns_experiment_failure": None,
                 "http_experiment_failure": None}
    if is_ip(url.host):
        addrs = [url.host]
    else:
        obs["queries"], addrs, dns_failure = resolve(url.host, env.dns(), timeouts.dns, clock,
                                                     target.get("families", ("ipv4",)))
        obs["dns_experiment_failure"] = obs["http_experiment_failure"] = dns_failure
        if dns_failure is not None:
            obs["accessible"] = False
            return obs
    hs, req = asyncio.run(_fetch(url, addrs[0], timeouts, cafile, clock))
    obs["quic_handshakes"] = [hs]
    if req is None:
        obs["http_experiment_failure"] = hs["failure"]
    else:
        obs["requests"] = [req]
        obs["http_experiment_failure"] = req["failure"]
    # Without a control this says only that a response came, not that nothing interfered.
    obs["accessible"] = req is not None and req["response"]["code"] is not None
    return obs
