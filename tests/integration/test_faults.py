"""Faults survived: the controller, Open vSwitch and a store writer dying mid-run.

Each test prints its figures (run with -s to see them); the closing note of the hardening issue
quotes them. Timing figures are taken with no other lab running on the machine.
"""

from __future__ import annotations

import json
import os
import signal
import time

from sovnet.model.command import PolicyRequest
from sovnet.model.policy import parse_scope, parse_target
from sovnet.poll import eventually

RATE, WINDOW = 100, 8.0  # the stream probe: 100 echo requests a second for 8 s

STREAM = ("import json, sys; from sovnet.probes.stream import icmp_stream; "
          "print('started', flush=True); "
          f"print(json.dumps(icmp_stream(sys.argv[1], {RATE}, {WINDOW})), flush=True)")


def subscriber(lab):
    return next(s.name for s in lab.topology.subscribers if s.registered)


def service(lab, locus):
    """(name, address) of the first service at home or abroad."""
    name = next(s.name for s in lab.topology.services if s.locus == locus)
    return name, lab.topology.host(name).ip


def add(lab, action, target, scope="all", priority=100):
    lab.store.add_policy(PolicyRequest.of(action, parse_scope(scope), parse_target(target),
                                          priority, author="test", reason="fault test"))
    lab.wait_enforced(lab.store.revision())


def start_stream(host, ip):
    """An ICMP stream from `host` to `ip`, running once it has said so."""
    import sys

    proc = host.popen([sys.executable, "-c", STREAM, ip], text=True)
    assert proc.stdout.readline().strip() == "started", proc.stderr.read()
    return proc


def stream_result(proc) -> dict:
    out, err = proc.communicate(timeout=WINDOW + 30)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def fresh_acks(lab, rev, since):
    """{dpid: ack} of every switch that acknowledged `rev` after `since`, once all have."""
    def acked():
        fresh = {a.dpid: a for a in lab.store.acks(rev) if a.acked_at > since}
        assert fresh.keys() == set(lab.dpids()), f"{len(fresh)} of {len(lab.dpids())}"
        return fresh

    return eventually(acked, timeout=30, interval=0.005)


def test_a_controller_killed_mid_cutoff_leaks_nothing_and_reconciles_without_changes(lab,
                                                                                     clean):
    add(lab, "deny", "international")
    host = lab.host(subscriber(lab))
    foreign, domestic = service(lab, "foreign"), service(lab, "domestic")
    blocked, allowed = start_stream(host, foreign[1]), start_stream(host, domestic[1])
    rev = lab.store.revision()

    os.killpg(lab.controller.pid, signal.SIGKILL)
    lab.controller.wait(timeout=5)
    lab.controller = None
    restart = time.time()
    lab.start_controller()  # returns once the new process listens and its switches are told
    listening = time.time()
    fresh = fresh_acks(lab, rev, restart)
    reconciled = max(a.acked_at for a in fresh.values())

    cut, open_ = stream_result(blocked), stream_result(allowed)
    print(f"\ncontroller SIGKILLed and restarted: listening after {listening - restart:.3f} s, "
          f"every switch reconciled {reconciled - restart:.3f} s after the restart "
          f"({len(fresh)} switches, flow changes {[a.flows_changed for a in fresh.values()]}); "
          f"stream to {foreign[0]} (cut): {cut['sent']} sent, {cut['received']} received; "
          f"to {domestic[0]}: {open_['sent']} sent, {open_['received']} received")
    assert cut["sent"] == RATE * WINDOW and cut["received"] == 0  # not one packet leaked
    assert open_["received"] == open_["sent"] == RATE * WINDOW  # and none lost
    assert [a.flows_changed for a in fresh.values()] == [0] * len(fresh)
    assert reconciled - restart < 1.0


VSWITCHD_PID = "/var/run/openvswitch/ovs-vswitchd.pid"


def test_ovs_killed_and_restarted_gets_every_flow_back_and_leaks_nothing(lab, clean):
    from sovnet.emulation.ovs import ensure_ovs_running
    from tests.integration.probing import pings

    add(lab, "deny", "international")
    rev = lab.store.revision()
    host = lab.host(subscriber(lab))
    foreign, domestic = service(lab, "foreign"), service(lab, "domestic")
    blocked = start_stream(host, foreign[1])

    with open(VSWITCHD_PID) as f:
        pid = int(f.read())
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    eventually(lambda: _gone(pid), timeout=10)
    # Its --monitor parent starts a new one; where nothing does, start it as a user would.
    ensure_ovs_running(timeout=30)
    running = time.time()
    fresh = fresh_acks(lab, rev, killed)
    restored = max(a.acked_at for a in fresh.values())
    eventually(lambda: _reaches(pings, host, domestic[1]), timeout=10)
    reachable = time.time()

    cut = stream_result(blocked)
    print(f"\novs-vswitchd SIGKILLed: running again after {running - killed:.3f} s, every "
          f"switch's flows restored {restored - killed:.3f} s after the kill "
          f"({sum(a.flows_changed for a in fresh.values())} flows on {len(fresh)} switches), "
          f"{domestic[0]} reachable again after {reachable - killed:.3f} s; stream to "
          f"{foreign[0]} (cut): {cut['sent']} sent, {cut['received']} received")
    assert cut["received"] == 0  # a fresh vswitchd has no flows; secure mode drops until then
    assert all(a.flows_changed > 0 for a in fresh.values())  # each switch was refilled


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    raise AssertionError(f"ovs-vswitchd {pid} still runs")


def _reaches(pings, host, ip) -> bool:
    assert pings(host, [ip])[ip], f"{ip} not reachable yet"
    return True
