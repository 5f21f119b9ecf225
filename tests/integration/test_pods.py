"""Pods on real Mininet and OVS: subscribers as macvlan interfaces in one host per switch, each
admitted, policed and reached by its own MAC and addresses (sovnet.emulation.pods)."""

from __future__ import annotations

import json
from pathlib import Path

from sovnet.config import load_topology
from sovnet.lab import Lab
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import parse_scope, parse_target
from sovnet.poll import eventually
from tests.integration.probing import run_scenario

HERE = Path(__file__).parent


def _ping(node, ip: str) -> bool:
    """One echo from the subscriber's own address (a pod routes by source)."""
    source = getattr(node, "source6" if ":" in ip else "source", None)  # None: a namespace
    bind = f"-I {source} " if source else ""
    out = node.cmd(f"ping -n -c1 -W1 {bind}{ip} >/dev/null 2>&1 && echo ok || echo fail")
    return out.strip() == "ok"


def _reach(node, ip: str, want: bool) -> None:
    assert _ping(node, ip) is want, f"{node.name} -> {ip}: expected {want}"


def test_pod_subscribers_are_admitted_policed_and_reached_one_by_one(tmp_path):
    topo = load_topology(str(HERE / "topologies" / "pods.yaml"))
    with Lab(topo, tmp_path, servers=True, flowlog=False) as lab:
        pod = lab.host("alice").pod
        assert pod.name == "pod-acc1" and lab.host("home3").pod is pod
        links = pod.cmd("ip -o link show type macvlan")
        for name in ("alice", "carol", "home1", "home2", "home3"):
            assert f"{name}-eth0@pod-eth0" in links and topo.host(name).mac in links
        news, gov = topo.host("news"), topo.host("gov")
        alice, home2, dave, bob = (lab.host(n) for n in ("alice", "home2", "dave", "bob"))
        eventually(lambda: _reach(alice, news.ip, True), timeout=15)
        _reach(home2, news.ip6, True)
        _reach(dave, gov.ip, True)  # acc2's pod, beside erin's own namespace
        _reach(lab.host("erin"), gov.ip, True)
        _reach(bob, gov.ip, False)  # not registered: the switch drops his MAC
        # A socket bound to no subscriber has no route, rather than speaking as one of them.
        assert "unreachable" in alice.cmd(f"ping -n -c1 -W1 {gov.ip} 2>&1").lower()
        # HTTP through the lab's own services, from the subscriber's address
        status = home2.cmd(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' --interface "
                           f"{home2.source} -H 'Host: worldnews.example' http://{news.ip}/")
        assert status.strip() == "200"
        lab.store.add_policy(PolicyRequest.of("deny", parse_scope("subscriber:alice"),
                                              parse_target("international")))
        lab.wait_enforced(lab.store.revision(), timeout=20)
        eventually(lambda: _reach(alice, news.ip, False), timeout=10)
        _reach(home2, news.ip, True)  # the same port, another MAC: not covered
        _reach(alice, gov.ip, True)
        # Reached from outside by their own address: the reply leaves by the right interface.
        _reach(lab.host("news"), home2.source, True)
        # A regional shutdown is one policy: the south (acc2: dave's pod and erin) goes dark.
        lab.store.add_policy(PolicyRequest.of("deny", parse_scope("region:south"),
                                              parse_target("international")))
        lab.wait_enforced(lab.store.revision(), timeout=20)
        eventually(lambda: _reach(dave, news.ip, False), timeout=10)
        _reach(lab.host("erin"), news.ip, False)
        _reach(home2, news.ip, True)


def test_a_scenario_measured_from_pod_subscribers_meets_its_expectations(tmp_path):
    out = tmp_path / "run"
    run_scenario(HERE / "scenarios" / "pods-cutoff.yaml", out, timeout=240)
    results = json.loads((out / "expectations.json").read_text())
    assert len(results) == 9 and all(r["pass"] for r in results), results
    topo = load_topology(str(HERE / "topologies" / "pods.yaml"))
    alice = topo.host("alice")
    first = (out / "logs" / "agent-alice.log").read_text().splitlines()[0]
    assert first == (f"agent alice: resolver 10.1.0.7, http port 80, "
                     f"source {alice.ip} {alice.ip6}")
    assert "source" not in (out / "logs" / "agent-erin.log").read_text().splitlines()[0]
