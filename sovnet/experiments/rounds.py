"""Probe rounds of a run: commands out to the agents, result lines back to measurement records.

A web round goes to every vantage point and, with the true addresses, to the control host; a
vantage point's line waits for the control line of the same round and service, then both are
classified into one record. Every target sent is accounted for: a result, or a probe error
saying why none came (the agent died, or nothing arrived in time).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass

from sovnet.experiments.agent_pool import AgentPool
from sovnet.experiments.plan import Action
from sovnet.experiments.records import ASN_BASE, Context, record
from sovnet.experiments.rundir import RunFolder
from sovnet.model.scenario import Probe, Scenario, Vantage
from sovnet.model.topology import resolver_ip

TIMEOUTS = {"dns": 1.0, "connect": 1.5, "tls": 2.0, "http": 3.0}
THROUGHPUT_TIMEOUT = 15.0
H3_TIMEOUTS = {"dns": 1.0, "handshake": 2.0, "http": 3.0}


@dataclass
class _Pending:
    kind: str
    round: int
    vantage: Vantage
    service: str
    input: str


class ProbeRounds:
    def __init__(self, scenario: Scenario, vantages: dict[int, list[Vantage]],
                 agents: AgentPool, folder: RunFolder, counts: dict,
                 now: Callable[[], float], revision_at: Callable[[float], int]):
        self.sc = scenario
        self.topo = scenario.topology
        self.vantages = vantages
        self.agents = agents
        self.folder = folder
        self.counts = counts
        self.now = now  # real seconds since the run's T0
        self.t0 = 0.0  # the monotonic time of T0, set when the clock starts
        self.revision_at = revision_at
        self.isp_index = {isp.name: n for n, isp in enumerate(self.topo.isps)}
        self.pending: dict[tuple[str, str, str], _Pending] = {}
        self.controls: dict[tuple[str, str], dict | None] = {}
        self.awaiting_control: dict[tuple[str, str], list[tuple[_Pending, dict]]] = {}
        self.stopping = False

    @property
    def busy(self) -> bool:
        return bool(self.pending or self.awaiting_control)

    def send(self, action: Action) -> None:
        probe, i = action.probe, action.index
        cmd_id = f"{probe.kind}-{i}-{action.round}"
        self.counts["rounds"] += 1
        self.folder.event({"type": "probe_round", "kind": probe.kind, "probe": i,
                           "round": action.round, "t_real": round(self.now(), 4),
                           "t_scenario": round(self.now() * self.sc.time_scale, 1),
                           "vantage_points": len(self.vantages[i])})
        command = self._command(probe, cmd_id)
        targets = command["targets"]
        if probe.kind == "web":
            control = dict(command, control=True, targets=[
                dict(t, addrs=self._true_addresses(t["service"], t.get("families", ("ipv4",))))
                for t in targets])
            if not self.agents.send(self.sc.control, control):
                for t in targets:
                    self.controls[(cmd_id, t["service"])] = None
        for v in self.vantages[i]:
            for t in targets:
                self.pending[(cmd_id, v.subscriber, t["service"])] = _Pending(
                    probe.kind, action.round, v, t["service"], t.get("url") or t["ip"])
            if not self.agents.send(v.subscriber, command):
                self.lost(v.subscriber, "the probe agent is not running")

    def _command(self, probe: Probe, cmd_id: str) -> dict:
        """The agent command of one round of `probe`, to every service it measures."""
        command = {"id": cmd_id, "kind": probe.kind,
                   "targets": [self._target(probe, s) for s in probe.to.select(self.topo)]}
        if probe.kind == "web":
            command.update(timeouts=TIMEOUTS, page=True)
        elif probe.kind == "throughput":
            command.update(timeout=THROUGHPUT_TIMEOUT, direction=probe.direction)
        elif probe.kind == "http3":
            command["timeouts"] = H3_TIMEOUTS
        elif probe.kind == "stream":  # the window is emulated time; the agent sends in real time
            window = probe.window or probe.every
            command.update(rate=probe.rate, window=round(self.sc.real(window), 3))
        else:
            command.update(count=probe.count, timeout=1)
        return command

    def _true_addresses(self, service: str, families) -> list[str]:
        h = self.topo.host(service)
        return [a for a, fam in ((h.ip, "ipv4"), (h.ip6, "ipv6")) if a and fam in families]

    def _families(self, probe: Probe) -> list[str]:
        """The address families a probe looks up: both in a dual-stack lab, as OONI's probe
        asks for A and AAAA, unless the probe names one."""
        if probe.family in ("ipv4", "ipv6"):
            return [probe.family]
        return ["ipv4", "ipv6"] if self.topo.ipv6 else ["ipv4"]

    def _target(self, probe: Probe, service: str) -> dict:
        target = self._url_target(probe, service)
        if "url" in target and self.topo.ipv6:
            target["families"] = self._families(probe)
        return target

    def _url_target(self, probe: Probe, service: str) -> dict:
        svc = self.topo.service(service)
        if probe.kind == "web":
            target = {"service": service, "url": f"{probe.scheme}://{svc.domains[0]}/"}
            if probe.split_hello:
                target["split_hello"] = True
            if probe.sni:
                target["sni"] = probe.sni
            return target
        if probe.kind == "throughput":
            return {"service": service,
                    "url": f"{probe.scheme}://{svc.domains[0]}/bytes?n={probe.bytes}"}
        if probe.kind == "http3":
            return {"service": service, "url": f"https://{svc.domains[0]}/"}
        return {"service": service, "ip": self.topo.host(service).ip}

    def result(self, host: str, line: dict) -> None:
        if "agent_exit" in line:
            if not self.stopping:
                self.lost(host, f"the probe agent in {host} exited with status "
                                 f"{line['agent_exit']}", line.get("raw", ""))
            return
        cmd_id, svc = line.get("id"), line.get("service")
        if str(cmd_id).startswith("warmup-"):  # late from the warm-up round: not data
            return
        if host == self.sc.control:
            self.controls[(cmd_id, svc)] = None if line.get("error") else line.get("control")
            for pend, obs in self.awaiting_control.pop((cmd_id, svc), []):
                self._write(pend, obs, self.controls[(cmd_id, svc)])
            return
        pend = self.pending.pop((cmd_id, host, svc), None)
        if pend is None:  # a line we cannot attribute: keep it in the log of events
            self.counts["probe_errors"] += 1
            self.folder.event({"type": "agent_error", "host": host, "t_real": self.now(),
                               "line": line})
            return
        if pend.kind == "web" and not line.get("error") and (cmd_id, svc) not in self.controls:
            self.awaiting_control.setdefault((cmd_id, svc), []).append((pend, line))
            return
        self._write(pend, line, self.controls.get((cmd_id, svc)))

    def _write(self, pend: _Pending, line: dict, control: dict | None) -> None:
        t_real = line.get("t0_mono", self.t0 + self.now()) - self.t0
        v = pend.vantage
        svc = self.topo.service(pend.service)
        ctx = Context(
            scenario=self.sc.name, round=pend.round, subscriber=v.subscriber, cls=v.cls,
            isp=v.isp, isp_kind=self.topo.isp(v.isp).kind, asn=ASN_BASE + self.isp_index[v.isp],
            probe_ip=self.topo.host(v.subscriber).ip,
            resolver_ip=resolver_ip(self.topo, v.subscriber) or "", service=svc.name,
            category=svc.category, locus=svc.locus, input=pend.input, t_real=t_real,
            t_scenario=t_real * self.sc.time_scale,
            t_scenario_end=(t_real + (line.get("runtime") or 0.0)) * self.sc.time_scale,
            store_revision=self.revision_at(t_real),
            phase=self.sc.phase_at(t_real * self.sc.time_scale),
            calendar_t0=self.sc.calendar_t0, probe_cc=self.sc.probe_cc,
            run_id=self.folder.path.name, control=self.sc.control or "")
        rec = record(ctx, pend.kind, line, control)
        self.folder.measurement(rec)
        self.counts["measurements"] += 1
        if rec.probe_error:
            self.counts["probe_errors"] += 1

    def lost(self, host: str, why: str, raw: str = "") -> None:
        """Every result still due from `host` becomes a probe error carrying the agent's log."""
        agent = self.agents.agents.get(host)
        raw = raw or (agent.tail() if agent else "")
        for key in [k for k in self.pending if k[1] == host]:
            self._write(self.pending.pop(key), {"error": why, "raw": raw}, None)

    def warm_up(self, timeout: float = 30.0) -> int:
        """One unrecorded web round before T0, so that the first recorded one does not pay for
        cold ARP caches, resolvers and agents (it took seconds, not milliseconds, here).
        Returns how many lines came back."""
        expected = 0
        for i, probe in enumerate(self.sc.probes):
            if probe.kind != "web":
                continue
            cmd = self._command(probe, f"warmup-{i}")
            for v in self.vantages[i]:
                if self.agents.send(v.subscriber, cmd):
                    expected += len(cmd["targets"])
        got, deadline = 0, time.monotonic() + timeout
        while got < expected and time.monotonic() < deadline:
            try:
                _, line = self.agents.results.get(timeout=0.1)
            except queue.Empty:
                continue
            got += str(line.get("id", "")).startswith("warmup-")
        return got

    def give_up(self, waited: float) -> None:
        """After the last wait: web lines without a control are classified without one
        (undetermined), and targets with no line at all become probe errors."""
        for key, waiting in list(self.awaiting_control.items()):
            for pend, obs in waiting:
                self._write(pend, obs, None)
            del self.awaiting_control[key]
        for host in sorted({k[1] for k in self.pending}):
            self.lost(host, f"no result from the probe agent within {waited:g} s after the "
                            "last round")
