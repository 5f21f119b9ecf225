"""The single-call writes every backend offers: each one change in a revision of its own,
made through the backend's `transaction` (so the rules live in `Transaction` alone)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sovnet.errors import StoreError
from sovnet.model.command import PolicyCommand, PolicyRequest, Revoke
from sovnet.model.policy import Policy
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

    def apply(self, command: PolicyCommand) -> Policy | None:
        """THE way a policy command reaches the store, whoever built it: one revision, by the
        command's author for its reason. The Policy added, or None for a revoke."""
        if not isinstance(command, (PolicyRequest, Revoke)):
            raise StoreError(f"expected a PolicyRequest, got {type(command).__name__}")
        with self.transaction(command.author, command.reason or "") as tx:
            return tx.apply(command)

    def add_policy(self, request: PolicyRequest) -> Policy:
        policy = self.apply(request)
        assert policy is not None
        return policy

    def revoke_policy(self, policy_id: int | str, author: str = "", reason: str = "") -> int:
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
