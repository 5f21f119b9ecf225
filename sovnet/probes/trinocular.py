"""An outside prober in the manner of Trinocular (Quan, Heidemann and Pradkin, SIGCOMM 2013),
which IODA's `ping-slash24` signal comes from.

Each round it sends ICMP echo requests from abroad to the addresses of each domestic /24 block
that have ever answered (E(b)), one address per block at a time, in a shuffled order, and stops
probing a block at its first reply: at most MAX_PROBES per block and round. A block is
  up       an address answered;
  down     no address answered, after probing at least MIN_EVIDENCE of them (or all it has);
  unknown  it never had an address that answered: nothing can be said of it.
The first round probes every address the prober was given, to learn E(b); an address that
answers later joins E(b).

    python -m sovnet.probes.trinocular --targets T.json --interval 3 --out F.jsonl --ready R

writes one line per round: {"round": k, "t": start, "t_end": end, "blocks": {"10.1.0.0/24":
{"state": "up", "probes": 1, "replies": 1}, ...}}. Pings go out through fping.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

MAX_PROBES = 15  # Trinocular's bound per block and round
MIN_EVIDENCE = 3  # unanswered addresses before a block with more is called down
UP, DOWN, UNKNOWN = "up", "down", "unknown"

Ping = Callable[[list[str]], set[str]]  # addresses -> those that answered


def classify(probes: int, replies: int, ever: int) -> str:
    if replies:
        return UP
    if ever == 0:
        return UNKNOWN
    return DOWN if probes >= min(MIN_EVIDENCE, ever) else UNKNOWN


def first_round(blocks: dict[str, list[str]], ping: Ping) -> tuple[dict[str, dict], dict]:
    """Probe every address once: the blocks' states, and E(b) (who answered) per block."""
    answered = ping([a for addrs in blocks.values() for a in addrs])
    ever = {b: [a for a in addrs if a in answered] for b, addrs in blocks.items()}
    states = {b: {"state": classify(len(addrs), len(ever[b]), len(ever[b])),
                  "probes": len(addrs), "replies": len(ever[b])}
              for b, addrs in blocks.items()}
    return states, ever


def probe_round(ever: dict[str, list[str]], ping: Ping, rng: random.Random) -> dict[str, dict]:
    """One adaptive round over the blocks' ever-responsive addresses (updated in place with
    nothing: E(b) only grows in first_round and on replies, which are already in it)."""
    order = {b: rng.sample(addrs, len(addrs)) for b, addrs in ever.items()}
    probes = dict.fromkeys(ever, 0)
    replies = dict.fromkeys(ever, 0)
    pending = {b for b, addrs in order.items() if addrs}
    while pending:
        batch = {b: order[b][probes[b]] for b in pending}
        answered = ping(sorted(set(batch.values())))
        for b, addr in batch.items():
            probes[b] += 1
            if addr in answered:
                replies[b] += 1
        pending = {b for b in pending if not replies[b]
                   and probes[b] < min(MAX_PROBES, len(order[b]))}
    return {b: {"state": classify(probes[b], replies[b], len(ever[b])), "probes": probes[b],
                "replies": replies[b]} for b in ever}


def fping(addresses: Iterable[str], timeout_ms: int = 250) -> set[str]:
    """The addresses that answered one echo request each (fping -a: the alive ones)."""
    addrs = list(addresses)
    if not addrs:
        return set()
    done = subprocess.run(["fping", "-a", "-r", "0", "-t", str(timeout_ms), "-i", "1", *addrs],
                          capture_output=True, text=True)
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", required=True, help="JSON: {block: [addresses]}")
    ap.add_argument("--interval", type=float, required=True, help="seconds between rounds")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    blocks = json.loads(Path(args.targets).read_text())
    rng = random.Random(args.seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Path(args.ready).touch()
    with open(args.out, "a", buffering=1) as out:
        k, t0 = 0, time.time()
        ever: dict[str, list[str]] = {}
        while not stop.is_set():
            start = time.time()
            if k == 0:
                states, ever = first_round(blocks, fping)
            else:
                states = probe_round(ever, fping, rng)
            out.write(json.dumps({"round": k, "t": round(start, 6),
                                  "t_end": round(time.time(), 6), "blocks": states}) + "\n")
            k += 1
            stop.wait(max(0.0, t0 + k * args.interval - time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
