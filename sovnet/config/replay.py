"""A scenario's timeline replayed against a policy store, at load time.

The store decides what a change may be given the state in force (a MAC belongs to one subscriber
at a time; only a registered device can be revoked; ...), and that state is what the earlier
steps left. So the timeline is applied, step by step, to a MemoryStore loaded with the topology
as a run's lab loads it, by the runner's own sovnet.model.steps.apply_step, and each change the
store refuses is reported where the step wrote it (tests/unit/config/test_replay.py compares
the outcome with the runner's sovnet.experiments.timeline).

Each change is its own revision here (a run makes one per step): what the store refuses depends
only on the state in force, and a refusal then leaves the rest of the step to be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sovnet.config.report import Reporter
from sovnet.config.yamlsrc import Path
from sovnet.errors import StoreError
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import Policy
from sovnet.model.scenario import Step
from sovnet.model.steps import apply_step
from sovnet.model.topology import Topology
from sovnet.store import MemoryStore

_AFTER = ("expected a device registered by the topology or by an earlier step, and not "
          "unregistered since")


@dataclass
class Places:
    """Where each change of one Step was written, in the Step's own order (each list is named
    as the Step's field it follows)."""

    at: Path  # the step
    revoke: list[Path] = field(default_factory=list)
    add: list[Path] = field(default_factory=list)
    status: list[Path] = field(default_factory=list)
    standing: list[Path] = field(default_factory=list)
    register: list[Path] = field(default_factory=list)
    unregister: list[tuple[Path, str]] = field(default_factory=list)  # (where, subscriber or "")


_KINDS = tuple(f.name for f in fields(Places) if f.name != "at")


def replay(topology: Topology, steps: list[Step], places: list[Places],
           r: Reporter) -> MemoryStore:
    """Report every change of `steps` the store would refuse, at the place it was written;
    the store as the timeline leaves it."""
    store = MemoryStore()
    store.load_inventory(topology)
    checked = _Checked(store, r)
    named: dict[str, list[int]] = {}
    for step, place in zip(steps, places, strict=True):
        assert all(len(getattr(step, k)) == len(getattr(place, k)) for k in _KINDS)
        checked.place = place
        apply_step(step, named, store, checked, topology, checked.mark)
    return store


class _Checked:
    """The store's writes, as apply_step makes them: each the store refuses is reported at the
    place of the change apply_step marked last, and an add refused is None."""

    def __init__(self, store: MemoryStore, r: Reporter) -> None:
        self.store, self.r = store, r
        self.place = Places(())
        self.kind, self.j = "", 0

    def mark(self, kind: str, j: int) -> None:
        self.kind, self.j = kind, j

    def _at(self) -> Path:
        if self.kind == "restore":
            return self.place.at + ("restore",)
        if self.kind == "unregister":
            return self.place.unregister[self.j][0]
        return getattr(self.place, self.kind)[self.j]

    def _try(self, change, *args):
        """`change(*args)`, or None with the store's refusal reported."""
        try:
            return change(*args)
        except StoreError as exc:
            self.r.value(self._at(), f"the store refuses this at this step: {exc}")
            return None

    def add_policy(self, request: PolicyRequest) -> Policy | None:
        return self._try(self.store.add_policy, request)

    def revoke_policy(self, policy_id: int) -> None:
        self._try(self.store.revoke_policy, policy_id)

    def set_subscriber_status(self, name: str, status: str) -> None:
        self._try(self.store.set_subscriber_status, name, status)

    def set_standing(self, name: str, standing: int) -> None:
        self._try(self.store.set_standing, name, standing)

    def register_device(self, subscriber: str, mac: str) -> None:
        try:
            self.store.register_device(subscriber, mac)
        except StoreError as exc:
            owner = _owner(self.store, mac)
            self.r.value(self._at(), _back(subscriber, mac, owner, exc)
                         if self.kind == "restore" else _taken(subscriber, mac, owner, exc))

    def revoke_device(self, mac: str) -> None:
        if self.kind != "unregister":  # the restore's
            self._try(self.store.revoke_device, mac)
            return
        try:
            self.store.revoke_device(mac)
        except StoreError:
            who = self.place.unregister[self.j][1]
            what = f"subscriber {who!r} has no device {mac}" if who else f"no device {mac} is"
            self.r.value(self._at(), f"{what} registered at this step ({_AFTER})")


def _owner(store: MemoryStore, mac: str) -> str | None:
    return next((s.name for s in store.subscribers().values() if mac in s.devices), None)


def _taken(sub: str, mac: str, owner: str | None, exc: StoreError) -> str:
    if owner == sub:
        return (f"device {mac} is already registered to subscriber {sub!r} at this step "
                "(expected a device not registered yet)")
    if owner is not None:
        return (f"device {mac} is registered to subscriber {owner!r} at this step (expected it "
                "unregistered first: a MAC belongs to one subscriber at a time)")
    return f"the store refuses this at this step: {exc}"


def _back(sub: str, mac: str, owner: str | None, exc: StoreError) -> str:
    """Why the restore (sovnet.model.steps.reset_to_inventory) cannot give `sub` back `mac`."""
    if owner is not None:
        return (f"cannot give subscriber {sub!r} back its device {mac}: it is registered to "
                f"subscriber {owner!r} at this step (expected that device unregistered before "
                "the restore)")
    return f"the store refuses this at this step: {exc}"
