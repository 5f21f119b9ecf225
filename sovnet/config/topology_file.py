"""The topology file as written: pydantic input models (strict, no unknown keys).

These models check shape and the format of single values only. Names, references and
allocation are checked later (checks.py, build.py) on whatever parsed. Strict mode keeps
YAML 1.1 surprises visible: `isp: no` is the boolean false, not the text "no", and is refused.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from sovnet.config.report import got
from sovnet.model.topology import CATEGORIES, ISP_KINDS, LOCI, SUBSCRIBER_CLASSES, SWITCH_ROLES

MAX_PORT = 0xFEFF  # highest OpenFlow physical port number
_ENDPOINT_RE = re.compile(r"^([^:\s]+)(?::([0-9]+))?$")
_DELAY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(us|ms|s)$")
_DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


_BAD_PREFIX = "bad prefix {!r} (expected an IPv4 CIDR such as 10.1.0.0/16)"
_BAD_DPID = "bad dpid {} (expected an integer or a hex string such as '0x1a')"


def _prefix(text: str) -> str:
    try:
        net = ipaddress.IPv4Network(text)
    except ipaddress.NetmaskValueError:
        raise ValueError(_BAD_PREFIX.format(text)) from None
    except ValueError:
        try:
            fixed = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            raise ValueError(_BAD_PREFIX.format(text)) from None
        raise ValueError(f"bad prefix {text!r}: host bits are set (expected {fixed})") from None
    if "/" not in text:
        raise ValueError(_BAD_PREFIX.format(text))
    block = next((b for b in _NO_HOST if net.overlaps(b)), None)
    if block is not None:
        raise ValueError(f"bad prefix {text!r}: it overlaps the {_NO_HOST[block]} block {block}, "
                         "whose addresses no interface can have (expected unicast space such as "
                         "10.0.0.0/8)")
    return str(net)


# IPv4 blocks whose addresses no host interface can have (RFC 6890): a prefix overlapping one
# would hand them out, and a host given one could not be reached.
_NO_HOST = {ipaddress.IPv4Network("0.0.0.0/8"): "'this network'",
            ipaddress.IPv4Network("127.0.0.0/8"): "loopback",
            ipaddress.IPv4Network("224.0.0.0/4"): "multicast",
            ipaddress.IPv4Network("240.0.0.0/4"): "reserved"}
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _ip(text: str) -> str:
    try:
        addr = ipaddress.IPv4Address(text)
    except ValueError:
        raise ValueError(
            f"bad IPv4 address {text!r} (expected four numbers such as 10.1.0.7)"
        ) from None
    kind = _no_host(addr)
    if kind is not None:
        raise ValueError(f"bad IPv4 address {text!r}: {kind}, which no interface can have "
                         "(expected a unicast address such as 10.1.0.7)")
    return str(addr)


def _no_host(addr: ipaddress.IPv4Address) -> str | None:
    if addr.is_unspecified:
        return "the unspecified address"
    if addr == _BROADCAST:
        return "the broadcast address"
    return next((f"a {kind} address" for block, kind in _NO_HOST.items() if addr in block), None)


def _mac(text: str) -> str:
    mac = text.lower().replace("-", ":")
    if not _MAC_RE.match(mac):
        raise ValueError(
            f"bad MAC address {text!r} (expected six hex bytes such as 02:00:0a:01:00:07)"
        )
    if mac == "ff:ff:ff:ff:ff:ff":
        raise ValueError(f"bad MAC address {text!r}: broadcast (expected a unicast MAC such as "
                         "02:00:0a:01:00:07)")
    if int(mac[:2], 16) & 1:
        raise ValueError(f"bad MAC address {text!r}: multicast (expected an even first byte)")
    if mac == "00:00:00:00:00:00":
        raise ValueError(f"bad MAC address {text!r}: all zeros, which no interface can have "
                         "(expected a MAC such as 02:00:0a:01:00:07)")
    return mac


def _domain(text: str) -> str:
    if len(text) > 253 or not _DOMAIN_RE.match(text):
        raise ValueError(f"bad domain {text!r} (expected a lower-case DNS name such as bank.sov)")
    return text


def _endpoint(text: str) -> str:
    m = _ENDPOINT_RE.match(text)
    if not m or (m.group(2) is not None and not 1 <= int(m.group(2)) <= MAX_PORT):
        raise ValueError(
            f"bad endpoint {text!r} (expected NAME or NAME:PORT with a port from 1 to {MAX_PORT})"
        )
    return text


def split_endpoint(text: str) -> tuple[str, int | None]:
    """'core1:3' -> ('core1', 3); 'core1' -> ('core1', None). The text is already validated."""
    name, _, port = text.partition(":")
    return name, int(port) if port else None


def _dpid(value: Any) -> Any:
    if isinstance(value, str):
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", value):
            value = int(value, 16)
        else:
            raise ValueError(_BAD_DPID.format(got(value)))
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(_BAD_DPID.format(got(value)))
    if not 1 <= value < 2**64:
        raise ValueError(f"bad dpid {value} (expected 1 to 2^64-1)")
    return value


def _delay(value: Any) -> str:
    if not isinstance(value, str) or not _DELAY_RE.match(value):
        raise ValueError(
            f"bad delay {got(value)} (expected a number and a unit, such as 5ms, 200us or 1s)"
        )
    return value


def _loss(value: Any) -> float:
    number: Any = value
    if isinstance(value, str) and value.endswith("%"):
        try:
            number = float(value[:-1])
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number <= 100:
        raise ValueError(
            f"bad loss {got(value)} (expected a percentage from 0 to 100, such as 1 or '0.5%')"
        )
    return float(number)


def _prefix96(value: Any) -> str:
    try:
        net = ipaddress.IPv6Network(value, strict=True) if isinstance(value, str) else None
    except ValueError:
        net = None
    if net is None or net.prefixlen != 96:
        raise ValueError(f"bad IPv6 prefix {got(value)} (expected a /96 such as fd00:5e::/96, "
                         "into which every IPv4 address is embedded)")
    block = next((b for b in _NO_HOST6 if net.subnet_of(b)), None)
    if block is not None:
        raise ValueError(f"bad IPv6 prefix {got(value)}: it is in the {_NO_HOST6[block]} block "
                         f"{block}, whose addresses no interface can have (expected a unicast "
                         "/96 such as fd00:5e::/96)")
    return str(net)


# IPv6 blocks that cannot hold hosts. With an IPv4 address in its low 32 bits, a host in ::/96
# would have an IPv4-compatible address (deprecated by RFC 4291, and :: and ::1 are in it).
_NO_HOST6 = {ipaddress.IPv6Network("::/96"): "IPv4-compatible",
             ipaddress.IPv6Network("::ffff:0:0/96"): "IPv4-mapped",
             ipaddress.IPv6Network("ff00::/8"): "multicast"}


_REGION_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


def _region(value: str) -> str:
    if not _REGION_RE.match(value):
        raise ValueError(f"bad region {got(value)} (expected lower-case letters, digits, _ and "
                         "-, starting with a letter)")
    return value


_IP_PATTERN = r"[0-9]{1,3}(\.[0-9]{1,3}){3}"
Prefix96 = Annotated[str, AfterValidator(_prefix96), WithJsonSchema(
    {"type": "string", "pattern": "^[0-9a-fA-F:]+/96$"})]
Prefix = Annotated[str, AfterValidator(_prefix), WithJsonSchema(
    {"type": "string", "pattern": f"^{_IP_PATTERN}/[0-9]{{1,2}}$"})]
Ip = Annotated[str, AfterValidator(_ip), WithJsonSchema(
    {"type": "string", "pattern": f"^{_IP_PATTERN}$"})]
Mac = Annotated[str, AfterValidator(_mac), WithJsonSchema(
    {"type": "string", "pattern": "^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$"})]
Endpoint = Annotated[str, AfterValidator(_endpoint), WithJsonSchema(
    {"type": "string", "pattern": _ENDPOINT_RE.pattern, "description": "NAME or NAME:PORT"})]
Dpid = Annotated[
    int,
    BeforeValidator(_dpid),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1},
                              {"type": "string", "pattern": "^0[xX][0-9a-fA-F]+$"}]}),
]
Delay = Annotated[str, BeforeValidator(_delay), WithJsonSchema(
    {"type": "string", "pattern": _DELAY_RE.pattern})]
Loss = Annotated[float, BeforeValidator(_loss), WithJsonSchema(
    {"anyOf": [{"type": "number", "minimum": 0, "maximum": 100},
               {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?%$"}]})]
Bandwidth = Annotated[float, Field(gt=0, description="Mbit/s")]
Region = Annotated[str, AfterValidator(_region), WithJsonSchema(
    {"type": "string", "pattern": _REGION_RE.pattern,
     "description": "a part of the country; policies scope to it with region:NAME"})]
Count = Annotated[int, Field(ge=1)]
Asn = Annotated[int, Field(ge=1, le=4_294_967_295, description="an autonomous system number")]
Domain = Annotated[str, AfterValidator(_domain), WithJsonSchema(
    {"type": "string", "pattern": _DOMAIN_RE.pattern})]

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
