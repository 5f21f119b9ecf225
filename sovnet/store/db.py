"""SQLite plumbing shared by the store and its watcher: connecting, the schema, state queries.

Schema (version 3):

    schema_version(version)                               one row per version the file went through
    revisions(id PK, committed_at REAL, author, reason)
    changes(revision -> revisions.id, seq, entity, key, op, body_json)   PK (revision, seq)
    acks(id PK, revision, dpid, acked_at REAL, flows_changed, note, refused)
    flow_records(id PK, ...)    traffic records collected from the switches (sovnet.flowlog)

The state at revision R of (entity, key) is its last change (highest (revision, seq)) with
revision <= R; it is in force if that change is a 'put'. Triggers refuse UPDATE and DELETE on
revisions, changes and acks: the history is append-only. Flow records are not history but
collected data: the retention setting deletes old ones.

Version 2 added the 'setting' entity (the scenario clock, the flow-log retention) and the
flow_records table; version 3 the acks' `refused` column (why a switch refused the change,
before written as a "failed: " prefix of the note). Older files are migrated when opened.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sovnet.errors import SovnetError, StorageError, StoreError

SCHEMA_VERSION = 3
ENTITY_CHECK = "CHECK (entity IN ('inventory', 'policy', 'subscriber', 'device', 'setting'))"
BUSY_TIMEOUT_S = 10.0

_CHANGES = """CREATE TABLE IF NOT EXISTS {name} (
        revision INTEGER NOT NULL REFERENCES revisions(id) DEFERRABLE INITIALLY DEFERRED,
        seq INTEGER NOT NULL,
        entity TEXT NOT NULL {check},
        key TEXT NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
        body_json TEXT,
        PRIMARY KEY (revision, seq)) WITHOUT ROWID"""

_DDL = [
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS revisions (
        id INTEGER PRIMARY KEY,
        committed_at REAL NOT NULL,
        author TEXT NOT NULL,
        reason TEXT NOT NULL)""",
    _CHANGES.format(name="changes", check=ENTITY_CHECK),
    "CREATE INDEX IF NOT EXISTS changes_by_key ON changes (entity, key, revision, seq)",
    """CREATE TABLE IF NOT EXISTS acks (
        id INTEGER PRIMARY KEY,
        revision INTEGER NOT NULL,
        dpid INTEGER NOT NULL,
        acked_at REAL NOT NULL,
        flows_changed INTEGER NOT NULL,
        note TEXT NOT NULL,
        refused TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX IF NOT EXISTS acks_by_revision ON acks (revision)",
    # One row per flow a switch exported (NetFlow), kept if a `log` policy covered it; the
    # collector adds a later export of the same flow to its row (sovnet.store.flowrecords).
    # Times are wall-clock (time.time()); subscriber/service are names from the inventory.
    # direction: 'up' (the subscriber sent it) or 'down'; dropped: forwarded nowhere.
    """CREATE TABLE IF NOT EXISTS flow_records (
        id INTEGER PRIMARY KEY,
        subscriber TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
        service TEXT,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        proto INTEGER NOT NULL,
        src_port INTEGER NOT NULL,
        dst_port INTEGER NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        dpid INTEGER NOT NULL,
        policy INTEGER NOT NULL,
        dropped INTEGER NOT NULL DEFAULT 0,
        collected_at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS flow_records_by_time ON flow_records (last_seen)",
    "CREATE INDEX IF NOT EXISTS flow_records_by_subscriber ON flow_records (subscriber, last_seen)",
    "CREATE INDEX IF NOT EXISTS flow_records_by_tuple "
    "ON flow_records (src, src_port, dst, dst_port)",
] + [
    f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"""
    for table in ("revisions", "changes", "acks")
    for op in ("UPDATE", "DELETE")
]


def connect(path: str, *, must_exist: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=NORMAL."""
    try:
        if must_exist:
            if not Path(path).is_file():
                raise StoreError(f"no store at {path} (expected a file made by open_store)")
            target, uri = Path(path).resolve().as_uri() + "?mode=rw", True
        else:
            target, uri = path, False
        conn = sqlite3.connect(
            target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri
        )
    except sqlite3.Error as e:
        raise StoreError(
            f"cannot open store {path}: {e} (expected a writable file in an existing directory)"
        ) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal" and path != ":memory:":
            raise StoreError(
                f"store {path} cannot use WAL journaling (got {mode!r}, expected 'wal')"
            )
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise (storage_error(path, e, "it could not be opened")
               or StoreError(f"{path} is not a sovnet store ({e})")) from None
    except StoreError:
        conn.close()
        raise
    return conn


# SQLite's result codes for a file system that refused a write, not for bad input.
_STORAGE_CODES = {sqlite3.SQLITE_FULL: "the disk is full", sqlite3.SQLITE_IOERR: "an I/O error",
                  sqlite3.SQLITE_READONLY: "the file is read-only"}


def write_error(path: str, e: sqlite3.Error, what: str) -> SovnetError:
    """The error to raise for a failed write: StorageError when the file system refused it
    (exit 1, with what to do), else StoreError (the store refused the change)."""
    return (storage_error(path, e, f"{what} was not written: nothing changed and the store is "
                                   "intact")
            or StoreError(f"store {path}: transaction rolled back: {e}"))


def storage_error(path: str, e: sqlite3.Error, outcome: str) -> StorageError | None:
    """StorageError when `e` says the file system refused (full, read-only, failing)."""
    why = _STORAGE_CODES.get(getattr(e, "sqlite_errorcode", 0) & 0xFF)
    if why is None:
        return None
    return StorageError(f"store {path}: {why}, so {outcome} (expected free space and write "
                        "access on the file system that holds it; then try again)")


def check_is_store(path: str) -> None:
    """StoreError unless `path` is a sovnet store; reads only (no WAL switch, no schema)."""
    if not Path(path).is_file():
        raise StoreError(f"{path}: no such store file")
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                 "AND name = 'schema_version'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise (storage_error(path, e, "it could not be read")
               or StoreError(f"{path}: not a sovnet store ({e})")) from None
    if not found:
        raise StoreError(f"{path}: not a sovnet store (it has no schema_version table)")


def ensure_schema(conn: sqlite3.Connection, path: str) -> None:
    """Create the schema if absent; refuse a file written by a newer sovnet."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as e:
        raise StoreError(f"cannot write to store {path}: {e}") from None
    try:
        version = None
        if conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone():
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"store {path} has schema version {version}, newer than this sovnet understands "
                f"(expected at most {SCHEMA_VERSION}); upgrade sovnet to open it"
            )
        if version == 1:
            _migrate_v1(conn)
        if version in (1, 2):
            _migrate_v2(conn)
        for stmt in _DDL:
            conn.execute(stmt)
        if version != SCHEMA_VERSION:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _migrate_v1(conn: sqlite3.Connection) -> None:
    """Version 1's `changes` refused the 'setting' entity; SQLite cannot alter a CHECK, so the
    table is copied into one with the new CHECK (the append-only triggers go with the old
    table and are recreated by the DDL)."""
    conn.execute(_CHANGES.format(name="changes_v2", check=ENTITY_CHECK))
    conn.execute("INSERT INTO changes_v2 SELECT revision, seq, entity, key, op, body_json "
                 "FROM changes")
    conn.execute("DROP TABLE changes")
    conn.execute("ALTER TABLE changes_v2 RENAME TO changes")


_OLD_FAILED = "failed: "  # how versions 1 and 2 marked a refusal in the note


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """Give acks their `refused` column: an old note "failed: X" becomes refused "X". The
    append-only trigger is dropped for this one rewrite and recreated by the DDL."""
    conn.execute("ALTER TABLE acks ADD COLUMN refused TEXT NOT NULL DEFAULT ''")
    conn.execute("DROP TRIGGER IF EXISTS acks_no_update")
    conn.execute("UPDATE acks SET refused = substr(note, ?), note = '' "
                 "WHERE substr(note, 1, ?) = ?",
                 (len(_OLD_FAILED) + 1, len(_OLD_FAILED), _OLD_FAILED))


def latest_revision(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(id), 0) FROM revisions").fetchone()[0]


def resolve(conn: sqlite3.Connection, revision: int | None) -> int:
    """The revision to read: the latest for None; StoreError for one that does not exist."""
    latest = latest_revision(conn)
    if revision is None:
        return latest
    if isinstance(revision, bool) or not isinstance(revision, int) or not 0 <= revision <= latest:
        raise StoreError(f"no revision {revision!r} (expected 0 to {latest})")
    return revision


def in_force(conn: sqlite3.Connection, entity: str, rev: int) -> dict[str, dict[str, Any]]:
    """key -> body of every key of `entity` in force at `rev`."""
    rows = conn.execute(
        """SELECT key, op, body_json FROM (
               SELECT key, op, body_json, ROW_NUMBER() OVER (
                   PARTITION BY key ORDER BY revision DESC, seq DESC) AS rn
               FROM changes WHERE entity = ? AND revision <= ?)
           WHERE rn = 1""",
        (entity, rev),
    )
    return {key: json.loads(body) for key, op, body in rows if op == "put"}


def last_change(
    conn: sqlite3.Connection, entity: str, key: str, rev: int
) -> tuple[int, int, str] | None:
    """(revision, seq, body_json) of the change putting (entity, key) in force at `rev`, or None."""
    row = conn.execute(
        """SELECT revision, seq, op, body_json FROM changes
           WHERE entity = ? AND key = ? AND revision <= ?
           ORDER BY revision DESC, seq DESC LIMIT 1""",
        (entity, key, rev),
    ).fetchone()
    if row is None or row[2] != "put":
        return None
    return row[0], row[1], row[3]


def max_policy_id(conn: sqlite3.Connection) -> int:
    """The highest policy id ever assigned, revoked or not (so ids are never reused)."""
    return conn.execute(
        "SELECT COALESCE(MAX(CAST(key AS INTEGER)), 0) FROM changes WHERE entity = 'policy'"
    ).fetchone()[0]
