"""Allocation at the limits: many hosts on one switch, a switch whose ports run out."""

from __future__ import annotations

import pytest

from sovnet.config import topology_from_text
from sovnet.errors import ConfigError

BASE = """\
name: t
isps:
  fixnet: {kind: fixed, prefix: 10.1.0.0/16}
switches:
  s1: {role: access, isp: fixnet}
  s2: {role: core}
links:
  - [s1, s2]
resolvers:
  dns1: {isp: fixnet, switch: s2}
defaults:
  subscriber: {class: fixed_home, isp: fixnet}
subscribers:
"""


@pytest.mark.timeout(120)
def test_the_most_subscribers_a_topology_may_have_fit_on_one_switch_in_file_order():
    # One cursor per switch: the lowest free port is found once, not searched from 1 for every
    # host (that was n*n/2 steps: 50 million for these).
    t = topology_from_text(BASE + "  a: {switch: 's1:3'}\n"
                                  "  b: {switch: 's1:7'}\n"
                                  "  home: {switch: s1, count: 9998}\n",
                           "t.yaml")
    assert len(t.subscribers) == 10_000
    ports = [t.host(f"home{i}").port for i in range(1, 9999)]
    # link s1-s2 took port 1; a and b reserved 3 and 7
    assert ports[:6] == [2, 4, 5, 6, 8, 9]
    assert ports[-1] == 10_001
    assert len(set(ports)) == len(ports)
    assert t.host("home9998").ip == "10.1.39.17"  # .2 upwards: 9998 + 1 (dns1 comes last)
    assert t.host("dns1").ip == "10.1.39.18"


def test_a_switch_whose_ports_run_out_is_reported_once(monkeypatch):
    import sovnet.config.build as build

    monkeypatch.setattr(build, "MAX_PORT", 4)
    with pytest.raises(ConfigError) as e:
        topology_from_text(BASE + "  home: {switch: s1, count: 5}\n", "t.yaml")
    assert str(e.value) == ("t.yaml:14:18: subscribers.home.switch: no free port left on switch s1 "
                            "(expected at most 4 links and hosts on one switch)")


def test_the_pod_subscribers_of_a_switch_share_one_port_taken_where_the_first_comes():
    t = topology_from_text(BASE + "  a: {switch: s1}\n"
                                  "  home: {switch: s1, count: 3, pod: true}\n"
                                  "  b: {switch: s1}\n"
                                  "  far: {switch: s2, pod: true}\n"
                                  "  more: {switch: s1, pod: true}\n",
                           "t.yaml")
    port = {h.name: h.port for h in t.hosts}
    pod = {h.name: h.pod for h in t.hosts}
    assert [port[n] for n in ("a", "home1", "home2", "home3", "b", "more")] == [2, 3, 3, 3, 4, 3]
    assert pod["home1"] == pod["more"] == "pod-s1" and pod["far"] == "pod-s2"
    assert pod["a"] == pod["b"] == pod["dns1"] == ""
    assert len({t.host(n).mac for n in port}) == len(port)  # each keeps its own MAC
