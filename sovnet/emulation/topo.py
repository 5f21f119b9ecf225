"""Topology -> Mininet Topo, the interface names a run creates, and sovnet's Mininet classes.

Nothing here starts anything: importable and testable without root.
"""

from __future__ import annotations

import contextlib
import shlex
import warnings
from pathlib import Path

from mininet import link as mnlink
from mininet.link import Intf, OVSLink, TCIntf, TCLink
from mininet.node import Host, OVSSwitch, RemoteController
from mininet.topo import Topo

from sovnet.emulation.pods import POD_INTF, pods
from sovnet.emulation.pods import setup_command as pod_setup
from sovnet.errors import EmulationError
from sovnet.model.topology import Link, Topology

IFNAMSIZ = 15  # longest Linux interface name


def _host_end(topology: Topology, link: Link) -> str | None:
    """The host of a host link (a pod subscriber counts: its link stands for its pod's)."""
    has = topology.has_host
    return link.a if has(link.a) else link.b if has(link.b) else None


def interface_names(topology: Topology) -> tuple[list[str], list[str], list[str]]:
    """(bridges, switch-side interfaces in the root namespace, host interfaces)."""
    bridges = [s.name for s in topology.switches]
    sw_intfs, host_intfs = [], []
    pod_ports = set()
    for lk in topology.links:
        host = _host_end(topology, lk)
        for node, port in ((lk.a, lk.a_port), (lk.b, lk.b_port)):
            if node == host:
                host_intfs.append(f"{node}-eth0")
                continue
            intf = f"{node}-eth{port}"
            if intf in pod_ports:
                continue  # a pod's port, listed once for all its subscribers
            sw_intfs.append(intf)
            if host is not None and topology.host(host).pod:
                pod_ports.add(intf)
    return bridges, sw_intfs, host_intfs


def check_names(topology: Topology) -> None:
    """Refuse names Linux cannot take as interface names (at most 15 characters)."""
    bad = [n for group in interface_names(topology) for n in group if len(n) > IFNAMSIZ]
    if bad:
        raise EmulationError(
            "interface names longer than 15 characters: "
            + ", ".join(sorted(set(bad)))
            + " (shorten the switch or host names)"
        )


def build_topo(topology: Topology, tx_offload: bool = True,
               owner: dict[int, int] | None = None) -> Topo:
    """The Mininet Topo of a Topology (pure: nothing is started).

    tx_offload=False turns transmit checksum offload off on host interfaces, which TCP
    through OVS's userspace datapath needs. owner: {dpid: controller index} when the controller
    runs as several processes (sovnet.compile.shards); each bridge then speaks to its own.
    """
    topo = Topo()
    for h in topology.hosts:
        if not h.pod:
            topo.addHost(
                h.name, ip=f"{h.ip}/{h.prefixlen}", mac=h.mac, defaultRoute=f"dev {h.name}-eth0"
            )
    for pod in pods(topology):
        topo.addHost(pod.name, members=pod.members)
        topo.addLink(pod.name, pod.switch, port1=0, port2=pod.port, intfName1=POD_INTF,
                     cls=HostLink, **({} if tx_offload else {"params1": {"txo": False}}))
    for s in topology.switches:
        topo.addSwitch(s.name, dpid=f"{s.dpid:016x}", controller_index=(owner or {}).get(s.dpid, 0))
    in_pod = {h.name for h in topology.hosts if h.pod}
    for lk in topology.links:
        if lk.a in in_pod or lk.b in in_pod:
            continue  # its pod's link, above
        opts: dict = {}
        if lk.bw is not None:
            opts["bw"] = float(lk.bw)
        host = _host_end(topology, lk)
        port1 = 0 if lk.a == host else lk.a_port
        port2 = 0 if lk.b == host else lk.b_port
        if host is not None and not tx_offload:
            opts["params1" if lk.a == host else "params2"] = {"txo": False}
        if host is not None and (lk.bw, lk.delay, lk.loss) == (None, None, None):
            opts["cls"] = HostLink
        elif host is None and (lk.bw, lk.delay, lk.loss) == (None, None, None):
            # An unshaped link between two bridges is an OVS patch port pair: no veth, no
            # kernel interface, no datapath port to poll (the userspace datapath's cost
            # grows with its ports), and a packet crosses both bridges in one datapath flow.
            opts["cls"] = OVSLink
        topo.addLink(lk.a, lk.b, port1=port1, port2=port2, **opts)
    return topo


@contextlib.contextmanager
def quiet_warnings():
    """Mininet 2.3.0 compares OVS versions with distutils' deprecated StrictVersion."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"mininet\.")
        yield


class QuietTCIntf(TCIntf):
    """TCIntf without the harmless 'sch_htb: quantum ... is big' that Mininet logs as an error."""

    def tc(self, cmd, tc="tc"):
        out = super().tc(cmd, tc)
        return "\n".join(ln for ln in out.splitlines() if "is big. Consider r2q" not in ln)


class QuietTCLink(TCLink):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("cls1", QuietTCIntf)
        kwargs.setdefault("cls2", QuietTCIntf)
        super().__init__(*args, **kwargs)


class FastIntf(Intf):
    """An unshaped host link's end. Mininet sets an interface up with one command per setting;
    this one only notes its settings, and sovnet.emulation.fastnet applies them to every host
    at once."""

    def config(self, mac=None, ip=None, ifconfig=None, up=True, txo=None, **_params):
        if mac:
            self.mac = mac
        self.txo = txo
        return {}


class HostLink(mnlink.Link):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("cls1", FastIntf)
        kwargs.setdefault("cls2", FastIntf)
        super().__init__(*args, **kwargs)


class FastHost(Host):
    """A Mininet host whose address, MAC, link, routes and loopback are set with one command,
    which FastMininet sends to every host at once (sovnet.emulation.fastnet)."""

    def setup_command(self, folder: Path) -> str:
        """folder: where a pod's (sovnet.emulation.pods) batch files go."""
        intf = self.defaultIntf()
        p = self.params
        if p.get("members"):
            return pod_setup(self.name, p["members"], getattr(intf, "txo", None) is False,
                             folder)
        lines = []
        if p.get("mac"):
            intf.mac = p["mac"]
            lines.append(f"link set dev {intf} address {p['mac']}")
        if p.get("ip"):
            intf.ip, intf.prefixLen = p["ip"].split("/")
            lines.append(f"addr add {p['ip']} dev {intf}")
        lines.append(f"link set dev {intf} up")
        if p.get("defaultRoute"):
            lines.append(f"route replace default {p['defaultRoute']}")
        lines.append("link set lo up")
        command = "printf '%s\\n' " + " ".join(shlex.quote(ln) for ln in lines) + " | ip -b -"
        if getattr(intf, "txo", None) is False:
            command += f" && ethtool -K {intf} tx off >/dev/null"
        return command + " && echo ok"


class OwnedOVSSwitch(OVSSwitch):
    """A bridge that speaks to one controller of several: the process that owns it."""

    def start(self, controllers):
        index = self.params.get("controller_index", 0)
        super().start(controllers[index:index + 1] if len(controllers) > 1 else controllers)


class LateRemoteController(RemoteController):
    def checkListening(self):  # the controller may start later; no telnet probe, no warning
        pass

    def stop(self):  # RemoteController.stop leaves the node's shell running
        self.terminate()


def recording(base, record):
    """A subclass of a Mininet node class that reports each node once its shell runs."""

    class Recording(base):
        def startShell(self, *args, **kwargs):  # noqa: N802 (Mininet's naming)
            super().startShell(*args, **kwargs)
            record(self)

    Recording.__name__ = base.__name__
    return Recording
