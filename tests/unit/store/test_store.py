"""The SQLite store's own file: WAL, schema versions and migration, append-only triggers.

What every backend must do is in test_contract.py."""

from __future__ import annotations

import sqlite3

import pytest

from sovnet.errors import StoreError
from sovnet.model.command import PolicyRequest
from sovnet.store import SCHEMA_VERSION, Ack, PolicyStore, SqliteStore, open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "store.db")
    yield s
    s.close()


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
    store.add_policy(PolicyRequest.of("deny", "all", "international"))
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


def test_a_version_2_file_is_migrated_and_its_failed_notes_become_refusals(tmp_path):
    path = tmp_path / "old.db"
    with open_store(path) as s:
        s.add_policy(PolicyRequest.of("deny", "all", "any"))
    conn = sqlite3.connect(path)  # make it what version 2 wrote: acks without `refused`
    conn.executescript("""
        DROP TRIGGER acks_no_update; DROP TRIGGER acks_no_delete; DROP TABLE acks;
        CREATE TABLE acks (id INTEGER PRIMARY KEY, revision INTEGER NOT NULL,
            dpid INTEGER NOT NULL, acked_at REAL NOT NULL, flows_changed INTEGER NOT NULL,
            note TEXT NOT NULL);
        INSERT INTO acks (revision, dpid, acked_at, flows_changed, note) VALUES
            (1, 17, 100.0, 0, 'failed: OpenFlow error type=1 code=2'),
            (1, 17, 101.0, 3, 'schedule: on #1');
        UPDATE schema_version SET version = 2;
    """)
    conn.close()
    with open_store(path) as s:
        assert s.acks() == [Ack(1, 17, 100.0, 0, "", "OpenFlow error type=1 code=2"),
                            Ack(1, 17, 101.0, 3, "schedule: on #1", "")]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,), (3,)]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE acks SET note = 'x'")  # the trigger is back
    conn.close()


def test_a_reader_following_every_revision_sees_what_a_fresh_reader_sees(tmp_path):
    """The snapshot cache (newest read + changes since) against a reading from scratch,
    revision by revision, with policies revoked and subscribers changed on the way."""
    from tests.unit import handmade

    path = tmp_path / "store.db"
    writer, follower = open_store(path), open_store(path)
    writer.load_inventory(handmade.topology())
    ids = []
    for n in range(6):
        ids.append(writer.add_policy(PolicyRequest.of("deny", "all", "international",
                                                      priority=100 + n)).id)
        if n % 2:
            writer.revoke_policy(ids.pop(0))
        writer.set_subscriber_status("alice", "revoked" if n % 2 else "registered")
        writer.register_device("bob", f"02:00:00:00:01:{n:02x}")
        writer.set_standing("alice", 10 * n)
        latest = follower.snapshot()
        fresh = open_store(path)
        assert latest == fresh.snapshot()
        fresh.close()
    assert follower.snapshot(2) == open_store(path).snapshot(2)  # an older one: read afresh
    assert follower.snapshot() == open_store(path).snapshot()


def test_policy_changes_leave_the_subscribers_states_the_very_same_object(tmp_path):
    """A controller compares each switch's subscriber states with what it compiled before;
    at 10,000 subscribers, re-deriving them for every policy change cost a third of it."""
    from tests.unit import handmade

    path = tmp_path / "store.db"
    writer, follower = open_store(path), open_store(path)
    writer.load_inventory(handmade.topology())
    first = follower.snapshot().subscribers
    writer.add_policy(PolicyRequest.of("deny", "all", "international"))
    assert follower.snapshot().subscribers is first
    writer.register_device("bob", "02:00:00:00:01:99")
    changed = follower.snapshot().subscribers
    assert changed is not first and changed == open_store(path).snapshot().subscribers
