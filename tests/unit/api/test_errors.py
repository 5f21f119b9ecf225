"""Refusals of bad input, word for word: the field, then the words the CLI gives (the same
parsers and store rules refuse it), and nothing written. A fault of the server's own is a
500 with a message and no traceback."""

from __future__ import annotations

import pytest

from sovnet import commands
from sovnet.api.writes import Operations
from sovnet.errors import SovnetError
from tests.unit.api.conftest import Api

SERVICES = "bank, cdn, gov, health, news, social"


@pytest.mark.parametrize("method, path, body, status, error", [
    ("POST", "/v1/policies", {"action": "deny", "target": "service:nosuch"}, 400,
     f"target: unknown service 'nosuch' (expected one of: {SERVICES})"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "scope": "isp:nonet"}, 400,
     "scope: unknown ISP 'nonet' (expected one of: fixnet, mobinet)"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "scope": "planet:earth"}, 400,
     "scope: unknown scope 'planet:earth' (expected all, isp:NAME, class:NAME, "
     "subscriber:NAME, region:NAME, tier:registered|verified|privileged or standing:<N)"),
    ("POST", "/v1/policies", {"action": "dney", "target": "any"}, 400,
     "action: unknown action 'dney' (expected one of: allow, deny, reject, blockpage, "
     "steer_dns, dns_tamper:nxdomain, dns_tamper:IP, throttle:RATE (e.g. throttle:256kbit, "
     "throttle:2mbit), log, withdraw or restore)"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "priority": 99999}, 400,
     "priority: priority 99999 out of range (expected 0 to 10000)"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "priority": "high"}, 422,
     "priority: expected a whole number, got 'high'"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "priorty": 5}, 422,
     "priorty: unknown field (expected only the fields /openapi.json lists for this request)"),
    ("POST", "/v1/policies", {"target": "any"}, 422, "action: missing (expected a value)"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "daily": "25:00-01:00"}, 400,
     "daily: bad daily window '25:00-01:00' (expected a daily window HH:MM-HH:MM such as "
     "01:00-09:00 (it may wrap past midnight; 24:00 ends one at midnight))"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "from": "soon"}, 400,
     "from: bad duration 'soon' (expected seconds, or a number with s, m, h or d, such as "
     "3600, 30m, 12h or 90d)"),
    ("POST", "/v1/policies", {"action": "withdraw", "target": "any", "scope": "class:enterprise"},
     400, "action: withdraw applies to the ISPs' announcements, not to class:enterprise "
          "(expected scope all or isp:NAME)"),
    ("DELETE", "/v1/policies/9", None, 400, "policy_id: no policy #9 in force (in force: none)"),
    ("POST", "/v1/revocations", {"ids": []}, 422, "ids: expected a list of at least 1"),
    ("PUT", "/v1/subscribers/alice/standing", {"standing": 101}, 400,
     "standing: standing 101 out of range (expected an integer 0 to 100)"),
    ("PUT", "/v1/subscribers/zed/standing", {"standing": 1}, 400,
     "name: no subscriber 'zed' (expected one of: alice, bob, carol, dave, erin)"),
    ("POST", "/v1/subscribers/alice/status", {"status": "verify"}, 400,
     "status: unknown status 'verify' (expected one of: registered, verified, privileged, "
     "revoked)"),
    ("POST", "/v1/devices", {"subscriber": "alice", "mac": "02:00"}, 400,
     "mac: bad MAC '02:00' (expected six colon-separated hex bytes such as 02:00:0a:01:00:05)"),
    ("GET", "/v1/enforcement/99", None, 400, "revision: no revision 99 (expected 1 to 1)"),
    ("GET", "/v1/policies?at=99", None, 400, "at: no revision 99 (expected 0 to 1)"),
    ("GET", "/v1/explain?src=alice&dst=bank&at=7", None, 400,
     "at: no revision 7 (expected 1 to 1)"),
    ("GET", "/v1/explain?src=nobody&dst=bank", None, 400,
     "src: unknown source host 'nobody' (expected one of the topology's hosts)"),
    ("GET", "/v1/explain?src=alice&dst=bank&proto=sctp", None, 422,
     "proto: Input should be 'tcp', 'udp' or 'icmp', got 'sctp'"),
    ("GET", "/v1/explain?src=alice&dst=bank&port=70000", None, 422,
     "port: 70000 out of range (expected at most 65535)"),
    ("GET", "/v1/history?n=0", None, 422, "n: 0 out of range (expected at least 1)"),
    ("GET", "/v1/flowlog?since=soon", None, 400,
     "since: bad duration 'soon' (expected seconds, or a number with s, m, h or d, such as "
     "3600, 30m, 12h or 90d)"),
    ("GET", "/v1/flowlog?service=nosuch", None, 400,
     "service: no service or resolver 'nosuch' in this store's inventory (expected one of: "
     "bank, cdn, dns1, dns2, gov, health, news, social)"),
    ("PUT", "/v1/retention", {"seconds": -5}, 400,
     "seconds: bad duration -5 (expected seconds, or a number with s, m, h or d, such as 3600, "
     "30m, 12h or 90d, from 0 to 3650d)"),
    ("PUT", "/v1/retention", {"seconds": "forever"}, 400,
     "seconds: bad duration 'forever' (expected seconds, or a number with s, m, h or d, such "
     "as 3600, 30m, 12h or 90d)"),
    ("POST", "/v1/policy-sets", {"name": "x", "policies": [
        {"action": "allow", "target": "service:nope"}, {"action": "deny"}]}, 400,
     "policies[0].target: unknown service 'nope' in topology 'minimal' (expected one of: "
     f"{SERVICES}); policies[1]: missing required key 'target'"),
])
def test_bad_input_is_refused_in_the_clis_words(unchanged_api: Api, method, path, body,
                                                status, error) -> None:
    api = unchanged_api
    before = api.revision()
    r = api.client("ministry").request(method, path, json=body)
    assert (r.status_code, r.json()["error"]) == (status, error)
    assert r.json()["field"] == error.split(":")[0]
    assert api.revision() == before


def test_the_words_are_the_clis(api: Api) -> None:
    """The API's message after the field is the CLI's after its command."""
    r = api.client("ministry").post("/v1/policies", json={"action": "deny",
                                                          "target": "service:nosuch"})
    with pytest.raises(SovnetError) as cli:
        api.read(lambda s: commands.run(s, "policy add deny service:nosuch"))
    assert str(cli.value) == "policy add: new policy: " + r.json()["error"].split(": ", 1)[1]


def test_not_json_and_too_large_bodies(api: Api) -> None:
    c = api.client("ministry")
    r = c.post("/v1/policies", content=b"{deny", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"].startswith("body: not valid JSON (")
    r = c.post("/v1/policy-sets", json={"name": "big", "policies": [
        {"action": "allow", "target": "service:bank", "reason": "x" * 1000}] * 1100})
    assert (r.status_code, r.json()) == (413, {
        "error": "request body too large (expected at most 1048576 bytes)"})
    # Sent in chunks, without a Content-Length: held to the same limit.
    chunks = (b'{"name": "big", "policies": [' if i == 0 else b" " * 65536 for i in range(20))
    r = c.post("/v1/policy-sets", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert api.revision() == 1


def test_unknown_routes_and_methods(api: Api) -> None:
    c = api.client("ministry")
    r = c.get("/v1/policy")
    assert (r.status_code, r.json()["error"]) == (404, "no such resource: GET /v1/policy "
                                                       "(the routes are listed in /openapi.json)")
    r = c.patch("/v1/policies")
    assert r.status_code == 405 and r.json()["error"].startswith("PATCH is not allowed on "
                                                                 "/v1/policies")
    assert c.get("/v1/policies/77").status_code == 404


def test_a_fault_is_a_500_with_no_traceback(api: Api, monkeypatch, caplog) -> None:
    def broken(self, who, at=None):
        raise RuntimeError("secret internals /etc/sovnet")

    monkeypatch.setattr(Operations, "policies", broken)
    r = api.client("ministry").get("/v1/policies")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error: the server could not complete the request "
                                 "(its log says why)"}
    assert "secret" not in r.text and "Traceback" not in r.text
