"""Acknowledgements go to the store from a thread of their own, many per write.

A national change is acknowledged by hundreds of switches within milliseconds; one SQLite write
transaction each would queue them behind each other (and behind the other controller
processes' writes). The writer takes whatever has arrived, writes it in one transaction, and
goes back for more, so acks batch themselves under load and go alone when they trickle in. The
acknowledgement times are those of the barrier replies, not of the write.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence

from sovnet.store.base import Ack, EnforcementPort

log = logging.getLogger("sovnet.controller")


class AckWriter:
    def __init__(self, store: EnforcementPort):
        self.store = store
        self.queue: queue.Queue[list[Ack] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True, name="acks")
        self.writes = 0  # transactions so far (for tests and logs)

    def start(self) -> AckWriter:
        self.thread.start()
        return self

    def record_acks(self, acks: Sequence[Ack]) -> None:
        if acks:
            self.queue.put(list(acks))

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued, then end."""
        self.queue.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        done = False
        while not done:
            batch = []
            item = self.queue.get()
            while True:
                if item is None:
                    done = True
                else:
                    batch += item
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self.store.record_acks(batch)
                    self.writes += 1
                except Exception:  # noqa: BLE001 (the thread must survive a failed write)
                    log.exception("%d acks not recorded", len(batch))
