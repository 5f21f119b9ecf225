"""The policy store on one SQLite file, shared by the controller, the CLI and scripts.

WAL journaling lets readers proceed while one writer commits; writers queue on the file's write
lock for up to BUSY_TIMEOUT_S. Each `SqliteStore` has one connection, usable from several threads
(a lock serialises them). See `sovnet.store.base` for the data model, `sovnet.store.db` for the
schema.

    store = open_store("results/run.db")
    store.load_inventory(topology, author="ops", reason="initial inventory")
    with store.transaction("ops", "block bank for mobinet") as tx:
        p = tx.add_policy(PolicyRequest.of("deny", "isp:mobinet", "service:bank", 200))
    store.policies()          # in force now
    store.policies(p_rev)     # in force at any past revision
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sovnet.errors import StoreError
from sovnet.model.policy import Policy, SubscriberState
from sovnet.model.topology import Topology
from sovnet.store import db, flowrecords
from sovnet.store.base import Ack, Change, RevisionInfo, Snapshot
from sovnet.store.transaction import SqliteTransaction, policies_in_force, subscribers_in_force
from sovnet.store.writes import SingleChangeWrites


def open_store(path: str | os.PathLike[str], create: bool = True) -> SqliteStore:
    """Open the store at `path`, creating it if absent; with create=False only an existing
    sovnet store is opened, and any other file is left exactly as it was."""
    if not create:
        db.check_is_store(os.fspath(path))
    return SqliteStore(path)


class SqliteStore(SingleChangeWrites):
    """See `sovnet.store.base.PolicyStore`."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = db.connect(self.path)
        self._tx: SqliteTransaction | None = None
        self._topology_cache: tuple[tuple[int, int], Topology] | None = None
        self._force_cache: dict[str, tuple[int, dict[str, dict]]] = {}  # entity -> (rev, bodies)
        self._states_cache: tuple[dict, dict, dict[str, SubscriberState]] | None = None
        self._flows = flowrecords.SqliteFlowLog(self)
        try:
            db.ensure_schema(self._conn, self.path)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store {self.path} is closed (expected an open store)")
        return self._conn

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent view); inside a write transaction, that one."""
        with self._lock:
            conn = self._connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    # -- writes -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, author: str = "", reason: str = "") -> Iterator[SqliteTransaction]:
        """Group changes into ONE revision, committed when the block ends without an exception.

        On an exception nothing is committed and `tx.revision` becomes None; so it does for a
        block that made no change (no empty revision is written). Other threads using this
        store object wait until the block ends; other connections wait for the write lock.
        """
        with self._lock:
            conn = self._connection()
            if self._tx is not None:
                raise StoreError(
                    "a transaction is already open on this store "
                    "(expected further changes through its tx object)"
                )
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise db.write_error(self.path, e, "write") from None
            tx = SqliteTransaction(conn, db.latest_revision(conn) + 1, str(author), str(reason))
            self._tx = tx
            number = tx.revision  # _close forgets it
            try:
                yield tx
                if tx.changes:
                    conn.execute(
                        "INSERT INTO revisions (id, committed_at, author, reason) VALUES (?,?,?,?)",
                        (tx.revision, time.time(), tx.author, tx.reason),
                    )
                conn.execute("COMMIT")
                tx._close(committed=tx.changes > 0)
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                tx._close(committed=False)
                if isinstance(e, sqlite3.Error):
                    raise db.write_error(self.path, e, f"revision {number}") from e
                raise
            finally:
                self._tx = None

    # -- reads --------------------------------------------------------------------------------
    def revision(self) -> int:
        """The latest revision id; 0 for an empty store."""
        with self._reading() as conn:
            return db.latest_revision(conn)

    def data_version(self) -> int:
        """SQLite's data_version of this store's connection: changes when another connection
        (thread, process) commits, including enforcement acks."""
        with self._lock:
            return self._connection().execute("PRAGMA data_version").fetchone()[0]

    def topology(self, revision: int | None = None) -> Topology:
        with self._reading() as conn:
            rev = db.resolve(conn, revision)
            topo = self._topology_at(conn, rev)
        if topo is None:
            raise StoreError(
                f"no topology loaded at revision {rev} in {self.path} "
                "(expected an inventory: sovnet store load TOPOLOGY)"
            )
        return topo

    def policies(self, revision: int | None = None) -> tuple[Policy, ...]:
        """The policies in force, sorted by id."""
        with self._reading() as conn:
            return self._policies_at(conn, db.resolve(conn, revision))

    def subscribers(self, revision: int | None = None) -> dict[str, SubscriberState]:
        with self._reading() as conn:
            return self._subscribers_at(conn, db.resolve(conn, revision))

    def settings(self, revision: int | None = None) -> dict[str, dict[str, Any]]:
        with self._reading() as conn:
            return db.in_force(conn, "setting", db.resolve(conn, revision))

    def snapshot(self, revision: int | None = None) -> Snapshot:
        """Topology, policies and subscribers at one revision, from one read transaction."""
        with self._reading() as conn:
            rev = db.resolve(conn, revision)
            row = conn.execute("SELECT committed_at FROM revisions WHERE id = ?", (rev,)).fetchone()
            return Snapshot(
                revision=rev,
                committed_at=row[0] if row else None,
                topology=self._topology_at(conn, rev),
                policies=self._policies_at(conn, rev),
                subscribers=self._subscribers_at(conn, rev),
                settings=db.in_force(conn, "setting", rev),
            )

    def history(self, limit: int | None = None, since: int | None = None) -> list[RevisionInfo]:
        """Revisions with id > `since` (all if None), the newest `limit` of them, newest last."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, committed_at, author, reason FROM revisions WHERE id > ? "
                "ORDER BY id DESC LIMIT ?",
                (since or 0, -1 if limit is None else max(limit, 0)),
            ).fetchall()
            rows.reverse()
            if not rows:
                return []
            changes: dict[int, list[Change]] = {r[0]: [] for r in rows}
            for rev, entity, key, op, body in conn.execute(
                "SELECT revision, entity, key, op, body_json FROM changes "
                "WHERE revision BETWEEN ? AND ? ORDER BY revision, seq",
                (rows[0][0], rows[-1][0]),
            ):
                changes[rev].append(Change(entity, key, op, json.loads(body) if body else {}))
        return [RevisionInfo(i, at, a, r, tuple(changes[i])) for i, at, a, r in rows]

    def revision_info(self, rev: int) -> RevisionInfo:
        with self._reading() as conn:
            latest = db.latest_revision(conn)
            if isinstance(rev, bool) or not isinstance(rev, int) or not 1 <= rev <= latest:
                raise StoreError(f"no revision {rev!r} (expected 1 to {latest})")
            i, at, a, r = conn.execute(
                "SELECT id, committed_at, author, reason FROM revisions WHERE id = ?", (rev,)
            ).fetchone()
            changes = tuple(
                Change(entity, key, op, json.loads(body) if body else {})
                for entity, key, op, body in conn.execute(
                    "SELECT entity, key, op, body_json FROM changes WHERE revision = ? "
                    "ORDER BY seq",
                    (rev,),
                )
            )
        return RevisionInfo(i, at, a, r, changes)

    # -- state at a revision (callers hold a read transaction) ----------------------------------
    def _topology_at(self, conn: sqlite3.Connection, rev: int) -> Topology | None:
        change = db.last_change(conn, "inventory", "topology", rev)
        if change is None:
            return None
        where = (change[0], change[1])
        cached = self._topology_cache
        if cached is None or cached[0] != where:
            cached = (where, Topology.from_dict(json.loads(change[2])))
            self._topology_cache = cached
        return cached[1]

    def _policies_at(self, conn: sqlite3.Connection, rev: int) -> tuple[Policy, ...]:
        return policies_in_force(self._in_force(conn, "policy", rev))

    def _subscribers_at(self, conn: sqlite3.Connection, rev: int) -> dict[str, SubscriberState]:
        """Made again only when subscribers or devices changed: a policy change leaves the
        states of 10,000 subscribers as they were (and the very same dict, which the
        controller's incremental compile then knows at once as unchanged)."""
        subs = self._in_force(conn, "subscriber", rev)
        devices = self._in_force(conn, "device", rev)
        cached = self._states_cache
        if cached is None or cached[0] is not subs or cached[1] is not devices:
            cached = (subs, devices, subscribers_in_force(subs, devices))
            if self._tx is None:
                self._states_cache = cached
        return cached[2]

    def _in_force(self, conn: sqlite3.Connection, entity: str, rev: int) -> dict[str, dict]:
        """db.in_force, from the newest one read before plus the changes since: a controller
        reads every revision, and 10,000 subscribers take 100 ms to read afresh. Committed
        revisions never change; one being written (a transaction open) is not cached."""
        cached = self._force_cache.get(entity)
        if self._tx is not None or cached is None or cached[0] > rev:
            bodies = db.in_force(conn, entity, rev)
        else:
            bodies = cached[1]
            if cached[0] < rev:
                rows = conn.execute(
                    "SELECT key, op, body_json FROM changes WHERE entity = ? AND "
                    "revision > ? AND revision <= ? ORDER BY revision, seq",
                    (entity, cached[0], rev)).fetchall()
                if rows:  # else the very same dict: what is derived from it stays valid
                    bodies = dict(bodies)
                for key, op, body in rows:
                    if op == "put":
                        bodies[key] = json.loads(body)
                    else:
                        bodies.pop(key, None)
        if self._tx is None and (cached is None or cached[0] <= rev):
            self._force_cache[entity] = (rev, bodies)
        return bodies

    # -- enforcement acknowledgements -----------------------------------------------------------
    def record_ack(
        self,
        revision: int,
        dpid: int,
        acked_at: float,
        flows_changed: int,
        note: str = "",
        refused: str = "",
    ) -> None:
        """Record that switch `dpid` enforces `revision` (0..latest), or refused it (`refused`
        says why). Makes no revision."""
        with self._writing("record an ack") as conn:
            db.resolve(conn, revision)
            conn.execute(
                "INSERT INTO acks (revision, dpid, acked_at, flows_changed, note, refused) "
                "VALUES (?,?,?,?,?,?)",
                (revision, int(dpid), float(acked_at), int(flows_changed), str(note),
                 str(refused)),
            )

    def record_acks(self, acks: Sequence[Ack]) -> None:
        """Several acks in one write (a revision that leaves many switches untouched)."""
        if not acks:
            return
        with self._writing("record acks") as conn:
            for rev in {a.revision for a in acks}:
                db.resolve(conn, rev)
            conn.executemany(
                "INSERT INTO acks (revision, dpid, acked_at, flows_changed, note, refused) "
                "VALUES (?,?,?,?,?,?)",
                [(a.revision, int(a.dpid), float(a.acked_at), int(a.flows_changed),
                  str(a.note), str(a.refused)) for a in acks])

    def acks(self, revision: int | None = None) -> list[Ack]:
        """Acks for `revision`, or every ack if None; in the order they were recorded."""
        where, args = ("WHERE revision = ?", (revision,)) if revision is not None else ("", ())
        with self._reading() as conn:
            rows: list[Any] = conn.execute(
                "SELECT revision, dpid, acked_at, flows_changed, note, refused FROM acks "
                f"{where} ORDER BY id",
                args,
            ).fetchall()
        return [Ack(*row) for row in rows]

    @contextmanager
    def _writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction of its own, for data kept beside the history."""
        with self._lock:
            conn = self._connection()
            if self._tx is not None:
                raise StoreError(f"cannot {what} while a transaction is open on this store")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise StoreError(f"cannot write to store {self.path}: {e}") from None
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error):
                    raise db.write_error(self.path, e, what) from e
                raise

    # -- the flow log (collected data, no revisions; sovnet.store.flowrecords) -------------------
    @property
    def flows(self) -> flowrecords.SqliteFlowLog:
        return self._flows
