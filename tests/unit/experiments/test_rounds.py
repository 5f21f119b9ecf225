"""Probe-round bookkeeping without hosts: every target sent ends as exactly one record."""

from __future__ import annotations

from pathlib import Path

from sovnet.config.scenario import load_scenario
from sovnet.experiments.plan import all_vantages, schedule
from sovnet.experiments.rounds import ProbeRounds
from sovnet.results import Measurement

ROOT = Path(__file__).resolve().parents[3]
SHORT = ROOT / "tests" / "integration" / "scenarios" / "minimal-cutoff.yaml"


class FakeAgents:
    def __init__(self, dead=()):
        self.sent: list[tuple[str, dict]] = []
        self.dead = set(dead)
        self.agents: dict = {}

    def send(self, host, command):
        self.sent.append((host, command))
        return host not in self.dead


class FakeFolder:
    def __init__(self):
        self.records, self.events = [], []
        self.path = Path("/nonexistent/2026-12-03T00-00-00Z-fake")

    def measurement(self, rec):
        assert isinstance(rec, Measurement)  # the model, as the real folder keeps it
        self.records.append(rec.to_json())

    def event(self, ev):
        self.events.append(ev)


def setup(dead=()):
    sc = load_scenario(SHORT)
    agents, folder = FakeAgents(dead), FakeFolder()
    counts = {"measurements": 0, "probe_errors": 0, "rounds": 0}
    rounds = ProbeRounds(sc, all_vantages(sc), agents, folder, counts, now=lambda: 1.0,
                         revision_at=lambda t: 7 if t >= 0.5 else 6)
    first_web = next(a for a in schedule(sc) if a.kind == "probe" and a.probe.kind == "web")
    return sc, agents, folder, counts, rounds, first_web


def observation(connected=True):
    return {"client_resolver": "r", "queries": [], "requests": [], "page": {"resources": []},
            "tcp_connect": [{"ip": "1.2.3.4", "port": 80, "t0": 0.0, "t": 0.01,
                             "status": {"success": connected, "failure": None}}],
            "dns_experiment_failure": None, "http_experiment_failure": None}


def test_a_web_round_goes_to_every_vantage_point_and_the_control_with_true_addresses():
    sc, agents, _, counts, rounds, action = setup()
    rounds.send(action)
    hosts = [h for h, _ in agents.sent]
    assert hosts[0] == sc.control and sorted(hosts[1:]) == ["alice", "carol", "dave", "erin"]
    control = agents.sent[0][1]
    assert control["control"] is True
    assert {t["service"]: t["addrs"] for t in control["targets"]}["bank"] == [
        sc.topology.host("bank").ip]
    assert len(rounds.pending) == 4 * 6 and counts["rounds"] == 1


def test_a_line_waits_for_its_control_then_becomes_one_classified_record():
    sc, agents, folder, counts, rounds, action = setup()
    rounds.t0 = 100.0
    rounds.send(action)
    cmd = agents.sent[1][1]["id"]
    line = {"id": cmd, "kind": "web", "service": "gov", "t0_mono": 100.75, "runtime": 0.02,
            "observation": observation()}
    rounds.result("alice", line)
    assert folder.records == [] and rounds.busy  # waiting for the control
    rounds.result(sc.control, {"id": cmd, "service": "gov", "control": {
        "dns": {"addrs": ["1.2.3.4"], "failure": None},
        "tcp_connect": {"1.2.3.4:80": {"status": True, "failure": None}},
        "http_request": {"body_length": None, "failure": "eof_error", "title": None,
                         "headers": {}, "status_code": None}}})
    (rec,) = folder.records
    assert (rec["subscriber"], rec["service"], rec["store_revision"]) == ("alice", "gov", 7)
    assert rec["t_real"] == 0.75 and rec["t_scenario"] == 0.75 * sc.time_scale
    assert "blocking" in rec["test_keys"]
    assert counts["measurements"] == 1


def test_a_dead_agent_costs_records_with_errors_not_silence():
    _, _, folder, counts, rounds, action = setup(dead={"carol"})
    rounds.send(action)
    lost = [r for r in folder.records if r["subscriber"] == "carol"]
    assert len(lost) == 6 and all(r["probe_error"] == "the probe agent is not running"
                                  and r["test_keys"] == {} for r in lost)
    assert counts["probe_errors"] == 6


def test_an_agent_that_exits_mid_run_and_one_that_never_answers_are_both_accounted_for():
    sc, agents, folder, counts, rounds, action = setup()
    rounds.send(action)
    rounds.result("dave", {"agent_exit": -9, "raw": "Killed"})
    assert sum(r["subscriber"] == "dave" for r in folder.records) == 6
    assert all("exited with status -9" in r["probe_error"] and r["raw_output"] == "Killed"
               for r in folder.records)
    rounds.result("erin", {"id": "nonsense", "service": "x", "error": "not JSON", "raw": "%%"})
    assert folder.events[-1]["type"] == "agent_error" and folder.events[-1]["host"] == "erin"
    rounds.give_up(25)
    assert len(folder.records) == 4 * 6 and not rounds.busy
    assert {r["probe_error"] for r in folder.records if r["subscriber"] == "alice"} == {
        "no result from the probe agent within 25 s after the last round"}


def test_after_the_run_an_agent_exit_is_no_error():
    _, _, folder, _, rounds, _ = setup()
    rounds.stopping = True
    rounds.result("alice", {"agent_exit": 0, "raw": ""})
    assert folder.records == [] and folder.events == []


def test_the_warm_up_round_is_sent_waited_for_and_not_recorded():
    sc, agents, folder, counts, rounds, _ = setup()

    class Replies:  # every target answers at once
        def __init__(self):
            self.lines = []

        def get(self, timeout):
            import queue

            if not self.lines:
                raise queue.Empty
            return self.lines.pop(0)

    agents.results = Replies()
    agents.send = lambda host, cmd: (agents.results.lines.extend(
        (host, {"id": cmd["id"], "service": t["service"]}) for t in cmd["targets"]) or True)
    assert rounds.warm_up(timeout=5) == 4 * 6
    rounds.result("alice", {"id": "warmup-0", "service": "gov"})  # a late one
    assert folder.records == [] and folder.events == [] and counts["probe_errors"] == 0


def test_a_stream_round_sends_its_window_in_real_seconds_and_its_line_becomes_a_record():
    import dataclasses

    from sovnet.experiments.plan import Action
    from sovnet.model.policy import parse_scope
    from sovnet.model.scenario import Probe, ServiceFilter

    sc, agents, folder, counts, _, _ = setup()
    probe = Probe("stream", 3600, (parse_scope("subscriber:alice"),), 1, ServiceFilter(("gov",)),
                  rate=50)  # window 0: the whole interval, 2 s real at 30m per 1s
    sc = dataclasses.replace(sc, probes=(probe,))
    rounds = ProbeRounds(sc, all_vantages(sc), agents, folder, counts, now=lambda: 1.0,
                         revision_at=lambda t: 7)
    rounds.send(Action(1800, "probe", 0, probe=probe))
    [(host, cmd)] = agents.sent
    assert (host, cmd["kind"], cmd["rate"], cmd["window"]) == ("alice", "stream", 50, 2.0)
    assert cmd["targets"] == [{"service": "gov", "ip": sc.topology.host("gov").ip}]
    keys = {"ip": cmd["targets"][0]["ip"], "rate": 50, "window_s": 2.0, "start_wall": 5.0,
            "sent": 100, "received": 100, "replies": [], "icmp_errors": 0, "failure": None}
    rounds.result("alice", {"id": cmd["id"], "kind": "stream", "service": "gov",
                            "t0_mono": 1.0, "t0_wall": 5.0, "runtime": 2.3, "observation": keys})
    [rec] = folder.records
    assert (rec["test_name"], rec["test_keys"], rec["probe_error"]) == ("sovnet_stream", keys, None)
