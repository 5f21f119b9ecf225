"""The emulated network for real (root): Mininet hosts, OVS bridges, host servers, cleanup.

No controller runs here: with fail_mode secure a bridge forwards nothing, so the tests that need
connectivity install `priority=1,actions=NORMAL` on each bridge themselves.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sovnet.emulation import Network, cleanup, ovs, tc
from sovnet.emulation.cleanup import cleanup_stale
from sovnet.errors import EmulationError
from sovnet.lab import free_port
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
from sovnet.poll import eventually


def small(p: str, delay: str | None = None) -> Topology:
    """2 switches, 3 hosts (subscriber, service, resolver); every name starts with p."""
    s1, s2 = f"{p}s1", f"{p}s2"
    return Topology(
        name=f"{p}small",
        isps=(Isp("isp1", "fixed", "10.1.0.0/16"),),
        switches=(Switch(s1, 0x1A, "access", "isp1"), Switch(s2, 0x2B, "core", "isp1")),
        hosts=(
            Host(f"{p}sub", "subscriber", "10.1.0.5", 16, "02:00:0a:01:00:05", s1, 3),
            Host(f"{p}web", "service", "172.16.5.10", 12, "02:00:ac:10:05:0a", s2, 4),
            Host(f"{p}dns", "resolver", "10.1.0.53", 16, "02:00:0a:01:00:35", s2, 7),
        ),
        subscribers=(Subscriber(f"{p}sub", "fixed_home", "isp1"),),
        services=(Service(f"{p}web", ("shop.example", "www.shop.example"), "COMM", "foreign"),),
        resolvers=(Resolver(f"{p}dns", "isp1"),),
        links=(
            Link(f"{p}sub", None, s1, 3),
            Link(f"{p}web", None, s2, 4, bw=100.0),
            Link(f"{p}dns", None, s2, 7),
            Link(s1, 1, s2, 2, bw=10.0, delay=delay),
        ),
    )


def sh(cmd: str) -> str:
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False).stdout


def normal_flows(net: Network) -> None:
    for br in net.bridges():
        subprocess.run(
            ["ovs-ofctl", "-O", "OpenFlow13", "add-flow", br, "priority=1,actions=NORMAL"],
            check=True,
        )


def processes_matching(text: str) -> list[str]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmd:
                out.append(f"{d.name} {cmd}")
    return out


def leftovers(p: str) -> list[str]:
    """Anything of a test network named with prefix p still on the host."""
    found = [f"bridge {b}" for b in ovs.bridges() if b.startswith(p)]
    found += [f"interface {i}" for i in os.listdir("/sys/class/net") if i.startswith(p)]
    found += [f"process {x}" for x in processes_matching(f"mininet:{p}")]
    found += [f"process {x}" for x in processes_matching(f"--service {p}web")]
    found += [f"process {x}" for x in processes_matching(f"--name {p}dns")]
    return found


def assert_gone(net: Network, p: str, pids: list[dict]) -> None:
    assert leftovers(p) == []
    assert not net.state.path.exists()
    assert [x for x in pids if cleanup.pid_alive(x["pid"], x["start_time"])] == []


# --- one network for the read-only checks --------------------------------------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    n = Network(small("t"), controller_port=free_port(), workdir=tmp_path_factory.mktemp("t"))
    with n:
        normal_flows(n)
        yield n
    assert leftovers("t") == []


def test_hosts_have_model_addresses_and_routes(net):
    for h in net.topology.hosts:
        out = net.host(h.name).cmd(f"ip -o link show dev {h.name}-eth0; ip -o -4 addr; ip route")
        assert h.mac in out
        assert f"inet {h.ip}/{h.prefixlen}" in out
        assert f"default dev {h.name}-eth0" in out


def test_bridges_as_modelled(net):
    for br, dpid in (("ts1", "000000000000001a"), ("ts2", "000000000000002b")):
        get = lambda *col, br=br: ovs.vsctl("get", "Bridge", br, *col).strip()  # noqa: E731
        assert get("fail_mode") == "secure"
        assert get("other_config:datapath-id") == f'"{dpid}"'
        assert "OpenFlow13" in get("protocols")
        assert get("datapath_type") == ("netdev" if net.datapath == "user" else '""')
        target = ovs.vsctl("get", "Controller", get("controller").strip("[]"), "target")
        assert target.strip() == f'"tcp:127.0.0.1:{net.controller_port}"'
    for intf, port in (("ts1-eth3", 3), ("ts1-eth1", 1), ("ts2-eth2", 2), ("ts2-eth7", 7)):
        assert ovs.vsctl("get", "Interface", intf, "ofport").strip() == str(port)
    assert sorted(net.bridges()) == ["ts1", "ts2"]


def test_bandwidth_shaped_with_htb(net):
    assert "rate 10Mbit" in sh("tc class show dev ts1-eth1")
    assert "rate 100Mbit" in sh("tc class show dev ts2-eth4")
    assert "htb" not in sh("tc qdisc show dev ts1-eth3")


def test_tx_offload_off_on_user_datapath(net):
    if net.datapath != "user":
        pytest.skip("kernel datapath keeps checksum offload")
    out = net.host("tsub").cmd("ethtool -k tsub-eth0")
    assert re.search(r"^tx-checksumming: off", out, re.M), out


def test_ping_across_switches(net):
    sub = net.host("tsub")
    for ip in ("172.16.5.10", "10.1.0.53"):
        out = sub.cmd(f"ping -c1 -W3 {ip}")
        assert " 0% packet loss" in out, out


def test_http_page_by_host_name(net):
    out = net.host("tsub").cmd("curl -sS -m10 -H 'Host: shop.example' http://172.16.5.10/")
    assert "<title>tweb</title>" in out, out
    code = net.host("tsub").cmd(
        "curl -s -m10 -o /dev/null -w '%{http_code}' -H 'Host: other.example' http://172.16.5.10/"
    )
    assert code.strip() == "421"


def test_http_bytes_over_tcp(net):
    size = net.host("tsub").cmd(
        "curl -s -m20 -o /dev/null -w '%{size_download}' "
        "-H 'Host: www.shop.example' 'http://172.16.5.10/bytes?n=300000'"
    )
    assert size.strip() == "300000"


def test_dns_answers_and_nxdomain(net):
    sub = net.host("tsub")
    assert sub.cmd("dig @10.1.0.53 shop.example +short +time=3 +tries=2").strip() == "172.16.5.10"
    tcp = sub.cmd("dig +tcp @10.1.0.53 www.shop.example +short +time=3 +tries=2")
    assert tcp.strip() == "172.16.5.10"
    nx = sub.cmd("dig @10.1.0.53 unknown.example +time=3 +tries=2")
    assert "status: NXDOMAIN" in nx, nx


def test_servers_listen_in_their_hosts(net):
    assert ":80 " in net.host("tweb").cmd("ss -ltnH")
    dns = net.host("tdns").cmd("ss -lntuH")
    assert re.search(r"^udp .*:53 ", dns, re.M) and re.search(r"^tcp .*:53 ", dns, re.M), dns
    assert ":80 " not in net.host("tsub").cmd("ss -ltnH")


def test_run_state_lists_what_exists(net):
    data = json.loads(net.state.path.read_text())
    assert data["pid"] == os.getpid()
    assert set(data["bridges"]) == {"ts1", "ts2"}
    assert {"ts1-eth1", "ts2-eth2", "ts1-eth3", "ts2-eth4", "ts2-eth7"} <= set(data["interfaces"])
    whats = {p["what"] for p in data["processes"]}
    assert {"http server of tweb", "dns server of tdns", "shell of tsub"} <= whats
    assert all(cleanup.pid_alive(p["pid"], p["start_time"]) for p in data["processes"])


def test_wait_connected_times_out_without_controller(net):
    with pytest.raises(EmulationError, match=r"not connected .* after 0.3s: ts1, ts2"):
        net.wait_connected(0.3)


def test_refuses_bridges_of_a_live_run(net):
    other = Network(small("t"), controller_port=free_port(), servers=False)
    with pytest.raises(
        EmulationError,
        match=f"ts1 already exists \\(owned by the running sovnet process {os.getpid()}\\)",
    ):
        other.start()
    other.stop()
    assert {"ts1", "ts2"} <= set(ovs.bridges())
    assert " 0% packet loss" in net.host("tsub").cmd("ping -c1 -W3 10.1.0.53")


def test_refuses_a_foreign_bridge():
    ovs.vsctl("add-br", "fs1", "--", "set", "bridge", "fs1", "datapath_type=netdev")
    try:
        with pytest.raises(EmulationError, match=r"fs1 already exists.*sovnet clean"):
            Network(small("f"), controller_port=free_port(), servers=False).start()
        assert ovs.bridges().count("fs1") == 1 and "fs2" not in ovs.bridges()
    finally:
        ovs.vsctl("--if-exists", "del-br", "fs1")
    assert leftovers("f") == []


# --- a fake OpenFlow 1.3 controller: HELLO and ECHO are all OVS needs to say "connected" ---


def fake_controller(port: int, stop: threading.Event) -> None:
    srv = socket.create_server(("127.0.0.1", port))
    srv.settimeout(0.05)
    conns: dict[socket.socket, bytes] = {}
    while not stop.is_set():
        try:
            c, _ = srv.accept()
            c.sendall(struct.pack("!BBHI", 4, 0, 8, 1))  # OFPT_HELLO
            c.setblocking(False)
            conns[c] = b""
        except TimeoutError:
            pass
        for c in list(conns):
            try:
                conns[c] += c.recv(65536)
            except BlockingIOError:
                continue
            buf = conns[c]
            while len(buf) >= 8 and len(buf) >= struct.unpack("!H", buf[2:4])[0]:
                n = struct.unpack("!H", buf[2:4])[0]
                msg, buf = buf[:n], buf[n:]
                if msg[1] == 2:  # ECHO_REQUEST -> ECHO_REPLY
                    c.sendall(bytes([4, 3]) + msg[2:])
            conns[c] = buf
    for c in conns:
        c.close()
    srv.close()


def test_wait_connected_with_a_controller():
    port, stop = free_port(), threading.Event()
    t = threading.Thread(target=fake_controller, args=(port, stop), daemon=True)
    t.start()
    try:
        with Network(small("w"), controller_port=port, servers=False) as n:
            n.wait_connected(20)
    finally:
        stop.set()
        t.join(5)
    assert leftovers("w") == []


# --- teardown ---------------------------------------------------------------------------


def test_stop_removes_everything_it_created(tmp_path):
    n = Network(small("u"), controller_port=free_port(), workdir=tmp_path)
    n.start()
    pids = n.state.processes
    assert len(pids) >= 7 and leftovers("u")
    n.stop()
    assert_gone(n, "u", pids)
    n.stop()  # idempotent
    assert (tmp_path / "zone.json").exists()  # logs and zone stay for post-mortems


def test_exception_in_with_block_tears_down():
    with pytest.raises(RuntimeError, match="boom"):
        with Network(small("x"), controller_port=free_port()) as n:
            pids = n.state.processes
            raise RuntimeError("boom")
    assert_gone(n, "x", pids)
    assert not n.workdir.exists()  # its own temporary folder goes too


def test_failed_start_removes_what_it_had_created(tmp_path):
    n = Network(small("y"), controller_port=free_port(), zone_file=str(tmp_path / "nope.json"))
    with pytest.raises(EmulationError, match=r"host ydns: dns server exited"):
        n.start()
    assert leftovers("y") == []
    assert not n.state.path.exists()
    assert (n.workdir / "ydns.dnsd.log").exists()  # kept: it says why
    shutil.rmtree(n.workdir)


NETEM_MSG = (
    "link ds1-ds2: delay '5ms' needs the sch_netem qdisc, which this kernel lacks "
    "(remove delay/loss or use a kernel with netem)"
)


def _states() -> set[Path]:
    return set(cleanup.run_dir().glob("*.json")) if cleanup.run_dir().exists() else set()


def test_delay_refused_before_anything_exists():
    before = _states()
    with pytest.raises(EmulationError) as e:
        Network(small("d", delay="5ms"), controller_port=free_port(), netem=False).start()
    assert str(e.value) == NETEM_MSG
    assert leftovers("d") == [] and _states() == before


def test_delay_refused_on_this_kernel_iff_no_netem():
    if tc.netem_available():
        pytest.skip("this kernel has netem: delay topologies are accepted")
    with pytest.raises(EmulationError) as e:
        Network(small("d", delay="5ms"), controller_port=free_port()).start()
    assert str(e.value) == NETEM_MSG
    assert leftovers("d") == []


CHILD = """
import json, sys, time
from sovnet.emulation import Network
from sovnet.model.topology import Topology
n = Network(Topology.from_dict(json.loads(sys.argv[1])), controller_port=int(sys.argv[2]))
n.start()
print("READY", n.state.path, json.dumps({"workdir": str(n.workdir)}), flush=True)
time.sleep(600)
"""


def test_cleanup_stale_after_sigkill(net):
    topo = small("k")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(topo.to_dict()), str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        sel = selectors.DefaultSelector()
        sel.register(child.stdout, selectors.EVENT_READ)
        assert sel.select(timeout=60), "child network did not start in 60s"
        line = child.stdout.readline()
        assert line.startswith("READY"), line + child.stderr.read()
        state_path = Path(line.split()[1])
        procs = json.loads(state_path.read_text())["processes"]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert {"bridge ks1", "bridge ks2"} <= set(leftovers("k"))
    servers = [p for p in procs if "server" in p["what"]]
    # the service's httpd, the resolver's dnsd and blockpaged
    assert len(servers) == 3 and all(cleanup.pid_alive(p["pid"], p["start_time"]) for p in servers)

    removed = cleanup_stale()
    assert f"bridge ks1 of run {child.pid}" in removed
    assert f"state file {state_path}" in removed
    workdir = json.loads(line.split(maxsplit=2)[2])["workdir"]
    assert f"folder {workdir} of run {child.pid}" in removed and not Path(workdir).exists()
    assert leftovers("k") == []
    assert not state_path.exists()
    def all_gone():
        alive = [p for p in procs if cleanup.pid_alive(p["pid"], p["start_time"])]
        assert not alive, f"processes of the killed run survive: {alive}"

    eventually(all_gone, timeout=10)
    # the live run of this process is untouched
    assert net.state.path.exists() and {"ts1", "ts2"} <= set(ovs.bridges())
