"""What a config file is (topology, scenario or policy set), told by its top-level keys.

By the parsed content, not by how lines begin: a file in YAML's flow style (`{name: x, isps:
{...}}`), or with a comment or an indent before a key, is the same file.
"""

from __future__ import annotations

from sovnet.config.policyset import PolicySetFile
from sovnet.config.report import got
from sovnet.config.scenario_file import ScenarioFile
from sovnet.config.topology_file import TopologyFile
from sovnet.config.yamlsrc import Doc
from sovnet.errors import ConfigIssue

TOPOLOGY, SCENARIO, POLICY_SET = "topology", "scenario", "policy-set"
EXPECTED = ("expected a topology, with isps and switches; a scenario, with topology, time_scale, "
            "duration and probes; or a policy set, with name and policies")


def _own_keys(model) -> frozenset[str]:
    """The keys only this kind of file has (every kind has a name and a description)."""
    return frozenset(f.alias or name for name, f in model.model_fields.items()) - {
        "name", "description"}


# In order of precedence when a file has as many keys of two kinds.
_KEYS = ((POLICY_SET, _own_keys(PolicySetFile)), (SCENARIO, _own_keys(ScenarioFile)),
         (TOPOLOGY, _own_keys(TopologyFile)))


def kind_of(doc: Doc) -> str | None:
    """The kind whose own keys the top-level mapping has most of; None if it has none."""
    if not isinstance(doc.data, dict):
        return None
    keys = {k for k in doc.data if isinstance(k, str)}
    kind, own = max(_KEYS, key=lambda item: len(keys & item[1]))  # the first of equals
    return kind if keys & own else None


def unknown_kind(doc: Doc) -> ConfigIssue:
    """The one issue of a file that is no kind of sovnet file, at its start."""
    data = doc.data
    if data is None:
        message = f"the file is empty ({EXPECTED})"
    elif not isinstance(data, dict):
        message = f"the file holds {got(data)}, not a mapping ({EXPECTED})"
    elif not data:
        message = f"the file holds an empty mapping ({EXPECTED})"
    else:
        keys = ", ".join(str(k) for k in list(data)[:10]) + (", ..." if len(data) > 10 else "")
        message = f"cannot tell what kind of file this is from its keys: {keys} ({EXPECTED})"
    return ConfigIssue(doc.file, 1, 1, "", message)
