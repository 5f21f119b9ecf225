"""The flow log's table: records written by the collector, read by the CLI and the runner.

Flow records are collected data, not history: they are not revisions, and the retention
setting (`put_setting("flowlog", {"retention": seconds})`, DEFAULT_RETENTION when unset)
deletes those whose last packet is older than that. A switch exports a long flow in pieces
(each NetFlow export holds the packets since the previous one); `insert` adds a piece to the
row of the same flow when it continues it, so one row is one flow.

Functions take the store's connection; `SqliteFlowLog` (a SqliteStore's `flows`) wraps them
with the store's lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sovnet.compile.flowlog import FlowRecord  # the value type is pure, for the classifier
from sovnet.errors import StoreError

if TYPE_CHECKING:
    from sovnet.store.sqlite import SqliteStore

__all__ = ["DEFAULT_RETENTION", "MERGE_GAP", "FlowRecord", "SqliteFlowLog", "count", "expire",
           "insert", "query", "retention"]

DEFAULT_RETENTION = 90 * 86400.0  # seconds a record is kept when no retention is set
# A piece continues a flow's row when its first packet came less than this after the row's
# last one: OVS's own idle expiry of a datapath flow (max-idle, 10 s by default), after which
# OVS itself would start the flow anew.
MERGE_GAP = 10.0

_COLUMNS = ("subscriber", "direction", "service", "src", "dst", "proto", "src_port", "dst_port",
            "packets", "bytes", "first_seen", "last_seen", "dpid", "policy", "dropped",
            "collected_at")
# What makes two pieces one flow: everything but the counts and times.
_SAME_FLOW = ("subscriber", "direction", "src", "dst", "proto", "src_port", "dst_port", "dpid",
              "policy", "dropped")

T = TypeVar("T")


def retention(settings: Mapping[str, Mapping[str, Any]]) -> float:
    """Seconds a record is kept, from the store's settings (`Snapshot.settings`)."""
    body = settings.get("flowlog")
    return float(body["retention"]) if body else DEFAULT_RETENTION


def write(conn: sqlite3.Connection, path: str, work: Callable[[], T]) -> T:
    """Run `work` in one write transaction of its own (the caller holds the store's lock)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as e:
        raise StoreError(f"cannot write to store {path}: {e}") from None
    try:
        out = work()
        conn.execute("COMMIT")
        return out
    except BaseException as e:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(e, sqlite3.Error):
            raise StoreError(f"store {path}: flow records not written: {e}") from None
        raise


def insert(conn: sqlite3.Connection, records: Iterable[FlowRecord],
           merge_gap: float = MERGE_GAP) -> int:
    """Store `records` (inside a write transaction); returns how many rows are new, the
    others having continued a flow already stored."""
    new = 0
    for r in records:
        values = _row(r)
        key = [values[c] for c in _SAME_FLOW]
        found = conn.execute(
            f"SELECT id FROM flow_records WHERE {' AND '.join(f'{c} = ?' for c in _SAME_FLOW)} "
            "AND last_seen >= ? ORDER BY last_seen DESC LIMIT 1",
            (*key, r.first_seen - merge_gap),
        ).fetchone()
        if found:
            conn.execute(
                "UPDATE flow_records SET packets = packets + ?, bytes = bytes + ?, "
                "first_seen = MIN(first_seen, ?), last_seen = MAX(last_seen, ?), "
                "collected_at = ?, service = COALESCE(service, ?) WHERE id = ?",
                (r.packets, r.bytes, r.first_seen, r.last_seen, r.collected_at, r.service,
                 found[0]),
            )
        else:
            conn.execute(
                f"INSERT INTO flow_records ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                [values[c] for c in _COLUMNS],
            )
            new += 1
    return new


def _row(r: FlowRecord) -> dict[str, Any]:
    return {c: (int(r.dropped) if c == "dropped" else getattr(r, c)) for c in _COLUMNS}


def _where(subscriber: str | None, service: str | None, since: float | None,
           until: float | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, name in (("subscriber", subscriber), ("service", service)):
        if name is not None:
            clauses.append(f"{column} = ?")
            args.append(name)
    check_times(since, until)
    if since is not None:  # the flow was still going at `since` or began after it
        clauses.append("last_seen >= ?")
        args.append(float(since))
    if until is not None:
        clauses.append("first_seen <= ?")
        args.append(float(until))
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args


def check_times(since: float | None, until: float | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, (int, float))):
            raise StoreError(f"{name}={value!r} is not a time (expected Unix seconds)")


def check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise StoreError(f"limit {limit!r} is not a positive integer (expected 1 or more)")


def query(conn: sqlite3.Connection, subscriber: str | None = None, service: str | None = None,
          since: float | None = None, until: float | None = None,
          limit: int | None = None) -> list[FlowRecord]:
    """Records matching every filter given, oldest first; with `limit`, the newest `limit`."""
    check_limit(limit)
    where, args = _where(subscriber, service, since, until)
    rows = conn.execute(
        f"SELECT id, {', '.join(_COLUMNS)} FROM flow_records {where} "
        "ORDER BY first_seen DESC, id DESC LIMIT ?",
        (*args, -1 if limit is None else limit),
    ).fetchall()
    rows.reverse()
    fields: list[dict[str, Any]] = [
        {c: (bool(v) if c == "dropped" else v) for c, v in zip(_COLUMNS, row[1:], strict=True)}
        for row in rows]
    return [FlowRecord(id=row[0], **f) for row, f in zip(rows, fields, strict=True)]


def count(conn: sqlite3.Connection, subscriber: str | None = None, service: str | None = None,
          since: float | None = None, until: float | None = None) -> int:
    where, args = _where(subscriber, service, since, until)
    return conn.execute(f"SELECT COUNT(*) FROM flow_records {where}", args).fetchone()[0]


def expire(conn: sqlite3.Connection, keep_seconds: float, now: float | None = None) -> int:
    """Delete the records whose last packet is more than `keep_seconds` before `now`."""
    cutoff = (time.time() if now is None else now) - keep_seconds
    return conn.execute("DELETE FROM flow_records WHERE last_seen < ?", (cutoff,)).rowcount


class SqliteFlowLog:
    """The flow log of one SqliteStore (`store.flows`); see `sovnet.store.base.FlowLog`."""

    def __init__(self, store: SqliteStore):
        self._store = store

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        store = self._store
        with store._lock:
            conn = store._connection()
            if store._tx is not None:
                raise StoreError("cannot write flow records while a transaction is open on "
                                 "this store")
            return write(conn, store.path, lambda: work(conn))

    def add(self, records: Iterable[FlowRecord]) -> int:
        """Store flow records (a piece continuing a stored flow is added to its row); returns
        how many rows are new."""
        records = list(records)
        return self._write(lambda conn: insert(conn, records)) if records else 0

    def records(self, subscriber: str | None = None, service: str | None = None,
                since: float | None = None, until: float | None = None,
                limit: int | None = None) -> list[FlowRecord]:
        """Records of flows active between `since` and `until` (Unix seconds), oldest first;
        with `limit`, the newest `limit` of them."""
        with self._store._reading() as conn:
            return query(conn, subscriber, service, since, until, limit)

    def count(self, subscriber: str | None = None, service: str | None = None,
              since: float | None = None, until: float | None = None) -> int:
        with self._store._reading() as conn:
            return count(conn, subscriber, service, since, until)

    def retention(self) -> float:
        """Seconds flow records are kept (the `flowlog` setting, else DEFAULT_RETENTION)."""
        return retention(self._store.settings())

    def expire(self, now: float | None = None) -> int:
        """Delete the records older than the retention in force; returns how many."""
        keep = self.retention()
        return self._write(lambda conn: expire(conn, keep, now))
