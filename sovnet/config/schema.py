"""The JSON Schemas of topology and scenario files, generated from the pydantic input models.

Regenerate the committed copies with:

    .venv/bin/python -m sovnet.config.schema > topologies/topology.schema.json
    .venv/bin/python -m sovnet.config.schema scenario > experiments/scenario.schema.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from sovnet.config.topology_file import TopologyFile

SCHEMA_ID = "https://sovnet.invalid/topology.schema.json"
SCENARIO_SCHEMA_ID = "https://sovnet.invalid/scenario.schema.json"


def topology_json_schema() -> dict[str, Any]:
    """The schema editors use to check and complete topology files."""
    schema = TopologyFile.model_json_schema(by_alias=True, mode="validation")
    short_link = {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 2,
        "maxItems": 2,
        "description": "short form [A, B]; endpoints are SWITCH or SWITCH:PORT",
    }
    links = schema["properties"]["links"]
    links["items"] = {"anyOf": [short_link, links["items"]]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def scenario_json_schema() -> dict[str, Any]:
    """The schema of experiments/*.yaml (shape only: names are checked against the topology
    by `sovnet validate`)."""
    from sovnet.config.scenario_file import ScenarioFile

    schema = ScenarioFile.model_json_schema(by_alias=True, mode="validation")
    schema["title"] = "sovnet scenario"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCENARIO_SCHEMA_ID, **schema}


def schema_text(kind: str = "topology") -> str:
    """A schema as committed: indented, keys sorted, with a final newline."""
    schema = scenario_json_schema() if kind == "scenario" else topology_json_schema()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(sys.argv[1] if len(sys.argv) > 1 else "topology"), end="")
