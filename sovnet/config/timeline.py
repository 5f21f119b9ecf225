"""A scenario's timeline: each step checked alone (names, files, subscribers, MACs), then the
whole timeline replayed against the policy store (sovnet.config.replay), so that a scenario that
validates is one the store accepts at every step."""

from __future__ import annotations

import os
from pathlib import Path

from sovnet.config.policyset import load_policy_set, policy_spec
from sovnet.config.replay import Places, replay
from sovnet.config.report import Reporter, one_of
from sovnet.config.scenario_file import StepIn
from sovnet.config.values import parse_mac
from sovnet.config.yamlsrc import render_path
from sovnet.errors import ConfigError
from sovnet.model.policy import SUBSCRIBER_STATUSES
from sovnet.model.scenario import PolicyChange, Step, format_duration
from sovnet.model.topology import Topology


def timeline(items: list[StepIn], duration: float, base: Path, relative_to: str,
             topology: Topology, r: Reporter, inputs: list) -> list[Step]:
    """The steps, every problem of each reported to `r`; then their replay on a store."""
    steps: list[Step] = []
    places: list[Places] = []
    names = _Names()
    last = 0.0
    raw = r.doc.data.get("timeline") if isinstance(r.doc.data, dict) else None
    for i, item in enumerate(items):
        at = ("timeline", i)
        if item.at < last:
            r.value(at + ("at",), f"{format_duration(item.at)} is before the previous step's "
                                  f"{format_duration(last)} (expected steps in time order)")
        if item.at > duration:
            r.value(at + ("at",), f"{format_duration(item.at)} is after the end of the scenario "
                                  f"({format_duration(duration)})")
        last = max(last, item.at)
        written = raw[i] if isinstance(raw, list) and isinstance(raw[i], dict) else {}
        place = Places(at)
        steps.append(_step(item, place, written, base, relative_to, topology, r, names, inputs))
        places.append(place)
    replay(topology, steps, places, r)
    return steps


def _step(item: StepIn, place: Places, written: dict, base: Path, relative_to: str,
          topology: Topology, r: Reporter, names: _Names, inputs: list) -> Step:
    """One step's changes that can be made, each with where it was written (in `place`); the
    others reported. The order of each kind of change is the order the runner applies them."""
    at = place.at
    if item.restore:
        names.restore(at)
    for j, name in enumerate(item.revoke):
        names.revoke(name, at + ("revoke", j), r)
        place.revoke.append(at + ("revoke", j))
    adds: list[PolicyChange] = []
    loaded = []
    named_here: set[str] = set()  # a step may give several policies one name: a group
    for j, pol in enumerate(item.add):
        # The file passed shape validation, so each entry is the mapping `pol` came from.
        before = len(r.issues)
        spec = policy_spec(pol, at + ("add", j), written["add"][j], r, topology)
        if spec is not None and len(r.issues) == before:  # not replayed if refused already
            adds.append(PolicyChange(pol.name, spec))
            place.add.append(at + ("add", j))
        if pol.name and pol.name not in named_here:
            names.add(pol.name, at + ("add", j, "name"), r)
            named_here.add(pol.name)
    for j, entry in enumerate(item.load):
        file, name = (entry, None) if isinstance(entry, str) else (entry.file, entry.name)
        where = at + ("load", j) if isinstance(entry, str) else at + ("load", j, "file")
        path = Path(os.path.normpath(base / file))
        if not path.is_file():
            r.value(where, f"no policy-set file {file!r} (expected a path relative to "
                           f"{relative_to})")
            continue
        try:
            specs = load_policy_set(path, topology)
        except ConfigError as exc:
            r.issues.extend(exc.issues)
            r.value(where, f"the policy set {str(path)!r} has errors (reported at its own lines)")
            continue
        name = name or path.stem
        names.add(name, where, r)
        inputs.append(("policy-set", path))
        loaded.append(str(file))
        adds += [PolicyChange(name, s) for s in specs]
        place.add += [where] * len(specs)
    subs = {s.name for s in topology.subscribers}
    status = []
    for sub, state in item.subscribers.items():
        if sub not in subs:
            r.key(at + ("subscribers", sub), _unknown_subscriber(sub, topology))
        if state not in SUBSCRIBER_STATUSES:
            r.value(at + ("subscribers", sub), f"unknown status {state!r} (expected one of: "
                                               f"{', '.join(SUBSCRIBER_STATUSES)})")
        elif sub in subs:
            status.append((sub, state))
            place.status.append(at + ("subscribers", sub))
    standing = []
    for sub, score in item.standing.items():
        if sub not in subs:
            r.key(at + ("standing", sub), _unknown_subscriber(sub, topology))
        else:
            standing.append((sub, score))
            place.standing.append(at + ("standing", sub))
    register = []
    for j, dev in enumerate(item.register_):
        sub, mac = (dev, None) if isinstance(dev, str) else (dev.subscriber, dev.mac)
        if sub not in subs:
            r.value(at + ("register", j), _unknown_subscriber(sub, topology))
            continue
        register.append((sub, mac or topology.host(sub).mac))
        place.register.append(at + ("register", j))
    unregister = []
    for j, who in enumerate(item.unregister):
        where = at + ("unregister", j)
        if who in subs:
            unregister.append(topology.host(who).mac)
            place.unregister.append((where, who))
        elif ":" in who or "-" in who:
            try:
                unregister.append(parse_mac(who))
                place.unregister.append((where, ""))
            except ValueError as exc:
                r.value(where, str(exc))
        else:
            r.value(where, f"unknown subscriber {who!r} (expected a subscriber name or a device "
                           "MAC)")
    return Step(at=item.at, phase=item.phase, label=item.label or item.phase,
                add=tuple(adds), revoke=tuple(item.revoke), status=tuple(status),
                standing=tuple(standing), register=tuple(register),
                unregister=tuple(unregister), restore=item.restore, loaded=tuple(loaded))


def _unknown_subscriber(name: str, topology: Topology) -> str:
    names = sorted(s.name for s in topology.subscribers)
    return (f"unknown subscriber {name!r} in topology {topology.name!r} "
            f"({one_of(names, 'subscribers')})")


class _Names:
    """The names of the timeline's policies in force, step by step, and how each that was in
    force ended (a revoke, a restore), for the message about a later revoke of it."""

    def __init__(self) -> None:
        self.live: set[str] = set()
        self.ended: dict[str, str] = {}

    def add(self, name: str, at: tuple, r: Reporter) -> None:
        if name in self.live:
            r.value(at, f"{name!r} is already in force (expected a name not used by a policy "
                        "in force; revoke it first)")
        self.live.add(name)
        self.ended.pop(name, None)

    def revoke(self, name: str, at: tuple, r: Reporter) -> None:
        if name not in self.live:
            ended = f", {self.ended[name]}" if name in self.ended else ""
            r.value(at, f"nothing named {name!r} is in force at this step{ended} "
                        f"({one_of(sorted(self.live), 'named policies')})")
            return
        self.live.discard(name)
        self.ended[name] = f"revoked by {render_path(at)}"

    def restore(self, at: tuple) -> None:
        self.ended.update((n, f"revoked by the restore of {render_path(at)}") for n in self.live)
        self.live.clear()
