"""dns_tamper: what ISP resolvers answer under the policies; the switches are not involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.compile import compile_flows
from sovnet.compile.dns_tamper import resolver_answer, service_of
from sovnet.compile.reference import allowed
from sovnet.config import load_policy_set, load_topology
from sovnet.experiments.effect import web_reachable
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import (
    Policy,
    PolicySyntaxError,
    action_kind,
    check_action,
    dns_answer,
    initial_subscribers,
    parse_scope,
    parse_target,
)
from sovnet.store import open_store

ROOT = Path(__file__).resolve().parents[3]
TOPO = load_topology(ROOT / "topologies" / "minimal.yaml")
SUBS = initial_subscribers(TOPO)


def pol(pid, action, target, scope="all", priority=100):
    return Policy(pid, action, parse_scope(scope), parse_target(target), priority)


def ip(name):
    return TOPO.host(name).ip


def test_action_forms():
    assert dns_answer(check_action("dns_tamper:nxdomain")) == "nxdomain"
    assert dns_answer(check_action("dns_tamper:10.66.0.1")) == "10.66.0.1"
    assert action_kind("dns_tamper:nxdomain") == "dns_tamper"
    assert dns_answer("deny") is None
    for bad, why in [("dns_tamper", "bad dns_tamper answer ''"),
                     ("dns_tamper:blockpage", "bad dns_tamper answer 'blockpage'"),
                     ("deny:now", "bad option 'now' in 'deny:now'"),
                     ("allow:now", "bad option 'now' in 'allow:now'"),
                     ("log:now", "action 'log' takes no parameter")]:
        with pytest.raises(PolicySyntaxError, match=why):
            check_action(bad)


def test_the_resolver_lies_to_subscribers_in_scope_about_services_in_target():
    policies = [pol(1, "dns_tamper:nxdomain", "service:social", scope="isp:fixnet")]
    name = TOPO.service("social").domains[0]
    assert service_of(TOPO, name.upper() + ".") == "social"
    assert resolver_answer(TOPO, policies, ip("alice"), name) == "nxdomain"
    assert resolver_answer(TOPO, policies, ip("dave"), name) is None  # another ISP
    assert resolver_answer(TOPO, policies, ip("alice"), "bank.sov") is None  # another service
    assert resolver_answer(TOPO, policies, ip("cdn"), name) is None  # not a subscriber
    assert resolver_answer(TOPO, policies, ip("alice"), "nowhere.example") is None


def test_highest_priority_then_newest_decides():
    name = TOPO.service("social").domains[0]
    policies = [pol(1, "dns_tamper:nxdomain", "category:GRP", priority=100),
                pol(2, "dns_tamper:10.66.0.1", "service:social", priority=200)]
    assert resolver_answer(TOPO, policies, ip("alice"), name) == "10.66.0.1"
    tie = [pol(3, "dns_tamper:10.66.0.1", "international"), pol(4, "dns_tamper:nxdomain",
                                                                 "international")]
    assert resolver_answer(TOPO, tie, ip("alice"), name) == "nxdomain"


def test_switches_and_reachability_by_address_ignore_dns_tampering():
    lie = [pol(1, "dns_tamper:nxdomain", "international")]
    assert compile_flows(TOPO, lie, SUBS) == compile_flows(TOPO, (), SUBS)
    assert allowed(TOPO, lie, SUBS, "alice", TOPO.host("alice").mac, ip("social"))
    # but a measurer looking the name up cannot reach the page
    assert not web_reachable(TOPO, lie, SUBS, "alice", "social")
    assert web_reachable(TOPO, lie, SUBS, "alice", "bank")
    honest = [pol(2, f"dns_tamper:{ip('social')}", "service:social")]  # "lies" the truth
    assert web_reachable(TOPO, honest, SUBS, "alice", "social")


def test_store_and_policy_sets_take_dns_tamper(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    store.load_inventory(TOPO)
    p = store.add_policy(PolicyRequest.of(
            "dns_tamper:nxdomain", "isp:fixnet", "category:GRP", author="t"))
    assert store.policies() == (p,) and p.action == "dns_tamper:nxdomain"
    with pytest.raises(PolicySyntaxError, match="bad dns_tamper answer 'x'"):
        PolicyRequest.of("dns_tamper:x", "all", "any")  # refused before it reaches a store
    (tmp_path / "set.yaml").write_text(
        "name: s\npolicies:\n  - {action: 'dns_tamper:10.66.0.1', target: 'category:GRP'}\n")
    (spec,) = load_policy_set(tmp_path / "set.yaml", TOPO)
    assert str(spec.action) == "dns_tamper:10.66.0.1" and spec.action.answer == "10.66.0.1"


def test_explain_says_the_resolver_lies():
    from sovnet.flowtable.explain import explain

    lie = [pol(7, "dns_tamper:nxdomain", "service:social", scope="isp:fixnet")]
    tables = compile_flows(TOPO, lie, SUBS)
    name = TOPO.service("social").domains[0]
    text = explain(TOPO, tables, lie, "alice", name).render()
    assert ("  dns: alice's resolver answers NXDOMAIN for this name, by policy #7 "
            "dns_tamper:nxdomain service:social for isp:fixnet (priority 100)") in text
    assert text.splitlines()[0].endswith("tcp/80: delivered to social")  # the switches let it
    assert "dns:" not in explain(TOPO, tables, lie, "dave", name).render()
    assert "dns:" not in explain(TOPO, tables, lie, "alice", ip("social")).render()
