"""A scenario's timeline replayed against a policy store, at load time.

The store decides what a change may be given the state in force (a MAC belongs to one subscriber
at a time; only a registered device can be revoked; ...), and that state is what the earlier
steps left. So the timeline is applied, step by step and in the runner's order, to a MemoryStore
loaded with the topology as a run's lab loads it, and each change the store refuses is reported
where the step wrote it. The runner's own code (sovnet.experiments.timeline) sits above config,
so its order is mirrored here, and tests/unit/config/test_replay.py holds the two together.

Each change is its own revision here (a run makes one per step): what the store refuses depends
only on the state in force, and a refusal then leaves the rest of the step to be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sovnet.config.report import Reporter
from sovnet.config.yamlsrc import Path
from sovnet.errors import StoreError
from sovnet.model.policy import initial_subscribers
from sovnet.model.scenario import Step
from sovnet.model.topology import Topology
from sovnet.store import MemoryStore

_AFTER = ("expected a device registered by the topology or by an earlier step, and not "
          "unregistered since")


@dataclass
class Places:
    """Where each change of one Step was written, in the Step's own order."""

    at: Path  # the step
    revoke: list[Path] = field(default_factory=list)
    add: list[Path] = field(default_factory=list)
    status: list[Path] = field(default_factory=list)
    standing: list[Path] = field(default_factory=list)
    register: list[Path] = field(default_factory=list)
    unregister: list[tuple[Path, str]] = field(default_factory=list)  # (where, subscriber or "")


def replay(topology: Topology, steps: list[Step], places: list[Places],
           r: Reporter) -> MemoryStore:
    """Report every change of `steps` the store would refuse, at the place it was written;
    the store as the timeline leaves it."""
    store = MemoryStore()
    store.load_inventory(topology)
    named: dict[str, list[int]] = {}  # as sovnet.experiments.timeline.TimelineStore keeps them
    for step, place in zip(steps, places, strict=True):
        if step.restore:
            _restore(store, topology, place.at + ("restore",), r)
            named.clear()
        for name, at in zip(step.revoke, place.revoke, strict=True):
            for pid in named.pop(name, []):
                _try(r, at, store.revoke_policy, pid)
        for pc, at in zip(step.add, place.add, strict=True):
            policy = _try(r, at, store.add_policy, pc.request)
            if policy is not None and pc.name:
                named.setdefault(pc.name, []).append(policy.id)
        for (sub, status), at in zip(step.status, place.status, strict=True):
            _try(r, at, store.set_subscriber_status, sub, status)
        for (sub, standing), at in zip(step.standing, place.standing, strict=True):
            _try(r, at, store.set_standing, sub, standing)
        for (sub, mac), at in zip(step.register, place.register, strict=True):
            try:
                store.register_device(sub, mac)
            except StoreError as exc:
                r.value(at, _taken(store, sub, mac, exc))
        for mac, (at, who) in zip(step.unregister, place.unregister, strict=True):
            try:
                store.revoke_device(mac)
            except StoreError:
                what = f"subscriber {who!r} has no device {mac}" if who else f"no device {mac} is"
                r.value(at, f"{what} registered at this step ({_AFTER})")
    return store


def _try(r: Reporter, at: Path, change, *args):
    """`change(*args)`, or None with the store's refusal reported at `at`."""
    try:
        return change(*args)
    except StoreError as exc:
        r.value(at, f"the store refuses this at this step: {exc}")
        return None


def _owner(store: MemoryStore, mac: str) -> str | None:
    return next((s.name for s in store.subscribers().values() if mac in s.devices), None)


def _taken(store: MemoryStore, sub: str, mac: str, exc: StoreError) -> str:
    owner = _owner(store, mac)
    if owner == sub:
        return (f"device {mac} is already registered to subscriber {sub!r} at this step "
                "(expected a device not registered yet)")
    if owner is not None:
        return (f"device {mac} is registered to subscriber {owner!r} at this step (expected it "
                "unregistered first: a MAC belongs to one subscriber at a time)")
    return f"the store refuses this at this step: {exc}"


def _restore(store: MemoryStore, topology: Topology, at: Path, r: Reporter) -> None:
    """What `restore: true` does (sovnet.experiments.timeline.reset_to_inventory): no policies,
    every subscriber back to its initial status, standing and devices, in the same order."""
    for p in store.policies():
        _try(r, at, store.revoke_policy, p.id)
    current = store.subscribers()
    for name, want in initial_subscribers(topology).items():
        cur = current[name]
        if cur.status != want.status:
            _try(r, at, store.set_subscriber_status, name, want.status)
        if cur.standing != want.standing:
            _try(r, at, store.set_standing, name, want.standing)
        for mac in sorted(cur.devices - want.devices):
            _try(r, at, store.revoke_device, mac)
        for mac in sorted(want.devices - cur.devices):
            try:
                store.register_device(name, mac)
            except StoreError as exc:
                owner = _owner(store, mac)
                r.value(at, f"cannot give subscriber {name!r} back its device {mac}: it is "
                            f"registered to subscriber {owner!r} at this step (expected that "
                            "device unregistered before the restore)" if owner else
                            f"the store refuses this at this step: {exc}")
