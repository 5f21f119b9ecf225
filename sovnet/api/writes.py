"""What a token may change in the store, by role: the CLI's writing commands (policy add,
revoke and load, subscriber, device, retention), with the token's identity as the author.
The role's limits are checked first and a write is one store transaction, so a refusal (400,
403, or 409 for a finished run's store) writes nothing.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sovnet.api.errors import ApiError, bad_input
from sovnet.api.models import PolicyIn, PolicySetIn
from sovnet.api.reads import Reads, known_to_isp, needs, words
from sovnet.api.roles import Identity
from sovnet.commands import DURATION_FORM, duration, policy_json
from sovnet.compile.targets import check_scope, target_matches
from sovnet.config.policyset import policy_set_from_doc
from sovnet.config.yamlsrc import parse_yaml
from sovnet.errors import ConfigError, StoreError
from sovnet.flowlog import text as flowlog_text
from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.policy import (
    SUBSCRIBER_STATUSES,
    Action,
    PolicySyntaxError,
    check_priority,
    parse_scope,
    parse_target,
)
from sovnet.model.scenario import MAX_DURATION, format_duration
from sovnet.model.schedule import schedule
from sovnet.model.topology import Topology
from sovnet.store.base import PolicyStore


class Operations(Reads):
    """Every operation of the API: the reads it inherits, and the writes."""

    def __init__(self, store: PolicyStore, read_only: str = ""):
        super().__init__(store)
        # Why writes are refused ("the store of a finished run (...)"), or "": they are not.
        self.read_only = read_only

    def _writable(self) -> None:
        if self.read_only:
            raise ApiError(409, f"{self.read_only}: it is kept as the run left it (expected "
                                "`sovnet api --write` to change it anyway)")

    # -- policies -----------------------------------------------------------------------------
    def add_policy(self, who: Identity, body: PolicyIn) -> dict[str, Any]:
        self._writable()
        who.role.may_write("add policies")
        request = self._request(who, body)
        topo = self.topology()
        if topo is not None:  # without an inventory the store checks no names either
            self._field("scope", lambda: check_scope(topo, request.scope, 0))
            self._field("target", lambda: target_matches(topo, request.target, 0))
        if who.role.kind == "isp":
            who.role.may_scope(needs(topo), request.scope)
        with _store_refusal("policy add"), self.store.transaction(who.author, body.why) as tx:
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
            topo = needs(self.topology())
            in_force = {p.id: p for p in self.store.policies()}
            for pid in ids:
                if pid not in in_force:  # the store's refusal would list every ISP's policies
                    raise bad_input(f"no policy #{pid} in force", field)
                who.role.may_revoke(topo, in_force[pid])
        with _store_refusal("policy revoke", field), \
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
                who.role.may_scope(needs(topo), spec.scope)
        with _store_refusal("policy load"), \
                self.store.transaction(who.author, why or f"load policy set {doc.name}") as tx:
            added = [tx.apply(spec) for spec in specs]
        return {"revision": tx.revision,
                "policies": [policy_json(p) for p in added if p is not None],
                "message": f"loaded {len(specs)} policies from policy set {doc.name}"}

    # -- subscribers and devices --------------------------------------------------------------
    def set_status(self, who: Identity, name: str, status: str, why: str) -> dict[str, Any]:
        return self._set_subscriber(who, name, "status", status, status in SUBSCRIBER_STATUSES,
                                    self.store.set_subscriber_status, why,
                                    f"{name} is now {status}")

    def set_standing(self, who: Identity, name: str, standing: int, why: str
                     ) -> dict[str, Any]:
        return self._set_subscriber(who, name, "standing", standing, 0 <= standing <= 100,
                                    self.store.set_standing, why,
                                    f"{name} now has standing {standing}")

    def _set_subscriber(self, who: Identity, name: str, key: str, value: Any, valid: bool,
                        write: Callable[..., int], why: str, message: str) -> dict[str, Any]:
        """A subscriber's status or standing (`key`) set by `write`, the store's method. The
        store checks the value before the name: its refusal is about `key` unless `valid`."""
        self._subscriber_change(who, name, f"change the {key} of {name!r}")
        rev = self._field("name" if valid else key, lambda: write(
            name, value, author=who.author, reason=why))
        return {"revision": rev, "subscriber": name, key: value, "message": message}

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
        key = mac.strip().lower()  # as the store keys a MAC (normalize_mac), if it is one
        owner = next((n for n, st in self.store.subscribers().items() if key in st.devices),
                     None)
        if owner is not None:
            self._subscriber_change(who, owner, f"revoke device {mac} of {owner!r}")
        elif who.role.kind == "isp":  # the store's refusal would list every ISP's devices
            raise bad_input(f"no device {mac} registered to a subscriber of {who.role.isp}",
                            "mac")
        rev = self._field("mac", lambda: self.store.revoke_device(
            mac, author=who.author, reason=why))
        return {"revision": rev, "mac": key, "subscriber": owner,
                "message": f"device {mac} revoked"}

    def _subscriber_change(self, who: Identity, name: str, what: str,
                           field: str = "name") -> None:
        self._writable()
        who.role.may_write(what)
        if who.role.kind != "isp":
            return  # an unknown subscriber is the store's to refuse
        topo = needs(self.topology())
        known_to_isp(who, topo, name, field)
        who.role.may_change_subscriber(topo, name, what)

    # -- flow records -------------------------------------------------------------------------
    def set_retention(self, who: Identity, seconds: str | float, why: str) -> dict[str, Any]:
        self._writable()
        who.role.may_set_retention()
        value = self._field("seconds", lambda: _seconds(seconds))
        assert value is not None
        text, rev = self._field("seconds", lambda: flowlog_text.retention(
            self.store, value, who.author, why))
        return {"revision": rev, "retention": value, "message": text}


@contextmanager
def _store_refusal(command: str, field: str = "") -> Iterator[None]:
    """A StoreError raised in its block (the transaction rolled back) as a 400 about `field`,
    or, when no one field is at fault, prefixed with its command as `sovnet store` says it."""
    try:
        yield
    except (StoreError, PolicySyntaxError) as e:
        raise bad_input(words(e) if field else f"{command}: {e}", field) from None


def _seconds(value: str | float | None) -> float | None:
    """A duration as the CLI reads one ('8h', '3600'); a JSON number is seconds."""
    if value is None:
        return None
    # JSON's true and false are refused as text, not taken for 1 and 0 seconds.
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    seconds = float(value) if number else duration(str(value))
    if not 0 <= seconds <= MAX_DURATION:  # also NaN and infinities, which JSON can carry here
        shown = repr(value) if isinstance(value, str) else f"{value:g}"
        raise argparse.ArgumentTypeError(f"bad duration {shown} (expected {DURATION_FORM}, "
                                         f"from 0 to {format_duration(MAX_DURATION)})")
    return seconds


def _policy_set(doc: PolicySetIn, topo: Topology | None) -> list[PolicyRequest]:
    """The policy set checked as `policy load FILE` checks a file (load_policy_set), with its
    problems named by where they are in the body (its JSON text read as a file's would be)."""
    text = json.dumps(doc.model_dump(by_alias=True), indent=1)
    try:
        return policy_set_from_doc(parse_yaml(text, "the request body"), topo)
    except ConfigError as e:
        # Named by where they are in the body: lines of a text the client never sent mean nothing.
        problems = "; ".join(f"{i.where}: {i.message}" if i.where else i.message
                             for i in e.issues)
        raise ApiError(400, problems, e.issues[0].where if e.issues else "") from None
