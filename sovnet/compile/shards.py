"""Which controller process owns which switch, when the controller runs as several (Faucet's
pattern: each process owns a set of switches, all read the one store).

Each ISP's switches go together, so a change for one ISP's subscribers is one process's work;
the ISPs, largest first, then the switches no ISP owns, each go to the process with the fewest
switches so far. Deterministic: the lab (which points each bridge at its process) and every
process (which compiles only its own) work it out alike.

Pure: standard library only.
"""

from __future__ import annotations

from sovnet.errors import CompileError
from sovnet.model.topology import Topology


class ShardError(CompileError):
    exit_code = 2  # bad input, as every other bad argument


def parse_shard(text: str) -> tuple[int, int]:
    """"1/2" -> (1, 2): process 1 (counted from 0) of 2."""
    index, _, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not 0 <= i < n:
        raise ShardError(f"bad shard {text!r} (expected I/N with 0 <= I < N, e.g. 0/2)")
    return i, n


def assign(topo: Topology, n: int) -> dict[int, int]:
    """{dpid: the process (0..n-1) that owns the switch}."""
    groups: dict[str, list[int]] = {}
    alone: list[int] = []
    for s in sorted(topo.switches, key=lambda s: s.dpid):
        if s.isp:
            groups.setdefault(s.isp, []).append(s.dpid)
        else:
            alone.append(s.dpid)
    load = [0] * max(n, 1)
    out: dict[int, int] = {}
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0])) + [[d] for d in alone]
    for group in ordered:
        k = min(range(len(load)), key=lambda i: (load[i], i))
        load[k] += len(group)
        out.update(dict.fromkeys(group, k))
    return out


def owned(topo: Topology, shard: tuple[int, int] | None) -> set[int] | None:
    """The dpids one process owns; None (every switch) for a single controller."""
    if shard is None:
        return None
    i, n = shard
    return {d for d, k in assign(topo, n).items() if k == i}
