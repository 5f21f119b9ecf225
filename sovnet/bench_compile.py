"""`sovnet bench compile TOPOLOGY`: the compiler alone, no root, nothing started.

A national whitelist: a deny of `international` for everyone plus N allows (the topology's
foreign services first, then foreign /32s up to N). Prints the compile from scratch, flows per
switch by role, then --changes store changes compiled incrementally (alternately a deny of one
service for one ISP and its revocation, the ISPs and services in turn) with the switches each
touched, and the process's peak memory.
"""

from __future__ import annotations

import ipaddress
import itertools
import resource
import statistics
import time

from sovnet.compile import NetworkCompiler
from sovnet.config import load_topology
from sovnet.model.policy import Policy, initial_subscribers, parse_scope, parse_target


def unused_foreign(topo, n: int) -> list[str]:
    """The first `n` addresses of the foreign space that no host of the topology has."""
    taken = {h.ip for h in topo.hosts}
    space = ipaddress.IPv4Network(topo.foreign_prefixes[0]).hosts()
    return list(itertools.islice((str(a) for a in space if str(a) not in taken), n))


def whitelist(topo, n: int) -> list[Policy]:
    out = [Policy(1, "deny", parse_scope("all"), parse_target("international"), 100)]
    names = [f"service:{s.name}" for s in topo.services if s.locus == "foreign"][:n]
    names += [f"prefix:{a}/32" for a in unused_foreign(topo, n - len(names))]
    out += [Policy(i, "allow", parse_scope("all"), parse_target(t), 100)
            for i, t in enumerate(names, 2)]
    return out


def _ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(len(xs) * 0.99))]
    return (f"median {statistics.median(xs) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
            f"worst {xs[-1] * 1e3:.1f} ms (n={len(xs)})")


def main(args) -> int:
    topo = load_topology(args.topology)
    subs = initial_subscribers(topo)
    policies = whitelist(topo, args.whitelist)
    print(f"{topo.name}: {len(topo.switches)} switches, {len(topo.subscribers):,} subscribers; "
          f"whitelist: deny international + {len(policies) - 1:,} allows")
    scratch = []
    for _ in range(3):
        compiler = NetworkCompiler()
        t0 = time.perf_counter()
        compiled = compiler.compile(topo, policies, subs)
        scratch.append(time.perf_counter() - t0)
    print(f"compile from scratch: {_ms(scratch)}")
    role = {s.dpid: s.role for s in topo.switches}
    total = sum(len(f) for f in compiled.flows.values())
    print(f"flows: {total:,} on {len(compiled.flows)} switches")
    for r in sorted(set(role.values())):
        counts = [len(f) for d, f in compiled.flows.items() if role[d] == r]
        print(f"  {r:<12} {len(counts):>4} switches: max {max(counts):,}, "
              f"median {sorted(counts)[len(counts) // 2]:,} flows")
    isps = [i.name for i in topo.isps]
    services = [s.name for s in topo.services]
    times, touched, live = [], [], list(policies)
    for k in range(args.changes):
        if k % 2 == 0:
            live.append(Policy(10_000 + k, "deny", parse_scope(f"isp:{isps[k // 2 % len(isps)]}"),
                               parse_target(f"service:{services[k // 2 % len(services)]}"), 200))
        else:
            live.pop()
        t0 = time.perf_counter()
        new = compiler.compile(topo, live, subs)
        times.append(time.perf_counter() - t0)
        touched.append(sum(1 for d in new.flows if new.flows[d] is not compiled.flows[d]))
        compiled = new
    print(f"{args.changes} changes compiled incrementally: {_ms(times)}; switches touched per "
          f"change: median {statistics.median(touched):g}, max {max(touched)}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MiB")
    return 0
