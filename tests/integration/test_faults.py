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
from tests.integration.probing import reach

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
    assert lab.network.state.data["controller"] == f"127.0.0.1:{lab.port}"  # sovnet inspect


VSWITCHD_PID = "/var/run/openvswitch/ovs-vswitchd.pid"


def test_ovs_killed_and_restarted_gets_every_flow_back_and_leaks_nothing(lab, clean):
    from sovnet.emulation.ovs import ensure_ovs_running

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
    reach(lab, subscriber(lab), {domestic[0]: True})
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


WRITER = """
import sys
from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.policy import parse_scope, parse_target
from sovnet.store import open_store

store = open_store(sys.argv[1], create=False)
for i in range(1000):
    if i % 2 == 0:  # alternate a block and its revocation: every commit changes the network
        p = store.add_policy(PolicyRequest.of("deny", parse_scope("all"),
                             parse_target("service:" + sys.argv[2]), 100, author="writer",
                             reason=f"commit {i}"))
    else:
        with store.transaction("writer", f"commit {i}") as tx:
            tx.apply(Revoke(p.id))
    print(store.revision(), flush=True)
"""


def test_a_writer_killed_mid_commits_loses_no_returned_commit(lab, clean):
    import sqlite3
    import subprocess
    import sys

    victim = service(lab, "domestic")[0]
    before = lab.store.revision()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(lab.store_path), victim],
                              stdout=subprocess.PIPE, text=True)
    returned = []
    for line in writer.stdout:  # each line: a commit that returned
        returned.append(int(line))
        if len(returned) == 300:
            writer.kill()
            break
    writer.wait(timeout=10)
    returned += [int(x) for x in writer.stdout.read().split()]  # what it printed before dying
    writer.stdout.close()

    history = {r.id: r for r in lab.store.history(since=before)}
    last = lab.store.revision()
    print(f"\nstore writer SIGKILLed after {len(returned)} returned commits (revision "
          f"{returned[-1]}); the store holds {last - before} new revisions, ending at {last}")
    assert returned == list(range(before + 1, returned[-1] + 1))
    assert all(history[r].author == "writer" for r in returned)
    assert last in (returned[-1], returned[-1] + 1)  # at most the one in flight, whole
    with sqlite3.connect(lab.store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    lab.wait_enforced(last, timeout=30)
    # An odd number of commits ends with the block added; an even number, revoked.
    other = next(s.name for s in lab.topology.services if s.name != victim)
    reach(lab, subscriber(lab), {victim: (last - before) % 2 == 0, other: True})


def test_a_full_disk_is_a_clear_error_and_leaves_the_store_whole(tmp_path):
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    from sovnet.config import load_topology
    from sovnet.errors import StorageError
    from sovnet.store import open_store

    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=True)
    try:
        db = disk / "store.db"
        with open_store(str(db)) as store:
            store.load_inventory(load_topology(Path(__file__).parents[2] / "topologies" /
                                               "minimal.yaml"), author="test")
        # Open while there is room for the WAL's index, as a running lab holds its store open,
        # fill the disk, then commit until the WAL must grow.
        added, failure = 0, None
        with open_store(str(db), create=False) as store:
            filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
            try:  # the rest of the disk, to the last block
                while os.write(filler, b"\0" * 4096):
                    pass
            except OSError:
                pass
            finally:
                os.close(filler)
            for i in range(5000):
                try:
                    store.add_policy(PolicyRequest.of(
                        "deny", parse_scope("all"), parse_target("service:bank"), 100,
                        author="test", reason=f"add {i}"))
                except Exception as e:  # noqa: BLE001 (the test is what it raises)
                    failure = e
                    break
                added += 1
            assert failure is not None, "5,000 commits fitted on a full disk"
            print(f"\nfull disk: {added} commits fitted, then {type(failure).__name__}: "
                  f"{failure}")
            assert isinstance(failure, StorageError) and failure.exit_code == 1
            assert str(failure) == (
                f"store {db}: the disk is full, so revision {added + 2} was not written: "
                "nothing changed and the store is intact (expected free space and write access "
                "on the file system that holds it; then try again)")
            assert len(store.policies()) == added
        r = subprocess.run([sys.executable, "-m", "sovnet", "store", str(db), "policy", "add",
                            "deny", "service:bank"], capture_output=True, text=True)
        print(f"sovnet store ... policy add on the full disk: exit {r.returncode}: {r.stderr}")
        assert r.returncode == 1 and r.stderr.startswith(f"store {db}: the disk is full, so ")
        assert "Traceback" not in r.stderr
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        with open_store(str(db), create=False) as store:
            assert len(store.policies()) == added  # every returned commit, nothing else
        (disk / "filler").unlink()
        r = subprocess.run([sys.executable, "-m", "sovnet", "store", str(db), "policy", "add",
                            "deny", "service:bank", "--why", "space again"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
