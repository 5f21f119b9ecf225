"""How fast a StoreWatcher notices a revision committed by another process.

    .venv/bin/python -m sovnet.store.bench [--n 50] [--interval 0.002]

A child process (spawned, so it shares nothing with this one) adds policies to a fresh store in
a temporary directory, one at a time, each when the parent asks. The parent's watcher reports each
new revision; the delay is the parent's wall clock at on_change minus the revision's
committed_at (taken by the writer just before COMMIT, so the delay includes the commit itself).
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import random
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

from sovnet.model.command import PolicyRequest
from sovnet.store.sqlite import open_store
from sovnet.store.watch import StoreWatcher


def add_policies(path: str, n: int, author: str, go: Event | None = None) -> None:
    """Add `n` policies to the store at `path` (a worker for benchmarks and tests).

    With `go`, wait for it first so that several workers start writing together.
    """
    with open_store(path) as store:
        if go is not None:
            go.wait(30)
        for i in range(n):
            store.add_policy(PolicyRequest.of(
                    "deny", "all", f"port:tcp/{i + 1}", author=author, reason=f"{i}"))


def _paced_writer(path: str, conn: Connection) -> None:
    """Add one policy each time the parent sends True; stop on anything else."""
    with open_store(path) as store:
        i = 0
        while conn.recv() is True:
            i += 1
            store.add_policy(PolicyRequest.of(
                    "deny", "all", f"port:udp/{i}", author="bench", reason=f"write {i}"))


def detection_latency(n: int = 50, interval: float = 0.002) -> list[float]:
    """Seconds from each of `n` commits (in another process) to the watcher's on_change."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        open_store(path).close()
        seen: queue.Queue[tuple[float, int]] = queue.Queue()
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_paced_writer, args=(path, child), daemon=True)
        proc.start()
        delays: list[float] = []
        try:
            with (
                open_store(path) as reader,
                StoreWatcher(path, lambda rev: seen.put((time.time(), rev)), interval),
            ):
                for _ in range(n):
                    # Random phase between the commit and the watcher's polls (not a sync sleep).
                    time.sleep(random.uniform(0, 2 * interval))
                    parent.send(True)
                    noticed_at, rev = seen.get(timeout=30)
                    delays.append(noticed_at - reader.revision_info(rev).committed_at)
        finally:
            parent.send(False)
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    return delays


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m sovnet.store.bench", description=__doc__)
    ap.add_argument("--n", type=int, default=50, help="commits to time (default 50)")
    ap.add_argument("--interval", type=float, default=0.002, help="watcher poll interval, s")
    args = ap.parse_args(argv)
    delays = sorted(detection_latency(args.n, args.interval))
    ms = [d * 1000 for d in delays]
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    print(
        f"commit -> on_change over {len(ms)} commits from another process, "
        f"poll interval {args.interval * 1000:g} ms: "
        f"median {statistics.median(ms):.2f} ms, p90 {p90:.2f} ms, "
        f"min {ms[0]:.2f} ms, max {ms[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
