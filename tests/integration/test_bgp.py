"""Routes at the border on the real stack: GoBGP speakers in Mininet hosts announce the ISPs'
prefixes to two transit networks, two collectors record every update, and the controller both
withdraws announcements as the store says and makes the internet switch forward as the
transit routers route (sovnet.compile.routes, sovnet.controller.routes)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from sovnet.config import load_topology
from sovnet.lab import Lab
from sovnet.model.command import PolicyRequest
from sovnet.poll import wait_for
from tests.integration.probing import run_scenario

HERE = Path(__file__).parent
ALL = {"10.1.0.0/17", "10.1.128.0/17", "10.2.0.0/16"}


def _reach(node, ip: str) -> bool:
    return node.cmd(f"ping -n -c1 -W1 {ip} >/dev/null 2>&1 && echo ok || echo no").strip() == "ok"


LISTEN = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
          "s.bind(('0.0.0.0', 9999)); s.settimeout(5); print('ready', flush=True); "
          "print(s.recvfrom(64)[1][0], flush=True)")


def _arrives(sender, receiver, receiver_ip: str) -> str:
    """Where the one UDP datagram `sender` sends to `receiver` came from, as `receiver` saw it
    ("" if it never came)."""
    listener = receiver.popen([sys.executable, "-c", LISTEN], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert listener.stdout.readline().strip() == "ready"
        sender.cmd(f"echo hello > /dev/udp/{receiver_ip}/9999")
        out, _ = listener.communicate(timeout=10)
        return out.strip()
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()


def _feed(lab, collector: str) -> list[dict]:
    path = lab.bgp_dir / f"{collector}.ris.jsonl"
    return [json.loads(line)["data"] for line in path.read_text().splitlines()]


def _mrtparse():
    """mrtparse, imported without its side effect: it sets SIGPIPE to the default action on
    import, after which a write to a closed pipe anywhere in the test process kills it (CI
    died so, mid-suite, with status 141)."""
    previous = signal.getsignal(signal.SIGPIPE)
    import mrtparse

    signal.signal(signal.SIGPIPE, previous)
    return mrtparse


def _mrt_withdrawals(lab, collector: str) -> set[tuple[str, str]]:
    out = set()
    for entry in _mrtparse().Reader(str(lab.bgp_dir / f"{collector}.updates.mrt")):
        msg = entry.data.get("bgp_message", {})
        for w in msg.get("withdrawn_routes", []):
            out.add((entry.data["peer_ip"], f"{w['prefix']}/{w['length']}"))
    return out


def test_a_withdrawal_is_seen_abroad_and_cuts_the_prefix_off_and_a_data_cut_is_not(tmp_path):
    topo = load_topology(str(HERE / "topologies" / "bgp.yaml"))
    with Lab(topo, tmp_path, flowlog=False) as lab:
        # started: both collectors hold every announcement, through both transits
        assert lab.rib("rrc00") == lab.rib("rv2") == ALL
        news, alice, bob = lab.host("news"), topo.host("alice"), topo.host("bob")
        wait_for(lambda: _reach(news, alice.ip), 15, "news to reach alice")
        transit = {topo.host("level3").ip, topo.host("telia").ip}

        withdraw = lab.store.add_policy(PolicyRequest.of("withdraw", "isp:fixnet", "any"))
        wait_for(lambda: lab.rib("rrc00") == lab.rib("rv2") == {"10.2.0.0/16"}, 15,
                 "the collectors to see fixnet's routes withdrawn")
        said = {(t, p) for t in transit for p in ("10.1.0.0/17", "10.1.128.0/17")}
        for collector in ("rrc00", "rv2"):  # every full-feed peer said so, live and in MRT
            wait_for(lambda c=collector: said <= {(m["peer"], p) for m in _feed(lab, c)
                                                  for p in m["withdrawals"]}, 5,
                     f"{collector}'s live feed to carry the withdrawals")
            wait_for(lambda c=collector: said <= _mrt_withdrawals(lab, c), 5,
                     f"{collector}'s MRT dump to carry the withdrawals")
        # forwarding follows: nothing from abroad reaches fixnet, nor do replies come back
        wait_for(lambda: not _reach(news, alice.ip), 10, "alice to drop off the map")
        assert not _reach(lab.host("alice"), topo.host("news").ip)
        assert _reach(news, bob.ip)  # mobinet still announces
        assert _reach(news, topo.host("fixgw").ip)  # the session's own address stays up

        lab.store.revoke_policy(withdraw.id)
        wait_for(lambda: lab.rib("rrc00") == ALL, 15, "the routes to come back")
        wait_for(lambda: _reach(news, alice.ip), 10, "alice to be reachable again")

        # a cut of the data plane alone: the routes stay, the traffic does not
        lab.store.add_policy(PolicyRequest.of("deny", "all", "international"))
        lab.wait_enforced(lab.store.revision(), timeout=20)
        wait_for(lambda: not _reach(lab.host("alice"), topo.host("news").ip), 10, "the data cut")
        assert lab.rib("rrc00") == lab.rib("rv2") == ALL
    left = subprocess.run(["pgrep", "-af", f"gobgp|risfeed|{tmp_path}"], capture_output=True,
                          text=True).stdout
    assert left.strip() == "", f"processes left: {left}"


def test_a_withdrawal_scenario_is_checked_from_abroad_in_iodas_shape(tmp_path):
    out = tmp_path / "run"
    run_scenario(HERE / "scenarios" / "bgp-withdrawal.yaml", out)
    ioda = json.loads((out / "ioda.json").read_text())
    assert ioda["type"] == "signals"
    series = {(s["datasource"], s["entityType"], s["entityCode"]): s
              for [s] in ioda["data"]}
    assert set(series) == {(ds, kind, code) for ds in ("bgp", "ping-slash24", "traffic")
                           for kind, code in (("asn", "64501"), ("asn", "64502"),
                                              ("country", "bgplab"))} | {
        (ds, "region", r) for ds in ("bgp", "ping-slash24") for r in ("north", "south")}
    assert series[("bgp", "region", "north")]["values"][0] == 1  # alice's /24, up north
    fix = series[("bgp", "asn", "64501")]
    assert set(fix) >= {"entityType", "entityCode", "datasource", "from", "until", "step",
                        "values"}
    assert fix["until"] == fix["from"] + fix["step"] * len(fix["values"])
    assert max(fix["values"]) == 256 and min(fix["values"]) == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    (gone, back) = [e for e in events if e["type"] == "route_effect"]
    assert gone["withdrawn"] == ["10.1.0.0/17", "10.1.128.0/17"] and gone["peers"] == 4
    assert 0 < gone["withdrawal_seen_s"] < 5
    assert back["announced"] == ["10.1.0.0/17", "10.1.128.0/17"]
    assert (out / "plots" / "outside.png").stat().st_size > 10_000  # the report drew it


def test_policies_at_the_border_cut_one_direction_and_leave_the_routes_up(tmp_path):
    topo = load_topology(str(HERE / "topologies" / "bgp.yaml"))
    news_ip, alice_ip, bob_ip = (topo.host(n).ip for n in ("news", "alice", "bob"))
    with Lab(topo, tmp_path, flowlog=False) as lab:
        news, alice, bob = lab.host("news"), lab.host("alice"), lab.host("bob")
        wait_for(lambda: _reach(alice, news_ip), 15, "alice to reach news")

        # inbound only: nothing from abroad gets in, so alice's requests leave and their
        # answers never come back; a higher-priority allow exempts bob
        cut = lab.store.add_policy(PolicyRequest.of("deny:inbound", "all", "international"))
        lab.store.add_policy(PolicyRequest.of("allow:inbound", "subscriber:bob",
                                              "international", priority=200))
        lab.wait_enforced(lab.store.revision(), timeout=20)
        wait_for(lambda: not _reach(alice, news_ip), 10, "the inbound cut")
        assert not _reach(news, alice_ip)
        assert _reach(bob, news_ip) and _reach(news, bob_ip)
        assert _arrives(alice, news, news_ip) == alice_ip  # what she sends still leaves
        assert lab.rib("rrc00") == lab.rib("rv2") == ALL  # BGP sessions untouched

        lab.store.revoke_policy(cut.id)
        # outbound only, for fixnet: its subscribers' packets stop at the gateway
        lab.store.add_policy(PolicyRequest.of("deny:outbound", "isp:fixnet", "international"))
        lab.wait_enforced(lab.store.revision(), timeout=20)
        wait_for(lambda: not _reach(alice, news_ip), 10, "the outbound cut")
        assert _reach(bob, news_ip)
        assert lab.rib("rrc00") == ALL
