"""The client side of `sovnet bench dpi`, run inside a host: `python -m sovnet.benchclient`.

    handshakes IP NAME N         N fresh TCP connections to IP:443 with a TLS handshake naming
                                 NAME, one after the other: the seconds each took (connect +
                                 handshake), as the probe measures them
    burst IP NAME RATE SECONDS   new TLS connections opened at RATE per second for SECONDS,
                                 each given 2 s: how many completed, and their times

Prints one JSON object. The lab CA is trusted as the host's bundle is (the probe's context).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time

from sovnet.probes import tls
from sovnet.probes.net import Clock, tcp_connect

TIMEOUT = 2.0


def handshakes(ip: str, name: str, n: int) -> dict:
    times, failures = [], []
    for _ in range(n):
        clock = Clock()
        record, sock = tcp_connect(ip, 443, TIMEOUT, clock)
        if sock is None:
            failures.append(record["status"]["failure"])
            continue
        hs, conn = tls.handshake(sock, ip, 443, name, TIMEOUT, clock)
        if conn is None:
            failures.append(hs["failure"])
            continue
        times.append(clock.now())
        conn.close()
    return {"seconds": times, "failures": failures}


async def _one(ip: str, name: str, ctx: ssl.SSLContext) -> float | None:
    t0 = time.monotonic()
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(ip, 443, ssl=ctx, server_hostname=name), TIMEOUT)
    except (TimeoutError, OSError, ssl.SSLError):
        return None
    writer.close()
    return time.monotonic() - t0


async def _burst(ip: str, name: str, rate: float, seconds: float) -> dict:
    ctx = tls.client_context()
    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(_one(ip, name, ctx)))
    done = await asyncio.gather(*tasks)
    ok = [t for t in done if t is not None]
    return {"opened": len(done), "completed": len(ok), "seconds": ok,
            "achieved_rate": len(done) / max(time.monotonic() - start - TIMEOUT, seconds)}


def main(argv: list[str]) -> int:
    what, ip, name, *rest = argv
    if what == "handshakes":
        out = handshakes(ip, name, int(rest[0]))
    else:
        out = asyncio.run(_burst(ip, name, float(rest[0]), float(rest[1])))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
