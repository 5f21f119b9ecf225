"""What a run will do, decided before it starts: vantage points and the schedule. Pure.

The schedule is a list of actions at emulated times (timeline steps and probe rounds), ordered
so that a step at T is applied before a probe round at the same T measures.
"""

from __future__ import annotations

from dataclasses import dataclass

# Vantage points are chosen in model.scenario, where config checks a scenario too; this
# module plans the run.
from sovnet.model.scenario import Probe, Scenario, Step, Vantage, select_vantages


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
