"""Notice, within milliseconds, a revision committed to the store by another process.

`StoreWatcher` polls `PRAGMA data_version` on a connection of its own (a cheap read of the WAL
index that changes whenever another connection commits) and, when it changes, reads the latest
revision id. It calls `on_change(latest)` once per new revision id it observes; several commits
between two polls are coalesced into one call with the latest id. Commits that make no revision
(enforcement acks) wake the poll but call nothing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable

from sovnet.errors import StoreError
from sovnet.store import db

log = logging.getLogger(__name__)


class StoreWatcher:
    """A daemon thread calling `on_change(latest_revision)` when a new revision is committed.

    `on_change` runs in the watcher thread; an exception it raises is logged and the watcher
    goes on. Revisions already in the store when `start()` is called are not reported.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        on_change: Callable[[int], None],
        interval: float = 0.002,
    ):
        if interval <= 0:
            raise StoreError(f"watch interval {interval} must be positive (expected e.g. 0.002)")
        self.path = os.fspath(path)
        self.on_change = on_change
        self.interval = interval
        self.last_revision = 0  # the latest revision seen (reported or present at start)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> StoreWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> StoreWatcher:
        """Open the watcher's connection (StoreError if there is no store) and start polling."""
        if self._thread is not None:
            raise StoreError("this watcher was already started (expected one start per watcher)")
        self._conn = db.connect(self.path, must_exist=True)
        try:
            self._version = self._data_version()
            self.last_revision = db.latest_revision(self._conn)
        except sqlite3.Error as e:
            self._conn.close()
            self._conn = None
            raise StoreError(f"cannot watch store {self.path}: {e}") from None
        self._thread = threading.Thread(
            target=self._run, name=f"StoreWatcher({self.path})", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and wait for the thread; safe to call more than once."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _data_version(self) -> int:
        assert self._conn is not None
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def _run(self) -> None:
        conn = self._conn
        assert conn is not None
        try:
            while not self._stop.wait(self.interval):
                try:
                    version = self._data_version()
                    if version == self._version:
                        continue
                    self._version = version
                    latest = db.latest_revision(conn)
                except sqlite3.Error:
                    log.exception("watching store %s", self.path)
                    continue
                if latest > self.last_revision:
                    self.last_revision = latest
                    try:
                        self.on_change(latest)
                    except Exception:
                        log.exception("on_change(%d) of the watcher of %s", latest, self.path)
        finally:
            conn.close()
            self._conn = None
