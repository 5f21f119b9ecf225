"""The policy store: revisions, history, transactions, policies, acks, the file itself."""

from __future__ import annotations

import sqlite3
import time

import pytest

from sovnet.errors import StoreError
from sovnet.model.policy import Policy, Scope, Target
from sovnet.store import SCHEMA_VERSION, Ack, Change, PolicyStore, SqliteStore, open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "store.db")
    yield s
    s.close()


def test_empty_store(store, tmp_path):
    assert store.revision() == 0
    assert store.policies() == ()
    assert store.subscribers() == {}
    assert store.history() == []
    snap = store.snapshot()
    assert (snap.revision, snap.committed_at, snap.topology, snap.policies) == (0, None, None, ())
    with pytest.raises(StoreError) as e:
        store.topology()
    assert str(e.value) == (
        f"no topology loaded at revision 0 in {tmp_path / 'store.db'} "
        "(expected an inventory: sovnet store load TOPOLOGY)"
    )


def test_sqlite_store_satisfies_protocol(store):
    def use(s: PolicyStore) -> int:
        return s.revision()

    assert isinstance(store, SqliteStore)
    assert use(store) == 0


def test_file_is_wal_with_schema_version(store, tmp_path):
    conn = sqlite3.connect(tmp_path / "store.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()
    open_store(tmp_path / "store.db").close()  # reopening keeps one version row
    conn = sqlite3.connect(tmp_path / "store.db")
    assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1
    conn.close()


def test_newer_schema_refused(tmp_path):
    path = tmp_path / "store.db"
    open_store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as e:
        open_store(path)
    assert str(e.value) == (
        f"store {path} has schema version {SCHEMA_VERSION + 1}, newer than this sovnet "
        f"understands (expected at most {SCHEMA_VERSION}); upgrade sovnet to open it"
    )


def test_not_a_database_refused(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is no sqlite file, just junk " * 100)
    with pytest.raises(StoreError, match="is not a sovnet store"):
        open_store(path)
    with pytest.raises(StoreError, match="cannot open store"):
        open_store(tmp_path / "no" / "such" / "dir.db")


def test_history_is_append_only(store, tmp_path):
    store.add_policy("deny", "all", "international")
    conn = sqlite3.connect(tmp_path / "store.db")
    for stmt in (
        "UPDATE revisions SET author = 'x'",
        "DELETE FROM revisions",
        "UPDATE changes SET op = 'delete'",
        "DELETE FROM changes",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(stmt)
    conn.close()


def test_revisions_and_history(store):
    before = time.time()
    p1 = store.add_policy("deny", "isp:mobinet", "service:bank", 200, "ana", "block bank")
    p2 = store.add_policy("allow", Scope("class", "privileged"), Target("any"), author="bo")
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
    p = store.add_policy("deny", "all", "international", author="a")  # r1
    other = store.add_policy("allow", "all", "service:bank")  # r2
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
    first = store.add_policy("deny", "all", "international")
    with store.transaction("ops", "swap") as tx:
        assert tx.revision == 2
        new = tx.add_policy("allow", "subscriber:alice", "international", 300)
        tx.revoke_policy(first.id)
        temp = tx.add_policy("deny", "all", "port:udp/53")
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
    store.add_policy("deny", "all", "international")
    with pytest.raises(RuntimeError), store.transaction("ops", "oops") as tx:
        tx.add_policy("allow", "all", "any")
        tx.revoke_policy(1)
        raise RuntimeError("boom")
    assert tx.revision is None
    assert store.revision() == 1 and len(store.policies()) == 1
    with pytest.raises(StoreError), store.transaction() as tx:
        tx.add_policy("allow", "all", "any")
        tx.revoke_policy(99)  # refused: the add before it is not committed either
    assert store.revision() == 1 and [p.id for p in store.policies()] == [1]
    with pytest.raises(StoreError, match="transaction is over"):
        tx.add_policy("allow", "all", "any")


def test_empty_transaction_makes_no_revision(store):
    with store.transaction("ops", "nothing") as tx:
        pass
    assert tx.revision is None and store.revision() == 0


def test_nested_transaction_refused(store):
    with store.transaction() as tx:
        tx.add_policy("deny", "all", "any")
        with pytest.raises(StoreError, match="a transaction is already open"):
            store.add_policy("deny", "all", "any")
    assert store.revision() == 1 and len(store.policies()) == 1


def test_policy_ids_never_reused(store):
    a = store.add_policy("deny", "all", "any")
    b = store.add_policy("deny", "all", "international")
    store.revoke_policy(b.id)
    c = store.add_policy("allow", "all", "any")
    assert (a.id, b.id, c.id) == (1, 2, 3)
    with store.transaction() as tx:  # revoked in the same revision: still used
        d = tx.add_policy("deny", "all", "any")
        tx.revoke_policy(d.id)
    assert d.id == 4 and store.add_policy("deny", "all", "any").id == 5


def test_policy_errors(store):
    store.add_policy("deny", "all", "any")
    store.add_policy("deny", "all", "any")
    store.add_policy("deny", "all", "any")
    store.revoke_policy(2)
    cases = [
        (lambda: store.revoke_policy(7), "no policy #7 in force (in force: #1, #3)"),
        (lambda: store.revoke_policy(2), "no policy #2 in force (in force: #1, #3)"),
        (
            lambda: store.add_policy("drop", "all", "any"),
            "unknown action 'drop' (expected one of: allow, deny, reject, blockpage, steer_dns, "
            "dns_tamper:nxdomain, dns_tamper:IP, throttle:RATE (e.g. throttle:256kbit, "
            "throttle:2mbit) or log)",
        ),
        (
            lambda: store.add_policy("deny", "all", "any", 10_001),
            "priority 10001 out of range (expected 0 to 10000)",
        ),
        (
            lambda: store.add_policy("deny", "all", "any", "5"),
            "priority '5' is not an integer (expected 0 to 10000)",
        ),
        (
            lambda: store.add_policy("deny", "isp", "any"),
            "scope 'isp' needs a value (expected isp:NAME)",
        ),
        (
            lambda: store.add_policy("deny", "all", "locus:mars"),
            "bad locus 'mars' (expected domestic or foreign)",
        ),
    ]
    for call, message in cases:
        with pytest.raises(StoreError) as e:
            call()
        assert str(e.value) == message
    assert store.revision() == 4  # no refused change made a revision
    store.revoke_policy(1)
    store.revoke_policy("#3")
    with pytest.raises(StoreError) as e:
        store.revoke_policy(1)
    assert str(e.value) == "no policy #1 in force (in force: none)"


def test_policy_text_is_normalised(store):
    p = store.add_policy("deny", "all", Target("prefix", "172.16.5.0/12"))
    assert p.target == Target("prefix", "172.16.0.0/12")
    assert store.policies()[0] == p


def test_acks_make_no_revision(store):
    store.add_policy("deny", "all", "any")
    store.add_policy("deny", "all", "international")
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


def test_closed_store_refuses(tmp_path):
    s = open_store(tmp_path / "s.db")
    with s:
        s.add_policy("deny", "all", "any")
    s.close()  # idempotent
    with pytest.raises(StoreError, match="is closed"):
        s.policies()


def test_a_policy_naming_what_the_inventory_lacks_is_refused_for_every_writer(tmp_path):
    from tests.unit import handmade

    store = open_store(tmp_path / "s.db")
    store.load_inventory(handmade.topology(), "t", "load")
    rev = store.revision()
    with pytest.raises(StoreError) as e:
        store.add_policy("deny", "isp:nowhere", "international")
    assert str(e.value) == ("new policy: unknown ISP 'nowhere' "
                            "(expected one of: fixnet, mobinet)")
    with pytest.raises(StoreError, match="new policy: unknown service 'nope'"):
        with store.transaction("t", "two") as tx:
            tx.add_policy("allow", "all", "service:bank")
            tx.add_policy("deny", "all", "service:nope")
    assert store.revision() == rev and store.policies() == ()


def test_reloading_an_inventory_that_strands_a_policy_in_force_is_refused(tmp_path):
    from dataclasses import replace

    from tests.unit import handmade

    topo = handmade.topology()
    store = open_store(tmp_path / "s.db")
    store.load_inventory(topo, "t", "load")
    store.add_policy("deny", "all", "service:social")
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


def test_the_store_loads_subscribers_as_the_model_says_a_topology_gives_them(tmp_path):
    from sovnet.model.policy import initial_subscribers
    from tests.unit import handmade

    topo = handmade.topology()
    store = open_store(tmp_path / "s.db")
    store.load_inventory(topo, "t", "load")
    assert store.subscribers() == initial_subscribers(topo)
