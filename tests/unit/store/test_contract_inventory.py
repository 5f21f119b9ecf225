"""The contract every backend must pass, continued: inventory, subscribers and devices
(conftest.py's `backend` runs each test on SQLite and in memory)."""

from __future__ import annotations

import dataclasses

import pytest

from sovnet.errors import StoreError
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import SubscriberState
from sovnet.model.topology import (
    Host,
    Isp,
    Link,
    Resolver,
    Service,
    Subscriber,
    Switch,
    Topology,
)
from sovnet.store import open_store
from tests.unit.store.conftest import make_store

ALICE_MAC = "02:00:0a:01:00:05"
BOB_MAC = "02:00:0a:01:00:06"
NEW_MAC = "02:00:0a:01:00:99"


def tiny_topology(name: str = "tiny") -> Topology:
    return Topology(
        name=name,
        description="two switches, two subscribers, one bank",
        isps=(Isp("mobinet", "mobile", "10.1.0.0/16"),),
        switches=(Switch("s1", 1, "access", "mobinet"), Switch("s2", 2, "border", None)),
        hosts=(
            Host("alice", "subscriber", "10.1.0.5", 16, ALICE_MAC, "s1", 1),
            Host("bob", "subscriber", "10.1.0.6", 16, BOB_MAC, "s1", 2),
            Host("bank", "service", "172.16.0.2", 12, "02:00:ac:10:00:02", "s2", 1),
            Host("dns1", "resolver", "10.1.0.53", 16, "02:00:0a:01:00:35", "s1", 3),
        ),
        subscribers=(
            Subscriber("alice", "mobile_prepaid", "mobinet"),
            Subscriber("bob", "fixed_home", "mobinet", registered=False),
        ),
        services=(Service("bank", ("bank.example",), "BANK", "foreign", ("dns1",)),),
        resolvers=(Resolver("dns1", "mobinet"),),
        links=(
            Link("s1", 10, "s2", 10, bw=100.0, delay="5ms"),
            Link("alice", None, "s1", 1),
            Link("bob", None, "s1", 2),
            Link("bank", None, "s2", 1, loss=0.5),
            Link("dns1", None, "s1", 3),
        ),
    )


@pytest.fixture
def store(backend, tmp_path):
    s = make_store(backend, tmp_path)
    s.load_inventory(tiny_topology(), "ops", "initial inventory")
    yield s
    s.close()


def test_inventory_round_trip(store, backend, tmp_path):
    topo = tiny_topology()
    assert store.revision() == 1
    assert store.topology() == topo
    assert store.topology(1) == topo
    if backend == "sqlite":
        with open_store(tmp_path / "store.db") as other:  # parsed from the file, not a cache
            assert other.topology() == topo
            assert other.topology().host("alice").mac == ALICE_MAC
    info = store.revision_info(1)
    assert (info.author, info.reason) == ("ops", "initial inventory")
    assert [(c.entity, c.key, c.op) for c in info.changes] == [
        ("inventory", "topology", "put"),
        ("subscriber", "alice", "put"),
        ("device", ALICE_MAC, "put"),
        ("subscriber", "bob", "put"),
    ]


def test_subscribers_loaded(store):
    assert store.subscribers() == {
        "alice": SubscriberState("alice", "registered", frozenset({ALICE_MAC})),
        "bob": SubscriberState("bob", "registered", frozenset()),  # registered: False, no device
    }


def test_reload_keeps_subscriber_states(store):
    store.set_subscriber_status("alice", "verified")
    store.revoke_device(ALICE_MAC)
    carol = Host("carol", "subscriber", "10.1.0.7", 16, "02:00:0a:01:00:07", "s1", 4)
    grown = dataclasses.replace(
        tiny_topology(),
        hosts=tiny_topology().hosts + (carol,),
        subscribers=tiny_topology().subscribers + (Subscriber("carol", "kiosk", "mobinet"),),
    )
    rev = store.load_inventory(grown, "ops", "reload")
    assert rev == 4
    assert store.topology() == grown
    assert store.topology(1) == tiny_topology()
    assert store.subscribers() == {
        "alice": SubscriberState("alice", "verified", frozenset()),
        "bob": SubscriberState("bob", "registered", frozenset()),
        "carol": SubscriberState("carol", "registered", frozenset({"02:00:0a:01:00:07"})),
    }


def test_different_topology_refused(store):
    with pytest.raises(StoreError) as e:
        store.load_inventory(tiny_topology("other"), "ops", "oops")
    assert str(e.value) == (
        "store already holds topology 'tiny'; refusing to load 'other' "
        "(expected a topology named 'tiny', or a new store file)"
    )
    assert store.revision() == 1


def test_subscriber_status(store):
    r2 = store.set_subscriber_status("bob", "verified", "ops", "papers checked")
    r3 = store.set_subscriber_status("alice", "revoked")
    assert store.subscribers(1)["bob"].status == "registered"
    assert store.subscribers(r2)["bob"].status == "verified"
    assert store.subscribers(r2)["alice"].status == "registered"
    assert store.subscribers(r3)["alice"] == SubscriberState(
        "alice", "revoked", frozenset({ALICE_MAC})
    )
    with pytest.raises(StoreError) as e:
        store.set_subscriber_status("bob", "banned")
    assert str(e.value) == (
        "unknown status 'banned' (expected one of: registered, verified, privileged, revoked)"
    )
    with pytest.raises(StoreError) as e:
        store.set_subscriber_status("zed", "verified")
    assert str(e.value) == "no subscriber 'zed' (expected one of: alice, bob)"
    assert store.revision() == r3


def test_no_subscribers_before_inventory(backend, tmp_path):
    with make_store(backend, tmp_path, "empty.db") as s, pytest.raises(StoreError) as e:
        s.register_device("alice", ALICE_MAC)
    assert str(e.value) == "no subscriber 'alice' (no subscribers yet: load an inventory first)"


def test_devices(store):
    r2 = store.register_device("bob", NEW_MAC.upper(), "ops", "bob's phone")
    assert store.subscribers()["bob"].devices == frozenset({NEW_MAC})
    r3 = store.revoke_device(NEW_MAC)
    assert store.subscribers(r2)["bob"].devices == frozenset({NEW_MAC})
    assert store.subscribers(r3)["bob"].devices == frozenset()
    store.register_device("alice", NEW_MAC)  # free again: may go to someone else
    assert store.subscribers()["alice"].devices == frozenset({ALICE_MAC, NEW_MAC})


def test_device_errors(store):
    cases = [
        (
            lambda: store.register_device("bob", "02:00:0a:01:00"),
            "bad MAC '02:00:0a:01:00' (expected six colon-separated hex bytes such as "
            "02:00:0a:01:00:05)",
        ),
        (
            lambda: store.register_device("zed", NEW_MAC),
            "no subscriber 'zed' (expected one of: alice, bob)",
        ),
        (
            lambda: store.register_device("bob", ALICE_MAC),
            f"device {ALICE_MAC} is registered to subscriber 'alice'; revoke it first "
            "(a MAC belongs to one subscriber at a time)",
        ),
        (
            lambda: store.register_device("alice", ALICE_MAC),
            f"device {ALICE_MAC} is already registered to subscriber 'alice'",
        ),
        (
            lambda: store.revoke_device(NEW_MAC),
            f"no device {NEW_MAC} registered (registered: {ALICE_MAC} (alice))",
        ),
        (
            lambda: store.revoke_device("zz:00:0a:01:00:05"),
            "bad MAC 'zz:00:0a:01:00:05' (expected six colon-separated hex bytes such as "
            "02:00:0a:01:00:05)",
        ),
    ]
    for call, message in cases:
        with pytest.raises(StoreError) as e:
            call()
        assert str(e.value) == message
    assert store.revision() == 1


def test_snapshot_is_whole(store):
    p = store.add_policy(PolicyRequest.of("deny", "isp:mobinet", "service:bank", author="ops"))
    store.set_subscriber_status("bob", "revoked")
    snap = store.snapshot()
    assert snap.revision == 3
    assert snap.committed_at == store.revision_info(3).committed_at
    assert snap.topology == tiny_topology()
    assert snap.policies == (p,)
    assert snap.subscribers["bob"].status == "revoked"
    old = store.snapshot(1)
    assert (old.policies, old.subscribers["bob"].status) == ((), "registered")


def test_inventory_in_a_transaction(backend, tmp_path):
    with make_store(backend, tmp_path, "s.db") as s:
        with s.transaction("ops", "inventory and first rules") as tx:
            tx.load_inventory(tiny_topology())
            tx.register_device("bob", NEW_MAC)  # sees the subscribers loaded just before
            tx.add_policy(PolicyRequest.of("deny", "subscriber:bob", "international"))
        assert s.revision() == 1
        assert s.subscribers()["bob"].devices == frozenset({NEW_MAC})
        assert len(s.policies()) == 1
