"""sovnet.emulation without root: Topo building, zone, refusals, run-state files, the servers."""

from __future__ import annotations

import http.client
import json
import os
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from sovnet.emulation import cleanup, ovs, servers, tc
from sovnet.emulation.httpd import make_handler
from sovnet.errors import EmulationError
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

DEAD_PID = 2**22 + 12345  # above the default pid_max: never a live process


def small(delay=None, loss=None, sw1="acc1", sw2="core1") -> Topology:
    return Topology(
        name="small",
        isps=(Isp("isp1", "fixed", "10.1.0.0/16"),),
        switches=(Switch(sw1, 0x1A, "access", "isp1"), Switch(sw2, 0x2B, "core", "isp1")),
        hosts=(
            Host("alice", "subscriber", "10.1.0.5", 16, "02:00:0a:01:00:05", sw1, 3),
            Host("shop", "service", "172.16.5.10", 12, "02:00:ac:10:05:0a", sw2, 4),
            Host("cdn", "service", "172.16.5.20", 12, "02:00:ac:10:05:14", sw2, 5),
            Host("dns1", "resolver", "10.1.0.53", 16, "02:00:0a:01:00:35", sw2, 7),
        ),
        subscribers=(Subscriber("alice", "fixed_home", "isp1"),),
        services=(
            Service("shop", ("Shop.Example", "www.shop.example."), "COMM", "foreign", ("cdn",)),
            Service("cdn", ("cdn.example",), "CDN", "foreign"),
        ),
        resolvers=(Resolver("dns1", "isp1"),),
        links=(
            Link("alice", None, sw1, 3),
            Link("shop", None, sw2, 4, bw=100.0),
            Link("cdn", None, sw2, 5),
            Link("dns1", None, sw2, 7),
            Link(sw1, 1, sw2, 2, bw=10.0, delay=delay, loss=loss),
        ),
    )


# --- Topo -----------------------------------------------------------------------------


@pytest.fixture
def mntopo():
    return pytest.importorskip("mininet.topo")


def _links(topo):
    return {(i["node1"], i["node2"]): i for _, _, i in topo.links(withInfo=True)}


def test_build_topo_hosts_and_switches(mntopo):
    from sovnet.emulation.topo import build_topo

    t = build_topo(small())
    assert sorted(t.hosts()) == ["alice", "cdn", "dns1", "shop"]
    assert sorted(t.switches()) == ["acc1", "core1"]
    assert t.nodeInfo("acc1")["dpid"] == "000000000000001a"
    assert t.nodeInfo("core1")["dpid"] == "000000000000002b"
    alice = t.nodeInfo("alice")
    assert alice["ip"] == "10.1.0.5/16"
    assert alice["mac"] == "02:00:0a:01:00:05"
    assert alice["defaultRoute"] == "dev alice-eth0"


def test_build_topo_ports_and_bandwidth(mntopo):
    from sovnet.emulation.topo import build_topo

    links = _links(build_topo(small()))
    assert len(links) == 5
    a = links[("alice", "acc1")]
    assert (a["port1"], a["port2"]) == (0, 3)
    assert "bw" not in a and "params1" not in a
    s = links[("shop", "core1")]
    assert (s["port1"], s["port2"], s["bw"]) == (0, 4, 100.0)
    trunk = links[("acc1", "core1")]
    assert (trunk["port1"], trunk["port2"], trunk["bw"]) == (1, 2, 10.0)
    assert "delay" not in trunk


def test_an_unshaped_link_between_bridges_is_a_patch_port_pair_and_a_shaped_one_is_not(mntopo):
    from dataclasses import replace

    from mininet.link import OVSLink

    from sovnet.emulation.topo import HostLink, build_topo

    shaped = small()
    unshaped = replace(shaped, links=(*shaped.links[:4], Link("acc1", 1, "core1", 2)))
    assert "cls" not in _links(build_topo(shaped))[("acc1", "core1")]
    assert _links(build_topo(unshaped))[("acc1", "core1")]["cls"] is OVSLink
    assert _links(build_topo(unshaped))[("alice", "acc1")]["cls"] is HostLink  # a veth


def test_build_topo_tx_offload_off_on_host_side_only(mntopo):
    from sovnet.emulation.topo import build_topo

    links = _links(build_topo(small(), tx_offload=False))
    assert links[("alice", "acc1")]["params1"] == {"txo": False}
    assert "params2" not in links[("alice", "acc1")]
    assert "params1" not in links[("acc1", "core1")]
    assert "params2" not in links[("acc1", "core1")]


def test_interface_names_and_length_check(mntopo):
    from sovnet.emulation.topo import check_names, interface_names

    bridges, sw, hosts = interface_names(small())
    assert bridges == ["acc1", "core1"]
    assert sw == ["acc1-eth3", "core1-eth4", "core1-eth5", "core1-eth7", "acc1-eth1", "core1-eth2"]
    assert hosts == ["alice-eth0", "shop-eth0", "cdn-eth0", "dns1-eth0"]
    check_names(small())
    with pytest.raises(EmulationError, match=r"longer than 15.*aggregation-sth-eth1"):
        check_names(small(sw1="aggregation-sth"))


# --- netem refusal ----------------------------------------------------------------------

NETEM_MSG = (
    "link acc1-core1: delay '5ms' needs the sch_netem qdisc, which this kernel lacks "
    "(remove delay/loss or use a kernel with netem)"
)


def test_delay_refused_without_netem():
    with pytest.raises(EmulationError) as e:
        tc.check_links(small(delay="5ms"), netem=False)
    assert str(e.value) == NETEM_MSG


def test_loss_refused_without_netem():
    with pytest.raises(EmulationError) as e:
        tc.check_links(small(loss=1.5), netem=False)
    assert str(e.value) == (
        "link acc1-core1: loss 1.5% needs the sch_netem qdisc, which this kernel lacks "
        "(remove delay/loss or use a kernel with netem)"
    )


def test_delay_accepted_with_netem():
    tc.check_links(small(delay="5ms"), netem=True)


def test_no_probe_without_delay(monkeypatch):
    def boom():
        raise AssertionError("netem probed although no link needs it")

    monkeypatch.setattr(tc, "netem_available", boom)
    tc.check_links(small())


# --- zone and server command lines --------------------------------------------------------


def test_zone_maps_every_domain_to_its_service_ip():
    assert servers.zone(small()) == {
        "shop.example": "172.16.5.10",
        "www.shop.example": "172.16.5.10",
        "cdn.example": "172.16.5.20",
    }


def test_server_specs(tmp_path):
    specs = {(s.host, s.kind): s for s in servers.server_specs(small(), tmp_path, tmp_path / "z")}
    assert set(specs) == {("shop", "http"), ("cdn", "http"), ("dns1", "dns"),
                          ("dns1", "blockpage")}
    shop = specs[("shop", "http")].argv
    assert shop[1:3] == ["-m", "sovnet.emulation.httpd"]
    assert shop[shop.index("--depends") + 1] == "cdn.example"
    assert shop[shop.index("--port") + 1] == "80"
    dns = specs[("dns1", "dns")].argv
    assert dns[dns.index("--zone") + 1] == str(tmp_path / "z")
    assert specs[("dns1", "dns")].ports == ("udp/53", "tcp/53")


def test_write_zone(tmp_path):
    p = servers.write_zone(small(), tmp_path / "zone.json")
    assert json.loads(p.read_text())["cdn.example"] == "172.16.5.20"


# --- the servers themselves, on loopback -------------------------------------------------


@pytest.fixture
def httpd():
    handler = make_handler("shop", ["shop.example", "www.shop.example"], ["cdn.example"])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, per test
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _get(port, path, host, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, headers={"Host": host})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Content-Length"), body


def test_httpd_page_names_service_and_dependencies(httpd):
    status, _, body = _get(httpd, "/", "shop.example")
    assert status == 200
    assert b"<title>shop</title>" in body
    assert b'src="http://cdn.example/asset.js"' in body
    assert _get(httpd, "/", "WWW.shop.example:80")[0] == 200


def test_httpd_other_host_misdirected(httpd):
    assert _get(httpd, "/", "other.example")[0] == 421


def test_httpd_asset_bytes_head_404(httpd):
    assert _get(httpd, "/asset.js", "shop.example")[0] == 200
    status, length, body = _get(httpd, "/bytes?n=100000", "shop.example")
    assert (status, length, len(body)) == (200, "100000", 100000)
    status, length, body = _get(httpd, "/bytes?n=5000", "shop.example", method="HEAD")
    assert (status, length, body) == (200, "5000", b"")
    assert _get(httpd, "/bytes?n=-1", "shop.example")[0] == 400
    assert _get(httpd, "/nope", "shop.example")[0] == 404


def test_dns_zone_resolver():
    dnslib = pytest.importorskip("dnslib")
    from sovnet.emulation.dnsd import ZoneResolver

    r = ZoneResolver({"shop.example": "172.16.5.10"}.get)
    a = r.resolve(dnslib.DNSRecord.question("Shop.Example."), None)
    assert a.header.rcode == dnslib.RCODE.NOERROR
    assert [str(x.rdata) for x in a.rr] == ["172.16.5.10"]
    aaaa = r.resolve(dnslib.DNSRecord.question("shop.example", "AAAA"), None)
    assert aaaa.header.rcode == dnslib.RCODE.NOERROR and aaaa.rr == []
    nx = r.resolve(dnslib.DNSRecord.question("unknown.example"), None)
    assert nx.header.rcode == dnslib.RCODE.NXDOMAIN


# --- run-state files ------------------------------------------------------------------


def test_run_state_round_trip(tmp_path):
    s = cleanup.RunState.create(tmp_path, topology="small")
    s.add_bridges(["acc1", "core1", "acc1"])
    s.add_interfaces(["acc1-eth1"])
    s.add_process(os.getpid(), "me")
    loaded = cleanup.RunState.load(s.path)
    assert loaded.pid == os.getpid()
    assert loaded.bridges == ["acc1", "core1"]
    assert loaded.interfaces == ["acc1-eth1"]
    assert [p["what"] for p in loaded.processes] == ["me"]
    assert loaded.data["topology"] == "small"
    assert loaded.owner_alive()
    s.remove_process(os.getpid())
    assert cleanup.RunState.load(s.path).processes == []
    second = cleanup.RunState.create(tmp_path)
    assert second.path != s.path
    s.remove()
    second.remove()
    assert list(tmp_path.iterdir()) == []


def test_pid_alive():
    me = cleanup.proc_start_time(os.getpid())
    assert me is not None
    assert cleanup.pid_alive(os.getpid())
    assert cleanup.pid_alive(os.getpid(), me)
    assert not cleanup.pid_alive(os.getpid(), me + 1)  # pid reused by another process
    assert not cleanup.pid_alive(DEAD_PID)


def _state(directory: Path, name: str, pid: int, start_time=None, **lists) -> Path:
    data = {
        "pid": pid,
        "start_time": start_time,
        "bridges": [],
        "interfaces": [],
        "processes": [],
        **lists,
    }
    p = directory / name
    p.write_text(json.dumps(data))
    return p


def test_stale_states(tmp_path):
    _state(tmp_path, "live.json", os.getpid(), cleanup.proc_start_time(os.getpid()))
    _state(tmp_path, "dead.json", DEAD_PID)
    _state(tmp_path, "reused.json", os.getpid(), -1)
    (tmp_path / "garbage.json").write_text("{not json")
    stale = sorted(s.path.name for s in cleanup.stale_states(tmp_path))
    assert stale == ["dead.json", "reused.json"]
    fake_alive = lambda pid, start=None: pid == DEAD_PID  # noqa: E731
    stale = sorted(s.path.name for s in cleanup.stale_states(tmp_path, alive=fake_alive))
    assert stale == ["live.json", "reused.json"]


def test_cleanup_stale_spares_what_live_runs_list(tmp_path, monkeypatch):
    deleted_br, deleted_if = [], []
    monkeypatch.setattr(ovs, "delete_bridges", lambda n: deleted_br.extend(n) or list(n))
    monkeypatch.setattr(cleanup, "delete_interfaces", lambda n: deleted_if.extend(n) or list(n))
    monkeypatch.setattr(cleanup, "interface_exists", lambda n: False)
    live = _state(
        tmp_path, "live.json", os.getpid(), bridges=["shared"], interfaces=["shared-eth1"]
    )
    dead = _state(
        tmp_path,
        "dead.json",
        DEAD_PID,
        bridges=["shared", "gone1"],
        interfaces=["shared-eth1", "gone1-eth1"],
        processes=[{"pid": DEAD_PID + 1, "start_time": None, "what": "x"}],
    )
    removed = cleanup.cleanup_stale(tmp_path)
    assert deleted_br == ["gone1"]
    assert deleted_if == ["gone1-eth1"]
    assert f"bridge gone1 of run {DEAD_PID}" in removed
    assert f"state file {dead}" in removed
    assert live.exists() and not dead.exists()


def test_cleanup_stale_keeps_state_when_ovs_fails(tmp_path, monkeypatch):
    def fail(names):
        raise EmulationError("ovs-vsctl list-br failed")

    monkeypatch.setattr(ovs, "delete_bridges", fail)
    dead = _state(tmp_path, "dead.json", DEAD_PID, bridges=["b1"])
    with pytest.raises(EmulationError, match="stale cleanup incomplete"):
        cleanup.cleanup_stale(tmp_path)
    assert dead.exists()


# --- datapath choice --------------------------------------------------------------------


def test_datapath_env_record_and_detection(tmp_path, monkeypatch):
    rec = tmp_path / "datapath"
    assert ovs.datapath({"SOVNET_DATAPATH": "kernel"}, rec) == "kernel"
    with pytest.raises(EmulationError, match="SOVNET_DATAPATH='fast'"):
        ovs.datapath({"SOVNET_DATAPATH": "fast"}, rec)
    rec.write_text("user\n")
    assert ovs.datapath({}, rec) == "user"
    assert ovs.datapath({"SOVNET_DATAPATH": "kernel"}, rec) == "kernel"
    rec.write_text("bogus\n")
    monkeypatch.setattr(ovs, "detect_datapath", lambda: "kernel")
    assert ovs.datapath({}, rec) == "kernel"
    assert ovs.datapath({}, tmp_path / "missing") == "kernel"


def test_each_subscriber_asks_its_own_isps_resolver():
    from sovnet.emulation.servers import resolver_ip
    from tests.unit import handmade

    topo = handmade.topology()
    assert resolver_ip(topo, "alice") == "10.1.0.53"  # fixnet's dns1
    assert resolver_ip(topo, "bank") == "10.1.0.53"  # services: the first resolver
