"""Applying a timeline step to the policy store: one step, one revision.

Policies are remembered by the names the scenario gave them, so a later step can revoke
"cutoff" or a whole loaded policy set. `restore` puts the store back where the topology started:
no policies, every subscriber with its initial standing and devices. What a step writes, and in
which order, is sovnet.model.steps: the load-time replay (sovnet.config.replay) shares it.
"""

from __future__ import annotations

from sovnet.model.scenario import Step
from sovnet.model.steps import apply_step, reset_to_inventory
from sovnet.model.topology import Topology

__all__ = ["TimelineStore", "reset_to_inventory"]  # reset_to_inventory: the tests' reset


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
        with self.store.transaction(author=self.author,
                                    reason=step.label or "timeline step") as tx:
            apply_step(step, self.named, self.store, tx, self.topology)
        return tx.revision
