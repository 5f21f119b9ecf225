"""The collector process for real (no root needed): NetFlow v5 datagrams sent to it over UDP
on the loopback become flow records in the store; it follows the store's policies and
retention, and on SIGTERM writes what it has received before exiting."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest

from sovnet.flowlog.process import CollectorError, CollectorProcess
from sovnet.model.command import PolicyRequest
from sovnet.poll import eventually
from sovnet.store import open_store
from tests.unit import handmade
from tests.unit.netflow_packets import packet, record

TOPO = handmade.topology()
ALICE, BOB, BANK = (TOPO.host(n) for n in ("alice", "bob", "bank"))
ACC1, ACC2 = 1, 2  # exporter numbers (sovnet.compile.flowlog.exporters)
UPLINK = 1
UPTIME = 1_000_000  # the exporter's uptime (ms) when it sends


@pytest.fixture
def lab(tmp_path):
    store = open_store(tmp_path / "store.db")
    store.load_inventory(TOPO, "test", "inventory")
    collector = CollectorProcess(store.path, tmp_path)
    collector.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        yield store, collector, sock
    finally:
        collector.stop()
        sock.close()
        store.close()


def send(sock, collector, exporter, *records):
    """One export packet, its flows ending as it is sent (after the policies the tests add:
    a flow is judged by the policies in force while it ran)."""
    sock.sendto(packet(exporter, time.time(), UPTIME, [
        record(**{**r, "first": UPTIME - 50, "last": UPTIME}) for r in records]),
        ("127.0.0.1", collector.port))


def count(store, n):
    def check():
        assert len(store.flows.records()) == n

    return check


def alice_to_bank(**kw):
    return dict(src=ALICE.ip, dst=BANK.ip, in_port=ALICE.port, out_port=UPLINK, **kw)


def test_covered_flows_become_records_with_the_policy_and_the_rest_is_dropped(lab):
    store, collector, sock = lab
    p = store.add_policy(PolicyRequest.of("log", "subscriber:alice", "service:bank", author="test"))
    send(sock, collector, ACC2, dict(src=BOB.ip, dst=BANK.ip, in_port=BOB.port,
                                     out_port=UPLINK))  # bob is not in scope
    send(sock, collector, ACC1, alice_to_bank(nbytes=812, packets=11),
         dict(src=BANK.ip, dst=ALICE.ip, src_port=80, dst_port=40000, in_port=UPLINK,
              out_port=ALICE.port, nbytes=7430, packets=9))

    def both():
        got = {r.direction: r for r in store.flows.records()}
        assert set(got) == {"up", "down"}
        return got

    got = eventually(both, timeout=10)
    assert {r.subscriber for r in got.values()} == {"alice"}
    assert {r.policy for r in got.values()} == {p.id}
    assert (got["up"].bytes, got["down"].bytes, got["down"].service) == (812, 7430, "bank")
    assert got["up"].last_seen == pytest.approx(time.time(), abs=5)


def test_later_pieces_of_a_flow_add_up_in_one_row(lab):
    store, collector, sock = lab
    store.add_policy(PolicyRequest.of("log", "all", "any", author="test"))
    send(sock, collector, ACC1, alice_to_bank(nbytes=1000, packets=2))
    eventually(count(store, 1), timeout=10)
    send(sock, collector, ACC1, alice_to_bank(nbytes=500, packets=1))

    def added_up():
        [row] = store.flows.records()
        assert (row.bytes, row.packets) == (1500, 3)

    eventually(added_up, timeout=10)


def test_unknown_exporters_and_garbage_are_ignored_and_logged(lab):
    store, collector, sock = lab
    store.add_policy(PolicyRequest.of("log", "all", "any", author="test"))
    sock.sendto(b"not netflow at all", ("127.0.0.1", collector.port))
    send(sock, collector, 77, alice_to_bank())
    send(sock, collector, ACC1, alice_to_bank(src_port=41000))

    def logged():
        text = collector.log_file.read_text()
        assert "a 18-byte datagram is too short for NetFlow" in text
        assert "exporter 77" in text

    eventually(logged, timeout=10)
    eventually(count(store, 1), timeout=10)
    assert store.flows.records()[0].src_port == 41000


def test_a_new_retention_expires_older_records_at_once(lab):
    store, collector, sock = lab
    store.add_policy(PolicyRequest.of("log", "all", "any", author="test"))
    send(sock, collector, ACC1, alice_to_bank(src_port=41000))
    eventually(count(store, 1), timeout=10)
    old = store.flows.records()[0]
    store.flows.add([replace(old, src_port=40000, first_seen=old.first_seen - 3600,
                                    last_seen=old.last_seen - 3600)])  # an hour old
    store.put_setting("flowlog", {"retention": 600}, "test", "keep ten minutes")

    def expired():
        assert [r.src_port for r in store.flows.records()] == [41000]

    eventually(expired, timeout=10)


def test_on_sigterm_it_writes_what_it_received_then_exits(lab):
    store, collector, sock = lab
    store.add_policy(PolicyRequest.of("log", "all", "any", author="test"))
    proc = collector.popen
    for i in range(20):
        send(sock, collector, ACC1, alice_to_bank(src_port=42000 + i))
    collector.stop()
    assert proc.returncode == 0
    assert len(store.flows.records()) == 20
    assert "stopped: 20 packets" in collector.log_file.read_text()


def test_a_collector_that_cannot_start_says_why(tmp_path):
    with pytest.raises(CollectorError, match="absent.db: no such store file"):
        CollectorProcess(tmp_path / "absent.db", tmp_path).start()
