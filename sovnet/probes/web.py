"""OONI Web Connectivity from a vantage point, and the control measurement it is judged against.

measure_web is the probe's side, web_connectivity 0.5's steps: DNS through the vantage's
resolver, TCP connect to every address, for https:// a TLS handshake with the SNI on the first
that connected (recorded in tls_handshakes), the GET, following redirects; then sovnet's
page-load extension: every subresource of the page. measure_control is the test helper's
side, taken from the unfiltered vantage with the true addresses. Classification against each
other is ooni.classify's job.
"""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from sovnet.probes import tls
from sovnet.probes.net import (
    SPLIT_MSS,
    Clock,
    ProbeEnv,
    Response,
    Url,
    connect_first,
    endpoint,
    http_get,
    is_ip,
    request_headers,
    resolve,
    split_url,
    tcp_connect,
)
from sovnet.probes.parse import parse_page
from sovnet.probes.tls import TLS_ERRORS, tls_failure

PAGE_WORKERS = 8
MAX_REDIRECTS = 10  # OONI's probe, like a browser, gives up after ten
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Timeouts:
    dns: float = 1.0
    connect: float = 1.5
    tls: float = 2.0
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


def _connect_all(addrs: list[str], port: int, timeout: float, clock: Clock,
                 mss: int | None = None):
    """Connect to every address, as OONI measures every endpoint; keep the first that
    connected. -> (tcp_connect records, socket or None, its address, first failure)."""
    records, sock, ip, first_failure = [], None, None, None
    for addr in addrs:
        record, s = tcp_connect(addr, port, timeout, clock, mss)
        records.append(record)
        if s is None:
            first_failure = first_failure or record["status"]["failure"]
        elif sock is None:
            sock, ip = s, addr
        else:
            s.close()
    return records, sock, ip, first_failure


def _get(sock: socket.socket, u: Url, timeout: float):
    """-> (Response or None, failure)."""
    try:
        return http_get(sock, u.target, u.netloc, timeout), None
    except TLS_ERRORS as e:
        return None, tls_failure(e)


def _response_record(resp: Response | None, title: str | None) -> dict:
    if resp is None:
        return {"code": None, "headers": {}, "body_length": None, "title": None,
                "body_is_truncated": False}
    return {"code": resp.code, "headers": resp.headers, "body_length": len(resp.body),
            "title": title, "body_is_truncated": resp.truncated}


def redirect_location(resp: Response | None, url: str) -> str | None:
    """Where a 3xx answer sends the client, as an absolute URL; None for anything else."""
    if resp is None or resp.code not in REDIRECTS:
        return None
    location = next((v for k, v in resp.headers.items() if k.lower() == "location"), None)
    return urljoin(url, location) if location else None


@dataclass
class Leg:
    """One request of a chain of redirects: what was done to fetch one URL."""

    url: str
    tcp: list[dict]
    tls: list[dict]
    request: dict | None
    response: Response | None
    failure: str | None
    ip: str | None


def _fetch_url(url: str, addrs: list[str], timeouts: Timeouts, env: ProbeEnv, clock: Clock,
               mss: int | None = None, sni: str | None = None) -> Leg:
    """TCP connect to every address, a TLS handshake with the SNI (the URL's host unless `sni`
    is given) on the first connected one (https), then GET: OONI's steps for one URL."""
    u = split_url(url, env.http_port, env.https_port)
    tcp, sock, ip, failure = _connect_all(addrs, u.port, timeouts.connect, clock, mss)
    leg = Leg(url, tcp, [], None, None, failure, ip)
    if sock is None:
        return leg
    if u.tls:
        record, sock = tls.handshake(sock, ip, u.port, sni or u.host, timeouts.tls, clock)
        leg.tls.append(record)
        if sock is None:
            leg.failure = record["failure"]
            return leg
    t0 = clock.now()
    leg.response, leg.failure = _get(sock, u, timeouts.http)
    title = parse_page(leg.response.body)[0] if leg.response else None
    leg.request = {
        "request": {"url": url, "method": "GET", "headers": request_headers(u.netloc)},
        "response": _response_record(leg.response, title),
        "failure": leg.failure, "t0": t0, "t": clock.now(),
    }
    return leg


def _follow(url: str, addrs: list[str], timeouts: Timeouts, env: ProbeEnv, clock: Clock,
            cache: HostCache | None, mss: int | None = None, sni: str | None = None) -> list[Leg]:
    """Fetch url and follow its redirects (at most MAX_REDIRECTS), as OONI's probe does; the
    later hosts are looked up through the cache (the probe) or taken as they are (control)."""
    legs = [_fetch_url(url, addrs, timeouts, env, clock, mss, sni)]
    while len(legs) <= MAX_REDIRECTS:
        nxt = redirect_location(legs[-1].response, legs[-1].url)
        if nxt is None:
            break
        u = split_url(nxt, env.http_port, env.https_port)
        if cache is not None:
            nxt_addrs, failure = cache.lookup(u.host)
        else:
            nxt_addrs, failure = (addrs if u.host == split_url(url, env.http_port).host
                                  else []), None
        if not nxt_addrs:
            legs.append(Leg(nxt, [], [], None, None, failure or "dns_nxdomain_error", None))
            break
        legs.append(_fetch_url(nxt, nxt_addrs, timeouts, env, clock, mss))
    return legs


def measure_web(target: dict, timeouts: Timeouts, env: ProbeEnv, cache: HostCache,
                page: bool) -> dict:
    """The probe's observation of target["url"] (test keys of results/README.md)."""
    clock = Clock()
    url = target["url"]
    u = split_url(url, env.http_port, env.https_port)
    obs: dict = {"client_resolver": env.resolver[0] if env.resolver else None, "queries": [],
                 "tcp_connect": [], "tls_handshakes": [], "requests": [],
                 "dns_experiment_failure": None, "http_experiment_failure": None}
    if is_ip(u.host):
        addrs = [u.host]
    else:
        obs["queries"], addrs, dns_failure = resolve(u.host, env.dns(), timeouts.dns, clock,
                                                     target.get("families", ("ipv4",)))
        cache.seed(u.host, addrs, dns_failure)
        # As OONI does, the web step "fails" with the DNS failure when there is nothing to GET.
        obs["dns_experiment_failure"] = obs["http_experiment_failure"] = dns_failure
        if dns_failure is not None:
            if page:
                obs["page"] = {"resources": []}
            return obs
    mss = SPLIT_MSS if target.get("split_hello") else None
    legs = _follow(url, addrs, timeouts, env, clock, cache, mss, target.get("sni"))
    for leg in legs:
        obs["tcp_connect"] += leg.tcp
        obs["tls_handshakes"] += leg.tls
    # OONI lists the requests of a redirect chain newest first.
    obs["requests"] = [leg.request for leg in reversed(legs) if leg.request is not None]
    final = legs[-1]
    obs["http_experiment_failure"] = final.failure
    if page:
        resp = final.response
        refs = parse_page(resp.body)[1] if resp is not None and _is_html(resp) else []
        fu = split_url(final.url, env.http_port, env.https_port)
        obs["page"] = {"resources": _fetch_all(refs, final.url, final.ip, fu.port, timeouts,
                                               env, cache)}
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
        u = split_url(url, env.http_port, env.https_port)
    except ValueError as e:  # a link the probe cannot follow: another scheme, no host
        out["failure"] = f"unknown_failure: {e}"
        return out
    if urlsplit(ref).netloc:
        addrs, failure = cache.lookup(u.host)
    else:  # relative: the browser reuses the page's server
        addrs, failure = [page_ip] if page_ip else [], None
    sock, ip, connect_failure = connect_first(addrs, u.port, timeouts.connect)
    if sock is None:
        out["failure"] = failure or connect_failure
        return out
    if u.tls:
        record, sock = tls.handshake(sock, ip, u.port, u.host, timeouts.tls, Clock())
        if sock is None:
            out["failure"] = record["failure"]
            return out
    resp, out["failure"] = _get(sock, u, timeouts.http)
    out["status_code"] = resp.code if resp else None
    return out


def measure_control(target: dict, timeouts: Timeouts, env: ProbeEnv) -> dict:
    """The test helper's answer (OONI's TH response shape, stored as test_keys.control) from
    the true addresses target["addrs"]; no DNS, nothing of it is under test. It takes the same
    steps as the probe (TCP, TLS with the SNI, GET, redirects) from outside the country."""
    clock = Clock()
    url = target["url"]
    addrs = [str(a) for a in target["addrs"]]
    # An empty truth means the name is not in the zone, which sovnet's dnsd answers NXDOMAIN.
    dns_failure = None if addrs else "dns_nxdomain_error"
    legs = (_follow(url, addrs, timeouts, env, clock, None, sni=target.get("sni")) if addrs
            else [])
    records = [r for leg in legs for r in leg.tcp]
    handshakes = [h for leg in legs for h in leg.tls]
    final = legs[-1] if legs else None
    http = {"body_length": None, "failure": dns_failure or (final and final.failure),
            "title": None, "headers": {}, "status_code": None}
    resp = final.response if final else None
    if resp is not None:
        http.update(body_length=len(resp.body), title=parse_page(resp.body)[0],
                    headers=resp.headers, status_code=resp.code)
    return {
        "dns": {"addrs": addrs, "failure": dns_failure},
        "tcp_connect": {endpoint(r["ip"], r["port"]): {"status": r["status"]["success"],
                                                   "failure": r["status"]["failure"]}
                        for r in records},
        "tls_handshake": {h["address"]: {"server_name": h["server_name"],
                                         "status": h["failure"] is None,
                                         "failure": h["failure"]} for h in handshakes},
        "http_request": http,
    }
