"""The policy store shared between connections, threads and processes; the StoreWatcher."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from collections import Counter

import pytest

from sovnet.errors import StoreError
from sovnet.model.command import PolicyRequest
from sovnet.store import StoreWatcher, open_store
from sovnet.store.bench import add_policies, detection_latency

TIMEOUT = 10.0


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "store.db"
    open_store(p).close()
    return p


def test_data_version_sees_other_connections(path):
    with open_store(path) as mine, open_store(path) as other:
        v0 = mine.data_version()
        mine.add_policy(PolicyRequest.of("deny", "all", "any"))  # its own commits do not count
        assert mine.data_version() == v0
        other.add_policy(PolicyRequest.of("deny", "all", "any"))
        assert mine.data_version() != v0
        v1 = mine.data_version()
        other.record_ack(2, 1, time.time(), 0)  # nor do acks escape notice
        assert mine.data_version() != v1


def test_watcher_sees_commit_from_another_connection(path):
    seen: queue.Queue[tuple[float, int]] = queue.Queue()
    with open_store(path) as writer:
        writer.add_policy(PolicyRequest.of(
                "deny", "all", "any"))  # present before start: not reported
        with StoreWatcher(path, lambda rev: seen.put((time.monotonic(), rev))) as watcher:
            assert watcher.last_revision == 1
            t0 = time.monotonic()
            p = writer.add_policy(PolicyRequest.of("deny", "all", "international"))
            noticed_at, rev = seen.get(timeout=TIMEOUT)
            assert rev == 2 and p.id == 2
            print(f"commit noticed after {(noticed_at - t0) * 1000:.2f} ms")
            writer.record_ack(2, 1, time.time(), 1)  # an ack is no revision
            with writer.transaction("ops", "two") as tx:
                tx.add_policy(PolicyRequest.of("allow", "all", "any"))
                tx.add_policy(PolicyRequest.of("allow", "all", "port:tcp/443"))
            assert seen.get(timeout=TIMEOUT)[1] == 3
        assert not watcher.running
    assert seen.empty()


def test_watcher_sees_commit_from_another_process(path):
    seen: queue.Queue[int] = queue.Queue()
    ctx = multiprocessing.get_context("spawn")
    with StoreWatcher(path, seen.put):
        proc = ctx.Process(target=add_policies, args=(str(path), 3, "child"))
        proc.start()
        revs = []
        while not revs or revs[-1] < 3:  # calls may coalesce; the last one says 3
            revs.append(seen.get(timeout=TIMEOUT))
        proc.join(TIMEOUT)
    assert proc.exitcode == 0
    assert revs == sorted(set(revs))


def test_watcher_survives_a_failing_callback(path):
    seen: queue.Queue[int] = queue.Queue()

    def on_change(rev: int) -> None:
        seen.put(rev)
        raise RuntimeError("callback bug")

    with open_store(path) as writer, StoreWatcher(path, on_change) as watcher:
        writer.add_policy(PolicyRequest.of("deny", "all", "any"))
        assert seen.get(timeout=TIMEOUT) == 1
        writer.add_policy(PolicyRequest.of("deny", "all", "any"))
        assert seen.get(timeout=TIMEOUT) == 2
        assert watcher.running


def test_watcher_lifecycle(path, tmp_path):
    watcher = StoreWatcher(path, lambda rev: None)
    watcher.stop()  # never started: fine
    watcher.start()
    with pytest.raises(StoreError, match="already started"):
        watcher.start()
    watcher.stop()
    watcher.stop()
    assert not watcher.running
    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError) as e:
        StoreWatcher(missing, lambda rev: None).start()
    assert str(e.value) == f"no store at {missing} (expected a file made by open_store)"
    assert not missing.exists()


def test_two_processes_lose_nothing(path):
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [
        ctx.Process(target=add_policies, args=(str(path), 50, author, go))
        for author in ("left", "right")
    ]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    with open_store(path) as store:
        assert store.revision() == 100
        policies = store.policies()
        assert [p.id for p in policies] == list(range(1, 101))
        assert Counter(p.author for p in policies) == {"left": 50, "right": 50}
        assert [h.id for h in store.history()] == list(range(1, 101))


def test_threads_share_one_store(path):
    with open_store(path) as store:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for _ in range(n):
                    store.add_policy(PolicyRequest.of(
                            "deny", "all", "any", author=threading.current_thread().name))
                    store.snapshot()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(20,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        assert errors == []
        assert store.revision() == 80
        assert [p.id for p in store.policies()] == list(range(1, 81))


def test_detection_latency_bench():
    delays = detection_latency(n=5)
    assert len(delays) == 5
    assert all(0 <= d < 1.0 for d in delays), delays
