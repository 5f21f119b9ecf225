"""OONI Web Connectivity from a vantage point, and the control measurement it is judged against.

measure_web is the probe's side (DNS through the vantage's resolver, TCP connect to every
address, HTTP GET on the first that connected, then sovnet's page-load extension: every
subresource of the page). measure_control is the test helper's side, taken from the unfiltered
vantage with the true addresses. Classification against each other is ooni.classify's job.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from sovnet.probes.net import (
    NETWORK_ERRORS,
    Clock,
    ProbeEnv,
    Response,
    connect_first,
    failure_string,
    http_get,
    is_ip,
    request_headers,
    resolve,
    split_url,
    tcp_connect,
)
from sovnet.probes.parse import parse_page

PAGE_WORKERS = 8


@dataclass(frozen=True)
class Timeouts:
    dns: float = 1.0
    connect: float = 1.5
    http: float = 3.0

    @classmethod
    def from_command(cls, raw: dict | None) -> Timeouts:
        return cls(**{k: float(v) for k, v in (raw or {}).items()})


class HostCache:
    """Name -> (addresses, failure) for one command, so that a CDN shared by the pages of one
    round is looked up once and every page sees the same answer."""

    def __init__(self, env: ProbeEnv, timeout: float):
        self.env = env
        self.timeout = timeout
        self._known: dict[str, tuple[list[str], str | None]] = {}
        self._lock = threading.Lock()

    def seed(self, host: str, addrs: list[str], failure: str | None) -> None:
        with self._lock:
            self._known.setdefault(host, (addrs, failure))

    def lookup(self, host: str) -> tuple[list[str], str | None]:
        if is_ip(host):
            return [host], None
        with self._lock:
            hit = self._known.get(host)
        if hit is None:
            _, addrs, failure = resolve(host, self.env.dns(), self.timeout, Clock())
            self.seed(host, addrs, failure)
            hit = (addrs, failure)
        return hit


def _connect_all(addrs: list[str], port: int, timeout: float, clock: Clock):
    """Connect to every address, as OONI measures every endpoint; keep the first that
    connected. -> (tcp_connect records, socket or None, its address, first failure)."""
    records, sock, ip, first_failure = [], None, None, None
    for addr in addrs:
        record, s = tcp_connect(addr, port, timeout, clock)
        records.append(record)
        if s is None:
            first_failure = first_failure or record["status"]["failure"]
        elif sock is None:
            sock, ip = s, addr
        else:
            s.close()
    return records, sock, ip, first_failure


def _get(sock: socket.socket, url: str, http_port: int, timeout: float):
    """-> (Response or None, failure)."""
    u = split_url(url, http_port)
    try:
        return http_get(sock, u.target, u.netloc, timeout), None
    except NETWORK_ERRORS as e:
        return None, failure_string(e)


def _response_record(resp: Response | None, title: str | None) -> dict:
    if resp is None:
        return {"code": None, "headers": {}, "body_length": None, "title": None,
                "body_is_truncated": False}
    return {"code": resp.code, "headers": resp.headers, "body_length": len(resp.body),
            "title": title, "body_is_truncated": resp.truncated}


def measure_web(target: dict, timeouts: Timeouts, env: ProbeEnv, cache: HostCache,
                page: bool) -> dict:
    """The probe's observation of target["url"] (test keys of results/README.md)."""
    clock = Clock()
    url = target["url"]
    u = split_url(url, env.http_port)
    obs: dict = {"client_resolver": env.resolver[0] if env.resolver else None, "queries": [],
                 "tcp_connect": [], "requests": [], "dns_experiment_failure": None,
                 "http_experiment_failure": None}
    if is_ip(u.host):
        addrs = [u.host]
    else:
        obs["queries"], addrs, dns_failure = resolve(u.host, env.dns(), timeouts.dns, clock)
        cache.seed(u.host, addrs, dns_failure)
        # As OONI does, the web step "fails" with the DNS failure when there is nothing to GET.
        obs["dns_experiment_failure"] = obs["http_experiment_failure"] = dns_failure
    obs["tcp_connect"], sock, ip, connect_failure = _connect_all(
        addrs, u.port, timeouts.connect, clock)
    resp, refs = None, []
    if sock is None:
        obs["http_experiment_failure"] = obs["http_experiment_failure"] or connect_failure
    else:
        t0 = clock.now()
        resp, failure = _get(sock, url, env.http_port, timeouts.http)
        title, refs = parse_page(resp.body) if resp else (None, [])
        obs["requests"] = [{
            "request": {"url": url, "method": "GET", "headers": request_headers(u.netloc)},
            "response": _response_record(resp, title),
            "failure": failure, "t0": t0, "t": clock.now(),
        }]
        obs["http_experiment_failure"] = failure
    if page:
        refs = refs if resp is not None and _is_html(resp) else []
        obs["page"] = {"resources": _fetch_all(refs, url, ip, u.port, timeouts, env, cache)}
    return obs


def _is_html(resp: Response) -> bool:
    ctype = next((v for k, v in resp.headers.items() if k.lower() == "content-type"), "")
    return "html" in ctype.lower()


def _fetch_all(refs: list[str], page_url: str, page_ip: str | None, page_port: int,
               timeouts: Timeouts, env: ProbeEnv, cache: HostCache) -> list[dict]:
    if not refs:
        return []

    def fetch(ref: str) -> dict:
        return _fetch(ref, page_url, page_ip, page_port, timeouts, env, cache)

    with ThreadPoolExecutor(max_workers=min(PAGE_WORKERS, len(refs))) as pool:
        return list(pool.map(fetch, refs))


def _fetch(ref: str, page_url: str, page_ip: str | None, page_port: int, timeouts: Timeouts,
           env: ProbeEnv, cache: HostCache) -> dict:
    """One subresource: {"url", "failure", "status_code"}."""
    url = urljoin(page_url, ref)
    out = {"url": url, "failure": None, "status_code": None}
    try:
        u = split_url(url, env.http_port)
    except ValueError as e:  # a link the probe cannot follow: another scheme, no host
        out["failure"] = f"unknown_failure: {e}"
        return out
    if urlsplit(ref).netloc:
        addrs, failure = cache.lookup(u.host)
        port = u.port
    else:  # relative: the browser reuses the page's server
        addrs, failure, port = [page_ip] if page_ip else [], None, page_port
    sock, connect_failure = connect_first(addrs, port, timeouts.connect)
    if sock is None:
        out["failure"] = failure or connect_failure
        return out
    resp, out["failure"] = _get(sock, url, env.http_port, timeouts.http)
    out["status_code"] = resp.code if resp else None
    return out


def measure_control(target: dict, timeouts: Timeouts, env: ProbeEnv) -> dict:
    """The test helper's answer (OONI's TH response shape, stored as test_keys.control) from
    the true addresses target["addrs"]; no DNS, nothing of it is under test."""
    clock = Clock()
    url = target["url"]
    u = split_url(url, env.http_port)
    addrs = [str(a) for a in target["addrs"]]
    # An empty truth means the name is not in the zone, which sovnet's dnsd answers NXDOMAIN.
    dns_failure = None if addrs else "dns_nxdomain_error"
    records, sock, _, connect_failure = _connect_all(addrs, u.port, timeouts.connect, clock)
    http = {"body_length": None, "failure": dns_failure or connect_failure, "title": None,
            "headers": {}, "status_code": None}
    if sock is not None:
        resp, http["failure"] = _get(sock, url, env.http_port, timeouts.http)
        if resp is not None:
            http.update(body_length=len(resp.body), title=parse_page(resp.body)[0],
                        headers=resp.headers, status_code=resp.code)
    return {
        "dns": {"addrs": addrs, "failure": dns_failure},
        "tcp_connect": {f"{r['ip']}:{r['port']}": {"status": r["status"]["success"],
                                                   "failure": r["status"]["failure"]}
                        for r in records},
        "http_request": http,
    }
