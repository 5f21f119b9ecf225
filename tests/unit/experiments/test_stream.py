"""Stream probes without root: the ICMP codec, commit -> last/first packet, the expectations on
them, what the reference semantics say a stream sees, and the scenario file's checks."""

from __future__ import annotations

import dataclasses
import socket
import struct
from pathlib import Path

import pytest

from sovnet.config.scenario import load_scenario
from sovnet.errors import ConfigError
from sovnet.experiments import expect
from sovnet.experiments.effect import ping_reachability, reachability
from sovnet.experiments.stream_effect import measure, stream_effects
from sovnet.model.policy import (
    Policy,
    SubscriberState,
    initial_subscribers,
    parse_scope,
    parse_target,
)
from sovnet.model.scenario import Expectation, ServiceFilter
from sovnet.probes.stream import build_echo, checksum, parse_icmp
from sovnet.results import Measurement, StepEvent, StreamEffect, StreamKeys


def evaluate(*args) -> list[dict]:
    """The results as written to expectations.json."""
    return [r.to_json() for r in expect.evaluate(*args)]


ROOT = Path(__file__).resolve().parents[3]
MINIMAL = ROOT / "topologies" / "minimal.yaml"
T0 = 1_764_064_800.0


# -- the ICMP codec -------------------------------------------------------------------------

def ip_header(src: str, dst: str, proto: int, length: int) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))


def test_an_echo_request_carries_its_id_and_seq_and_a_valid_checksum():
    pkt = build_echo(0xBEEF, 513)
    assert pkt[:2] == b"\x08\x00" and struct.unpack("!HH", pkt[4:8]) == (0xBEEF, 513)
    assert checksum(pkt) == 0  # a checksummed message sums to zero
    assert checksum(b"\x01") == checksum(b"\x01\x00")  # odd lengths are padded


def test_an_echo_reply_is_read_back_with_who_sent_it():
    req = build_echo(7, 42)
    reply = b"\x00" + req[1:]  # what the target's kernel sends back (checksum aside)
    msg = parse_icmp(ip_header("10.250.0.3", "10.1.0.2", 1, len(reply)) + reply)
    assert (msg.kind, msg.src, msg.ident, msg.seq) == ("reply", "10.250.0.3", 7, 42)


def test_an_icmp_error_is_attributed_to_the_request_it_quotes():
    req = build_echo(7, 42)
    quoted = ip_header("10.1.0.2", "10.250.0.3", 1, len(req)) + req[:8]
    # type 3 code 13: communication administratively prohibited (sovnet's reject)
    error = struct.pack("!BBHI", 3, 13, 0, 0) + quoted
    msg = parse_icmp(ip_header("10.1.0.1", "10.1.0.2", 1, len(error)) + error)
    assert (msg.kind, msg.ident, msg.seq, msg.failure()) == ("error", 7, 42, "host_unreachable")
    net = struct.pack("!BBHI", 3, 0, 0, 0) + quoted
    assert parse_icmp(ip_header("10.1.0.1", "10.1.0.2", 1, len(net)) + net).failure() == (
        "network_unreachable")


def test_what_is_not_an_icmp_message_is_none_and_our_own_request_is_other():
    assert parse_icmp(b"\x45\x00") is None
    assert parse_icmp(b"\x60" + bytes(47)) is None  # IPv6
    req = build_echo(7, 1)
    assert parse_icmp(ip_header("10.1.0.2", "10.1.0.2", 1, len(req)) + req).kind == "other"


# -- commit -> last / first packet ----------------------------------------------------------

def stream(start: float, replies: list[float], rate: float = 100.0, sent: int = 400) -> dict:
    """Test keys of a stream that started `start` s after T0, replies at those offsets."""
    return {"start_wall": T0 + start, "rate": rate, "window_s": sent / rate, "sent": sent,
            "received": len(replies),
            "replies": [[i, round(t - 0.001, 4), t] for i, t in enumerate(replies)]}


def keys(d: dict) -> StreamKeys:
    """Stream test keys as the model reads them."""
    m = Measurement.parse(record("x", d), "test")
    assert m is not None and isinstance(m.keys, StreamKeys)
    return m.keys


def ticks(a: float, b: float, step: float = 0.01) -> list[float]:
    return [round(a + i * step, 4) for i in range(int(round((b - a) / step)))]


def test_a_cut_is_timed_to_the_last_reply_even_one_that_arrives_after_the_commit():
    k = keys(stream(10.0, ticks(0, 2.047)))  # replies until 12.04 s; the commit at 12.0 s
    got = measure(k, T0, 12.0, allowed=False)
    assert got["delay_ms"] == pytest.approx(40.0, abs=0.5)
    assert (got["replies_before"], got["replies_after"], got["note"]) == (200, 5, "")


def test_a_cut_that_never_came_and_a_stream_with_nothing_are_not_timed():
    k = keys(stream(10.0, ticks(0, 4.0)))  # replies to the end of the window
    got = measure(k, T0, 12.0, allowed=False)
    assert got["delay_ms"] is None and "not cut" in got["note"]
    got = measure(keys(stream(10.0, [])), T0, 12.0, allowed=False)
    assert got["delay_ms"] is None and "no reply at all" in got["note"]


def test_an_admission_is_timed_to_the_first_reply_after_the_commit():
    k = keys(stream(10.0, ticks(2.13, 4.0)))
    got = measure(k, T0, 12.0, allowed=True)
    assert got["delay_ms"] == pytest.approx(130.0, abs=0.5) and got["replies_before"] == 0
    got = measure(keys(stream(10.0, [])), T0, 12.0, allowed=True)
    assert got["delay_ms"] is None and "no reply came back" in got["note"]


def record(sub: str, keys: dict, svc: str = "gov", error: str | None = None) -> dict:
    return {"test_name": "sovnet_stream", "subscriber": sub, "class": "fixed_home",
            "service": svc, "t_real": 0.0, "t_scenario": 0.0, "test_keys": {} if error else keys,
            "probe_error": error}


def model(objs: list[dict]) -> list[Measurement]:
    return [Measurement.parse(m, f"m{i}") for i, m in enumerate(objs)]


def test_stream_effects_pick_the_stream_that_spans_the_commit_and_say_why_when_none_does():
    step = {"index": 2, "at_s": 14400, "t_real": 11.9, "t_scenario": 14400, "t_commit": 12.0,
            "acks": {"tacc2": 12.045},
            "stream_effect": [["flat3", "gov", False], ["mpost2", "gov", False],
                              ["cpre2", "gov", False]]}
    ms = [record("flat3", stream(6.0, ticks(0, 4.0))),  # the window before: ignored
          record("flat3", stream(10.0, ticks(0, 2.055))),
          record("mpost2", stream(11.5, ticks(0, 1.0), sent=100)),  # sends 0.49 s after it
          record("cpre2", {}, error="the probe agent is not running")]
    flat3, mpost2, cpre2 = stream_effects([StepEvent.parse(step, "step")], model(ms), T0,
                                          {"flat3": "tacc2", "mpost2": "macc2"})
    assert (flat3.step, flat3.allowed, flat3.switch, flat3.at_s) == (2, False, "tacc2", 14400)
    assert flat3.delay_ms == pytest.approx(50.0, abs=0.5)
    assert flat3.switch_ack_ms == pytest.approx(45.0)
    assert mpost2.delay_ms is None and "ran from the change to 1 s after it" in mpost2.note
    assert cpre2.delay_ms is None and cpre2.switch_ack_ms is None
    # what the runner writes is what a reader reads back
    assert StreamEffect.parse(flat3.to_json(), "events.jsonl:1") == flat3
    assert stream_effects([StepEvent.parse(dict(step, t_commit=None), "step")], model(ms), T0,
                          {}) == []


# -- expectations on streams ----------------------------------------------------------------

def expectation(metric: str, op: str, threshold: float, during=(0, 100000), who="all"):
    return Expectation("x", (parse_scope(who),), during, ServiceFilter(("gov",)), metric, op,
                       threshold)


def topology():
    return load_scenario(ROOT / "tests" / "integration" / "scenarios" /
                         "minimal-cutoff.yaml").topology


def test_delivered_is_the_share_of_requests_answered_over_the_selected_streams():
    ms = [dict(record("alice", stream(0.0, ticks(0, 4.0))), t_scenario=10, t_scenario_end=20),
          dict(record("erin", stream(0.0, [])), t_scenario=10, t_scenario_end=20)]
    (r,) = evaluate(topology(), [expectation("delivered", ">=", 0.5)], model(ms))
    assert (r["observed"], r["n"], r["pass"]) == (0.5, 2, True)


def test_last_packet_is_the_worst_cut_of_the_steps_in_the_window_and_unmeasured_fails():
    fx = [StreamEffect.parse(x | {"t_commit": 1.0}, "fx") for x in (
        {"step": 1, "at_s": 7200, "subscriber": "alice", "service": "gov", "allowed": False,
         "delay_ms": 40.0, "note": ""},
        {"step": 1, "at_s": 7200, "subscriber": "erin", "service": "gov", "allowed": False,
         "delay_ms": 61.5, "note": ""},
        {"step": 2, "at_s": 9000, "subscriber": "erin", "service": "gov", "allowed": True,
         "delay_ms": 120.0, "note": ""})]
    topo = topology()
    last, first, outside = evaluate(topo, [expectation("last_packet_ms", "<=", 100),
                                           expectation("first_packet_ms", "<=", 100),
                                           expectation("last_packet_ms", "<=", 100,
                                                       during=(0, 3600))], [], fx)
    assert (last["observed"], last["n"], last["pass"]) == (61.5, 2, True)
    assert (first["observed"], first["pass"]) == (120.0, False)
    assert (outside["n"], outside["pass"]) == (0, False)
    assert "no step in the window" in outside["note"]
    fx[0] = dataclasses.replace(fx[0], delay_ms=None,
                                note="replies ran on to the end of the stream's window")
    (r,) = evaluate(topo, [expectation("last_packet_ms", "<=", 100)], [], fx)
    assert (r["observed"], r["pass"]) == (None, False)
    assert r["note"].startswith("1 of 2 not measured: alice -> gov: replies ran on")


# -- what a stream should see, by the reference semantics -----------------------------------

def test_ping_reachability_follows_admission_standing_and_protocol():
    topo = topology()
    subs = initial_subscribers(topo)
    pairs = [("alice", "gov"), ("erin", "gov"), ("bob", "gov")]
    assert ping_reachability(topo, (), subs, pairs) == {
        ("alice", "gov"): True, ("erin", "gov"): True, ("bob", "gov"): False}  # bob: no device
    standing = [Policy(1, "deny", parse_scope("standing:<50"), parse_target("any"), 9000)]
    low = dict(subs, erin=SubscriberState("erin", "registered", subs["erin"].devices, 20))
    assert ping_reachability(topo, standing, low, pairs)[("erin", "gov")] is False
    assert ping_reachability(topo, standing, subs, pairs)[("erin", "gov")] is True
    no_ping = [Policy(2, "deny", parse_scope("all"), parse_target("port:icmp"))]
    assert ping_reachability(topo, no_ping, subs, pairs)[("alice", "gov")] is False
    assert reachability(topo, no_ping, subs, ["alice"], ["gov"])[("alice", "gov")] is True


# -- the scenario file ----------------------------------------------------------------------

SCENARIO = f"""\
name: s
topology: {MINIMAL}
time_scale: 1h per 4s
duration: 6h
probes:
  - {{kind: stream, every: 1h, start: 30m, from: [subscriber:alice, subscriber:erin],
     per_group: 2, to: {{service: gov}}{{extra}}}}
"""


def load(tmp_path, extra: str = "", tail: str = ""):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("{extra}", extra) + tail)
    return load_scenario(path)


def issues(tmp_path, extra: str = "", tail: str = "") -> list[str]:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, extra, tail)
    return [line.split(": ", 1)[1] for line in str(e.value).splitlines()]


def test_a_stream_probe_defaults_to_100_per_second_over_its_whole_interval(tmp_path):
    (p,) = load(tmp_path).probes
    assert (p.kind, p.rate, p.window) == ("stream", 100, 3600.0)
    (p,) = load(tmp_path, ", rate: 50, window: 45m").probes
    assert (p.rate, p.window) == (50, 2700.0)


def test_stream_settings_are_checked(tmp_path):
    assert issues(tmp_path, ", rate: 500") == [
        "probes[0].rate: 500 echo requests per second (expected at most 200)"]
    assert issues(tmp_path, ", window: 2h") == [
        "probes[0].window: a window of 2h is longer than the 1h between rounds (expected "
        "rounds that do not overlap)"]
    assert issues(tmp_path, ", window: 10m") == [
        "probes[0].window: a window of 10m is 0.667 s of real time at this time scale "
        "(expected 1 to 20 s: a stream sends in real time)"]
    web = "  - {kind: web, every: 1h, rate: 10, window: 30m}\n"
    assert issues(tmp_path, tail=web) == [
        "probes[1].rate: 'rate' applies to stream probes only (this one is web)",
        "probes[1].window: 'window' applies to stream probes only (this one is web)"]


def test_all_streams_together_stay_within_the_datapath_budget(tmp_path):
    many = "  - {kind: stream, every: 1h, from: all, per_group: 5, rate: 200}\n"
    [issue] = issues(tmp_path, tail=many)
    assert issue.startswith("probes[1]: the stream probes send 5000 echo requests per second")
    assert "expected at most 2000" in issue
