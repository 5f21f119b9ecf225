"""The committed JSON Schema is the one the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from sovnet.config import topology_json_schema
from sovnet.config.schema import schema_text

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "topologies" / "topology.schema.json"


def test_committed_schema_is_up_to_date():
    assert COMMITTED.read_text() == schema_text(), (
        "topologies/topology.schema.json is stale; regenerate it with:\n"
        "    .venv/bin/python -m sovnet.config.schema > topologies/topology.schema.json"
    )


def test_schema_describes_the_format():
    schema = topology_json_schema()
    assert json.loads(schema_text()) == schema
    assert schema["required"] == ["name", "isps", "switches"]
    assert schema["additionalProperties"] is False
    switch = schema["$defs"]["SwitchIn"]["properties"]
    assert switch["role"]["enum"] == ["access", "aggregation", "core", "border", "ixp",
                                      "internet"]
    link_forms = schema["properties"]["links"]["items"]["anyOf"]
    assert link_forms[0]["type"] == "array" and link_forms[0]["minItems"] == 2
    assert "class" in schema["$defs"]["SubscriberIn"]["properties"]


def test_shipped_topologies_point_at_the_schema():
    for name in ("minimal.yaml", "national.yaml"):
        first = (ROOT / "topologies" / name).read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=topology.schema.json"
