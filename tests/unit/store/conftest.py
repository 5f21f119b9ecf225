"""The contract suite's fixture: every test taking `store` runs on each backend."""

from __future__ import annotations

import pytest

from sovnet.store import MemoryStore, open_store

BACKENDS = ["sqlite", "memory"]


def make_store(backend: str, tmp_path, name: str = "store.db"):
    return open_store(tmp_path / name) if backend == "sqlite" else MemoryStore()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store(backend, tmp_path):
    s = make_store(backend, tmp_path)
    yield s
    s.close()


def where(store) -> str:
    """How a backend names itself in messages: its file, or "memory"."""
    return getattr(store, "path", "memory")
