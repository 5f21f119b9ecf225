"""The policy API driving a real lab: an order sent over HTTP is a store revision authored by
the token, which the controller enforces on every switch and the data plane obeys; an order
outside the token's role changes nothing."""

from __future__ import annotations

import httpx
import pytest

from sovnet.api import tokens
from sovnet.api.roles import Role
from sovnet.api.serve import start_in_thread
from tests.integration.probing import reach


@pytest.fixture
def api(lab, clean, tmp_path):
    path = tmp_path / "tokens.json"
    issued = {name: tokens.add(path, name, Role.parse(role))
              for name, role in (("ministry", "regulator"), ("fixnet-noc", "isp:fixnet"))}
    with start_in_thread(lab.store_path, port=0, tokens_path=path, rate=None) as server:
        clients = {name: httpx.Client(base_url=server.url, timeout=10,
                                      headers={"Authorization": f"Bearer {tok}"})
                   for name, tok in issued.items()}
        yield clients
        for c in clients.values():
            c.close()


def test_an_order_over_http_is_enforced_and_one_outside_the_role_changes_nothing(lab, api):
    # minimal.yaml: fixnet serves alice and carol, mobinet bob (unregistered), dave and erin.
    r = api["ministry"].post("/v1/policies", json={"action": "deny", "target": "service:social",
                                                   "why": "national order over the API"})
    assert r.status_code == 201, r.text
    rev = r.json()["revision"]
    assert lab.store.revision_info(rev).author == "api:ministry"
    lab.wait_enforced(rev)
    reach(lab, "alice", {"social": False, "bank": True})

    before = lab.store.revision()
    r = api["fixnet-noc"].post("/v1/policies", json={"action": "deny", "target": "international",
                                                     "scope": "all"})
    assert r.status_code == 403, r.text
    assert lab.store.revision() == before

    r = api["fixnet-noc"].post("/v1/policies", json={"action": "deny", "target": "service:bank",
                                                     "scope": "isp:fixnet"})
    assert r.status_code == 201, r.text
    lab.wait_enforced(r.json()["revision"])
    reach(lab, "alice", {"bank": False})
    reach(lab, "dave", {"bank": True, "social": False})
