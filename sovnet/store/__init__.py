"""The central ISP policy store: versioned, append-only, one SQLite file shared by processes.

    from sovnet.store import open_store, StoreWatcher
    store = open_store("results/run.db")     # shared between processes
    store = MemoryStore()                     # one process, no file (tests)

See `sovnet.store.base` for the data model and the `PolicyStore` interface.
"""

from sovnet.store.base import (
    ENTITIES,
    OPS,
    Ack,
    Change,
    EnforcementPort,
    FlowLog,
    PolicyStore,
    RevisionInfo,
    Snapshot,
    StoreTransaction,
)
from sovnet.store.db import SCHEMA_VERSION
from sovnet.store.memory import MemoryStore
from sovnet.store.sqlite import SqliteStore, open_store
from sovnet.store.transaction import SqliteTransaction
from sovnet.store.watch import StoreWatcher

__all__ = [
    "ENTITIES",
    "OPS",
    "SCHEMA_VERSION",
    "Ack",
    "Change",
    "EnforcementPort",
    "FlowLog",
    "MemoryStore",
    "PolicyStore",
    "RevisionInfo",
    "Snapshot",
    "SqliteStore",
    "SqliteTransaction",
    "StoreTransaction",
    "StoreWatcher",
    "open_store",
]
