"""The DNS server of a resolver host: `python -m sovnet.emulation.dnsd --zone FILE ...`.

Serves UDP and TCP. Answers A queries for the names in the zone file ({"name": "ip", ...}),
NOERROR with no answer for other query types of a known name, and NXDOMAIN for unknown names.
With `--store DB` it is an ISP resolver that obeys the policy store: where a dns_tamper policy
in force covers the asking subscriber and the name's service, it answers NXDOMAIN or the
policy's address instead (sovnet.compile.dns_tamper decides; a store change applies within ~20 ms).

With `--upstream IP --forward FILE` it recurses for the names FILE lists (the foreign ones)
across the border, to a resolver abroad, as an ISP's recursive resolver does: answers are
cached for their TTL, a query that gets no answer is sent again (RETRIES times, TIMEOUT s
apart) and then answered SERVFAIL. With `--counts FILE` it writes, each second, how many
queries it received then: what an operator (or an observer abroad) sees of a retry flood.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from sovnet.model.schedule import Clock, in_force
from sovnet.model.topology import embed6

TTL = 60
RETRIES = 3  # upstream tries per query, as BIND's and Unbound's retransmissions
TIMEOUT = 0.8  # s per upstream try


def normalize(name: str) -> str:
    return str(name).lower().rstrip(".")


def load_zone(path: str) -> dict[str, str]:
    with open(path) as f:
        raw = json.load(f)
    return {normalize(k): str(v) for k, v in raw.items()}


class ZoneResolver(BaseResolver):
    """A records from lookup(name) -> ip or None (name lower-case, without trailing dot)."""

    def __init__(self, lookup: Callable[[str], str | None], ttl: int = TTL, ipv6: str = ""):
        self.lookup = lookup
        self.ttl = ttl
        self.ipv6 = ipv6  # the lab's /96: AAAA answers embed the A answer in it

    def lie(self, request, handler):
        """The answer a policy orders instead of the truth, or None (here: never)."""
        return None

    def resolve(self, request, handler):
        reply = request.reply()
        q = request.q
        ip = self.lookup(normalize(q.qname))
        if ip is None:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            self.answer(reply, q, ip)
        return reply

    def answer(self, reply, q, ip: str) -> None:
        """A for A (and ANY); AAAA for AAAA (and ANY) in a dual-stack lab, where every host's
        IPv6 address is its IPv4 one embedded in the /96, lies included."""
        if q.qtype in (QTYPE.A, QTYPE.ANY):
            reply.add_answer(RR(q.qname, QTYPE.A, ttl=self.ttl, rdata=A(ip)))
        if self.ipv6 and q.qtype in (QTYPE.AAAA, QTYPE.ANY):
            reply.add_answer(RR(q.qname, QTYPE.AAAA, ttl=self.ttl,
                                rdata=AAAA(embed6(self.ipv6, ip))))


class Counter:
    """Queries received per second, written as JSON lines {"t": second, "n": count}."""

    def __init__(self, path: str | None):
        self.path = path
        self.lock = threading.Lock()
        self.second, self.n = int(time.time()), 0
        if path is not None:  # a quiet second is written when it is over, not at the next query
            threading.Thread(target=self._tick, daemon=True, name="counts").start()

    def _tick(self) -> None:
        while True:
            time.sleep(1.0 - time.time() % 1.0 + 0.01)
            with self.lock:
                if int(time.time()) != self.second:
                    self._flush()
                    self.second, self.n = int(time.time()), 0

    def count(self) -> None:
        if self.path is None:
            return
        now = int(time.time())
        with self.lock:
            if now != self.second:
                self._flush()
                self.second, self.n = now, 0
            self.n += 1

    def _flush(self) -> None:
        if self.n and self.path is not None:
            try:
                with open(self.path, "a") as f:
                    f.write(json.dumps({"t": self.second, "n": self.n}) + "\n")
            except OSError as e:  # counting must never cost an answer
                sys.stderr.write(f"cannot write query counts to {self.path}: {e}\n")
                self.path = None

    def close(self) -> None:
        with self.lock:
            self._flush()
            self.n = 0


class Forwarder:
    """Recursion across the border for the names it is given: cache, retries, SERVFAIL."""

    def __init__(self, upstream: str, names: set[str], port: int = 53,
                 retries: int = RETRIES, timeout: float = TIMEOUT):
        self.upstream, self.port, self.names = upstream, port, names
        self.retries, self.timeout = retries, timeout
        self.cache: dict[tuple[str, int], tuple[float, DNSRecord]] = {}
        self.lock = threading.Lock()

    def handles(self, name: str) -> bool:
        return name in self.names

    def resolve(self, request: DNSRecord) -> DNSRecord:
        q = request.q
        key = (normalize(q.qname), q.qtype)
        with self.lock:
            hit = self.cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return self._as_reply(request, hit[1])
        for _ in range(self.retries):
            try:
                raw = DNSRecord.question(str(q.qname), QTYPE[q.qtype]).send(
                    self.upstream, self.port, timeout=self.timeout)
            except OSError:  # a timeout, or the upstream unreachable
                continue
            answer = DNSRecord.parse(raw)
            ttl = min((rr.ttl for rr in answer.rr), default=TTL)
            with self.lock:
                self.cache[key] = (time.monotonic() + ttl, answer)
            return self._as_reply(request, answer)
        reply = request.reply()
        reply.header.rcode = RCODE.SERVFAIL
        return reply

    @staticmethod
    def _as_reply(request: DNSRecord, answer: DNSRecord) -> DNSRecord:
        reply = request.reply()
        reply.header.rcode = answer.header.rcode
        for rr in answer.rr:
            reply.add_answer(rr)
        return reply


class Counting(BaseResolver):
    """Counts every query, answers what a policy orders, recurses for the forwarded names, and
    asks `inner` for the rest. The order matters: a resolver told to lie about a foreign name
    lies (Myanmar 2021's 127.0.0.1) rather than asking abroad."""

    def __init__(self, inner: ZoneResolver, counter: Counter, forwarder: Forwarder | None):
        self.inner, self.counter, self.forwarder = inner, counter, forwarder

    def resolve(self, request, handler):
        self.counter.count()
        lie = self.inner.lie(request, handler)
        if lie is not None:
            return lie
        if self.forwarder is not None and self.forwarder.handles(normalize(request.q.qname)):
            return self.forwarder.resolve(request)
        return self.inner.resolve(request, handler)


class StoreView:
    """The topology and policies in force, re-read whenever a revision is committed (the
    controller's StoreWatcher notices; 20 ms polls are plenty for a resolver)."""

    def __init__(self, path: str, interval: float = 0.02):
        from sovnet.store import StoreWatcher, open_store

        self.store = open_store(path, create=False)
        self.current: tuple = (None, (), {}, Clock())
        # Watcher first, as the controller does: a commit landing meanwhile is then read by
        # one or the other.
        StoreWatcher(path, lambda _rev: self.refresh(), interval=interval).start()
        self.refresh()

    def refresh(self) -> None:
        snap = self.store.snapshot()
        # one assignment: readers see one revision's values together
        self.current = (snap.topology, snap.policies, snap.subscribers,
                        snap.clock)


class PolicyResolver(ZoneResolver):
    """ZoneResolver, but lying where the store's dns_tamper policies say so."""

    def __init__(self, lookup: Callable[[str], str | None], view: StoreView, log=None,
                 ipv6: str = ""):
        super().__init__(lookup, ipv6=ipv6)
        self.view = view
        self.log = log or (lambda msg: None)

    def resolve(self, request, handler):
        lie = self.lie(request, handler)
        return super().resolve(request, handler) if lie is None else lie

    def lie(self, request, handler):
        from sovnet.compile.dns_tamper import resolver_answer

        topology, policies, subscribers, clock = self.view.current
        policies = in_force(policies, clock, time.time())  # a scheduled lie has its hours
        q = request.q
        client = handler.client_address[0]
        answer = resolver_answer(topology, policies, client, normalize(q.qname),
                                 subscribers) if topology else None
        if answer is None:
            return None
        self.log(f"tampered: {client} asked {normalize(q.qname)}: answered {answer}")
        reply = request.reply()
        if answer == "nxdomain":
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            self.answer(reply, q, answer)
        return reply


def serve(resolver: BaseResolver, address: str = "0.0.0.0", port: int = 53, logf=None):
    """Start UDP and TCP servers in threads; return them (already listening)."""
    logger = DNSLogger("request,reply,truncated,error", prefix=False, logf=logf)
    servers = [
        DNSServer(resolver, address=address, port=port, tcp=tcp, logger=logger)
        for tcp in (False, True)
    ]
    for s in servers:
        s.start_thread()
    return servers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sovnet.emulation.dnsd")
    ap.add_argument("--zone", required=True, help='JSON file {"name": "ip", ...}')
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--address", default="0.0.0.0")
    ap.add_argument("--name", default="resolver", help="the resolver's name, for the log")
    ap.add_argument("--ready", help="file written once both sockets listen")
    ap.add_argument("--store", help="the policy store whose dns_tamper policies to obey")
    ap.add_argument("--ipv6", default="", help="the lab's /96: answer AAAA queries too")
    ap.add_argument("--upstream", help="a resolver abroad to recurse to for --forward names")
    ap.add_argument("--forward", help='JSON file ["name", ...]: the names to recurse for')
    ap.add_argument("--counts", help="append queries received per second here (JSON lines)")
    a = ap.parse_args(argv)
    zone = load_zone(a.zone)

    def log(msg):
        sys.stderr.write(msg + "\n")

    inner = (PolicyResolver(zone.get, StoreView(a.store), log, a.ipv6) if a.store
             else ZoneResolver(zone.get, ipv6=a.ipv6))
    forwarder = None
    if a.upstream and a.forward:
        with open(a.forward) as f:
            forwarder = Forwarder(a.upstream, {normalize(n) for n in json.load(f)})
    counter = Counter(a.counts)
    serve(Counting(inner, counter, forwarder), a.address, a.port, logf=log)
    stop = threading.Event()

    def _stop(*_):
        counter.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, _stop)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write(f"{os.getpid()}\n")
    log(f"dnsd {a.name} listening on {a.address}:{a.port} udp+tcp, {len(zone)} names")
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
