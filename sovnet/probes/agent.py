"""The measurement agent of a vantage point: a long-lived process inside an emulated host.

    python -m sovnet.probes.agent --name VANTAGE [--resolver IP[:PORT]] [--http-port P]

Reads JSON commands from stdin, one per line, and writes one JSON line per target to stdout,
flushed at once because the runner reads a pipe. Each command runs on its own thread, since a
new round may arrive while an older one still waits for timeouts, and its targets are measured
concurrently, so that a blocked target costs one timeout, not one per target. Exits 0 at the
end of stdin once the commands in flight are done.

Commands ({"id", "kind", "targets", ...}) and their lines:
  web         {"observation": {...}}: web.measure_web (OONI Web Connectivity + page load)
  web+control {"control": {...}}: web.measure_control (the test helper's side)
  throughput  {"observation": {"url", "bytes", "seconds", "throughput_kbps", "failure",
              ["tls_handshakes"], ["x_upload": {"bytes", "seconds", "throughput_kbps",
              "failure"}]}}: a GET of url, and with "direction" up or both a POST of as many
              bytes to /upload
  latency     {"observation": {"ip", "sent", "received", "rtt_*_ms", "failure"}} from ping
  stream      {"observation": {"ip", "rate", "window_s", "start_wall", "sent", "received",
              "replies": [[seq, t_sent, t_received], ...], "icmp_errors", "failure"}}: echo
              requests at "rate" per second for "window" seconds (stream.icmp_stream)
  http3       {"observation": {...}}: http3.measure_http3 (QUIC handshake + HTTP/3 GET of an
              https URL), trusting the host's CA bundle (the lab CA is in it) or the
              command's "cafile"
Every line has "id", "kind", "service"; a measurement also has "t0_mono", "t0_wall" and
"runtime". What could not be measured (a missing tool, output not understood, a malformed
command, a bug) is {"error", "raw"} instead: never a made-up success or failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

from sovnet.probes import source, tls
from sovnet.probes.http3 import H3Timeouts, measure_http3
from sovnet.probes.net import (
    Clock,
    ProbeEnv,
    connect_first,
    count_body,
    is_ip,
    parse_endpoint,
    resolve,
    split_url,
    upload,
)
from sovnet.probes.parse import ProbeParseError, parse_ping
from sovnet.probes.stream import icmp_stream
from sovnet.probes.web import HostCache, Timeouts, measure_control, measure_web

MAX_WORKERS = 16
PING_INTERVAL = 0.2


class ToolError(Exception):
    """A measuring tool that did not run to completion; raw is what it printed."""

    def __init__(self, message: str, raw: str):
        super().__init__(message)
        self.message = message
        self.raw = raw


def default_resolver(path: str = "/etc/resolv.conf") -> str | None:
    """The first nameserver of resolv.conf (each emulated host bind-mounts its ISP's)."""
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    return fields[1]
    except OSError:
        pass
    return None


class Output:
    """JSON lines on a stream shared by every thread: one whole line at a time."""

    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.Lock()

    def write(self, obj: dict) -> None:
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        with self.lock:
            self.stream.write(line)
            self.stream.flush()


def _open(u, addrs: list[str], timeouts: Timeouts, remaining: float, obs: dict):
    """A connection to the URL's server, with TLS (and the SNI) for https: the socket, or
    None with obs["failure"] set."""
    sock, ip, obs["failure"] = connect_first(addrs, u.port, min(timeouts.connect, remaining))
    if sock is None or not u.tls:
        return sock
    # The SNI an inspector reads: a throttle by SNI is measured through it.
    record, sock = tls.handshake(sock, ip, u.port, u.host, timeouts.tls, Clock())
    obs.setdefault("tls_handshakes", []).append(record)
    if sock is None:
        obs["failure"] = record["failure"]
    return sock


def measure_throughput(target: dict, cmd: dict, env: ProbeEnv) -> dict:
    """GET target["url"] within cmd["timeout"] seconds and rate the body transfer; with
    cmd["direction"] up or both, also POST as many bytes and rate that (x_upload)."""
    deadline = time.monotonic() + float(cmd.get("timeout", 15))
    timeouts = Timeouts.from_command(cmd.get("timeouts"))
    direction = cmd.get("direction", "down")
    url = target["url"]
    u = split_url(url, env.http_port, env.https_port)
    obs = {"url": url, "bytes": 0, "seconds": None, "throughput_kbps": None, "failure": None}
    if is_ip(u.host):
        addrs = [u.host]
    else:
        _, addrs, obs["failure"] = resolve(u.host, env.dns(), timeouts.dns, Clock(),
                                           target.get("families", ("ipv4",)))
    if obs["failure"] is None and deadline - time.monotonic() <= 0:
        obs["failure"] = "generic_timeout_error"
    if obs["failure"] is not None:
        return obs
    if direction in ("down", "both"):
        sock = _open(u, addrs, timeouts, deadline - time.monotonic(), obs)
        if sock is not None:
            status, received, seconds, failure = count_body(sock, u.target, u.netloc, deadline)
            if failure is None and status != 200:
                failure = f"unknown_failure: HTTP status {status}"
            obs.update(bytes=received, seconds=round(seconds, 6),
                       throughput_kbps=_kbps(received, seconds), failure=failure)
    if direction in ("up", "both"):
        leg: dict = {"bytes": 0, "seconds": None, "throughput_kbps": None, "failure": None}
        size = int(parse_qs(urlsplit(url).query).get("n", ["0"])[0] or 0)
        sock = _open(u, addrs, timeouts, deadline - time.monotonic(), leg)
        if sock is not None:
            status, sent, seconds, failure = upload(sock, u.netloc, size, deadline)
            sock.close()
            if failure is None and status != 200:
                failure = f"unknown_failure: HTTP status {status}"
            leg.update(bytes=sent, seconds=round(seconds, 6),
                       throughput_kbps=_kbps(sent, seconds) if failure is None else None,
                       failure=failure)
        obs["x_upload"] = leg
        if direction == "up":  # an upload-only probe: its figure is the upload's
            obs.update({k: leg[k] for k in ("bytes", "seconds", "throughput_kbps", "failure")})
    return obs


def _kbps(n: int, seconds: float) -> float | None:
    # Bytes that arrived before a failure still give a rate: under throttling that partial
    # rate is the measurement.
    return round(n * 8 / 1000 / seconds, 3) if n and seconds > 0 else None


def measure_latency(target: dict, cmd: dict) -> dict:
    """ping -n -c COUNT -i 0.2 -W TIMEOUT target["ip"], parsed."""
    ip = str(target["ip"])
    if not is_ip(ip):
        raise ValueError(f"not an IPv4 address: {ip!r}")
    count, timeout = int(cmd.get("count", 3)), float(cmd.get("timeout", 1))
    argv = ["ping", "-n", "-c", str(count), "-i", str(PING_INTERVAL), "-W", f"{timeout:g}",
            *source.ping_options(ip), ip]
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=count * PING_INTERVAL + timeout + 5)
    except subprocess.TimeoutExpired as e:
        raw = e.output if isinstance(e.output, str) else (e.output or b"").decode(errors="replace")
        raise ToolError(f"ping did not finish within {e.timeout:g} s", raw) from e
    return {"ip": ip, **parse_ping(done.stdout, done.returncode)}


def measure_stream(target: dict, rate: float, window: float) -> dict:
    ip = str(target["ip"])
    if not is_ip(ip):
        raise ValueError(f"not an IPv4 address: {ip!r}")
    return icmp_stream(ip, rate, window)


Measure = Callable[[dict], tuple[str, dict]]


def _measurer(cmd: dict, env: ProbeEnv) -> Measure | None:
    """target -> (line key, payload) for the command's kind; None for an unknown kind."""
    kind = cmd.get("kind")
    if kind == "web":
        timeouts = Timeouts.from_command(cmd.get("timeouts"))
        if cmd.get("control"):
            return lambda t: ("control", measure_control(t, timeouts, env))
        cache = HostCache(env, timeouts.dns)
        page = bool(cmd.get("page"))
        return lambda t: ("observation", measure_web(t, timeouts, env, cache, page))
    if kind == "throughput":
        return lambda t: ("observation", measure_throughput(t, cmd, env))
    if kind == "latency":
        return lambda t: ("observation", measure_latency(t, cmd))
    if kind == "http3":
        h3_timeouts = H3Timeouts.from_command(cmd.get("timeouts"))
        cafile = cmd.get("cafile")  # None in a lab: the host's bundle has the lab CA
        return lambda t: ("observation", measure_http3(t, h3_timeouts, env, cafile))
    if kind == "stream":
        rate, window = float(cmd["rate"]), float(cmd["window"])
        if not (0 < rate <= 1000 and 0 < window <= 60):
            raise ValueError(f"stream rate {rate:g}/s and window {window:g} s out of range "
                             "(expected at most 1000/s for at most 60 s)")
        return lambda t: ("observation", measure_stream(t, rate, window))
    return None


def _measure_target(cmd: dict, target: object, measure: Measure, out: Output) -> None:
    service = target.get("service") if isinstance(target, dict) else None
    line: dict = {"id": cmd["id"], "kind": cmd["kind"], "service": service}
    t0_mono, t0_wall = time.monotonic(), time.time()
    try:
        if not isinstance(target, dict):
            raise ValueError(f"a target must be an object, not {target!r}")
        key, payload = measure(target)
        line.update(t0_mono=t0_mono, t0_wall=t0_wall,
                    runtime=round(time.monotonic() - t0_mono, 6), **{key: payload})
    except (ProbeParseError, ToolError) as e:
        line.update(error=e.message, raw=e.raw)
    except Exception as e:  # one target's bug must not cost the others or the agent
        line.update(error=f"{type(e).__name__}: {e}", raw=traceback.format_exc())
    out.write(line)


def _problem(cmd: object) -> str | None:
    if not isinstance(cmd, dict) or not isinstance(cmd.get("id"), str):
        return 'a command is an object with a string "id"'
    if not isinstance(cmd.get("targets"), list):
        return '"targets" must be a list'
    return None


def run_command(text: str, env: ProbeEnv, out: Output) -> None:
    """One command line -> one line per target (or one error line)."""
    try:
        cmd = json.loads(text)
    except ValueError as e:
        cmd, problem = None, f"not JSON: {e}"
    else:
        problem = _problem(cmd)
    if problem is not None:
        known = cmd if isinstance(cmd, dict) else {}
        out.write({"id": known.get("id"), "kind": known.get("kind"), "service": None,
                   "error": f"malformed command: {problem}", "raw": text})
        return
    targets = cmd["targets"]
    error, raw = f"unknown command kind {cmd.get('kind')!r}", text
    try:
        measure = _measurer(cmd, env)
    except Exception as e:  # bad parameters, e.g. a timeout that is not a number
        measure, error, raw = None, f"{type(e).__name__}: {e}", traceback.format_exc()
    if measure is None:
        # One line per target all the same: the runner accounts for every target it asked for.
        for t in targets or [None]:
            out.write({"id": cmd["id"], "kind": cmd.get("kind"),
                       "service": t.get("service") if isinstance(t, dict) else None,
                       "error": error, "raw": raw})
        return
    if not targets:
        return
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(targets))) as pool:
        for target in targets:
            pool.submit(_measure_target, cmd, target, measure, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sovnet.probes.agent")
    ap.add_argument("--name", required=True, help="the vantage point, for the log")
    ap.add_argument("--resolver", help="IP[:PORT]; default: first nameserver of resolv.conf")
    ap.add_argument("--http-port", type=int, default=80, help="port of port-less URLs")
    ap.add_argument("--source", help="bind every socket to this IPv4 address (a pod subscriber)")
    ap.add_argument("--source6", help="and IPv6 sockets to this address")
    a = ap.parse_args(argv)
    source.use(a.source, a.source6)
    resolver = a.resolver or default_resolver()
    env = ProbeEnv(parse_endpoint(resolver, 53) if resolver else None, a.http_port)
    out = Output(sys.stdout)
    bound = f", source {a.source}" + (f" {a.source6}" if a.source6 else "") if a.source else ""
    sys.stderr.write(f"agent {a.name}: resolver {resolver or 'none'}, http port {a.http_port}"
                     f"{bound}\n")
    sys.stderr.flush()
    running: list[threading.Thread] = []
    for text in sys.stdin:
        if not text.strip():
            continue
        t = threading.Thread(target=run_command, args=(text.strip(), env, out), daemon=False)
        t.start()
        running = [r for r in running if r.is_alive()] + [t]
    for t in running:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
