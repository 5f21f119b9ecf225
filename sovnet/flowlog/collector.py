"""The flow-log collector: `python -m sovnet.flowlog.collector --store DB --port P [...]`.

Listens for the NetFlow v5 exports of the switches subscribers attach to (the network points
them at this address: `Network.export_flows`), keeps the flows a `log` policy covered while
they ran (sovnet.flowlog.history), and writes them to the store with that policy's id. It
applies the retention setting when it starts, whenever the setting changes, and every
EXPIRE_INTERVAL. With `--port 0` it listens on a free port; `--ready FILE` gets
{"pid", "port"} once it listens. On SIGTERM it writes what is already queued on its socket,
then exits 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import selectors
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from sovnet.errors import SovnetError
from sovnet.flowlog.history import PolicyTimeline, exporter_switches, records
from sovnet.flowlog.netflow import NetflowError, decode
from sovnet.store import StoreWatcher, open_store
from sovnet.store.flowrecords import retention

log = logging.getLogger("sovnet.flowlog")

EXPIRE_INTERVAL = 60.0  # seconds between two applications of the retention
RECV_BUFFER = 4 << 20  # bytes; a burst of exports waits here while a batch is written
MAX_DATAGRAM = 65535


class Collector:
    def __init__(self, store_path: str, sock: socket.socket,
                 expire_interval: float = EXPIRE_INTERVAL):
        self.store = open_store(store_path, create=False)
        self.sock = sock
        self.expire_interval = expire_interval
        self.timeline = PolicyTimeline()
        self.stats = {"packets": 0, "bad_packets": 0, "flows": 0, "records": 0, "expired": 0}
        self._unknown: set[int] = set()
        self._switches: tuple = (None, {})  # (topology, exporter number -> switch)
        self._wake_r, self._wake_w = socket.socketpair()
        self._refreshing = threading.Lock()
        self._expire_due = True
        # Watcher first, as the controller does: a commit landing meanwhile is then read by
        # one or the other (PolicyTimeline ignores a revision it already has).
        self.watcher = StoreWatcher(store_path, self._changed, interval=0.02).start()
        self._changed(None)

    def _changed(self, _revision: int | None) -> None:
        with self._refreshing:  # the watcher thread and collect() may both get here
            before = self.timeline.current
            snap = self.store.snapshot()
            self.timeline.add(snap)
            if before is not None and retention(before.settings) != retention(snap.settings):
                self._expire_due = True
                self.wake()

    def wake(self) -> None:
        """Make run() look at its flags now (safe from signal handlers and other threads)."""
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # -- the loop -------------------------------------------------------------------------
    def run(self, stopping) -> None:
        """Receive and write until stopping() is true; then write what is queued, and return."""
        sel = selectors.DefaultSelector()
        self.sock.setblocking(False)
        sel.register(self.sock, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        next_expiry = time.monotonic()
        while not stopping():
            if self._expire_due or time.monotonic() >= next_expiry:
                self._expire_due = False
                self.expire()
                next_expiry = time.monotonic() + self.expire_interval
            for key, _ in sel.select(timeout=max(0.0, next_expiry - time.monotonic())):
                if key.fileobj is self._wake_r:
                    self._wake_r.recv(4096)
            self.collect()
        self.collect()  # what the switches sent before the stop

    def collect(self) -> int:
        """Read every datagram queued on the socket and write their records in one batch."""
        batch, datagrams = [], []
        while True:
            try:
                datagrams.append(self.sock.recvfrom(MAX_DATAGRAM))
            except (BlockingIOError, InterruptedError):
                break
        if not datagrams:
            return 0
        # The watcher reports a revision up to its poll interval late; a flow that ended just
        # after a commit must still be judged by it.
        current = self.timeline.current
        if current is None or self.store.revision() > current.revision:
            self._changed(None)
        for data, sender in datagrams:
            batch.extend(self.handle(data, sender, time.time()))
        if batch:
            try:
                new = self.store.flows.add(batch)
            except SovnetError as e:
                log.error("%d flow records lost: %s", len(batch), e)
                return 0
            self.stats["records"] += len(batch)
            log.debug("wrote %d flow records (%d new rows)", len(batch), new)
        return len(batch)

    def handle(self, data: bytes, sender, now: float) -> list:
        self.stats["packets"] += 1
        try:
            export = decode(data)
        except NetflowError as e:
            self.stats["bad_packets"] += 1
            log.warning("ignored a datagram from %s:%s: %s", *sender[:2], e)
            return []
        self.stats["flows"] += len(export.flows)
        switch = self._exporter(export.exporter)
        if switch is None:
            if export.exporter not in self._unknown:
                self._unknown.add(export.exporter)
                log.warning("ignored exports from exporter %d (from %s:%s): no switch of the "
                            "inventory has that number (expected one the network set)",
                            export.exporter, *sender[:2])
            return []
        return records(self.timeline, switch, export.flows, now)

    def _exporter(self, number: int):
        current = self.timeline.current
        topo = current.topology if current is not None else None
        if topo is None:
            return None
        if self._switches[0] is not topo:
            self._switches = (topo, exporter_switches(topo))
        return self._switches[1].get(number)

    def expire(self) -> None:
        try:
            n = self.store.flows.expire()
        except SovnetError as e:
            log.error("retention not applied: %s", e)
            return
        self.stats["expired"] += n
        if n:
            log.info("deleted %d flow records older than the retention (%g s)", n,
                     self.store.flows.retention())

    def close(self) -> None:
        self.watcher.stop()
        self.store.close()
        for s in (self._wake_r, self._wake_w):
            s.close()


def listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
        sock.bind((address, port))
    except OSError as e:
        sock.close()
        raise SovnetError(f"cannot listen for NetFlow on udp {address}:{port}: {e.strerror} "
                          "(expected a free UDP port, or 0 for any)") from None
    return sock


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sovnet.flowlog.collector",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="the policy store to read and write")
    ap.add_argument("--port", type=int, required=True, help="UDP port (0: any free one)")
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--ready", help='file that gets {"pid", "port"} once it listens')
    ap.add_argument("--log-file")
    ap.add_argument("--expire-interval", type=float, default=EXPIRE_INTERVAL)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    logging.basicConfig(filename=a.log_file, level=logging.DEBUG if a.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = []
    try:
        sock = listen(a.address, a.port)
        collector = Collector(a.store, sock, a.expire_interval)
    except SovnetError as e:
        print(f"flow-log collector: {e}", file=sys.stderr)
        return 2

    def on_signal(*_):
        stop.append(True)
        collector.wake()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    port = sock.getsockname()[1]
    if a.ready:
        tmp = Path(a.ready + ".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": port}) + "\n")
        tmp.replace(a.ready)  # never a half-written ready file
    log.info("collecting NetFlow v5 on udp %s:%d into %s", a.address, port, a.store)
    try:
        collector.run(lambda: bool(stop))
    finally:
        collector.close()
        sock.close()
        log.info("stopped: %s", ", ".join(f"{v} {k}" for k, v in collector.stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
