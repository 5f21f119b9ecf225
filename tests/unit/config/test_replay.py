"""The load-time replay of a timeline (sovnet.config.replay) against the runner's own
(sovnet.experiments.timeline.TimelineStore): the same changes, in the same order, refused alike,
leaving the store in the same state."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.config import load_topology
from sovnet.config.replay import Places, replay
from sovnet.config.report import Reporter
from sovnet.config.scenario import load_scenario
from sovnet.config.yamlsrc import Doc
from sovnet.errors import StoreError
from sovnet.experiments.timeline import TimelineStore
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import Action, parse_scope, parse_target
from sovnet.model.scenario import PolicyChange, Step
from sovnet.store import MemoryStore

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = sorted([*(ROOT / "experiments").glob("*.yaml"),
                    *(ROOT / "tests" / "integration" / "scenarios").glob("*.yaml")])
MINIMAL = load_topology(ROOT / "topologies" / "minimal.yaml")
MAC = {h.name: h.mac for h in MINIMAL.hosts}  # bob's is not registered by the topology
CUT = PolicyChange("cut", PolicyRequest(Action.parse("deny"), parse_scope("all"),
                                        parse_target("international")))


def _by_runner(topology, steps) -> tuple[MemoryStore, int | None]:
    """The store after the steps as a run applies them, and the step it refused, if any."""
    store = MemoryStore()
    store.load_inventory(topology)
    timeline = TimelineStore(store, topology, author="test")
    for k, step in enumerate(steps):
        try:
            timeline.apply(step)
        except StoreError:
            return store, k
    return store, None


def _replayed(topology, steps) -> tuple[MemoryStore, list[int]]:
    """The store after the replay, and the steps it reported a refusal in."""
    places = []
    for i, s in enumerate(steps):
        at = ("timeline", i)
        places.append(Places(at, revoke=[at] * len(s.revoke), add=[at] * len(s.add),
                             status=[at] * len(s.status), standing=[at] * len(s.standing),
                             register=[at] * len(s.register),
                             unregister=[(at, "")] * len(s.unregister)))
    r = Reporter(Doc("t.yaml", {}))
    store = replay(topology, list(steps), places, r)
    return store, sorted({int(i.where.split("[")[1].split("]")[0]) for i in r.issues})


def _state(store: MemoryStore) -> tuple:
    return (store.subscribers(),
            [(p.id, p.action, p.scope, p.target, p.priority) for p in store.policies()])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_shipped_timeline_leaves_the_store_as_a_run_does(path):
    scenario = load_scenario(path)
    run, refused = _by_runner(scenario.topology, scenario.steps)
    replayed, refusals = _replayed(scenario.topology, scenario.steps)
    assert (refused, refusals) == (None, [])
    assert _state(replayed) == _state(run)


def _step(**changes) -> Step:
    return Step(at=0.0, phase="", label="", **changes)


@pytest.mark.parametrize("steps, refused", [
    # every kind of change, then a restore that puts back what changed, then more
    ([_step(add=(CUT,), status=(("carol", "verified"),), standing=(("dave", 30),),
            register=(("bob", MAC["bob"]),), unregister=(MAC["alice"],)),
      _step(register=(("dave", MAC["alice"]),)),
      _step(unregister=(MAC["alice"],), revoke=("cut",), add=(CUT,)),
      _step(restore=True),
      _step(register=(("bob", MAC["bob"]),), add=(CUT,))], None),
    # a MAC registered twice, to the same subscriber or to another
    ([_step(register=(("alice", MAC["alice"]),))], 0),
    ([_step(register=(("dave", MAC["carol"]),))], 0),
    # a device never registered (bob's), or no longer
    ([_step(unregister=(MAC["bob"],))], 0),
    ([_step(unregister=(MAC["alice"],)), _step(unregister=(MAC["alice"],))], 1),
    # within a step, registers come before unregisters: the MAC is still alice's
    ([_step(register=(("dave", MAC["alice"]),), unregister=(MAC["alice"],))], 0),
    # the restore cannot give alice her MAC back while dave holds it
    ([_step(unregister=(MAC["alice"],)), _step(register=(("dave", MAC["alice"]),)),
      _step(restore=True)], 2),
])
def test_the_replay_refuses_what_a_run_refuses(steps, refused):
    run, run_refused = _by_runner(MINIMAL, steps)
    replayed, refusals = _replayed(MINIMAL, steps)
    assert run_refused == refused
    assert refusals == ([] if refused is None else [refused])
    if refused is None:
        assert _state(replayed) == _state(run)
