"""Faucet beside sovnet, in one run: the bench's change (a deny of one foreign service for every
subscriber, then its revocation) made as an ACL change in Faucet, on the same bridges, and timed
the same way, from the change to its first effect in a subscriber's echo stream.

Faucet is installed from PyPI into its own venv (.venv-faucet beside .venv) the first time. Its
release pins a Git URL for a stub of ncclient, which only PyPI is reachable here for: the real
ncclient stands in (Faucet imports it only for switches configured over NETCONF).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import yaml

from sovnet.bench import bench_service, dataplane_effect, stream_subscriber
from sovnet.emulation import ovs
from sovnet.errors import SovnetError
from sovnet.faucet.config import faucet_config
from sovnet.lab import Lab, free_port
from sovnet.poll import eventually

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-faucet"
FAUCET = "faucet==1.10.12"
DEPENDENCIES = ("os_ken==3.1.0", "chewie==0.0.25", "networkx==3.4.2", "pbr==6.1.1",
                "prometheus_client==0.24.1", "ruamel.yaml==0.18.16", "beka==0.4.2",
                "pytricia==1.3.0", "ncclient==0.6.19")
# Faucet learns the network anew after each reload; a change waits this long before the next.
PACE_S = 2.0
FAUCET_COOKIE = 0x5ADC15C0  # Faucet's default cookie (faucet.dp)
FORWARD_TIMEOUT_S = 180.0


def ensure_faucet() -> Path:
    """The faucet program, installed into its own venv when it is not there yet."""
    program = VENV / "bin" / "faucet"
    if program.exists():
        return program
    steps = [["/usr/bin/python3", "-m", "venv", str(VENV)],
             [str(VENV / "bin" / "pip"), "install", "-q", "--no-deps", FAUCET],
             [str(VENV / "bin" / "pip"), "install", "-q", *DEPENDENCIES]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise SovnetError(f"installing Faucet: {' '.join(step)}: {done.stderr.strip()[-800:]}")
    return program


class NotForwarding(SovnetError):
    """Faucet took the bridges but did not bring its stack up in time."""


class FaucetRun:
    """Faucet in a lab's folder, its config rewritten and reloaded (SIGHUP) on demand."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.folder = lab.workdir / "faucet"
        self.folder.mkdir(exist_ok=True)
        self.config = self.folder / "faucet.yaml"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def write(self, denied: list[str]) -> None:
        text = yaml.safe_dump(faucet_config(self.lab.topology, denied), sort_keys=False)
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.config)  # Faucet never reads half a file

    def start(self) -> None:
        self.write([])
        env = dict(os.environ, PATH=f"{VENV / 'bin'}:{os.environ.get('PATH', '')}",
                   FAUCET_CONFIG=str(self.config),
                   FAUCET_LOG=str(self.folder / "faucet.log"),
                   FAUCET_EXCEPTION_LOG=str(self.folder / "faucet_exception.log"),
                   FAUCET_CONFIG_STAT_RELOAD="0", FAUCET_PROMETHEUS_ADDR="127.0.0.1",
                   FAUCET_PROMETHEUS_PORT=str(free_port()))
        with open(self.folder / "faucet.stderr", "ab") as err:
            self.proc = subprocess.Popen(
                [str(ensure_faucet()), "--ryu-ofp-tcp-listen-port", str(self.port)],
                env=env, stdout=err, stderr=err, start_new_session=True)
        self.lab.network.track_process(self.proc.pid, "Faucet (bench)")

    def take_over(self) -> None:
        """Every bridge speaks to Faucet instead (one ovs-vsctl transaction)."""
        args: list[str] = []
        for s in self.lab.topology.switches:
            args += ["--", "set-controller", s.name, f"tcp:127.0.0.1:{self.port}"]
        ovs.vsctl(*args[1:], timeout=60)

    def programmed(self, waiting: set[str]) -> None:
        """Assert that every bridge in `waiting` holds Faucet's flows (and drop it from the set):
        until then a bridge still forwards with sovnet's."""
        if self.proc.poll() is not None:
            raise SovnetError(f"Faucet exited with status {self.proc.returncode}; see "
                              f"{self.folder}/faucet.stderr")
        for name in sorted(waiting):
            if f"cookie={FAUCET_COOKIE:#x}" in ovs.dump_flows(name):
                waiting.discard(name)
        assert not waiting, f"{len(waiting)} bridges still hold no Faucet flows"

    def stack_ports_up(self) -> int:
        """Stack ports Faucet has logged as up (each comes up once its LLDP beacons are heard)."""
        try:
            log = (self.folder / "faucet.log").read_text(errors="replace")
        except OSError:
            return 0
        return log.count("state UP (previous state")

    def reload(self, denied: list[str]) -> float:
        self.write(denied)
        t = time.time()
        os.kill(self.proc.pid, signal.SIGHUP)
        return t

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.lab.network.untrack_process(self.proc.pid)


def faucet_effect(lab: Lab, changes: int) -> tuple[list[float], list[float], float]:
    """-> (change -> last reply, change -> first reply, seconds until Faucet forwarded)."""
    faucet = FaucetRun(lab)
    svc_ip = lab.topology.host(bench_service(lab)).ip
    sub = lab.host(stream_subscriber(lab))
    bind = f"-I {sub.source} " if getattr(sub, "source", None) else ""

    def forwarding():
        out = sub.cmd(f"ping -n -c1 -W1 {bind}{svc_ip} >/dev/null 2>&1 && echo ok")
        assert out.strip() == "ok", "Faucet does not forward to the service yet"

    def make_changes(n: int, pace: float):
        for i in range(n):
            cut = i % 2 == 0
            yield faucet.reload([svc_ip] if cut else []), cut
            time.sleep(pace)

    try:
        faucet.start()
        t0 = time.monotonic()
        faucet.take_over()
        waiting = {s.name for s in lab.topology.switches}
        eventually(lambda: faucet.programmed(waiting), timeout=180, interval=0.5)
        try:
            eventually(forwarding, timeout=FORWARD_TIMEOUT_S, interval=0.5)
        except AssertionError:
            raise NotForwarding(
                f"Faucet did not forward within {FORWARD_TIMEOUT_S:g} s of programming every "
                f"bridge: {faucet.stack_ports_up()} of {2 * len(lab.topology.switch_links())} "
                f"stack ports were up (its log: {faucet.folder}/faucet.log)") from None
        ready = time.monotonic() - t0
        if faucet.proc.poll() is not None:
            raise SovnetError(f"Faucet exited; see {faucet.folder}")
        cuts, opens, _ = dataplane_effect(lab, changes, make_changes, pace=PACE_S)
    finally:
        faucet.stop()
    return cuts, opens, ready
