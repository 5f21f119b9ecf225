"""Loading topology files: the shipped ones, allocation, defaults, groups and count."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sovnet.config import load_topology, topology_from_text
from sovnet.model.topology import Host, Link, Topology

ROOT = Path(__file__).resolve().parents[3]
MINIMAL = ROOT / "topologies" / "minimal.yaml"
NATIONAL = ROOT / "topologies" / "national.yaml"

BASE = """\
name: t
isps:
  fixnet: {kind: fixed, prefix: 10.1.0.0/16}
  mobinet: {kind: mobile, prefix: 10.2.0.0/16}
switches:
  s1: {role: access, isp: fixnet}
  s2: {role: core}
  s3: {role: access, isp: mobinet}
links:
  - [s1, s2]
  - [s3, s2]
resolvers:
  dns1: {isp: fixnet, switch: s2}
  dns2: {isp: mobinet, switch: s2}
"""


def load(extra: str = "", base: str = BASE) -> Topology:
    return topology_from_text(base + extra, "t.yaml")


def test_minimal_loads():
    t = load_topology(MINIMAL)
    assert t.name == "minimal"
    assert sorted(i.kind for i in t.isps) == ["fixed", "mobile"]
    assert Counter(s.role for s in t.switches)["border"] == 1
    assert Counter(s.role for s in t.switches)["internet"] == 1
    assert 5 <= len(t.switches) <= 7
    assert 4 <= len(t.subscribers) <= 6
    assert len({s.cls for s in t.subscribers}) >= 3
    assert any(not s.registered for s in t.subscribers)
    domestic = {s.category for s in t.services if s.locus == "domestic"}
    foreign = {s.category for s in t.services if s.locus == "foreign"}
    assert domestic == {"BANK", "GOVT", "HEALTH"}
    assert foreign == {"GRP", "NEWS", "CDN"}
    cdn = {s.name for s in t.services if s.category == "CDN"}
    assert any(set(s.depends_on) & cdn for s in t.services if s.locus == "domestic")
    assert sorted(r.isp for r in t.resolvers) == sorted(i.name for i in t.isps)


def test_national_meets_its_brief():
    t = load_topology(NATIONAL)
    kinds = Counter(i.kind for i in t.isps)
    assert len(t.isps) >= 3 and kinds["fixed"] >= 1 and kinds["mobile"] >= 2
    roles = Counter(s.role for s in t.switches)
    assert len(t.switches) >= 20
    for role in ("access", "aggregation", "core", "ixp", "internet"):
        assert roles[role] >= 1, role
    assert roles["border"] >= 2
    assert len(t.subscribers) >= 50
    classes = {s.cls for s in t.subscribers}
    assert {"mobile_prepaid", "mobile_postpaid", "fixed_home", "enterprise", "privileged",
            "hosting"} <= classes
    assert any(not s.registered for s in t.subscribers)
    assert len(t.services) >= 12
    domestic = {s.category for s in t.services if s.locus == "domestic"}
    foreign = {s.category for s in t.services if s.locus == "foreign"}
    assert {"BANK", "HEALTH", "GOVT", "SRCH", "COMT"} <= domestic
    assert {"GRP", "NEWS", "MMED", "CDN", "ANON"} <= foreign
    cdn = {s.name for s in t.services if s.category == "CDN" and s.locus == "foreign"}
    assert any(set(s.depends_on) & cdn for s in t.services if s.locus == "domestic")
    assert {r.isp for r in t.resolvers if r.isp} == {i.name for i in t.isps}
    assert [r.name for r in t.public_resolvers] == ["pubdns"]
    for s in t.services:
        suffix = ".sov" if s.locus == "domestic" else ".example"
        assert all(d.endswith(suffix) for d in s.domains), s
    assert all(lk.delay is None and lk.loss is None for lk in t.links)
    assert all(len(h.name) <= 10 for h in t.hosts) and all(len(s.name) <= 10 for s in t.switches)


@pytest.mark.parametrize("path", [MINIMAL, NATIONAL], ids=["minimal", "national"])
def test_shipped_topologies_are_consistent(path):
    t = load_topology(path)
    names = [s.name for s in t.switches] + [h.name for h in t.hosts]
    assert len(names) == len(set(names))
    assert len({h.ip for h in t.hosts}) == len(t.hosts)
    assert len({h.mac for h in t.hosts}) == len(t.hosts)
    assert len({s.dpid for s in t.switches}) == len(t.switches)
    ports = [(lk.a, lk.a_port) for lk in t.links if lk.a_port is not None]
    ports += [(lk.b, lk.b_port) for lk in t.links]
    assert len(ports) == len(set(ports))
    for h in t.hosts:
        abroad = (h.kind == "service" and t.service(h.name).locus == "foreign"
                  or h.kind in ("collector", "prober")
                  or h.kind == "resolver" and h.name in {r.name for r in t.public_resolvers}
                  or h.kind == "router" and not t.router(h.name).isp)
        assert t.is_foreign(h.ip) == abroad
    assert Topology.from_dict(t.to_dict()) == t


@pytest.mark.parametrize("path", [MINIMAL, NATIONAL], ids=["minimal", "national"])
def test_loading_is_deterministic(path):
    assert load_topology(path) == load_topology(path)
    assert load_topology(path).to_dict() == load_topology(str(path)).to_dict()


def test_allocation_rules():
    t = load("""\
subscribers:
  alice: {switch: s1, isp: fixnet, class: fixed_home}
  bob: {switch: "s1:2", isp: fixnet, class: fixed_home, ip: 10.1.0.3}
  carol: {switch: s3, isp: mobinet, class: mobile_prepaid, mac: "02:AA:00:00:00:01"}
services:
  bank: {domains: [bank.sov], category: BANK, locus: domestic, switch: s2}
""")
    assert [(s.name, s.dpid) for s in t.switches] == [("s1", 1), ("s2", 2), ("s3", 3)]
    assert t.links[:2] == (Link("s1", 1, "s2", 1), Link("s3", 1, "s2", 2))
    # explicit s1:2 reserved before alice takes the lowest free port, 3
    assert t.host("alice") == Host("alice", "subscriber", "10.1.0.2", 8, "02:00:0a:01:00:02",
                                   "s1", 3)
    assert t.host("bob") == Host("bob", "subscriber", "10.1.0.3", 8, "02:00:0a:01:00:03", "s1", 2)
    assert t.host("carol").mac == "02:aa:00:00:00:01"
    assert t.host("carol").ip == "10.2.0.2"
    assert t.host("bank") == Host("bank", "service", "10.250.0.2", 8, "02:00:0a:fa:00:02", "s2", 3)
    # resolvers come after services, and skip the address bob took explicitly
    assert t.host("dns1").ip == "10.1.0.4" and t.host("dns1").port == 4
    assert t.host("dns2").ip == "10.2.0.3" and t.host("dns2").port == 5
    # switch links first (file order), then host links: subscribers, services, resolvers
    assert [lk.a for lk in t.links[2:]] == ["alice", "bob", "carol", "bank", "dns1", "dns2"]
    assert t.links[2] == Link("alice", None, "s1", 3)
    assert [h.name for h in t.hosts] == ["alice", "bob", "carol", "bank", "dns1", "dns2"]


def test_explicit_dpids_and_ports_are_respected():
    base = BASE.replace("s2: {role: core}", "s2: {role: core, dpid: 1}").replace(
        "s3: {role: access, isp: mobinet}", "s3: {role: access, isp: mobinet, dpid: \"0x1a\"}"
    ).replace("- [s1, s2]", "- {a: \"s1:7\", b: \"s2:1\"}")
    t = load(base=base)
    assert [(s.name, s.dpid) for s in t.switches] == [("s1", 2), ("s2", 1), ("s3", 26)]
    assert t.links[0] == Link("s1", 7, "s2", 1, bw=None)
    assert t.links[1] == Link("s3", 1, "s2", 2)


def test_foreign_services_and_prefixlen():
    t = load("""\
services:
  cdn: {domains: [fastcdn.example], category: CDN, locus: foreign, switch: inet1}
  news: {domains: [news.example], category: NEWS, locus: foreign, switch: inet1, ip: 172.20.0.9}
""", base="""\
name: t
isps:
  fixnet: {kind: fixed, prefix: 10.1.0.0/16}
switches:
  s1: {role: core, isp: fixnet}
  gw1: {role: border}
  inet1: {role: internet}
links:
  - [s1, gw1]
  - [gw1, inet1]
resolvers:
  dns1: {isp: fixnet, switch: s1}
""")
    assert t.host("cdn").ip == "172.16.0.2" and t.host("cdn").prefixlen == 12
    assert t.host("news").ip == "172.20.0.9"
    assert t.host("dns1").prefixlen == 8


def test_count_expands_in_place():
    t = load("""\
subscribers:
  alice: {switch: s1, isp: fixnet, class: fixed_home}
  home: {switch: s1, isp: fixnet, class: fixed_home, count: 3}
  zed: {switch: s1, isp: fixnet, class: fixed_home}
""")
    assert [s.name for s in t.subscribers] == ["alice", "home1", "home2", "home3", "zed"]
    assert [t.host(n).ip for n in ("home1", "home2", "home3")] == [
        "10.1.0.3", "10.1.0.4", "10.1.0.5"]
    assert [t.host(n).port for n in ("home1", "home2", "home3", "zed")] == [3, 4, 5, 6]


def test_defaults_groups_and_precedence():
    t = load("""\
defaults:
  link: {bw: 100, delay: 5ms}
  subscriber: {class: fixed_home, isp: fixnet, switch: s1}
  service: {locus: domestic, switch: s2}
groups:
  prepaid: {class: mobile_prepaid, isp: mobinet, switch: s3, registered: false}
  gov: {category: GOVT, depends_on: [bank]}
subscribers:
  alice: {}
  bob: {group: prepaid}
  carol: {group: prepaid, class: mobile_postpaid, registered: true}
services:
  bank: {domains: [bank.sov], category: BANK}
  tax: {group: gov, domains: [tax.gov.sov]}
""", base=BASE.replace("- [s3, s2]", "- {a: s3, b: s2, bw: 10, loss: 1}"))
    sub = {s.name: s for s in t.subscribers}
    assert (sub["alice"].cls, sub["alice"].isp, sub["alice"].registered) == (
        "fixed_home", "fixnet", True)
    assert t.host("alice").switch == "s1"
    assert (sub["bob"].cls, sub["bob"].isp, sub["bob"].registered) == (
        "mobile_prepaid", "mobinet", False)
    assert t.host("bob").switch == "s3"
    assert (sub["carol"].cls, sub["carol"].registered) == ("mobile_postpaid", True)
    tax = t.service("tax")
    assert (tax.category, tax.locus, tax.depends_on) == ("GOVT", "domestic", ("bank",))
    assert t.host("tax").switch == "s2"
    assert t.links[0] == Link("s1", 1, "s2", 1, bw=100, delay="5ms")
    assert t.links[1] == Link("s3", 1, "s2", 2, bw=10, delay="5ms", loss=1.0)
    assert t.links[2].bw is None  # host links are not shaped


def test_addressing_section():
    t = load("""\
addressing:
  domestic: [10.0.0.0/8, 100.64.0.0/10]
  foreign: [172.16.0.0/12]
  services: 100.64.0.0/16
services:
  bank: {domains: [bank.sov], category: BANK, locus: domestic, switch: s2}
""")
    assert t.domestic_prefixes == ("10.0.0.0/8", "100.64.0.0/10")
    assert t.host("bank").ip == "100.64.0.2" and t.host("bank").prefixlen == 10


def test_merge_keys_and_loss_percent():
    t = load("""\
subscribers:
  alice: &home {switch: s1, isp: fixnet, class: fixed_home}
  bob:
    <<: *home
    class: enterprise
""", base=BASE.replace("- [s3, s2]", "- {a: s3, b: s2, loss: '0.5%'}"))
    assert t.subscriber("bob").cls == "enterprise" and t.host("bob").switch == "s1"
    assert t.links[1].loss == 0.5


def test_file_that_cannot_be_read(tmp_path):
    from sovnet.errors import ConfigError

    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as e:
        load_topology(missing)
    assert str(e.value) == f"{missing}:1:1: cannot read the file: No such file or directory"


def test_readme_example_loads():
    text = (ROOT / "topologies" / "README.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    t = topology_from_text(example, "README.md")
    assert [s.name for s in t.subscribers] == ["alice", "bob", "home1", "home2", "home3",
                                               "flat1", "flat2", "carol"]
    assert t.host("flat1").pod == t.host("flat2").pod == "pod-acc1"
    assert t.host("flat1").port == t.host("flat2").port
    assert t.host("bob").port == 7 and not t.subscriber("bob").registered
    assert t.switch("acc2").dpid == 16
    assert t.host("carol").ip == "10.1.0.50"
