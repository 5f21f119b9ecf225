"""The single values of config files: how each is written, checked and normalised.

Each validator takes what YAML gave and returns the value normalised, or raises ValueError with
a message that says what was expected. The Annotated types below carry them and their JSON
Schema into the pydantic models of topology_file.py; scenario files check MACs with parse_mac.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from sovnet.config.report import got

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


def parse_mac(text: str) -> str:
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
Mac = Annotated[str, AfterValidator(parse_mac), WithJsonSchema(
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
