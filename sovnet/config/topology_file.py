"""The topology file as written: pydantic input models (strict, no unknown keys).

These models check shape and the format of single values only (values.py). Names, references
and allocation are checked later (checks.py, build.py) on whatever parsed. Strict mode keeps
YAML 1.1 surprises visible: `isp: no` is the boolean false, not the text "no", and is refused.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sovnet.config.report import got
from sovnet.config.values import (
    Asn,
    Bandwidth,
    Count,
    Delay,
    Domain,
    Dpid,
    Endpoint,
    Ip,
    Loss,
    Mac,
    Prefix,
    Prefix96,
    Region,
)
from sovnet.model.topology import CATEGORIES, ISP_KINDS, LOCI, SUBSCRIBER_CLASSES, SWITCH_ROLES

Role = Literal[SWITCH_ROLES]
IspKind = Literal[ISP_KINDS]
SubscriberClass = Literal[SUBSCRIBER_CLASSES]
Category = Literal[CATEGORIES]
Locus = Literal[LOCI]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Addressing(In):
    """Address plan. Subscribers and resolvers are numbered from their ISP's prefix."""

    domestic: list[Prefix] = Field(["10.0.0.0/8"], min_length=1)
    foreign: list[Prefix] = Field(["172.16.0.0/12"], min_length=1)
    services: Prefix = Field("10.250.0.0/16", description="domestic services numbered from here")
    foreign_services: Prefix = Field("172.16.0.0/16", description="foreign services numbered here")
    ipv6: Prefix96 | None = Field(
        None, description="dual-stack: every host also gets this /96 with its IPv4 address in "
                          "the low 32 bits (RFC 6052), and each IPv4 prefix its IPv6 twin")


class LinkFields(In):
    bw: Bandwidth | None = None
    delay: Delay | None = None
    loss: Loss | None = None


POD_HELP = ("emulate this subscriber in its switch's pod: one host per switch holds every pod "
            "subscriber on it as a macvlan interface with the subscriber's own MAC and address, "
            "instead of a network namespace each")


class SubscriberFields(In):
    cls: SubscriberClass | None = Field(None, alias="class")
    isp: str | None = None
    registered: bool | None = None
    switch: Endpoint | None = Field(None, description="SWITCH or SWITCH:PORT")
    pod: bool | None = Field(None, description=POD_HELP)
    region: Region | None = Field(None, description="its own region, if not its switch's")


class ServiceFields(In):
    category: Category | None = None
    locus: Locus | None = None
    switch: Endpoint | None = Field(None, description="SWITCH or SWITCH:PORT")
    depends_on: list[str] | None = None
    https_redirect: bool | None = Field(
        None, description="HTTP on port 80 answers 301 to the https:// URL, as most sites do")
    http3: bool | None = Field(None, description="also serve HTTP/3 over QUIC on udp/443")


class Defaults(In):
    link: LinkFields = Field(default_factory=LinkFields)
    subscriber: SubscriberFields = Field(default_factory=SubscriberFields)
    service: ServiceFields = Field(default_factory=ServiceFields)


class Group(In):
    """Fields a subscriber or service inherits with `group: NAME` (its own fields win)."""

    cls: SubscriberClass | None = Field(None, alias="class")
    isp: str | None = None
    registered: bool | None = None
    switch: Endpoint | None = None
    pod: bool | None = None
    region: Region | None = None
    category: Category | None = None
    locus: Locus | None = None
    depends_on: list[str] | None = None
    https_redirect: bool | None = None
    http3: bool | None = None


class IspIn(In):
    kind: IspKind
    prefix: Prefix
    asn: Asn | None = Field(None, description="its AS number (default: 64512 + its place among "
                                              "the ISPs, counted from 0)")
    announce: list[Prefix] | None = Field(
        None, min_length=1, description="the prefixes its border routers announce abroad, each "
                                        "inside its prefix (default: the prefix itself)")


class SwitchIn(In):
    role: Role
    isp: str | None = None
    dpid: Dpid | None = Field(None, description="allocated 1, 2, 3... in file order when absent")
    prefix: Prefix | None = Field(
        None, description="a block of its ISP's prefix that this switch owns: its subscribers "
                          "and resolvers are numbered from it, and every other switch reaches "
                          "them by this one prefix")
    region: Region | None = Field(None, description="the part of the country it serves; its "
                                                    "subscribers are in it unless they say")


class LinkIn(In):
    """A switch-switch link. Short form: [A, B]. Endpoints are SWITCH or SWITCH:PORT."""

    a: Endpoint
    b: Endpoint
    bw: Bandwidth | None = None
    delay: Delay | None = None
    loss: Loss | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, list):
            if len(data) != 2:
                raise ValueError(
                    f"a link in short form needs two endpoints, got {len(data)} "
                    "(expected [A, B] or a mapping with a, b, bw, delay, loss)"
                )
            return {"a": data[0], "b": data[1]}
        if not isinstance(data, dict):
            raise ValueError(
                f"expected [A, B] or a mapping with a, b, bw, delay, loss, got {got(data)}"
            )
        return data


class SubscriberIn(SubscriberFields):
    group: str | None = None
    ip: Ip | None = None
    mac: Mac | None = None
    count: Count | None = Field(None, description="expands NAME into NAME1..NAMEn")


class ServiceIn(ServiceFields):
    group: str | None = None
    domains: list[Domain] | None = Field(None, min_length=1)
    ip: Ip | None = None
    mac: Mac | None = None


class ResolverIn(In):
    """An ISP's recursive resolver (isp: NAME, inside the country), or without isp a public
    resolver abroad, to which the ISPs' resolvers recurse for foreign names."""

    isp: str | None = None
    switch: Endpoint = Field(description="SWITCH or SWITCH:PORT")
    ip: Ip | None = None
    mac: Mac | None = None


class RouterIn(In):
    """A BGP speaker: with isp, that ISP's border router (on a border switch), announcing its
    prefixes under its AS number; without, a foreign transit network's router (on an internet
    switch, with its own asn), carrying every route to the collectors."""

    isp: str | None = None
    asn: Asn | None = Field(None, description="a transit router's AS number (an ISP's router "
                                              "takes its ISP's)")
    switch: Endpoint = Field(description="SWITCH or SWITCH:PORT")
    ip: Ip | None = None
    mac: Mac | None = None


class CollectorIn(In):
    """A route collector abroad (RIPE RIS, RouteViews): every transit router is its full-feed
    peer; it records every update into the run folder."""

    switch: Endpoint = Field(description="SWITCH or SWITCH:PORT (an internet switch)")
    asn: Asn | None = Field(None, description="its AS number (default 12654, RIPE RIS's)")
    ip: Ip | None = None
    mac: Mac | None = None


class ProberIn(In):
    """An outside prober (IODA's Trinocular): from abroad it pings a sample of the addresses
    that ever answered in each domestic /24 block, every round, and calls the block up, down
    or unknown."""

    switch: Endpoint = Field(description="SWITCH or SWITCH:PORT (an internet switch)")
    ip: Ip | None = None
    mac: Mac | None = None


class TopologyFile(In):
    """A sovnet topology: ISPs, switches and links, and the hosts attached to them."""

    model_config = ConfigDict(title="sovnet topology")

    name: str
    description: str = ""
    addressing: Addressing = Field(default_factory=Addressing)
    defaults: Defaults = Field(default_factory=Defaults)
    groups: dict[str, Group] = {}
    isps: dict[str, IspIn]
    switches: dict[str, SwitchIn]
    links: list[LinkIn] = []
    subscribers: dict[str, SubscriberIn] = {}
    services: dict[str, ServiceIn] = {}
    resolvers: dict[str, ResolverIn] = {}
    routers: dict[str, RouterIn] = {}
    collectors: dict[str, CollectorIn] = {}
    probers: dict[str, ProberIn] = {}


SECTIONS = {  # mapping sections and the model of one entry
    "groups": Group,
    "isps": IspIn,
    "switches": SwitchIn,
    "subscribers": SubscriberIn,
    "services": ServiceIn,
    "resolvers": ResolverIn,
    "routers": RouterIn,
    "collectors": CollectorIn,
    "probers": ProberIn,
}
