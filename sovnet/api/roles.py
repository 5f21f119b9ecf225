"""Who may do what through the API. A token has one role:

    regulator    national orders: any scope, every subscriber and device, the retention
    isp:NAME     its own ISP only: policies scoped isp:NAME or subscriber:S of NAME (and
                 revoking only those), its own subscribers and their devices; it reads what
                 reaches its subscribers, and nothing scoped to another ISP
    auditor      reads everything, changes nothing

Pure: decided on the topology alone, so that a refusal never depends on what a write did.
"""

from __future__ import annotations

from dataclasses import dataclass

from sovnet.model.policy import Policy, Scope
from sovnet.model.topology import Topology

ROLE_FORMS = "regulator, auditor or isp:NAME"
# Scopes that may cover any ISP's subscribers: an ISP sees the policies with these scopes (they
# can reach its subscribers) but may not write them (they can reach others' too).
SHARED_SCOPES = ("all", "class", "region", "tier", "standing")


class RoleError(ValueError):
    """A role that does not parse; the message says what was expected."""


class Forbidden(Exception):
    """The token's role does not allow this; the message says what it allows."""


@dataclass(frozen=True)
class Role:
    kind: str  # "regulator", "isp" or "auditor"
    isp: str = ""  # the ISP of an isp:NAME role

    @classmethod
    def parse(cls, text: str) -> Role:
        kind, colon, isp = str(text).strip().partition(":")
        if kind in ("regulator", "auditor") and not colon:
            return cls(kind)
        if kind == "isp" and isp.strip():
            return cls("isp", isp.strip())
        raise RoleError(f"bad role {text!r} (expected {ROLE_FORMS})")

    def __str__(self) -> str:
        return f"isp:{self.isp}" if self.kind == "isp" else self.kind

    def check_known(self, topo: Topology | None) -> None:
        """RoleError when an isp:NAME role names an ISP the store's topology lacks."""
        if self.kind != "isp" or topo is None:
            return
        names = sorted(i.name for i in topo.isps)
        if self.isp not in names:
            raise RoleError(f"unknown ISP {self.isp!r} in role {self} (topology {topo.name!r} "
                            f"has: {', '.join(names) or 'no ISP'})")

    # -- writes -------------------------------------------------------------------------------
    def may_write(self, what: str) -> None:
        """Forbidden for an auditor, whatever it would change."""
        if self.kind == "auditor":
            raise Forbidden(f"an auditor reads only, and may not {what} (expected a regulator "
                            "or isp:NAME token)")

    def may_set_retention(self) -> None:
        self.may_write("set how long flow records are kept")
        if self.kind != "regulator":
            raise Forbidden(f"{self} may not set how long flow records are kept (expected a "
                            "regulator token: the retention is national)")

    def may_scope(self, topo: Topology, scope: Scope) -> None:
        """Forbidden unless a policy of this scope is the role's to add."""
        self.may_write("add policies")
        if self.kind == "isp" and not self.owns_scope(topo, scope):
            raise Forbidden(f"{self} may add policies only for its own subscribers (expected "
                            f"scope isp:{self.isp} or subscriber:NAME of {self.isp}, got {scope})")

    def may_revoke(self, topo: Topology, policy: Policy) -> None:
        self.may_write("revoke policies")
        if self.kind == "isp" and not self.owns_scope(topo, policy.scope):
            raise Forbidden(f"{self} may not revoke policy #{policy.id} (scope {policy.scope}): "
                            f"an ISP revokes only policies scoped isp:{self.isp} or to its "
                            "subscribers")

    def may_change_subscriber(self, topo: Topology, name: str, what: str) -> None:
        self.may_write(what)
        if self.kind == "isp" and not self.owns_subscriber(topo, name):
            raise Forbidden(f"{self} may not {what}: {name!r} is not a subscriber of "
                            f"{self.isp}")

    # -- reads --------------------------------------------------------------------------------
    def sees_policy(self, topo: Topology | None, policy: Policy) -> bool:
        return self.sees_scope(topo, policy.scope)

    def sees_scope(self, topo: Topology | None, scope: Scope) -> bool:
        if self.kind != "isp":
            return True
        return scope.kind in SHARED_SCOPES or (topo is not None and self.owns_scope(topo, scope))

    def sees_subscriber(self, topo: Topology | None, name: str) -> bool:
        return self.kind != "isp" or (topo is not None and self.owns_subscriber(topo, name))

    def sees_switch(self, topo: Topology | None, dpid: int) -> bool:
        if self.kind != "isp":
            return True
        return topo is not None and any(s.dpid == dpid and s.isp == self.isp
                                        for s in topo.switches)

    def may_read_subscriber(self, topo: Topology, name: str, what: str) -> None:
        if not self.sees_subscriber(topo, name):
            raise Forbidden(f"{self} may not {what}: {name!r} is not a subscriber of "
                            f"{self.isp}")

    # -- the ISP's own ----------------------------------------------------------------------
    def owns_scope(self, topo: Topology, scope: Scope) -> bool:
        return ((scope.kind == "isp" and scope.value == self.isp)
                or (scope.kind == "subscriber" and self.owns_subscriber(topo, scope.value)))

    def owns_subscriber(self, topo: Topology, name: str) -> bool:
        try:
            return topo.subscriber(name).isp == self.isp
        except KeyError:
            return False


@dataclass(frozen=True)
class Identity:
    """Who a request is: the token's name and role. Its writes are authored "api:NAME"."""

    name: str
    role: Role

    @property
    def author(self) -> str:
        return f"api:{self.name}"
