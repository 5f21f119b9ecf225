"""Experiments: scenario timelines replayed on a lab, measured by OONI-style probes.

    from sovnet.experiments import load_scenario, run_scenario
    result = run_scenario(load_scenario("experiments/national-cutoff.yaml"))   # as root
    result.folder, result.exit_code, result.expectations

Modules: scenario (the values), plan (vantage points, schedule), timeline (steps -> store),
runner (the run), agent_pool (starts and talks to the probe agents, which live in
sovnet.probes and run inside the hosts), rounds (probe rounds), ooni (classification), records
(measurement lines), effect and expect (what should and did happen), rundir (the run folder),
progress (the display).
"""

from __future__ import annotations

# Lazy, so that `sovnet.config.scenario` (imported by load_scenario) can import
# `sovnet.model.scenario` without a cycle.
_EXPORTS = {
    "load_scenario": ("sovnet.config.scenario", "load_scenario"),
    "run_scenario": ("sovnet.experiments.runner", "run_scenario"),
    "RunResult": ("sovnet.experiments.runner", "RunResult"),
    "Scenario": ("sovnet.model.scenario", "Scenario"),
    "Step": ("sovnet.model.scenario", "Step"),
    "Probe": ("sovnet.model.scenario", "Probe"),
    "Expectation": ("sovnet.model.scenario", "Expectation"),
    "PolicyChange": ("sovnet.model.scenario", "PolicyChange"),
    "ServiceFilter": ("sovnet.model.scenario", "ServiceFilter"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sovnet.experiments' has no attribute {name!r}")
    import importlib

    module, attr = _EXPORTS[name]
    return getattr(importlib.import_module(module), attr)
