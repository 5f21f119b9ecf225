"""The policy command: one typed value, the action parsed once, applied by the store."""

from __future__ import annotations

import pytest

from sovnet.model.command import Action, PolicyRequest, Revoke
from sovnet.model.policy import Policy, PolicySyntaxError, Scope, Target
from sovnet.model.schedule import schedule
from sovnet.store import MemoryStore
from tests.unit import handmade


@pytest.mark.parametrize("text, action", [
    ("deny", Action("deny")),
    ("throttle:2mbit", Action("throttle", "2mbit", rate_kbps=2000)),
    ("throttle:256kbit", Action("throttle", "256kbit", rate_kbps=256)),
    ("dns_tamper:nxdomain", Action("dns_tamper", "nxdomain", answer="nxdomain")),
    ("dns_tamper:10.66.0.1", Action("dns_tamper", "10.66.0.1", answer="10.66.0.1")),
])
def test_an_action_is_parsed_once_into_its_kind_and_meaning(text, action):
    assert Action.parse(text) == action and str(action) == text


@pytest.mark.parametrize("text, message", [
    ("deny:x", "bad option 'x' in 'deny:x' (expected residual=DURATION (e.g. residual=90s, "
              "residual=2m), reassemble, both (reject))"),
    ("allow:x", "bad option 'x' in 'allow:x' (expected a direction: inbound, outbound, border)"),
    ("log:x", "action 'log' takes no parameter, got 'log:x'"),
    ("deny:inbound,outbound", "'deny:inbound,outbound' names 2 directions (expected one of: "
                              "inbound, outbound, border)"),
    ("throttle:fast", "bad throttle rate 'fast' in 'throttle:fast'"),
    (7, "unknown action 7 (expected a text such as deny)"),
])
def test_a_bad_action_says_what_was_expected(text, message):
    with pytest.raises(PolicySyntaxError) as e:
        Action.parse(text)
    assert str(e.value).startswith(message)


def test_a_request_reads_text_or_values_and_normalises_them():
    r = PolicyRequest.of("deny", "isp:mobinet", Target("prefix", "10.9.9.9/8"), 300,
                         author="ana", reason="why", schedule=schedule("01:00-02:00"))
    assert r == PolicyRequest(Action("deny"), Scope("isp", "mobinet"),
                              Target("prefix", "10.0.0.0/8"), 300, schedule("01:00-02:00"),
                              "ana", "why")
    with pytest.raises(PolicySyntaxError, match="expected a Schedule, got str"):
        PolicyRequest.of("deny", "all", "any", schedule="01:00-02:00")


def test_a_stored_policy_carries_its_parsed_action():
    p = handmade.policy(1, "throttle:1.5mbit", "any")
    assert isinstance(p, Policy) and p.act == Action("throttle", "1.5mbit", rate_kbps=1500)
    assert p.act is p.act  # parsed once


def test_the_store_applies_a_request_and_a_revoke_as_one_revision_each():
    store = MemoryStore()
    store.load_inventory(handmade.topology())
    p = store.apply(PolicyRequest.of("deny", "all", "international", author="ana", reason="r"))
    assert p is not None and (p.id, p.action, p.author, p.reason) == (1, "deny", "ana", "r")
    info = store.revision_info(store.revision())
    assert (info.author, info.reason) == ("ana", "r")
    assert store.apply(Revoke(1, "bo", "undo")) is None and store.policies() == ()
    assert (store.revision_info(3).author, store.revision_info(3).reason) == ("bo", "undo")
    with store.transaction("ops", "both") as tx:  # in a transaction: its author and reason
        q = tx.apply(PolicyRequest.of("allow", "all", "any", author="ignored"))
    assert q is not None and (q.author, q.reason) == ("ops", "both")
