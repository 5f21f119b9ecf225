"""Desired flows vs the flows a switch reports -> the smallest plan that makes them equal.

Flows whose cookie does not carry sovnet's owner tag belong to someone else and are left alone
(kytos flow_manager's "alien flow" idea, restricted to our cookie range).

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sovnet.model.flows import FlowKey, FlowRule, is_ours


@dataclass(frozen=True)
class FlowPlan:
    add: tuple[FlowRule, ...] = ()
    modify: tuple[FlowRule, ...] = ()  # same key, new instructions or cookie (the desired rule)
    delete: tuple[FlowRule, ...] = ()  # the rule as the switch holds it

    def __len__(self) -> int:
        return len(self.add) + len(self.modify) + len(self.delete)

    def __bool__(self) -> bool:
        return len(self) > 0

    def summary(self) -> str:
        return f"+{len(self.add)} ~{len(self.modify)} -{len(self.delete)}"


def diff(desired: Iterable[FlowRule], actual: Iterable[FlowRule]) -> FlowPlan:
    want: dict[FlowKey, FlowRule] = {f.key: f for f in desired}
    have: dict[FlowKey, FlowRule] = {f.key: f for f in actual if is_ours(f.cookie)}
    add = tuple(want[k] for k in sorted(want.keys() - have.keys()))
    delete = tuple(have[k] for k in sorted(have.keys() - want.keys()))
    modify = tuple(
        want[k]
        for k in sorted(want.keys() & have.keys())
        if (want[k].instructions, want[k].cookie) != (have[k].instructions, have[k].cookie)
    )
    return FlowPlan(add, modify, delete)


def apply(plan: FlowPlan, actual: Iterable[FlowRule]) -> tuple[FlowRule, ...]:
    """What a switch holds after executing `plan`: the model the codec must live up to."""
    table = {f.key: f for f in actual}
    for f in plan.delete:
        table.pop(f.key, None)
    for f in (*plan.add, *plan.modify):
        table[f.key] = f
    return tuple(table[k] for k in sorted(table))
