"""The DNS server of a resolver host: `python -m sovnet.emulation.dnsd --zone FILE ...`.

Serves UDP and TCP. Answers A queries for the names in the zone file ({"name": "ip", ...}),
NOERROR with no answer for other query types of a known name, and NXDOMAIN for unknown names.
With `--store DB` it is an ISP resolver that obeys the policy store: where a dns_tamper policy
in force covers the asking subscriber and the name's service, it answers NXDOMAIN or the
policy's address instead (sovnet.compile.dns_tamper decides; a store change applies within ~20 ms).
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

from dnslib import AAAA, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from sovnet.model.schedule import Clock, in_force
from sovnet.model.topology import embed6

TTL = 60


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
        from sovnet.compile.dns_tamper import resolver_answer

        topology, policies, subscribers, clock = self.view.current
        policies = in_force(policies, clock, time.time())  # a scheduled lie has its hours
        q = request.q
        client = handler.client_address[0]
        answer = resolver_answer(topology, policies, client, normalize(q.qname),
                                 subscribers) if topology else None
        if answer is None:
            return super().resolve(request, handler)
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
    a = ap.parse_args(argv)
    zone = load_zone(a.zone)

    def log(msg):
        sys.stderr.write(msg + "\n")

    resolver = (PolicyResolver(zone.get, StoreView(a.store), log, a.ipv6) if a.store
                else ZoneResolver(zone.get, ipv6=a.ipv6))
    serve(resolver, a.address, a.port, logf=log)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write(f"{os.getpid()}\n")
    log(f"dnsd {a.name} listening on {a.address}:{a.port} udp+tcp, {len(zone)} names")
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
