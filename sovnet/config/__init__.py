"""Configuration files: topologies (YAML -> model.Topology) and policy sets.

    load_topology(path) -> Topology                 every problem at once, as ConfigError
    load_policy_set(path, topology) -> [PolicyRequest]
    topology_json_schema() -> dict                  python -m sovnet.config.schema prints it
"""

from sovnet.config.load import load_topology, topology_from_text
from sovnet.config.policyset import load_policy_set


def topology_json_schema() -> dict:
    """The JSON Schema of topology files (see topologies/topology.schema.json)."""
    from sovnet.config.schema import topology_json_schema as generate

    return generate()


__all__ = [
    "load_policy_set",
    "load_topology",
    "topology_from_text",
    "topology_json_schema",
]
