"""What a policy's scope and target mean on a given topology: metadata matches and packet matches.

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sovnet.errors import CompileError
from sovnet.model.flows import (
    META_CLASS_BITS,
    META_CLASS_SHIFT,
    META_ISP_BITS,
    META_ISP_SHIFT,
    META_SUB_BITS,
    META_SUB_SHIFT,
    META_TIER_BITS,
    META_TIER_SHIFT,
    meta_field,
)
from sovnet.model.policy import (
    TIERS,
    Policy,
    Scope,
    SubscriberState,
    Target,
    in_scope,
    parse_port,
)
from sovnet.model.topology import SUBSCRIBER_CLASSES, Topology

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD


def known_names(topo: Topology, kind: str) -> list[str] | None:
    """The names a scope or target of `kind` may use on this topology (None: not a name).

    Classes and categories count only when the topology uses them: a policy for a class no
    subscriber has, or a category no service has, names what the inventory lacks (a typo, most
    likely) and is refused like an unknown service."""
    names = {
        "service": lambda: [s.name for s in topo.services],
        "isp": lambda: [i.name for i in topo.isps],
        "subscriber": lambda: [s.name for s in topo.subscribers],
        "class": lambda: sorted({s.cls for s in topo.subscribers}),
        "region": lambda: sorted({s.region for s in topo.subscribers if s.region}),
        "category": lambda: sorted({s.category for s in topo.services}),
    }.get(kind)
    return names() if names else None


def subscriber_index(topo: Topology, name: str) -> int:
    return topo.subscriber_number(name)


def subscriber_metadata(topo: Topology, name: str, tier: str = "registered") -> int:
    """The metadata the admission table writes for a subscriber:
    tier | isp | class | index (1-based)."""
    sub = topo.subscriber(name)
    isp = [i.name for i in topo.isps].index(sub.isp) + 1
    cls = SUBSCRIBER_CLASSES.index(sub.cls) + 1
    idx = subscriber_index(topo, name)
    value = 0
    for shift, bits, v in (
        (META_TIER_SHIFT, META_TIER_BITS, TIERS.index(tier) + 1),
        (META_ISP_SHIFT, META_ISP_BITS, isp),
        (META_CLASS_SHIFT, META_CLASS_BITS, cls),
        (META_SUB_SHIFT, META_SUB_BITS, idx),
    ):
        value |= meta_field(shift, bits, v)[0]
    return value


def scope_metadata(topo: Topology, scope: Scope, policy_id: int) -> tuple[int, int] | None:
    """(value, mask) to match in the policy table; None for everyone. A standing scope has no
    one match (it is whoever is below the threshold now): `scope_matches` expands it."""
    if scope.kind == "all":
        return None
    if scope.kind == "tier":
        return meta_field(META_TIER_SHIFT, META_TIER_BITS, TIERS.index(scope.value) + 1)
    if scope.kind in ("standing", "region"):
        raise CompileError(f"policy #{policy_id}: a {scope.kind} scope has no single metadata "
                           "match (expected scope_matches to expand it on each switch)")
    if scope.kind == "isp":
        _known(topo, scope, "ISP", policy_id)
        names = [i.name for i in topo.isps]
        return meta_field(META_ISP_SHIFT, META_ISP_BITS, names.index(scope.value) + 1)
    if scope.kind == "class":
        _known(topo, scope, "subscriber class", policy_id)
        return meta_field(
            META_CLASS_SHIFT, META_CLASS_BITS, SUBSCRIBER_CLASSES.index(scope.value) + 1
        )
    if scope.kind == "subscriber":
        _known(topo, scope, "subscriber", policy_id)
        names = [s.name for s in topo.subscribers]
        return meta_field(META_SUB_SHIFT, META_SUB_BITS, names.index(scope.value) + 1)
    raise CompileError(f"policy #{policy_id}: unknown scope kind {scope.kind!r}")


def check_scope(topo: Topology, scope: Scope, policy_id: int) -> None:
    """CompileError when the scope names what the topology lacks."""
    if scope.kind == "region":
        _known(topo, scope, "region", policy_id)
    elif scope.kind != "standing":
        scope_metadata(topo, scope, policy_id)


def scope_matches(topo: Topology, scope: Scope, policy_id: int, local: list[str],
                  subscribers: Mapping[str, SubscriberState]) -> list[tuple[int, int] | None]:
    """The metadata matches covering the scope's subscribers among `local` (one switch's)."""
    if scope.kind not in ("standing", "region"):
        return [scope_metadata(topo, scope, policy_id)]
    covered = [s for s in local if in_scope(topo, scope, s, subscribers.get(s))]
    if scope.kind == "region" and covered and len(covered) == len(local):
        # A region is mostly whole switches: one match for all of this switch's subscribers
        # (the policy table sees subscribers' packets only; admission sends the rest past it).
        # Its name was checked with the policy (check_scope).
        return [None]
    return [meta_field(META_SUB_SHIFT, META_SUB_BITS, subscriber_index(topo, s))
            for s in covered]


class Coverage:
    """Which of one switch's subscribers each scope covers, and its metadata matches, worked
    out once per scope: a thousand policies of a whitelist share a handful of scopes."""

    def __init__(self, topo: Topology, local: list[str],
                 subscribers: Mapping[str, SubscriberState]):
        self.topo, self.local, self.subscribers = topo, local, subscribers
        self._covered: dict[Scope, list[str]] = {}
        self._metas: dict[Scope, list[tuple[int, int] | None]] = {}

    def covered(self, scope: Scope) -> list[str]:
        if scope not in self._covered:
            self._covered[scope] = [s for s in self.local if in_scope(
                self.topo, scope, s, self.subscribers.get(s))]
        return self._covered[scope]

    def metas(self, scope: Scope, policy_id: int) -> list[tuple[int, int] | None]:
        if scope not in self._metas:
            self._metas[scope] = scope_matches(self.topo, scope, policy_id, self.local,
                                               self.subscribers)
        return self._metas[scope]


def target_matches(topo: Topology, target: Target, policy_id: int) -> list[dict[str, Any]]:
    """Packet matches (without metadata) that together cover the target: IPv4, and IPv6 too
    in a dual-stack topology, unless the target names one family (any@ipv6)."""
    v4 = target.family in ("", "ipv4")
    v6 = bool(topo.ipv6) and target.family in ("", "ipv6")
    ip4, ip6 = {"eth_type": ETH_IPV4}, {"eth_type": ETH_IPV6}
    if target.kind == "prefix":
        return [{**ip4, "ipv4_dst": target.value}]
    if target.kind in ("any", "port"):
        extra: dict[str, Any] = {}
        if target.kind == "port":
            proto, port = parse_port(target.value)
            extra["ip_proto"] = proto
            if port is not None:
                extra["tcp_dst" if proto == 6 else "udp_dst"] = port
        return [{**ip4, **extra}] * v4 + [{**ip6, **extra}] * v6
    if target.kind == "international":
        return ([{**ip4, "ipv4_dst": p} for p in topo.foreign_prefixes] * v4
                + [{**ip6, "ipv6_dst": p} for p in topo.foreign_prefixes6] * v6)
    services = target_services(topo, target, policy_id)
    return ([{**ip4, "ipv4_dst": topo.host(s).ip} for s in services] * v4
            + [{**ip6, "ipv6_dst": topo.host(s).ip6} for s in services] * v6)


def target_services(topo: Topology, target: Target, policy_id: int = 0) -> list[str]:
    """Names of the services a service/category/locus target stands for."""
    if target.kind == "service":
        _known(topo, target, "service", policy_id)
        return [target.value]
    if target.kind == "category":
        _known(topo, target, "category", policy_id)
        return [s.name for s in topo.services if s.category == target.value]
    if target.kind == "locus":
        return [s.name for s in topo.services if s.locus == target.value]
    return []


def policy_applies_to(topo: Topology, policy: Policy, subscribers: list[str]) -> bool:
    return any(in_scope(topo, policy.scope, s) for s in subscribers)


def _known(topo: Topology, what_named: Scope | Target, what: str, policy_id: int) -> None:
    names, value = known_names(topo, what_named.kind), what_named.value
    if value not in names:
        label = f"policy #{policy_id}" if policy_id else "new policy"  # 0: not in the store yet
        raise CompileError(
            f"{label}: unknown {what} {value!r} "
            f"(expected one of: {', '.join(sorted(names))})"
        )
