"""A soak: 2,000 policy changes on national.yaml, one at a time, each acknowledged by every
switch, with the controllers' memory read as it goes (run with -s for the figures)."""

from __future__ import annotations

import time
from pathlib import Path

from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.policy import parse_scope, parse_target

TOPOLOGY = Path(__file__).resolve().parents[2] / "topologies" / "national.yaml"
CHANGES = 2000
WARM = 200  # changes before the baseline: caches and the allocator settle first


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def controllers_rss(lab) -> int:
    return sum(rss_kib(p.pid) for p in lab.processes if p is not None)


def changes(lab):
    """An endless mix of the changes regulators make: blocks of services and categories, by
    ISP and nationally, each revoked later; standings and statuses of subscribers."""
    topo = lab.topology
    targets = [f"service:{s.name}" for s in topo.services] + ["international",
                                                              "category:GRP", "port:udp/443"]
    scopes = ["all", *(f"isp:{i.name}" for i in topo.isps)]
    subs = [s.name for s in topo.subscribers]
    open_: list[int] = []
    i = 0
    while True:
        kind = i % 4
        if kind in (0, 1) and len(open_) >= 12:  # the size of a real order book
            kind = 2
        if kind in (0, 1) or not open_:
            p = lab.store.add_policy(PolicyRequest.of(
                "deny", parse_scope(scopes[i % len(scopes)]),
                parse_target(targets[i % len(targets)]), 100 + i % 7, author="soak",
                reason=f"change {i}"))
            open_.append(p.id)
        elif kind == 2:
            with lab.store.transaction("soak", f"change {i}") as tx:
                tx.apply(Revoke(open_.pop(0)))
        else:
            lab.store.set_standing(subs[i % len(subs)], (i * 37) % 101, author="soak",
                                   reason=f"change {i}")
        yield lab.store.revision()
        i += 1


def test_2000_changes_are_each_enforced_everywhere_and_memory_stays_flat(lab, clean):
    start_rss = controllers_rss(lab)
    lats, rss = [], {}
    t0 = time.monotonic()
    revisions = changes(lab)
    for committed in range(1, CHANGES + 1):
        rev = next(revisions)  # one change, one revision
        info = lab.store.revision_info(rev)
        acks = lab.wait_enforced(rev, timeout=60)  # every switch, none refused
        lats.append(max(acks.values()) - info.committed_at)
        if committed in (WARM, CHANGES // 2, CHANGES):
            rss[committed] = controllers_rss(lab)
    took = time.monotonic() - t0
    lats.sort()
    base, end = rss[WARM], rss[CHANGES]
    print(f"\nsoak on {lab.topology.name}: {committed} changes in {took:.0f} s, every one "
          f"acknowledged by all {len(lab.dpids())} switches; commit -> last ack median "
          f"{lats[len(lats) // 2] * 1000:.1f} ms, p99 {lats[int(len(lats) * 0.99)] * 1000:.1f} "
          f"ms, max {lats[-1] * 1000:.1f} ms; controllers' RSS at start {start_rss / 1024:.1f} "
          f"MiB, after {WARM} changes {base / 1024:.1f} MiB, after {CHANGES // 2} "
          f"{rss[CHANGES // 2] / 1024:.1f} MiB, at the end {end / 1024:.1f} MiB "
          f"({len(lab.processes)} processes)")
    assert end - base < 0.10 * base  # flat: under 10 % growth after warming up
