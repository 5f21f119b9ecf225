"""Benchmarks that print figures (root): `sovnet bench latency|startstop TOPOLOGY`.

latency    N store changes (alternately a deny of one foreign service for everyone and its
           revocation); for each, store commit -> the last switch's barrier reply.
startstop  time to bring the lab up (controller, network, servers, every switch enforcing the
           inventory) and to tear it down; flows per switch as read back from OVS.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from sovnet.config import load_topology
from sovnet.lab import Lab
from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.policy import parse_scope, parse_target


def enforcement_latency(lab: Lab, changes: int) -> list[float]:
    """Seconds from each revision's commit to the last switch's acknowledgement."""
    svc = next(s.name for s in lab.topology.services if s.locus == "foreign")
    out, pending = [], None
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
        committed = lab.store.revision_info(rev).committed_at
        out.append(max(acks.values()) - committed)
    return out


def ovs_flow_counts(lab: Lab) -> dict[str, int]:
    counts = {}
    for sw in lab.topology.switches:
        dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", sw.name],
                              capture_output=True, text=True, check=True).stdout
        counts[sw.name] = sum(1 for line in dump.splitlines() if "cookie=" in line)
    return counts


def _ms(xs: list[float]) -> str:
    return (f"median {statistics.median(xs) * 1000:.1f} ms, "
            f"worst {max(xs) * 1000:.1f} ms, best {min(xs) * 1000:.1f} ms (n={len(xs)})")


def main(args) -> int:
    topo = load_topology(args.topology)
    print(f"{topo.name}: {len(topo.switches)} switches, {len(topo.hosts)} hosts")
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
        t1 = time.monotonic()
    print(f"stop: {time.monotonic() - t1:.2f} s")
    return 0
