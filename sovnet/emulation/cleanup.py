"""Run-state files, and removing what dead runs left behind.

Every running Network keeps a JSON file in /run/sovnet (or $SOVNET_RUN_DIR) naming its owner
process and each OVS bridge, root-namespace interface and process it created, written as
soon as they exist. A run killed with SIGKILL cannot clean up; `cleanup_stale()` later removes
exactly what the files of dead owners list, and nothing a live run lists.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from sovnet.errors import EmulationError
from sovnet.poll import attempts

RUN_DIR_ENV = "SOVNET_RUN_DIR"
DEFAULT_RUN_DIR = Path("/run/sovnet")
DEFER_S = 1.0  # the longest a deferred process record waits to be saved


def run_dir() -> Path:
    return Path(os.environ.get(RUN_DIR_ENV) or DEFAULT_RUN_DIR)


def proc_start_time(pid: int) -> int | None:
    """Start time of a live process in clock ticks since boot; None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def pid_alive(pid: int, start_time: int | None = None) -> bool:
    """Is pid alive, and (given start_time) still the same process rather than a reused pid?"""
    now = proc_start_time(pid)
    if now is None:
        return False
    return start_time is None or now == start_time


class RunState:
    """What one run created. Mutators save at once (atomically) so a SIGKILL loses nothing."""

    def __init__(self, path: Path, data: dict):
        self.path = Path(path)
        self.data = data

    @classmethod
    def create(cls, directory: Path | None = None, **info) -> RunState:
        directory = Path(directory) if directory is not None else run_dir()
        directory.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        data = {
            "pid": pid,
            "start_time": proc_start_time(pid),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "bridges": [],
            "interfaces": [],
            "processes": [],
            **info,
        }
        n = 0
        while True:
            path = directory / f"{pid}-{n}.json"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                n += 1
                continue
            os.close(fd)
            break
        state = cls(path, data)
        state.save()
        return state

    @classmethod
    def load(cls, path: Path) -> RunState:
        return cls(Path(path), json.loads(Path(path).read_text()))

    @property
    def pid(self) -> int:
        return int(self.data["pid"])

    @property
    def bridges(self) -> list[str]:
        return list(self.data["bridges"])

    @property
    def interfaces(self) -> list[str]:
        return list(self.data["interfaces"])

    @property
    def processes(self) -> list[dict]:
        return [dict(p) for p in self.data["processes"]]

    def owner_alive(self, alive: Callable[[int, int | None], bool] = pid_alive) -> bool:
        return alive(self.pid, self.data.get("start_time"))

    _saved_at = 0.0
    _unsaved = False

    def save(self) -> None:
        self._unsaved = False
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, separators=(",", ":")))
        os.replace(tmp, self.path)

    def _extend(self, key: str, names: Iterable[str]) -> None:
        have = set(self.data[key])
        new = [n for n in dict.fromkeys(names) if n not in have]
        if new:
            self.data[key].extend(new)
            self.save()

    def add_bridges(self, names: Iterable[str]) -> None:
        self._extend("bridges", names)

    def add_interfaces(self, names: Iterable[str]) -> None:
        self._extend("interfaces", names)

    def add_process(self, pid: int, what: str, defer: bool = False) -> None:
        """Record a process this run started (host shell, server, controller child...).
        defer: save at most every DEFER_S (a network of a thousand hosts starts a thousand
        shells, and the file grows with each); flush() saves what is left."""
        self.data["processes"].append(
            {"pid": pid, "start_time": proc_start_time(pid), "what": what}
        )
        now = time.monotonic()
        if not defer or now - self._saved_at >= DEFER_S:
            self.save()
            self._saved_at = now
        else:
            self._unsaved = True

    def flush(self) -> None:
        if self._unsaved:
            self.save()

    def remove_process(self, pid: int) -> None:
        self.data["processes"] = [p for p in self.data["processes"] if p["pid"] != pid]
        self.save()

    def remove(self) -> None:
        for p in (self.path, self.path.with_name(self.path.name + ".tmp")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass


def read_states(directory: Path | None = None) -> list[RunState]:
    directory = Path(directory) if directory is not None else run_dir()
    states = []
    for path in sorted(directory.glob("*.json")):
        try:
            states.append(RunState.load(path))
        except (OSError, ValueError, KeyError):
            continue  # half-written or foreign: never delete what we cannot read
    return states


def describe(state: RunState, alive=pid_alive) -> dict:
    """A running lab as `sovnet inspect` shows it: what it runs, and where its store is."""
    d = state.data
    procs = [p for p in state.processes if alive(p["pid"], p.get("start_time"))]
    # Mininet gives switches and its controller placeholder (c0) shells too: not hosts.
    not_hosts = {*state.bridges, "c0"}
    hosts = sorted(name for p in procs if p["what"].startswith("shell of ")
                   and (name := p["what"].removeprefix("shell of ")) not in not_hosts)
    others = [p for p in procs if not p["what"].startswith("shell of ")]
    return {"lab": state.path.stem, "pid": state.pid, "started": d.get("created"),
            "topology": d.get("topology"), "datapath": d.get("datapath"),
            "workdir": d.get("workdir"), "store": d.get("store"),
            "controller": d.get("controller"), "switches": state.bridges, "hosts": hosts,
            "processes": [{"pid": p["pid"], "what": p["what"]} for p in others]}


def stale_states(directory: Path | None = None, alive=pid_alive) -> list[RunState]:
    """Run-state files whose owning process is dead (or whose pid now belongs to another)."""
    return [s for s in read_states(directory) if not s.owner_alive(alive)]


def kill_processes(procs: list[dict], timeout: float = 3.0, alive=pid_alive) -> list[dict]:
    """SIGTERM, then SIGKILL after timeout, each listed process still alive; return those hit."""
    targets = [p for p in procs if alive(p["pid"], p.get("start_time"))]
    # SIGHUP too: Mininet's node shells are interactive bash, which ignores SIGTERM.
    for sigs in ((signal.SIGTERM, signal.SIGHUP), (signal.SIGKILL,)):
        for p in targets:
            for sig in sigs:
                if alive(p["pid"], p.get("start_time")):
                    try:
                        os.kill(p["pid"], sig)
                    except ProcessLookupError:
                        pass
        for _ in attempts(timeout, 0.05):
            if not any(alive(p["pid"], p.get("start_time")) for p in targets):
                return targets
    return targets


def interface_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def delete_interfaces(names: Iterable[str]) -> list[str]:
    """Delete root-namespace interfaces that exist (a veth's peer may vanish with it)."""
    gone = []
    for name in names:
        if interface_exists(name):
            subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
            if not interface_exists(name):
                gone.append(name)
    return gone


def cleanup_stale(directory: Path | None = None, alive=pid_alive) -> list[str]:
    """Remove what dead runs left: their processes, bridges, interfaces and state files.

    Returns a line per removed thing. Whatever a live run's state file lists is left alone.
    """
    from sovnet.emulation import ovs

    states = read_states(directory)
    live = [s for s in states if s.owner_alive(alive)]
    keep_br = {b for s in live for b in s.bridges}
    keep_if = {i for s in live for i in s.interfaces}
    keep_pid = {p["pid"] for s in live for p in s.processes} | {s.pid for s in live}
    removed: list[str] = []
    errors: list[str] = []
    for s in states:
        if s in live:
            continue
        procs = [p for p in s.processes if p["pid"] not in keep_pid]
        for p in kill_processes(procs, alive=alive):
            removed.append(f"process {p['pid']} ({p.get('what', '?')}) of run {s.pid}")
        try:
            brs = [b for b in s.bridges if b not in keep_br]
            removed += [f"bridge {b} of run {s.pid}" for b in ovs.delete_bridges(brs)]
        except EmulationError as e:
            errors.append(f"{s.path}: {e}")
            continue  # keep the state file so a later clean can retry
        intfs = [i for i in s.interfaces if i not in keep_if]
        removed += [f"interface {i} of run {s.pid}" for i in delete_interfaces(intfs)]
        left = [i for i in intfs if interface_exists(i)]
        if left:
            errors.append(f"{s.path}: could not delete interfaces {', '.join(left)}")
            continue
        workdir = s.data.get("workdir")
        if s.data.get("own_workdir") and workdir and os.path.isdir(workdir):
            shutil.rmtree(workdir, ignore_errors=True)
            removed.append(f"folder {workdir} of run {s.pid}")
        s.remove()
        removed.append(f"state file {s.path}")
    if errors:
        raise EmulationError(
            "stale cleanup incomplete:\n"
            + "\n".join(errors)
            + ("\nremoved:\n" + "\n".join(removed) if removed else "")
        )
    return removed
