"""The flow-log commands' text: `flowlog` (records as a table or JSON lines) and `retention`.

    flowlog [--subscriber S] [--service X] [--since SECONDS_AGO] [--limit N] [--json]
    retention [SECONDS] [--why T]

Shared by `sovnet store DB ...` and the interactive CLI through sovnet.commands.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from dataclasses import asdict

from sovnet.errors import SovnetError
from sovnet.store.base import PolicyStore
from sovnet.store.flowrecords import DEFAULT_RETENTION

TABLE_LIMIT = 50  # records a table shows unless --limit says otherwise
PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp"}


class FlowlogError(SovnetError):
    exit_code = 2


def positive(text: str) -> int:
    if not str(text).strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"bad count {text!r} (expected a whole number, 1 or "
                                         "more)")
    return int(text)


def human(seconds: float) -> str:
    """7776000 -> '90 d'; 5400 -> '1.5 h'; 45 -> '45 s'."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def flowlog(store: PolicyStore, subscriber: str | None = None, service: str | None = None,
            since: float | None = None, limit: int | None = None, as_json: bool = False,
            now: float | None = None) -> str:
    """The records of flows active in the last `since` seconds (all if None), oldest first."""
    topo = store.topology()
    _check_name(subscriber, [s.name for s in topo.subscribers], "subscriber")
    _check_name(service, [s.name for s in topo.services] + [r.name for r in topo.resolvers],
                "service or resolver")
    now = time.time() if now is None else now
    start = None if since is None else now - since
    if limit is None and not as_json:
        limit = TABLE_LIMIT
    recs = store.flows.records(subscriber=subscriber, service=service, since=start, limit=limit)
    names = {s.dpid: s.name for s in topo.switches}
    if as_json:
        return "\n".join(json.dumps({**_plain(r), "switch": names.get(r.dpid)},
                                    separators=(",", ":")) for r in recs)
    if not recs:
        return "no flow records" + _filters(subscriber, service, since) + _why_none(store)
    total = store.flows.count(subscriber=subscriber, service=service, since=start)
    text = table(recs, names)
    if total > len(recs):
        text += f"\n(the newest {len(recs)} of {total} records; --limit N shows more)"
    return text


def table(recs, switch_names: dict[int, str]) -> str:
    head = ("first seen", "secs", "subscriber", "dir", "service", "proto", "from", "to",
            "packets", "bytes", "policy", "switch", "")
    rows = [head] + [(
        dt.datetime.fromtimestamp(r.first_seen).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        f"{r.last_seen - r.first_seen:.2f}", r.subscriber, r.direction, r.service or "-",
        PROTOCOLS.get(r.proto, str(r.proto)), _end(r.src, r.src_port, r.proto),
        _end(r.dst, r.dst_port, r.proto), str(r.packets), str(r.bytes), f"#{r.policy}",
        switch_names.get(r.dpid, f"dpid {r.dpid:#x}"), "dropped" if r.dropped else "",
    ) for r in recs]
    right = {1, 8, 9}  # numbers
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                  for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows)


def retention(store: PolicyStore, seconds: float | None, author: str = "",
              why: str = "") -> tuple[str, int | None]:
    """Show the retention, or set it (one revision) and delete what it no longer keeps."""
    if seconds is None:
        body = store.settings().get("flowlog")
        if body is None:
            return (f"flow records are kept {human(DEFAULT_RETENTION)} (the default; "
                    "`retention SECONDS` sets it)"), None
        return f"flow records are kept {human(body['retention'])} ({body['retention']:g} s)", None
    rev = store.put_setting("flowlog", {"retention": seconds}, author=author,
                            reason=why or f"keep flow records {human(seconds)}")
    deleted = store.flows.expire()
    return (f"flow records are now kept {human(seconds)} ({seconds:g} s); deleted {deleted} "
            "older ones"), rev


def _plain(r) -> dict:
    d = asdict(r)
    d.pop("id")
    return d


def _end(ip: str, port: int, proto: int) -> str:
    if proto == 1:  # NetFlow's ICMP "port" is type << 8 | code
        return ip if port == 0 else f"{ip} type {port >> 8}/{port & 0xFF}"
    return f"{ip}:{port}"


def _check_name(value: str | None, names: list[str], what: str) -> None:
    if value is not None and value not in names:
        raise FlowlogError(f"no {what} {value!r} in this store's inventory (expected one of: "
                           f"{', '.join(sorted(names)) or 'none'})")


def _filters(subscriber, service, since) -> str:
    parts = [f"of {subscriber}" if subscriber else "", f"with {service}" if service else "",
             f"in the last {human(since)}" if since is not None else ""]
    return "".join(f" {p}" for p in parts if p)


def _why_none(store: PolicyStore) -> str:
    if any(p.act.kind == "log" for p in store.policies()):
        return ""
    return " (no log policy is in force: `policy add log TARGET --scope S` starts recording)"
