"""A real API server (uvicorn in a thread, on a free port of 127.0.0.1) on a real SQLite store
holding topologies/minimal.yaml, with one token of each role, and httpx clients for them.

minimal.yaml: ISPs fixnet (alice, carol) and mobinet (bob, dave, erin).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from sovnet.api import tokens
from sovnet.api.roles import Role
from sovnet.api.serve import ApiServer, start_in_thread
from sovnet.config import load_topology
from sovnet.store import open_store

ROOT = Path(__file__).resolve().parents[3]
ROLES = {"ministry": "regulator", "fixnet-noc": "isp:fixnet", "mobinet-noc": "isp:mobinet",
         "audit": "auditor"}


def make_store(path: Path, topology: str = "minimal.yaml") -> Path:
    with open_store(path) as s:
        s.load_inventory(load_topology(ROOT / "topologies" / topology), "test", "inventory")
    return path


@dataclass
class Api:
    server: ApiServer
    store_path: Path
    tokens_path: Path
    tokens: dict[str, str]  # token name -> the token
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, name: str | None = None, token: str | None = None) -> httpx.Client:
        """A client with the token of `name` (one of ROLES), or `token`, or none."""
        tok = token if token is not None else self.tokens[name] if name else None
        headers = {"Authorization": f"Bearer {tok}"} if tok is not None else {}
        c = httpx.Client(base_url=self.url, headers=headers, timeout=10)
        self.clients.append(c)
        return c

    def revision(self) -> int:
        return self.read(lambda s: s.revision())

    def read(self, what):
        """`what(store)` on a connection of its own, as another process would read it."""
        with open_store(self.store_path, create=False) as s:
            return what(s)


def start(tmp_path: Path, **options) -> Api:
    store = make_store(tmp_path / "store.db")
    tokens_path = tmp_path / "tokens.json"
    issued = {name: tokens.add(tokens_path, name, Role.parse(role))
              for name, role in ROLES.items()}
    server = start_in_thread(store, "127.0.0.1", 0, tokens_path, **options)
    return Api(server, store, tokens_path, issued)


def _serve(tmp_path: Path) -> Iterator[Api]:
    a = start(tmp_path, rate=None)
    try:
        yield a
    finally:
        for c in a.clients:
            c.close()
        a.server.stop()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _serve(tmp_path)


@pytest.fixture(scope="module")
def unchanged_api(tmp_path_factory) -> Iterator[Api]:
    """One server for a module's tests that must not change the store (refusals, reads)."""
    yield from _serve(tmp_path_factory.mktemp("api"))
