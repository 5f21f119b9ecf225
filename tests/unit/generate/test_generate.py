"""`sovnet generate`: deterministic, valid by construction, and the shipped files are its output.
The networks it makes forward by prefix: a switch's forward table grows with the prefixes and
its own hosts, not with every host in the country."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from sovnet.compile import compile_network
from sovnet.compile.paths import host_port
from sovnet.config import load_topology
from sovnet.flowtable.simulate import lookup
from sovnet.generate import GenerateError, generate, preset, topology_text
from sovnet.model.flows import TABLE_FORWARD
from sovnet.model.policy import initial_subscribers

TOPOLOGIES = Path(__file__).parents[3] / "topologies"
N250 = load_topology(str(TOPOLOGIES / "national-250.yaml"))


@pytest.mark.parametrize("name", ["national-250", "national-10k"])
def test_the_shipped_networks_are_the_generators_output(name):
    assert (TOPOLOGIES / f"{name}.yaml").read_text() == topology_text(generate(preset(name)))


def test_the_same_seed_gives_the_same_file_and_another_seed_another():
    small = dict(fixed=1, mobile=1, regions=2, access=2, subscribers=20, foreign=12)
    a = topology_text(generate(preset(None, seed=7, **small)))
    assert a == topology_text(generate(preset(None, seed=7, **small)))
    assert a != topology_text(generate(preset(None, seed=8, **small)))


def test_the_shipped_sizes():
    assert len(N250.switches) == 255 and len(N250.hosts) >= 1000
    big = load_topology(str(TOPOLOGIES / "national-10k.yaml"))
    assert len(big.subscribers) == 10_000
    # one pod per access switch: 20 hosts hold the 10,000 subscribers
    assert {h.pod for h in big.hosts if h.kind == "subscriber"} == {
        f"pod-{s.name}" for s in big.switches if s.role == "access"}
    assert not any(h.pod for h in N250.hosts)


@pytest.mark.parametrize("overrides, message", [
    ({"subscribers": -1}, "--subscribers: -1 (expected an integer >= 0)"),
    ({"depend": 1.5}, "--depend: 1.5 (expected a share from 0 to 1)"),
    ({"fixed": 0, "mobile": 0}, "--fixed and --mobile: no ISP (expected at least one)"),
    ({"fixed": 1, "mobile": 0, "access": 80, "subscribers": 250},
     "320 access switches per ISP, of 250 subscribers each, do not fit in an ISP's /16 "
     "(expected fewer access switches or subscribers)"),
])
def test_parameters_that_cannot_work_are_refused(overrides, message):
    with pytest.raises(GenerateError) as e:
        generate(preset("national-250", **overrides))
    assert str(e.value) == message


def test_hosts_are_numbered_from_their_switchs_prefix_and_others_skip_it():
    blocks = {s.name: ipaddress.ip_network(s.prefix) for s in N250.switches if s.prefix}
    assert len(blocks) == 220
    for h in N250.hosts:
        addr = ipaddress.ip_address(h.ip)
        if h.switch in blocks:
            assert addr in blocks[h.switch], h.name
        else:
            assert not any(addr in b for b in blocks.values()), h.name


def test_forward_tables_grow_with_prefixes_not_hosts_and_still_reach_every_host():
    tables = compile_network(N250, [], initial_subscribers(N250)).flows
    for sw in N250.switches:
        fwd = [f for f in tables[sw.dpid] if f.key.table == TABLE_FORWARD]
        local = len(N250.hosts_on(sw.name))
        # per local host: IPv4 + ARP; beyond them, a few prefixes per port
        assert len(fwd) <= 2 * local + 160, (sw.name, len(fwd))
    core = N250.switch("f1c")
    fwd = [f for f in tables[core.dpid] if f.key.table == TABLE_FORWARD]
    assert len(fwd) < len(N250.hosts) / 5
    for sw in ("f1a1", "f1c", "ixp1", "gw2", "inet3", "m3a44"):
        for h in N250.hosts[::7]:
            got = lookup(tables[N250.switch(sw).dpid], TABLE_FORWARD,
                         {"eth_type": 0x0800, "ipv4_dst": h.ip})
            assert got is not None and got.instructions == (
                ("output", host_port(N250, sw, h.name)),), (sw, h.name)
