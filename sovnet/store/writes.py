"""The single-call writes every backend offers: each one change in a revision of its own,
made through the backend's `transaction` (so the rules live in `Transaction` alone)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sovnet.model.policy import Policy, Scope, Target
from sovnet.model.schedule import Schedule
from sovnet.model.topology import Topology
from sovnet.store.transaction import Transaction


class SingleChangeWrites:
    """Mixed into a store class that defines `transaction(author, reason)`."""

    def transaction(
        self, author: str = "", reason: str = ""
    ) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def load_inventory(self, topology: Topology, author: str = "", reason: str = "") -> int:
        """Store `topology` and its subscribers; see `Transaction.load_inventory`.

        Reloading a topology of the same name makes a new revision but keeps the subscriber
        states (status, devices) already in the store; a different name is refused.
        """
        with self.transaction(author, reason) as tx:
            tx.load_inventory(topology)
        return _committed(tx)

    def add_policy(
        self,
        action: str,
        scope: Scope | str,
        target: Target | str,
        priority: int = 100,
        author: str = "",
        reason: str = "",
        schedule: Schedule | None = None,
    ) -> Policy:
        with self.transaction(author, reason) as tx:
            policy = tx.add_policy(action, scope, target, priority, schedule=schedule)
        return policy

    def revoke_policy(self, policy_id: int, author: str = "", reason: str = "") -> int:
        with self.transaction(author, reason) as tx:
            tx.revoke_policy(policy_id)
        return _committed(tx)

    def set_subscriber_status(
        self, name: str, status: str, author: str = "", reason: str = ""
    ) -> int:
        with self.transaction(author, reason) as tx:
            tx.set_subscriber_status(name, status)
        return _committed(tx)

    def register_device(self, subscriber: str, mac: str, author: str = "", reason: str = "") -> int:
        with self.transaction(author, reason) as tx:
            tx.register_device(subscriber, mac)
        return _committed(tx)

    def revoke_device(self, mac: str, author: str = "", reason: str = "") -> int:
        with self.transaction(author, reason) as tx:
            tx.revoke_device(mac)
        return _committed(tx)

    def set_standing(self, name: str, standing: int, author: str = "", reason: str = "") -> int:
        with self.transaction(author, reason) as tx:
            tx.set_standing(name, standing)
        return _committed(tx)

    def put_setting(
        self, key: str, body: dict[str, Any], author: str = "", reason: str = ""
    ) -> int:
        with self.transaction(author, reason) as tx:
            tx.put_setting(key, body)
        return _committed(tx)


def _committed(tx: Transaction) -> int:
    assert tx.revision is not None  # every single-call write makes exactly one change
    return tx.revision
