"""Running a scenario: a lab, probe agents, the timeline on a monotonic clock, the run folder.

    result = run_scenario(load_scenario("experiments/national-cutoff.yaml"))   # as root
    result.exit_code   # 0 every expectation held, 1 one failed, 130 Ctrl-C, 3 error

Everything started is torn down on success, failure and Ctrl-C (the Lab and the agent pool own
their processes); an interrupted run leaves its folder marked incomplete, with what it measured.
"""

from __future__ import annotations

import logging
import queue
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sovnet.errors import SovnetError
from sovnet.experiments.agent_pool import AgentPool
from sovnet.experiments.effect import effect, ping_reachability, reachability
from sovnet.experiments.expect import evaluate
from sovnet.experiments.outside import Probers, Traffic, write_signals
from sovnet.experiments.plan import Action, all_vantages, schedule
from sovnet.experiments.progress import RunProgress
from sovnet.experiments.rounds import THROUGHPUT_TIMEOUT, ProbeRounds
from sovnet.experiments.rundir import RunError, RunFolder, default_folder  # noqa: F401 (API)
from sovnet.experiments.stream_effect import stream_effects
from sovnet.experiments.timeline import TimelineStore
from sovnet.flowlog import export as flowlog_export
from sovnet.model.scenario import Scenario, format_duration
from sovnet.model.schedule import in_force
from sovnet.results import ExpectationResult, StepEvent
from sovnet.store.orders import write_revisions

log = logging.getLogger("sovnet.run")

DRAIN_TIMEOUT = THROUGHPUT_TIMEOUT + 10.0  # after the last round, for results in flight
ENFORCE_TIMEOUT = 10.0
PRE_DUMP = 1.0  # real seconds before a step at which its "before" flow dump is taken


@dataclass
class RunResult:
    folder: Path
    status: str  # complete | incomplete
    exit_code: int
    expectations: list[ExpectationResult]
    counts: dict


def run_scenario(scenario: Scenario, out: Path | None = None, progress: bool = True,
                 report: bool = True) -> RunResult:
    """Run `scenario` (root needed), write its run folder and report; see module docstring."""
    folder = RunFolder(Path(out) if out else default_folder(scenario))
    return _Runner(scenario, folder, progress, report).run()


class _Runner:
    def __init__(self, scenario: Scenario, folder: RunFolder, progress: bool, report: bool):
        self.sc = scenario
        self.topo = scenario.topology
        self.folder = folder
        self.report = report
        self.ui = RunProgress(scenario.title, scenario.duration, enabled=progress)
        self.vantages = all_vantages(scenario)
        self.actions = schedule(scenario)
        self.web_pairs = sorted({(v.subscriber, s) for i, p in enumerate(scenario.probes)
                                 if p.kind == "web" for v in self.vantages[i]
                                 for s in p.to.select(self.topo)})
        # (vantage, service) of the stream probes: the pairs whose last (first) packet through
        # each step is timed (sovnet.experiments.stream_effect).
        self.stream_pairs = sorted({(v.subscriber, s) for i, p in enumerate(scenario.probes)
                                    if p.kind == "stream" for v in self.vantages[i]
                                    for s in p.to.select(self.topo)})
        self.step_events: list[dict] = []  # the events of steps that committed, kept updated
        self.switch_names = {s.dpid: s.name for s in self.topo.switches}
        self.unenforced: list[dict] = []
        self.revisions: list[tuple[float, int]] = []  # (t_real of commit, revision)
        self.counts = {"measurements": 0, "probe_errors": 0, "changes": 0, "rounds": 0}
        self.phase = scenario.phase_at(0.0)
        self.dumps = ThreadPoolExecutor(max_workers=2, thread_name_prefix="flowdump")
        self.t0 = self.t0_wall = 0.0
        self.base_revision = 0
        self.lab = None
        self.agents: AgentPool | None = None
        self.probers = Probers(self.topo, folder.path, scenario.time_scale, scenario.seed)
        self.traffic = Traffic(scenario, folder.path)
        self.rounds: ProbeRounds | None = None

    # -- the run --------------------------------------------------------------------------
    def run(self) -> RunResult:
        from sovnet.lab import Lab

        vp = [{"subscriber": v.subscriber, "class": v.cls, "isp": v.isp}
              for v in sorted({v for vs in self.vantages.values() for v in vs},
                              key=lambda v: v.subscriber)]
        self.folder.create(self.sc, {"vantage_points": vp})
        status, code, reason = "incomplete", 3, None
        try:
            with self.ui:
                self.ui.log(f"[bold]{self.sc.title}[/]: starting the lab "
                            f"({self.topo.name}: {self.topo.size()}) -> {self.folder.path}")
                logs = self.folder.path / "logs"
                with Lab(self.topo, logs, store_path=self.folder.path / "store.db",
                         source=str(self.sc.source or self.sc.name),
                         bgp_dir=self.folder.path / "bgp") as lab:
                    self.lab = lab
                    self.folder.manifest["datapath"] = lab.network.datapath
                    self.agents = AgentPool(lab.network, logs)
                    self.rounds = ProbeRounds(self.sc, self.vantages, self.agents, self.folder,
                                              self.counts, self._now, self._revision_at)
                    try:
                        self.probers.start(lab.network)
                        self.agents.start([v["subscriber"] for v in vp] + [self.sc.control])
                        self.rounds.warm_up()
                        self._timeline()
                        self._drain()
                        flowlog_export.settle(lab.store, time.time())  # the last exports
                    finally:
                        self.rounds.stopping = True
                        self.probers.stop()
                        self.traffic.stop()
                        self.agents.stop()
                        self.dumps.shutdown(wait=True)
            status = "complete"
        except KeyboardInterrupt:
            code, reason = 130, "interrupted (Ctrl-C)"
        except SystemExit as e:  # SIGTERM/SIGHUP, mapped to SystemExit by the CLI
            code, reason = (e.code if isinstance(e.code, int) else 143), "terminated by a signal"
        except SovnetError as e:
            code, reason = e.exit_code if e.exit_code not in (0, 1) else 3, str(e)
        finally:
            self.dumps.shutdown(wait=False)
        return self._finish(status, code, reason)

    def _finish(self, status: str, code: int, reason: str | None) -> RunResult:
        for ev in self.unenforced:  # steps whose acks never all came: say so, keep the rest
            ev.pop("deadline", None)
            self.folder.event(ev)
        self.folder.event({"type": "run_end", "t_real": self._now(), "wall": time.time(),
                           "t_scenario": self._now() * self.sc.time_scale, "status": status})
        measurements = list(self.folder.measurements)  # what was written, kept in memory
        steps = [StepEvent.parse(ev, f"step {ev['index']}") for ev in self.step_events]
        effects = stream_effects(steps, measurements, self.t0_wall,
                                 {s.name: self.topo.host(s.name).switch
                                  for s in self.topo.subscribers})
        for x in effects:  # derived from the data, so they can be checked against it
            self.folder.event(x.to_json())
        try:  # like the report: never at the cost of the run's other data or exit status
            signals = write_signals(
                self.topo, self.folder, self.t0_wall, self.sc.time_scale, self.sc.duration,
                [(ev["index"], ev["committed_wall"]) for ev in self.step_events
                 if ev.get("committed_wall")])
        except Exception:  # a bug in the signals: keep its traceback, not the user's screen
            import traceback

            signals = []
            trace = self.folder.path / "logs" / "outside-error.txt"
            trace.write_text(traceback.format_exc())
            self.ui.log(f"[red]the view from abroad could not be written (a bug)[/]; see {trace}")
        results = evaluate(self.topo, self.sc.expectations, measurements, effects, signals)
        self.folder.write_json("expectations.json", [r.to_json() for r in results])
        try:  # like the report: never at the cost of the run's other data or exit status
            flowlog_export.write_jsonl(self.folder.path / "store.db",
                                       self.folder.path / "flows.jsonl", self.t0_wall or None,
                                       self.sc.time_scale, self.switch_names)
        except (SovnetError, OSError) as e:
            self.ui.log(f"[red]flows.jsonl could not be written[/]: {e}")
        try:
            write_revisions(self.folder.path / "store.db", self.folder.path / "revisions.jsonl",
                            self.t0_wall or None, self.sc.time_scale, self.switch_names)
        except (SovnetError, OSError) as e:
            self.ui.log(f"[red]revisions.jsonl could not be written[/]: {e}")
        if status == "complete":
            code = 0 if all(r.passed for r in results) else 1
        self.folder.finish(status, code, reason, counts=self.counts, t0_wall=self.t0_wall)
        if self.report:
            self._report()
        passed = sum(r.passed for r in results)
        self.ui.log(f"{status}: {passed}/{len(results)} expectations hold; "
                    f"{self.counts['measurements']} measurements, "
                    f"{self.counts['probe_errors']} probe errors -> {self.folder.path}"
                    + (f" ({reason})" if reason else ""))
        return RunResult(self.folder.path, status, code, results, dict(self.counts))

    def _report(self) -> None:
        """Build the report; a failure is reported, never allowed to cost the run's data or
        its exit status (`sovnet report DIR` can rebuild it later)."""
        try:
            from sovnet.report import build_report

            paths = build_report(self.folder.path)
            self.ui.log(f"report: {paths['html']}")
        except SovnetError as e:
            self.ui.log(f"[red]the report could not be built[/]: {e}")
        except Exception:  # a bug in the report: keep its traceback, not the user's screen
            import traceback

            trace = self.folder.path / "logs" / "report-error.txt"
            trace.write_text(traceback.format_exc())
            self.ui.log(f"[red]the report could not be built (a bug)[/]; see {trace}")

    # -- clock ------------------------------------------------------------------------------
    def _now(self) -> float:
        return time.monotonic() - self.t0 if self.t0 else 0.0

    def _revision_at(self, t_real: float) -> int:
        """The latest revision committed at `t_real` (the inventory's before any step)."""
        rev = self.base_revision
        for t_commit, r in self.revisions:
            if t_commit <= t_real:
                rev = r
        return rev

    def _timeline(self) -> None:
        author = f"scenario:{self.sc.name}"
        self.store = TimelineStore(self.lab.store, self.topo, author=author)
        pre_dumps = sorted((max(0.0, self.sc.real(a.at) - PRE_DUMP), a.index)
                           for a in self.actions if a.kind == "step" and a.step.changes_store())
        self.t0_wall = time.time()
        # The scenario clock schedules run on (the controller and resolvers read it), part of
        # the starting state rather than a step.
        self.lab.store.put_setting("clock", {"epoch": self.t0_wall, "scale": self.sc.time_scale,
                                             "origin": self.sc.origin},
                                   author=author, reason="scenario clock: t=0")
        self.base_revision = self.lab.store.revision()  # the inventory, before any step
        self.t0 = time.monotonic() - (time.time() - self.t0_wall)
        self.rounds.t0 = self.t0
        self.folder.manifest["t0_wall"] = self.t0_wall
        self.folder.write_manifest()
        self.folder.event({"type": "run_start", "t_real": 0.0, "t_scenario": 0.0,
                           "wall": self.t0_wall})
        self.traffic.start(self.lab.network, self.t0_wall)
        self.pre_dumps = pre_dumps
        for action in self.actions:
            self._wait_until(self.sc.real(action.at))
            if action.kind == "step":
                self._step(action)
            else:
                self.rounds.send(action)
        self._wait_until(self.sc.real(self.sc.duration))

    def _wait_until(self, t_real: float) -> None:
        """Handle agent results, enforcement and flow dumps until the clock reaches t_real."""
        while True:
            now = self._now()
            while self.pre_dumps and self.pre_dumps[0][0] <= now:
                _, index = self.pre_dumps.pop(0)
                self.dumps.submit(self._dump, f"step-{index:02d}-before.txt")
            self._check_enforcement()
            self.ui.update(now * self.sc.time_scale, self.phase, self.counts["measurements"],
                           self.counts["probe_errors"])
            left = t_real - now
            if left <= 0:
                return
            try:
                host, line = self.agents.results.get(timeout=min(left, 0.02))
            except queue.Empty:
                continue
            self.rounds.result(host, line)

    # -- timeline steps ---------------------------------------------------------------------
    def _step(self, action: Action) -> None:
        step = action.step
        if step.phase:
            self.phase = step.phase
        self.ui.log(f"T+{format_duration(step.at)} [bold]{step.phase or self.phase}[/]: "
                    f"{step.label}")
        before, stream_before = self._reach()
        t_step = self._now()
        ev = {"type": "step", "index": action.index, "phase": step.phase or self.phase,
              "label": step.label, "at_s": step.at, "t_real": round(t_step, 4),
              "t_scenario": round(t_step * self.sc.time_scale, 1), "actions": step.describe(),
              "revision": None, "committed_wall": None, "t_commit": None, "acks": {},
              "t_enforced": None, "refused": {}, "effect": []}
        rev = self.store.apply(step)
        if rev is None:
            self.folder.event(ev)
            return
        info = self.lab.store.revision_info(rev)
        t_commit = info.committed_at - self.t0_wall
        self.revisions.append((t_commit, rev))
        self.counts["changes"] += 1
        after, stream_after = self._reach()
        ev.update(revision=rev, committed_wall=info.committed_at, t_commit=round(t_commit, 4),
                  effect=[list(x) for x in effect(before, after)],
                  stream_effect=[list(x) for x in effect(stream_before, stream_after)],
                  deadline=self._now() + ENFORCE_TIMEOUT)
        self.unenforced.append(ev)
        self.step_events.append(ev)

    def _reach(self) -> tuple[dict[tuple[str, str], bool], dict[tuple[str, str], bool]]:
        """What the store says the web pairs and the stream pairs can reach now, read from
        one snapshot."""
        snap = self.lab.store.snapshot()
        now = in_force(snap.policies, snap.clock, time.time())
        subs = sorted({v for v, _ in self.web_pairs})
        svcs = sorted({s for _, s in self.web_pairs})
        reach = reachability(self.topo, now, snap.subscribers, subs, svcs)
        streams = (ping_reachability(self.topo, now, snap.subscribers, self.stream_pairs)
                   if self.stream_pairs else {})
        return {pair: reach[pair] for pair in self.web_pairs}, streams

    def _check_enforcement(self) -> None:
        for ev in list(self.unenforced):
            acks, refused = {}, {}
            for a in self.lab.store.acks():
                name = self.switch_names.get(a.dpid)
                if a.revision < ev["revision"] or name is None:
                    continue
                if a.refused:
                    refused.setdefault(name, a.refused)
                elif name not in acks or a.acked_at - self.t0_wall < acks[name]:
                    acks[name] = round(a.acked_at - self.t0_wall, 4)
            done = set(acks) >= set(self.switch_names.values())
            if not done and self._now() < ev["deadline"]:
                continue
            ev.pop("deadline")
            ev.update(acks=acks, refused=refused,
                      t_enforced=max(acks.values()) if done else None)
            self.unenforced.remove(ev)
            self.folder.event(ev)
            self.dumps.submit(self._dump, f"step-{ev['index']:02d}-after.txt")

    def _dump(self, name: str) -> None:
        from sovnet.emulation.ovs import dump_flows

        parts = []
        for sw in self.topo.switches:
            parts.append(f"## {sw.name} (dpid {sw.dpid:#x})\n{dump_flows(sw.name)}")
        (self.folder.path / "flows" / name).write_text("\n".join(parts))

    def _drain(self) -> None:
        """Wait for results still in flight after the last round, then account for the rest."""
        deadline = self._now() + DRAIN_TIMEOUT
        while self.rounds.busy and self._now() < deadline:
            try:
                host, line = self.agents.results.get(timeout=0.05)
            except queue.Empty:
                self._check_enforcement()
                continue
            self.rounds.result(host, line)
        self.rounds.give_up(DRAIN_TIMEOUT)
        while self.unenforced and self._now() < max(ev["deadline"] for ev in self.unenforced):
            self._check_enforcement()
            time.sleep(0.01)
        self._check_enforcement()
