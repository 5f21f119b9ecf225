"""Pods: the subscribers of one switch as macvlan interfaces in one shared host.

A network namespace per subscriber costs a shell, a veth pair and a datapath port each, and
ten thousand of them take minutes to make and to remove. A pod is one host on one switch port;
each of its subscribers is a macvlan interface on the pod's link with the subscriber's own MAC
and addresses, so the switch still admits, polices and forwards them one by one (admission
matches the port and the source MAC). Inside the pod:

- addresses carry no prefix route: the main table is empty, and a socket not bound to one
  subscriber's address has no route, instead of silently speaking as another subscriber;
- `ip rule from ADDRESS` picks the subscriber's table, whose on-link default route leaves by
  its own interface, so a socket bound to the address (the probe agent's --source, ping -I)
  sends from the right MAC;
- arp_ignore=1: an interface answers ARP only for its own address (every macvlan hears the
  pod's broadcasts), and arp_announce=2 asks with the address the interface holds.

What a pod changes: two subscribers of one pod reach each other inside the pod's kernel, not
through the switch, so no policy sits between them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from sovnet.model.topology import Host, Topology

POD_INTF = "pod-eth0"  # the pod's end of its link (names need only be unique in its namespace)
TABLE_BASE = 1000  # routing tables of the subscribers: 1001, 1002... (Linux keeps 253-255)


@dataclass(frozen=True)
class Pod:
    name: str
    switch: str
    port: int
    members: tuple[Host, ...]


def pods(topology: Topology) -> tuple[Pod, ...]:
    """The pods of a topology, in the order their first subscriber comes."""
    members: dict[str, list[Host]] = {}
    for h in topology.hosts:
        if h.pod:
            members.setdefault(h.pod, []).append(h)
    return tuple(Pod(name, hs[0].switch, hs[0].port, tuple(hs)) for name, hs in members.items())


def setup_lines(members: tuple[Host, ...]) -> tuple[list[str], list[str]]:
    """`ip -batch` lines that make a pod's interfaces, IPv4 addresses, rules and routes, and
    `ip -6 -batch` lines for IPv6 (a batch line cannot name its family)."""
    v4, v6 = [f"link set dev {POD_INTF} up"], []
    for n, h in enumerate(members, TABLE_BASE + 1):
        intf = f"{h.name}-eth0"
        v4 += [f"link add link {POD_INTF} name {intf} address {h.mac} type macvlan mode bridge",
               f"addr add {h.ip}/{h.prefixlen} dev {intf} noprefixroute",
               f"link set dev {intf} up",
               f"rule add from {h.ip} table {n} pref {n}",
               f"route add default dev {intf} table {n}"]
        if h.ip6:  # no duplicate address detection, as on every host (Network._add_ipv6)
            v6 += [f"addr add {h.ip6}/96 dev {intf} nodad noprefixroute",
                   f"rule add from {h.ip6} table {n} pref {n}",
                   f"route add default dev {intf} table {n}"]
    return v4, v6


SYSCTLS = ("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
           "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
           "net.ipv6.conf.default.accept_ra=0", "net.ipv6.conf.default.accept_dad=0")


def setup_command(name: str, members: tuple[Host, ...], tx_off: bool, folder: Path) -> str:
    """One shell command that sets a pod up and prints ok. The `ip -batch` files go to `folder`:
    a pod's thousands of lines would not pass through its shell's terminal, whose lines end at
    4095 bytes."""
    v4, v6 = setup_lines(members)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ip").write_text("\n".join(v4) + "\n")
    sysctls = SYSCTLS + (("net.ipv6.conf.all.disable_ipv6=0",) if v6 else ())
    command = f"sysctl -qw {' '.join(sysctls)} && ip -b {shlex.quote(str(folder / name))}.ip"
    if v6:
        (folder / f"{name}.ip6").write_text("\n".join(v6) + "\n")
        command += f" && ip -6 -b {shlex.quote(str(folder / name))}.ip6"
    if tx_off:
        command += f" && ethtool -K {POD_INTF} tx off >/dev/null"
    return command + " && echo ok"


class PodMember:
    """A pod subscriber, as Network.host() gives it: commands run in the pod's shell, and
    `source` / `source6` are the addresses they must bind to (ping -I, agent --source)."""

    def __init__(self, pod_node, host: Host):
        self.pod = pod_node
        self.name = host.name
        self.source = host.ip
        self.source6 = host.ip6 or None
        self.mac = host.mac

    def cmd(self, *args, **kwargs) -> str:
        return self.pod.cmd(*args, **kwargs)

    def popen(self, *args, **kwargs):
        return self.pod.popen(*args, **kwargs)

    def IP(self) -> str:  # noqa: N802 (Mininet's naming)
        return self.source

    def MAC(self) -> str:  # noqa: N802 (Mininet's naming)
        return self.mac
