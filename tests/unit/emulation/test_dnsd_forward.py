"""An ISP resolver's recursion across the border (dnsd.Forwarder) and its query counts, on
real sockets on the loopback."""

from __future__ import annotations

import json
import socket

from dnslib import QTYPE, RCODE, DNSRecord

from sovnet.emulation.dnsd import Counter, Counting, Forwarder, ZoneResolver, serve


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(port: int, name: str) -> DNSRecord:
    return DNSRecord.parse(DNSRecord.question(name, "A").send("127.0.0.1", port, timeout=5))


def _server(resolver) -> tuple[int, list]:
    port = _free_udp_port()
    return port, serve(resolver, "127.0.0.1", port)


def test_foreign_names_are_asked_abroad_once_then_answered_from_the_cache(tmp_path):
    abroad_counter = Counter(str(tmp_path / "abroad.jsonl"))
    abroad = Counting(ZoneResolver({"news.example": "172.16.0.2"}.get), abroad_counter, None)
    up_port, up = _server(abroad)
    isp = Counting(ZoneResolver({"bank.sov": "10.250.0.2"}.get), Counter(None),
                   Forwarder("127.0.0.1", {"news.example"}, port=up_port))
    port, servers = _server(isp)
    try:
        for _ in range(3):
            reply = _ask(port, "news.example")
            assert [str(rr.rdata) for rr in reply.rr] == ["172.16.0.2"]
        assert str(_ask(port, "bank.sov").rr[0].rdata) == "10.250.0.2"  # answered at home
        abroad_counter.close()
        counted = [json.loads(x)["n"] for x in (tmp_path / "abroad.jsonl").read_text().splitlines()]
        assert sum(counted) == 1
    finally:
        for s in servers + up:
            s.stop()


def test_no_answer_from_abroad_is_retried_then_servfail_and_every_try_counts(tmp_path):
    dead = _free_udp_port()  # nobody answers there
    counter = Counter(str(tmp_path / "isp.jsonl"))
    fwd = Forwarder("127.0.0.1", {"news.example"}, port=dead, retries=3, timeout=0.05)
    port, servers = _server(Counting(ZoneResolver({}.get), counter, fwd))
    try:
        reply = _ask(port, "news.example")
        assert reply.header.rcode == RCODE.SERVFAIL
        assert reply.q.qtype == QTYPE.A
        counter.close()
        counted = [json.loads(x)["n"] for x in (tmp_path / "isp.jsonl").read_text().splitlines()]
        assert sum(counted) == 1  # the stub's one query; the three tries went to `dead`
    finally:
        for s in servers:
            s.stop()


def test_a_lie_the_store_orders_comes_before_recursion_abroad(tmp_path):
    """Myanmar 2021: celnova's resolver answered 127.0.0.1 for Facebook, a foreign name it
    would otherwise have asked abroad; the lie must win, and nothing must go abroad."""
    from types import SimpleNamespace

    from sovnet.config import load_topology
    from sovnet.emulation.dnsd import PolicyResolver
    from sovnet.model.policy import Policy, Scope, Target
    from sovnet.model.schedule import Clock

    topo = load_topology("topologies/minimal.yaml")
    social = next(s for s in topo.services if s.category == "GRP")
    alice = topo.host("alice")
    lie = Policy(1, "dns_tamper:127.0.0.1", Scope("all"), Target("category", "GRP"))
    view = SimpleNamespace(current=(topo, (lie,), {}, Clock()))
    abroad = Counter(str(tmp_path / "abroad.jsonl"))
    up_port, up = _server(Counting(ZoneResolver({social.domains[0]: "172.16.0.9"}.get),
                                   abroad, None))
    isp = Counting(PolicyResolver({}.get, view), Counter(None),
                   Forwarder("127.0.0.1", {social.domains[0]}, port=up_port))
    handler = SimpleNamespace(client_address=(alice.ip, 5353))
    try:
        reply = isp.resolve(DNSRecord.question(social.domains[0], "A"), handler)
        assert [str(rr.rdata) for rr in reply.rr] == ["127.0.0.1"]
        stranger = SimpleNamespace(client_address=("192.0.2.1", 5353))  # no subscriber: truth
        reply = isp.resolve(DNSRecord.question(social.domains[0], "A"), stranger)
        assert [str(rr.rdata) for rr in reply.rr] == ["172.16.0.9"]
        abroad.close()
        counted = [json.loads(x)["n"] for x in (tmp_path / "abroad.jsonl").read_text().splitlines()]
        assert sum(counted) == 1  # only the stranger's query went abroad
    finally:
        for s in up:
            s.stop()
