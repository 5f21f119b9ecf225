"""Editors check topology files against topologies/topology.schema.json: the shipped files must
pass it, and it must catch what the loader calls a shape error."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "topologies" / "topology.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.mark.parametrize("path", sorted((ROOT / "topologies").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_topologies_pass_the_schema(path):
    errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def test_the_schema_catches_unknown_keys_and_bad_roles():
    doc = {"name": "x", "isps": {}, "colour": "red",
           "switches": {"s1": {"role": "acess"}}}
    messages = " ".join(e.message for e in VALIDATOR.iter_errors(doc))
    assert "'colour' was unexpected" in messages
    assert "'acess' is not one of" in messages


SCENARIO_SCHEMA = ROOT / "experiments" / "scenario.schema.json"
SCENARIOS = sorted((ROOT / "experiments").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "integration" / "scenarios").glob("*.yaml"))


def test_committed_scenario_schema_is_up_to_date():
    from sovnet.config.schema import schema_text

    assert SCENARIO_SCHEMA.read_text() == schema_text("scenario"), (
        "experiments/scenario.schema.json is stale; regenerate it with:\n"
        "    .venv/bin/python -m sovnet.config.schema scenario > experiments/scenario.schema.json")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_pass_the_scenario_schema(path):
    validator = jsonschema.Draft202012Validator(json.loads(SCENARIO_SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))] == []


def test_the_scenario_schema_catches_unknown_keys_and_probe_kinds():
    validator = jsonschema.Draft202012Validator(json.loads(SCENARIO_SCHEMA.read_text()))
    doc = {"name": "x", "topology": "t.yaml", "time_scale": "1h per 1s", "duration": "2h",
           "colour": "red", "probes": [{"kind": "ping", "every": "1h"}]}
    messages = " ".join(e.message for e in validator.iter_errors(doc))
    assert "'colour' was unexpected" in messages and "'ping' is not one of" in messages
