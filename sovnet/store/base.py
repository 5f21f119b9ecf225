"""The policy store's interface: the value types it hands out and the `PolicyStore` protocol.

The store is append-only and versioned. Every change belongs to a *revision* (an increasing
integer id with the wall-clock time it was committed, an author and a reason); nothing is updated
or deleted in place, so the state in force at any past revision can be read back. A revision may
group several changes, made atomically through `PolicyStore.transaction`.

What a revision can change, by entity:

    inventory   key "topology"    the Topology (as `Topology.to_dict()`)
    policy      key "7"           a policy: action, scope, target, priority, author, reason
    subscriber  key "alice"       {"status": "registered" | "verified" | "privileged" | "revoked",
                                   "standing": 0-100 (absent: 100)}
    device      key "02:00:..."   {"subscriber": "alice"}: the MAC is admitted for that subscriber
    setting     key "clock"       the scenario clock schedules run on (transaction.SETTINGS)
                key "flowlog"     flow-record retention

op is "put" (the body is the new state) or "delete" (the key is no longer in force: a revoked
policy or device). Enforcement acknowledgements from switches are kept beside the history and
never create revisions; flow records (collected traffic, which retention deletes) live in
their own `FlowLog`, beside the append-only history.

Two backends implement `PolicyStore`: `sovnet.store.sqlite` (the shared file) and
`sovnet.store.memory` (one process, for tests and pure callers). Both pass the contract tests
(tests/unit/store/test_contract.py), and `sovnet.store.conformance` makes mypy check that each
declares every method of the protocols. The controller needs only `EnforcementPort`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sovnet.compile.flowlog import FlowRecord
from sovnet.model.command import PolicyCommand, PolicyRequest
from sovnet.model.policy import Policy, SubscriberState
from sovnet.model.schedule import Clock
from sovnet.model.topology import Topology

ENTITIES = ("inventory", "policy", "subscriber", "device", "setting")
OPS = ("put", "delete")


@dataclass(frozen=True)
class Change:
    """One change of a revision. `body` is {} for a delete."""

    entity: str  # one of ENTITIES
    key: str
    op: str  # one of OPS
    body: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class RevisionInfo:
    id: int
    committed_at: float  # time.time() taken just before the commit
    author: str
    reason: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Snapshot:
    """Everything in force at one revision, read in one read transaction (so consistent).

    At revision 0 (an empty store) `committed_at` is None; `topology` is None until an inventory
    has been loaded.
    """

    revision: int
    committed_at: float | None
    topology: Topology | None
    policies: tuple[Policy, ...]  # sorted by id
    subscribers: dict[str, SubscriberState] = field(hash=False)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)

    @property
    def clock(self) -> Clock:
        """The scenario clock schedules run on (the wall clock when none is set)."""
        return Clock.from_setting(self.settings.get("clock"))


@dataclass(frozen=True)
class Ack:
    """A switch answered (barrier reply) for `revision`: its flow table enforces it, or, when
    `refused` is set, the switch refused the change (a bundle is all or nothing: none of it)."""

    revision: int
    dpid: int
    acked_at: float  # time.time() when the barrier reply arrived
    flows_changed: int
    note: str = ""
    refused: str = ""  # why the switch refused the change; "" when it enforces the revision

    @property
    def enforced(self) -> bool:
        return not self.refused


class StoreTransaction(Protocol):
    """The changes of one revision being built; obtained from `PolicyStore.transaction`.

    `revision` is the id this transaction commits as; after the `with` block it is None if
    nothing was committed (an exception, or no change at all).
    """

    revision: int | None
    author: str
    reason: str

    def load_inventory(self, topology: Topology) -> None: ...

    def apply(self, command: PolicyCommand) -> Policy | None: ...

    def add_policy(self, request: PolicyRequest) -> Policy: ...

    def set_standing(self, name: str, standing: int) -> None: ...

    def put_setting(self, key: str, body: dict[str, Any]) -> None: ...

    def revoke_policy(self, policy_id: int | str) -> None: ...

    def set_subscriber_status(self, name: str, status: str) -> None: ...

    def register_device(self, subscriber: str, mac: str) -> None: ...

    def revoke_device(self, mac: str) -> None: ...


class EnforcementPort(Protocol):
    """What the controller needs of a store: the state to enforce, and a place to say so."""

    def snapshot(self, revision: int | None = None) -> Snapshot: ...

    def record_ack(
        self,
        revision: int,
        dpid: int,
        acked_at: float,
        flows_changed: int,
        note: str = "",
        refused: str = "",
    ) -> None: ...

    def record_acks(self, acks: Sequence[Ack]) -> None: ...


class FlowLog(Protocol):
    """Flow records collected from the switches: data, not history (no revisions), deleted
    when older than the retention in force (the `flowlog` setting)."""

    def add(self, records: Iterable[FlowRecord]) -> int: ...

    def records(
        self,
        subscriber: str | None = None,
        service: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[FlowRecord]: ...

    def count(
        self,
        subscriber: str | None = None,
        service: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int: ...

    def retention(self) -> float: ...

    def expire(self, now: float | None = None) -> int: ...


class PolicyStore(EnforcementPort, Protocol):
    """A versioned, append-only store of inventory, policies and subscriber admission state.

    Every read takes `revision` (None = the latest) and raises StoreError for a revision that
    does not exist. Every single-call write makes a revision of one change and returns its id
    (`apply`/`add_policy` return the Policy); StoreError names what was expected when a change
    is refused. A policy command arrives as a value (sovnet.model.command) through `apply`.
    """

    # -- writes ---------------------------------------------------------------------------
    def transaction(
        self, author: str = "", reason: str = ""
    ) -> AbstractContextManager[StoreTransaction]: ...

    def load_inventory(self, topology: Topology, author: str = "", reason: str = "") -> int: ...

    def apply(self, command: PolicyCommand) -> Policy | None: ...

    def add_policy(self, request: PolicyRequest) -> Policy: ...

    def revoke_policy(self, policy_id: int | str, author: str = "", reason: str = "") -> int: ...

    def set_subscriber_status(
        self, name: str, status: str, author: str = "", reason: str = ""
    ) -> int: ...

    def register_device(
        self, subscriber: str, mac: str, author: str = "", reason: str = ""
    ) -> int: ...

    def revoke_device(self, mac: str, author: str = "", reason: str = "") -> int: ...

    def set_standing(self, name: str, standing: int, author: str = "", reason: str = "") -> int: ...

    def put_setting(
        self, key: str, body: dict[str, Any], author: str = "", reason: str = ""
    ) -> int: ...

    # -- reads ----------------------------------------------------------------------------
    def revision(self) -> int: ...

    def topology(self, revision: int | None = None) -> Topology: ...

    def policies(self, revision: int | None = None) -> tuple[Policy, ...]: ...

    def subscribers(self, revision: int | None = None) -> dict[str, SubscriberState]: ...

    def settings(self, revision: int | None = None) -> dict[str, dict[str, Any]]: ...

    def history(self, limit: int | None = None, since: int | None = None) -> list[RevisionInfo]: ...

    def revision_info(self, rev: int) -> RevisionInfo: ...

    def data_version(self) -> int: ...

    # -- enforcement acknowledgements (no revisions): record_ack and snapshot come from
    # EnforcementPort ------------------------------------------------------------------------
    def acks(self, revision: int | None = None) -> list[Ack]: ...

    # -- collected traffic (no revisions) --------------------------------------------------
    @property
    def flows(self) -> FlowLog: ...

    def close(self) -> None: ...
