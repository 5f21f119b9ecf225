"""experiments/drive_through_api.py against a real server: a scenario's timeline replayed
through the API, each revision printed and authored by the regulator's token."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sovnet.api import tokens
from sovnet.api.roles import Role
from sovnet.api.serve import start_in_thread
from sovnet.store import open_store
from tests.unit.api.conftest import ROOT, make_store

SCRIPT = ROOT / "experiments" / "drive_through_api.py"


def drive(url: str, token: str, scenario: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--url", url, "--token", token,
                           str(scenario), *extra], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)


@pytest.fixture
def national(tmp_path: Path):
    store = make_store(tmp_path / "store.db", "national.yaml")
    tokens_path = tmp_path / "tokens.json"
    token = tokens.add(tokens_path, "ministry", Role.parse("regulator"))
    with start_in_thread(store, "127.0.0.1", 0, tokens_path, rate=None) as server:
        yield server, token, store


def test_the_national_cutoff_fast(national) -> None:
    server, token, store = national
    done = drive(server.url, token, ROOT / "experiments" / "national-cutoff.yaml", "--fast")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (f"national-cutoff: 3 steps through {server.url} as ministry "
                        "(regulator), from revision 1")
    assert lines[1] == "t=0s      --   normal operation (no change)"
    assert lines[2].startswith("t=8h      r2   loaded ")
    assert lines[2].endswith(" policies from policy set international cutoff, essential "
                             "services whitelisted")
    assert lines[3].startswith("t=1d4h    r3   revoked #1, #2, ")
    assert len(lines) == 4
    with open_store(store, create=False) as s:
        assert s.policies() == ()
        cutoff = s.revision_info(2)
        assert (cutoff.author, cutoff.reason) == (
            "api:ministry", "international cutoff, essential services whitelisted")
        orders = s.policies(2)
        assert (orders[0].action, str(orders[0].target), orders[0].reason) == (
            "deny", "international", "national order to cut international traffic")
        assert s.revision_info(3).author == "api:ministry"


def test_steps_are_paced_on_the_scenarios_time_scale(tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    scenario.write_text(f"""\
name: short
topology: {ROOT / "topologies" / "minimal.yaml"}
time_scale: 1h per 0.5s
duration: 2h
probes:
  - {{kind: web, every: 2h, from: all}}
timeline:
  - {{at: 0h, phase: normal, standing: {{erin: 50}}}}
  - at: 1h
    label: cut mobinet
    add:
      - {{name: cut, action: deny, target: international, scope: "isp:mobinet"}}
    standing: {{dave: 20}}
  - {{at: 90m, label: lift, restore: true}}
""")
    store = make_store(tmp_path / "store.db")
    tokens_path = tmp_path / "tokens.json"
    token = tokens.add(tokens_path, "ministry", Role.parse("regulator"))
    with start_in_thread(store, "127.0.0.1", 0, tokens_path, rate=None) as server:
        done = drive(server.url, token, scenario)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[1:] == [
            "t=0s      r2   erin now has standing 50",
            "t=1h      r3   loaded 1 policies from policy set cut mobinet",
            "t=1h      r4   dave now has standing 20",
            "t=1h30m   r5   revoked #1",
            "t=1h30m   r6   dave now has standing 100",
            "t=1h30m   r7   erin now has standing 100"]
        revs = {r.id: r.committed_at for r in server.store.history()}
    # 1 h 30 m of scenario time is 0.75 s of real time after the first step, which can only
    # have been late (so less than 0.75 s before): --fast would take a few milliseconds.
    assert revs[5] - revs[2] > 0.5


def test_a_refusal_is_reported_and_exits_1(national, tmp_path: Path) -> None:
    server, token, _ = national
    done = drive(server.url, token + "x", ROOT / "experiments" / "national-cutoff.yaml",
                 "--fast")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "refused: GET /v1/status: 401 invalid bearer token (expected a token that `sovnet api "
        "token add` printed and that has not been revoked)")
