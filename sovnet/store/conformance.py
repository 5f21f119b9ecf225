"""Checked by mypy, never run: each backend is a `PolicyStore` (and so an `EnforcementPort`),
its flow log a `FlowLog`, its transaction a `StoreTransaction`. A protocol is structural, so
without these lines a backend missing a method would only fail where someone happens to pass
it as one; here it fails `mypy` at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sovnet.store.base import EnforcementPort, FlowLog, PolicyStore, StoreTransaction
    from sovnet.store.flowrecords import SqliteFlowLog
    from sovnet.store.memory import MemoryFlowLog, MemoryStore, MemoryTransaction
    from sovnet.store.sqlite import SqliteStore
    from sovnet.store.transaction import SqliteTransaction

    def _sqlite(s: SqliteStore) -> PolicyStore:
        return s

    def _memory(s: MemoryStore) -> PolicyStore:
        return s

    def _enforced_by_sqlite(s: SqliteStore) -> EnforcementPort:
        return s

    def _enforced_by_memory(s: MemoryStore) -> EnforcementPort:
        return s

    def _sqlite_flows(f: SqliteFlowLog) -> FlowLog:
        return f

    def _memory_flows(f: MemoryFlowLog) -> FlowLog:
        return f

    def _sqlite_tx(t: SqliteTransaction) -> StoreTransaction:
        return t

    def _memory_tx(t: MemoryTransaction) -> StoreTransaction:
        return t
