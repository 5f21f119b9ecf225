"""Bearer tokens against a real server: 401 without one or with a wrong one, a revoked token
refused from the next request on, a role naming an unknown ISP refused when used, and the
per-token rate limit (429 with Retry-After)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.api import tokens
from sovnet.api.roles import Role
from tests.unit.api.conftest import Api, start

WRITE = {"action": "deny", "target": "any"}


@pytest.mark.parametrize("headers, challenge, words", [
    ({}, 'Bearer realm="sovnet"', "no bearer token (expected a header Authorization: Bearer "
                                  "TOKEN, with a token from `sovnet api token add`)"),
    ({"Authorization": "Basic YWxpY2U6cHc="}, 'Bearer realm="sovnet"', "no bearer token"),
    ({"Authorization": "Bearer sovnet_not-a-token"},
     'Bearer realm="sovnet", error="invalid_token"',
     "invalid bearer token (expected a token that `sovnet api token add` printed and that "
     "has not been revoked)"),
])
def test_no_token_or_a_wrong_one_is_401(api: Api, headers, challenge, words) -> None:
    before = api.revision()
    for method, path in (("GET", "/v1/policies"), ("POST", "/v1/policies")):
        r = api.client().request(method, path, headers=headers, json=WRITE)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == challenge
        assert r.json()["error"].startswith(words)
    assert api.revision() == before


def test_a_token_differing_in_one_character_is_refused(api: Api) -> None:
    good = api.tokens["ministry"]
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert api.client(token=good).get("/v1/status").status_code == 200
    assert api.client(token=bad).get("/v1/status").status_code == 401


def test_a_revoked_token_is_refused_without_a_restart(api: Api) -> None:
    c = api.client("fixnet-noc")
    assert c.get("/v1/status").status_code == 200
    tokens.revoke(api.tokens_path, "fixnet-noc")
    assert c.get("/v1/status").status_code == 401
    # A token added while the server runs works at once.
    new = tokens.add(api.tokens_path, "fixnet-noc-2", Role.parse("isp:fixnet"))
    assert api.client(token=new).get("/v1/status").json()["token"] == "fixnet-noc-2"


def test_a_role_naming_an_isp_the_store_lacks_is_refused_when_used(api: Api) -> None:
    stray = tokens.add(api.tokens_path, "stray", Role.parse("isp:nonet"))
    r = api.client(token=stray).get("/v1/policies")
    assert r.status_code == 403
    assert r.json()["error"] == ("token 'stray': unknown ISP 'nonet' in role isp:nonet "
                                 "(topology 'minimal' has: fixnet, mobinet)")


def test_over_its_rate_a_token_gets_429_with_retry_after(tmp_path: Path) -> None:
    api = start(tmp_path, rate="2/min")  # a burst of one, then one every 30 s
    try:
        c, other = api.client("ministry"), api.client("audit")
        assert c.get("/v1/status").status_code == 200
        before = api.revision()
        r = c.post("/v1/policies", json=WRITE)
        assert r.status_code == 429
        assert r.headers["retry-after"] == "30"
        assert r.json()["error"] == ("too many requests with token 'ministry' (expected at "
                                     "most 2/min; retry in 30 s)")
        assert api.revision() == before  # nothing written
        # Each token has its own bucket.
        assert other.get("/v1/status").status_code == 200
    finally:
        api.server.stop()


def test_a_removed_tokens_file_lets_nobody_in(api: Api) -> None:
    c = api.client("ministry")
    assert c.get("/v1/status").status_code == 200
    api.tokens_path.unlink()
    assert c.get("/v1/status").status_code == 401
