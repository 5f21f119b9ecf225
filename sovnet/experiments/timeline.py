"""Applying a timeline step to the policy store: one step, one revision.

Policies are remembered by the names the scenario gave them, so a later step can revoke
"cutoff" or a whole loaded policy set. `restore` puts the store back where the topology started:
no policies, every subscriber with its initial standing and devices.
"""

from __future__ import annotations

from dataclasses import replace

from sovnet.model.command import Revoke
from sovnet.model.policy import initial_subscribers
from sovnet.model.scenario import Step
from sovnet.model.topology import Topology


class TimelineStore:
    def __init__(self, store, topology: Topology, author: str):
        self.store = store
        self.topology = topology
        self.author = author
        self.named: dict[str, list[int]] = {}  # scenario name -> policy ids in force

    def apply(self, step: Step) -> int | None:
        """Commit the step's changes as one revision; its id, or None if it changes nothing."""
        if not step.changes_store():
            return None
        store = self.store
        with store.transaction(author=self.author, reason=step.label or "timeline step") as tx:
            if step.restore:
                reset_to_inventory(store, tx, self.topology)
                self.named.clear()
            for name in step.revoke:
                for pid in self.named.pop(name, []):
                    tx.apply(Revoke(pid))
            for pc in step.add:
                p = tx.apply(replace(pc.request, reason=pc.request.reason or step.label))
                assert p is not None
                if pc.name:
                    self.named.setdefault(pc.name, []).append(p.id)
            for sub, status in step.status:
                tx.set_subscriber_status(sub, status)
            for sub, standing in step.standing:
                tx.set_standing(sub, standing)
            for sub, mac in step.register:
                tx.register_device(sub, mac)
            for mac in step.unregister:
                tx.revoke_device(mac)
        return tx.revision


def reset_to_inventory(store, tx, topology: Topology) -> None:
    """Within `tx`, put `store` back where `topology` started: no policies, every subscriber
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
