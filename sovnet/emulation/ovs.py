"""Open vSwitch on the host: make sure its daemons run, pick the datapath, query bridges.

The datapath is "kernel" where the openvswitch kernel module is usable and "user" (the
userspace netdev datapath) where it is not, e.g. in containers without loadable modules.
setup.sh records its choice in /var/lib/sovnet/datapath; SOVNET_DATAPATH overrides it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from sovnet.errors import EmulationError
from sovnet.poll import attempts

DATAPATHS = ("kernel", "user")
DATAPATH_ENV = "SOVNET_DATAPATH"
DATAPATH_FILE = Path("/var/lib/sovnet/datapath")
OVS_CTL = "/usr/share/openvswitch/scripts/ovs-ctl"
SETUP_HINT = "run setup.sh as root to install and start Open vSwitch"


def _run(argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def vsctl(*args: str, check: bool = True, timeout: float = 10) -> str:
    """Run ovs-vsctl (with a database timeout) and return its stdout."""
    try:
        r = _run(["ovs-vsctl", f"--timeout={max(1, int(timeout))}", *args], timeout=timeout + 5)
    except FileNotFoundError as e:
        raise EmulationError(
            f"ovs-vsctl not found: Open vSwitch is not installed ({SETUP_HINT})"
        ) from e
    except subprocess.TimeoutExpired as e:
        raise EmulationError(f"ovs-vsctl {' '.join(args)} timed out ({SETUP_HINT})") from e
    if check and r.returncode != 0:
        raise EmulationError(f"ovs-vsctl {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def ovs_running() -> bool:
    """True when ovsdb-server answers and ovs-vswitchd is up."""
    if shutil.which("ovs-vsctl") is None:
        return False
    try:
        r = _run(["ovs-vsctl", "--timeout=2", "show"], timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if r.returncode != 0:
        return False
    # `show` only needs ovsdb-server; check the switch daemon through its control socket.
    try:
        r = _run(["ovs-appctl", "-t", "ovs-vswitchd", "version"], timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def _pid1_is_systemd() -> bool:
    try:
        return Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def _start_commands() -> list[list[str]]:
    cmds: list[list[str]] = []
    if _pid1_is_systemd() and shutil.which("systemctl"):
        cmds.append(["systemctl", "start", "openvswitch-switch"])
    elif shutil.which("service") and Path("/etc/init.d/openvswitch-switch").exists():
        cmds.append(["service", "openvswitch-switch", "start"])
    if Path(OVS_CTL).exists():
        cmds.append([OVS_CTL, "start", "--system-id=random"])
    return cmds


def ensure_ovs_running(timeout: float = 20.0) -> None:
    """Start ovsdb-server and ovs-vswitchd when they are not running; raise EmulationError."""
    if ovs_running():
        return
    if shutil.which("ovs-vsctl") is None:
        raise EmulationError(f"Open vSwitch is not installed (no ovs-vsctl): {SETUP_HINT}")
    if os.geteuid() != 0:
        raise EmulationError(
            "Open vSwitch is not running and only root can start it: " + SETUP_HINT
        )
    tried = []
    for argv in _start_commands():
        try:
            r = _run(argv, timeout=120)
            tried.append(f"{' '.join(argv)} -> exit {r.returncode}")
        except (OSError, subprocess.TimeoutExpired) as e:
            tried.append(f"{' '.join(argv)} -> {e}")
            continue
        # A start command that failed gets a short grace; one that succeeded the full timeout.
        for _ in attempts(timeout if r.returncode == 0 else 2.0, 0.2):
            if ovs_running():
                return
    raise EmulationError(
        "could not start Open vSwitch (tried: "
        + ("; ".join(tried) or "nothing to try")
        + "): "
        + SETUP_HINT
    )


def detect_datapath() -> str:
    """'kernel' when the openvswitch kernel module is (or can be) loaded, else 'user'."""
    if Path("/sys/module/openvswitch").exists():
        return "kernel"
    if shutil.which("modprobe") and os.geteuid() == 0:
        try:
            _run(["modprobe", "-q", "openvswitch"], timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if Path("/sys/module/openvswitch").exists():
            return "kernel"
    return "user"


def datapath(env: dict[str, str] | None = None, record: Path | None = None) -> str:
    """The OVS datapath to use: $SOVNET_DATAPATH, else setup.sh's record, else detection."""
    env = os.environ if env is None else env
    record = DATAPATH_FILE if record is None else record
    forced = env.get(DATAPATH_ENV, "").strip()
    if forced:
        if forced not in DATAPATHS:
            raise EmulationError(
                f"{DATAPATH_ENV}={forced!r} is not a datapath (expected one of: kernel, user)"
            )
        return forced
    try:
        recorded = record.read_text().strip()
    except OSError:
        recorded = ""
    if recorded in DATAPATHS:
        return recorded
    return detect_datapath()


def bridges() -> list[str]:
    """Every OVS bridge on the host."""
    return vsctl("list-br").split()


def ovs_interfaces() -> list[str]:
    """Every interface name OVS knows (ports of all bridges)."""
    return vsctl("--bare", "--columns=name", "list", "Interface").split()


def _cells(value):
    """Decode an OVSDB JSON cell into a Python list of atoms."""
    if isinstance(value, list) and value and value[0] == "set":
        return [_cells(v)[0] for v in value[1]]
    if isinstance(value, list) and value and value[0] == "uuid":
        return [value[1]]
    return [value]


def connected_bridges(names: list[str]) -> dict[str, bool]:
    """For each bridge in names: is at least one of its controllers connected?"""
    out = json.loads(vsctl("--format=json", "--columns=name,controller", "list", "Bridge"))
    ctl = json.loads(vsctl("--format=json", "--columns=_uuid,is_connected", "list", "Controller"))
    up = {_cells(row[0])[0]: row[1] is True for row in ctl["data"]}
    result = {name: False for name in names}
    for row in out["data"]:
        name = _cells(row[0])[0]
        if name in result:
            result[name] = any(up.get(u, False) for u in _cells(row[1]) if isinstance(u, str))
    return result


def delete_bridges(names: list[str]) -> list[str]:
    """Delete the given bridges where they exist; return the ones that existed."""
    if not names:
        return []
    existing = set(bridges())
    gone = [n for n in names if n in existing]
    if gone:
        args: list[str] = []
        for n in gone:
            args += ["--", "--if-exists", "del-br", n]
        vsctl(*args)
    return gone


def dump_flows(bridge: str, timeout: float = 10) -> str:
    """`ovs-ofctl -O OpenFlow13 dump-flows BRIDGE` (stats included), or the error it printed."""
    try:
        r = _run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge], timeout=timeout)
    except (FileNotFoundError, subprocess.TimeoutExpired) as e:
        return f"# ovs-ofctl failed: {e}\n"
    return r.stdout if r.returncode == 0 else f"# ovs-ofctl failed: {r.stderr.strip()}\n"


def set_netflow(bridges: dict[str, tuple[int, int]], target: str, active_timeout: int) -> None:
    """Make each bridge export NetFlow v5 to `target` ("IP:PORT") with its own (engine_type,
    engine_id), in one OVSDB transaction. The NetFlow rows belong to their bridges: OVSDB
    removes them with the bridge."""
    args: list[str] = []
    for i, (name, (engine_type, engine_id)) in enumerate(sorted(bridges.items())):
        args += ["--", "set", "Bridge", name, f"netflow=@nf{i}",
                 "--", f"--id=@nf{i}", "create", "NetFlow", f'targets="{target}"',
                 f"active_timeout={active_timeout}", f"engine_type={engine_type}",
                 f"engine_id={engine_id}"]
    if args:
        vsctl(*args)


MAX_BACKOFF_MS = 1000  # each Controller record's max_backoff (Mininet's reconnectms)


def redial(bridges: list[str], target: str) -> None:
    """Point `bridges` at the controller at `target` (a new address), connecting at once.

    After a controller's connection drops, ovs-vswitchd 3.1 backs off 1, 2, 4, 8 s between
    attempts whatever the record's max_backoff says (measured here), so a controller restarted
    at the same address can wait seconds for its switches. Neither `bridge/reconnect` nor a new
    record with the same target cuts that wait, and removing the controllers for a moment makes
    OVS drop the flows. A new target does: OVS opens a fresh connection to it at once and keeps
    the flows. One transaction, so no bridge is ever without a controller."""
    args: list[str] = []
    for i, name in enumerate(bridges):
        args += ["--", f"--id=@c{i}", "create", "Controller", f'target="{target}"',
                 f"max_backoff={MAX_BACKOFF_MS}", "--", "set", "Bridge", name,
                 f"controller=[@c{i}]"]
    if args:
        vsctl(*args)
