"""The JSON Schema of topology files, generated from the pydantic input models.

Regenerate the committed copy with:

    .venv/bin/python -m sovnet.config.schema > topologies/topology.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from sovnet.config.topology_file import TopologyFile

SCHEMA_ID = "https://sovnet.invalid/topology.schema.json"


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


def schema_text() -> str:
    """The schema as committed: indented, keys sorted, with a final newline."""
    return json.dumps(topology_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
