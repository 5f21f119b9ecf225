"""The store's orders in plain words: what a policy analyst reads in the report."""

from __future__ import annotations

import pytest

from sovnet.model.policy import Policy, Scope, Target
from sovnet.model.schedule import Schedule
from sovnet.report.words import category, change_words, policy_words


def P(action: str, scope: str, target: str, priority: int = 100, reason: str = "",
      schedule: Schedule | None = None) -> Policy:
    kind, _, value = scope.partition(":")
    tkind, _, tvalue = target.partition(":")
    return Policy(1, action, Scope(kind, value), Target(tkind, tvalue), priority,
                  reason=reason, schedule=schedule)


@pytest.mark.parametrize(("policy", "words"), [
    (P("deny", "isp:mobiq", "international", reason="national order 7"),
     "drop everything abroad for mobiq's subscribers (priority 100): national order 7"),
    (P("reject", "class:mobile_prepaid", "category:GRP", 300),
     "refuse (reset) social networking (GRP) for prepaid mobile subscribers (priority 300)"),
    (P("allow", "tier:verified", "service:bank", 500),
     "allow service bank for verified subscribers (priority 500)"),
    (P("throttle:256kbit", "all", "any"),
     "throttle everything to 256 kbit/s for all subscribers (priority 100)"),
    (P("throttle:2mbit", "region:north", "port:tcp/443"),
     "throttle TCP port 443 to 2 Mbit/s for subscribers in region north (priority 100)"),
    (P("dns_tamper:127.0.0.1", "isp:celnova", "category:GRP"),
     "make the ISPs' resolvers answer the address 127.0.0.1 for social networking (GRP), "
     "for celnova's subscribers (priority 100)"),
    (P("dns_tamper:nxdomain", "all", "service:news"),
     "make the ISPs' resolvers answer no such name for service news, for all subscribers "
     "(priority 100)"),
    (P("deny:inbound", "all", "international", schedule=Schedule((82800.0, 18000.0))),
     "drop traffic from abroad at the border, for all subscribers "
     "(priority 100, daily 23:00-05:00)"),
    (P("deny:outbound", "isp:fixnet", "port:udp/53"),
     "drop traffic to UDP port 53 abroad at the border, for fixnet's subscribers "
     "(priority 100)"),
    (P("withdraw", "all", "any", reason="order"),
     "BGP: every ISP withdraws its routes to all its space (priority 100): order"),
    (P("restore", "isp:telenat", "any", 200),
     "BGP: telenat keeps announcing all its space (priority 200)"),
    (P("reject:residual=90s", "all", "sni:friendbook.example"),
     "refuse (reset) TLS to friendbook.example (by its SNI) for all subscribers "
     "(the server stays blocked 90 s after) (priority 100)"),
    (P("deny", "standing:<50", "any"),
     "drop everything for subscribers of standing below 50 (priority 100)"),
    (P("log", "subscriber:alice", "quic"),
     "log every flow to all QUIC for subscriber alice (priority 100)"),
])
def test_policies_in_plain_words(policy: Policy, words: str) -> None:
    assert policy_words(policy) == words


def test_an_address_family_and_an_unknown_action_are_said_as_written() -> None:
    p = Policy(3, "deny", Scope("isp", "mobiq"), Target("international", "", "ipv6"))
    assert policy_words(p).startswith("drop everything abroad over IPv6 only for mobiq's")
    odd = Policy(4, "quarantine", Scope("all"), Target("any"))
    assert policy_words(odd) == "#4 quarantine any for all (priority 100)"


def test_category_codes_are_spelled_out() -> None:
    assert category("COMT") == "communication tools (COMT)"
    assert category("XYZ") == "XYZ"


def test_changes_say_what_they_revoke_and_what_they_changed() -> None:
    body = {"action": "deny", "scope": {"kind": "all", "value": ""},
            "target": {"kind": "international", "value": ""}, "priority": 100,
            "reason": "order 7"}
    assert change_words("policy", "7", "put", body, None) == (
        "ordered: drop everything abroad for all subscribers (priority 100): order 7")
    assert change_words("policy", "7", "delete", {}, body) == (
        "revoked: drop everything abroad for all subscribers (priority 100): order 7")
    assert change_words("policy", "8", "delete", {}, None) == "revoked: policy #8"
    assert change_words("subscriber", "mpre3", "put", {"status": "registered", "standing": 40},
                        {"status": "registered"}) == "subscriber mpre3: standing 40"
    assert change_words("subscriber", "mpre3", "put", {"status": "registered", "standing": 90},
                        {"status": "registered", "standing": 40}) == (
        "subscriber mpre3: standing 40 → 90")
    assert change_words("device", "02:00:0a:02:00:10", "put", {"subscriber": "mnew1"}, None) == (
        "device 02:00:0a:02:00:10 registered to subscriber mnew1")
    assert change_words("device", "02:00:0a:02:00:10", "delete", {},
                        {"subscriber": "mnew1"}) == (
        "device 02:00:0a:02:00:10 struck from the register (mnew1's)")
    assert change_words("setting", "clock", "put", {"scale": 1}, None) is None
