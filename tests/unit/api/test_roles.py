"""What each role may do through the API, against a real server and store: what it may is
written with the token as author; what it may not is refused 403 and writes nothing."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import Api

DENY_ALL = {"action": "deny", "target": "international", "why": "national order 7"}


def refused(api: Api, name: str, method: str, path: str, body=None) -> dict:
    """The request is refused 403, and the store has no new revision."""
    before = api.revision()
    r = api.client(name).request(method, path, json=body)
    assert r.status_code == 403, r.text
    assert api.revision() == before
    return r.json()


def test_a_regulator_orders_nationally_and_is_the_author(api: Api) -> None:
    c = api.client("ministry")
    r = c.post("/v1/policies", json=DENY_ALL)
    assert r.status_code == 201
    out = r.json()
    assert out["policy"] == {"id": 1, "action": "deny", "scope": "all",
                             "target": "international", "priority": 100,
                             "author": "api:ministry", "reason": "national order 7",
                             "schedule": None}
    assert r.headers["location"] == "/v1/policies/1"
    info = api.read(lambda s: s.revision_info(out["revision"]))
    assert (info.author, info.reason) == ("api:ministry", "national order 7")
    # Any scope, another ISP's subscribers, the retention: all the regulator's.
    assert c.post("/v1/policies", json={"action": "allow", "target": "service:bank",
                                        "scope": "subscriber:dave", "priority": 500}
                  ).status_code == 201
    assert c.put("/v1/subscribers/dave/standing", json={"standing": 30}).status_code == 200
    assert c.put("/v1/retention", json={"seconds": "30d"}).json()["retention"] == 2592000
    r = c.delete("/v1/policies/1", params={"why": "lifted"})
    assert r.status_code == 200 and r.json()["revoked"] == [1]
    info = api.read(lambda s: s.revision_info(r.json()["revision"]))
    assert (info.author, info.reason) == ("api:ministry", "lifted")
    assert [h["author"] for h in c.get("/v1/history", params={"n": 4}).json()] == \
        ["api:ministry"] * 4


def test_an_isp_writes_for_its_own_subscribers_only(api: Api) -> None:
    isp = api.client("fixnet-noc")
    r = isp.post("/v1/policies", json={"action": "deny", "target": "service:news",
                                       "scope": "isp:fixnet"})
    assert r.status_code == 201 and r.json()["policy"]["author"] == "api:fixnet-noc"
    assert isp.post("/v1/policies", json={"action": "throttle:256kbit", "target": "any",
                                          "scope": "subscriber:alice"}).status_code == 201
    assert isp.post("/v1/subscribers/carol/status", json={"status": "verified"}
                    ).json()["message"] == "carol is now verified"
    assert isp.put("/v1/subscribers/alice/standing", json={"standing": 40}).status_code == 200
    assert isp.post("/v1/devices", json={"subscriber": "alice", "mac": "02:00:0a:01:00:99"}
                    ).status_code == 201
    assert isp.delete("/v1/devices/02:00:0a:01:00:99").status_code == 200
    assert isp.delete("/v1/policies/1").status_code == 200
    revs = api.read(lambda s: s.history(limit=7))
    assert {r.author for r in revs[1:]} == {"api:fixnet-noc"}


@pytest.mark.parametrize("method, path, body, words", [
    ("POST", "/v1/policies", DENY_ALL, "may add policies only for its own subscribers "
     "(expected scope isp:fixnet or subscriber:NAME of fixnet, got all)"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "scope": "isp:mobinet"},
     "got isp:mobinet"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "scope": "subscriber:dave"},
     "got subscriber:dave"),
    ("POST", "/v1/policies", {"action": "deny", "target": "any", "scope": "class:enterprise"},
     "got class:enterprise"),
    ("POST", "/v1/policy-sets", {"name": "mine", "policies": [
        {"action": "allow", "target": "service:bank", "scope": "isp:fixnet"},
        {"action": "deny", "target": "any", "scope": "isp:mobinet"}]}, "got isp:mobinet"),
    ("PUT", "/v1/subscribers/dave/standing", {"standing": 10},
     "'dave' is not a subscriber of fixnet"),
    ("POST", "/v1/subscribers/bob/status", {"status": "revoked"},
     "'bob' is not a subscriber of fixnet"),
    ("POST", "/v1/devices", {"subscriber": "erin", "mac": "02:00:0a:02:00:99"},
     "'erin' is not a subscriber of fixnet"),
    ("DELETE", "/v1/devices/02:00:0a:02:00:03", None, "'dave' is not a subscriber of fixnet"),
    ("PUT", "/v1/retention", {"seconds": 3600}, "(expected a regulator token"),
    ("GET", "/v1/subscribers/dave", None, "'dave' is not a subscriber of fixnet"),
    ("GET", "/v1/explain?src=dave&dst=bank", None, "may not explain traffic from 'dave'"),
    ("GET", "/v1/flowlog?subscriber=dave", None, "'dave' is not a subscriber of fixnet"),
])
def test_an_isp_is_refused_outside_its_own(unchanged_api: Api, method, path, body,
                                           words) -> None:
    assert words in refused(unchanged_api, "fixnet-noc", method, path, body)["error"]


def test_an_isp_is_told_of_its_own_subscribers_only(unchanged_api: Api) -> None:
    isp = unchanged_api.client("fixnet-noc")
    r = isp.put("/v1/subscribers/zed/standing", json={"standing": 1})
    assert (r.status_code, r.json()["error"]) == (
        400, "name: no subscriber 'zed' of fixnet (expected one of: alice, carol)")
    r = isp.post("/v1/devices", json={"subscriber": "zed", "mac": "02:00:0a:01:00:99"})
    assert r.json()["error"] == ("subscriber: no subscriber 'zed' of fixnet (expected one of: "
                                 "alice, carol)")
    r = isp.get("/v1/flowlog", params={"subscriber": "zed"})
    assert r.json()["error"] == ("subscriber: no subscriber 'zed' of fixnet (expected one of: "
                                 "alice, carol)")
    r = isp.delete("/v1/devices/02:00:0a:01:00:99")
    assert (r.status_code, r.json()["error"]) == (
        400, "mac: no device 02:00:0a:01:00:99 registered to a subscriber of fixnet")
    r = isp.delete("/v1/policies/5")
    assert (r.status_code, r.json()["error"]) == (400, "policy_id: no policy #5 in force")


def test_an_isp_revokes_only_its_own_policies(api: Api) -> None:
    ministry, mobinet = api.client("ministry"), api.client("mobinet-noc")
    national = ministry.post("/v1/policies", json=DENY_ALL).json()["policy"]["id"]
    theirs = mobinet.post("/v1/policies", json={"action": "deny", "target": "any",
                                                "scope": "subscriber:dave"}
                          ).json()["policy"]["id"]
    assert refused(api, "fixnet-noc", "DELETE", f"/v1/policies/{national}")["error"] == (
        f"isp:fixnet may not revoke policy #{national} (scope all): an ISP revokes only "
        "policies scoped isp:fixnet or to its subscribers")
    refused(api, "fixnet-noc", "DELETE", f"/v1/policies/{theirs}")
    # Several at once are all or nothing: one of them not its own refuses them all.
    own = api.client("fixnet-noc").post("/v1/policies", json={
        "action": "deny", "target": "any", "scope": "isp:fixnet"}).json()["policy"]["id"]
    refused(api, "fixnet-noc", "POST", "/v1/revocations", {"ids": [own, theirs]})
    assert {p.id for p in api.read(lambda s: s.policies())} == {national, theirs, own}


def test_an_isp_reads_what_reaches_its_subscribers(api: Api) -> None:
    ministry = api.client("ministry")
    ministry.post("/v1/policies", json=DENY_ALL)
    ministry.post("/v1/policies", json={"action": "deny", "target": "any",
                                        "scope": "isp:mobinet", "why": "mobinet only"})
    ministry.post("/v1/policies", json={"action": "log", "target": "any",
                                        "scope": "subscriber:alice"})
    ministry.put("/v1/subscribers/dave/standing", json={"standing": 5})
    isp = api.client("fixnet-noc")
    assert [(p["id"], p["scope"]) for p in isp.get("/v1/policies").json()] == \
        [(1, "all"), (3, "subscriber:alice")]
    assert refused(api, "fixnet-noc", "GET", "/v1/policies/2")["error"].startswith(
        "isp:fixnet may not read policy #2")
    assert [s["name"] for s in isp.get("/v1/subscribers").json()] == ["alice", "carol"]
    history = isp.get("/v1/history").json()
    assert [h["reason"] for h in history] == ["inventory", "national order 7", ""]
    assert all(c["entity"] != "subscriber" or c["key"] in ("alice", "carol")
               for h in history for c in h["changes"])
    # What it may not read is not there at all, not even as a revision of nothing.
    assert "mobinet only" not in isp.get("/v1/history").text
    ministry.delete("/v1/policies/2", params={"why": "mobinet lifted"})
    ministry.delete("/v1/devices/02:00:0a:02:00:03", params={"why": "dave's phone"})
    ministry.delete("/v1/devices/02:00:0a:01:00:02", params={"why": "alice's laptop"})
    ministry.post("/v1/revocations", json={"ids": [1, 3], "why": "all lifted"})
    seen = [(h["reason"], [(c["entity"], c["key"], c["op"]) for c in h["changes"]],
             h.get("hidden_changes", 0)) for h in isp.get("/v1/history", params={"n": 4}).json()]
    assert seen == [("alice's laptop", [("device", "02:00:0a:01:00:02", "delete")], 0),
                    ("all lifted", [("policy", "1", "delete"), ("policy", "3", "delete")], 0)]
    assert len(api.client("audit").get("/v1/history", params={"n": 4}).json()) == 4
    # A revision of both: its own change shown, the other counted.
    ministry.post("/v1/policy-sets", json={"name": "both", "policies": [
        {"action": "deny", "target": "any", "scope": "isp:fixnet"},
        {"action": "deny", "target": "any", "scope": "isp:mobinet"}]})
    [last] = isp.get("/v1/history", params={"n": 1}).json()
    assert [c["body"]["scope"] for c in last["changes"]] == [{"kind": "isp", "value": "fixnet"}]
    assert last["hidden_changes"] == 1
    assert isp.get("/v1/explain", params={"src": "alice", "dst": "friendbook.example"}
                   ).json()["verdict"] == "dropped"


def test_an_auditor_reads_everything_and_writes_nothing(api: Api) -> None:
    api.client("ministry").post("/v1/policies", json=DENY_ALL)
    audit = api.client("audit")
    for path in ("/v1/policies", "/v1/policies/1", "/v1/history", "/v1/enforcement",
                 "/v1/enforcement/2", "/v1/flowlog", "/v1/subscribers", "/v1/retention",
                 "/v1/explain?src=dave&dst=bank&at=1", "/v1/status"):
        assert audit.get(path).status_code == 200, path
    assert audit.get("/v1/status").json()["role"] == "auditor"
    for method, path, body in [
            ("POST", "/v1/policies", DENY_ALL), ("DELETE", "/v1/policies/1", None),
            ("POST", "/v1/revocations", {"ids": [1]}),
            ("POST", "/v1/policy-sets", {"name": "x", "policies": []}),
            ("POST", "/v1/subscribers/alice/status", {"status": "revoked"}),
            ("PUT", "/v1/subscribers/alice/standing", {"standing": 1}),
            ("POST", "/v1/devices", {"subscriber": "alice", "mac": "02:00:0a:01:00:99"}),
            ("DELETE", "/v1/devices/02:00:0a:01:00:02", None),
            ("PUT", "/v1/retention", {"seconds": 60})]:
        assert refused(api, "audit", method, path, body)["error"].startswith(
            "an auditor reads only, and may not"), path


def test_enforcement_shows_an_isp_its_own_switches(api: Api) -> None:
    rev = api.client("ministry").post("/v1/policies", json=DENY_ALL).json()["revision"]

    def ack(s):
        for sw in s.topology().switches:
            s.record_ack(rev, sw.dpid, s.revision_info(rev).committed_at + 0.01, 3)
    api.read(ack)
    every = api.client("audit").get(f"/v1/enforcement/{rev}").json()
    assert len(every["acks"]) == 7 and every["author"] == "api:ministry"
    own = api.client("fixnet-noc").get(f"/v1/enforcement/{rev}").json()
    assert sorted(a["switch"] for a in own["acks"]) == ["acc1", "core1"]
