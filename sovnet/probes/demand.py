"""Background demand: what a subscriber's household or phone pulls from the internet, following
a daily load curve, so that byte counters at the border see traffic as Cloudflare Radar and
Kentik see it (low at night, a peak in the evening).

    python -m sovnet.probes.demand --url http://172.16.0.3/bytes --host streamtube.example \\
        --kbps 1000 --curve 0.3,0.2,...  --epoch T0 --scale 450 --origin 64800 --ready R

Each second of real time it asks for what the rate allows at the scenario's hour of day
(`kbps` x curve[hour]), over HTTP from the service; a request that fails is simply lost
demand, as it is for a user behind a cut. It writes nothing: the border counts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path

DAY = 86400.0
# A residential day (Radar's shape): a trough before dawn, a rise through the day, an evening
# peak; per hour of the day, as a share of the peak.
DIURNAL = (0.35, 0.25, 0.2, 0.18, 0.18, 0.22, 0.35, 0.5, 0.6, 0.65, 0.68, 0.7,
           0.72, 0.72, 0.72, 0.74, 0.78, 0.85, 0.92, 0.98, 1.0, 0.95, 0.8, 0.55)


def rate_kbps(kbps: float, curve: tuple[float, ...], epoch: float, scale: float,
              origin: float, now: float) -> float:
    """The demand at Unix time `now`: kbps x the curve at the scenario's hour of day."""
    hour = int(((origin + (now - epoch) * scale) % DAY) // 3600)
    return kbps * curve[hour]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="the service's /bytes URL, by address")
    ap.add_argument("--host", required=True, help="the Host header (the service's domain)")
    ap.add_argument("--kbps", type=float, required=True, help="the rate at the curve's peak")
    ap.add_argument("--curve", default=",".join(map(str, DIURNAL)), help="24 shares of kbps")
    ap.add_argument("--epoch", type=float, required=True, help="Unix time of scenario T0")
    ap.add_argument("--scale", type=float, required=True, help="emulated s per real s")
    ap.add_argument("--origin", type=float, default=0.0, help="time of day at T0, s")
    ap.add_argument("--source", default="", help="the address to send from (a pod's)")
    ap.add_argument("--ready", required=True)
    a = ap.parse_args(argv)
    curve = tuple(float(x) for x in a.curve.split(","))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if a.source:
        import socket

        orig = socket.create_connection
        socket.create_connection = (  # type: ignore[assignment]
            lambda addr, timeout=None, source_address=None: orig(addr, timeout,
                                                                 (a.source, 0)))
    Path(a.ready).touch()
    while not stop.is_set():
        t = time.time()
        n = int(rate_kbps(a.kbps, curve, a.epoch, a.scale, a.origin, t) * 1000 / 8)
        if n > 0:
            req = urllib.request.Request(f"{a.url}?n={n}", headers={"Host": a.host})
            try:
                with urllib.request.urlopen(req, timeout=0.9) as resp:
                    while resp.read(65536):
                        pass
            except OSError:
                pass  # demand lost to a cut, as a user's would be
        stop.wait(max(0.0, t + 1.0 - time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
