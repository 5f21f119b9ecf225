"""What a token may read of the store, by role: the CLI's reading commands (policy list,
subscriber list, history, enforcement, explain, flowlog, retention), an ISP's answers narrowed
to what reaches its own subscribers. Each returns plain JSON values and raises ApiError (400:
the CLI's own words, prefixed with the field they are about) or the role's Forbidden (403).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sovnet import commands
from sovnet.api.errors import ApiError, bad_input
from sovnet.api.roles import Forbidden, Identity
from sovnet.commands import duration, enforcement_json, policy_json, revision_json
from sovnet.errors import CompileError, StoreError
from sovnet.flowlog import text as flowlog_text
from sovnet.flowtable.explain import ExplainError
from sovnet.model.policy import Policy, PolicySyntaxError, Scope
from sovnet.model.schedule import ScheduleError
from sovnet.model.topology import Topology
from sovnet.store.base import PolicyStore
from sovnet.store.flowrecords import DEFAULT_RETENTION

T = TypeVar("T")
NO_INVENTORY = ("this store holds no inventory yet (expected a store that `sovnet cli` or a "
                "Lab has loaded a topology into)")


class Reads:
    """The reads of one store, for a token's Identity; sovnet.api.writes adds the writes."""

    def __init__(self, store: PolicyStore):
        self.store = store

    # -- helpers ------------------------------------------------------------------------------
    def topology(self) -> Topology | None:
        try:
            return self.store.topology()
        except StoreError:
            return None

    @staticmethod
    def _field(field: str, call: Callable[[], T]) -> T:
        """`call()`, its refusals (a parser's or the store's) as 400 about `field`."""
        try:
            return call()
        except (PolicySyntaxError, ScheduleError, StoreError, argparse.ArgumentTypeError,
                CompileError, ExplainError, flowlog_text.FlowlogError) as e:
            raise bad_input(words(e), field) from None

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

    # -- subscribers and devices ----------------------------------------------------------------
    def subscribers(self, who: Identity) -> list[dict[str, Any]]:
        topo = self.topology()
        if topo is None:
            return []
        subs = sorted(self.store.subscribers().items())
        return [commands.subscriber_json(topo, n, st) for n, st in subs
                if who.role.sees_subscriber(topo, n)]

    def subscriber(self, who: Identity, name: str) -> dict[str, Any]:
        topo = needs(self.topology())
        subs = self.store.subscribers()
        if name not in subs:
            raise ApiError(404, f"no subscriber {name!r}")
        who.role.may_read_subscriber(topo, name, f"read subscriber {name!r}")
        return commands.subscriber_json(topo, name, subs[name])

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
        topo = needs(self.topology())
        out = self._field("revision", lambda: enforcement_json(self.store, revision))
        if who.role.kind == "isp":
            out["acks"] = [a for a in out["acks"] if who.role.sees_switch(topo, a["dpid"])]
        return out

    def explain(self, who: Identity, src: str, dst: str, proto: str, port: int,
                sni: str | None, at: int | None) -> dict[str, Any]:
        # As `explain SRC DST --json` (sovnet.commands), its refusals naming the parameter.
        latest = self.store.revision()
        if at is not None and not 1 <= at <= latest:
            raise bad_input(f"no revision {at} (expected 1 to {latest})", "at")
        snap = self.store.snapshot(at)
        topo = needs(snap.topology)
        if who.role.kind == "isp":
            who.role.may_read_subscriber(topo, src, f"explain traffic from {src!r}")
        when = time.time() if at is None else self.store.revision_info(at).committed_at
        try:
            e = commands.explained(snap, when, src, dst, proto, port, sni)
        except CompileError as exc:
            raise bad_input(words(exc), "") from None
        except ExplainError as exc:
            text = str(exc)
            field = "src" if "source" in text else "dst" if "destination" in text else "proto"
            raise bad_input(text, field) from None
        return e.to_json() | {"revision": snap.revision}

    # -- flow records --------------------------------------------------------------------------
    def flowlog(self, who: Identity, subscriber: str | None, service: str | None,
                since: str | None, limit: int | None) -> dict[str, Any]:
        topo = needs(self.topology())
        seconds = self._field("since", lambda: None if since is None else duration(since))
        own_only = who.role.kind == "isp" and subscriber is None
        if who.role.kind == "isp" and subscriber is not None:
            known_to_isp(who, topo, subscriber, "subscriber")
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
            return role.sees_scope(topo, Scope(**c.body["scope"]))
        p = before.policy(c.key)
        return p is not None and role.sees_policy(topo, p)
    if c.entity == "subscriber":
        return role.sees_subscriber(topo, c.key)
    if c.entity == "device":
        owner = c.body.get("subscriber") if c.op == "put" else before.owner(c.key)
        return owner is not None and role.sees_subscriber(topo, owner)
    return True


def needs(topo: Topology | None) -> Topology:
    """`topo`, the store's; a 400 when it has none yet."""
    if topo is None:
        raise bad_input(NO_INVENTORY)
    return topo


def known_to_isp(who: Identity, topo: Topology, name: str, field: str) -> None:
    """An ISP naming a subscriber the topology lacks is told its own subscribers' names: the
    store's refusal would list every ISP's."""
    try:
        topo.subscriber(name)
    except KeyError:
        own = sorted(s.name for s in topo.subscribers if s.isp == who.role.isp)
        raise bad_input(f"no subscriber {name!r} of {who.role.isp} (expected one of: "
                        f"{', '.join(own) or 'none'})", field) from None


def words(e: Exception) -> str:
    # A policy being added has no id yet: the compiler's checks call it "new policy".
    return str(e).removeprefix("new policy: ")
