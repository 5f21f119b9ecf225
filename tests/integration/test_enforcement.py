"""The whole stack on topologies/minimal.yaml: real Mininet, userspace OVS, the os-ken controller
in its own process, the SQLite store, HTTP and DNS servers in hosts."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sovnet import commands
from sovnet.compile import compile_flows
from sovnet.flowtable.ofctl_text import parse_dump
from sovnet.lab import LabError
from sovnet.model.command import PolicyRequest
from sovnet.model.flows import TABLE_FORWARD, make_cookie
from sovnet.model.policy import parse_scope, parse_target
from sovnet.model.topology import resolver_ip
from sovnet.poll import eventually
from sovnet.reconcile.diff import diff
from tests.integration.probing import dig, http_status, pings, reach

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGY = ROOT / "topologies" / "minimal.yaml"


def ofctl(*args) -> str:
    return subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", *args], capture_output=True,
                          text=True, check=True).stdout


def subscribers(lab, registered=True):
    return [s.name for s in lab.topology.subscribers if s.registered == registered]


def ips(lab, names):
    return [lab.topology.host(n).ip for n in names]


def services(lab, locus=None):
    return [s.name for s in lab.topology.services if locus in (None, s.locus)]


def expect_reach(lab, src, reachable, unreachable=()):
    reach(lab, src, {n: True for n in reachable} | {n: False for n in unreachable})


def add(lab, action, target, scope="all", priority=100):
    p = lab.store.add_policy(PolicyRequest.of(
            action, parse_scope(scope), parse_target(target), priority, author="test",
            reason=f"{action} {target}"))
    lab.wait_enforced(lab.store.revision())
    return p


def revoke(lab, *policies):
    with lab.store.transaction("test", "revoke") as tx:
        for p in policies:
            tx.revoke_policy(p.id)
    lab.wait_enforced(lab.store.revision())


def test_empty_policy_set_reaches_everything(lab, clean):
    targets = services(lab) + [r.name for r in lab.topology.resolvers]
    for src in subscribers(lab):
        expect_reach(lab, src, targets)
    src = lab.host(subscribers(lab)[0])
    for svc in lab.topology.services:
        assert http_status(src, lab.topology.host(svc.name).ip, svc.domains[0]) == "200", svc.name
    resolver = lab.topology.host(lab.topology.resolvers[0].name).ip
    svc = lab.topology.services[0]
    assert dig(src, resolver, svc.domains[0]) == lab.topology.host(svc.name).ip
    # By name, as a subscriber would: through the resolver in the host's /etc/resolv.conf.
    for name in subscribers(lab):
        out = lab.host(name).cmd(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' "
                                 f"http://{svc.domains[-1]}/")
        assert out.strip() == "200", name


def test_deny_one_service_then_revoke_restores_it(lab, clean):
    victim = services(lab, "foreign")[0]
    others = [s for s in services(lab) if s != victim]
    p = add(lab, "deny", f"service:{victim}")
    for src in subscribers(lab):
        expect_reach(lab, src, others, [victim])
    svc = lab.topology.service(victim)
    assert http_status(lab.host(subscribers(lab)[0]), lab.topology.host(victim).ip,
                       svc.domains[0], timeout_s=1) == "000"
    revoke(lab, p)
    for src in subscribers(lab):
        expect_reach(lab, src, services(lab))


def test_international_cutoff_with_a_whitelisted_foreign_service(lab, clean):
    foreign = services(lab, "foreign")
    kept, cut = foreign[0], foreign[1:]
    add(lab, "deny", "international", priority=100)
    add(lab, "allow", f"service:{kept}", priority=500)
    for src in subscribers(lab):
        expect_reach(lab, src, services(lab, "domestic") + [kept], cut)


def test_unregistered_device_gets_nothing_until_registered(lab, clean):
    outsiders = subscribers(lab, registered=False)
    assert outsiders, "minimal.yaml must have an unregistered subscriber"
    name = outsiders[0]
    mac = lab.topology.host(name).mac
    expect_reach(lab, name, [], services(lab) + [r.name for r in lab.topology.resolvers])
    lab.store.register_device(name, mac, author="test", reason="admit")
    lab.wait_enforced(lab.store.revision())
    expect_reach(lab, name, services(lab))
    lab.store.revoke_device(mac, author="test", reason="expel again")
    lab.wait_enforced(lab.store.revision())
    expect_reach(lab, name, [], services(lab)[:2])


def test_revoked_subscriber_loses_service(lab, clean):
    name = subscribers(lab)[0]
    lab.store.set_subscriber_status(name, "revoked", author="test", reason="revoke")
    lab.wait_enforced(lab.store.revision())
    expect_reach(lab, name, [], services(lab)[:2])
    lab.store.set_subscriber_status(name, "registered", author="test", reason="restore")
    lab.wait_enforced(lab.store.revision())
    expect_reach(lab, name, services(lab))


def test_flows_read_back_from_ovs_diff_to_an_empty_plan(lab, clean):
    add(lab, "deny", "international", scope=f"isp:{lab.topology.isps[0].name}")
    add(lab, "deny", "port:udp/443", priority=300)
    snap = lab.store.snapshot()
    tables = compile_flows(snap.topology, snap.policies, snap.subscribers)
    for sw in lab.topology.switches:
        actual = parse_dump(sw.dpid, ofctl("dump-flows", sw.name))
        assert len(actual) == len(tables[sw.dpid])
        plan = diff(tables[sw.dpid], actual)
        assert not plan, f"{sw.name}: {plan.summary()}"


def test_a_store_change_from_another_process_is_enforced(lab, clean):
    victim = services(lab, "domestic")[0]
    out = subprocess.run(
        [sys.executable, "-m", "sovnet", "store", str(lab.store_path), "policy", "add", "deny",
         f"service:{victim}", "--why", "from a shell"],
        capture_output=True, text=True, check=True).stdout
    assert out.startswith("added #")
    lab.wait_enforced(lab.store.revision(), timeout=5)
    expect_reach(lab, subscribers(lab)[0], [], [victim])


def test_blocked_traffic_stays_blocked_while_the_controller_is_down(lab, clean):
    victim = services(lab, "foreign")[0]
    add(lab, "deny", f"service:{victim}")
    lab.controller.kill()
    lab.controller.wait(timeout=5)
    lab.controller = None
    src = subscribers(lab)[0]
    # fail_mode=secure: the switches keep their flows without a controller.
    expect_reach(lab, src, services(lab, "domestic"), [victim])
    restarted = time.time()
    lab.start_controller()
    # On reconnect the new controller reconciles; the flows were intact, so nothing changes.
    rev = lab.store.revision()

    def reacked():
        fresh = {a.dpid: a for a in lab.store.acks(rev) if a.acked_at > restarted}
        assert fresh.keys() == set(lab.dpids())
        return fresh

    fresh = eventually(reacked, timeout=30)
    assert [a.flows_changed for a in fresh.values()] == [0] * len(fresh)
    expect_reach(lab, src, services(lab, "domestic"), [victim])


TRACE_FLOW = re.compile(r"^\s*(\d+)\. .*priority (\d+), cookie (0x[0-9a-f]+)")
TRACE_OUTPUT = re.compile(r"^\s+output:(\d+)")


def ovs_trace(switch: str, packet: dict, in_port: int) -> tuple[list, int | None]:
    """What OVS itself does with a packet on one bridge: [(table, priority, cookie)], out port."""
    proto = {6: "tcp", 17: "udp"}[packet["ip_proto"]]
    flow = (f"in_port={in_port},dl_src={packet['eth_src']},dl_dst={packet['eth_dst']},{proto},"
            f"nw_src={packet['ipv4_src']},nw_dst={packet['ipv4_dst']},"
            f"{proto}_dst={packet.get('tcp_dst') or packet.get('udp_dst')}")
    res = subprocess.run(["ovs-appctl", "ofproto/trace", switch, flow],
                         capture_output=True, text=True)
    assert res.returncode == 0, f"ovs-appctl ofproto/trace {switch} {flow}: {res.stderr}"
    out = res.stdout
    hits, port = [], None
    for line in out.splitlines():
        if m := TRACE_FLOW.match(line):
            hits.append((int(m[1]), int(m[2]), int(m[3], 16)))
        elif m := TRACE_OUTPUT.match(line):
            port = int(m[1])
    return hits, port


def test_explain_agrees_with_ovs_own_trace_hop_by_hop(lab, clean):
    """The simulator behind `explain` against ovs-appctl ofproto/trace, on every hop of every
    subscriber -> service path, under a cutoff with a whitelist and a port filter."""
    from sovnet.flowtable.simulate import trace

    add(lab, "deny", "international")
    add(lab, "allow", f"service:{services(lab, 'foreign')[0]}", priority=500)
    add(lab, "deny", "port:udp/53", scope=f"isp:{lab.topology.isps[0].name}", priority=600)
    snap = lab.store.snapshot()
    tables = compile_flows(snap.topology, snap.policies, snap.subscribers)
    topo, checked = lab.topology, 0
    for src in subscribers(lab):
        for dst in services(lab) + [r.name for r in topo.resolvers]:
            s, d = topo.host(src), topo.host(dst)
            for proto, port in ((6, 80), (17, 53)):
                pkt = {"eth_src": s.mac, "eth_dst": d.mac, "eth_type": 0x0800,
                       "ipv4_src": s.ip, "ipv4_dst": d.ip, "ip_proto": proto,
                       ("tcp_dst" if proto == 6 else "udp_dst"): port}
                t = trace(topo, tables, src, pkt)
                for sw in t.hops:
                    steps = [st for st in t.steps if st.switch == sw]
                    want = [(st.table, st.flow.key.priority, st.flow.cookie) for st in steps]
                    hits, out = ovs_trace(sw, pkt, steps[0].in_port)
                    assert hits == want, (src, dst, proto, sw)
                    checked += 1
                assert (t.delivered_to == dst) == (out is not None), (src, dst, proto)
    assert checked > 50


def test_audit_restores_a_lost_flow_and_leaves_foreign_flows_alone(lab, clean):
    victim = services(lab, "foreign")[0]
    p = add(lab, "deny", f"service:{victim}")
    sw = lab.topology.host(subscribers(lab)[0]).switch
    alien = "cookie=0x1234,table=2,priority=5,udp,udp_dst=9999,actions=drop"
    ofctl("add-flow", sw, alien)
    # Someone removes sovnet's deny behind the controller's back.
    cookie = f"0x{p.id | (0x50E7 << 48) | (3 << 40):x}/-1"
    ofctl("del-flows", sw, f"cookie={cookie}")

    def restored():
        text = ofctl("dump-flows", sw)
        assert f"cookie={cookie.split('/')[0]}" in text
        return text

    text = eventually(restored, timeout=10)  # the lab audits every 2 s
    assert "cookie=0x1234" in text and "tp_dst=9999" in text  # OVS prints udp_dst as tp_dst
    expect_reach(lab, subscribers(lab)[0], [], [victim])
    ofctl("del-flows", sw, "cookie=0x1234/-1")


def test_a_tampered_flow_with_our_cookie_is_replaced_and_enforcement_goes_on(lab,
                                                                           clean):
    sw = lab.topology.host(subscribers(lab)[0]).switch
    bank = lab.topology.host(services(lab, "domestic")[0]).ip
    forward = make_cookie("forward")
    # Actions sovnet never writes, on a flow sovnet owns (same key as a compiled flow).
    ofctl("add-flow", sw, f"cookie={forward:#x},table={TABLE_FORWARD},priority=10,ip,"
                          f"nw_dst={bank},actions=mod_nw_tos:4,output:1")

    def repaired():
        text = ofctl("dump-flows", sw, f"cookie={forward:#x}/-1")
        assert "mod_nw_tos" not in text
    eventually(repaired, timeout=15)  # the next audit (every 2 s) replaces it
    victim = services(lab, "foreign")[0]
    add(lab, "deny", f"service:{victim}")  # and the controller still enforces new revisions
    expect_reach(lab, subscribers(lab)[0], services(lab, "domestic"), [victim])


def test_a_switch_that_refuses_a_change_is_reported_and_retried(lab, clean):
    sw = lab.topology.host(subscribers(lab)[0]).switch
    in_table_1 = sum(1 for ln in ofctl("dump-flows", sw, "table=1").splitlines()
                     if "cookie=" in ln)
    # Make OVS refuse any new flow in the policy table of this switch.
    subprocess.run(["ovs-vsctl", "--", "--id=@ft", "create", "Flow_Table",
                    f"flow_limit={in_table_1}", "overflow_policy=refuse", "--", "set",
                    "Bridge", sw, "flow_tables:1=@ft"], check=True, capture_output=True)
    try:
        p = lab.store.add_policy(PolicyRequest.of(
                "deny", parse_scope("all"), parse_target("international"), author="test",
                reason="refused"))
        rev = lab.store.revision()
        with pytest.raises(LabError, match=rf"refused by dpid {lab.topology.switch(sw).dpid:#x}"
                                           r": failed: OpenFlow error"):
            lab.wait_enforced(rev, timeout=3)
    finally:
        subprocess.run(["ovs-vsctl", "clear", "Bridge", sw, "flow_tables"], check=True)
    lab.wait_enforced(rev, timeout=30)  # retried with backoff until the switch accepts
    assert p.id in {pol.id for pol in lab.store.policies()}
    expect_reach(lab, subscribers(lab)[0], services(lab, "domestic"), services(lab, "foreign"))


def test_dns_tamper_makes_the_isp_resolver_lie_to_its_subscribers_only(lab, clean):
    topo = lab.topology
    name = topo.service("social").domains[0]
    truth = topo.host("social").ip
    fixed, mobile = "alice", "dave"
    assert topo.subscriber(fixed).isp != topo.subscriber(mobile).isp

    def answers(host):
        return dig(lab.host(host), resolver_ip(topo, host), name)

    p = add(lab, "dns_tamper:nxdomain", "service:social", scope=f"isp:{topo.subscriber(fixed).isp}")

    def lied_nxdomain():
        assert answers(fixed) == "" and answers(mobile) == truth

    eventually(lied_nxdomain, timeout=5)
    # NXDOMAIN, not silence: the resolver answered, with that rcode
    out = lab.host(fixed).cmd(f"dig +time=1 +tries=1 @{resolver_ip(topo, fixed)} {name} A")
    assert "status: NXDOMAIN" in out
    # the switches carry no flow for it: packets to the real address still pass
    expect_reach(lab, fixed, ["social"])
    blockpage = add(lab, "dns_tamper:10.66.0.1", "category:GRP", priority=200)

    def lied_address():
        assert answers(fixed) == "10.66.0.1" and answers(mobile) == "10.66.0.1"

    eventually(lied_address, timeout=5)
    revoke(lab, p, blockpage)
    def truthful():
        assert (answers(fixed), answers(mobile)) == (truth, truth)

    eventually(truthful, timeout=5)


def test_reject_tells_the_sender_no_where_deny_stays_silent(lab, clean):
    topo = lab.topology
    svc = topo.service("social")
    addr, name = topo.host("social").ip, svc.domains[0]
    host = lab.host("alice")

    def curl():
        t0 = time.monotonic()
        out = host.cmd(f"curl -s -o /dev/null -m 3 -w '%{{http_code}} %{{exitcode}}' "
                       f"--resolve {name}:80:{addr} http://{name}/")
        return out.strip(), time.monotonic() - t0

    add(lab, "reject", "service:social", scope="subscriber:alice")
    (status, took) = curl()
    assert status == "000 7" and took < 1.0, (status, took)  # 7: connection refused, at once
    out = host.cmd(f"ping -n -c 1 -W 1 {addr}")
    assert "Packet filtered" in out  # ICMP "administratively prohibited" for non-TCP
    text, _ = commands.run(lab.store, f"explain alice {name}")
    assert text.splitlines()[0].endswith(
        "rejected (the sender gets a TCP reset or ICMP prohibited)"), text
    # the same flow priority, as a deny: silence until the timeout
    add(lab, "deny", "service:social", scope="subscriber:alice", priority=200)
    (status, took) = curl()
    assert status == "000 28" and took >= 2.9, (status, took)  # 28: timed out
    text, _ = commands.run(lab.store, f"explain alice {name}")
    assert text.splitlines()[0].endswith(": dropped"), text


def test_a_web_only_port_regime_passes_dns_and_http_and_nothing_else(lab, clean):
    topo = lab.topology
    addr = topo.host("gov").ip
    name = topo.service("gov").domains[0]
    alice = lab.host("alice")

    def tcp22():  # no server on port 22: a quick refusal when allowed, a timeout when dropped
        out = alice.cmd(f"curl -s -o /dev/null -m 2 -w '%{{exitcode}}' telnet://{addr}:22")
        return out.strip()

    assert tcp22() == "7"
    web_only = ROOT / "controller" / "policies" / "web-only.yaml"
    commands.run(lab.store, ["policy", "load", str(web_only)])
    lab.wait_enforced(lab.store.revision())
    assert dig(alice, resolver_ip(topo, "alice"), name) == addr  # udp/53 passes
    assert http_status(alice, addr, name, timeout_s=2) == "200"  # tcp/80 passes
    assert pings(alice, [addr]) == {addr: False}  # icmp is dropped
    assert tcp22() == "28"  # any other port is dropped
