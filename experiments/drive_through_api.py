#!/usr/bin/env python3
"""Replay a scenario's timeline through the policy API, as a remote regulator would.

    .venv/bin/sovnet api token add --tokens TOKENS ministry --role regulator   # prints TOKEN
    .venv/bin/sovnet api --store STORE --tokens TOKENS &
    SOVNET_API_TOKEN=TOKEN .venv/bin/python experiments/drive_through_api.py \\
        --url http://127.0.0.1:8080 experiments/national-cutoff.yaml [--fast]

Each timeline step's changes go to the API at the step's time on the scenario's time scale
(--fast: one after the other, at once), and each revision they make is printed, e.g.

    t=8h      r2   loaded 5 policies from policy set international cutoff, ...
    t=1d4h    r3   revoked #1, #2, #3, #4, #5

A step's policies go as one policy set (one revision); its revocations as one revocation (one
revision); subscriber and device changes one request each. `restore` revokes every policy in
force and puts subscribers back as the topology has them. Policies are remembered by the names
the scenario gives them, so that a later step can revoke them.

Standard library only (urllib): any HTTP client can drive the API. The token comes from
--token or, better (it stays out of the process list), SOVNET_API_TOKEN; --cacert FILE
trusts a server whose certificate comes from that CA.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from sovnet.errors import SovnetError
from sovnet.experiments import load_scenario
from sovnet.model.policy import initial_subscribers
from sovnet.model.scenario import PolicyChange, Scenario, Step, format_duration


class Refused(Exception):
    """The API said no: its status and its message."""


class Api:
    def __init__(self, url: str, token: str, cafile: str | None = None):
        self.url = url.rstrip("/")
        self.token = token
        self.context = ssl.create_default_context(cafile=cafile) if cafile else None

    def call(self, method: str, path: str, body=None, **query) -> dict | list:
        q = {k: v for k, v in query.items() if v is not None}
        url = self.url + path + (f"?{urllib.parse.urlencode(q)}" if q else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            try:
                error = json.load(e).get("error", e.reason)
            except ValueError:
                error = e.reason
            raise Refused(f"{method} {path}: {e.code} {error}") from None
        except urllib.error.URLError as e:
            raise Refused(f"{method} {path}: cannot reach {self.url}: {e.reason}") from None


def policy(pc: PolicyChange) -> dict:
    """A scenario's policy as a policy-set entry (what `POST /v1/policy-sets` takes)."""
    r = pc.request
    out: dict = {"action": str(r.action), "scope": str(r.scope), "target": str(r.target),
                 "priority": r.priority, "reason": r.reason or ""}
    if r.schedule is not None:
        if r.schedule.daily:
            out["daily"] = "-".join(_hhmm(x) for x in r.schedule.daily)
        out["from"], out["until"] = r.schedule.start, r.schedule.end
    return out


def _hhmm(seconds: float) -> str:
    return f"{int(seconds) // 3600:02d}:{int(seconds) % 3600 // 60:02d}"


class Driver:
    def __init__(self, api: Api, scenario: Scenario, out=print):
        self.api = api
        self.scenario = scenario
        self.out = out
        self.named: dict[str, list[int]] = {}  # scenario name -> policy ids it added

    def step(self, step: Step) -> None:
        why = step.label or "timeline step"
        when = f"t={format_duration(step.at)}"
        if not step.changes_store():
            self.out(f"{when:<9} {'--':<4} {why} (no change)")
            return

        def show(result) -> None:
            self.out(f"{when:<9} {'r' + str(result['revision']):<4} {result['message']}")

        if step.restore:
            ids = [p["id"] for p in self.api.call("GET", "/v1/policies")]
            if ids:
                show(self.api.call("POST", "/v1/revocations", {"ids": ids, "why": why}))
            self.named.clear()
            self.reset_subscribers(why, show)
        revoke = [pid for name in step.revoke for pid in self.named.pop(name, [])]
        if revoke:
            show(self.api.call("POST", "/v1/revocations", {"ids": revoke, "why": why}))
        if step.add:
            added = self.api.call("POST", "/v1/policy-sets", {
                "name": why, "policies": [policy(pc) for pc in step.add]}, why=why)
            assert isinstance(added, dict)
            for pc, p in zip(step.add, added["policies"], strict=True):
                if pc.name:
                    self.named.setdefault(pc.name, []).append(p["id"])
            show(added)
        for sub, status in step.status:
            show(self.api.call("POST", f"/v1/subscribers/{sub}/status",
                               {"status": status, "why": why}))
        for sub, standing in step.standing:
            show(self.api.call("PUT", f"/v1/subscribers/{sub}/standing",
                               {"standing": standing, "why": why}))
        for sub, mac in step.register:
            show(self.api.call("POST", "/v1/devices", {"subscriber": sub, "mac": mac,
                                                       "why": why}))
        for mac in step.unregister:
            show(self.api.call("DELETE", f"/v1/devices/{mac}", why=why))

    def reset_subscribers(self, why: str, show) -> None:
        """Every subscriber back to the status, standing and devices its topology gives it."""
        current = {s["name"]: s for s in self.api.call("GET", "/v1/subscribers")}
        for name, want in initial_subscribers(self.scenario.topology).items():
            cur = current[name]
            if cur["status"] != want.status:
                show(self.api.call("POST", f"/v1/subscribers/{name}/status",
                                   {"status": want.status, "why": why}))
            if cur["standing"] != want.standing:
                show(self.api.call("PUT", f"/v1/subscribers/{name}/standing",
                                   {"standing": want.standing, "why": why}))
            for mac in sorted(set(cur["devices"]) - want.devices):
                show(self.api.call("DELETE", f"/v1/devices/{mac}", why=why))
            for mac in sorted(want.devices - set(cur["devices"])):
                show(self.api.call("POST", "/v1/devices", {"subscriber": name, "mac": mac,
                                                           "why": why}))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", help="a scenario file, e.g. experiments/national-cutoff.yaml")
    p.add_argument("--url", required=True, help="the API, e.g. http://127.0.0.1:8080")
    p.add_argument("--token", default=os.environ.get("SOVNET_API_TOKEN"),
                   help="a regulator's token (default: $SOVNET_API_TOKEN)")
    p.add_argument("--cacert", help="trust the server's certificate from this CA (PEM)")
    p.add_argument("--fast", action="store_true",
                   help="send every step at once, not at its time on the scenario's scale")
    args = p.parse_args(argv)
    if not args.token:
        p.error("no token (expected --token TOKEN or SOVNET_API_TOKEN)")
    try:
        scenario = load_scenario(Path(args.scenario))
    except SovnetError as e:
        print(e, file=sys.stderr)
        return 2
    api = Api(args.url, args.token, args.cacert)
    driver = Driver(api, scenario)
    try:
        status = api.call("GET", "/v1/status")
        assert isinstance(status, dict)
        if status["topology"] != scenario.topology.name:
            print(f"the store serves topology {status['topology']!r}, the scenario is on "
                  f"{scenario.topology.name!r} (expected a store of the scenario's topology)",
                  file=sys.stderr)
            return 2
        print(f"{scenario.name}: {len(scenario.steps)} steps through {api.url} as "
              f"{status['token']} ({status['role']}), from revision {status['revision']}"
              + ("" if args.fast else f"; {format_duration(scenario.real(scenario.duration))}"
                                      " of real time"))
        start = time.monotonic()
        for step in scenario.steps:
            if not args.fast:  # the step's moment on the scenario's time scale
                time.sleep(max(0.0, start + scenario.real(step.at) - time.monotonic()))
            driver.step(step)
    except Refused as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
