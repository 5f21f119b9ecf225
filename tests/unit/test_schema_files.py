"""Editors check topology files against topologies/topology.schema.json: the shipped files must
pass it, and it must catch what the loader calls a shape error."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
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
