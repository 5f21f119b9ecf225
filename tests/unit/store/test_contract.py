"""The contract every PolicyStore backend must pass: revisions, history, transactions,
policies, acks, flow records. Each test runs on SQLite and in memory (conftest.py's `store`);
a new backend joins conftest.BACKENDS and must pass them all."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from sovnet.errors import StoreError
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import Policy, PolicySyntaxError, Scope, Target
from sovnet.store import Ack, Change
from sovnet.store.flowrecords import DEFAULT_RETENTION, MERGE_GAP
from tests.unit import handmade
from tests.unit.store.conftest import make_store, where


def test_empty_store(store):
    assert store.revision() == 0
    assert store.policies() == ()
    assert store.subscribers() == {}
    assert store.history() == []
    snap = store.snapshot()
    assert (snap.revision, snap.committed_at, snap.topology, snap.policies) == (0, None, None, ())
    with pytest.raises(StoreError) as e:
        store.topology()
    assert str(e.value) == (
        f"no topology loaded at revision 0 in {where(store)} "
        "(expected an inventory: sovnet store load TOPOLOGY)"
    )


def test_revisions_and_history(store):
    before = time.time()
    p1 = store.add_policy(PolicyRequest.of(
            "deny", "isp:mobinet", "service:bank", 200, "ana", "block bank"))
    p2 = store.add_policy(PolicyRequest.of(
            "allow", Scope("class", "privileged"), Target("any"), author="bo"))
    rev3 = store.revoke_policy(p1.id, "ana", "unblock")
    after = time.time()
    assert (p1.id, p2.id, rev3, store.revision()) == (1, 2, 3, 3)
    assert p1 == Policy(
        1, "deny", Scope("isp", "mobinet"), Target("service", "bank"), 200, "ana", "block bank"
    )
    hist = store.history()
    assert [h.id for h in hist] == [1, 2, 3]
    assert [(h.author, h.reason) for h in hist] == [
        ("ana", "block bank"),
        ("bo", ""),
        ("ana", "unblock"),
    ]
    assert before <= hist[0].committed_at <= hist[1].committed_at <= hist[2].committed_at <= after
    assert hist[0].changes == (
        Change(
            "policy",
            "1",
            "put",
            {
                "action": "deny",
                "scope": {"kind": "isp", "value": "mobinet"},
                "target": {"kind": "service", "value": "bank"},
                "priority": 200,
                "author": "ana",
                "reason": "block bank",
            },
        ),
    )
    assert hist[2].changes == (Change("policy", "1", "delete", {}),)
    assert [h.id for h in store.history(limit=2)] == [2, 3]
    assert [h.id for h in store.history(since=1)] == [2, 3]
    assert [h.id for h in store.history(limit=1, since=1)] == [3]
    assert store.history(since=3) == []
    assert store.revision_info(2) == hist[1]
    with pytest.raises(StoreError) as e:
        store.revision_info(4)
    assert str(e.value) == "no revision 4 (expected 1 to 3)"


def test_state_at_past_revision(store):
    p = store.add_policy(PolicyRequest.of("deny", "all", "international", author="a"))  # r1
    other = store.add_policy(PolicyRequest.of("allow", "all", "service:bank"))  # r2
    store.revoke_policy(p.id)  # r3
    assert store.policies(1) == (p,)
    assert store.policies(2) == (p, other)
    assert store.policies(3) == (other,)
    assert store.policies() == (other,)
    assert store.policies(0) == ()
    assert store.snapshot(2).policies == (p, other)
    assert store.snapshot(2).committed_at == store.revision_info(2).committed_at
    with pytest.raises(StoreError) as e:
        store.policies(4)
    assert str(e.value) == "no revision 4 (expected 0 to 3)"
    with pytest.raises(StoreError, match="no revision -1"):
        store.policies(-1)


def test_transaction_commits_one_revision(store):
    first = store.add_policy(PolicyRequest.of("deny", "all", "international"))
    with store.transaction("ops", "swap") as tx:
        assert tx.revision == 2
        new = tx.add_policy(PolicyRequest.of("allow", "subscriber:alice", "international", 300))
        tx.revoke_policy(first.id)
        temp = tx.add_policy(PolicyRequest.of("deny", "all", "port:udp/53"))
        tx.revoke_policy(temp.id)  # later changes of a transaction see earlier ones
        assert store.revision() == 1  # reads outside the tx object see committed state
    assert tx.revision == 2 and store.revision() == 2
    assert store.policies() == (new,)
    info = store.revision_info(2)
    assert (info.author, info.reason) == ("ops", "swap")
    assert [(c.key, c.op) for c in info.changes] == [
        ("2", "put"),
        ("1", "delete"),
        ("3", "put"),
        ("3", "delete"),
    ]


def test_transaction_exception_commits_nothing(store):
    store.add_policy(PolicyRequest.of("deny", "all", "international"))
    with pytest.raises(RuntimeError), store.transaction("ops", "oops") as tx:
        tx.add_policy(PolicyRequest.of("allow", "all", "any"))
        tx.revoke_policy(1)
        raise RuntimeError("boom")
    assert tx.revision is None
    assert store.revision() == 1 and len(store.policies()) == 1
    with pytest.raises(StoreError), store.transaction() as tx:
        tx.add_policy(PolicyRequest.of("allow", "all", "any"))
        tx.revoke_policy(99)  # refused: the add before it is not committed either
    assert store.revision() == 1 and [p.id for p in store.policies()] == [1]
    with pytest.raises(StoreError, match="transaction is over"):
        tx.add_policy(PolicyRequest.of("allow", "all", "any"))


def test_empty_transaction_makes_no_revision(store):
    with store.transaction("ops", "nothing") as tx:
        pass
    assert tx.revision is None and store.revision() == 0


def test_nested_transaction_refused(store):
    with store.transaction() as tx:
        tx.add_policy(PolicyRequest.of("deny", "all", "any"))
        with pytest.raises(StoreError, match="a transaction is already open"):
            store.add_policy(PolicyRequest.of("deny", "all", "any"))
    assert store.revision() == 1 and len(store.policies()) == 1


def test_policy_ids_never_reused(store):
    a = store.add_policy(PolicyRequest.of("deny", "all", "any"))
    b = store.add_policy(PolicyRequest.of("deny", "all", "international"))
    store.revoke_policy(b.id)
    c = store.add_policy(PolicyRequest.of("allow", "all", "any"))
    assert (a.id, b.id, c.id) == (1, 2, 3)
    with store.transaction() as tx:  # revoked in the same revision: still used
        d = tx.add_policy(PolicyRequest.of("deny", "all", "any"))
        tx.revoke_policy(d.id)
    assert d.id == 4 and store.add_policy(PolicyRequest.of("deny", "all", "any")).id == 5


def test_policy_errors(store):
    store.add_policy(PolicyRequest.of("deny", "all", "any"))
    store.add_policy(PolicyRequest.of("deny", "all", "any"))
    store.add_policy(PolicyRequest.of("deny", "all", "any"))
    store.revoke_policy(2)
    refused = [  # by the store
        (lambda: store.revoke_policy(7), "no policy #7 in force (in force: #1, #3)"),
        (lambda: store.revoke_policy(2), "no policy #2 in force (in force: #1, #3)"),
        (lambda: store.add_policy("deny"), "expected a PolicyRequest, got str"),
    ]
    for call, message in refused:
        with pytest.raises(StoreError) as e:
            call()
        assert str(e.value) == message
    unbuilt = [  # where the request is built: no store ever sees them
        (
            ("drop", "all", "any"),
            "unknown action 'drop' (expected one of: allow, deny, reject, blockpage, steer_dns, "
            "dns_tamper:nxdomain, dns_tamper:IP, throttle:RATE (e.g. throttle:256kbit, "
            "throttle:2mbit), log, withdraw or restore)",
        ),
        (("deny", "all", "any", 10_001), "priority 10001 out of range (expected 0 to 10000)"),
        (("deny", "all", "any", "5"), "priority '5' is not an integer (expected 0 to 10000)"),
        (("deny", "isp", "any"), "scope 'isp' needs a value (expected isp:NAME)"),
        (("deny", "all", "locus:mars"), "bad locus 'mars' (expected domestic or foreign)"),
    ]
    for args, message in unbuilt:
        with pytest.raises(PolicySyntaxError) as e:
            PolicyRequest.of(*args)
        assert str(e.value) == message
    assert store.revision() == 4  # no refused change made a revision
    store.revoke_policy(1)
    store.revoke_policy("#3")
    with pytest.raises(StoreError) as e:
        store.revoke_policy(1)
    assert str(e.value) == "no policy #1 in force (in force: none)"


def test_policy_text_is_normalised(store):
    p = store.add_policy(PolicyRequest.of("deny", "all", Target("prefix", "172.16.5.0/12")))
    assert p.target == Target("prefix", "172.16.0.0/12")
    assert store.policies()[0] == p


def test_acks_make_no_revision(store):
    store.add_policy(PolicyRequest.of("deny", "all", "any"))
    store.add_policy(PolicyRequest.of("deny", "all", "international"))
    store.record_ack(1, 0x11, 100.5, 3)
    store.record_ack(2, 0x11, 101.0, 1, "barrier")
    store.record_ack(2, 0x12, 101.2, 0)
    store.record_ack(0, 0x13, 99.0, 0, "empty table")
    assert store.revision() == 2 and len(store.history()) == 2
    assert store.acks(2) == [Ack(2, 0x11, 101.0, 1, "barrier"), Ack(2, 0x12, 101.2, 0, "")]
    assert [a.revision for a in store.acks()] == [1, 2, 2, 0]
    assert store.acks(3) == []
    with pytest.raises(StoreError) as e:
        store.record_ack(3, 0x11, 102.0, 0)
    assert str(e.value) == "no revision 3 (expected 0 to 2)"


def test_closed_store_refuses(backend, tmp_path):
    s = make_store(backend, tmp_path, "s.db")
    with s:
        s.add_policy(PolicyRequest.of("deny", "all", "any"))
    s.close()  # idempotent
    with pytest.raises(StoreError, match="is closed"):
        s.policies()


def test_a_policy_naming_what_the_inventory_lacks_is_refused_for_every_writer(store):
    from tests.unit import handmade

    store.load_inventory(handmade.topology(), "t", "load")
    rev = store.revision()
    with pytest.raises(StoreError) as e:
        store.add_policy(PolicyRequest.of("deny", "isp:nowhere", "international"))
    assert str(e.value) == ("new policy: unknown ISP 'nowhere' "
                            "(expected one of: fixnet, mobinet)")
    with pytest.raises(StoreError, match="new policy: unknown service 'nope'"):
        with store.transaction("t", "two") as tx:
            tx.add_policy(PolicyRequest.of("allow", "all", "service:bank"))
            tx.add_policy(PolicyRequest.of("deny", "all", "service:nope"))
    assert store.revision() == rev and store.policies() == ()


def test_reloading_an_inventory_that_strands_a_policy_in_force_is_refused(store):
    from dataclasses import replace

    from tests.unit import handmade

    topo = handmade.topology()
    store.load_inventory(topo, "t", "load")
    store.add_policy(PolicyRequest.of("deny", "all", "service:social"))
    rev = store.revision()
    smaller = replace(topo, services=tuple(s for s in topo.services if s.name != "social"),
                      _index={})
    with pytest.raises(StoreError) as e:
        store.load_inventory(smaller, "t", "reload")
    assert str(e.value) == (
        "refusing to load topology 'handmade': policies in force would name what it lacks "
        "(policy #1: unknown service 'social' (expected one of: bank, cdn, gov)); "
        "revoke them first")
    assert store.revision() == rev


def test_the_store_loads_subscribers_as_the_model_says_a_topology_gives_them(store):
    from sovnet.model.policy import initial_subscribers
    from tests.unit import handmade

    topo = handmade.topology()
    store.load_inventory(topo, "t", "load")
    assert store.subscribers() == initial_subscribers(topo)



def test_a_refusal_is_a_field_of_the_ack(store):
    store.add_policy(PolicyRequest.of("deny", "all", "any"))
    store.record_ack(1, 0x11, 100.0, 0, refused="OpenFlow error type=1 code=2")
    store.record_ack(1, 0x11, 101.0, 4, "retry")
    assert store.acks(1) == [Ack(1, 0x11, 100.0, 0, "", "OpenFlow error type=1 code=2"),
                             Ack(1, 0x11, 101.0, 4, "retry", "")]
    assert [a.enforced for a in store.acks(1)] == [False, True]


def test_an_ack_is_refused_inside_a_transaction(store):
    with store.transaction() as tx, pytest.raises(StoreError, match="cannot record an ack"):
        tx.add_policy(PolicyRequest.of("deny", "all", "any"))
        store.record_ack(0, 0x11, 100.0, 0)


def test_settings_and_standing_are_revisions(store):
    from tests.unit import handmade

    store.load_inventory(handmade.topology())
    r = store.put_setting("flowlog", {"retention": 60}, "ops", "short")
    assert store.settings() == {"flowlog": {"retention": 60}} and store.settings(r - 1) == {}
    assert store.snapshot().settings == store.settings()
    store.set_standing("alice", 40)
    assert store.subscribers()["alice"].standing == 40
    with pytest.raises(StoreError, match="unknown setting 'nope'"):
        store.put_setting("nope", {})
    with pytest.raises(StoreError, match="standing 101 out of range"):
        store.set_standing("alice", 101)


# -- flow records (collected data beside the history) -------------------------------------
NOW = handmade.NOW
rec = handmade.flow_record




def plain(r):
    return replace(r, id=None)


def test_records_are_stored_and_read_back_oldest_first(store):
    a, b = rec(first=NOW - 20), rec("bob", "social", first=NOW - 10, dropped=True)
    assert store.flows.add([b, a]) == 2
    got = store.flows.records()
    assert [plain(r) for r in got] == [a, b]
    assert all(r.id is not None for r in got)
    assert store.flows.add([]) == 0


def test_a_later_piece_of_the_same_flow_is_added_to_its_row(store):
    first = rec(first=NOW - 10, last=NOW - 9, nbytes=700)
    second = rec(first=NOW - 8, last=NOW - 7, nbytes=300, collected_at=NOW)
    assert store.flows.add([first]) == 1
    assert store.flows.add([second]) == 0
    [row] = store.flows.records()
    assert (row.bytes, row.packets, row.first_seen, row.last_seen, row.collected_at) == (
        1000, 10, NOW - 10, NOW - 7, NOW)


def test_pieces_further_apart_than_the_gap_or_of_another_flow_make_new_rows(store):
    store.flows.add([rec(first=NOW - 100, last=NOW - 99)])
    store.flows.add([rec(first=NOW - 99 + MERGE_GAP + 1)])  # idle too long: a new flow
    store.flows.add([rec(first=NOW - 80, src_port=40001)])  # another connection
    store.flows.add([rec(first=NOW - 80, direction="down")])
    store.flows.add([rec(first=NOW - 80, policy=2)])  # another policy named it
    assert len(store.flows.records()) == 5


def test_filters_by_subscriber_service_and_time_and_limit_to_the_newest(store):
    store.flows.add([rec(first=NOW - 300), rec("bob", "bank", first=NOW - 200),
                            rec("alice", "social", first=NOW - 100)])
    assert [r.service for r in store.flows.records(subscriber="alice")] == ["bank", "social"]
    assert [r.subscriber for r in store.flows.records(service="bank")] == ["alice", "bob"]
    assert [r.subscriber for r in store.flows.records(since=NOW - 250)] == ["bob", "alice"]
    assert [r.subscriber for r in store.flows.records(until=NOW - 250)] == ["alice"]
    assert [r.first_seen for r in store.flows.records(limit=2)] == [NOW - 200, NOW - 100]
    assert store.flows.count(service="bank") == 2
    with pytest.raises(StoreError, match="expected 1 or more"):
        store.flows.records(limit=0)
    with pytest.raises(StoreError, match="expected Unix seconds"):
        store.flows.records(since="yesterday")


def test_retention_defaults_to_90_days_and_the_setting_expires_older_records(store):
    assert store.flows.retention() == DEFAULT_RETENTION == 90 * 86400
    store.flows.add([rec(first=NOW - 91 * 86400), rec(first=NOW - 3600),
                            rec(first=NOW - 60)])
    assert store.flows.expire(now=NOW) == 1
    store.put_setting("flowlog", {"retention": 600}, "test", "keep ten minutes")
    assert store.flows.retention() == 600
    assert store.flows.expire(now=NOW) == 1
    assert [r.first_seen for r in store.flows.records()] == [NOW - 60]
    with pytest.raises(StoreError, match="expected flow-log retention"):
        store.put_setting("flowlog", {"retention": -1})


def test_flow_records_are_not_history(store):
    rev = store.revision()
    store.flows.add([rec()])
    store.flows.expire(now=NOW + DEFAULT_RETENTION + 10)
    assert store.revision() == rev and store.flows.records() == []
