"""Starting and stopping the collector process next to the controller (the Lab does).

    collector = CollectorProcess(store_path, workdir)
    port = collector.start(on_spawn=lambda pid: network.track_process(pid, "flow-log collector"))
    network.export_flows(port)
    ...
    collector.stop()      # it writes what is queued on its socket first

The collector picks a free UDP port itself and says which in its ready file, so no port can be
taken between choosing it and binding it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from sovnet.errors import SovnetError
from sovnet.poll import attempts

START_TIMEOUT = 30.0


class CollectorError(SovnetError):
    pass


class CollectorProcess:
    def __init__(self, store_path: str | os.PathLike, workdir: str | os.PathLike):
        self.store_path = str(store_path)
        self.workdir = Path(workdir)
        self.ready = self.workdir / "flowlog.ready"
        self.log_file = self.workdir / "flowlog.log"
        self.popen: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self, on_spawn: Callable[[int], None] = lambda pid: None,
              timeout: float = START_TIMEOUT) -> int:
        """Start the collector and wait until it listens; returns its UDP port."""
        self.ready.unlink(missing_ok=True)
        err_file = self.workdir / "flowlog.stderr"
        cmd = [sys.executable, "-m", "sovnet.flowlog.collector", "--store", self.store_path,
               "--port", "0", "--ready", str(self.ready), "--log-file", str(self.log_file)]
        # stderr to a file, not a pipe nobody reads while the lab runs (see Lab's controller)
        with open(err_file, "wb") as err:
            self.popen = subprocess.Popen(cmd, start_new_session=True,
                                          stdout=subprocess.DEVNULL, stderr=err)
        on_spawn(self.popen.pid)
        for _ in attempts(timeout, 0.01):
            if self.ready.exists():
                break
            if self.popen.poll() is not None:
                raise CollectorError(
                    f"the flow-log collector exited with status {self.popen.returncode} before "
                    f"listening: {err_file.read_text(errors='replace')[-2000:].strip()}")
        else:
            raise CollectorError(f"the flow-log collector did not listen within "
                                 f"{timeout:g} s; see {self.log_file}")
        self.port = int(json.loads(self.ready.read_text())["port"])
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (it writes what is queued, then exits); SIGKILL if it does not. Idempotent."""
        proc, self.popen = self.popen, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.ready.unlink(missing_ok=True)
