"""A policy command as one typed value, built by every entry point and applied by one function.

The CLI (`sovnet policy add`, `sovnet store policy add`), policy-set files, scenario timelines
and the Python API all build a `PolicyRequest` (or a `Revoke`); the store applies it
(`sovnet.store.writes.apply`). The action is parsed once, here, into an `Action`: nothing
downstream re-parses the text.

Pure: standard library only.
"""


from __future__ import annotations

from dataclasses import dataclass

from sovnet.model.policy import (
    MAX_PRIORITY,
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
from sovnet.model.schedule import Schedule

# Action lives in model.policy (a stored Policy carries one); it is part of this API too.
__all__ = ["Action", "PolicyCommand", "PolicyRequest", "Revoke"]


# A Scope or Target value is re-read from its text too: it may have been built by hand, and
# the store keeps only the checked, normalised form (prefix:172.16.5.0/12 -> 172.16.0.0/12).
def _scope(value: Scope | str) -> Scope:
    return parse_scope(str(value))


def _target(value: Target | str) -> Target:
    return parse_target(str(value))


@dataclass(frozen=True)
class PolicyRequest:
    """Add a policy: for traffic from `scope` towards `target`, do `action`.

    `author` and `reason` are the policy's own; a request applied inside a transaction takes
    the transaction's author, and its reason when `reason` is None.
    """

    action: Action
    scope: Scope
    target: Target
    priority: int = 100
    schedule: Schedule | None = None
    author: str = ""
    reason: str | None = None

    @classmethod
    def of(
        cls,
        action: Action | str,
        scope: Scope | str,
        target: Target | str,
        priority: int = 100,
        author: str = "",
        reason: str | None = None,
        schedule: Schedule | None = None,
    ) -> PolicyRequest:
        """Build a request from text or values; PolicySyntaxError says what was expected."""
        act = action if isinstance(action, Action) else Action.parse(action)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise PolicySyntaxError(
                f"priority {priority!r} is not an integer (expected 0 to {MAX_PRIORITY})"
            )
        check_priority(priority)
        if schedule is not None and not isinstance(schedule, Schedule):
            raise PolicySyntaxError(f"expected a Schedule, got {type(schedule).__name__}")
        tgt = _target(target)
        check_dpi(act, tgt)
        scp = _scope(scope)
        check_route(act, scp, tgt)
        return cls(act, scp, tgt, priority, schedule, str(author), reason)


@dataclass(frozen=True)
class Revoke:
    """Revoke the policy `policy_id` (an int, or text such as "#7")."""

    policy_id: int | str
    author: str = ""
    reason: str = ""


PolicyCommand = PolicyRequest | Revoke
