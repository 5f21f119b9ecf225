"""The inspector's rules, compiled from the store's sni / sni-contains / host / quic policies,
and the decision over them.

A rule covers the subscribers its policy's scope covers (by address) and names the flows it
takes: TLS by the SNI in the ClientHello, HTTP by its Host, QUIC by the SNI of its Initial (or
all QUIC). The highest-priority rule that covers a flow decides (the newest on a tie); no rule
means the flow passes, as it does through a real middlebox that recognises nothing.
Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Target kind -> the protocol the inspector reads for it.
PROTOCOL_OF = {"sni": "tls", "sni-contains": "tls", "host": "http", "quic": "quic"}
PORT_OF = {"tls": ("tcp", 443), "http": ("tcp", 80), "quic": ("udp", 443)}


def name_matches(kind: str, pattern: str, name: str | None) -> bool:
    """sni/host/quic: exact, or `*.suffix` for every name below suffix; sni-contains: a
    substring anywhere (the rule for t.co also takes microsoft.com); quic with no pattern:
    every QUIC flow, whatever its SNI."""
    if kind == "quic" and not pattern:
        return True
    if name is None:
        return False
    if kind == "sni-contains":
        return pattern in name
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


@dataclass(frozen=True)
class Rule:
    policy_id: int
    priority: int
    kind: str  # sni, sni-contains, host, quic
    pattern: str  # lower-case; "" for all QUIC
    action: str  # deny (drop), reject (reset), throttle
    covered: frozenset[str]  # the subscribers' IPv4 addresses in scope
    rate_kbps: int | None = None
    residual: float = 0.0  # seconds the (client, server, port) stays blocked after a trigger
    reassemble: bool = False  # read the whole ClientHello, not only the first segment
    reset_server: bool = False  # reject: a reset to the server too
    meters: dict[int, tuple[int, int]] = field(default_factory=dict, compare=False, hash=False)
    # throttle: dpid -> (meter for what the client sends, meter for what it receives)

    @property
    def protocol(self) -> str:
        return PROTOCOL_OF[self.kind]

    def describe(self) -> str:
        target = self.kind if self.kind == "quic" and not self.pattern else \
            f"{self.kind}:{self.pattern}"
        return f"policy #{self.policy_id} {self.action} {target}"


def decide(rules: Iterable[Rule], src_ip: str, protocol: str, name: str | None) -> Rule | None:
    """The rule that decides a flow from `src_ip` whose first bytes read `name` (None: no name
    found); None: the flow passes."""
    hits = [r for r in rules if r.protocol == protocol and src_ip in r.covered
            and name_matches(r.kind, r.pattern, name)]
    return max(hits, key=lambda r: (r.priority, r.policy_id)) if hits else None


def reassembles(rules: Iterable[Rule], src_ip: str, protocol: str) -> bool:
    """Whether any rule covering this flow asks to read the whole ClientHello."""
    return any(r.reassemble for r in rules if r.protocol == protocol and src_ip in r.covered)
