"""Desired flows vs the flows a switch reports -> the smallest plan that makes them equal.

Flows whose cookie does not carry sovnet's owner tag belong to someone else and are left alone
(kytos flow_manager's "alien flow" idea, restricted to our cookie range).

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sovnet.model.flows import FlowKey, FlowRule, Meter, is_ours


@dataclass(frozen=True)
class FlowPlan:
    add: tuple[FlowRule, ...] = ()
    modify: tuple[FlowRule, ...] = ()  # same key, new instructions or cookie (the desired rule)
    delete: tuple[FlowRule, ...] = ()  # the rule as the switch holds it
    # Meters are sent outside the flows' bundle (OpenFlow bundles carry no meter mods): the
    # ones to add or change before it, so no flow ever names a missing meter, the ones to
    # delete after it (deleting a meter deletes the flows still naming it).
    meters_add: tuple[Meter, ...] = ()
    meters_modify: tuple[Meter, ...] = ()
    meters_delete: tuple[int, ...] = ()  # meter ids

    def __len__(self) -> int:
        return (len(self.add) + len(self.modify) + len(self.delete) + len(self.meters_add)
                + len(self.meters_modify) + len(self.meters_delete))

    def __bool__(self) -> bool:
        return len(self) > 0

    def summary(self) -> str:
        text = f"+{len(self.add)} ~{len(self.modify)} -{len(self.delete)}"
        meters = (len(self.meters_add), len(self.meters_modify), len(self.meters_delete))
        if any(meters):
            text += " meters +{} ~{} -{}".format(*meters)
        return text


def diff_meters(desired: Iterable[Meter], actual: dict[int, tuple[int, int]]
                ) -> tuple[tuple[Meter, ...], tuple[Meter, ...], tuple[int, ...]]:
    """(add, modify, delete ids): `actual` maps meter id -> (rate kbit/s, burst kbit). Every
    meter on a sovnet bridge is sovnet's (meters carry no cookie to tell owners apart)."""
    want = {m.meter_id: m for m in desired}
    add = tuple(want[i] for i in sorted(want.keys() - actual.keys()))
    modify = tuple(want[i] for i in sorted(want.keys() & actual.keys())
                   if want[i].config != actual[i])
    return add, modify, tuple(sorted(actual.keys() - want.keys()))


def diff(desired: Iterable[FlowRule], actual: Iterable[FlowRule]) -> FlowPlan:
    desired, actual = list(desired), list(actual)
    # A flow that is the very same object on both sides (the controller diffing a new compile
    # against the one the switch was given: sovnet.compile.incremental) is unchanged; only the
    # rest is compared, by key.
    both = {id(f) for f in desired} & {id(f) for f in actual}
    if both:
        desired = [f for f in desired if id(f) not in both]
        actual = [f for f in actual if id(f) not in both]
    want: dict[FlowKey, FlowRule] = {f.key: f for f in desired}
    have: dict[FlowKey, FlowRule] = {f.key: f for f in actual if is_ours(f.cookie)}
    add = tuple(want[k] for k in sorted(want.keys() - have.keys(), key=FlowKey.sort_key))
    delete = tuple(have[k] for k in sorted(have.keys() - want.keys(), key=FlowKey.sort_key))
    # Sorted after filtering: a switch's flows mostly stay as they are, and sorting FlowKeys
    # is the slow part of a diff.
    modify = tuple(want[k] for k in sorted(
        (k for k in want.keys() & have.keys()
         if (want[k].instructions, want[k].cookie) != (have[k].instructions, have[k].cookie)),
        key=FlowKey.sort_key))
    return FlowPlan(add, modify, delete)


def apply(plan: FlowPlan, actual: Iterable[FlowRule]) -> tuple[FlowRule, ...]:
    """What a switch holds after executing `plan`: the model the codec must live up to."""
    table = {f.key: f for f in actual}
    for f in plan.delete:
        table.pop(f.key, None)
    for f in (*plan.add, *plan.modify):
        table[f.key] = f
    return tuple(table[k] for k in sorted(table, key=FlowKey.sort_key))
