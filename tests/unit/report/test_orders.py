"""What was ordered and when each ISP obeyed, from a run folder's revisions.jsonl (or, in an
older folder, its steps)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sovnet.report import ReportError, Run, load_run
from sovnet.report.orders import SHARED, orders, policy_spans


def test_orders_in_plain_words_with_each_isps_first_and_last_switch(run: Run) -> None:
    got = orders(run)
    assert [(o.step, o.revision, o.author) for o in got] == [
        (1, 2, "scenario:synthetic"), (2, 3, "scenario:synthetic")]
    cut = got[0]
    assert cut.reason == "international cutoff, essential services whitelisted"
    assert cut.lines == (
        "ordered: drop everything abroad for all subscribers (priority 100): national order 7",
        "ordered: allow banking (BANK) for all subscribers (priority 200): essential services")
    assert got[1].lines[0].startswith("revoked: drop everything abroad")
    step = next(s for s in run.steps if s.revision == 2)
    assert step.t_commit is not None
    by_isp = {e.isp: e for e in cut.enforcement}
    assert list(by_isp) == ["fixnet", "mobinet", SHARED]
    for isp, switches in (("fixnet", ["acc1", "core1"]), ("mobinet", ["acc2", "core2"]),
                          (SHARED, ["dc1", "gw1", "inet1"])):
        ms = [(step.acks[sw] - step.t_commit) * 1000 for sw in switches]
        e = by_isp[isp]
        assert (e.switches, e.acked, e.refused, e.changed) == (len(switches),) * 2 + (0,) + (
            len(switches),)
        assert e.first_ms == pytest.approx(min(ms), abs=1e-3)
        assert e.last_ms == pytest.approx(max(ms), abs=1e-3)
        assert e.complete


def test_each_policy_spans_its_order_to_its_revocation(run: Run) -> None:
    spans = policy_spans(run)
    assert [(s.policy.id, s.policy.action) for s in spans] == [(1, "deny"), (2, "allow")]
    cut, restore = (s.t_scenario for s in run.steps if s.revision in (2, 3))
    assert all((s.start_s, s.end_s, s.order) == (cut, restore, 1) for s in spans)


def test_a_folder_without_revisions_falls_back_to_its_steps(run_dir: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(run_dir, tmp_path / "old"))
    (folder / "revisions.jsonl").unlink()
    old = load_run(folder)
    got = orders(old)
    assert [(o.step, o.author, o.lines) for o in got] == [
        (1, "", ("deny international for all (priority 100) as cutoff", "load essential-services")),
        (2, "", ("restore: revoke every policy, reset subscribers",))]
    assert got[0].enforcement[0].acked == 2
    assert policy_spans(old) == []


def test_a_malformed_revision_names_its_line(run_dir: Path, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(run_dir, tmp_path / "bad"))
    first = (folder / "revisions.jsonl").read_text().splitlines()[0]
    (folder / "revisions.jsonl").write_text(f'{first}\n{{"revision": "two"}}\n')
    with pytest.raises(ReportError, match=r"revisions.jsonl:2: 'revision' must be an integer, "
                                          r"got 'two'"):
        load_run(folder)


def test_a_scheduled_policy_is_in_force_in_its_windows_only() -> None:
    from sovnet.model.policy import Policy, Scope, Target
    from sovnet.model.schedule import Schedule
    from sovnet.report.orders import PolicySpan

    day = 86400.0
    curfew = Policy(1, "deny", Scope("all"), Target("any"),
                    schedule=Schedule((3600.0, 9 * 3600.0), end=2 * day + 18 * 3600))
    span = PolicySpan(curfew, 600.0, None, 1)
    # t=0 is 18:00: 01:00-09:00 falls at 7-15 h, 31-39 h and 55-63 h, and the schedule ends
    # at 66 h although the store holds the policy to the end
    got = span.in_force(4 * day, origin=18 * 3600.0)
    assert [(a / 3600, b / 3600) for a, b in got] == [(7, 15), (31, 39), (55, 63)]
    whole = PolicySpan(Policy(2, "deny", Scope("all"), Target("any")), 600.0, 7200.0, 1)
    assert whole.in_force(4 * day, origin=0.0) == ((600.0, 7200.0),)


def test_subscriber_and_device_orders_say_what_changed(run_dir: Path, tmp_path: Path) -> None:
    import json

    from sovnet.report.orders import others

    folder = Path(shutil.copytree(run_dir, tmp_path / "admission"))
    bob_mac = "02:00:0a:02:00:10"
    line = {"revision": 9, "committed_wall": 1764064810.0, "t_real": 10.0, "t_scenario": 24000.0,
            "author": "operator", "reason": "standing review",
            "changes": [{"entity": "subscriber", "key": "alice", "op": "put",
                         "body": {"status": "registered", "standing": 30}},
                        {"entity": "device", "key": bob_mac, "op": "put",
                         "body": {"subscriber": "bob"}}],
            "acks": {}}
    with open(folder / "revisions.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")
    got = orders(load_run(folder))
    # the inventory is the starting point: alice was registered, of standing 100
    assert got[-1].lines == ("subscriber alice: standing 100 → 30",
                             f"device {bob_mac} registered to subscriber bob")
    assert got[-1].step is None and got[-1].author == "operator"
    assert others(got) == [(24000.0, "subscriber alice: standing 100 → 30 (+1 more)")]
