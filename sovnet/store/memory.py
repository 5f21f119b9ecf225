"""The policy store in one process's memory: the same contract as the SQLite store, no file.

For tests and for callers that need a store but no sharing between processes. Changes are kept
as the SQLite store keeps them (rows of (revision, seq, entity, key, op, body_json)), so the
rules of `Transaction` and the bodies read back are the same; `data_version` counts every
commit (an ack or flow record too), as SQLite's does for other connections.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from sovnet.errors import StoreError
from sovnet.model.policy import Policy, SubscriberState
from sovnet.model.topology import Topology
from sovnet.store import flowrecords
from sovnet.store.base import Ack, Change, RevisionInfo, Snapshot
from sovnet.store.flowrecords import FlowRecord
from sovnet.store.transaction import Transaction, policies_in_force, subscribers_in_force
from sovnet.store.writes import SingleChangeWrites


class _Row(NamedTuple):
    revision: int
    seq: int
    entity: str
    key: str
    op: str
    body_json: str | None


def _last(rows: Iterable[_Row], entity: str, key: str, rev: int) -> _Row | None:
    found = None
    for r in rows:
        if r.revision <= rev and r.entity == entity and r.key == key:
            found = r  # rows are in (revision, seq) order: the last match is in force
    return found


def _in_force(rows: Iterable[_Row], entity: str, rev: int) -> dict[str, dict[str, Any]]:
    last: dict[str, _Row] = {}
    for r in rows:
        if r.revision <= rev and r.entity == entity:
            last[r.key] = r
    return {k: json.loads(r.body_json or "{}") for k, r in last.items() if r.op == "put"}


class MemoryTransaction(Transaction):
    """A transaction on a MemoryStore; its rows join the store's when it commits."""

    def __init__(self, committed: list[_Row], revision: int, author: str, reason: str):
        super().__init__(revision, author, reason)
        self._committed = committed
        self.rows: list[_Row] = []

    def _all(self) -> list[_Row]:
        return self._committed + self.rows

    def _in_force(self, entity: str) -> dict[str, dict[str, Any]]:
        return _in_force(self._all(), entity, self._live())

    def _last_change(self, entity: str, key: str) -> tuple[int, int, str] | None:
        r = _last(self._all(), entity, key, self._live())
        if r is None or r.op != "put" or r.body_json is None:
            return None
        return r.revision, r.seq, r.body_json

    def _insert(self, seq: int, entity: str, key: str, op: str, body_json: str | None) -> None:
        self.rows.append(_Row(self._live(), seq, entity, key, op, body_json))

    def _max_policy_id(self) -> int:
        return max((int(r.key) for r in self._all() if r.entity == "policy"), default=0)


class MemoryFlowLog:
    """See `sovnet.store.base.FlowLog`; a piece continuing a kept flow joins its record."""

    def __init__(self, settings: Callable[[], dict[str, dict[str, Any]]],
                 on_write: Callable[[], None]):
        self._settings = settings
        self._on_write = on_write
        self._lock = threading.RLock()
        self._rows: list[FlowRecord] = []
        self._next_id = 1

    def add(self, records: Iterable[FlowRecord],
            merge_gap: float = flowrecords.MERGE_GAP) -> int:
        new = 0
        with self._lock:
            for r in records:
                same = [i for i, row in enumerate(self._rows) if _same_flow(row, r)
                        and row.last_seen >= r.first_seen - merge_gap]
                if same:
                    i = max(same, key=lambda j: (self._rows[j].last_seen, j))
                    row = self._rows[i]
                    self._rows[i] = dataclasses.replace(
                        row, packets=row.packets + r.packets, bytes=row.bytes + r.bytes,
                        first_seen=min(row.first_seen, r.first_seen),
                        last_seen=max(row.last_seen, r.last_seen),
                        collected_at=r.collected_at,
                        service=row.service if row.service is not None else r.service)
                else:
                    self._rows.append(dataclasses.replace(r, id=self._next_id))
                    self._next_id += 1
                    new += 1
            self._on_write()
        return new

    def _matching(self, subscriber: str | None, service: str | None, since: float | None,
                  until: float | None) -> list[FlowRecord]:
        flowrecords.check_times(since, until)
        with self._lock:
            return [r for r in self._rows
                    if (subscriber is None or r.subscriber == subscriber)
                    and (service is None or r.service == service)
                    and (since is None or r.last_seen >= since)
                    and (until is None or r.first_seen <= until)]

    def records(self, subscriber: str | None = None, service: str | None = None,
                since: float | None = None, until: float | None = None,
                limit: int | None = None) -> list[FlowRecord]:
        flowrecords.check_limit(limit)
        rows = sorted(self._matching(subscriber, service, since, until),
                      key=lambda r: (r.first_seen, r.id or 0))
        return rows[-limit:] if limit is not None else rows

    def count(self, subscriber: str | None = None, service: str | None = None,
              since: float | None = None, until: float | None = None) -> int:
        return len(self._matching(subscriber, service, since, until))

    def retention(self) -> float:
        return flowrecords.retention(self._settings())

    def expire(self, now: float | None = None) -> int:
        cutoff = (time.time() if now is None else now) - self.retention()
        with self._lock:
            kept = [r for r in self._rows if r.last_seen >= cutoff]
            gone, self._rows = len(self._rows) - len(kept), kept
            self._on_write()
        return gone


_SAME_FLOW = ("subscriber", "direction", "src", "dst", "proto", "src_port", "dst_port", "dpid",
              "policy", "dropped")


def _same_flow(a: FlowRecord, b: FlowRecord) -> bool:
    return all(getattr(a, f) == getattr(b, f) for f in _SAME_FLOW)


class MemoryStore(SingleChangeWrites):
    """See `sovnet.store.base.PolicyStore`. Safe to share between threads (one lock)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rows: list[_Row] = []
        self._revisions: list[tuple[int, float, str, str]] = []  # id, committed_at, author, reason
        self._acks: list[Ack] = []
        self._tx: MemoryTransaction | None = None
        self._version = 0
        self._closed = False
        self._flows = MemoryFlowLog(self.settings, self._bump)

    def __repr__(self) -> str:
        return "MemoryStore()"

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store memory is closed (expected an open store)")

    def _bump(self) -> None:
        self._version += 1

    # -- writes -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, author: str = "", reason: str = "") -> Iterator[MemoryTransaction]:
        """See `SqliteStore.transaction`: one revision, committed when the block ends well."""
        with self._lock:
            self._check_open()
            if self._tx is not None:
                raise StoreError(
                    "a transaction is already open on this store "
                    "(expected further changes through its tx object)"
                )
            tx = MemoryTransaction(self._rows, self._latest() + 1, str(author), str(reason))
            self._tx = tx
            try:
                yield tx
                if tx.changes:
                    assert tx.revision is not None
                    self._revisions.append((tx.revision, time.time(), tx.author, tx.reason))
                    self._rows.extend(tx.rows)
                    self._bump()
                tx._close(committed=tx.changes > 0)
            except BaseException:
                tx._close(committed=False)
                raise
            finally:
                self._tx = None

    # -- reads --------------------------------------------------------------------------------
    def _latest(self) -> int:
        return self._revisions[-1][0] if self._revisions else 0

    def _resolve(self, revision: int | None) -> int:
        self._check_open()
        latest = self._latest()
        if revision is None:
            return latest
        if isinstance(revision, bool) or not isinstance(revision, int) \
                or not 0 <= revision <= latest:
            raise StoreError(f"no revision {revision!r} (expected 0 to {latest})")
        return revision

    def revision(self) -> int:
        with self._lock:
            self._check_open()
            return self._latest()

    def data_version(self) -> int:
        return self._version

    def topology(self, revision: int | None = None) -> Topology:
        with self._lock:
            rev = self._resolve(revision)
            topo = self._topology_at(rev)
        if topo is None:
            raise StoreError(
                f"no topology loaded at revision {rev} in memory "
                "(expected an inventory: sovnet store load TOPOLOGY)"
            )
        return topo

    def policies(self, revision: int | None = None) -> tuple[Policy, ...]:
        with self._lock:
            return self._policies_at(self._resolve(revision))

    def subscribers(self, revision: int | None = None) -> dict[str, SubscriberState]:
        with self._lock:
            return self._subscribers_at(self._resolve(revision))

    def settings(self, revision: int | None = None) -> dict[str, dict[str, Any]]:
        with self._lock:
            return _in_force(self._rows, "setting", self._resolve(revision))

    def snapshot(self, revision: int | None = None) -> Snapshot:
        with self._lock:
            rev = self._resolve(revision)
            return Snapshot(
                revision=rev,
                committed_at=self._revisions[rev - 1][1] if rev else None,
                topology=self._topology_at(rev),
                policies=self._policies_at(rev),
                subscribers=self._subscribers_at(rev),
                settings=_in_force(self._rows, "setting", rev),
            )

    def history(self, limit: int | None = None, since: int | None = None) -> list[RevisionInfo]:
        with self._lock:
            self._check_open()
            revs = [r for r in self._revisions if r[0] > (since or 0)]
            if limit is not None:
                revs = revs[len(revs) - max(limit, 0):] if limit > 0 else []
            return [self._info(r) for r in revs]

    def revision_info(self, rev: int) -> RevisionInfo:
        with self._lock:
            self._check_open()
            latest = self._latest()
            if isinstance(rev, bool) or not isinstance(rev, int) or not 1 <= rev <= latest:
                raise StoreError(f"no revision {rev!r} (expected 1 to {latest})")
            return self._info(self._revisions[rev - 1])

    def _info(self, r: tuple[int, float, str, str]) -> RevisionInfo:
        changes = tuple(Change(c.entity, c.key, c.op, json.loads(c.body_json or "{}"))
                        for c in self._rows if c.revision == r[0])
        return RevisionInfo(r[0], r[1], r[2], r[3], changes)

    def _topology_at(self, rev: int) -> Topology | None:
        row = _last(self._rows, "inventory", "topology", rev)
        if row is None or row.op != "put" or row.body_json is None:
            return None
        return Topology.from_dict(json.loads(row.body_json))

    def _policies_at(self, rev: int) -> tuple[Policy, ...]:
        return policies_in_force(_in_force(self._rows, "policy", rev))

    def _subscribers_at(self, rev: int) -> dict[str, SubscriberState]:
        return subscribers_in_force(_in_force(self._rows, "subscriber", rev),
                                    _in_force(self._rows, "device", rev))

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
        with self._lock:
            if self._tx is not None:
                raise StoreError("cannot record an ack while a transaction is open on this store")
            self._resolve(revision)
            self._acks.append(Ack(revision, int(dpid), float(acked_at), int(flows_changed),
                                  str(note), str(refused)))
            self._bump()

    def record_acks(self, acks: Sequence[Ack]) -> None:
        if not acks:
            return
        with self._lock:
            if self._tx is not None:
                raise StoreError("cannot record an ack while a transaction is open on this store")
            for a in acks:
                self._resolve(a.revision)
            self._acks.extend(acks)
            self._bump()

    def acks(self, revision: int | None = None) -> list[Ack]:
        with self._lock:
            self._check_open()
            return [a for a in self._acks if revision is None or a.revision == revision]

    @property
    def flows(self) -> MemoryFlowLog:
        return self._flows
