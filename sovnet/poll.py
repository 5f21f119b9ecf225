"""Polling with a deadline: how sovnet and its tests wait for a state nothing announces.

A process writing its ready file, a switch connecting, an ack row in the store: none of them
signals the waiter, so the waiter looks again every `interval` seconds until a deadline, and
says what it was waiting for when the deadline passes. Never a fixed sleep.

    for left in attempts(10.0):          # the primitive: custom checks and messages
        if ready.exists():
            break
    else:
        raise SomeError("not ready after 10 s")

    port = wait_for(listening, 30, "the controller to listen")   # a truthy result, or raise
    eventually(lambda: check_flows(sw))                          # an asserting check (tests)

Standard library only: the in-host code and the pure core may use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


class PollTimeout(Exception):
    """The deadline passed before the state was reached (the default error of wait_for)."""


def attempts(timeout: float, interval: float = 0.01) -> Iterator[float]:
    """Yield the seconds left (0.0 once the deadline has passed), sleeping `interval` between
    yields. The first yield is immediate and the last comes after the deadline, so a condition
    is always checked at least once and once more when time is up."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        yield max(left, 0.0)
        if left <= 0:
            return
        time.sleep(min(interval, left))


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.01,
             error: type[Exception] = PollTimeout) -> T:
    """Call `predicate` until it returns something truthy and return that; at the deadline raise
    `error("timed out after T s waiting for WHAT")`. Exceptions from `predicate` propagate."""
    for _ in attempts(timeout, interval):
        got = predicate()
        if got:
            return got
    raise error(f"timed out after {timeout:g} s waiting for {what}")


def eventually(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Call `check` (which asserts) until it passes and return its result; at the deadline
    re-raise its last AssertionError."""
    for left in attempts(timeout, interval):
        try:
            return check()
        except AssertionError:
            if left <= 0:
                raise
    raise AssertionError("unreachable: attempts() always yields")  # pragma: no cover
