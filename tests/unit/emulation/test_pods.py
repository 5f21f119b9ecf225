"""Pods: how a topology's pod subscribers become one Mininet host and its setup commands."""

from __future__ import annotations

import pytest

from sovnet.config import topology_from_text
from sovnet.emulation.pods import POD_INTF, pods, setup_command, setup_lines
from tests.unit.config.test_allocation import BASE  # two switches, a resolver, defaults

TOPO = BASE + """\
  alone: {switch: s1}
  home: {switch: s1, count: 2, pod: true}
addressing: {ipv6: "fd00:5e::/96"}
"""

@pytest.fixture
def topo():
    return topology_from_text(TOPO, "t.yaml")


def test_a_pod_holds_the_pod_subscribers_of_its_switch_on_one_port(topo):
    (pod,) = pods(topo)
    assert (pod.name, pod.switch, pod.port) == ("pod-s1", "s1", 3)
    assert [h.name for h in pod.members] == ["home1", "home2"]


def test_each_subscriber_is_a_macvlan_with_its_mac_and_a_table_chosen_by_its_source(topo):
    v4, v6 = setup_lines(pods(topo)[0].members)
    home1 = topo.host("home1")
    assert v4[0] == f"link set dev {POD_INTF} up"
    assert v4[1:6] == [
        f"link add link pod-eth0 name home1-eth0 address {home1.mac} type macvlan mode bridge",
        "addr add 10.1.0.3/8 dev home1-eth0 noprefixroute",
        "link set dev home1-eth0 up",
        "rule add from 10.1.0.3 table 1001 pref 1001",
        "route add default dev home1-eth0 table 1001",
    ]
    assert v6[:3] == [
        "addr add fd00:5e::a01:3/96 dev home1-eth0 nodad noprefixroute",
        "rule add from fd00:5e::a01:3 table 1001 pref 1001",
        "route add default dev home1-eth0 table 1001",
    ]
    assert "rule add from 10.1.0.4 table 1002 pref 1002" in v4



def test_a_pod_is_set_up_from_batch_files_not_through_its_terminal(topo, tmp_path):
    # A pod shell's terminal ends a line at 4095 bytes: thousands of lines go through files.
    command = setup_command("pod-s1", pods(topo)[0].members, True, tmp_path)
    v4, v6 = setup_lines(pods(topo)[0].members)
    assert (tmp_path / "pod-s1.ip").read_text().splitlines() == v4
    assert (tmp_path / "pod-s1.ip6").read_text().splitlines() == v6
    assert "net.ipv4.conf.all.arp_ignore=1" in command
    assert f"ip -b {tmp_path}/pod-s1.ip && ip -6 -b {tmp_path}/pod-s1.ip6" in command
    assert command.endswith(f"ethtool -K {POD_INTF} tx off >/dev/null && echo ok")
    assert len(command) < 1000


def test_the_mininet_topo_has_one_host_and_one_link_per_pod(topo):
    pytest.importorskip("mininet.topo")
    from sovnet.emulation.topo import build_topo, interface_names

    t = build_topo(topo, tx_offload=False)
    assert sorted(t.hosts()) == ["alone", "dns1", "pod-s1"]
    assert [h.name for h in t.nodeInfo("pod-s1")["members"]] == ["home1", "home2"]
    links = {(i["node1"], i["node2"]): i for _, _, i in t.links(withInfo=True)}
    pod_link = links[("pod-s1", "s1")]
    assert (pod_link["port1"], pod_link["port2"], pod_link["intfName1"]) == (0, 3, POD_INTF)
    assert pod_link["params1"] == {"txo": False}
    _, sw_intfs, host_intfs = interface_names(topo)
    assert sw_intfs.count("s1-eth3") == 1
    assert "home2-eth0" in host_intfs
