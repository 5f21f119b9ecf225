"""IPv6 for real, on a dual-stack lab: hosts reach each other over both families (neighbour
discovery where ARP is used for IPv4), the resolvers answer AAAA, and policies apply to both
families unless a target names one: a regime can cut IPv6 alone, as Irancell did in 2022."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.experiments import ooni
from sovnet.model.command import PolicyRequest
from sovnet.model.policy import parse_scope, parse_target
from tests.integration.test_blockpage import agent

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "tests" / "integration" / "topologies" / "dual.yaml"
FIXED, MOBILE = "alice", "dave"  # fixnet's and mobinet's
SOCIAL, BANK = "friendbook.example", "bank.sov"


def curl(host, family: str, url: str) -> str:
    """curl over one family (-4/-6), through the host's resolver: the HTTP status, or the
    curl exit code after a colon when it failed."""
    out = host.cmd(f"curl -{family} -s -m 3 -o /dev/null -w '%{{http_code}}' {url}; "
                   "echo \" :$?\"").strip()
    code, exit_code = out.split()
    return code if exit_code == ":0" else exit_code[1:]


def web(lab, host: str, url: str, service: str, families=("ipv4", "ipv6")) -> dict:
    obs = agent(lab.host(host), {"id": "w", "kind": "web", "page": False, "targets": [
        {"service": service, "url": url, "families": list(families)}]})["observation"]
    h = lab.topology.host(service)
    ctrl = agent(lab.host("carol"), {"id": "c", "kind": "web", "control": True, "targets": [
        {"service": service, "url": url, "addrs": [h.ip, h.ip6]}]})["control"]
    return ooni.classify(obs, ctrl)


@pytest.fixture
def policy(lab, clean):
    def add(action: str, target: str, scope: str, priority: int = 100):
        lab.store.add_policy(PolicyRequest.of(action, parse_scope(scope), parse_target(target),
                                              priority, author="test", reason=target))
        lab.wait_enforced(lab.store.revision())
    return add


def test_every_host_speaks_both_families_through_its_resolver(lab):
    social = lab.topology.host("social")
    assert (social.ip, social.ip6) == ("172.16.0.2", "fd00:5e::ac10:2")  # embedded in the /96
    out = lab.host(FIXED).cmd(f"ping -6 -c1 -W1 {social.ip6}")
    assert " 0% packet loss" in out, out
    assert lab.host(FIXED).cmd(f"dig +short AAAA {SOCIAL}").strip() == social.ip6
    for family in ("4", "6"):
        assert curl(lab.host(FIXED), family, f"https://{SOCIAL}/") == "200", family
        assert curl(lab.host(MOBILE), family, f"http://{BANK}/") == "200", family


def test_the_probe_looks_up_both_families_and_connects_to_every_address(lab):
    tk = web(lab, FIXED, f"https://{SOCIAL}/", "social")
    assert sorted(q["query_type"] for q in tk["queries"]) == ["A", "AAAA"]
    h = lab.topology.host("social")
    assert [(c["ip"], c["status"]["success"]) for c in tk["tcp_connect"]] == [
        (h.ip, True), (h.ip6, True)]
    assert (tk["blocking"], tk["accessible"]) == (False, True)


def test_a_regime_can_cut_ipv6_alone(lab, policy):
    """Irancell, 2022: IPv6 cut for one mobile operator while IPv4 works there."""
    policy("deny", "any@ipv6", "isp:mobinet")
    assert curl(lab.host(MOBILE), "6", f"https://{SOCIAL}/") == "28"  # curl: timed out
    assert curl(lab.host(MOBILE), "4", f"https://{SOCIAL}/") == "200"
    assert curl(lab.host(FIXED), "6", f"https://{SOCIAL}/") == "200"  # other ISPs untouched
    only6 = web(lab, MOBILE, f"https://{SOCIAL}/", "social", families=("ipv6",))
    assert (only6["http_experiment_failure"], only6["blocking"]) == (
        "generic_timeout_error", "tcp_ip")
    both = web(lab, MOBILE, f"https://{SOCIAL}/", "social")
    assert [c["status"]["failure"] for c in both["tcp_connect"]] == [
        None, "generic_timeout_error"]
    assert both["accessible"] is True  # a dual-stack client falls back to IPv4


@pytest.mark.parametrize("action, failure", [("deny", "28"), ("reject", "7")])
def test_a_cutoff_covers_both_families(lab, policy, action, failure):
    policy(action, "international", "all")
    for family in ("4", "6"):
        assert curl(lab.host(FIXED), family, f"https://{SOCIAL}/") == failure, family
        assert curl(lab.host(FIXED), family, f"http://{BANK}/") == "200", family


def test_the_inspector_reads_ipv6_too(lab, policy):
    """An SNI rule that IPv6 escaped would be no rule: the reset comes over both families."""
    policy("reject", f"sni:{SOCIAL}", "isp:fixnet")
    for family in ("4", "6"):
        assert curl(lab.host(FIXED), family, f"https://{SOCIAL}/") == "35", family  # reset
        assert curl(lab.host(FIXED), family, f"https://{BANK}/") == "200", family


def test_permission_to_connect_holds_for_ipv6_too(lab):
    """Admission is by device (port and MAC), whatever the family: an unregistered device
    reaches nothing over IPv6 either."""
    assert not lab.topology.subscriber("bob").registered
    bank = lab.topology.host("bank")
    for family, addr in (("4", bank.ip), ("6", f"[{bank.ip6}]")):
        assert curl(lab.host("bob"), family, f"http://{addr}/") in ("7", "28"), family
        # an admitted device reaches the server (421: it serves names, not addresses)
        assert curl(lab.host(MOBILE), family, f"http://{addr}/") == "421", family
