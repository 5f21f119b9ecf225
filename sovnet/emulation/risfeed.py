"""A route collector's live feed: every update its peers send, as RIPE RIS Live publishes it.

Runs beside a collector's GoBGP daemon, follows its Adj-RIB-In (`gobgp monitor adj-in`) and
writes one RIS Live `ris_message` per line, stamped with the time it arrived to the
microsecond (the MRT dump the daemon writes itself has whole seconds only):

  {"type": "ris_message", "data": {"timestamp": 1796375050.123456, "peer": "172.16.0.3",
   "peer_asn": "3356", "id": "rrc00-17", "host": "rrc00", "type": "UPDATE",
   "path": [3356, 64501], "announcements": [{"next_hop": "172.16.0.3",
   "prefixes": ["10.1.0.0/17"]}], "withdrawals": []}}

    python -m sovnet.emulation.risfeed --socket S --collector rrc00 --out F --ready R
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sovnet.poll import attempts


def messages(paths: list[dict[str, Any]], collector: str, peers: dict[str, int],
             now: float, first_id: int) -> list[dict[str, Any]]:
    """One gobgp monitor line (a list of paths) as RIS Live messages, one per peer and kind
    (announcement or withdrawal), in the order the peers first appear."""
    grouped: dict[tuple[str, bool, tuple[int, ...]], dict[str, Any]] = {}
    for p in paths:
        if not isinstance(p, dict) or "nlri" not in p:
            continue
        peer = p.get("neighbor-ip") or p.get("source-id") or ""
        withdrawal = bool(p.get("withdrawal"))
        asns: tuple[int, ...] = ()
        next_hop = ""
        for a in p.get("attrs", ()):
            if a.get("type") == 2:
                asns = tuple(n for seg in a.get("as_paths", ()) for n in seg.get("asns", ()))
            elif a.get("type") == 3:
                next_hop = a.get("nexthop", "")
            elif a.get("type") == 14:
                next_hop = (a.get("nexthop") or [""])[0] if isinstance(a.get("nexthop"),
                                                                      list) else ""
        key = (peer, withdrawal, () if withdrawal else asns)
        msg = grouped.get(key)
        if msg is None:
            msg = grouped[key] = {
                "type": "ris_message",
                "data": {"timestamp": round(now, 6), "peer": peer,
                         "peer_asn": str(peers.get(peer, asns[0] if asns else 0)),
                         "id": "", "host": collector, "type": "UPDATE",
                         "path": [] if withdrawal else list(asns),
                         "announcements": [], "withdrawals": []}}
            if not withdrawal:
                msg["data"]["announcements"].append({"next_hop": next_hop, "prefixes": []})
        prefix = p["nlri"]["prefix"]
        if withdrawal:
            msg["data"]["withdrawals"].append(prefix)
        else:
            msg["data"]["announcements"][0]["prefixes"].append(prefix)
    out = list(grouped.values())
    for i, m in enumerate(out):
        m["data"]["id"] = f"{collector}-{first_id + i}"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True, help="the collector daemon's API socket")
    ap.add_argument("--collector", required=True)
    ap.add_argument("--peer", action="append", default=[], metavar="ADDRESS=ASN")
    ap.add_argument("--family", action="append", choices=("ipv4", "ipv6"), default=[],
                    help="an address family to follow (default: ipv4)")
    ap.add_argument("--out", required=True, help="RIS Live messages, one per line")
    ap.add_argument("--ready", required=True, help="created once the feed follows the daemon")
    args = ap.parse_args(argv)
    peers = {a: int(n) for a, _, n in (p.partition("=") for p in args.peer)}
    for _ in attempts(30, 0.05):
        if os.path.exists(args.socket):
            break
    else:
        print(f"no API socket at {args.socket} after 30 s", file=sys.stderr)
        return 1
    target = f"unix://{args.socket}"
    families = args.family or ["ipv4"]
    procs = [subprocess.Popen(["gobgp", "--target", target, "monitor", "adj-in", "-a", fam,
                               "-j", "--current"], stdout=subprocess.PIPE, text=True)
             for fam in families]
    signal.signal(signal.SIGTERM, lambda *_: [p.terminate() for p in procs])
    Path(args.ready).touch()
    lock = threading.Lock()
    counter = [0]

    with open(args.out, "a", buffering=1) as out:
        def follow(proc: subprocess.Popen) -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                now = time.time()
                line = line.strip()
                if not line:
                    continue
                try:
                    paths = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(paths, list):
                    continue
                with lock:
                    for m in messages(paths, args.collector, peers, now, counter[0]):
                        out.write(json.dumps(m) + "\n")
                        counter[0] += 1

        threads = [threading.Thread(target=follow, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for p in procs:  # reaped here: an orphan would linger as a zombie under some inits
        p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
