"""Request bodies. Shapes only: what each value means is checked by the same parsers and store
rules as the CLI's commands (sovnet.api.writes), so that both refuse in the same words."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sovnet.commands import DURATION_FORM
from sovnet.model.policy import ACTION_FORMS, SUBSCRIBER_STATUSES

SCOPE_FORMS = ("all | isp:NAME | class:NAME | subscriber:NAME | region:NAME | "
               "tier:registered|verified|privileged | standing:<N")
TARGET_FORMS = ("international | any | service:NAME | category:CODE | locus:domestic|foreign | "
                "prefix:CIDR | port:PROTO/PORT | sni:NAME | sni-contains:TEXT | host:NAME | "
                "quic[:NAME], optionally @ipv4 or @ipv6")
WHY = Field("", description="why: the revision's reason, as --why gives it on the CLI",
            max_length=2000)
Duration = str | float


class Body(BaseModel):
    # A misspelt field is refused, not ignored: "priorty": 500 must not become priority 100.
    model_config = ConfigDict(extra="forbid")


class PolicyIn(Body):
    action: str = Field(description=ACTION_FORMS, examples=["deny"])
    target: str = Field(description=TARGET_FORMS, examples=["international"])
    scope: str = Field("all", description=SCOPE_FORMS, examples=["isp:fixnet"])
    priority: int = Field(100, strict=True, description="0 to 10000; the higher wins")
    daily: str | None = Field(None, description="in force only in this daily window of the "
                                                "scenario clock, HH:MM-HH:MM")
    from_: Duration | None = Field(None, alias="from",
                                   description=f"in force from scenario time T ({DURATION_FORM})")
    until: Duration | None = Field(None, description="in force until scenario time T")
    why: str = WHY


class RevocationIn(Body):
    ids: list[int] = Field(min_length=1, max_length=10_000,
                           description="the policies to revoke, in one revision")
    why: str = WHY


class PolicySetIn(Body):
    """A policy-set file's content, as JSON (see controller/policies/*.yaml)."""

    name: str
    description: str = ""
    policies: list[dict[str, Any]] = Field(
        description="each: action, target, scope, priority, reason, daily, from, until (the "
                    "fields of a policy-set file)", max_length=100_000)


class StatusIn(Body):
    status: str = Field(description=f"one of: {', '.join(SUBSCRIBER_STATUSES)}",
                        json_schema_extra={"enum": list(SUBSCRIBER_STATUSES)})
    why: str = WHY


class StandingIn(Body):
    standing: int = Field(strict=True, description="0 to 100; standing:<N scopes select the "
                                                   "subscribers below N")
    why: str = WHY


class DeviceIn(Body):
    subscriber: str
    mac: str = Field(description="six colon-separated hex bytes, e.g. 02:00:0a:01:00:05")
    why: str = WHY


class RetentionIn(Body):
    seconds: Duration = Field(description=f"how long flow records are kept ({DURATION_FORM})")
    why: str = WHY
