"""The changes of one revision: validated against the state in force, written as they come.

`Transaction` holds the rules every backend shares (what a change may be, given the state in
force); a backend subclass says only how to read that state and write a change. A
`SqliteTransaction` lives inside `SqliteStore.transaction()`, which holds the SQLite write lock
(BEGIN IMMEDIATE) for its whole life, so the state it validates against cannot change under it.
Its changes are written with the pending revision id as they are made, so later changes of the
same transaction see earlier ones; the revision row itself (with committed_at) is written by the
store just before COMMIT.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from sovnet.errors import CompileError, StoreError
from sovnet.model.command import PolicyCommand, PolicyRequest, Revoke
from sovnet.model.policy import (
    DEFAULT_STANDING,
    SUBSCRIBER_STATUSES,
    Policy,
    Scope,
    SubscriberState,
    Target,
)
from sovnet.model.topology import Topology
from sovnet.store import db

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def normalize_mac(mac: str) -> str:
    """'02:00:0A:01:00:05' -> '02:00:0a:01:00:05'; StoreError for anything else."""
    text = mac.strip().lower() if isinstance(mac, str) else ""
    if not _MAC.match(text):
        raise StoreError(
            f"bad MAC {mac!r} (expected six colon-separated hex bytes such as 02:00:0a:01:00:05)"
        )
    return text


def listing(items: list[str], limit: int = 20) -> str:
    """'a, b, c' for error messages; long lists are cut with a count of the rest."""
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... ({len(items) - limit} more)"


def _check_policy_names(topology: Topology, scope: Scope, target: Target, pid: int) -> None:
    from sovnet.compile.targets import check_scope, target_matches

    try:
        check_scope(topology, scope, pid)
        target_matches(topology, target, pid)
    except CompileError as e:
        raise StoreError(str(e)) from None


# Store-wide settings: key -> (what its body holds, a check of the body).
SETTINGS = {
    "clock": "the scenario clock that schedules run on: {epoch: unix time of scenario t=0, "
             "scale: scenario seconds per real second, origin: scenario time of day at t=0, "
             "in seconds}",
    "flowlog": "flow-log retention: {retention: seconds a flow record is kept}",
}


def check_setting(key: str, body: dict[str, Any]) -> None:
    if key not in SETTINGS:
        raise StoreError(f"unknown setting {key!r} (expected one of: {', '.join(SETTINGS)})")
    numbers = {"clock": ("epoch", "scale", "origin"), "flowlog": ("retention",)}[key]
    if not isinstance(body, dict) or set(body) != set(numbers) or not all(
        isinstance(body[k], (int, float)) and not isinstance(body[k], bool) and body[k] >= 0
        for k in numbers
    ) or (key == "clock" and body["scale"] <= 0):
        raise StoreError(f"bad setting {key!r}: {body!r} (expected {SETTINGS[key]})")


def policy_from_body(policy_id: int, body: dict[str, Any]) -> Policy:
    return Policy.from_body(policy_id, body)


def policies_in_force(bodies: dict[str, dict[str, Any]]) -> tuple[Policy, ...]:
    """The policy bodies in force at a revision (key: the id) -> Policies, by id."""
    return tuple(policy_from_body(int(k), bodies[k]) for k in sorted(bodies, key=int))


def subscribers_in_force(subscribers: dict[str, dict[str, Any]],
                         devices: dict[str, dict[str, Any]]) -> dict[str, SubscriberState]:
    """The subscriber and device bodies in force at a revision -> each subscriber's state."""
    macs: dict[str, set[str]] = {}
    for mac, body in devices.items():
        macs.setdefault(body["subscriber"], set()).add(mac)
    return {
        name: SubscriberState(name, body["status"], frozenset(macs.get(name, ())),
                              body.get("standing", DEFAULT_STANDING))
        for name, body in sorted(subscribers.items())
    }


class Transaction:
    """See `sovnet.store.base.StoreTransaction`. Subclasses read and write rows through
    `_in_force`, `_last_change`, `_insert` and `_max_policy_id`."""

    def __init__(self, revision: int, author: str, reason: str):
        self.revision: int | None = revision
        self.author = author
        self.reason = reason
        self._seq = 0
        self._open = True
        self._last_policy_id: int | None = None  # read once: the write lock is ours
        self._topology: tuple[tuple[int, int], Topology] | None = None  # (change id, value)

    @property
    def changes(self) -> int:
        """How many changes this transaction has made so far."""
        return self._seq

    def _close(self, committed: bool) -> None:
        self._open = False
        if not committed:
            self.revision = None

    # -- the backend's part --------------------------------------------------------------------
    def _in_force(self, entity: str) -> dict[str, dict[str, Any]]:
        """key -> body of every key of `entity` in force, this transaction's changes included."""
        raise NotImplementedError

    def _last_change(self, entity: str, key: str) -> tuple[int, int, str] | None:
        """(revision, seq, body_json) of the change putting (entity, key) in force, or None."""
        raise NotImplementedError

    def _insert(self, seq: int, entity: str, key: str, op: str, body_json: str | None) -> None:
        raise NotImplementedError

    def _max_policy_id(self) -> int:
        """The highest policy id ever assigned, revoked or not (ids are never reused)."""
        raise NotImplementedError

    def _live(self) -> int:
        """The revision being built; StoreError once the transaction is over."""
        if not self._open or self.revision is None:
            raise StoreError(
                "this transaction is over (expected changes inside its `with` block only)"
            )
        return self.revision

    def _write(self, entity: str, key: str, op: str, body: dict[str, Any] | None) -> None:
        self._live()
        self._seq += 1
        self._insert(self._seq, entity, key, op,
                     None if body is None else json.dumps(body, sort_keys=True))

    def _subscriber_names(self) -> dict[str, dict[str, Any]]:
        return self._in_force("subscriber")

    def _check_subscriber(self, name: str) -> None:
        subs = self._subscriber_names()
        if name not in subs:
            expected = (
                f"expected one of: {listing(sorted(subs))}"
                if subs
                else "no subscribers yet: load an inventory first"
            )
            raise StoreError(f"no subscriber {name!r} ({expected})")

    # -- inventory ----------------------------------------------------------------------------
    def load_inventory(self, topology: Topology) -> None:
        """Store `topology` and a record for each of its subscribers not yet in the store.

        A new subscriber gets status "registered" and, if the topology marks it `registered`,
        one device: its host's MAC (an unregistered one gets no device). Subscribers already in
        the store keep their status and devices, so reloading a topology never resets them.
        Loading a topology whose name differs from the one in the store is refused.
        """
        if not isinstance(topology, Topology):
            raise StoreError(f"expected a Topology to load, got {type(topology).__name__}")
        current = self._last_change("inventory", "topology")
        if current is not None:
            held = json.loads(current[2])["name"]
            if held != topology.name:
                raise StoreError(
                    f"store already holds topology {held!r}; refusing to load {topology.name!r} "
                    f"(expected a topology named {held!r}, or a new store file)"
                )
        stranded = []
        for key, body in sorted(self._in_force("policy").items(), key=lambda kv: int(kv[0])):
            p = policy_from_body(int(key), body)
            try:
                _check_policy_names(topology, p.scope, p.target, p.id)
            except StoreError as e:
                stranded.append(str(e))
        if stranded:
            raise StoreError(
                f"refusing to load topology {topology.name!r}: policies in force would name what "
                f"it lacks ({'; '.join(stranded)}); revoke them first"
            )
        self._write("inventory", "topology", "put", topology.to_dict())
        subs = self._subscriber_names()
        owners = {mac: b["subscriber"] for mac, b in self._in_force("device").items()}
        hosts = {h.name: h for h in topology.hosts}
        for sub in topology.subscribers:
            if sub.name in subs:
                continue
            self._write("subscriber", sub.name, "put", {"status": "registered"})
            if not sub.registered:
                continue
            if sub.name not in hosts:
                raise StoreError(
                    f"subscriber {sub.name!r} has no host in topology {topology.name!r} "
                    "(expected a host of the same name)"
                )
            mac = normalize_mac(hosts[sub.name].mac)
            if mac in owners:
                raise StoreError(
                    f"MAC {mac} of subscriber {sub.name!r} is already registered to "
                    f"subscriber {owners[mac]!r} (a MAC belongs to one subscriber at a time)"
                )
            self._write("device", mac, "put", {"subscriber": sub.name})
            owners[mac] = sub.name

    # -- policies -----------------------------------------------------------------------------
    def add_policy(self, request: PolicyRequest) -> Policy:
        """Add the policy `request` asks for; its id is the next never-used one. It takes the
        transaction's author, and its reason unless the request gives one. With a schedule it
        is in force only when that holds (sovnet.model.schedule)."""
        if not isinstance(request, PolicyRequest):
            raise StoreError(f"expected a PolicyRequest, got {type(request).__name__}")
        scope, target = request.scope, request.target
        self._check_names(scope, target)
        if self._last_policy_id is None:
            self._last_policy_id = self._max_policy_id()
        policy_id = self._last_policy_id = self._last_policy_id + 1
        body: dict[str, Any] = {
            "action": str(request.action),
            "scope": {"kind": scope.kind, "value": scope.value},
            "target": {"kind": target.kind, "value": target.value,
                       **({"family": target.family} if target.family else {})},
            "priority": request.priority,
            "author": self.author,
            "reason": self.reason if request.reason is None else request.reason,
        }
        if request.schedule is not None:
            body["schedule"] = request.schedule.to_body()
        self._write("policy", str(policy_id), "put", body)
        return policy_from_body(policy_id, body)

    def apply(self, command: PolicyCommand) -> Policy | None:
        """Apply one policy command: the Policy added, or None for a revoke."""
        if isinstance(command, Revoke):
            self.revoke_policy(command.policy_id)
            return None
        return self.add_policy(command)

    def _check_names(self, scope: Scope, target: Target) -> None:
        """Refuse a policy naming what the inventory lacks, whoever writes it: the controller
        could not compile it, and it would hold back every later revision."""
        current = self._last_change("inventory", "topology")
        if current is None:
            return
        if self._topology is None or self._topology[0] != current[:2]:
            self._topology = (current[:2], Topology.from_dict(json.loads(current[2])))
        _check_policy_names(self._topology[1], scope, target, 0)

    def revoke_policy(self, policy_id: int | str) -> None:
        ids = sorted(int(k) for k in self._in_force("policy"))
        if isinstance(policy_id, str) and policy_id.strip().lstrip("#").isdigit():
            policy_id = int(policy_id.strip().lstrip("#"))
        if isinstance(policy_id, bool) or not isinstance(policy_id, int) or policy_id not in ids:
            shown = ", ".join(f"#{i}" for i in ids) if ids else "none"
            raise StoreError(f"no policy #{policy_id} in force (in force: {shown})")
        self._write("policy", str(policy_id), "delete", None)

    # -- subscribers and devices -------------------------------------------------------------
    def set_subscriber_status(self, name: str, status: str) -> None:
        if status not in SUBSCRIBER_STATUSES:
            raise StoreError(
                f"unknown status {status!r} (expected one of: {', '.join(SUBSCRIBER_STATUSES)})"
            )
        self._check_subscriber(name)
        body = dict(self._subscriber_names()[name], status=status)
        self._write("subscriber", name, "put", body)

    def set_standing(self, name: str, standing: int) -> None:
        """A subscriber's standing, 0-100 (the score `standing:<N` scopes compare with)."""
        if isinstance(standing, bool) or not isinstance(standing, int) or not 0 <= standing <= 100:
            raise StoreError(f"standing {standing!r} out of range (expected an integer 0 to 100)")
        self._check_subscriber(name)
        body = dict(self._subscriber_names()[name], standing=standing)
        self._write("subscriber", name, "put", body)

    def put_setting(self, key: str, body: dict[str, Any]) -> None:
        """A store-wide setting (SETTINGS names them); the body is checked by its kind."""
        check_setting(key, body)
        self._write("setting", key, "put", dict(body))

    def delete_setting(self, key: str) -> None:
        if key not in self._in_force("setting"):
            raise StoreError(f"no setting {key!r} in force")
        self._write("setting", key, "delete", None)

    def register_device(self, subscriber: str, mac: str) -> None:
        """Admit `mac` for `subscriber`; refused if the MAC is registered to anyone already."""
        mac = normalize_mac(mac)
        self._check_subscriber(subscriber)
        current = self._last_change("device", mac)
        if current is not None:
            owner = json.loads(current[2])["subscriber"]
            if owner == subscriber:
                raise StoreError(f"device {mac} is already registered to subscriber {owner!r}")
            raise StoreError(
                f"device {mac} is registered to subscriber {owner!r}; revoke it first "
                "(a MAC belongs to one subscriber at a time)"
            )
        self._write("device", mac, "put", {"subscriber": subscriber})

    def revoke_device(self, mac: str) -> None:
        mac = normalize_mac(mac)
        devices = self._in_force("device")
        if mac not in devices:
            registered = [f"{m} ({b['subscriber']})" for m, b in sorted(devices.items())]
            raise StoreError(f"no device {mac} registered (registered: {listing(registered)})")
        self._write("device", mac, "delete", None)


class SqliteTransaction(Transaction):
    """A transaction on a SqliteStore's connection, which holds the write lock meanwhile."""

    def __init__(self, conn: sqlite3.Connection, revision: int, author: str, reason: str):
        super().__init__(revision, author, reason)
        self._conn = conn

    def _in_force(self, entity: str) -> dict[str, dict[str, Any]]:
        return db.in_force(self._conn, entity, self._live())

    def _last_change(self, entity: str, key: str) -> tuple[int, int, str] | None:
        return db.last_change(self._conn, entity, key, self._live())

    def _insert(self, seq: int, entity: str, key: str, op: str, body_json: str | None) -> None:
        self._conn.execute(
            "INSERT INTO changes (revision, seq, entity, key, op, body_json) VALUES (?,?,?,?,?,?)",
            (self.revision, seq, entity, key, op, body_json),
        )

    def _max_policy_id(self) -> int:
        return db.max_policy_id(self._conn)
