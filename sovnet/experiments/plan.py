"""What a run will do, decided before it starts: vantage points and the schedule. Pure.

The schedule is a list of actions at emulated times (timeline steps and probe rounds), ordered
so that a step at T is applied before a probe round at the same T measures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sovnet.compile.targets import in_scope
from sovnet.model.scenario import Probe, Scenario, Step
from sovnet.model.topology import Subscriber, Topology


@dataclass(frozen=True)
class Vantage:
    subscriber: str
    cls: str
    isp: str


@dataclass(frozen=True)
class Action:
    at: float  # emulated seconds
    kind: str  # "step" or "probe"
    index: int  # the step's index, or the probe's index in scenario.probes
    round: int = 0  # probe rounds count from 0 per probe
    step: Step | None = None
    probe: Probe | None = None

    def order(self) -> tuple:
        return (self.at, 0 if self.kind == "step" else 1, self.index, self.round)


def select_vantages(topology: Topology, probe: Probe, seed: int) -> list[Vantage]:
    """Up to `per_group` subscribers per (ISP, class) among those in the probe's scopes.

    Subscribers the topology leaves unregistered are skipped unless named one by one: a
    measurer is someone who is online when the run starts. The choice is seeded, so the same
    scenario picks the same vantage points every run.
    """
    named = {s.value for s in probe.scopes if s.kind == "subscriber"}
    groups: dict[tuple[str, str], list[Subscriber]] = {}
    for sub in topology.subscribers:
        if not any(in_scope(topology, scope, sub.name) for scope in probe.scopes):
            continue
        if not sub.registered and sub.name not in named:
            continue
        groups.setdefault((sub.isp, sub.cls), []).append(sub)
    out = []
    for key in sorted(groups):
        # One generator per group: a group's pick does not depend on which other groups are
        # in scope, so probes with different scopes agree on who measures.
        rng = random.Random(f"{seed}:{key[0]}:{key[1]}")
        members = sorted(groups[key], key=lambda s: s.name)
        for sub in sorted(rng.sample(members, min(probe.per_group, len(members))),
                          key=lambda s: s.name):
            out.append(Vantage(sub.name, sub.cls, sub.isp))
    return out


def all_vantages(scenario: Scenario) -> dict[int, list[Vantage]]:
    """Vantage points per probe index. One seed for all probes, so that where their scopes
    overlap the same subscribers measure everything (one agent each, comparable results)."""
    return {i: select_vantages(scenario.topology, p, scenario.seed)
            for i, p in enumerate(scenario.probes)}


def schedule(scenario: Scenario) -> list[Action]:
    actions = [Action(step.at, "step", i, step=step) for i, step in enumerate(scenario.steps)]
    for i, probe in enumerate(scenario.probes):
        t, n = probe.start, 0
        while t < scenario.duration:
            actions.append(Action(t, "probe", i, round=n, probe=probe))
            n += 1
            t = probe.start + n * probe.every
    return sorted(actions, key=Action.order)
