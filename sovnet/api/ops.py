"""What the API does on the store, by role: the CLI's policy commands (sovnet.commands), with
the token's identity as the author and the role's limits checked before anything is written.

Each operation returns plain JSON values and raises ApiError (400: the CLI's own words,
prefixed with the field they are about) or the role's Forbidden (403). The checks
come first and a write is one store transaction, so a refusal writes nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sovnet import commands
from sovnet.api.errors import ApiError, bad_input
from sovnet.api.models import PolicyIn, PolicySetIn
from sovnet.api.roles import Forbidden, Identity
from sovnet.commands import (
    DURATION_FORM,
    duration,
    enforcement_json,
    policy_json,
    revision_json,
)
from sovnet.compile.targets import check_scope, target_matches
from sovnet.config import load_policy_set
from sovnet.errors import CompileError, ConfigError, StoreError
from sovnet.flowlog import text as flowlog_text
from sovnet.flowtable.explain import ExplainError
from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.policy import (
    SUBSCRIBER_STATUSES,
    Action,
    Policy,
    PolicySyntaxError,
    check_priority,
    parse_scope,
    parse_target,
)
from sovnet.model.scenario import MAX_DURATION, format_duration
from sovnet.model.schedule import ScheduleError, schedule
from sovnet.model.topology import Topology
from sovnet.store.base import PolicyStore
from sovnet.store.flowrecords import DEFAULT_RETENTION

T = TypeVar("T")
NO_INVENTORY = ("this store holds no inventory yet (expected a store that `sovnet cli` or a "
                "Lab has loaded a topology into)")


class Operations:
    def __init__(self, store: PolicyStore, read_only: str = ""):
        self.store = store
        # Why writes are refused ("the store of a finished run (...)"), or "": they are not.
        self.read_only = read_only

    # -- helpers ------------------------------------------------------------------------------
    def topology(self) -> Topology | None:
        try:
            return self.store.topology()
        except StoreError:
            return None

    def _needs_topology(self) -> Topology:
        topo = self.topology()
        if topo is None:
            raise bad_input(NO_INVENTORY)
        return topo

    @staticmethod
    def _field(field: str, call: Callable[[], T]) -> T:
        """`call()`, its refusals (a parser's or the store's) as 400 about `field`."""
        try:
            return call()
        except (PolicySyntaxError, ScheduleError, StoreError, argparse.ArgumentTypeError,
                CompileError, ExplainError, flowlog_text.FlowlogError) as e:
            raise bad_input(_words(e), field) from None

    def _writable(self) -> None:
        if self.read_only:
            raise ApiError(409, f"{self.read_only}: it is kept as the run left it (expected "
                                "`sovnet api --write` to change it anyway)")

    # -- status -------------------------------------------------------------------------------
    def status(self, who: Identity) -> dict[str, Any]:
        topo = self.topology()
        return {"revision": self.store.revision(), "topology": topo.name if topo else None,
                "token": who.name, "role": str(who.role), "author": who.author}

    # -- policies -----------------------------------------------------------------------------
    def policies(self, who: Identity, at: int | None = None) -> list[dict[str, Any]]:
        pols = self._field("at", lambda: self.store.policies(at))
        topo = self.topology()
        return [policy_json(p) for p in pols if who.role.sees_policy(topo, p)]

    def policy(self, who: Identity, policy_id: int) -> dict[str, Any]:
        p = self._in_force(policy_id)
        if not who.role.sees_policy(self.topology(), p):
            raise Forbidden(f"{who.role} may not read policy #{policy_id}: its scope "
                            f"({p.scope}) is another ISP's")
        return policy_json(p)

    def _in_force(self, policy_id: int) -> Policy:
        for p in self.store.policies():
            if p.id == policy_id:
                return p
        raise ApiError(404, f"no policy #{policy_id} in force")

    def add_policy(self, who: Identity, body: PolicyIn) -> dict[str, Any]:
        self._writable()
        who.role.may_write("add policies")
        request = self._request(who, body)
        topo = self.topology()
        if topo is not None:  # without an inventory the store checks no names either
            self._field("scope", lambda: check_scope(topo, request.scope, 0))
            self._field("target", lambda: target_matches(topo, request.target, 0))
        if who.role.kind == "isp":
            who.role.may_scope(self._needs_topology(), request.scope)
        with _StoreRefusal("policy add"), self.store.transaction(who.author, body.why) as tx:
            p = tx.apply(request)
        assert p is not None
        return {"revision": tx.revision, "policy": policy_json(p),
                "message": f"added {p.describe()}"}

    def _request(self, who: Identity, body: PolicyIn) -> PolicyRequest:
        """The body as a PolicyRequest, each field checked by the CLI's own parser in turn, so
        that a refusal names the field it is about."""
        action = self._field("action", lambda: Action.parse(body.action))
        scope = self._field("scope", lambda: parse_scope(body.scope))
        target = self._field("target", lambda: parse_target(body.target))
        self._field("priority", lambda: check_priority(body.priority))
        start = self._field("from", lambda: _seconds(body.from_))
        end = self._field("until", lambda: _seconds(body.until))
        if body.daily is not None:  # the window alone first, so that its refusal names it
            self._field("daily", lambda: schedule(body.daily))
        when = self._field("until", lambda: schedule(body.daily, start, end))
        # What no single field decides: an action that cannot apply to this target or scope.
        return self._field("action", lambda: PolicyRequest.of(
            action, scope, target, body.priority, author=who.author, reason=body.why,
            schedule=when))

    def revoke(self, who: Identity, ids: list[int], why: str, field: str = "ids"
               ) -> dict[str, Any]:
        self._writable()
        who.role.may_write("revoke policies")
        if who.role.kind == "isp":
            topo = self._needs_topology()
            in_force = {p.id: p for p in self.store.policies()}
            for pid in ids:
                if pid not in in_force:  # the store's refusal would list every ISP's policies
                    raise bad_input(f"no policy #{pid} in force", field)
                who.role.may_revoke(topo, in_force[pid])
        with _StoreRefusal("policy revoke", field), \
                self.store.transaction(who.author, why or f"revoke {ids}") as tx:
            for pid in ids:
                tx.apply(Revoke(pid))
        return {"revision": tx.revision, "revoked": ids,
                "message": f"revoked {', '.join(f'#{i}' for i in ids)}"}

    def load(self, who: Identity, doc: PolicySetIn, why: str) -> dict[str, Any]:
        self._writable()
        who.role.may_write("load policy sets")
        topo = self.topology()
        specs = _policy_set(doc, topo)
        if who.role.kind == "isp":
            for spec in specs:
                who.role.may_scope(self._needs_topology(), spec.scope)
        with _StoreRefusal("policy load"), \
                self.store.transaction(who.author, why or f"load policy set {doc.name}") as tx:
            added = [tx.apply(spec) for spec in specs]
        return {"revision": tx.revision,
                "policies": [policy_json(p) for p in added if p is not None],
                "message": f"loaded {len(specs)} policies from policy set {doc.name}"}

    # -- subscribers and devices ----------------------------------------------------------------
    def subscribers(self, who: Identity) -> list[dict[str, Any]]:
        topo = self.topology()
        if topo is None:
            return []
        return [_subscriber_json(topo, n, st) for n, st in sorted(self.store.subscribers().items())
                if who.role.sees_subscriber(topo, n)]

    def subscriber(self, who: Identity, name: str) -> dict[str, Any]:
        topo = self._needs_topology()
        subs = self.store.subscribers()
        if name not in subs:
            raise ApiError(404, f"no subscriber {name!r}")
        who.role.may_read_subscriber(topo, name, f"read subscriber {name!r}")
        return _subscriber_json(topo, name, subs[name])

    def set_status(self, who: Identity, name: str, status: str, why: str) -> dict[str, Any]:
        self._subscriber_change(who, name, f"change the status of {name!r}")
        field = "status" if status not in SUBSCRIBER_STATUSES else "name"
        rev = self._field(field, lambda: self.store.set_subscriber_status(
            name, status, author=who.author, reason=why))
        return {"revision": rev, "subscriber": name, "status": status,
                "message": f"{name} is now {status}"}

    def set_standing(self, who: Identity, name: str, standing: int, why: str
                     ) -> dict[str, Any]:
        self._subscriber_change(who, name, f"change the standing of {name!r}")
        field = "standing" if not 0 <= standing <= 100 else "name"
        rev = self._field(field, lambda: self.store.set_standing(
            name, standing, author=who.author, reason=why))
        return {"revision": rev, "subscriber": name, "standing": standing,
                "message": f"{name} now has standing {standing}"}

    def register_device(self, who: Identity, subscriber: str, mac: str, why: str
                        ) -> dict[str, Any]:
        self._subscriber_change(who, subscriber, f"register devices for {subscriber!r}",
                                "subscriber")
        known = subscriber in self.store.subscribers()
        rev = self._field("mac" if known else "subscriber", lambda: self.store.register_device(
            subscriber, mac, author=who.author, reason=why))
        return {"revision": rev, "subscriber": subscriber, "mac": mac.strip().lower(),
                "message": f"device {mac} registered to {subscriber}"}

    def revoke_device(self, who: Identity, mac: str, why: str) -> dict[str, Any]:
        self._writable()
        who.role.may_write("revoke devices")
        owner = next((n for n, st in self.store.subscribers().items()
                      if mac.strip().lower() in st.devices), None)
        if owner is not None:
            self._subscriber_change(who, owner, f"revoke device {mac} of {owner!r}")
        elif who.role.kind == "isp":  # the store's refusal would list every ISP's devices
            raise bad_input(f"no device {mac} registered to a subscriber of {who.role.isp}",
                            "mac")
        rev = self._field("mac", lambda: self.store.revoke_device(
            mac, author=who.author, reason=why))
        return {"revision": rev, "mac": mac.strip().lower(), "subscriber": owner,
                "message": f"device {mac} revoked"}

    def _subscriber_change(self, who: Identity, name: str, what: str,
                           field: str = "name") -> None:
        self._writable()
        who.role.may_write(what)
        if who.role.kind != "isp":
            return  # an unknown subscriber is the store's to refuse
        topo = self._needs_topology()
        if name not in {s.name for s in topo.subscribers}:
            raise _unknown_to_isp(who, topo, name, field)
        who.role.may_change_subscriber(topo, name, what)

    # -- history, enforcement, explain ------------------------------------------------------------
    def history(self, who: Identity, n: int, since: int | None = None) -> list[dict[str, Any]]:
        revs = self.store.history(limit=n, since=since)
        if who.role.kind != "isp":
            return [revision_json(r) for r in revs]
        topo = self.topology()
        out = []
        for r in revs:
            shown = revision_json(r)
            before = _Before(self.store, r.id - 1)
            kept = [c for c, raw in zip(shown["changes"], r.changes, strict=True)
                    if _visible(who, topo, raw, before)]
            if kept:  # a revision of nothing but others' changes is not shown at all
                hidden = len(shown["changes"]) - len(kept)
                out.append(shown | {"changes": kept} | ({"hidden_changes": hidden}
                                                        if hidden else {}))
        return out

    def enforcement(self, who: Identity, revision: int | None) -> dict[str, Any]:
        self._needs_topology()
        out = self._field("revision", lambda: enforcement_json(self.store, revision))
        if who.role.kind == "isp":
            topo = self.topology()
            out["acks"] = [a for a in out["acks"] if who.role.sees_switch(topo, a["dpid"])]
        return out

    def explain(self, who: Identity, src: str, dst: str, proto: str, port: int,
                sni: str | None, at: int | None) -> dict[str, Any]:
        # As `explain SRC DST --json` (sovnet.commands), its refusals naming the parameter.
        latest = self.store.revision()
        if at is not None and not 1 <= at <= latest:
            raise bad_input(f"no revision {at} (expected 1 to {latest})", "at")
        snap = self.store.snapshot(at)
        if snap.topology is None:
            raise bad_input(NO_INVENTORY)
        topo = snap.topology
        if who.role.kind == "isp":
            who.role.may_read_subscriber(topo, src, f"explain traffic from {src!r}")
        when = time.time() if at is None else self.store.revision_info(at).committed_at
        try:
            e = commands.explained(snap, when, src, dst, proto, port, sni)
        except CompileError as exc:
            raise bad_input(_words(exc), "") from None
        except ExplainError as exc:
            text = str(exc)
            field = "src" if "source" in text else "dst" if "destination" in text else "proto"
            raise bad_input(text, field) from None
        return e.to_json() | {"revision": snap.revision}

    # -- flow records --------------------------------------------------------------------------
    def flowlog(self, who: Identity, subscriber: str | None, service: str | None,
                since: str | None, limit: int | None) -> dict[str, Any]:
        topo = self._needs_topology()
        seconds = self._field("since", lambda: None if since is None else duration(since))
        own_only = who.role.kind == "isp" and subscriber is None
        if who.role.kind == "isp" and subscriber is not None:
            if subscriber not in {s.name for s in topo.subscribers}:
                raise _unknown_to_isp(who, topo, subscriber, "subscriber")
            who.role.may_read_subscriber(topo, subscriber,
                                         f"read the flow records of {subscriber!r}")
        try:
            lines = flowlog_text.flowlog(self.store, subscriber, service, seconds,
                                         None if own_only else limit, as_json=True)
        except flowlog_text.FlowlogError as e:
            raise bad_input(str(e), "service" if "service" in str(e) else "subscriber") from None
        records = [json.loads(line) for line in lines.splitlines() if line]
        if own_only:
            records = [r for r in records if who.role.sees_subscriber(topo, r["subscriber"])]
            records = records[-limit:] if limit else records
        return {"records": records, "count": len(records)}

    def retention(self) -> dict[str, Any]:
        body = self.store.settings().get("flowlog")
        seconds = DEFAULT_RETENTION if body is None else body["retention"]
        return {"retention": seconds, "default": body is None,
                "message": flowlog_text.retention(self.store, None)[0]}

    def set_retention(self, who: Identity, seconds: str | float, why: str) -> dict[str, Any]:
        self._writable()
        who.role.may_set_retention()
        value = self._field("seconds", lambda: _seconds(seconds))
        assert value is not None
        text, rev = self._field("seconds", lambda: flowlog_text.retention(
            self.store, value, who.author, why))
        return {"revision": rev, "retention": value, "message": text}


class _Before:
    """The store as it stood before a revision, read once and only if a change needs it: a
    revoked policy's scope, a revoked device's subscriber (their delete changes carry none)."""

    def __init__(self, store: PolicyStore, revision: int):
        self.store, self.revision = store, revision
        self._policies: dict[int, Policy] | None = None
        self._owners: dict[str, str] | None = None

    def policy(self, key: str) -> Policy | None:
        if self._policies is None:
            self._policies = {p.id: p for p in self.store.policies(self.revision)}
        return self._policies.get(int(key))

    def owner(self, mac: str) -> str | None:
        if self._owners is None:
            self._owners = {m: n for n, st in self.store.subscribers(self.revision).items()
                            for m in st.devices}
        return self._owners.get(mac)


def _visible(who: Identity, topo: Topology | None, c, before: _Before) -> bool:
    """May an ISP see this change of the history? Those of others' scopes, subscribers and
    devices it may not; the inventory and store-wide settings are everyone's."""
    role = who.role
    if c.entity == "policy":
        if c.op == "put":
            return role.sees_scope(topo, parse_scope(_scope_text(c.body["scope"])))
        p = before.policy(c.key)
        return p is not None and role.sees_policy(topo, p)
    if c.entity == "subscriber":
        return role.sees_subscriber(topo, c.key)
    if c.entity == "device":
        owner = c.body.get("subscriber") if c.op == "put" else before.owner(c.key)
        return owner is not None and role.sees_subscriber(topo, owner)
    return True


class _StoreRefusal:
    """A StoreError raised in its block (the transaction rolled back) as a 400 about `field`,
    or, when no one field is at fault, prefixed with its command as `sovnet store` says it."""

    def __init__(self, command: str, field: str = ""):
        self.command, self.field = command, field

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> None:
        if isinstance(exc, (StoreError, PolicySyntaxError)):
            raise bad_input(_words(exc) if self.field else f"{self.command}: {exc}",
                            self.field) from None


def _unknown_to_isp(who: Identity, topo: Topology, name: str, field: str) -> ApiError:
    """An ISP naming a subscriber the topology lacks is told its own subscribers' names: the
    store's refusal would list every ISP's."""
    own = sorted(s.name for s in topo.subscribers if s.isp == who.role.isp)
    return bad_input(f"no subscriber {name!r} of {who.role.isp} (expected one of: "
                     f"{', '.join(own) or 'none'})", field)


def _words(e: Exception) -> str:
    # A policy being added has no id yet: the compiler's checks call it "new policy".
    return str(e).removeprefix("new policy: ")


def _seconds(value: str | float | None) -> float | None:
    """A duration as the CLI reads one ('8h', '3600'); a JSON number is seconds."""
    if value is None or isinstance(value, bool):
        return None if value is None else duration(str(value))
    seconds = float(value) if isinstance(value, (int, float)) else duration(value)
    if not 0 <= seconds <= MAX_DURATION:  # also NaN and infinities, which JSON can carry here
        shown = repr(value) if isinstance(value, str) else f"{value:g}"
        raise argparse.ArgumentTypeError(f"bad duration {shown} (expected {DURATION_FORM}, "
                                         f"from 0 to {format_duration(MAX_DURATION)})")
    return seconds


def _scope_text(body: dict[str, Any]) -> str:
    return body["kind"] if body["kind"] == "all" else f"{body['kind']}:{body['value']}"


def _subscriber_json(topo: Topology, name: str, st) -> dict[str, Any]:
    # The fields of `subscriber list --json`.
    sub = topo.subscriber(name)
    return {"name": name, "class": sub.cls, "isp": sub.isp, "status": st.status,
            "standing": st.standing, "devices": sorted(st.devices)}


def _policy_set(doc: PolicySetIn, topo: Topology | None) -> list[PolicyRequest]:
    """The policy set checked as `policy load FILE` checks a file (load_policy_set), with the
    problems named by where they are in the body rather than in a temporary file."""
    with tempfile.TemporaryDirectory(prefix="sovnet-api-") as folder:
        path = Path(folder) / "policy-set.json"
        path.write_text(json.dumps(doc.model_dump(by_alias=True), indent=1))
        try:
            return load_policy_set(path, topo)
        except ConfigError as e:
            # Named by where they are in the body: the temporary file's lines mean nothing.
            text = "; ".join(f"{i.where}: {i.message}" if i.where else i.message
                             for i in e.issues)
            raise ApiError(400, text, e.issues[0].where if e.issues else "") from None
