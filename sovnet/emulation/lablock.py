"""An opt-in host-wide queue for labs: with SOVNET_LAB_LOCK=<path> set, a Network holds an
exclusive lock on that file for its whole life, so labs started by several people or test
runs on one host take turns instead of clashing on interface names (two labs of one topology
both want core1-eth1). Unset, nothing waits: a clash is reported at once, as before.

Reentrant within a process, since one test may start a second Network while it holds one.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time

from sovnet.errors import EmulationError

ENV = "SOVNET_LAB_LOCK"
WAIT = 1800.0  # seconds; a lab runs minutes, so half an hour means a stuck holder

_held: dict[str, tuple[int, int]] = {}  # path -> (fd, depth)


def acquire() -> str | None:
    path = os.environ.get(ENV)
    if not path:
        return None
    if path in _held:
        fd, depth = _held[path]
        _held[path] = (fd, depth + 1)
        return path
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    deadline = time.monotonic() + WAIT
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not told:
                print(f"sovnet: waiting for another lab to finish ({ENV}={path})",
                      file=sys.stderr, flush=True)
                told = True
            if time.monotonic() > deadline:
                os.close(fd)
                raise EmulationError(f"another lab has held {path} for over {WAIT:g} s "
                                     f"(unset {ENV} to skip the queue)") from None
            time.sleep(0.5)  # waiting on another process's lab; no event to poll
    _held[path] = (fd, 1)
    return path


def release(path: str | None) -> None:
    if path is None or path not in _held:
        return
    fd, depth = _held[path]
    if depth > 1:
        _held[path] = (fd, depth - 1)
        return
    del _held[path]
    os.close(fd)  # closing drops the flock
