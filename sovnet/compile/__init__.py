"""Policies + inventory -> desired flows (pure)."""

from sovnet.compile.pipeline import (
    Compiled,
    FlowTables,
    MeterTables,
    compile_flows,
    compile_network,
    flow_counts,
    policy_priority,
)

__all__ = ["Compiled", "FlowTables", "MeterTables", "compile_flows", "compile_network",
           "flow_counts", "policy_priority"]
