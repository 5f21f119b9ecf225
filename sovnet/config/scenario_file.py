"""The scenario file as written: pydantic input models (strict, no unknown keys).

Shapes and single values only (durations, thresholds, scope texts); names are checked against
the topology afterwards, in sovnet.config.scenario.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from sovnet.config.policyset import PolicyIn
from sovnet.config.topology_file import In
from sovnet.config.values import parse_mac
from sovnet.model.policy import PolicySyntaxError, parse_scope
from sovnet.model.scenario import (
    BLOCKING_VALUES,
    OPS,
    PROBE_KINDS,
    parse_duration,
    parse_time_scale,
)
from sovnet.model.schedule import ScheduleError, time_of_day

_THRESHOLD_RE = re.compile(r"^\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
_PERCENT_RE = re.compile(r"^\s*(>=|<=|==|>|<)?\s*(-?\d+(?:\.\d+)?)\s*(%)?\s*$")
_SCENARIO_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _scopes(value: str | list[str]) -> tuple:
    texts = [value] if isinstance(value, str) else value
    if not texts:
        raise ValueError("expected at least one scope, got an empty list")
    try:
        scopes = tuple(parse_scope(t) for t in texts)
    except PolicySyntaxError as exc:
        raise ValueError(str(exc)) from None
    for sc in scopes:
        if sc.kind in ("tier", "standing"):
            # Measurements are grouped by who the vantage is, not by a standing that the
            # timeline changes under it.
            raise ValueError(f"scope {str(sc)!r} changes during a run (expected all, "
                             "isp:NAME, class:NAME or subscriber:NAME here)")
    return scopes


def _names(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _threshold(text: str) -> tuple[str, float]:
    m = _THRESHOLD_RE.match(text)
    if not m:
        raise ValueError(f"bad threshold {text!r} (expected a comparison such as '>= 0.95'; "
                         f"operators: {', '.join(OPS)})")
    return m.group(1), float(m.group(2))


def _share(text: str) -> tuple[str, float]:
    """A threshold on a share of measurements, which runs from 0 to 1: '>= 90' or '90%' is a
    percentage, refused with the share it means."""
    m = _PERCENT_RE.match(text)
    if m:
        op, number, percent = m.group(1), float(m.group(2)), m.group(3)
        if percent or not 0 <= number <= 1:
            such = f"{number / 100:g}" if 0 < number <= 100 else "0.9"
            such = such if op else f"'>= {such}'"
            what = ("a percentage" if percent else
                    f"{number:g} is {'more than 1' if number > 1 else 'less than 0'}")
            raise ValueError(f"bad threshold {text!r}: {what} (expected a share from 0 to 1, "
                             f"such as {such})")
    return _threshold(text)


def _time_of_day(text: str) -> str:
    try:
        time_of_day(text)
    except ScheduleError as exc:
        raise ValueError(str(exc)) from None
    return text


def _date_text(value: object) -> object:
    """YAML reads 2019-11-16 as a date: take it as the text it was."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _calendar_date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"bad date {text!r} (expected YYYY-MM-DD, such as 2019-11-16)") from None
    if len(text) != 10:
        raise ValueError(f"bad date {text!r} (expected YYYY-MM-DD, such as 2019-11-16)")
    return text


def _country(text: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise ValueError(f"bad country code {text!r} (expected two capital letters, as OONI's "
                         "probe_cc: IR, MM, IN, or ZZ for none)")
    return text


def _scenario_name(text: str) -> str:
    if not _SCENARIO_NAME_RE.match(text):
        raise ValueError(f"bad scenario name {text!r} (expected lower-case letters, digits and "
                         "dashes, as it names the run folder)")
    return text


_DURATION_SCHEMA = {"anyOf": [{"type": "string", "pattern": r"^(\d+(\.\d+)?(ms|d|h|m|s))+$"},
                              {"type": "number", "minimum": 0}]}
Duration = Annotated[str | int | float, AfterValidator(parse_duration),
                     WithJsonSchema(_DURATION_SCHEMA)]
TimeScale = Annotated[str | int | float, AfterValidator(parse_time_scale),
                      WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]})]
Scopes = Annotated[str | list[str], AfterValidator(_scopes)]
Names = Annotated[str | list[str], AfterValidator(_names)]
Threshold = Annotated[str, AfterValidator(_threshold)]
Share = Annotated[str, AfterValidator(_share)]
Mac = Annotated[str, AfterValidator(parse_mac)]


class ServicesIn(In):
    """Services by name, category and locus; each field given must match (a list: any of)."""

    service: Names | None = None
    category: Names | None = None
    locus: Names | None = None


class ProbeIn(In):
    kind: Literal[PROBE_KINDS]  # type: ignore[valid-type]
    every: Duration = Field(description="emulated time between rounds, e.g. 1h")
    start: Duration = Field(0, description="emulated time of the first round")
    from_: Scopes = Field("all", alias="from", validate_default=True,
                          description="who measures: scope text(s)")
    per_group: int = Field(1, ge=1, description="vantage points per (ISP, subscriber class)")
    to: ServicesIn = Field(default_factory=ServicesIn)
    bytes: int | None = Field(None, ge=1, description="throughput: bytes per transfer")
    count: int | None = Field(None, ge=1, description="latency: echo requests per measurement")
    rate: int | None = Field(None, ge=1, description="stream: echo requests per real second")
    window: Duration | None = Field(None, description="stream: emulated time each round sends "
                                                      "for (default: every)")
    scheme: Literal["http", "https"] | None = Field(
        None, description="web, throughput: measure http:// (default) or https:// URLs")
    direction: Literal["down", "up", "both"] | None = Field(
        None, description="throughput: download (default), upload, or both on two connections")
    split_hello: bool | None = Field(
        None, description="web (https): send the ClientHello in small TCP segments, the "
                          "evasion that beats an inspector reading one packet")
    family: Literal["ipv4", "ipv6"] | None = Field(
        None, description="web, throughput, http3: look up and connect over this address "
                          "family only (default: IPv4, and IPv6 too in a dual-stack topology)")
    sni: str | None = Field(
        None, description="web (https): the SNI to send instead of the URL's host, as OONI's "
                    "sni_blocking does with a test SNI; a handshake that then fails with "
                    "ssl_invalid_hostname reached the server")


class PolicyAddIn(PolicyIn):
    name: str = Field("", description="a name a later step can revoke this policy by")


class LoadIn(In):
    file: str = Field(description="a policy-set file, relative to this scenario file")
    name: str | None = Field(None, description="revoke by this name (default: the file's stem)")


class DeviceIn(In):
    subscriber: str
    mac: Mac | None = Field(None, description="default: the subscriber's host MAC")


class StepIn(In):
    at: Duration
    phase: str = ""
    label: str = ""
    add: list[PolicyAddIn] = Field(default_factory=list)
    load: list[str | LoadIn] = Field(default_factory=list)
    revoke: list[str] = Field(default_factory=list)
    subscribers: dict[str, str] = Field(
        default_factory=dict,
        description="subscriber name -> registered | verified | privileged | revoked")
    standing: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=dict, description="subscriber name -> standing, 0 to 100")
    # aliased: pydantic's BaseModel has a `register` attribute of its own
    register_: list[str | DeviceIn] = Field(default_factory=list, alias="register")
    unregister: list[str] = Field(default_factory=list, description="subscriber names or MACs")
    restore: bool = False


class ExpectIn(In):
    name: str
    from_: Scopes = Field("all", alias="from", validate_default=True)
    during: list[Duration] = Field(min_length=2, max_length=2,
                                   description="[start, end] in emulated time")
    to: ServicesIn = Field(default_factory=ServicesIn)
    accessible: Share | None = None
    usable: Share | None = None
    blocking: dict[str, Share] | None = Field(
        None, description=f"blocking value ({', '.join(BLOCKING_VALUES)}) -> threshold")
    failure: dict[str, Share] | None = Field(
        None, description="OONI failure string (connection_reset, generic_timeout_error, "
                          "ssl_invalid_hostname, ...; null: none) -> threshold on its share")
    h3_accessible: Share | None = Field(
        None, description="http3: share of HTTP/3 fetches that got a response")
    h3_failure: dict[str, Share] | None = Field(
        None, description="http3: OONI failure string (generic_timeout_error, ...; null: none) "
                          "-> threshold on its share of HTTP/3 fetches")
    throughput_kbps: Threshold | None = None
    throughput_up_kbps: Threshold | None = Field(
        None, description="throughput probes with direction up or both: the upload's median")
    rtt_ms: Threshold | None = None
    delivered: Share | None = Field(None, description="stream: share of packets answered")
    last_packet_ms: Threshold | None = Field(
        None, description="stream: store commit -> last reply of a subscriber a step cut, worst")
    first_packet_ms: Threshold | None = Field(
        None, description="stream: store commit -> first reply of one a step let in, worst")
    traffic: Share | None = Field(
        None, description="the bytes crossing the border per step, as a share of the run's "
                          "busiest step (Radar normalises so), median over the window (from: "
                          "all, or isp:NAME)")
    bgp_visibility: Share | None = Field(
        None, description="the route collectors: /24s visible abroad by IODA's rule, as a "
                          "share of those visible at t=0, median over the window (from: all, "
                          "or isp:NAME)")
    dns_abroad_per_h: Threshold | None = Field(
        None, description="the public resolvers abroad: DNS queries they received from the "
                          "country per emulated hour in the window (a retry flood shows here)")
    slash24_up: Share | None = Field(
        None, description="the outside prober: domestic /24 blocks up to active probing from "
                          "abroad, as a share of those up at t=0, median over the window (from: "
                          "all, or isp:NAME)")


class DemandIn(In):
    """Background demand: one registered subscriber of each ISP and listed class pulls from a
    service at its class's rate, following a daily load curve (the border counts it)."""

    to: str = Field(description="the service it pulls from (usually a foreign one)")
    kbps: dict[str, Annotated[float, Field(gt=0, le=100_000)]] = Field(
        min_length=1, description="subscriber class -> its rate at the curve's peak (kbit/s)")
    curve: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(
        None, min_length=24, max_length=24,
        description="24 shares of the peak rate, one per hour of the scenario's day (default: "
                    "a residential day, lowest before dawn, highest in the evening)")


class ScenarioFile(In):
    name: Annotated[str, AfterValidator(_scenario_name)]
    title: str = ""
    description: str = ""
    topology: str = Field(description="the topology file, relative to this scenario file")
    time_scale: TimeScale = Field(description="e.g. '1h per 2s': emulated time per real time")
    starts_at: Annotated[str, AfterValidator(_time_of_day)] = Field(
        "00:00", description="the time of day at t=0, HH:MM: daily policy windows follow it")
    starts_on: Annotated[str, BeforeValidator(_date_text), AfterValidator(_calendar_date)] = Field(
        "2026-01-01", description="the date at t=0, YYYY-MM-DD: measurements are dated in "
                                  "this calendar, as OONI dates them")
    probe_cc: Annotated[str, AfterValidator(_country)] = Field(
        "ZZ", description="the country the probes report (OONI's probe_cc)")
    duration: Duration
    seed: int = 1
    control: str | None = Field(None, description="the service host taking control measurements")
    probes: list[ProbeIn] = Field(min_length=1)
    timeline: list[StepIn] = Field(default_factory=list)
    expect: list[ExpectIn] = Field(default_factory=list)
    demand: DemandIn | None = None
