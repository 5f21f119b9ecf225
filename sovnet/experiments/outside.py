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
import subprocess
import sys
import time
from pathlib import Path

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
        for proc, log in self.running:
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
            if self.network is not None:
                self.network.untrack_process(proc.pid)
        self.running = []


def write_signals(topology, folder, t0: float, scale: float, duration: float,
                  commits: list[tuple[int, float]]) -> list[dict]:
    """Write ioda.json, dns.json and the route_effect events (folder: a RunFolder); return
    every series, for the expectations. t0: the run's T0 (Unix time); commits: (step index,
    commit wall time) of the steps that changed the store."""
    if not (topology.collectors or topology.probers or topology.public_resolvers) or not t0:
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
    folder.write_json("dns.json", {"type": "signals", "error": None, "data": [[s] for s in dns]})
    folder.write_json("ioda.json", {"type": "signals", "error": None,
                                    "data": [[s] for s in signals]})
    for x in bgp.route_effects(topology, updates, commits, time.time()):
        folder.event(x)
    return signals + dns
