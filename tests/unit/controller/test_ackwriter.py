"""Acks reach the store in as few writes as their arrival allows, and none is lost on stop."""

from __future__ import annotations

import threading

from sovnet.controller.ackwriter import AckWriter
from sovnet.poll import wait_for
from sovnet.store.base import Ack


class SlowStore:
    def __init__(self):
        self.calls: list[list[int]] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def record_acks(self, acks):
        self.entered.set()
        self.release.wait(5)
        self.calls.append([a.dpid for a in acks])


def ack(dpid: int) -> Ack:
    return Ack(7, dpid, 1.0, 1)


def test_acks_that_arrive_during_a_write_go_together_in_the_next():
    store = SlowStore()
    writer = AckWriter(store).start()
    writer.record_acks([ack(1)])
    assert store.entered.wait(5)  # the first write is under way, and blocked
    for d in (2, 3, 4):
        writer.record_acks([ack(d)])
    writer.record_acks([])  # nothing: no write
    store.release.set()
    wait_for(lambda: len(store.calls) == 2, 5, "two writes")
    assert store.calls == [[1], [2, 3, 4]]
    writer.record_acks([ack(5)])
    writer.stop()
    assert store.calls == [[1], [2, 3, 4], [5]] and writer.writes == 3
