"""The flow log's pure parts: which log policy covers a flow, whose flow an export is, NetFlow v5
decoding, and judging a flow by the policies in force while it ran."""

from __future__ import annotations

from dataclasses import replace

import netflow
import pytest

from sovnet.compile.flowlog import (
    OUT_DROP,
    ExportedFlow,
    engine,
    exporters,
    logging_policy,
    to_records,
)
from sovnet.flowlog.history import PolicyTimeline, exporter_switches, records
from sovnet.flowlog.netflow import NetflowError, decode
from sovnet.model.policy import SubscriberState
from sovnet.model.schedule import schedule
from sovnet.store.base import Snapshot
from tests.unit import handmade
from tests.unit.netflow_packets import packet, record

TOPO = handmade.topology()
SUBS = handmade.subscribers(TOPO)
pol = handmade.policy
ALICE, BOB, CAROL = (TOPO.host(n) for n in ("alice", "bob", "carol"))
BANK, SOCIAL, DNS = (TOPO.host(n) for n in ("bank", "social", "dns1"))
ACC1, ACC2, DC1 = (TOPO.switch(n) for n in ("acc1", "acc2", "dc1"))
UPLINK = 1  # acc1's and acc2's port towards core1


def flow(src, dst, in_port, out_port, proto=6, sport=40000, dport=80, **kw) -> ExportedFlow:
    fields = dict(src=src.ip, dst=dst.ip, proto=proto, src_port=sport, dst_port=dport,
                  in_port=in_port, out_port=out_port, packets=5, bytes=700, first_seen=100.0,
                  last_seen=101.0)
    return ExportedFlow(**{**fields, **kw})


# -- logging_policy --------------------------------------------------------------------------
def test_no_log_policy_means_not_recorded_and_other_actions_do_not_count():
    assert logging_policy(TOPO, [], SUBS, "alice", BANK.ip, 6, 80) is None
    assert logging_policy(TOPO, [pol(1, "deny", "service:bank")], SUBS, "alice", BANK.ip, 6,
                          80) is None


def test_scope_and_target_decide_coverage():
    p = pol(1, "log", "service:bank", "isp:fixnet")
    assert logging_policy(TOPO, [p], SUBS, "alice", BANK.ip, 6, 80) == p
    assert logging_policy(TOPO, [p], SUBS, "bob", BANK.ip, 6, 80) is None  # mobinet
    assert logging_policy(TOPO, [p], SUBS, "alice", SOCIAL.ip, 6, 80) is None  # not the bank
    web = pol(2, "log", "port:tcp/443")
    assert logging_policy(TOPO, [web], SUBS, "bob", SOCIAL.ip, 6, 443) == web
    assert logging_policy(TOPO, [web], SUBS, "bob", SOCIAL.ip, 6, 80) is None
    assert logging_policy(TOPO, [pol(3, "log", "international")], SUBS, "bob", SOCIAL.ip, 17,
                          53).id == 3


def test_highest_priority_names_the_flow_and_the_newest_wins_a_tie():
    low, high, newer = (pol(1, "log", "any", priority=100), pol(2, "log", "any", priority=500),
                        pol(3, "log", "service:bank", priority=500))
    assert logging_policy(TOPO, [low, high], SUBS, "alice", BANK.ip, 6, 80) == high
    assert logging_policy(TOPO, [low, high, newer], SUBS, "alice", BANK.ip, 6, 80) == newer
    assert logging_policy(TOPO, [low, high, newer], SUBS, "alice", SOCIAL.ip, 6, 80) == high


def test_tier_and_standing_scopes_read_the_subscriber_state():
    verified = {**SUBS, "alice": replace(SUBS["alice"], status="verified")}
    tier = pol(1, "log", "any", "tier:verified")
    assert logging_policy(TOPO, [tier], SUBS, "alice", BANK.ip, 6, 80) is None
    assert logging_policy(TOPO, [tier], verified, "alice", BANK.ip, 6, 80) == tier
    low = {**SUBS, "bob": SubscriberState("bob", "registered", frozenset(), standing=10)}
    standing = pol(2, "log", "any", "standing:<40")
    assert logging_policy(TOPO, [standing], low, "bob", BANK.ip, 6, 80) == standing
    assert logging_policy(TOPO, [standing], low, "alice", BANK.ip, 6, 80) is None


# -- exporters -------------------------------------------------------------------------------
def test_only_switches_with_subscribers_export_each_under_its_own_engine_number():
    assert exporters(TOPO) == {"acc1": 1, "acc2": 2}
    assert exporter_switches(TOPO) == {1: ACC1, 2: ACC2}
    assert engine(1) == (0, 1) and engine(0x1234) == (0x12, 0x34)


# -- to_records: whose flow, which direction, which policy ---------------------------------------
LOG_ALL = [pol(7, "log", "any")]


def test_an_upload_is_the_senders_where_it_entered_on_its_port():
    up = flow(ALICE, BANK, ALICE.port, UPLINK)
    [r] = to_records(TOPO, LOG_ALL, SUBS, ACC1, up, collected_at=102.0)
    assert (r.subscriber, r.direction, r.service, r.policy, r.dpid) == (
        "alice", "up", "bank", 7, ACC1.dpid)
    assert (r.src, r.dst, r.src_port, r.dst_port, r.packets, r.bytes) == (
        ALICE.ip, BANK.ip, 40000, 80, 5, 700)
    assert (r.first_seen, r.last_seen, r.collected_at, r.dropped) == (100.0, 101.0, 102.0, False)


def test_a_download_is_the_receivers_where_it_left_on_its_port_and_is_judged_by_the_remote_port():
    down = flow(BANK, ALICE, UPLINK, ALICE.port, sport=80, dport=40000)
    [r] = to_records(TOPO, LOG_ALL, SUBS, ACC1, down, 1.0)
    assert (r.subscriber, r.direction, r.service) == ("alice", "down", "bank")
    http = [pol(8, "log", "port:tcp/80")]
    assert len(to_records(TOPO, http, SUBS, ACC1, down, 1.0)) == 1  # the bank's port 80
    assert to_records(TOPO, [pol(9, "log", "port:tcp/40000")], SUBS, ACC1, down, 1.0) == []


def test_a_flow_counts_once_at_the_subscribers_own_switch_and_port():
    up = flow(ALICE, BANK, ALICE.port, UPLINK)
    assert to_records(TOPO, LOG_ALL, SUBS, ACC2, up, 1.0) == []  # another switch
    assert to_records(TOPO, LOG_ALL, SUBS, ACC1, replace(up, in_port=UPLINK), 1.0) == []
    spoofed = flow(ALICE, BANK, BOB.port, UPLINK)  # alice's address from bob's port
    assert to_records(TOPO, LOG_ALL, SUBS, ACC2, spoofed, 1.0) == []


def test_between_two_subscribers_of_one_switch_both_get_a_record():
    both = to_records(TOPO, LOG_ALL, SUBS, ACC2, flow(BOB, CAROL, BOB.port, CAROL.port), 1.0)
    assert {(r.subscriber, r.direction, r.service) for r in both} == {
        ("bob", "up", None), ("carol", "down", None)}
    only_bob = to_records(TOPO, [pol(1, "log", "any", "subscriber:bob")], SUBS, ACC2,
                          flow(BOB, CAROL, BOB.port, CAROL.port), 1.0)
    assert [(r.subscriber, r.direction) for r in only_bob] == [("bob", "up")]


def test_uncovered_traffic_is_not_recorded():
    bank_only = [pol(1, "log", "service:bank", "subscriber:alice")]
    assert to_records(TOPO, bank_only, SUBS, ACC1, flow(ALICE, SOCIAL, ALICE.port, UPLINK),
                      1.0) == []
    assert to_records(TOPO, bank_only, SUBS, ACC2, flow(BOB, BANK, BOB.port, UPLINK), 1.0) == []


def test_a_dropped_attempt_is_recorded_as_dropped_and_resolvers_count_as_services():
    [r] = to_records(TOPO, LOG_ALL, SUBS, ACC1, flow(ALICE, SOCIAL, ALICE.port, OUT_DROP), 1.0)
    assert r.dropped and r.direction == "up"
    [d] = to_records(TOPO, LOG_ALL, SUBS, ACC1,
                     flow(ALICE, DNS, ALICE.port, UPLINK, proto=17, dport=53), 1.0)
    assert d.service == "dns1"


def test_icmp_is_judged_without_a_port():
    ping = flow(ALICE, BANK, ALICE.port, UPLINK, proto=1, sport=0, dport=0x0800)
    assert to_records(TOPO, [pol(1, "log", "port:icmp")], SUBS, ACC1, ping, 1.0)[0].policy == 1
    assert to_records(TOPO, [pol(1, "log", "port:tcp/80")], SUBS, ACC1, ping, 1.0) == []


# -- NetFlow v5 decoding -----------------------------------------------------------------------
def test_decode_reads_every_field_and_makes_wall_clock_times():
    data = packet(0x0102, 1_800_000_000.25, 60_581, [
        record(ALICE.ip, BANK.ip, 2, 1, src_port=55280, packets=9, nbytes=680, first=59_202,
               last=59_205),
        record(BANK.ip, ALICE.ip, 1, 2, src_port=80, dst_port=55280, first=59_203,
               last=59_206)])
    e = decode(data)
    assert e.exporter == 0x0102 and e.sent_at == pytest.approx(1_800_000_000.25)
    f = e.flows[0]
    assert (f.src, f.dst, f.proto, f.src_port, f.dst_port, f.in_port, f.out_port) == (
        ALICE.ip, BANK.ip, 6, 55280, 80, 2, 1)
    assert (f.packets, f.bytes) == (9, 680)
    assert f.first_seen == pytest.approx(1_800_000_000.25 - 1.379)
    assert f.last_seen == pytest.approx(1_800_000_000.25 - 1.376)
    assert e.flows[1].src_port == 80


def test_decode_survives_the_exporters_uptime_wrapping():
    e = decode(packet(1, 1_800_000_000.0, 500, [record(ALICE.ip, BANK.ip, 2, 1,
                                                       first=(1 << 32) - 1500, last=200)]))
    assert e.flows[0].first_seen == pytest.approx(1_800_000_000.0 - 2.0)
    assert e.flows[0].last_seen == pytest.approx(1_800_000_000.0 - 0.3)


def test_a_binary_packet_that_happens_to_be_valid_utf8_decodes():
    # Every byte below 0x80: valid UTF-8, which netflow's parse_packet takes for a hex dump.
    data = packet(1, 0x10203040, 0x1000, [record("10.1.0.2", "10.1.0.3", 2, 3, src_port=0x4000,
                                                 nbytes=0x270, first=0xF00, last=0xF10)])
    data.decode("utf-8")
    with pytest.raises(ValueError):
        netflow.parse_packet(data)
    assert decode(data).flows[0].dst == "10.1.0.3"


@pytest.mark.parametrize("data, expected", [
    (b"\x00\x05", "too short"),
    (packet(1, 1.0, 1, [record("10.1.0.2", "10.1.0.3", 2, 3)], version=9), "version 9"),
    (packet(1, 1.0, 1, [record("10.1.0.2", "10.1.0.3", 2, 3)])[:-4], "claiming 1 records"),
    (packet(1, 1.0, 1, []), "claiming 0 records"),
])
def test_decode_refuses_what_is_not_a_v5_export_saying_what_was_expected(data, expected):
    with pytest.raises(NetflowError, match=expected) as e:
        decode(data)
    assert "expected" in str(e.value)


# -- judging a flow by the policies in force while it ran ------------------------------------------
def snap(revision, at, policies, settings=None):
    return Snapshot(revision, at, TOPO, tuple(policies), SUBS, settings or {})


def test_the_timeline_gives_the_revisions_in_force_during_a_flow_newest_first():
    tl = PolicyTimeline(keep=100)
    a, b, c = snap(1, 10.0, []), snap(2, 20.0, []), snap(3, 30.0, [])
    for s in (a, b, c, b):  # a revision reported twice is kept once
        tl.add(s)
    assert tl.current is c
    assert tl.during(21, 29) == [b]
    assert tl.during(15, 35) == [c, b, a]
    assert tl.during(1, 5) == [a]  # before the oldest kept: the oldest stands in
    tl.add(snap(4, 200.0, []))
    assert tl.during(150, 150)[0].revision == 3  # revisions 1 and 2 were forgotten


def test_a_flow_is_recorded_if_a_log_policy_covered_it_while_it_ran():
    tl = PolicyTimeline()
    tl.add(snap(1, 0.0, [pol(1, "log", "any")]))
    tl.add(snap(2, 100.5, []))  # revoked after the flow, before its export arrives
    up = flow(ALICE, BANK, ALICE.port, UPLINK, first_seen=100.0, last_seen=101.0)
    assert [r.policy for r in records(tl, ACC1, [up], 102.0)] == [1]
    later = replace(up, first_seen=101.0, last_seen=102.0)
    assert records(tl, ACC1, [later], 103.0) == []
    tl.add(snap(3, 101.5, [pol(2, "log", "any", priority=10)]))
    assert [r.policy for r in records(tl, ACC1, [later], 103.0)] == [2]


def test_a_scheduled_log_policy_counts_where_its_schedule_held():
    clock = {"clock": {"epoch": 0.0, "scale": 1.0, "origin": 0.0}}
    curfew = replace(pol(1, "log", "any"), schedule=schedule(start=1000.0, end=2000.0))
    tl = PolicyTimeline()
    tl.add(snap(1, 0.0, [curfew], clock))

    def at(t0, t1):
        return records(tl, ACC1, [flow(ALICE, BANK, ALICE.port, UPLINK, first_seen=t0,
                                       last_seen=t1)], t1 + 1)

    assert at(500.0, 600.0) == []
    assert len(at(990.0, 1010.0)) == 1
    assert len(at(1500.0, 1600.0)) == 1
    assert at(2000.0, 2100.0) == []
