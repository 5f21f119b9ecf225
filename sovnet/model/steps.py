"""What a timeline step writes to a policy store, in the one order all who apply steps share.

The experiment runner commits each Step as one revision (sovnet.experiments.timeline); the
load-time replay (sovnet.config.replay) makes the same changes on a MemoryStore to report each
the store would refuse. Both call apply_step, so the two cannot drift apart.

Pure: sovnet.model only. `store` is what the step reads (a PolicyStore) and `w` what it writes
through (a store's transaction, or anything with the same write methods).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from sovnet.model.command import PolicyRequest
from sovnet.model.policy import Policy, SubscriberState, initial_subscribers
from sovnet.model.scenario import Step
from sovnet.model.topology import Topology


class Reads(Protocol):
    def policies(self) -> tuple[Policy, ...]: ...

    def subscribers(self) -> dict[str, SubscriberState]: ...


class Writes(Protocol):
    """sovnet.store.base.StoreTransaction's writes that a step makes."""

    def add_policy(self, request: PolicyRequest) -> Policy | None: ...

    def revoke_policy(self, policy_id: int) -> object: ...

    def set_subscriber_status(self, name: str, status: str) -> object: ...

    def set_standing(self, name: str, standing: int) -> object: ...

    def register_device(self, subscriber: str, mac: str) -> object: ...

    def revoke_device(self, mac: str) -> object: ...


def _unmarked(kind: str, j: int) -> None:
    return None


def apply_step(step: Step, named: dict[str, list[int]], store: Reads, w: Writes,
               topology: Topology, mark: Callable[[str, int], object] = _unmarked) -> None:
    """Make `step`'s changes through `w`: the restore, then its revokes, adds, statuses,
    standings, registers and unregisters, each kind in the step's order. `named` maps the names
    the timeline gave policies to their ids in force, and is kept so. Before each change,
    `mark(kind, j)` tells which it is: the Step field it comes from and its index there (the
    restore is ("restore", 0)). An add that `w` refuses by returning None is not named."""
    if step.restore:
        mark("restore", 0)
        reset_to_inventory(store, w, topology)
        named.clear()
    for j, name in enumerate(step.revoke):
        mark("revoke", j)
        for pid in named.pop(name, []):
            w.revoke_policy(pid)
    for j, pc in enumerate(step.add):
        mark("add", j)
        p = w.add_policy(replace(pc.request, reason=pc.request.reason or step.label))
        if p is not None and pc.name:
            named.setdefault(pc.name, []).append(p.id)
    for j, (sub, status) in enumerate(step.status):
        mark("status", j)
        w.set_subscriber_status(sub, status)
    for j, (sub, standing) in enumerate(step.standing):
        mark("standing", j)
        w.set_standing(sub, standing)
    for j, (sub, mac) in enumerate(step.register):
        mark("register", j)
        w.register_device(sub, mac)
    for j, mac in enumerate(step.unregister):
        mark("unregister", j)
        w.revoke_device(mac)


def reset_to_inventory(store: Reads, tx: Writes, topology: Topology) -> None:
    """Through `tx`, put `store` back where `topology` started: no policies, every subscriber
    with its initial status, standing and devices (a scenario's `restore`; the tests' reset)."""
    for p in store.policies():
        tx.revoke_policy(p.id)
    current = store.subscribers()
    for name, want in initial_subscribers(topology).items():
        cur = current[name]
        if cur.status != want.status:
            tx.set_subscriber_status(name, want.status)
        if cur.standing != want.standing:
            tx.set_standing(name, want.standing)
        for mac in sorted(cur.devices - want.devices):
            tx.revoke_device(mac)
        for mac in sorted(want.devices - cur.devices):
            tx.register_device(name, mac)
