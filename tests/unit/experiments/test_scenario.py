"""Scenarios without root: loading, time, vantage points, the schedule, effects, expectations."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.config.scenario import load_scenario
from sovnet.errors import ConfigError
from sovnet.experiments import expect
from sovnet.experiments.effect import effect, reachability
from sovnet.experiments.plan import all_vantages, schedule
from sovnet.model.policy import Policy, initial_subscribers, parse_scope, parse_target
from sovnet.model.scenario import (
    Expectation,
    Probe,
    ServiceFilter,
    format_duration,
    parse_duration,
    parse_time_scale,
    select_vantages,
)
from sovnet.results import Measurement


def evaluate(*args) -> list[dict]:
    """The results as written to expectations.json."""
    return [r.to_json() for r in expect.evaluate(*args)]


ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / "experiments" / "national-cutoff.yaml"
SHORT = ROOT / "tests" / "integration" / "scenarios" / "minimal-cutoff.yaml"


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("8h", 28800),
                                           ("2d", 172800), ("1h30m", 5400), ("250ms", 0.25),
                                           (12, 12), (1.5, 1.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "3 weeks", "h", "1.h", "-1h", True])
def test_bad_durations(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration_inverts_whole_units():
    for text in ("1h30m", "2d", "45s", "1d2h3m4s"):
        assert format_duration(parse_duration(text)) == text
    assert format_duration(0) == "0s"


def test_time_scale():
    assert parse_time_scale("1h per 1.5s") == 2400
    assert parse_time_scale(60) == 60
    with pytest.raises(ValueError, match="expected EMULATED per REAL"):
        parse_time_scale("1h per 0s")


def test_default_experiment_loads_with_its_inputs():
    sc = load_scenario(DEFAULT)
    assert (sc.name, sc.time_scale, sc.duration) == ("national-cutoff", 2400, 36 * 3600)
    assert [p[0] for p in sc.phases()] == ["normal", "cutoff", "restored"]
    assert [role for role, _ in sc.inputs] == ["scenario", "topology", "policy-set"]
    cutoff = sc.steps[1]
    assert {p.name for p in cutoff.add} == {"cutoff", "messenger", "essential-services"}
    assert sc.steps[2].restore
    assert sc.control in {s.name for s in sc.topology.services if s.locus == "foreign"}
    assert sc.real(sc.duration) == 54


def test_a_broken_policy_set_is_reported_in_its_own_file_and_where_it_is_loaded(tmp_path):
    (tmp_path / "set.yaml").write_text("name: s\npolicies:\n  - {action: deny, target: 'x:y'}\n")
    text = SHORT.read_text().replace("../../../controller/policies/essential-services.yaml",
                                     "set.yaml")
    text = text.replace("../../../topologies", str(ROOT / "topologies"))
    (tmp_path / "sc.yaml").write_text(text)
    with pytest.raises(ConfigError) as e:
        load_scenario(tmp_path / "sc.yaml")
    lines = str(e.value).splitlines()
    assert len(lines) == 2
    assert lines[0] == (f"{tmp_path / 'sc.yaml'}:17:12: timeline[1].load[0]: the policy set "
                        f"'{tmp_path / 'set.yaml'}' has errors (reported at its own lines)")
    assert lines[1].startswith(f"{tmp_path / 'set.yaml'}:3:28: policies[0].target: unknown "
                               "target 'x:y'")


def test_vantages_one_per_isp_and_class_registered_only_and_seeded():
    sc = load_scenario(DEFAULT)
    web = sc.probes[0]
    picked = select_vantages(sc.topology, web, seed=7)
    groups = [(v.isp, v.cls) for v in picked]
    assert len(groups) == len(set(groups)) == 10
    assert all(sc.topology.subscriber(v.subscriber).registered for v in picked)
    assert picked == select_vantages(sc.topology, web, seed=7)
    others = {tuple(v.subscriber for v in select_vantages(sc.topology, web, seed=s))
              for s in range(5)}
    assert len(others) > 1  # the seed matters
    by_probe = all_vantages(sc)  # narrower scopes pick the same subscriber in each group
    assert set(by_probe[1]) <= set(by_probe[0]) and set(by_probe[2]) <= set(by_probe[0])


def test_an_unregistered_subscriber_measures_when_named():
    sc = load_scenario(SHORT)
    probe = Probe("web", 3600, (parse_scope("subscriber:bob"),), 1, ServiceFilter())
    assert [v.subscriber for v in select_vantages(sc.topology, probe, 1)] == ["bob"]


def test_schedule_applies_a_step_before_the_round_at_the_same_time():
    sc = load_scenario(SHORT)
    acts = schedule(sc)
    at_2h = [(a.kind, a.index) for a in acts if a.at == 7200]
    assert at_2h[0] == ("step", 1) and ("probe", 0) in at_2h
    web_rounds = [a for a in acts if a.kind == "probe" and a.index == 0]
    assert [a.at for a in web_rounds] == [i * 1800 for i in range(12)]
    assert [a.round for a in web_rounds] == list(range(12))
    assert all(a.at < sc.duration for a in acts if a.kind == "probe")


def test_effect_of_a_cutoff_with_a_whitelist():
    sc = load_scenario(SHORT)
    topo = sc.topology
    subs = initial_subscribers(topo)
    before = reachability(topo, (), subs, ["alice"], ["bank", "social", "cdn"])
    cut = [Policy(1, "deny", parse_scope("all"), parse_target("international")),
           Policy(2, "allow", parse_scope("all"), parse_target("category:BANK"), 500)]
    after = reachability(topo, cut, subs, ["alice"], ["bank", "social", "cdn"])
    assert effect(before, after) == [("alice", "cdn", False), ("alice", "social", False)]
    assert effect(after, before) == [("alice", "cdn", True), ("alice", "social", True)]


def _model(objs):
    """measurements.jsonl objects -> the model the expectations read."""
    return [Measurement.parse(m, f"m{i}") for i, m in enumerate(objs)]


def _web(sub, cls, svc, t, accessible, blocking=False, usable=None, failure=None):
    return {"test_name": "web_connectivity", "subscriber": sub, "class": cls, "isp": "fixnet",
            "service": svc, "category": "GRP", "locus": "foreign", "t_real": t / 100,
            "t_scenario": t, "probe_error": None,
            "test_keys": {"accessible": accessible, "blocking": blocking,
                          "http_experiment_failure": failure,
                          "x_sovnet_usable": accessible if usable is None else usable}}


def test_expectations_select_who_what_when_and_fail_on_nothing():
    sc = load_scenario(SHORT)
    ms = [_web("alice", "fixed_home", "social", 100, False, "tcp_ip"),
          _web("alice", "fixed_home", "social", 200, False, "tcp_ip"),
          _web("carol", "enterprise", "social", 200, True),
          _web("alice", "fixed_home", "social", 9000, True),  # outside the window
          # started inside, ended after the window: its retried SYN met the next regime
          dict(_web("alice", "fixed_home", "social", 900, True), t_scenario_end=1001),
          _web("alice", "fixed_home", "bank", 150, True, usable=False),
          dict(_web("alice", "fixed_home", "social", 150, True), probe_error="boom")]
    exp = [Expectation("cut", (parse_scope("class:fixed_home"),), (0, 1000),
                       ServiceFilter(("social",)), "accessible", "<=", 0.05),
           Expectation("seen", (parse_scope("all"),), (0, 1000), ServiceFilter(("social",)),
                       "blocking", ">=", 0.6, outcome="tcp_ip"),
           Expectation("bank", (parse_scope("all"),), (0, 1000), ServiceFilter(("bank",)),
                       "usable", ">=", 0.5),
           Expectation("none", (parse_scope("isp:mobinet"),), (0, 1000), ServiceFilter(),
                       "accessible", ">=", 0.0)]
    got = {r["name"]: r for r in evaluate(sc.topology, exp, _model(ms))}
    assert (got["cut"]["observed"], got["cut"]["n"], got["cut"]["pass"]) == (0.0, 2, True)
    assert got["seen"]["observed"] == pytest.approx(2 / 3) and got["seen"]["pass"]
    assert got["seen"]["metric"] == "blocking:tcp_ip"
    assert (got["bank"]["observed"], got["bank"]["pass"]) == (0.0, False)
    assert (got["none"]["n"], got["none"]["pass"], got["none"]["note"]) == (
        0, False, "no measurement matched")


def test_failure_share_counts_ooni_failure_strings_and_null_for_none():
    sc = load_scenario(SHORT)
    ms = [_web("alice", "fixed_home", "social", 100, False, "http-failure",
               failure="connection_reset"),
          _web("alice", "fixed_home", "social", 200, False, "http-failure",
               failure="generic_timeout_error"),
          _web("carol", "enterprise", "social", 300, True)]
    exp = [Expectation("reset", (parse_scope("all"),), (0, 1000), ServiceFilter(("social",)),
                       "failure", ">=", 0.3, outcome="connection_reset"),
           Expectation("none", (parse_scope("all"),), (0, 1000), ServiceFilter(("social",)),
                       "failure", ">=", 0.5, outcome="null")]
    got = {r["name"]: r for r in evaluate(sc.topology, exp, _model(ms))}
    assert (got["reset"]["observed"], got["reset"]["pass"]) == (pytest.approx(1 / 3), True)
    assert got["reset"]["metric"] == "failure:connection_reset"
    assert (got["none"]["observed"], got["none"]["pass"]) == (pytest.approx(1 / 3), False)


def test_median_metrics():
    sc = load_scenario(SHORT)
    ms = [{"test_name": "sovnet_throughput", "subscriber": "alice", "class": "fixed_home",
           "service": "gov", "t_real": 0.1, "t_scenario": 10, "probe_error": None,
           "test_keys": {"throughput_kbps": v}} for v in (100.0, 300.0, 200.0)]
    # a failed transfer is not a sample: not in the median, nor in its n (sovnet.results)
    ms.append(dict(ms[0], test_keys={"throughput_kbps": None, "failure": "connection_reset"}))
    exp = Expectation("tp", (parse_scope("all"),), (0, 100), ServiceFilter(("gov",)),
                      "throughput_kbps", ">", 150)
    (r,) = evaluate(sc.topology, [exp], _model(ms))
    assert (r["observed"], r["n"], r["pass"], r["note"]) == (
        200.0, 3, True, "1 failed transfer not counted")
    (r,) = evaluate(sc.topology, [exp], _model(ms[3:]))
    assert (r["observed"], r["n"], r["pass"], r["note"]) == (
        None, 0, False, "1 failed transfer, no sample")


def test_the_documented_scenario_example_is_valid(tmp_path):
    text = (ROOT / "experiments" / "README.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    example = example.replace("../", f"{ROOT}/")
    (tmp_path / "example.yaml").write_text(example)
    sc = load_scenario(tmp_path / "example.yaml")
    assert [s.phase for s in sc.steps] == ["normal", "cutoff", "", "restored"]
    assert sc.steps[2].status == (("home1", "revoked"), ("vip1", "privileged"))
    assert sc.steps[2].standing == (("home3", 30),)
    assert sc.steps[2].revoke == ("essential-services",)
    # added at 8h, i.e. 08:00 (still inside 01:00-09:00); the next night is cut short by the
    # restore at 28h
    assert [(n, a / 3600, b / 3600) for n, a, b in sc.scheduled_windows()] == [
        ("curfew", 8, 9), ("curfew", 25, 28)]
    assert sc.steps[1].add[2].action == "throttle:256kbit"


def test_sovnet_run_refuses_a_bad_scenario_before_starting_anything(tmp_path, capsys):
    from sovnet.cli import main

    bad = ROOT / "tests" / "unit" / "config" / "cases" / "scenario_names.yaml"
    assert main(["run", str(bad), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:8:35: probes[0].from: unknown ISP 'nowhere'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_scheduled_windows_follow_the_scenario_clock_and_end_with_the_policy():
    sc = load_scenario(ROOT / "experiments" / "myanmar-2021.yaml")
    # t=0 is 18:00: the 01:00-09:00 curfew is t=7h-15h each night, until the whitelist at 66h
    assert [(n, a / 3600, b / 3600) for n, a, b in sc.scheduled_windows()] == [
        ("curfew", 7, 15), ("curfew", 31, 39), ("curfew", 55, 63)]
    assert sc.origin == 18 * 3600


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_shipped_scenario_validates_and_runs_in_minutes(path):
    sc = load_scenario(path)
    assert sc.expectations
    assert sc.real(sc.duration) <= 300


def _state_after(sc, at: float):
    """Policies and subscribers as the timeline leaves them at `at` (adds and statuses only)."""
    import dataclasses

    subs = initial_subscribers(sc.topology)
    adds = []
    for step in sc.steps:
        if step.at > at:
            break
        adds += step.add
        for name, status in step.status:
            subs[name] = dataclasses.replace(subs[name], status=status)
    policies = [Policy(i, a.action, a.request.scope, a.request.target, a.request.priority)
                for i, a in enumerate(adds, 1)]
    return adds, policies, subs


def test_kashmir_whitelist_is_usable_for_5_of_its_12_sites_by_construction():
    sc = load_scenario(ROOT / "experiments" / "kashmir-2020.yaml")
    topo = sc.topology
    adds, policies, subs = _state_after(sc, 200 * 86400)  # 2G + whitelist
    listed = [a.request.target.value for a in adds
              if a.name == "whitelist" and a.request.target.kind == "service"]
    services = [s.name for s in topo.services]
    for who in ("chpost1", "chpre1", "dlmac1"):  # verified: the list, nothing else
        reach = reachability(topo, policies, subs, [who], services)
        assert sorted(s for s in services if reach[who, s]) == sorted(listed)
        usable = [s for s in listed if all(reach[who, d] for d in topo.service(s).depends_on)]
        assert (len(listed), len(usable)) == (12, 5)  # 42 %, as the real list's 126 of 301
    for who in ("chpre2", "zopre1", "chnew", "dlhome1"):  # unverified or unregistered
        assert not any(reachability(topo, policies, subs, [who], services).values())


def test_permission_to_connect_steps_fall_inside_a_stream_window_with_room_after():
    from sovnet.experiments.stream_effect import MIN_AFTER

    sc = load_scenario(ROOT / "experiments" / "permission-to-connect.yaml")
    [stream] = [p for p in sc.probes if p.kind == "stream"]
    rounds = [a.at for a in schedule(sc) if a.kind == "probe" and a.probe is stream]
    for step in sc.steps[1:]:
        assert any(sc.real(step.at - r) >= 0.5 and sc.real(r + stream.window - step.at)
                   >= MIN_AFTER + 0.5 for r in rounds), step.label
