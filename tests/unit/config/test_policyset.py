"""Policy-set files (error cases are in test_config_errors.py)."""

from __future__ import annotations

from pathlib import Path

from sovnet.config import load_policy_set, load_topology
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import Scope, Target

ROOT = Path(__file__).resolve().parents[3]


def test_essential_services_matches_national():
    topology = load_topology(ROOT / "topologies" / "national.yaml")
    specs = load_policy_set(ROOT / "controller" / "policies" / "essential-services.yaml", topology)
    assert [(str(s.action), s.scope, s.target, s.priority) for s in specs] == [
        ("allow", Scope("all"), Target("category", "BANK"), 500),
        ("allow", Scope("all"), Target("category", "HEALTH"), 500),
        ("allow", Scope("all"), Target("category", "GOVT"), 500),
    ]
    assert all(s.reason for s in specs)
    domestic = {s.category for s in topology.services if s.locus == "domestic"}
    assert {s.target.value for s in specs} <= domestic


def test_defaults_and_every_kind_of_name(tmp_path):
    topology = load_topology(ROOT / "topologies" / "minimal.yaml")
    path = tmp_path / "set.yaml"
    path.write_text("""\
name: sample
policies:
  - {action: allow, target: "service:bank"}
  - {action: deny, target: international, scope: "isp:mobinet", priority: 0}
  - {action: deny, target: "locus:foreign", scope: "class:mobile_prepaid"}
  - {action: deny, target: "prefix:172.16.0.1/12", scope: "subscriber:bob"}
  - {action: deny, target: "port:udp/53", reason: "no DNS"}
""")
    specs = load_policy_set(str(path), topology)
    assert specs[0] == PolicyRequest.of("allow", Scope("all"), Target("service", "bank"), 100)
    assert specs[1].scope == Scope("isp", "mobinet") and specs[1].priority == 0
    assert specs[2].scope == Scope("class", "mobile_prepaid")
    assert specs[3].target == Target("prefix", "172.16.0.0/12")
    assert specs[4] == PolicyRequest.of("deny", Scope("all"), Target("port", "udp/53"), 100,
                                       reason="no DNS")
    # without a topology only the syntax is checked
    path.write_text("name: s\npolicies:\n  - {action: allow, target: 'service:anything'}\n")
    assert load_policy_set(path, None)[0].target == Target("service", "anything")
