"""The controller's hands on the BGP speakers (the impure edge of sovnet.compile.routes).

- Announcer: after every compile, each border router is brought to announce what the policies
  in force say (compile.routes.announcements), through its GoBGP daemon's API: a withdraw
  policy becomes BGP withdrawals sent to every transit network, a restore new announcements.
- RibWatcher: follows each transit router's RIB (`gobgp monitor global rib`) and hands the
  domestic prefixes routed abroad to the enforcer, which makes the internet switches forward
  as those routes say (compile.routes.noroute_flows): an SDN-IP data plane under a real BGP
  control plane.

Both talk to the daemons with the `gobgp` command over each daemon's Unix socket, which the
controller reaches from outside the hosts' network namespaces.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from sovnet.compile.bgpconf import socket_path
from sovnet.compile.routes import announcements
from sovnet.model.topology import embed6

log = logging.getLogger("sovnet.controller.routes")
TIMEOUT = 10.0  # s for one API call


class SpeakerError(RuntimeError):
    pass


def gobgp(bgp_dir: Path, router: str, *args: str) -> str:
    cmd = ["gobgp", "--target", f"unix://{socket_path(bgp_dir, router)}", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SpeakerError(f"{router}: {' '.join(args)}: {e}") from None
    if done.returncode != 0:
        raise SpeakerError(f"{router}: {' '.join(args)}: {done.stderr.strip() or done.stdout}")
    return done.stdout


def family(prefix: str) -> str:
    return "ipv6" if ":" in prefix else "ipv4"


def originated(bgp_dir: Path, router: str) -> set[str]:
    """The prefixes a router announces itself (its own paths carry an empty AS path)."""
    out: set[str] = set()
    for fam in ("ipv4", "ipv6"):
        text = gobgp(bgp_dir, router, "global", "rib", "-a", fam, "-j").strip()
        for prefix, paths in (json.loads(text) if text else {}).items():
            for p in paths:
                if not any(a.get("type") == 2 and any(s.get("asns") for s in
                                                      a.get("as_paths", ()))
                           for a in p.get("attrs", ())):
                    out.add(prefix)
    return out


class Announcer:
    def __init__(self, bgp_dir: Path):
        self.bgp_dir = Path(bgp_dir)
        self.lock = threading.Lock()
        self.known: dict[str, set[str]] = {}  # router -> what it announces, as last set

    def apply(self, topology, policies) -> list[str]:
        """Bring every border router to the announcements the policies say (in a dual-stack
        network each prefix with its IPv6 twin); the changes made, as text
        ("fixgw withdraw 10.1.0.0/17")."""
        changes: list[str] = []
        with self.lock:
            for router, prefixes in announcements(topology, policies).items():
                want = set(prefixes)
                if topology.ipv6:
                    want |= {embed6(topology.ipv6, p) for p in prefixes}
                try:
                    have = self.known.get(router)
                    if have is None:
                        have = originated(self.bgp_dir, router)
                    for prefix in sorted(have - want):
                        gobgp(self.bgp_dir, router, "global", "rib", "del", "-a",
                              family(prefix), prefix)
                        changes.append(f"{router} withdraw {prefix}")
                    for prefix in sorted(want - have):
                        # An IPv6 route over an IPv4 session needs an IPv6 next hop: its own.
                        hop = ["nexthop", topology.host(router).ip6] if ":" in prefix else []
                        gobgp(self.bgp_dir, router, "global", "rib", "add", "-a",
                              family(prefix), prefix, *hop)
                        changes.append(f"{router} announce {prefix}")
                    self.known[router] = want
                except SpeakerError as e:
                    self.known.pop(router, None)  # learn it again next time
                    log.error("cannot bring %s to its announcements: %s", router, e)
        for c in changes:
            log.info("%s", c)
        return changes


class RibWatcher:
    """Follows the transit routers' RIBs; calls on_change(prefixes) with the union of what
    they route, each time it changes."""

    def __init__(self, bgp_dir: Path, routers: list[str],
                 on_change: Callable[[frozenset[str]], None]):
        self.bgp_dir = Path(bgp_dir)
        self.routers = routers
        self.on_change = on_change
        self.ribs: dict[str, set[str]] = {r: set() for r in routers}
        self.unheard = {(r, fam) for r in routers for fam in ("ipv4", "ipv6")}
        self.lock = threading.Lock()
        self.procs: list[subprocess.Popen] = []
        self.stopping = threading.Event()

    def start(self) -> None:
        for router in self.routers:
            for fam in ("ipv4", "ipv6"):
                threading.Thread(target=self._follow, args=(router, fam), daemon=True,
                                 name=f"rib-{router}-{fam}").start()

    def stop(self) -> None:
        """Stop following, and reap the monitors: the controller leaves with os._exit, and
        an orphan would linger as a zombie under an init that does not reap."""
        self.stopping.set()
        procs = list(self.procs)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def _follow(self, router: str, fam: str) -> None:
        target = f"unix://{socket_path(self.bgp_dir, router)}"
        while not self.stopping.is_set():
            proc = subprocess.Popen(["gobgp", "--target", target, "monitor", "global", "rib",
                                     "-a", fam, "-j", "--current"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True)
            self.procs.append(proc)
            assert proc.stdout is not None
            for line in proc.stdout:
                try:
                    paths = json.loads(line) or []
                except ValueError:
                    continue
                self._update(router, fam, paths)
            proc.wait()
            self.procs.remove(proc)
            if self.stopping.wait(1.0):  # the daemon went away: follow it again when back
                return

    def _update(self, router: str, fam: str, paths: list[dict]) -> None:
        with self.lock:
            first = (router, fam) in self.unheard
            self.unheard.discard((router, fam))
            rib = self.ribs[router]
            before = set(rib)
            for p in paths:
                prefix = p["nlri"]["prefix"]
                if p.get("withdrawal"):
                    rib.discard(prefix)
                else:
                    rib.add(prefix)
            if rib == before and not first:
                return
            union = frozenset(set().union(*self.ribs.values()))
        self.on_change(union)
