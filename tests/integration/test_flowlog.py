"""The flow log on real OVS (topologies/minimal.yaml): the subscribers' switches export NetFlow
v5 to the collector the Lab runs, and the flows a log policy covers land in the store."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from sovnet import commands
from sovnet.model.command import PolicyRequest
from sovnet.poll import eventually

ROOT = Path(__file__).resolve().parents[2]
EXPORT_TIMEOUT = 15.0  # s; exports take ~1.5 s (active timeout 1 s), this is only the ceiling


def fetch(lab, host: str, url: str) -> int:
    """GET url from inside `host` (DNS through its ISP resolver); the page's size in bytes."""
    out = lab.host(host).cmd(f"curl -s -m 5 -o /dev/null -w '%{{http_code}} %{{size_download}}' "
                             f"{url}").strip()
    code, size = out.split()
    assert code == "200", f"{host} GET {url}: {out!r}"
    return int(size)


def test_the_switches_subscribers_attach_to_export_to_the_collector(lab):
    out = subprocess.run(["ovs-vsctl", "--format=json", "--columns=name,netflow", "list",
                          "Bridge"], capture_output=True, text=True, check=True).stdout
    exporting = {row[0] for row in json.loads(out)["data"] if row[1] != ["set", []]}
    assert {"acc1", "acc2"} <= exporting
    assert not {"core1", "core2", "dc1", "gw1", "inet1"} & exporting


def test_a_logged_subscribers_page_fetch_is_recorded_and_an_unlogged_ones_is_not(lab, clean):
    p = lab.store.add_policy(PolicyRequest.of(
            "log", "subscriber:alice", "service:bank", author="test",
            reason="watch alice's banking"))
    lab.wait_enforced(lab.store.revision())
    started = time.time()
    size = fetch(lab, "alice", "http://bank.sov/")
    fetch(lab, "carol", "http://bank.sov/")  # same switch, same service, no log policy
    fetch(lab, "alice", "http://portal.gov.sov/")  # alice, but not the bank
    ended = time.time()

    def recorded():
        recs = {r.direction: r for r in lab.store.flows.records(subscriber="alice")
                if r.service == "bank" and r.proto == 6}
        assert set(recs) == {"up", "down"}
        assert recs["down"].bytes >= size
        return recs

    recs = eventually(recorded, timeout=EXPORT_TIMEOUT)
    lag = max(r.collected_at for r in recs.values()) - ended
    up, down = recs["up"], recs["down"]
    assert (up.policy, down.policy) == (p.id, p.id)
    assert up.src == down.dst == lab.topology.host("alice").ip
    assert up.dst == down.src == lab.topology.host("bank").ip and up.dst_port == 80
    assert up.dpid == lab.topology.switch("acc1").dpid and not up.dropped
    assert up.first_seen <= down.last_seen <= ended
    these = lab.store.flows.records(since=started)
    assert {(r.subscriber, r.service) for r in these} == {("alice", "bank")}  # no DNS either
    assert lab.store.flows.records(subscriber="carol") == []
    text, _ = commands.run(lab.store, "flowlog --subscriber alice --service bank")
    assert "alice" in text and f"#{p.id}" in text and "acc1" in text
    print(f"flow end -> record in the store: {lag:.2f} s")


def test_a_denied_attempt_is_logged_as_dropped(lab, clean):
    lab.store.add_policy(PolicyRequest.of("deny", "subscriber:dave", "service:news", author="test"))
    log = lab.store.add_policy(PolicyRequest.of(
            "log", "subscriber:dave", "service:news", author="test"))
    lab.wait_enforced(lab.store.revision())
    news = lab.topology.host("news").ip
    out = lab.host("dave").cmd(f"curl -s -m 1 -o /dev/null -w '%{{http_code}}' "
                               f"http://{news}/").strip()
    assert out == "000"  # dropped: no answer

    def dropped():
        recs = [r for r in lab.store.flows.records(subscriber="dave") if r.dst == news]
        assert len(recs) == 1, recs
        r = recs[0]
        assert r.dropped and r.direction == "up" and r.policy == log.id
        assert r.dpid == lab.topology.switch("acc2").dpid

    eventually(dropped, timeout=EXPORT_TIMEOUT)
