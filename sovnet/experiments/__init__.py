"""Experiments: scenario timelines replayed on a lab, measured by OONI-style probes.

    from sovnet.experiments import load_scenario, run_scenario
    result = run_scenario(load_scenario("experiments/national-cutoff.yaml"))   # as root
    result.folder, result.exit_code, result.expectations

Modules: plan (vantage points, schedule), timeline (steps -> store),
runner (the run), agent_pool (starts and talks to the probe agents, which live in
sovnet.probes and run inside the hosts), rounds (probe rounds), ooni (classification), records
(measurement lines), effect and expect (what should and did happen), rundir (the run folder),
progress (the display). The scenario values live in sovnet.model.scenario, the file reader in
sovnet.config.scenario (config sits below experiments: it needs none of it).
"""

from __future__ import annotations

from sovnet.config.scenario import load_scenario
from sovnet.experiments.runner import RunResult, run_scenario
from sovnet.model.scenario import (
    Expectation,
    PolicyChange,
    Probe,
    Scenario,
    ServiceFilter,
    Step,
)

__all__ = [
    "Expectation",
    "PolicyChange",
    "Probe",
    "RunResult",
    "Scenario",
    "ServiceFilter",
    "Step",
    "load_scenario",
    "run_scenario",
]
