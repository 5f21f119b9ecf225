"""Policies + inventory -> desired flows (pure)."""

from sovnet.compile.pipeline import FlowTables, compile_flows, flow_counts, policy_priority

__all__ = ["FlowTables", "compile_flows", "flow_counts", "policy_priority"]
