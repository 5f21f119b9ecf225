"""Policies + inventory -> desired flows (pure)."""

from sovnet.compile.incremental import NetworkCompiler, compile_flows, compile_network
from sovnet.compile.pipeline import (
    Compiled,
    FlowTables,
    MeterTables,
    flow_counts,
    policy_priority,
)

__all__ = ["Compiled", "FlowTables", "MeterTables", "NetworkCompiler", "compile_flows",
           "compile_network", "flow_counts", "policy_priority"]
