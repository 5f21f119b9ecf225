"""Admission tiers, standing and schedules on real OVS (tests/integration/topologies/shaping.yaml):
a privileged tier keeps access through a cutoff, a standing below the threshold cuts a
subscriber off, and a daily window comes into force and lifts on time with no store write."""

from __future__ import annotations

import time
from pathlib import Path

from sovnet.model.command import PolicyRequest
from sovnet.model.policy import parse_scope, parse_target
from sovnet.model.schedule import schedule
from sovnet.poll import eventually, wait_for
from tests.integration.probing import pings

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "tests" / "integration" / "topologies" / "shaping.yaml"


def reach(lab, src: str, service: str) -> bool:
    ip = lab.topology.host(service).ip
    return pings(lab.host(src), [ip])[ip]


def expect(lab, src: str, service: str, want: bool, timeout: float = 10.0) -> None:
    def check():
        assert reach(lab, src, service) == want, f"{src} -> {service}: expected {want}"
    eventually(check, timeout)


def add(lab, action, target, scope="all", priority=100, when=None):
    p = lab.store.add_policy(PolicyRequest.of(
            action, parse_scope(scope), parse_target(target), priority, author="test",
            reason=action, schedule=when))
    lab.wait_enforced(lab.store.revision())
    return p


def test_the_privileged_tier_keeps_access_through_a_cutoff(lab, clean):
    add(lab, "deny", "international")
    add(lab, "allow", "international", "tier:privileged", priority=500)
    expect(lab, "tara", "tnews", False)
    lab.store.set_subscriber_status("tara", "privileged", "test", "a journalist's line")
    lab.wait_enforced(lab.store.revision())
    expect(lab, "tara", "tnews", True)
    expect(lab, "tom", "tnews", False)
    expect(lab, "tom", "tbank", True)  # the domestic side stays up for everyone


def test_standing_below_the_threshold_cuts_every_packet(lab, clean):
    add(lab, "deny", "any", "standing:<50", priority=1000)
    expect(lab, "tom", "tbank", True)
    rev = lab.store.set_standing("tom", 30, "test", "score fell")
    lab.wait_enforced(rev)
    expect(lab, "tom", "tbank", False)
    expect(lab, "tara", "tbank", True)
    lab.store.set_standing("tom", 80, "test", "appeal granted")
    lab.wait_enforced(lab.store.revision())
    expect(lab, "tom", "tbank", True)


def test_a_daily_window_starts_and_ends_on_the_scenario_clock(lab, clean):
    # One real second is one scenario hour; the curfew is 02:00-04:00, so it starts about
    # 2 s from now and ends 2 s later, with nobody writing the store in between.
    epoch = time.time()
    lab.store.put_setting("clock", {"epoch": epoch, "scale": 3600.0, "origin": 0.0},
                          "test", "a fast clock")
    p = add(lab, "deny", "any", "subscriber:tom", when=schedule("02:00-04:00"))
    rev = lab.store.revision()
    expect(lab, "tom", "tbank", True, timeout=1.0)

    def noted(what):
        return [a for a in lab.store.acks(rev) if a.note == f"schedule: {what} #{p.id}"]

    on = wait_for(lambda: len(noted("on")) == len(lab.dpids()) and noted("on"), 6.0,
                  "the curfew to be enforced on every switch")
    expect(lab, "tom", "tbank", False, timeout=1.0)
    off = wait_for(lambda: len(noted("off")) == len(lab.dpids()) and noted("off"), 6.0,
                   "the curfew to lift on every switch")
    expect(lab, "tom", "tbank", True, timeout=2.0)
    late_on = max(a.acked_at for a in on) - (epoch + 2.0)
    late_off = max(a.acked_at for a in off) - (epoch + 4.0)
    print(f"\ncurfew enforced {late_on * 1000:.1f} ms after 02:00 and lifted "
          f"{late_off * 1000:.1f} ms after 04:00 (last switch ack)")
    assert 0 <= late_on < 1.0 and 0 <= late_off < 1.0
    assert lab.store.revision() == rev  # nobody wrote the store
