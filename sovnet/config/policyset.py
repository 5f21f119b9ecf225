"""Policy-set files: a named list of policies to load into the store.

    name: essential-services
    description: National whitelist kept up during a cutoff.
    policies:
      - {action: allow, target: "category:BANK", scope: all, priority: 500, reason: "..."}
      - {action: allow, target: "service:bank"}

Scope, target and action use the text forms of sovnet.model.policy; a name that the
topology does not know (service, ISP, subscriber, class, category) is an error.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

from sovnet.compile.targets import known_names
from sovnet.config.load import read_doc
from sovnet.config.report import Reporter, one_of
from sovnet.config.shape import validate, validate_lenient
from sovnet.config.topology_file import In
from sovnet.config.yamlsrc import Doc
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import (
    ACTION_FORMS,
    Action,
    PolicySyntaxError,
    Scope,
    Target,
    check_dpi,
    check_priority,
    check_route,
    parse_scope,
    parse_target,
)
from sovnet.model.scenario import parse_duration
from sovnet.model.schedule import ScheduleError, schedule
from sovnet.model.topology import Topology

_DURATION = Annotated[str | int | float, AfterValidator(parse_duration), WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|d|h|m|s))+$"},
               {"type": "number", "minimum": 0}]})]


class PolicyIn(In):
    action: str = Field(description=ACTION_FORMS)
    target: str = Field(description="international, any, service:NAME, category:CODE, "
                                    "locus:domestic|foreign, prefix:CIDR or port:PROTO/PORT")
    scope: str = Field("all", description="all, isp:NAME, class:NAME, subscriber:NAME, "
                                          "tier:registered|verified|privileged or standing:<N")
    priority: int = 100
    reason: str = ""
    daily: str | None = Field(None, description="in force only in this daily window of the "
                                                "scenario clock, HH:MM-HH:MM (may wrap midnight)")
    from_: _DURATION | None = Field(None, alias="from",
                                    description="in force from this scenario time")
    until: _DURATION | None = Field(None, description="in force until this scenario time")


class PolicySetFile(In):
    name: str
    description: str = ""
    policies: list[PolicyIn]


def load_policy_set(path: str | os.PathLike[str],
                    topology: Topology | None) -> list[PolicyRequest]:
    """Load a policy set, checked against `topology` (when given). Raises ConfigError."""
    return policy_set_from_doc(read_doc(path), topology)


def policy_set_from_doc(doc: Doc, topology: Topology | None) -> list[PolicyRequest]:
    """Same as load_policy_set, for a file already read and parsed."""
    r = Reporter(doc)
    if doc.data is None:
        r.value((), "the file is empty (expected a mapping with name and policies)")
        r.raise_if_any()
    validate(PolicySetFile, doc.data, r)
    items = doc.data.get("policies") if isinstance(doc.data, dict) else None
    specs: list[PolicyRequest] = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        pol, _ = validate_lenient(PolicyIn, item)
        if pol is None:
            continue
        written = item if isinstance(item, dict) else {}
        spec = policy_spec(pol, ("policies", i), written, r, topology)
        if spec is not None:
            specs.append(spec)
    r.raise_if_any()
    return specs


def policy_spec(pol: PolicyIn, at: tuple, written: dict, r: Reporter,
                topology: Topology | None) -> PolicyRequest | None:
    """`pol` (validated leniently from `written`, found at `at`) as a PolicyRequest, before the
    store gives it an id and an author; its problems go to `r`, and None comes back when it
    cannot be built. An empty reason leaves the policy the reason of its revision."""
    parsed: dict[str, Any] = {}
    for key, parse in (("action", Action.parse), ("scope", parse_scope),
                       ("target", parse_target), ("priority", check_priority)):
        if key not in written and key not in ("scope", "priority"):
            return None  # missing or dropped: reported by the whole-file validation
        try:
            parsed[key] = parse(getattr(pol, key))
        except PolicySyntaxError as exc:
            r.value(at + (key,), str(exc))
    if topology is not None:
        for key in ("scope", "target"):
            if key in parsed:
                check_names(parsed[key], at + (key,), topology, r)
    if len(parsed) < 4:
        return None
    try:
        check_dpi(parsed["action"], parsed["target"])
        check_route(parsed["action"], parsed["scope"], parsed["target"])
    except PolicySyntaxError as exc:
        r.value(at + ("action",), str(exc))
        return None
    try:
        when = schedule(pol.daily, pol.from_, pol.until)
    except ScheduleError as exc:
        key = "daily" if "daily" in str(exc) else "until"
        r.value(at + (key,), str(exc))
        return None
    return PolicyRequest(parsed["action"], parsed["scope"], parsed["target"],
                         parsed["priority"], when, reason=pol.reason or None)


def check_names(what: Scope | Target, at: tuple, topo: Topology, r: Reporter) -> None:
    """Report a scope or target naming what the topology lacks (the store's own rule)."""
    known = known_names(topo, what.kind)  # the same rule the store applies
    if known is not None and what.value not in known:
        nouns = {"isp": "ISPs", "class": "subscriber classes", "category": "categories"}
        noun = nouns.get(what.kind, what.kind + "s")
        r.value(at, f"unknown {'ISP' if what.kind == 'isp' else what.kind} {what.value!r} "
                    f"in topology {topo.name!r} ({one_of(sorted(known), noun)})")
