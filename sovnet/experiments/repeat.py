"""A scenario run N times with different seeds (`sovnet run --repeat N`), then summarised:

    FOLDER/run-1 ... run-N     ordinary run folders (seed, seed+1, ...), each with its report
    FOLDER/repeat.html         medians over the runs, with confidence intervals
                               (sovnet.report.repeat)
    FOLDER/repeat.json         the same figures for scripts

The seed picks the vantage points, so the runs measure from different subscribers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from sovnet.experiments.rundir import default_folder
from sovnet.experiments.runner import RunResult, run_scenario
from sovnet.model.scenario import Scenario
from sovnet.report.repeat import summarise


@dataclass(frozen=True)
class RepeatResult:
    folder: Path
    runs: list[RunResult]
    html: Path

    @property
    def exit_code(self) -> int:
        """A run that did not complete gives its code; else 1 when an expectation failed in
        any run, 0 when every one held in every run."""
        for r in self.runs:
            if r.status != "complete":
                return r.exit_code
        return 1 if any(r.exit_code for r in self.runs) else 0


def repeat_folder(scenario: Scenario, n: int) -> Path:
    base = default_folder(scenario)
    return base.with_name(f"{base.name}-x{n}")


def run_repeated(scenario: Scenario, n: int, out: Path | None = None,
                 progress: bool = True) -> RepeatResult:
    folder = Path(out) if out else repeat_folder(scenario, n)
    runs: list[RunResult] = []
    for i in range(n):
        seeded = dataclasses.replace(scenario, seed=scenario.seed + i)
        result = run_scenario(seeded, folder / f"run-{i + 1}", progress=progress)
        runs.append(result)
        if result.status != "complete":  # a broken lab would break the next runs too
            break
    return RepeatResult(folder, runs, summarise([r.folder for r in runs], folder))
