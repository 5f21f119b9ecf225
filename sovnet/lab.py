"""A running lab: policy store, controller process, flow-log collector and emulated network,
torn down together.

    with Lab(topology, workdir) as lab:
        rev = lab.store.add_policy(PolicyRequest.of("deny", "all", "international")).id
        lab.wait_enforced(lab.store.revision())

Used by the interactive CLI, the tests and the benchmarks; the experiment runner builds on it.
Teardown runs on success, on error and on Ctrl-C, and removes exactly what this lab started.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sovnet.errors import SovnetError
from sovnet.model.topology import Topology
from sovnet.poll import wait_for
from sovnet.store import open_store

log = logging.getLogger("sovnet.lab")


class LabError(SovnetError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SWITCHES_PER_CONTROLLER = 32  # below this a second process costs more than it saves


def default_controllers(topology: Topology) -> int:
    """One controller process per core, for networks big enough to share out."""
    return max(1, min(os.cpu_count() or 1, len(topology.switches) // SWITCHES_PER_CONTROLLER))


class Lab:
    def __init__(self, topology: Topology, workdir: str | os.PathLike | None = None,
                 store_path: str | os.PathLike | None = None, port: int | None = None,
                 servers: bool = True, reconcile_interval: float = 30.0, source: str = "",
                 flowlog: bool = True, controllers: int | None = None,
                 bgp_dir: str | os.PathLike | None = None):
        """controllers: how many controller processes, each owning a share of the switches
        (sovnet.compile.shards); None: default_controllers(). bgp_dir: the BGP daemons' files
        and the collectors' dumps (sovnet.emulation.bgp); None: bgp/ in workdir."""
        self.topology = topology
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="sovnet-lab-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.store_path = Path(store_path or self.workdir / "store.db")
        self.servers = servers
        self.reconcile_interval = reconcile_interval
        self.source = source or topology.name
        self.store = None
        n = default_controllers(topology) if controllers is None else controllers
        if n < 1:
            raise LabError(f"controllers: {n} (expected at least 1)")
        self.ports = [port or free_port(), *(free_port() for _ in range(n - 1))]
        self.processes: list[subprocess.Popen | None] = [None] * n
        self.spawned = [False] * n  # whether process k ran before: a start is then a restart
        self.network = None
        self.flowlog = flowlog  # run the flow-log collector (sovnet.flowlog)
        self.collector = None
        self.bgp_dir = Path(bgp_dir) if bgp_dir else self.workdir / "bgp"

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        from sovnet.emulation import Network, ensure_ovs_running

        ensure_ovs_running()
        self.store = open_store(str(self.store_path))
        self.store.load_inventory(self.topology, author="sovnet",
                                  reason=f"inventory from {self.source}")
        # The network first, so that its run-state file exists to record the controller in: a
        # killed run's controller is then found and stopped by `sovnet clean`.
        self.network = Network(self.topology, controller_port=self.port, servers=self.servers,
                               store_path=str(self.store_path), controller_ports=self.ports,
                               bgp_dir=self.bgp_dir)
        self.network.start()
        self.start_collector()  # before the controller: no traffic passes until it runs
        self.start_controller()
        self.network.wait_connected(timeout=60)
        self.wait_enforced(self.store.revision(), timeout=60)
        if self.topology.routers:
            self.wait_routes(timeout=60)

    @property
    def port(self) -> int:
        """The first controller's port (a restart moves it)."""
        return self.ports[0]

    # The first controller process, as a lab with one has it (tests stop and restart it).
    @property
    def controller(self) -> subprocess.Popen | None:
        return self.processes[0]

    @controller.setter
    def controller(self, proc: subprocess.Popen | None) -> None:
        self.processes[0] = proc

    def start_controller(self) -> None:
        """Start every controller process that is not running, then wait for each to listen."""
        n = len(self.processes)
        started = [k for k in range(n)
                   if self.processes[k] is None or self.processes[k].poll() is not None]
        # A restart listens on a new port and the lab moves its switches there: OVS reaches a
        # new address at once but retries an old one only after a back-off of up to 8 s.
        restarted = [k for k in started if self.spawned[k] and self.network is not None]
        for k in restarted:
            self.ports[k] = free_port()
        for k in started:
            self._spawn(k, n)
        for k in range(n):
            self._wait_listening(k)
        for k in restarted:
            self.network.redial(k, self.ports[k])

    def _files(self, k: int) -> tuple[Path, Path]:
        stem = "controller" if k == 0 else f"controller-{k}"
        return self.workdir / f"{stem}.log", self.workdir / f"{stem}.stderr"

    def _spawn(self, k: int, n: int) -> None:
        log_file, err_file = self._files(k)
        cmd = [sys.executable, "-m", "sovnet", "controller", "--store", str(self.store_path),
               "--port", str(self.ports[k]), "--log-file", str(log_file),
               "--reconcile-interval", str(self.reconcile_interval)]
        if n > 1:
            cmd += ["--shard", f"{k}/{n}"]
        if self.topology.routers:
            cmd += ["--bgp-dir", str(self.bgp_dir.resolve())]
        # stderr to a file, not a pipe: nobody reads a pipe while the lab runs, and a full one
        # would block the controller.
        with open(err_file, "wb") as err:
            self.processes[k] = subprocess.Popen(cmd, start_new_session=True,
                                                 stdout=subprocess.DEVNULL, stderr=err)
        self.spawned[k] = True
        if self.network is not None:
            what = "controller" if n == 1 else f"controller {k}/{n}"
            self.network.track_process(self.processes[k].pid, what)

    def _wait_listening(self, k: int) -> None:
        proc, port = self.processes[k], self.ports[k]
        log_file, err_file = self._files(k)

        def listening():
            if proc.poll() is not None:
                err = err_file.read_text(errors="replace")[-2000:]
                tail = log_file.read_text()[-2000:] if log_file.exists() else ""
                raise LabError(f"the controller exited with status {proc.returncode}"
                               f":\n{err}{tail}")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, 30, f"the controller to listen on port {port}", 0.005,
                 error=LabError)

    def stop(self) -> None:
        try:
            self.stop_controller()
        finally:
            try:
                self.stop_collector()
            finally:
                self.stop_network()

    def stop_network(self) -> None:
        if self.network is not None:
            try:
                self.network.stop()
            finally:
                self.network = None

    def start_collector(self) -> None:
        """The flow-log collector, and the subscribers' switches exporting to it."""
        if not self.flowlog:
            return
        from sovnet.flowlog.process import CollectorProcess

        self.collector = CollectorProcess(self.store_path, self.workdir)
        port = self.collector.start(
            on_spawn=lambda pid: self.network.track_process(pid, "flow-log collector"))
        self.network.export_flows(port)

    def stop_collector(self) -> None:
        """Stop it after the controller, before the network: it writes what it has received."""
        collector, self.collector = self.collector, None
        if collector is None:
            return
        pid = collector.pid
        try:
            collector.stop()
        finally:
            if self.network is not None and pid is not None:
                self.network.untrack_process(pid)

    def stop_controller(self) -> None:
        procs, self.processes = self.processes, [None] * len(self.processes)
        for ctl in procs:
            if ctl is not None and ctl.poll() is None:
                ctl.send_signal(signal.SIGTERM)
        for ctl in procs:
            if ctl is None:
                continue
            try:
                ctl.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.warning("controller did not stop on SIGTERM; killing it")
                os.killpg(ctl.pid, signal.SIGKILL)
                ctl.wait(timeout=5)
            finally:
                if self.network is not None:
                    self.network.untrack_process(ctl.pid)

    # -- enforcement ------------------------------------------------------------------------
    def dpids(self) -> list[int]:
        return [s.dpid for s in self.topology.switches]

    def wait_enforced(self, revision: int, timeout: float = 10.0) -> dict[int, float]:
        """Block until every switch acknowledged `revision`; {dpid: ack time}."""
        want = set(self.dpids())

        def acked():
            acks = self.store.acks(revision)
            got = {a.dpid: a.acked_at for a in acks if not a.refused}
            return got if want <= got.keys() else None

        try:
            return wait_for(acked, timeout, f"every switch to acknowledge revision {revision}",
                            0.005, error=LabError)
        except LabError as e:
            refused = sorted({f"dpid {a.dpid:#x}: failed: {a.refused}"
                              for a in self.store.acks(revision) if a.refused})
            if refused:
                raise LabError(f"{e}; refused by {'; '.join(refused)}") from None
            raise

    # -- routes -------------------------------------------------------------------------------
    def rib(self, speaker: str, family: str = "ipv4") -> set[str]:
        """The prefixes a router or collector holds a route for now (its RIB)."""
        from sovnet.controller.routes import gobgp

        text = gobgp(self.bgp_dir, speaker, "global", "rib", "-a", family, "-j").strip()
        return set(json.loads(text)) if text else set()

    def adj_in(self, speaker: str, peer: str, family: str = "ipv4") -> set[str]:
        """The prefixes router or collector `speaker` holds from its peer at address `peer`."""
        from sovnet.controller.routes import SpeakerError, gobgp

        try:
            text = gobgp(self.bgp_dir, speaker, "neighbor", peer, "adj-in", "-a", family,
                         "-j").strip()
        except SpeakerError:
            return set()  # no such session yet
        return set(json.loads(text)) if text and text.startswith("{") else set()

    def wait_routes(self, timeout: float = 30.0) -> set[str]:
        """Block until every transit router holds a route for exactly what the border routers
        announce under the policies in force, and every collector has it from every transit
        router (each is a full-feed peer); those prefixes (IPv4)."""
        from sovnet.compile.routes import announcements
        from sovnet.model.schedule import in_force

        snap = self.store.snapshot()
        policies = in_force(snap.policies, snap.clock, time.time())
        want = {p for ps in announcements(self.topology, policies).values() for p in ps}
        transit = self.topology.transit_routers
        feeds = [(c.name, self.topology.host(r.name).ip)
                 for c in self.topology.collectors for r in transit]

        def converged():
            return (all(self.rib(r.name) == want for r in transit)
                    and all(self.adj_in(c, peer) == want for c, peer in feeds))

        wait_for(converged, timeout, f"the routes abroad to be {sorted(want) or 'none'}", 0.05,
                 error=LabError)
        return want

    def host(self, name: str):
        return self.network.host(name)
