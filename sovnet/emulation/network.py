"""A Topology as a running Mininet network of Open vSwitch bridges (fail_mode secure).

    with Network(topology, controller_port=6653) as net:   # starts; always stops on exit
        net.wait_connected(30)                              # once a controller runs
        net.host("alice").cmd("ping -c1 10.0.0.2")

Bridges are named after the topology's switches, with its dpids and port numbers. Hosts get
their IP, prefix length and MAC, and an on-link default route (they ARP for every address;
there is no router). Links with `bw` are shaped with HTB; delay and loss need netem and are
refused where the kernel lacks it. What a run creates is listed in its run-state file as soon
as it exists, so `cleanup_stale()` can remove it should the run be killed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

from sovnet.compile import shards
from sovnet.emulation import bgp, cleanup, lablock, ovs, steer, tc
from sovnet.emulation import servers as hostservers
from sovnet.emulation.fastnet import FastMininet, on_every_host
from sovnet.emulation.labca import SYSTEM_BUNDLE, LabCA
from sovnet.emulation.pods import PodMember
from sovnet.emulation.topo import (
    FastHost,
    LateRemoteController,
    OwnedOVSSwitch,
    QuietTCLink,
    build_topo,
    check_names,
    interface_names,
    quiet_warnings,
    recording,
)
from sovnet.errors import EmulationError
from sovnet.model.topology import Topology
from sovnet.poll import attempts


class Network:
    def __init__(
        self,
        topology: Topology,
        controller_port: int,
        controller_ip: str = "127.0.0.1",
        datapath: str | None = None,
        servers: bool = True,
        zone_file: str | None = None,
        workdir: str | None = None,
        netem: bool | None = None,
        store_path: str | None = None,
        controller_ports: list[int] | None = None,
        bgp_dir: str | os.PathLike | None = None,
    ):
        """zone_file: JSON zone the resolvers serve; None writes zone(topology) to workdir.
        workdir: where server logs go (kept); None makes /tmp/sovnet-<pid>-*/, which stop()
        removes unless start() failed (its logs then explain why).
        netem: whether the kernel has netem; None probes it.
        store_path: the policy store the resolvers obey (dns_tamper); None: they tell the truth.
        controller_ports: one port per controller process when there are several; each bridge
        speaks to the one that owns it (sovnet.compile.shards). None: controller_port alone.
        bgp_dir: the BGP daemons' files (sovnet.emulation.bgp); None: bgp/ in workdir."""
        self.topology = topology
        self.controller_ip = controller_ip
        self.controller_ports = [int(p) for p in controller_ports or [controller_port]]
        self.datapath = datapath
        self.with_servers = servers
        self.zone_file = zone_file
        self.workdir = Path(workdir) if workdir else None
        self._own_workdir = False
        self._netem = netem
        self.store_path = str(Path(store_path).resolve()) if store_path else None
        self.net: FastMininet | None = None
        self.state: cleanup.RunState | None = None
        self.servers: list[hostservers.Server] = []
        self._bgp_dir = Path(bgp_dir) if bgp_dir else None
        self._phase = "new"  # new -> starting -> running -> stopped
        self._lock: str | None = None

    # --- context manager ---------------------------------------------------------------
    def __enter__(self) -> Network:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- queries -----------------------------------------------------------------------
    @property
    def controller_port(self) -> int:
        """The first controller process's port (a restart moves it)."""
        return self.controller_ports[0]

    def bridges(self) -> list[str]:
        return [s.name for s in self.topology.switches]

    def host(self, name: str):
        """The Mininet host of `name`; a pod subscriber's is a PodMember (its pod's shell)."""
        if self.net is None or not self.topology.has_host(name):
            raise EmulationError(f"no running host {name!r}")
        h = self.topology.host(name)
        return PodMember(self.net.get(h.pod), h) if h.pod else self.net.get(name)

    @property
    def bgp_dir(self) -> Path:
        """Where the BGP daemons keep their configuration, sockets, logs and collector dumps."""
        if self._bgp_dir is not None:
            return self._bgp_dir
        if self.workdir is None:
            raise EmulationError("network not started: it has no workdir yet")
        return bgp.bgp_dir(self.workdir)

    @property
    def dns_dir(self) -> Path:
        """Where the resolvers write their query counts: dns/ beside the BGP folder."""
        return self.bgp_dir.parent / "dns"

    def _own_hosts(self) -> list:
        """(Mininet host, the topology hosts in it): a host is itself, a pod its subscribers."""
        out: dict[str, tuple] = {}
        for h in self.topology.hosts:
            node = h.pod or h.name
            out.setdefault(node, (self.net.get(node), []))[1].append(h)
        return list(out.values())

    # --- processes started by others on this run's behalf (e.g. the controller) ---------
    def track_process(self, pid: int, what: str) -> None:
        if self.state is None:
            raise EmulationError("network not started: nothing to track the process in")
        self.state.add_process(pid, what)

    def untrack_process(self, pid: int) -> None:
        if self.state is not None:
            self.state.remove_process(pid)

    # --- start -------------------------------------------------------------------------
    def start(self) -> None:
        if self._phase == "running":
            return
        if self._phase != "new":
            raise EmulationError(f"network {self.topology.name}: cannot start twice")
        self._phase = "starting"
        try:
            self._lock = lablock.acquire()
            self._start()
        except BaseException as e:
            try:
                self.stop()
            except EmulationError as stop_error:
                raise EmulationError(f"{e}\n(and the cleanup after it: {stop_error})") from e
            if isinstance(e, EmulationError) or not isinstance(e, Exception):
                raise
            raise EmulationError(f"network {self.topology.name}: start failed: {e}") from e
        self._phase = "running"

    def _check_free(self, bridges: list[str], intfs: list[str]) -> None:
        owners = {}
        for s in cleanup.read_states():
            if s.owner_alive():
                owners.update({n: s.pid for n in s.bridges + s.interfaces})
        taken = set(ovs.bridges()) | set(ovs.ovs_interfaces())
        clashes = [n for n in bridges + intfs if n in taken or cleanup.interface_exists(n)]
        if clashes:
            lines = [
                f"{n} already exists"
                + (f" (owned by the running sovnet process {owners[n]})" if n in owners else "")
                for n in clashes
            ]
            raise EmulationError(
                "OVS bridges or interfaces of this topology already exist and are not this run's: "
                + "; ".join(lines)
                + " (stop that run, or run `sovnet clean` to remove leftovers)"
            )

    def _start(self) -> None:
        if os.geteuid() != 0:
            raise EmulationError("the emulated network needs root (run with sudo)")
        check_names(self.topology)
        bgp.check_tools(self.topology)
        tc.check_links(self.topology, self._netem)  # before anything is created
        ovs.ensure_ovs_running()
        dp = self.datapath or ovs.datapath()
        if dp not in ovs.DATAPATHS:
            raise EmulationError(f"datapath {dp!r} is not one of: kernel, user")
        self.datapath = dp
        bridges, sw_intfs, _ = interface_names(self.topology)
        self._check_free(bridges, sw_intfs)
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix=f"sovnet-{os.getpid()}-"))
            self._own_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state = cleanup.RunState.create(
            topology=self.topology.name,
            workdir=str(self.workdir),
            own_workdir=self._own_workdir,
            datapath=dp,
            controller=f"{self.controller_ip}:{self.controller_port}",
            store=self.store_path,
        )
        # Recorded before they exist: names were checked free above, so they are ours.
        self.state.add_bridges(bridges)
        self.state.add_interfaces(bridges + sw_intfs)

        def record(node):
            self.state.add_process(node.pid, f"shell of {node.name}", defer=True)

        # batch: every bridge, port and controller in one ovs-vsctl transaction (split only
        # at ARG_MAX), so ovs-vswitchd reconfigures once, not once per bridge.
        switch = partial(
            recording(OwnedOVSSwitch, record), datapath=dp, protocols="OpenFlow13",
            failMode="secure", batch=True,
            reconnectms=ovs.MAX_BACKOFF_MS,  # retry a controller not yet listening every second
        )
        self.net = FastMininet(
            topo=build_topo(self.topology, tx_offload=(dp != "user"), owner=shards.assign(
                self.topology, len(self.controller_ports))),
            switch=switch,
            host=recording(FastHost, record),
            controller=None,
            link=QuietTCLink,
            autoSetMacs=False,
            autoStaticArp=False,
            build=False,
            waitConnected=False,
        )
        self.net.workdir = self.workdir
        for k, port in enumerate(self.controller_ports):
            self.net.addController(
                f"c{k}",
                controller=recording(LateRemoteController, record),
                ip=self.controller_ip,
                port=port,
            )
        with quiet_warnings():
            try:
                self.net.build()
                self.net.start()
            finally:
                self.state.flush()
        self._add_ipv6()
        self._check_hosts()
        self._use_isp_resolvers()
        if self.with_servers:
            self._start_servers()

    def _add_ipv6(self) -> None:
        """Dual-stack: each host's IPv6 address, on-link in the lab's /96 with an on-link
        default route, as IPv4 has (hosts solicit every neighbour; the switches forward the
        solicitation to the target's port). No duplicate address detection: the plan has no
        duplicates, and DAD would hold each address back for a second."""
        if not self.topology.ipv6:
            return
        on_every_host([(self.net.get(h.name),
                        f"sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "
                        f"net.ipv6.conf.{h.name}-eth0.accept_ra=0"
                        f" && ip -6 addr add {h.ip6}/96 dev {h.name}-eth0 nodad"
                        f" && ip -6 route replace default dev {h.name}-eth0")
                       for h in self.topology.hosts if not h.pod])  # pods: at their setup

    def _check_hosts(self) -> None:
        own = self._own_hosts()
        outs = on_every_host([(node, "ip -o addr show; ip route show table all; "
                                     "ip -6 route show table all") for node, _ in own])
        for (_, hosts), out in zip(own, outs, strict=True):
            for h in hosts:
                if (f"{h.ip}/{h.prefixlen}" not in out
                        or f"default dev {h.name}-eth0 " not in out + " "):
                    raise EmulationError(
                        f"host {h.name}: address or default route not set:\n{out}")
                if h.ip6 and f"{h.ip6}/96" not in out:
                    raise EmulationError(f"host {h.name}: IPv6 address {h.ip6} not set:\n{out}")

    def _use_isp_resolvers(self) -> None:
        """Point each host's /etc/resolv.conf at its ISP's resolver, as a subscriber's would be.

        mnexec gives every host a private mount namespace, so the bind mount is seen by that
        host only and disappears with it."""
        folder = self.workdir / "resolv"
        folder.mkdir(parents=True, exist_ok=True)
        work = []
        for node, hosts in self._own_hosts():
            # A pod's subscribers share its file: the first one's ISP (the probe agent is told
            # each subscriber's own resolver).
            ip = hostservers.resolver_ip(self.topology, hosts[0].name)
            if ip is None:
                continue
            conf = folder / f"{node.name}.conf"
            conf.write_text(f"# {node.name}: its ISP's resolver (sovnet)\nnameserver {ip}\n")
            work.append((node.name, f"mount --bind {conf} /etc/resolv.conf && echo ok"))
        self._everywhere(work, "cannot set its resolver")

    def _everywhere(self, work: list[tuple[str, str]], failure: str) -> None:
        """Run each (host, command ending in `echo ok`) in every host at once."""
        outs = on_every_host([(self.net.get(name), cmd) for name, cmd in work])
        for (name, _), out in zip(work, outs, strict=True):
            if out.strip() != "ok":
                raise EmulationError(f"host {name}: {failure}: {out.strip()}")

    def _trust_lab_ca(self) -> LabCA:
        """A new CA for this lab; every host trusts it as a managed device would, through the
        system bundle (bind-mounted in the host's private mount namespace, like resolv.conf),
        so curl, OpenSSL and Python's ssl accept the services' certificates unconfigured."""
        ca = LabCA(self.workdir)
        bundle = ca.bundle()
        self._everywhere([(node.name, f"mount --bind {bundle} {SYSTEM_BUNDLE} && echo ok")
                          for node, _ in self._own_hosts()], "cannot install the lab CA")
        return ca

    def _start_servers(self) -> None:
        hostservers.issue_certs(self.topology, self._trust_lab_ca())
        zone_file = Path(self.zone_file) if self.zone_file else self.workdir / "zone.json"
        if not self.zone_file:
            hostservers.write_zone(self.topology, zone_file)
        self.dns_dir.mkdir(parents=True, exist_ok=True)
        specs = hostservers.server_specs(self.topology, self.workdir, zone_file, sys.executable,
                                         store=self.store_path, dns_dir=self.dns_dir)
        specs += bgp.specs(self.topology, self.bgp_dir, sys.executable)
        # Resolver hosts answer HTTP and DNS whatever its IP destination (blockpage, steer_dns).
        steer.install(self.topology, specs, self.net.get)

        def spawned(server):
            self.servers.append(server)
            self.state.add_process(server.pid, f"{server.spec.kind} server of {server.spec.host}")

        hostservers.start_servers(specs, self.net.get, on_spawn=spawned)

    # --- flow log ----------------------------------------------------------------------
    def export_flows(self, port: int, host: str = "127.0.0.1") -> list[str]:
        """Make every bridge a subscriber attaches to export its IP flows (NetFlow v5) to the
        flow-log collector at host:port; returns those bridges. Each exports under its own
        engine number (sovnet.compile.flowlog.exporters), as flows on the userspace datapath
        would otherwise not say which bridge saw them. Active timeout 1 s (the least OVS
        takes): a flow reaches the collector within ~2 s of its last packet, not when OVS
        forgets it. The NetFlow rows go with the bridges when stop() deletes them."""
        from sovnet.compile.flowlog import engine, exporters

        if self.net is None:
            raise EmulationError("network not started: no bridges to export flows from")
        numbers = exporters(self.topology)
        ovs.set_netflow({name: engine(n) for name, n in numbers.items()}, f"{host}:{port}",
                        active_timeout=1)
        return sorted(numbers)

    # --- controller --------------------------------------------------------------------
    def wait_connected(self, timeout: float = 30.0) -> None:
        """Poll until every bridge is connected to the controller; EmulationError on timeout."""
        if self.net is None:
            raise EmulationError("network not started")
        for _ in attempts(timeout, 0.1):
            state = ovs.connected_bridges(self.bridges())
            missing = sorted(b for b, up in state.items() if not up)
            if not missing:
                return
        raise EmulationError(
            f"switches not connected to the controller at tcp:{self.controller_ip}:"
            f"{self.controller_port} after {timeout:g}s: {', '.join(missing)}"
        )

    def redial(self, k: int, port: int) -> None:
        """Move controller process k to `port` (a restart) and have its bridges connect there
        at once rather than at OVS's next retry, seconds later (ovs.redial)."""
        self.controller_ports[k] = int(port)
        if k == 0:
            if self.state is not None:  # what `sovnet inspect` shows
                self.state.data["controller"] = f"{self.controller_ip}:{port}"
                self.state.save()
        owner = shards.assign(self.topology, len(self.controller_ports))
        ovs.redial([s.name for s in self.topology.switches if owner[s.dpid] == k],
                   f"tcp:{self.controller_ip}:{port}")

    # --- stop --------------------------------------------------------------------------
    def stop(self) -> None:
        """Remove exactly what start() created. Idempotent, safe after a partial start."""
        if self._phase in ("new", "stopped"):
            self._phase = "stopped"
            return
        try:
            self._stop()
        finally:
            lablock.release(self._lock)
            self._lock = None

    def _stop(self) -> None:
        notes = []
        if self.servers:
            hostservers.stop_servers(self.servers)
            for s in self.servers:
                self.state.remove_process(s.pid)
            self.servers = []
        if self.net is not None:
            try:
                with quiet_warnings():
                    self.net.stop()
            except Exception as e:  # noqa: BLE001 (what it leaves is removed below)
                notes.append(f"mininet stop: {e}")
            self.net = None
        if self.state is not None:
            st = self.state
            try:
                ovs.delete_bridges(st.bridges)
                left_br = set(st.bridges) & set(ovs.bridges())
            except EmulationError as e:
                notes.append(str(e))
                left_br = set(st.bridges)
            cleanup.kill_processes(st.processes)
            cleanup.delete_interfaces(st.interfaces)
            left = sorted(left_br) + [i for i in st.interfaces if cleanup.interface_exists(i)]
            left += [
                str(p["pid"])
                for p in st.processes
                if cleanup.pid_alive(p["pid"], p.get("start_time"))
            ]
            if left:
                self._phase = "stopped"
                raise EmulationError(
                    f"network {self.topology.name}: stop left {', '.join(left)} "
                    f"({'; '.join(notes) or 'no error reported'}); "
                    f"run `sovnet clean` once this process has exited"
                )
            st.remove()
        if self._own_workdir and self._phase == "running":
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._phase = "stopped"
