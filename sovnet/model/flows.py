"""OpenFlow rules as canonical values, independent of any OpenFlow library.

A flow's identity is (dpid, table, priority, match): what OpenFlow's *_STRICT commands key on.
The cookie is not part of the identity; it records who made the flow (owner tag, kind, policy id)
so that any flow on a switch can be traced back to the policy behind it.

Match values are canonical: masked fields are (value, mask) tuples with the host bits cleared,
a full mask collapses to the plain value, MACs are lower-case, fields are sorted by name. The
OpenFlow codec produces the same form from a switch's flow dump, so a compiled flow and its
read-back compare equal.

Pure: standard library only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# The pipeline: admission -> policy -> shaping -> forward. Ids are assigned here and nowhere else.
TABLE_ADMISSION = 0
TABLE_POLICY = 1
TABLE_SHAPING = 2
TABLE_INSPECT = 3  # after shaping: an inspected connection keeps its subscriber's throttle
TABLE_FORWARD = 4
TABLE_NAMES = {TABLE_ADMISSION: "admission", TABLE_POLICY: "policy", TABLE_SHAPING: "shaping",
               TABLE_INSPECT: "inspect", TABLE_FORWARD: "forward"}
CONTROLLER_PORT = 0xFFFFFFFD  # OFPP_CONTROLLER: where a reject flow sends the packet

# Cookie layout: | owner tag (16 bits) | kind (8) | reserved (8) | policy id (32) |
OWNER_TAG = 0x50E7
OWNER_SHIFT = 48
OWNER_MASK = 0xFFFF << OWNER_SHIFT
KIND_SHIFT = 40
KINDS = {"baseline": 1, "admission": 2, "policy": 3, "forward": 4, "shaping": 5, "inspect": 6,
         "route": 7, "account": 8}
# The inspector's own per-connection flows (verdicts, residual blocks) carry another owner tag:
# they come and go with connections (idle and hard timeouts), not with the store, so the
# reconciler neither fetches nor removes them.
VERDICT_TAG = 0x50E8
KIND_NAMES = {v: k for k, v in KINDS.items()}


def make_cookie(kind: str, policy_id: int = 0) -> int:
    return (OWNER_TAG << OWNER_SHIFT) | (KINDS[kind] << KIND_SHIFT) | (policy_id & 0xFFFFFFFF)


def is_ours(cookie: int) -> bool:
    return (cookie & OWNER_MASK) == (OWNER_TAG << OWNER_SHIFT)


def cookie_kind(cookie: int) -> str:
    return KIND_NAMES.get((cookie >> KIND_SHIFT) & 0xFF, "unknown")


def cookie_policy(cookie: int) -> int:
    return cookie & 0xFFFFFFFF


# Metadata layout written by the admission table and matched by the policy table:
# | tier (2) @40 | isp (8) @32 | class (8) @24 | subscriber (24) @0 |; 0 in every field means
# "not a subscriber". The tier is the subscriber's admission tier in the store, so a tier scope
# is one masked match however many subscribers hold the tier.
META_SUB_SHIFT, META_SUB_BITS = 0, 24
META_CLASS_SHIFT, META_CLASS_BITS = 24, 8
META_ISP_SHIFT, META_ISP_BITS = 32, 8
META_TIER_SHIFT, META_TIER_BITS = 40, 2
META_INFRA = 1 << 63  # traffic from service and resolver hosts


def meta_field(shift: int, bits: int, value: int) -> tuple[int, int]:
    mask = ((1 << bits) - 1) << shift
    return (value << shift) & mask, mask


# Actions/instructions, in pipeline order:
#   ("meter", meter_id)     police through a meter (sovnet.model.flows.Meter)
#   ("set_eth_dst", mac)    an apply-action: steer the packet to another host, IP unchanged
#   ("output", port)        an apply-action
#   ("meta", value, mask)   write metadata
#   ("goto", table)
# An empty tuple drops the packet.
Instruction = tuple[Any, ...]


def canonical_value(field: str, value: Any) -> Any:
    """Normalise one match value as it is compiled and as it is read back."""
    try:
        return _canonical_cached(field, value)
    except TypeError:  # an unhashable value: normalise without the cache
        return _canonical(field, value)


def ipv6_network(value: Any) -> ipaddress.IPv6Network:
    """"fd00::/108", "fd00::1" or (address, mask) as OpenFlow carries it -> the network (the
    ipaddress module takes no IPv6 netmask in text form)."""
    if isinstance(value, tuple):
        mask = int(ipaddress.IPv6Address(value[1]))
        plen = 128 - ((~mask & ((1 << 128) - 1)).bit_length())
        return ipaddress.IPv6Network(f"{value[0]}/{plen}", strict=False)
    return ipaddress.IPv6Network(str(value), strict=False)


@lru_cache(maxsize=65536)
def _canonical_cached(field: str, value: Any) -> Any:
    # A recompile normalises the same few thousand addresses again; ipaddress is slow at it.
    return _canonical(field, value)


def _canonical(field: str, value: Any) -> Any:
    if field in ("ipv4_dst", "ipv4_src", "arp_tpa", "arp_spa"):
        if isinstance(value, tuple):
            net = ipaddress.IPv4Network(f"{value[0]}/{value[1]}", strict=False)
        else:
            net = ipaddress.IPv4Network(str(value), strict=False)
        if net.prefixlen == 32:
            return str(net.network_address)
        return (str(net.network_address), str(net.netmask))
    if field in ("ipv6_dst", "ipv6_src", "ipv6_nd_target"):
        net6 = ipv6_network(value)
        if net6.prefixlen == 128:
            return str(net6.network_address)
        return (str(net6.network_address), str(net6.netmask))
    if field in ("eth_src", "eth_dst"):
        if isinstance(value, tuple):
            return (value[0].lower(), value[1].lower())
        return value.lower()
    if field == "metadata" and isinstance(value, tuple):
        v, m = value
        if m == (1 << 64) - 1:
            return v
        return (v & m, m)
    return value


def canonical_match(fields: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, canonical_value(k, v)) for k, v in fields.items()))


_INSTRUCTION_ORDER = {"meter": -1, "meta": 1, "goto": 2}  # actions (output, ...) at 0


def canonical_instructions(instructions: list[Instruction]) -> tuple[Instruction, ...]:
    """Instructions in the order the compiler writes them, whatever order a switch reports."""
    return tuple(sorted(instructions, key=lambda i: _INSTRUCTION_ORDER.get(i[0], 0)))


@dataclass(frozen=True)
class FlowKey:
    dpid: int
    table: int
    priority: int
    match: tuple[tuple[str, Any], ...]

    # A total order for sorted plans and dumps. Match values mix types (an address is a str, a
    # prefix a tuple), which Python cannot compare with each other, so the match sorts by repr.
    def sort_key(self) -> tuple:
        """sorted(keys, key=FlowKey.sort_key) makes each repr once, not once per comparison:
        10,000 flows sorted by `<` spent a second on reprs."""
        return (self.dpid, self.table, self.priority, repr(self.match))

    def __lt__(self, other: FlowKey) -> bool:
        return self.sort_key() < other.sort_key()


@dataclass(frozen=True)
class FlowRule:
    key: FlowKey
    instructions: tuple[Instruction, ...]
    cookie: int

    @property
    def dpid(self) -> int:
        return self.key.dpid

    def describe(self) -> str:
        m = ",".join(f"{k}={_fmt(v)}" for k, v in self.key.match) or "*"
        acts = ",".join(_fmt_ins(i) for i in self.instructions) or "drop"
        return (
            f"table={TABLE_NAMES.get(self.key.table, self.key.table)} "
            f"priority={self.key.priority} {m} -> {acts} "
            f"[{cookie_kind(self.cookie)} policy={cookie_policy(self.cookie)}]"
        )


    def to_json(self) -> dict:
        """The rule as `sovnet flows --json` prints it: the words of describe(), as fields."""
        return {"table": TABLE_NAMES.get(self.key.table, self.key.table),
                "priority": self.key.priority,
                "match": {k: _fmt(v) for k, v in self.key.match},
                "actions": [_fmt_ins(i) for i in self.instructions],
                "cookie": f"{self.cookie:#x}", "kind": cookie_kind(self.cookie),
                "policy": cookie_policy(self.cookie)}


def _fmt_ins(ins: Instruction) -> str:
    if ins[0] == "meter":
        return f"meter:{ins[1]}"
    if ins[0] == "set_eth_dst":
        return f"set_field:{ins[1]}->eth_dst"
    if ins[0] == "meta":
        full = ins[2] == (1 << 64) - 1
        return f"write_metadata:{ins[1]:#x}" + ("" if full else f"/{ins[2]:#x}")
    if ins[0] == "goto":
        return f"goto:{TABLE_NAMES.get(ins[1], ins[1])}"
    return f"output:{ins[1]}"


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        a, b = v
        if isinstance(a, int):
            return f"{a:#x}/{b:#x}"
        try:
            return str(ipaddress.IPv4Network(f"{a}/{b}"))
        except ValueError:
            return f"{a}/{b}"
    return str(v)


@dataclass(frozen=True, order=True)
class Meter:
    """An OpenFlow meter with one drop band: traffic above `rate_kbps` (burst `burst_kbit`) is
    dropped. `policy` is the throttle policy it enforces (meters carry no cookie)."""

    dpid: int
    meter_id: int
    rate_kbps: int
    burst_kbit: int
    policy: int

    @property
    def config(self) -> tuple[int, int]:
        """What the switch holds and the diff compares: (rate, burst)."""
        return self.rate_kbps, self.burst_kbit

    def describe(self) -> str:
        return (f"meter={self.meter_id} drop above {self.rate_kbps} kbit/s "
                f"(burst {self.burst_kbit} kbit) [policy={self.policy}]")


def rule(dpid: int, table: int, priority: int, match: dict[str, Any],
         instructions: tuple[Instruction, ...], cookie: int) -> FlowRule:
    return FlowRule(FlowKey(dpid, table, priority, canonical_match(match)), instructions, cookie)
