"""The run folder: inputs, manifest, events and measurements as they happen (results/README.md).

Files are appended to line by line and flushed, and the manifest says `running` until the run
ends, so a run killed half-way leaves a folder that says so and keeps what was measured.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import threading
import time
from importlib import metadata
from pathlib import Path

from sovnet.errors import SovnetError
from sovnet.model.scenario import Scenario
from sovnet.results import Measurement, dump_line
from sovnet.results.files import FORMAT


class RunError(SovnetError):
    """A run that cannot go on (its folder, its lab); the run is marked incomplete."""

    exit_code = 3
PROJECT = Path(__file__).resolve().parents[2]


def default_folder(scenario: Scenario, base: Path | None = None, now: float | None = None) -> Path:
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(time.time() if now is None else now))
    return Path(base or "results") / f"{stamp}-{scenario.name}"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _run(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    ovs = _run(["ovs-vsctl", "--version"])
    try:
        from mininet.net import VERSION as mininet_version
    except ImportError:  # pragma: no cover - every sovnet install has Mininet
        mininet_version = None
    return {
        "sovnet": _version("sovnet"),
        "python": platform.python_version(),
        "os_ken": _version("os-ken"),
        "mininet": mininet_version,
        "openvswitch": ovs.splitlines()[0].split()[-1] if ovs else None,
        "matplotlib": _version("matplotlib"),
    }


def git_state(where: Path = PROJECT) -> dict:
    commit = _run(["git", "-C", str(where), "rev-parse", "HEAD"])
    status = _run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"])
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


class RunFolder:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.manifest: dict = {}
        self._lock = threading.Lock()
        self._events = None
        self._measurements = None
        self._started = time.time()
        # What was written to measurements.jsonl, as the model: the runner checks its
        # expectations against this rather than re-reading the file it has just written.
        self.measurements: list[Measurement] = []

    def create(self, scenario: Scenario, extra: dict) -> None:
        if self.path.exists() and any(self.path.iterdir()):
            raise RunError(f"{self.path}: the run folder exists and is not empty (expected a "
                           "new folder; give another --out)")
        self._started = time.time()
        for sub in ("inputs", "flows", "logs", "plots"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        inputs = []
        for role, src in scenario.inputs:
            copy = self.path / "inputs" / Path(src).name
            shutil.copyfile(src, copy)
            inputs.append({"role": role, "path": os.path.normpath(str(src)),
                           "copy": f"inputs/{copy.name}", "sha256": sha256(src)})
        (self.path / "topology.json").write_text(
            json.dumps(scenario.topology.to_dict(), indent=1) + "\n")
        self.manifest = {
            "format": FORMAT, "scenario": scenario.name, "title": scenario.title,
            "description": scenario.description, "status": "running", "reason": None,
            "exit_code": None, "started_at": _iso(time.time()), "finished_at": None,
            "wall_seconds": None, "time_scale": scenario.time_scale,
            "duration_s": scenario.duration, "seed": scenario.seed,
            "calendar_t0": scenario.calendar_t0, "topology": scenario.topology.name,
            "control": scenario.control,
            "phases": [{"name": n, "start_s": a, "end_s": b} for n, a, b in scenario.phases()],
            "windows": [{"name": n, "start_s": a, "end_s": b}
                        for n, a, b in scenario.scheduled_windows()],
            "inputs": inputs, "versions": versions(), "kernel": platform.release(),
            "hostname": socket.gethostname(), "git": git_state(), **extra,
        }
        self.write_manifest()
        self._events = open(self.path / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._measurements = open(self.path / "measurements.jsonl", "a",  # noqa: SIM115
                                  encoding="utf-8")

    def write_manifest(self) -> None:
        tmp = self.path / "manifest.json.tmp"
        tmp.write_text(json.dumps(self.manifest, indent=1) + "\n")
        tmp.replace(self.path / "manifest.json")  # never a half-written manifest

    def event(self, event: dict) -> None:
        self._append(self._events, event)

    def measurement(self, m: Measurement) -> None:
        self._append(self._measurements, m.to_json())
        with self._lock:
            self.measurements.append(m)

    def _append(self, fh, obj: dict) -> None:
        with self._lock:
            fh.write(dump_line(obj))
            fh.flush()

    def write_json(self, name: str, obj) -> None:
        (self.path / name).write_text(json.dumps(obj, indent=1) + "\n")

    def finish(self, status: str, exit_code: int, reason: str | None, **extra) -> None:
        self.manifest.update(status=status, exit_code=exit_code, reason=reason,
                             finished_at=_iso(time.time()),
                             wall_seconds=round(time.time() - self._started, 2), **extra)
        self.write_manifest()
        for fh in (self._events, self._measurements):
            if fh is not None:
                fh.close()
        self._events = self._measurements = None


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))
