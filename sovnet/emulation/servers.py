"""Starting, awaiting and stopping the servers that run inside the emulated hosts.

Every service host runs `python -m sovnet.emulation.httpd` on ports 80 and 443 (HTTPS with a
certificate from the lab CA for all its domains), and `python -m sovnet.emulation.h3d` on udp/443
when the topology says `http3: true` (same certificate); every resolver host
`python -m sovnet.emulation.dnsd` on port 53 (UDP and TCP) and its ISP's blockpage server,
`python -m sovnet.emulation.blockpaged`, on ports 80 and 443 (with a certificate for the
blockpage's own name only). Each writes a ready file once its sockets
listen; start() polls for those files (and for early deaths) instead of sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sovnet.emulation.labca import LabCA, cert_paths
from sovnet.errors import EmulationError
from sovnet.model.topology import Topology, resolver_ip  # noqa: F401 (re-exported)
from sovnet.poll import attempts


def zone(topology: Topology) -> dict[str, str]:
    """Every service domain (lower-case, no trailing dot) -> its service host's IP."""
    out: dict[str, str] = {}
    for svc in topology.services:
        ip = topology.host(svc.name).ip
        for d in svc.domains:
            out[d.lower().rstrip(".")] = ip
    return out


def write_zone(topology: Topology, path: Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(zone(topology), indent=1, sort_keys=True) + "\n")
    return path


HTTPS = 443


def blockpage_name(isp: str) -> str:
    """The only name an ISP's blockpage server has a certificate for."""
    return f"blockpage.{isp}.sovnet"


def issue_certs(topology: Topology, ca: LabCA) -> None:
    """A certificate per server that speaks TLS, at the paths server_specs gives them."""
    for svc in topology.services:
        ca.issue(svc.name, list(svc.domains))
    for res in topology.resolvers:
        if res.isp:
            ca.issue(f"{res.name}.blockpaged", [blockpage_name(res.isp)])


def _tls_args(workdir: Path, name: str) -> list[str]:
    cert, key = cert_paths(workdir, name)
    return ["--tls-port", str(HTTPS), "--cert", str(cert), "--key", str(key)]


@dataclass
class ServerSpec:
    host: str
    kind: str  # "http", "http3", "dns" or "blockpage"
    argv: list[str]
    ready: Path
    log: Path
    ports: tuple[str, ...]  # e.g. ("tcp/80",) or ("udp/53", "tcp/53")


@dataclass
class Server:
    spec: ServerSpec
    popen: subprocess.Popen
    logf: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.popen.pid


def server_specs(
    topology: Topology, workdir: Path, zone_file: Path, python: str = sys.executable,
    store: str | None = None, dns_dir: Path | None = None,
) -> list[ServerSpec]:
    """The command line of each host server. Pure: nothing is started. With `store`, the
    ISP resolvers obey its dns_tamper policies; with a public resolver abroad, they recurse to
    it for the foreign names (the list is written next to the zone file); every resolver
    counts its queries into dns_dir (default: workdir)."""
    workdir = Path(workdir)
    specs = []
    # A dual-stack lab's servers listen on "::", which takes IPv4 too; resolvers answer AAAA.
    anywhere = ["--address", "::"] if topology.ipv6 else []
    for svc in topology.services:
        deps = [
            topology.service(d).domains[0] for d in svc.depends_on if topology.service(d).domains
        ]
        ready = workdir / f"{svc.name}.httpd.ready"
        argv = [
            python,
            "-m",
            "sovnet.emulation.httpd",
            "--service",
            svc.name,
            "--domains",
            ",".join(svc.domains),
            "--depends",
            ",".join(deps),
            "--port",
            "80",
            "--ready",
            str(ready),
            *_tls_args(workdir, svc.name),
            *(["--redirect-https"] if svc.https_redirect else []),
            *anywhere,
        ]
        specs.append(
            ServerSpec(
                svc.name, "http", argv, ready, workdir / f"{svc.name}.httpd.log",
                ("tcp/80", f"tcp/{HTTPS}"),
            )
        )
        if svc.http3:
            ready = workdir / f"{svc.name}.h3d.ready"
            cert, key = cert_paths(workdir, svc.name)
            argv = [python, "-m", "sovnet.emulation.h3d", "--service", svc.name,
                    "--domains", ",".join(svc.domains), "--depends", ",".join(deps),
                    "--cert", str(cert), "--key", str(key), "--port", "443",
                    "--ready", str(ready), *anywhere]
            specs.append(ServerSpec(svc.name, "http3", argv, ready,
                                    workdir / f"{svc.name}.h3d.log", ("udp/443",)))
    counts = Path(dns_dir or workdir).resolve()  # the servers run in another directory
    public = topology.public_resolvers
    forward = Path(zone_file).with_name("foreign-names.json")
    if public:
        forward.write_text(json.dumps(sorted(d for s in topology.services if s.locus == "foreign"
                                             for d in s.domains)))
    for res in topology.resolvers:
        ready = workdir / f"{res.name}.dnsd.ready"
        recurse = (["--upstream", topology.host(public[0].name).ip, "--forward", str(forward)]
                   if public and res.isp else [])
        argv = [
            python,
            "-m",
            "sovnet.emulation.dnsd",
            "--zone",
            str(zone_file),
            "--name",
            res.name,
            "--port",
            "53",
            "--ready",
            str(ready),
            *(["--store", store] if store and res.isp else []),
            *(["--ipv6", topology.ipv6] if topology.ipv6 else []),
            *recurse, "--counts", str(counts / f"{res.name}.counts.jsonl"),
        ]
        specs.append(
            ServerSpec(
                res.name, "dns", argv, ready, workdir / f"{res.name}.dnsd.log", ("udp/53", "tcp/53")
            )
        )
        if not res.isp:
            continue
        # The resolver host is also its ISP's blockpage server (blockpage policies).
        ready = workdir / f"{res.name}.blockpaged.ready"
        argv = [python, "-m", "sovnet.emulation.blockpaged", "--isp", res.isp, "--port", "80",
                "--ready", str(ready), *_tls_args(workdir, f"{res.name}.blockpaged"), *anywhere]
        specs.append(ServerSpec(res.name, "blockpage", argv, ready,
                                workdir / f"{res.name}.blockpaged.log", ("tcp/80", f"tcp/{HTTPS}")))
    return specs


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_servers(
    specs: list[ServerSpec],
    host_of: Callable[[str], object],
    on_spawn: Callable[[Server], None] = lambda s: None,
    timeout: float = 30.0,
) -> list[Server]:
    """Spawn every server inside its Mininet host and wait until each listens.

    On failure, stops the ones started and raises EmulationError naming the host.
    """
    started: list[Server] = []
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        for spec in specs:
            spec.ready.unlink(missing_ok=True)
            logf = open(spec.log, "ab")  # noqa: SIM115 (closed in stop_servers)
            popen = host_of(spec.host).popen(
                spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(spec.log.parent),
            )
            server = Server(spec, popen, logf)
            started.append(server)
            on_spawn(server)
        await_servers(started, timeout)
    except BaseException:
        stop_servers(started)
        raise
    return started


def await_servers(servers: list[Server], timeout: float = 30.0) -> None:
    waiting = list(servers)
    for _ in attempts(timeout, 0.05):
        for s in list(waiting):
            if s.popen.poll() is not None:
                raise EmulationError(
                    f"host {s.spec.host}: {s.spec.kind} server exited with code "
                    f"{s.popen.returncode} before listening; {s.spec.log}:\n{_tail(s.spec.log)}"
                )
            if s.spec.ready.exists():
                waiting.remove(s)
        if not waiting:
            return
    names = ", ".join(f"{s.spec.host} ({s.spec.kind})" for s in waiting)
    raise EmulationError(f"servers not listening after {timeout:g}s: {names}")


def stop_servers(servers: list[Server], timeout: float = 5.0) -> None:
    """SIGTERM every server, SIGKILL those still running after timeout, reap them all."""
    for s in servers:
        if s.popen.poll() is None:
            try:
                s.popen.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for s in servers:
        try:
            s.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            s.popen.kill()
            s.popen.wait()
        for f in (s.popen.stdout, s.popen.stderr, s.logf):
            if f is not None and hasattr(f, "close"):
                f.close()
        s.spec.ready.unlink(missing_ok=True)
