"""Policies and subscriber admission state as frozen values.

A policy says: for traffic from `scope`, towards `target`, do `action`; higher `priority` wins.
Scopes and targets have a short text form ("isp:mobinet", "service:bank") shared by the CLI,
policy-set files and the store, parsed here so that every entry point agrees.

Pure: standard library only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from sovnet.model.schedule import Schedule

if TYPE_CHECKING:
    from sovnet.model.topology import Topology

ACTIONS = ("allow", "deny", "reject", "blockpage", "steer_dns", "dns_tamper", "throttle", "log",
           "withdraw", "restore")
ACTION_FORMS = ("allow, deny, reject, blockpage, steer_dns, dns_tamper:nxdomain, dns_tamper:IP, "
                "throttle:RATE (e.g. throttle:256kbit, throttle:2mbit), log, withdraw or "
                "restore")
# deny, reject and throttle on an inspector target (sni, ...) take options: deny:residual=90s,
# reject:residual=2m,both, throttle:140kbit,reassemble.
# Access decisions, taken in the switches' policy table; the highest-priority one covering a
# packet decides. A reject is a deny the sender is told about: the controller answers a TCP SYN
# with a reset and anything else with an ICMP "prohibited". blockpage sends HTTP and HTTPS
# (tcp/80, tcp/443) for the target to the ISP's blockpage server and drops the rest; steer_dns
# sends DNS (udp/tcp 53) for the target to the ISP's own resolver, whatever resolver the
# subscriber asked.
FLOW_ACTIONS = ("allow", "deny", "reject", "blockpage", "steer_dns")
BLOCKING_ACTIONS = ("deny", "reject", "blockpage")
# Orthogonal to access: each applies on top of whatever the access decision lets through, the
# highest-priority one of its kind deciding. dns_tamper: the ISP resolvers lie (compile.dns_tamper);
# throttle: a per-subscriber meter on the shaping table; log: the flow-log collector keeps
# records of the traffic (sovnet.flowlog).
OVERLAY_ACTIONS = ("dns_tamper", "throttle", "log")
DNS_TAMPER_MODES = "nxdomain or an IPv4 address to answer instead"
# Acts on routes, not packets: the ISPs' border routers stop announcing (withdraw) or announce
# again (restore) their prefixes abroad, all of them (target any) or those inside
# prefix:CIDR; the highest-priority one covering an announced prefix decides
# (sovnet.compile.routes). Scope: all ISPs, or isp:NAME.
ROUTE_ACTIONS = ("withdraw", "restore")
SCOPE_KINDS = ("all", "isp", "class", "subscriber", "region", "tier", "standing")
# Admission tiers, lowest first; "revoked" is no tier: a revoked subscriber is not admitted.
TIERS = ("registered", "verified", "privileged")
TARGET_KINDS = ("international", "service", "category", "locus", "prefix", "port", "any",
                "sni", "sni-contains", "host", "quic")
# Targets an in-path inspector recognises in a flow's first bytes (sovnet.inspect): the SNI of
# a TLS ClientHello, a substring of it, the Host of cleartext HTTP, QUIC (by its Initial's SNI,
# or all of it). They take deny (drop silently), reject (reset) or throttle:RATE, with options.
DPI_TARGETS = ("sni", "sni-contains", "host", "quic")
FAMILIES = ("ipv4", "ipv6")  # TARGET@FAMILY: one address family (Irancell cut IPv6 alone, 2022)
DPI_ACTIONS = ("deny", "reject", "throttle")
DPI_OPTIONS = "residual=DURATION (e.g. residual=90s, residual=2m), reassemble, both (reject)"
# Where allow, deny and reject apply: by default at the subscriber's ingress, on what it sends.
# With a direction they apply at the border gateways instead, to traffic crossing the border:
# inbound (from abroad to the scope's addresses), outbound (from them to abroad) or border
# (both). The target names the far end: deny:inbound of port:udp/53 drops DNS answers coming
# back, and lets the queries out.
DIRECTIONS = ("inbound", "outbound", "border")
DIRECTION_ACTIONS = ("allow", "deny", "reject")
_NAME_RE = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_PART_RE = re.compile(r"^[a-z0-9.-]+$")
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}
SUBSCRIBER_STATUSES = ("registered", "verified", "privileged", "revoked")
DEFAULT_STANDING = 100  # a subscriber's standing (0-100) until the store says otherwise
MAX_PRIORITY = 10_000


class PolicySyntaxError(ValueError):
    """A scope, target or action that does not parse; the message says what was expected."""


@dataclass(frozen=True, order=True)
class Scope:
    kind: str  # one of SCOPE_KINDS
    value: str = ""  # empty for "all"

    def __str__(self) -> str:
        return self.kind if self.kind == "all" else f"{self.kind}:{self.value}"


@dataclass(frozen=True, order=True)
class Target:
    kind: str  # one of TARGET_KINDS
    value: str = ""  # empty for "international" and "any"
    family: str = ""  # "ipv4" or "ipv6" (TARGET@ipv6): that address family only; "": both

    def __str__(self) -> str:
        text = f"{self.kind}:{self.value}" if self.value else self.kind
        return f"{text}@{self.family}" if self.family else text


@dataclass(frozen=True)
class Policy:
    id: int
    action: str
    scope: Scope
    target: Target
    priority: int = 100
    author: str = ""
    reason: str = ""
    schedule: Schedule | None = None  # None: in force for as long as the store holds it

    @cached_property
    def act(self) -> Action:
        """The action as a typed value, parsed once per policy (the compiler reads this)."""
        return Action.parse(self.action)

    @classmethod
    def from_body(cls, policy_id: int, body: dict) -> Policy:
        """A policy as the store keeps it (a change's body), with its id."""
        return cls(
            id=policy_id, action=body["action"],
            scope=Scope(body["scope"]["kind"], body["scope"]["value"]),
            target=Target(body["target"]["kind"], body["target"]["value"],
                          body["target"].get("family", "")),
            priority=body["priority"], author=body.get("author", ""),
            reason=body.get("reason", ""), schedule=Schedule.from_body(body.get("schedule")))

    def describe(self) -> str:
        when = f", {self.schedule}" if self.schedule else ""
        return (f"#{self.id} {self.action} {self.target} for {self.scope} "
                f"(priority {self.priority}{when})")


@dataclass(frozen=True)
class SubscriberState:
    """What the store says of a subscriber now: standing and the device MACs admitted for it."""

    name: str
    status: str  # one of SUBSCRIBER_STATUSES
    devices: frozenset[str]  # registered MACs, lower-case
    standing: int = DEFAULT_STANDING  # 0-100; `standing:<N` scopes select those below N


def initial_subscribers(topology) -> dict[str, SubscriberState]:
    """The standing a topology gives its subscribers before anyone changes it: registered, with
    their host's MAC as the one device, or none where the topology says `registered: false`
    (what the store records when it loads the inventory)."""
    return {
        s.name: SubscriberState(
            s.name, "registered",
            frozenset({topology.host(s.name).mac} if s.registered else ()),
        )
        for s in topology.subscribers
    }


def parse_scope(text: str) -> Scope:
    kind, _, value = text.strip().partition(":")
    if kind not in SCOPE_KINDS:
        raise PolicySyntaxError(
            f"unknown scope {text!r} (expected all, isp:NAME, class:NAME, subscriber:NAME, "
            "region:NAME, "
            f"tier:{'|'.join(TIERS)} or standing:<N)"
        )
    if kind == "all":
        if value:
            raise PolicySyntaxError(f"scope 'all' takes no value, got {text!r}")
        return Scope("all")
    if not value:
        raise PolicySyntaxError(f"scope {kind!r} needs a value (expected {kind}:NAME)")
    if kind == "tier" and value not in TIERS:
        raise PolicySyntaxError(f"unknown tier {value!r} (expected one of: {', '.join(TIERS)})")
    if kind == "standing":
        standing_below(Scope(kind, value))
    return Scope(kind, value)


def in_scope(topo: Topology, scope: Scope, subscriber: str,
             state: SubscriberState | None = None) -> bool:
    """Does `scope` cover `subscriber`? Tier and standing scopes read the subscriber's state
    in the store (`state`; None: a registered subscriber of full standing)."""
    sub = topo.subscriber(subscriber)
    if scope.kind == "tier":
        return (state.status if state else "registered") == scope.value
    if scope.kind == "standing":
        return (state.standing if state else DEFAULT_STANDING) < standing_below(scope)
    return (
        scope.kind == "all"
        or (scope.kind == "isp" and sub.isp == scope.value)
        or (scope.kind == "class" and sub.cls == scope.value)
        or (scope.kind == "subscriber" and sub.name == scope.value)
        or (scope.kind == "region" and sub.region == scope.value)
    )


def standing_below(scope: Scope) -> int:
    """'standing:<40' -> 40: the scope covers subscribers whose standing is below 40."""
    text = scope.value.strip()
    if not (text.startswith("<") and text[1:].strip().isdigit()
            and 0 < int(text[1:]) <= 100):
        raise PolicySyntaxError(
            f"bad standing scope {str(scope)!r} (expected standing:<N with N from 1 to 100)"
        )
    return int(text[1:])


def parse_target(text: str) -> Target:
    body, at, family = text.strip().rpartition("@")
    if not at:
        return _parse_target(text)
    if family not in FAMILIES:
        raise PolicySyntaxError(f"unknown address family {family!r} in {text!r} (expected "
                                f"TARGET@ipv4 or TARGET@ipv6)")
    target = _parse_target(body)
    if target.kind in DPI_TARGETS or target.kind == "prefix":
        raise PolicySyntaxError(f"target {target.kind!r} takes no address family, got {text!r} "
                                "(expected any, international, service, category, locus or "
                                "port with @ipv4 or @ipv6)")
    return Target(target.kind, target.value, family)


def _parse_target(text: str) -> Target:
    kind, _, value = text.strip().partition(":")
    if kind not in TARGET_KINDS:
        raise PolicySyntaxError(
            f"unknown target {text!r} (expected international, any, service:NAME, "
            "category:CODE, locus:domestic|foreign, prefix:CIDR, port:PROTO/PORT, sni:NAME, "
            "sni-contains:TEXT, host:NAME, quic or quic:NAME)"
        )
    if kind == "quic" and not value:
        return Target(kind)
    if kind in DPI_TARGETS:
        return Target(kind, _name_pattern(kind, value, text))
    if kind in ("international", "any"):
        if value:
            raise PolicySyntaxError(f"target {kind!r} takes no value, got {text!r}")
        return Target(kind)
    if not value:
        raise PolicySyntaxError(f"target {kind!r} needs a value (expected {kind}:VALUE)")
    if kind == "prefix":
        try:
            value = str(ipaddress.IPv4Network(value, strict=False))
        except ValueError:
            raise PolicySyntaxError(
                f"bad prefix {value!r} (expected an IPv4 CIDR such as 172.16.0.0/12)"
            ) from None
    if kind == "port":
        parse_port(value)
    if kind == "locus" and value not in ("domestic", "foreign"):
        raise PolicySyntaxError(f"bad locus {value!r} (expected domestic or foreign)")
    return Target(kind, value)


def _name_pattern(kind: str, value: str, text: str) -> str:
    name = value.strip().rstrip(".").lower()
    ok = _PART_RE.match(name) if kind == "sni-contains" else _NAME_RE.match(name)
    if not name or not ok:
        form = ("a part of a name such as t.co" if kind == "sni-contains"
                else "a name such as friendbook.example, or *.example for every name below it")
        raise PolicySyntaxError(f"bad {kind} pattern in {text!r} (expected {form})")
    return name


def parse_duration_s(text: str) -> float:
    """'90s' -> 90.0, '2m' -> 120.0, '45' -> 45.0: the residual of an inspector's block."""
    m = re.fullmatch(r"(\d+)(s|m)?", text.strip())
    if m is None or int(m.group(1)) <= 0:
        raise PolicySyntaxError(f"bad duration {text!r} (expected seconds or minutes such as "
                                "90s or 2m)")
    return float(int(m.group(1)) * (60 if m.group(2) == "m" else 1))


def action_direction(action: str) -> str:
    """'deny:inbound' -> 'inbound'; '' where the action names no direction."""
    kind, _, param = action.partition(":")
    if kind not in DIRECTION_ACTIONS:
        return ""
    found = [w.strip() for w in param.split(",") if w.strip() in DIRECTIONS]
    if len(found) > 1:
        raise PolicySyntaxError(f"{action!r} names {len(found)} directions (expected one of: "
                                f"{', '.join(DIRECTIONS)})")
    return found[0] if found else ""


def action_options(action: str) -> tuple[float, bool, bool]:
    """(residual seconds, reassemble, reset the server too) of an action's options: the
    parameter of deny and reject, what follows the rate of throttle
    ("throttle:140kbit,reassemble"). A direction (DIRECTIONS) is not one of them."""
    kind, _, param = action.partition(":")
    words = param.split(",")[1:] if kind == "throttle" else (param.split(",") if param else [])
    words = [w for w in words if not (kind in DIRECTION_ACTIONS and w.strip() in DIRECTIONS)]
    residual, reassemble, both = 0.0, False, False
    for word in words:
        key, eq, value = word.strip().partition("=")
        if key == "residual" and eq and kind != "throttle":
            residual = parse_duration_s(value)
        elif key == "reassemble" and not eq:
            reassemble = True
        elif key == "both" and not eq and kind == "reject":
            both = True
        else:
            raise PolicySyntaxError(f"bad option {word.strip()!r} in {action!r} (expected "
                                    f"{DPI_OPTIONS})")
    return residual, reassemble, both


def check_dpi(action: Action, target: Target) -> None:
    """An inspector target takes deny, reject or throttle; options need an inspector target."""
    if target.kind in DPI_TARGETS and action.kind not in DPI_ACTIONS:
        raise PolicySyntaxError(f"{action} cannot apply to {target} (expected deny, reject or "
                                "throttle:RATE for an sni, sni-contains, host or quic target)")
    if target.kind in DPI_TARGETS and action.direction:
        raise PolicySyntaxError(f"{action} applies at the border, where no inspector reads "
                                f"{target} (expected {action.kind} without a direction for an "
                                "sni, sni-contains, host or quic target)")
    if action.direction and action.has_options:
        raise PolicySyntaxError(f"{action} applies at the border, which takes no inspector's "
                                f"options (expected only {action.direction})")
    if target.kind not in DPI_TARGETS and action.has_options:
        raise PolicySyntaxError(f"options in {action} apply to sni, sni-contains, host and quic "
                                f"targets only, not to {target}")


def check_route(action: Action, scope: Scope, target: Target) -> None:
    """withdraw and restore speak of an ISP's announcements: scope all or isp:NAME, target any
    or prefix:CIDR; no other action takes them as its only sense."""
    if action.kind not in ROUTE_ACTIONS:
        return
    if scope.kind not in ("all", "isp"):
        raise PolicySyntaxError(f"{action} applies to the ISPs' announcements, not to {scope} "
                                "(expected scope all or isp:NAME)")
    if target.kind not in ("any", "prefix") or target.family:
        raise PolicySyntaxError(f"{action} applies to announced prefixes, not to {target} "
                                "(expected target any, or prefix:CIDR for some of them)")


def parse_port(value: str) -> tuple[int, int | None]:
    """'udp/443' -> (17, 443); 'icmp' -> (1, None)."""
    proto, _, port = value.partition("/")
    if proto not in PROTOCOLS:
        raise PolicySyntaxError(f"bad protocol {proto!r} (expected tcp, udp or icmp)")
    if proto == "icmp":
        if port:
            raise PolicySyntaxError("icmp takes no port (expected port:icmp)")
        return PROTOCOLS[proto], None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise PolicySyntaxError(f"bad port {port!r} (expected a number from 1 to 65535)")
    return PROTOCOLS[proto], int(port)


def check_action(action: str) -> str:
    """One of ACTION_FORMS; PolicySyntaxError saying what was expected otherwise."""
    kind, _, param = action.partition(":")
    if kind not in ACTIONS:
        raise PolicySyntaxError(f"unknown action {action!r} (expected one of: {ACTION_FORMS})")
    if kind in ("dns_tamper", "throttle"):
        if kind == "dns_tamper":
            dns_answer(action)
        else:
            throttle_kbps(action)
    elif param and kind in ("deny", "reject"):
        action_options(action)
        action_direction(action)
    elif param and kind == "allow":
        if param.strip() not in DIRECTIONS:
            raise PolicySyntaxError(f"bad option {param!r} in {action!r} (expected a direction: "
                                    f"{', '.join(DIRECTIONS)})")
    elif param:
        raise PolicySyntaxError(f"action {kind!r} takes no parameter, got {action!r}")
    if kind == "throttle":
        action_options(action)
    return action


_RATE_UNITS = {"kbit": 1, "mbit": 1000, "gbit": 1_000_000}


def throttle_kbps(action: str) -> int | None:
    """'throttle:256kbit' -> 256; 'throttle:2mbit' -> 2000 (kbit/s); None for other actions."""
    kind, _, param = action.partition(":")
    if kind != "throttle":
        return None
    param = param.split(",")[0]
    text = param.strip().lower()
    unit = next((u for u in _RATE_UNITS if text.endswith(u)), None)
    number = text[: -len(unit)] if unit else ""
    try:
        kbps = float(number) * _RATE_UNITS[unit] if unit else 0.0
    except ValueError:
        kbps = 0.0
    if not 1 <= kbps <= 100_000_000 or kbps != int(kbps):
        raise PolicySyntaxError(
            f"bad throttle rate {param!r} in {action!r} (expected a rate such as 64kbit, "
            "256kbit, 2mbit or 1.5mbit: a whole number of kbit/s from 1kbit to 100gbit)"
        )
    return int(kbps)


def action_kind(action: str) -> str:
    return action.partition(":")[0]


def dns_answer(action: str) -> str | None:
    """What a dns_tamper action makes the resolver answer: "nxdomain" or an IPv4 address."""
    kind, _, param = action.partition(":")
    if kind != "dns_tamper":
        return None
    if param == "nxdomain":
        return param
    try:
        return str(ipaddress.IPv4Address(param))
    except ValueError:
        raise PolicySyntaxError(
            f"bad dns_tamper answer {param!r} in {action!r} (expected {DNS_TAMPER_MODES}, "
            "e.g. dns_tamper:nxdomain or dns_tamper:10.66.0.1)"
        ) from None


def check_priority(priority: int) -> int:
    if not 0 <= priority <= MAX_PRIORITY:
        raise PolicySyntaxError(f"priority {priority} out of range (expected 0 to {MAX_PRIORITY})")
    return priority


@dataclass(frozen=True)
class Action:
    """What a policy does: `kind` (one of model.policy.ACTIONS) and, for dns_tamper and
    throttle, the parameter as written, with its meaning (`answer`, `rate_kbps`)."""

    kind: str
    param: str = ""
    rate_kbps: int | None = None  # throttle: the rate in kbit/s
    answer: str | None = None  # dns_tamper: "nxdomain" or the IPv4 address answered
    # Options of an inspector's action (targets sni, sni-contains, host, quic):
    residual: float = 0.0  # seconds the (client, server, port) stays blocked after a trigger
    reassemble: bool = False  # read the whole ClientHello, not just its first segment
    reset_server: bool = False  # reject: reset the server's side too
    direction: str = ""  # at the border (DIRECTIONS), or "": at the subscriber's ingress

    @property
    def has_options(self) -> bool:
        return bool(self.residual or self.reassemble or self.reset_server)

    @classmethod
    def parse(cls, text: str) -> Action:
        """'throttle:2mbit' -> Action("throttle", "2mbit", rate_kbps=2000); PolicySyntaxError
        (saying what was expected) for anything else than model.policy.ACTION_FORMS."""
        if not isinstance(text, str):
            raise PolicySyntaxError(f"unknown action {text!r} (expected a text such as deny)")
        check_action(text)
        kind = action_kind(text)
        options = action_options(text) if kind in DPI_ACTIONS else (0.0, False, False)
        return cls(kind, text.partition(":")[2], throttle_kbps(text), dns_answer(text),
                   *options, action_direction(text))

    def __str__(self) -> str:
        return f"{self.kind}:{self.param}" if self.param else self.kind
