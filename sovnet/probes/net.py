"""The network operations of the probes, each recorded with OONI's field names.

A DNS A lookup over UDP through a given resolver (dnslib), a TCP connect and an HTTP GET on a
connected socket. Failures a network can cause become OONI df-007 failure strings through
`failure_string`, the one place that maps them; anything else (a bug) propagates, so that the
agent reports it as an error instead of as a measured failure.
"""

from __future__ import annotations

import errno
import http.client
import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from dnslib import QTYPE, RCODE, DNSError, DNSRecord

from sovnet.probes import source

MAX_BODY = 1 << 20
CHUNK = 1 << 16


class DNSRcodeError(Exception):
    def __init__(self, rcode: int):
        super().__init__(f"DNS rcode {RCODE.get(rcode, rcode)}")
        self.rcode = rcode


class DNSNoAnswer(Exception):
    """NOERROR without an A record."""


class EOFFailure(Exception):
    """The peer closed the connection before the whole response arrived."""


# The exceptions a network can cause; the probes record them as failures.
NETWORK_ERRORS = (OSError, http.client.HTTPException, DNSError, DNSRcodeError, DNSNoAnswer,
                  EOFFailure)

_ERRNO = {
    errno.ETIMEDOUT: "generic_timeout_error",
    errno.ECONNREFUSED: "connection_refused",
    errno.ECONNRESET: "connection_reset",
    errno.EHOSTUNREACH: "host_unreachable",
    errno.ENETUNREACH: "network_unreachable",
}
_RCODE = {
    RCODE.NXDOMAIN: "dns_nxdomain_error",
    RCODE.SERVFAIL: "dns_servfail_error",
    RCODE.REFUSED: "dns_refused_error",
}


def failure_string(exc: BaseException) -> str:
    """OONI's df-007 failure string for what went wrong."""
    if isinstance(exc, DNSRcodeError):
        return _RCODE.get(exc.rcode, f"unknown_failure: {exc}")
    if isinstance(exc, DNSNoAnswer):
        return "dns_no_answer"
    # RemoteDisconnected is also a ConnectionResetError, but it means a clean close before the
    # status line: OONI's eof_error, not a reset.
    if isinstance(exc, (EOFFailure, http.client.IncompleteRead, http.client.RemoteDisconnected)):
        return "eof_error"
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return "generic_timeout_error"
    if isinstance(exc, OSError) and exc.errno in _ERRNO:
        return _ERRNO[exc.errno]
    return f"unknown_failure: {exc}" if str(exc) else f"unknown_failure: {type(exc).__name__}"


class Clock:
    """Seconds since a measurement started: the t0 and t of its operations."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def now(self) -> float:
        return round(time.monotonic() - self.start, 6)


def endpoint(ip: str, port: int) -> str:
    """OONI's "address" of an endpoint: 10.0.0.1:443, [fd00::1]:443."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def parse_endpoint(text: str, default_port: int) -> tuple[str, int]:
    """"IP" or "IP:PORT" -> (ip, port)."""
    ip, sep, port = text.rpartition(":")
    return (ip, int(port)) if sep else (text, default_port)


def _exchange(query: DNSRecord, resolver: tuple[str, int], timeout: float) -> DNSRecord:
    deadline = time.monotonic() + timeout
    with source.new_socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        # A connected UDP socket gets the resolver's ICMP port-unreachable as ECONNREFUSED.
        s.connect(resolver)
        s.send(query.pack())
        while True:
            s.settimeout(max(deadline - time.monotonic(), 1e-3))
            reply = DNSRecord.parse(s.recv(4096))
            if reply.header.id == query.header.id:
                return reply


def _query(hostname: str, resolver: tuple[str, int], timeout: float, clock: Clock,
           qtype: str = "A"):
    t0 = clock.now()
    query = DNSRecord.question(hostname, qtype)
    addrs: list[str] = []
    rcode = failure = None
    try:
        reply = _exchange(query, resolver, timeout)
        rcode = reply.header.rcode
        addrs = [str(rr.rdata) for rr in reply.rr if rr.rtype == getattr(QTYPE, qtype)]
        if rcode != RCODE.NOERROR:
            raise DNSRcodeError(rcode)
        if not addrs:
            raise DNSNoAnswer()
    except NETWORK_ERRORS as e:
        failure = failure_string(e)
    record = {
        "engine": "udp",
        "resolver_address": f"{resolver[0]}:{resolver[1]}",
        "hostname": hostname,
        "query_type": qtype,
        "answers": [{"answer_type": qtype, ("ipv4" if qtype == "A" else "ipv6"): a}
                    for a in addrs],
        "failure": failure,
        "rcode": rcode,
        "t0": t0,
        "t": clock.now(),
    }
    return record, addrs, failure


QTYPE_OF = {"ipv4": "A", "ipv6": "AAAA"}
# A stub resolver asks again when its resolver did not answer or answered SERVFAIL (glibc's
# default `attempts:2`; OONI's probe retries a timeout once): under a cut of the answers'
# way back, each lookup becomes several queries, and each of those the resolver's retries.
STUB_ATTEMPTS = 2
RETRIED = ("generic_timeout_error", "dns_servfail_error")


def resolve(hostname: str, resolver: tuple[str, int], timeout: float, clock: Clock,
            families: tuple[str, ...] | list[str] = ("ipv4",)):
    """-> (queries, addresses, failure): an A query (and an AAAA query, at the same time, for
    "ipv6"), each asked again once if it timed out or got SERVFAIL. As OONI's probe does, the
    lookup fails only when no query brought an address; the failure is then the first
    family's."""
    qtypes = [QTYPE_OF[f] for f in families]
    if len(qtypes) == 1:
        results = [_lookup(hostname, qtypes[0], resolver, timeout, clock)]
    else:
        with ThreadPoolExecutor(max_workers=len(qtypes)) as pool:
            results = list(pool.map(
                lambda q: _lookup(hostname, q, resolver, timeout, clock), qtypes))
    queries = [r for rs, _, _ in results for r in rs]
    addrs = [a for _, found, _ in results for a in found]
    return queries, addrs, None if addrs else results[0][2]


def _lookup(hostname: str, qtype: str, resolver: tuple[str, int], timeout: float,
            clock: Clock):
    queries = []
    for _ in range(STUB_ATTEMPTS):
        record, addrs, failure = _query(hostname, resolver, timeout, clock, qtype)
        queries.append(record)
        if failure not in RETRIED:
            break
    return queries, (addrs if failure is None else []), failure


# The least MSS Linux takes: a ClientHello then leaves in several segments, the first ending
# long before the SNI (record and handshake headers, random, session id: 76 bytes), which is how
# a probe splits its ClientHello against a censor that reads one packet (split_hello).
SPLIT_MSS = 88


def tcp_connect(ip: str, port: int, timeout: float, clock: Clock, mss: int | None = None):
    """-> (df-005 record, the connected socket or None). `mss` caps the segments it sends."""
    t0 = clock.now()
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock: socket.socket | None = source.new_socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if mss is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    failure = None
    try:
        sock.connect((ip, port))
    except OSError as e:
        failure = failure_string(e)
        sock.close()
        sock = None
    status = {"success": failure is None, "failure": failure}
    return {"ip": ip, "port": port, "status": status, "t0": t0, "t": clock.now()}, sock


def connect_first(addrs: list[str], port: int, timeout: float):
    """Try the addresses in turn, as a browser does, until one connects.
    -> (socket or None, its address, the first failure)."""
    first_failure = None
    for addr in addrs:
        record, sock = tcp_connect(addr, port, timeout, Clock())
        if sock is not None:
            return sock, addr, None
        first_failure = first_failure or record["status"]["failure"]
    return None, None, first_failure


@dataclass
class Response:
    code: int
    headers: dict[str, str]
    body: bytes
    truncated: bool


def _chunks(resp: http.client.HTTPResponse, sock: socket.socket, deadline: float):
    """The body as it arrives; the deadline bounds the whole read."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline reached while reading the body")
        sock.settimeout(remaining)
        chunk = resp.read1(CHUNK)
        if not chunk:
            if resp.length:  # Content-Length not reached: the peer closed early
                raise EOFFailure(f"{resp.length} bytes of the body missing")
            return
        yield chunk


def request_headers(netloc: str) -> dict[str, str]:
    return {"Host": netloc, "Connection": "close"}


@contextmanager
def _get(sock: socket.socket, target: str, netloc: str, deadline: float):
    """GET target on a connected socket; yields the response once its headers arrived and
    closes the connection afterwards."""
    conn = http.client.HTTPConnection(netloc)
    conn.sock = sock  # reuse the measured connection instead of dialling again
    try:
        sock.settimeout(max(deadline - time.monotonic(), 1e-3))
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        for name, value in request_headers(netloc).items():
            conn.putheader(name, value)
        conn.endheaders()
        yield conn.getresponse()
    finally:
        conn.close()


def http_get(sock: socket.socket, target: str, netloc: str, timeout: float) -> Response:
    """GET with the whole exchange bounded by timeout, the body capped at MAX_BODY bytes."""
    deadline = time.monotonic() + timeout
    parts, size = [], 0
    with _get(sock, target, netloc, deadline) as resp:
        for chunk in _chunks(resp, sock, deadline):
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_BODY:
                break
    headers: dict[str, str] = {}
    for name, value in resp.getheaders():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    body = b"".join(parts)
    return Response(resp.status, headers, body[:MAX_BODY], len(body) > MAX_BODY)


def count_body(sock: socket.socket, target: str, netloc: str, deadline: float):
    """GET and count the body: -> (status, bytes, seconds of body transfer, failure).

    A failure mid-transfer keeps what arrived: under throttling the partial rate is the
    measurement."""
    received, seconds, status, failure = 0, 0.0, None, None
    try:
        with _get(sock, target, netloc, deadline) as resp:
            status = resp.status
            started = time.monotonic()
            try:
                for chunk in _chunks(resp, sock, deadline):
                    received += len(chunk)
            finally:
                seconds = time.monotonic() - started
    except NETWORK_ERRORS as e:
        failure = failure_string(e)
    return status, received, seconds, failure


def upload(sock: socket.socket, netloc: str, size: int, deadline: float):
    """POST `size` bytes to /upload and wait for the server to say it has them all:
    -> (status, bytes sent, seconds, failure). The time runs until the answer, so what the
    kernel buffered but the network did not yet carry is not counted as sent early."""
    head = (f"POST /upload HTTP/1.1\r\nHost: {netloc}\r\nConnection: close\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n")
    sent, status, failure = 0, None, None
    started = time.monotonic()
    try:
        sock.settimeout(max(deadline - time.monotonic(), 1e-3))
        sock.sendall(head.encode())
        chunk = b"u" * CHUNK
        while sent < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline reached while uploading")
            sock.settimeout(remaining)
            part = chunk[: min(CHUNK, size - sent)]
            sock.sendall(part)
            sent += len(part)
        resp = http.client.HTTPResponse(sock)  # type: ignore[arg-type]
        sock.settimeout(max(deadline - time.monotonic(), 1e-3))
        resp.begin()
        status = resp.status
        resp.read()
    except NETWORK_ERRORS as e:
        failure = failure_string(e)
    return status, sent, time.monotonic() - started, failure


@dataclass(frozen=True)
class ProbeEnv:
    """Where a vantage point's probes send their queries and requests."""

    resolver: tuple[str, int] | None
    http_port: int = 80
    https_port: int = 443

    def dns(self) -> tuple[str, int]:
        """The resolver, for probes that cannot do without one."""
        if self.resolver is None:
            raise RuntimeError("no resolver: pass --resolver or set one in /etc/resolv.conf")
        return self.resolver


@dataclass(frozen=True)
class Url:
    host: str
    port: int
    netloc: str  # as written in the URL: the Host header a browser would send
    target: str  # path and query
    scheme: str = "http"

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


def split_url(url: str, http_port: int, https_port: int = 443) -> Url:
    """An http or https URL; port-less URLs use http_port or https_port (80 and 443 in the
    emulation, others in tests)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = https_port if parts.scheme == "https" else http_port
    return Url(parts.hostname, parts.port or default, parts.netloc, target, parts.scheme)


def is_ip(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True
