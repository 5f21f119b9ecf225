"""`sovnet bench dpi TOPOLOGY`: what the in-path inspector costs and what it can take (root).

Figures, each printed with how it was taken:
  parser      ClientHellos and QUIC Initials parsed per second (pure, one core)
  first conn  connect + TLS handshake of a fresh connection from a subscriber to a foreign
              service, without and with its tcp/443 going through the inspector (a policy
              that matches no name: the cost for traffic no rule names)
  bulk        an HTTPS download's throughput without and with the inspector path (after the
              verdict the connection is switched in the datapath)
  capacity    new TLS connections per second through the inspector: bursts at rising rates,
              the highest rate at which every handshake completed within 2 s
  throttle    throttle:140kbit by SNI: the rate achieved downstream and upstream
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from sovnet.config import load_topology
from sovnet.lab import Lab
from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.policy import parse_scope, parse_target

RATES = (25, 50, 100, 200, 400)
THROTTLE_KBPS = 140


def parser_rates(seconds: float = 1.0) -> tuple[float, float]:
    """(ClientHellos/s, QUIC Initials/s) parsed by sovnet.inspect."""
    import ssl  # noqa: I001 (a real ClientHello, from OpenSSL through a memory BIO)

    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection

    from sovnet.inspect.quic import quic_initial_sni
    from sovnet.inspect.tls import client_hello_sni
    ctx = ssl.create_default_context()
    out, inc = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="friendbook.example")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    conn = QuicConnection(configuration=QuicConfiguration(is_client=True, alpn_protocols=["h3"],
                                                          server_name="friendbook.example"))
    conn.connect(("192.0.2.1", 443), now=0.0)
    initial = conn.datagrams_to_send(now=0.0)[0][0]
    rates = []
    for parse, data in ((client_hello_sni, hello), (quic_initial_sni, initial)):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            parse(data)
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    return rates[0], rates[1]


def _client(lab: Lab, host: str, *args) -> dict:
    out = lab.host(host).cmd(f"{sys.executable} -m sovnet.benchclient "
                             + " ".join(str(a) for a in args))
    return json.loads(out.strip().splitlines()[-1])


def _agent_throughput(lab: Lab, host: str, url: str, direction: str = "down") -> dict:
    import subprocess

    proc = lab.host(host).popen([sys.executable, "-m", "sovnet.probes.agent", "--name", host],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    cmd = {"id": "b", "kind": "throughput", "timeout": 60, "direction": direction,
           "targets": [{"service": "bench", "url": url}]}
    out, _ = proc.communicate(json.dumps(cmd) + "\n", timeout=90)
    return json.loads(out.strip().splitlines()[-1])["observation"]


def _policy(lab: Lab, action: str, target: str, scope: str) -> int:
    pid = lab.store.add_policy(PolicyRequest.of(action, parse_scope(scope), parse_target(target),
                                                100, author="bench", reason="bench")).id
    lab.wait_enforced(lab.store.revision(), timeout=30)
    return pid


def _revoke(lab: Lab, pid: int) -> None:
    lab.store.apply(Revoke(pid, author="bench", reason="bench"))
    lab.wait_enforced(lab.store.revision(), timeout=30)


def _ms(xs: list[float]) -> str:
    if not xs:
        return "none completed"
    q = statistics.quantiles(xs, n=10) if len(xs) > 1 else xs * 9
    return (f"median {statistics.median(xs) * 1000:.1f} ms, p90 {q[8] * 1000:.1f} ms "
            f"(n={len(xs)})")


def main(args) -> int:
    hellos, initials = parser_rates()
    print(f"parser: {hellos:,.0f} ClientHellos/s, {initials:,.0f} QUIC Initials/s (one core)")
    topo = load_topology(args.topology)
    sub = next(s for s in topo.subscribers if s.registered).name
    isp = topo.subscriber(sub).isp
    svc = next(s for s in topo.services if s.locus == "foreign")
    name, ip = svc.domains[0], topo.host(svc.name).ip
    print(f"{topo.name}: {sub} ({isp}) -> {name} ({ip}:443)")
    with Lab(topo, source=args.topology) as lab:
        _client(lab, sub, "handshakes", ip, name, 3)  # warm: ARP, caches
        plain = _client(lab, sub, "handshakes", ip, name, args.connections)["seconds"]
        bulk_url = f"https://{name}/bytes?n={args.bulk_bytes}"
        bulk = _agent_throughput(lab, sub, bulk_url)["throughput_kbps"]
        pid = _policy(lab, "reject", "sni:no-such-name.example", f"isp:{isp}")
        inspected = _client(lab, sub, "handshakes", ip, name, args.connections)["seconds"]
        bulk_i = _agent_throughput(lab, sub, bulk_url)["throughput_kbps"]
        print(f"first connection (connect + TLS handshake), no inspector: {_ms(plain)}")
        print(f"first connection through the inspector (no rule names it): {_ms(inspected)}; "
              f"added {(statistics.median(inspected) - statistics.median(plain)) * 1000:.1f} ms "
              "at the median")
        print(f"bulk HTTPS download of {args.bulk_bytes:,} bytes: {bulk / 1000:.1f} Mbit/s "
              f"without, {bulk_i / 1000:.1f} Mbit/s with the inspector path")
        best, failed = 0, None
        for rate in RATES:
            got = _client(lab, sub, "burst", ip, name, rate, args.burst_seconds)
            print(f"burst of new TLS connections at {rate}/s for {args.burst_seconds:g} s: "
                  f"{got['completed']}/{got['opened']} completed within 2 s, "
                  f"{_ms(got['seconds'])}")
            if got["completed"] < got["opened"]:
                failed = rate
                break
            best = rate
        print(f"capacity: every handshake completed up to {best} new connections/s "
              f"(rates tried: {', '.join(map(str, RATES))})")
        _revoke(lab, pid)
        if failed is not None:  # is it the inspector, or the client and server on two cores?
            got = _client(lab, sub, "burst", ip, name, failed, args.burst_seconds)
            print(f"the same burst at {failed}/s without the inspector: "
                  f"{got['completed']}/{got['opened']} completed, {_ms(got['seconds'])}")
        _policy(lab, f"throttle:{THROTTLE_KBPS}kbit", f"sni:{name}", f"isp:{isp}")
        downs, ups = [], []
        for _ in range(args.throttle_runs):
            obs = _agent_throughput(lab, sub, f"https://{name}/bytes?n={args.throttle_bytes}",
                                    "both")
            downs.append(obs["throughput_kbps"])
            ups.append(obs["x_upload"]["throughput_kbps"])
        print(f"throttle:{THROTTLE_KBPS}kbit by SNI, {args.throttle_bytes:,} bytes each way, "
              f"{args.throttle_runs} runs: down {', '.join(f'{x:.0f}' for x in downs)} kbit/s "
              f"(median {statistics.median(downs):.0f}), up "
              f"{', '.join(f'{x:.0f}' for x in ups)} kbit/s "
              f"(median {statistics.median(ups):.0f})")
    return 0
