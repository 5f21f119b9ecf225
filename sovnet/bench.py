"""Benchmarks that print figures (root): `sovnet bench latency|startstop TOPOLOGY`.

latency    N store changes (alternately a deny of one foreign service for everyone and its
           revocation); for each, store commit -> the last switch's barrier reply. Then the
           same changes, paced, while a subscriber streams echo requests to the service (commit
           -> the first effect in the data plane); the change pushed by `ovs-ofctl --bundle`
           from a file per switch, all at once; the resident memory of the controller
           processes and ovs-vswitchd; with --bulk, a bulk install; with --faucet, last, the
           same change as a Faucet ACL on the same bridges (sovnet.bench_faucet).
startstop  time to bring the lab up (controller, network, servers, every switch enforcing the
           inventory) and to tear it down; flows per switch as read back from OVS.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sovnet.bench_compile import unused_foreign
from sovnet.compile import compile_network
from sovnet.config import load_topology
from sovnet.errors import SovnetError
from sovnet.flowtable.ofctl_text import format_line
from sovnet.lab import Lab
from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.flows import make_cookie
from sovnet.model.policy import Policy, parse_scope, parse_target


def bench_changes(lab: Lab, changes: int, pace: float = 0.0):
    """Make `changes` store changes, alternately a deny of one foreign service for everyone
    and its revocation, each waited for until every switch acknowledges it (then `pace` s
    more). Yields (commit time, the last ack's time, whether the change cut the service)."""
    svc = bench_service(lab)
    pending = None
    for i in range(changes):
        if pending is None:
            pending = lab.store.add_policy(PolicyRequest.of(
                    "deny", parse_scope("all"), parse_target(f"service:{svc}"), author="bench",
                    reason=f"bench change {i}")).id
        else:
            lab.store.apply(Revoke(pending, author="bench", reason=f"bench change {i}"))
            pending = None
        rev = lab.store.revision()
        acks = lab.wait_enforced(rev, timeout=30)
        yield lab.store.revision_info(rev).committed_at, max(acks.values()), pending is not None
        if pace:
            time.sleep(pace)


def bench_service(lab: Lab) -> str:
    """The service the benchmark's changes deny: the first foreign one."""
    return next(s.name for s in lab.topology.services if s.locus == "foreign")


def enforcement_latency(lab: Lab, changes: int) -> list[float]:
    """Seconds from each revision's commit to the last switch's acknowledgement."""
    return [last - committed for committed, last, _ in bench_changes(lab, changes)]


STREAM_RATE = 200  # echo requests a second: the data-plane figure is good to 5 ms
PACE_S = 0.4  # between data-plane changes, so each cut or opening shows in the stream


def dataplane_effect(lab: Lab, changes: int, make_changes=None, pace: float = PACE_S
                     ) -> tuple[list[float], list[float], str]:
    """`changes` paced changes (by default the store changes of enforcement_latency) while a
    subscriber streams echo requests to the service they deny: commit -> the last reply (a
    cut) and commit -> the first reply after it (an opening), in seconds; and the
    subscriber's name. make_changes(changes, pace) -> iterable of (commit time, cut) makes
    them another way (sovnet.bench_faucet)."""
    topo = lab.topology
    svc = bench_service(lab)
    sub = stream_subscriber(lab)
    window = changes * (pace + 0.3) + 2.0
    node = lab.host(sub)
    code = ("import json, sys; from sovnet.probes import source; "
            "from sovnet.probes.stream import icmp_stream; source.use(sys.argv[4] or None); "
            "print(json.dumps(icmp_stream(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))))")
    proc = node.popen([sys.executable, "-c", code, topo.host(svc).ip, str(STREAM_RATE),
                       str(window), getattr(node, "source", "")], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # the stream runs before the first change
        if make_changes is None:
            commits = [(t, not cut) for t, _, cut in bench_changes(lab, changes, pace)]
        else:
            commits = [(t, not cut) for t, cut in make_changes(changes, pace)]
        out, err = proc.communicate(timeout=window + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise SovnetError(f"the stream in {sub} failed: {err.decode().strip()[-500:]}")
    stream = json.loads(out)
    got = sorted(stream["start_wall"] + r[2] for r in stream["replies"])
    cuts, opens = [], []
    for n, (t, opened) in enumerate(commits):
        until = commits[n + 1][0] if n + 1 < len(commits) else float("inf")
        after = [x for x in got if t <= x < until]
        if opened and after:
            opens.append(after[0] - t)
        elif not opened:
            # replies to requests sent before the cut may land just after it: they got through
            cuts.append(max(after[-1] - t, 0.0) if after else 0.0)
    return cuts, opens, sub


def stream_subscriber(lab: Lab) -> str:
    """The subscriber whose echo stream shows a change: the first registered one."""
    return next(s.name for s in lab.topology.subscribers if s.registered)


def bulk_install(lab: Lab, n: int) -> tuple[float, int]:
    """One revision of `n` allows of foreign /32s for everyone: every access switch takes n
    policy flows in one bundle. -> (seconds from commit to the last ack, flows installed)."""
    with lab.store.transaction(author="bench", reason=f"bulk: {n} allows") as tx:
        for a in unused_foreign(lab.topology, n):
            tx.add_policy(PolicyRequest.of("allow", parse_scope("all"),
                                           parse_target(f"prefix:{a}/32"), priority=50))
    rev = lab.store.revision()
    acks = lab.wait_enforced(rev, timeout=120)
    flows = sum(a.flows_changed for a in lab.store.acks(rev))
    return max(acks.values()) - lab.store.revision_info(rev).committed_at, flows


def ofctl_floor(lab: Lab, runs: int = 5) -> tuple[list[float], int]:
    """Seconds to push the bench's change with `ovs-ofctl --bundle add-flows` from a file per
    switch, one process per switch, all at once (and to take it back after each run); and
    how many switches it touches. Each ovs-ofctl starts and connects anew: this is what a
    script would take, not OVS's own floor."""
    svc = bench_service(lab)
    snap = lab.store.snapshot()
    deny = Policy(2**31 - 1, "deny", parse_scope("all"), parse_target(f"service:{svc}"))
    before = compile_network(snap.topology, snap.policies, snap.subscribers).flows
    after = compile_network(snap.topology, (*snap.policies, deny), snap.subscribers).flows
    names = {s.dpid: s.name for s in lab.topology.switches}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for dpid, flows in after.items():
            old = set(before[dpid])
            new = [f for f in flows if f not in old]
            if new:
                add = Path(tmp, f"{dpid}.add")
                add.write_text("".join(format_line(f) + "\n" for f in new))
                files[names[dpid]] = add
        for _ in range(runs):
            t0 = time.monotonic()
            _all_at_once([["ovs-ofctl", "-O", "OpenFlow13", "--bundle", "add-flows", sw,
                           str(add)] for sw, add in files.items()])
            times.append(time.monotonic() - t0)
            _all_at_once([["ovs-ofctl", "-O", "OpenFlow13", "del-flows", sw,
                           f"cookie={make_cookie('policy', deny.id):#x}/-1"] for sw in files])
    return times, len(files)


def _all_at_once(commands: list[list[str]]) -> None:
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for c in commands]
    for p, c in zip(procs, commands, strict=True):
        _, err = p.communicate()
        if p.returncode != 0:
            raise SovnetError(f"{' '.join(c)}: {err.decode().strip()}")


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(lab: Lab) -> str:
    ctl = [resident_mib(p.pid) for p in lab.processes if p is not None]
    vswitchd = subprocess.run(["pidof", "ovs-vswitchd"], capture_output=True, text=True)
    ovs = sum(resident_mib(int(p)) for p in vswitchd.stdout.split())
    return (f"resident memory: controller processes {' + '.join(f'{m:.0f}' for m in ctl)} "
            f"MiB, ovs-vswitchd {ovs:.0f} MiB")


def ovs_flow_counts(lab: Lab) -> dict[str, int]:
    counts = {}
    for sw in lab.topology.switches:
        dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", sw.name],
                              capture_output=True, text=True, check=True).stdout
        counts[sw.name] = sum(1 for line in dump.splitlines() if "cookie=" in line)
    return counts


def _ms(xs: list[float]) -> str:
    if not xs:
        return "none measured"
    return (f"median {statistics.median(xs) * 1000:.1f} ms, "
            f"worst {max(xs) * 1000:.1f} ms, best {min(xs) * 1000:.1f} ms (n={len(xs)})")


def faucet_side_by_side(lab: Lab, changes: int, cuts: list[float], opens: list[float]) -> None:
    from sovnet.bench_faucet import FAUCET, NotForwarding, faucet_effect

    try:
        f_cuts, f_opens, ready = faucet_effect(lab, changes)
    except NotForwarding as e:
        print(f"{FAUCET}: {e}")
        return
    print(f"{FAUCET}, the same change as an ACL (its config rewritten, SIGHUP), on the same "
          f"bridges (forwarding {ready:.1f} s after taking them over): cut (last reply) "
          f"{_ms(f_cuts)}; opened (first reply) {_ms(f_opens)}")
    print(f"  Faucet / sovnet, change -> effect in the data plane: cut "
          f"{_ratio(f_cuts, cuts)}, opened {_ratio(f_opens, opens)}")


def _ratio(theirs: list[float], ours: list[float]) -> str:
    if not theirs or not ours or statistics.median(ours) == 0:
        return "n/a"
    return f"{statistics.median(theirs) / statistics.median(ours):.1f}x"


def main(args) -> int:
    topo = load_topology(args.topology)
    print(f"{topo.name}: {topo.size()}")
    t0 = time.monotonic()
    lab = Lab(topo, source=args.topology)
    with lab:
        started = time.monotonic() - t0
        print(f"start (controller + network + servers + inventory enforced): {started:.2f} s")
        counts = ovs_flow_counts(lab)
        vals = sorted(counts.values())
        print(f"flows per switch read back from OVS: total {sum(vals)}, min {vals[0]}, "
              f"median {vals[len(vals) // 2]}, max {vals[-1]}")
        if args.what == "latency":
            lat = enforcement_latency(lab, args.changes)
            print(f"policy-to-enforcement latency (commit -> last switch's barrier reply) over "
                  f"{len(lat)} changes on {len(topo.switches)} switches: {_ms(lat)}")
            print("  each change, in order (ms): " + " ".join(f"{x * 1000:.0f}" for x in lat))
            cuts, opens, sub = dataplane_effect(lab, min(args.changes, 20))
            print(f"commit -> first effect in the data plane ({sub}'s echo stream to the "
                  f"service, {STREAM_RATE}/s): cut (last reply) {_ms(cuts)}; opened (first "
                  f"reply) {_ms(opens)}")
            floor, touched = ofctl_floor(lab)
            print(f"the same change by ovs-ofctl --bundle from files, one process per switch, "
                  f"{touched} at once: {_ms(floor)}; ovs-ofctl / controller: "
                  f"{statistics.median(floor) / statistics.median(lat):.1f}x (each ovs-ofctl "
                  "starts and connects anew, which a controller holding its connections does "
                  "not)")
            print(memory(lab))
            if args.bulk:
                took, flows = bulk_install(lab, args.bulk)
                print(f"bulk install: {flows:,} flows in one revision (one bundle per switch), "
                      f"commit -> last ack {took:.2f} s: {flows / took:,.0f} flows/s")
            if args.faucet:  # last: Faucet takes the bridges over
                faucet_side_by_side(lab, min(args.changes, 20), cuts, opens)
        t1 = time.monotonic()
    print(f"stop: {time.monotonic() - t1:.2f} s")
    return 0
