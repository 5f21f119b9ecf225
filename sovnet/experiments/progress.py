"""The run's progress display: scenario time, phase and probe counts (rich, on stderr).

On a terminal it is a live bar; elsewhere (CI logs, pipes) one line per step and a status line
every few seconds, so a log shows the same story without control characters.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sovnet.model.scenario import format_duration


class RunProgress:
    def __init__(self, title: str, duration: float, enabled: bool = True,
                 every: float = 10.0):
        self.console = Console(stderr=True, highlight=False)
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal
        self.duration = duration
        self.title = title
        self.every = every
        self._last = 0.0
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> RunProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                console=self.console)
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=self.duration, status="")
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def status(self, t: float, phase: str, measurements: int, errors: int) -> str:
        return (f"T+{format_duration(t)} of {format_duration(self.duration)} | phase {phase} | "
                f"{measurements} measurements, {errors} probe errors")

    def update(self, t: float, phase: str, measurements: int, errors: int) -> None:
        if not self.enabled:
            return
        text = self.status(min(round(t), self.duration), phase, measurements, errors)
        if self._progress is not None:
            self._progress.update(self._task, completed=min(t, self.duration), status=text)
        elif time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            self.console.print(text)

    def log(self, message: str) -> None:
        if self.enabled:
            self.console.print(message)
