"""A run's view from abroad: the outside probers it starts in their hosts, and, once the run is
over, the signals IODA and observers abroad would have seen, written into the run folder.

  outside/PROBER.jsonl   the prober's rounds (sovnet.probes.trinocular)
  ioda.json              BGP visibility and active probing, in IODA's API shape
  dns.json               queries each resolver received
  events.jsonl           a route_effect event per step that changed the routes seen abroad
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from sovnet.compile import border
from sovnet.model.flows import cookie_kind, cookie_policy, is_ours
from sovnet.poll import wait_for

PROBER_ROUND_S = 600.0  # emulated seconds between an outside prober's rounds (IODA's 10 min)
PROBER_MIN_S = 2.0  # real seconds: a round that finds blocks down takes about that long
DNS_STEP_REAL_S = 3.0  # the DNS series' step, at least, in real seconds


class Probers:
    """Each outside prober, Trinocular-like, in its host abroad: a round every 10 emulated
    minutes (IODA's), but not more often than every PROBER_MIN_S of real time."""

    def __init__(self, topology, folder: Path, time_scale: float, seed: int):
        self.topology, self.folder = topology, Path(folder) / "outside"
        self.interval = max(PROBER_MIN_S, PROBER_ROUND_S / time_scale)
        self.seed = seed
        self.running: list[tuple[subprocess.Popen, object]] = []
        self.network = None

    def start(self, network) -> None:
        if not self.topology.probers:
            return
        from sovnet.results.outside import targets

        self.network = network
        self.folder.mkdir(exist_ok=True)
        plan = self.folder / "targets.json"
        plan.write_text(json.dumps(targets(self.topology), indent=1))
        for name in self.topology.probers:
            ready = self.folder / f"{name}.ready"
            ready.unlink(missing_ok=True)
            log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop)
            proc = network.host(name).popen(
                [sys.executable, "-m", "sovnet.probes.trinocular", "--targets", str(plan),
                 "--interval", f"{self.interval:.3f}", "--out",
                 str(self.folder / f"{name}.jsonl"), "--ready", str(ready),
                 "--seed", str(self.seed)], stdout=log, stderr=subprocess.STDOUT)
            network.track_process(proc.pid, f"outside prober {name}")
            self.running.append((proc, log))
            wait_for(lambda r=ready, p=proc: r.exists() or p.poll() is not None, 30,
                     f"prober {name} to start")

    def stop(self) -> None:
        stop_all(self.running, self.network)
        self.running = []


def stop_all(procs: list[tuple[subprocess.Popen, object]], network) -> None:
    """Stop and reap processes started in hosts, close their logs, and strike them off the
    network's run state."""
    for proc, log in procs:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()  # type: ignore[attr-defined]
        if network is not None:
            network.untrack_process(proc.pid)


def write_signals(topology, folder, t0: float, scale: float, duration: float,
                  commits: list[tuple[int, float]]) -> list[dict]:
    """Write ioda.json, dns.json and the route_effect events (folder: a RunFolder); return
    every series, for the expectations. t0: the run's T0 (Unix time); commits: (step index,
    commit wall time) of the steps that changed the store."""
    if not t0:
        return []
    from sovnet.results import bgp, outside

    path = folder.path
    step = max(1, min(bgp.IODA_BGP_STEP, int(duration // 60)))

    def to_wall(x: float) -> float:
        return t0 + (x - t0) / scale

    updates = bgp.read_feeds(path / "bgp", [c.name for c in topology.collectors])
    signals = bgp.bgp_signals(topology, updates, t0, t0 + duration, step,
                              to_wall) if topology.collectors else []
    for name in topology.probers[:1]:  # IODA's signal is one prober's view
        rounds = outside.read_rounds(path / "outside" / f"{name}.jsonl")
        signals += outside.ping_signals(topology, rounds, t0, t0 + duration, step, to_wall)
    names = [r.name for r in topology.resolvers]
    counts = {n: outside.read_counts(path / "dns" / f"{n}.counts.jsonl") for n in names}
    # Counts are per real second: a step shorter than a few of them aliases into spikes.
    dns_step = step * max(1, math.ceil(DNS_STEP_REAL_S * scale / step))
    dns = outside.dns_signals(names, counts, t0, t0 + duration, dns_step, to_wall)
    samples = outside.read_traffic(path / "outside" / "traffic.jsonl")
    if samples:
        signals += outside.traffic_signals(topology, samples, t0, t0 + duration, dns_step,
                                           to_wall)
    folder.write_json("dns.json", {"type": "signals", "error": None, "data": [[s] for s in dns]})
    folder.write_json("ioda.json", {"type": "signals", "error": None,
                                    "data": [[s] for s in signals]})
    for x in bgp.route_effects(topology, updates, commits, time.time()):
        folder.event(x)
    return signals + dns


class Traffic:
    """Background demand in chosen subscriber hosts (sovnet.probes.demand), and the border
    gateways' byte counters per ISP sampled every second of real time into
    outside/traffic.jsonl: {"t": Unix time, "bytes": {"ISP/in": n, "ISP/out": n}}, cumulative.
    """

    SAMPLE_S = 1.0

    def __init__(self, scenario, folder: Path):
        self.sc, self.topology = scenario, scenario.topology
        self.folder = Path(folder) / "outside"
        self.procs: list[tuple[subprocess.Popen, object]] = []
        self.network = None
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def wanted(self) -> bool:
        return self.sc.demand is not None or any(e.metric == "traffic"
                                                 for e in self.sc.expectations)

    def start(self, network, t0: float) -> None:
        if not self.wanted:
            return
        self.network = network
        self.folder.mkdir(exist_ok=True)
        d = self.sc.demand
        for sub in (demanders(self.topology, d) if d else []):
            svc = self.topology.service(d.service)
            node = network.host(sub)
            ready = self.folder / f"demand-{sub}.ready"
            ready.unlink(missing_ok=True)
            log = open(self.folder / f"demand-{sub}.log", "ab")  # noqa: SIM115 (closed in stop)
            kbps = dict(d.kbps)[self.topology.subscriber(sub).cls]
            source = getattr(node, "source", None)
            proc = node.popen(
                [sys.executable, "-m", "sovnet.probes.demand",
                 "--url", f"http://{self.topology.host(d.service).ip}/bytes",
                 "--host", svc.domains[0], "--kbps", str(kbps),
                 "--curve", ",".join(map(str, d.curve)), "--epoch", repr(t0),
                 "--scale", repr(self.sc.time_scale), "--origin", repr(self.sc.origin),
                 "--ready", str(ready), *(["--source", source] if source else [])],
                stdout=log, stderr=subprocess.STDOUT)
            network.track_process(proc.pid, f"background demand of {sub}")
            self.procs.append((proc, log))
            wait_for(lambda r=ready, p=proc: r.exists() or p.poll() is not None, 30,
                     f"the demand of {sub} to start")
        self.thread = threading.Thread(target=self._sample, daemon=True, name="traffic")
        self.thread.start()

    def _sample(self) -> None:
        borders = [s.name for s in self.topology.switches if s.role == "border"]
        names = {border.account_id(k, d): f"{isp.name}/{d}"
                 for k, isp in enumerate(self.topology.isps) for d in border.ACCOUNT_DIRECTIONS}
        with open(self.folder / "traffic.jsonl", "a") as out:
            while not self.stopping.wait(self.SAMPLE_S):
                t = time.time()
                totals = dict.fromkeys(names.values(), 0)
                for bridge in borders:
                    for pid, n in account_bytes(bridge).items():
                        if pid in names:
                            totals[names[pid]] += n
                out.write(json.dumps({"t": round(t, 3), "bytes": totals}) + "\n")
                out.flush()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        stop_all(self.procs, self.network)
        self.procs = []


def demanders(topology, demand) -> list[str]:
    """One registered subscriber (the first by name) of each ISP and demanding class."""
    classes = {c for c, _ in demand.kbps}
    chosen: dict[tuple[str, str], str] = {}
    for s in sorted(topology.subscribers, key=lambda s: s.name):
        if s.registered and s.cls in classes:
            chosen.setdefault((s.isp, s.cls), s.name)
    return sorted(chosen.values())


_ACCOUNT_LINE = re.compile(r"cookie=0x([0-9a-f]+).*?n_bytes=(\d+)")


def account_bytes(bridge: str) -> dict[int, int]:
    """{account id: bytes} of a border bridge's accounting flows (compile.border)."""
    done = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge, "table=0"],
                          capture_output=True, text=True)
    out: dict[int, int] = {}
    for line in done.stdout.splitlines():
        m = _ACCOUNT_LINE.search(line)
        if m is None:
            continue
        cookie = int(m.group(1), 16)
        if is_ours(cookie) and cookie_kind(cookie) == "account":
            pid = cookie_policy(cookie)
            out[pid] = out.get(pid, 0) + int(m.group(2))
    return out
