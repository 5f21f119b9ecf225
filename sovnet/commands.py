"""Policy commands on a store, shared by the interactive CLI and `sovnet store ...` in a shell.

    policy list [--at REV] [--json]
    policy add ACTION TARGET [--scope S] [--priority N] [--daily HH:MM-HH:MM]
               [--from T] [--until T] [--why T]
    policy revoke ID [--why T]             policy load FILE [--why T]
    subscriber list [--json]               subscriber register|verify|privilege|revoke NAME
    subscriber standing NAME 0-100
    device register SUBSCRIBER MAC         device revoke MAC
    history [-n N] [--json]                enforcement [REV] [--json]
    explain SRC DST [--proto P] [--port N] [--sni NAME] [--at REV] [--json]
    flowlog [--subscriber S] [--service X] [--since SECONDS_AGO] [--limit N] [--json]
    retention [SECONDS] [--why T]          how long flow records are kept

Every write is one store revision with who and why; the controller enforces it on its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import re
import shlex
import time
from pathlib import Path

from sovnet.compile import compile_network
from sovnet.errors import CompileError, SovnetError, StoreError, UsageError
from sovnet.flowlog import text as flowlog_text
from sovnet.flowtable.explain import ExplainError, explain
from sovnet.model.command import PolicyRequest, Revoke
from sovnet.model.policy import (
    ACTION_FORMS,
    PolicySyntaxError,
    Scope,
    Target,
    parse_scope,
    parse_target,
)
from sovnet.model.schedule import Schedule, ScheduleError, in_force, schedule


class CommandError(SovnetError):
    exit_code = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CommandError(f"{self.prog}: {message}\n{self.format_usage().strip()}")

    def exit(self, status=0, message=None):
        raise CommandError(message or self.format_help())


def author() -> str:
    return os.environ.get("SUDO_USER") or getpass.getuser()


STATUS_OPS = {"register": "registered", "verify": "verified", "privilege": "privileged",
              "revoke": "revoked"}


DURATION_FORM = "seconds, or a number with s, m, h or d, such as 3600, 30m, 12h or 90d"


def duration(text: str) -> float:
    """An argparse type: '3600' -> 3600.0, '90d', '1h30m' (sovnet's duration syntax)."""
    from sovnet.model.scenario import parse_duration

    compact = str(text).strip().lower()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", compact):  # a bare number is seconds on a command line
            return float(compact)
        return parse_duration(compact)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad duration {text!r} (expected {DURATION_FORM})") from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="", add_help=False)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    pol = sub.add_parser("policy", help="list, add, revoke or load policies")
    ps = pol.add_subparsers(dest="op", required=True, parser_class=_Parser)
    ls = ps.add_parser("list")
    ls.add_argument("--at", type=int, help="the policies in force at this revision")
    ls.add_argument("--json", action="store_true", help="one JSON object a policy")
    add = ps.add_parser("add")
    add.add_argument("action", help=ACTION_FORMS)
    add.add_argument("target", help="international | any | service:NAME | category:CODE | "
                                    "locus:domestic|foreign | prefix:CIDR | port:PROTO/PORT")
    add.add_argument("--scope", default="all", help="all | isp:NAME | class:NAME | "
                     "subscriber:NAME | tier:registered|verified|privileged | standing:<N")
    add.add_argument("--priority", type=int, default=100)
    add.add_argument("--daily", metavar="HH:MM-HH:MM",
                     help="in force only in this daily window of the scenario clock")
    add.add_argument("--from", dest="start", type=duration, metavar="T",
                     help="in force from scenario time T (e.g. 8h)")
    add.add_argument("--until", dest="end", type=duration, metavar="T",
                     help="in force until scenario time T")
    add.add_argument("--why", default="")
    rv = ps.add_parser("revoke")
    rv.add_argument("ids", type=int, nargs="+")
    rv.add_argument("--why", default="")
    ld = ps.add_parser("load")
    ld.add_argument("file")
    ld.add_argument("--why", default="")

    s = sub.add_parser("subscriber", help="list subscribers or change their standing")
    ss = s.add_subparsers(dest="op", required=True, parser_class=_Parser)
    sl = ss.add_parser("list")
    sl.add_argument("--json", action="store_true", help="one JSON object a subscriber")
    for op in STATUS_OPS:
        x = ss.add_parser(op)
        x.add_argument("name")
        x.add_argument("--why", default="")
    x = ss.add_parser("standing", help="set a subscriber's standing (0-100)")
    x.add_argument("name")
    x.add_argument("standing", type=int)
    x.add_argument("--why", default="")

    d = sub.add_parser("device", help="register or revoke a device (MAC)")
    ds = d.add_subparsers(dest="op", required=True, parser_class=_Parser)
    x = ds.add_parser("register")
    x.add_argument("subscriber")
    x.add_argument("mac")
    x.add_argument("--why", default="")
    x = ds.add_parser("revoke")
    x.add_argument("mac")
    x.add_argument("--why", default="")

    h = sub.add_parser("history", help="store revisions: who changed what, when, why")
    h.add_argument("-n", type=int, default=20)
    h.add_argument("--json", action="store_true", help="one JSON object a revision")
    e = sub.add_parser("enforcement", help="when each switch enforced a revision")
    e.add_argument("revision", type=int, nargs="?")
    e.add_argument("--json", action="store_true", help="one JSON object: every switch's answer")
    x = sub.add_parser("explain", help="which policy, table and flow decide SRC -> DST")
    x.add_argument("src")
    x.add_argument("dst")
    x.add_argument("--proto", default="tcp", choices=("tcp", "udp", "icmp"))
    x.add_argument("--port", type=int, default=80)
    x.add_argument("--sni", help="the name the client sends (SNI or Host), for the inspector; "
                                 "default: DST when it is a domain name")
    x.add_argument("--at", type=int, metavar="REV",
                   help="as the network stood at this revision (schedules as at its commit)")
    x.add_argument("--json", action="store_true", help="one JSON object")

    fl = sub.add_parser("flowlog", help="flow records: who reached which service, when, how "
                                        "many bytes (kept where a log policy covers them)")
    fl.add_argument("--subscriber")
    fl.add_argument("--service", help="a service or resolver name")
    fl.add_argument("--since", type=duration, metavar="SECONDS_AGO",
                    help="flows active in the last SECONDS_AGO (or 30m, 12h, 90d)")
    fl.add_argument("--limit", type=flowlog_text.positive,
                    help=f"the newest N (default: {flowlog_text.TABLE_LIMIT}; all with --json)")
    fl.add_argument("--json", action="store_true", help="one JSON object a line")
    rt = sub.add_parser("retention", help="show or set how long flow records are kept")
    rt.add_argument("seconds", nargs="?", type=duration,
                    help="SECONDS (or 30m, 12h, 90d); older records are deleted at once")
    rt.add_argument("--why", default="")
    return p


def run_on_file(db: str, argv: list[str], write: bool = False) -> str:
    """`sovnet store DB COMMAND`: one command on a store file. A finished run's store is kept
    as the run left it: a command that would change it is refused unless `write`."""
    from sovnet.store import open_store

    finished = finished_run(Path(db))
    if finished and not write and writes(argv):
        raise UsageError(f"store {db}: {finished}: it is kept as the run left it "
                         "(expected --write to change it anyway)")
    with open_store(db, create=False) as store:
        return run(store, argv)[0]


def finished_run(db: Path) -> str:
    """'the store of a finished run (FOLDER, complete)', or '' for any other store."""
    try:
        status = json.loads((db.parent / "manifest.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return ""
    if not status or status == "running":
        return ""
    return f"the store of a finished run ({db.parent}, {status})"


def writes(argv: list[str]) -> bool:
    """Would this command change the store? (A bad command is reported when it is run.)"""
    try:
        a = build_parser().parse_args(argv)
    except CommandError:
        return False
    return bool(
        (a.cmd == "policy" and a.op != "list") or (a.cmd == "subscriber" and a.op != "list")
        or a.cmd == "device" or (a.cmd == "retention" and a.seconds is not None))


def run(store, argv: list[str] | str) -> tuple[str, int | None]:
    """Execute one command. Returns (text to show, revision written or None)."""
    if isinstance(argv, str):
        try:
            argv = shlex.split(argv)
        except ValueError as e:  # "No closing quotation"
            raise CommandError(f"cannot read the command: {e}") from None
    a = build_parser().parse_args(argv)
    try:
        return _dispatch(store, a)
    except (PolicySyntaxError, CompileError, ExplainError, ScheduleError) as e:
        raise CommandError(str(e)) from None
    except StoreError as e:  # the store refused the input: bad input, said with its command
        raise CommandError(f"{' '.join(x for x in (a.cmd, getattr(a, 'op', '')) if x)}: {e}"
                           ) from None


def _dispatch(store, a) -> tuple[str, int | None]:
    who = author()
    if a.cmd == "policy":
        if a.op == "list":
            pols = store.policies(a.at)
            if a.json:
                return "\n".join(_dumps(policy_json(p)) for p in pols), None
            return ("\n".join(p.describe() + (f"  -- {p.reason}" if p.reason else "")
                              for p in pols) or "no policies in force"), None
        if a.op == "add":
            scope, target = parse_scope(a.scope), parse_target(a.target)
            request = PolicyRequest.of(a.action, scope, target, a.priority, author=who,
                                       reason=a.why, schedule=schedule(a.daily, a.start, a.end))
            p = store.apply(request)
            return f"added {p.describe()}", store.revision()
        if a.op == "revoke":
            with store.transaction(who, a.why or f"revoke {a.ids}") as tx:
                for pid in a.ids:
                    tx.apply(Revoke(pid))
            return f"revoked {', '.join(f'#{i}' for i in a.ids)}", store.revision()
        if a.op == "load":
            from sovnet.config import load_policy_set

            specs = load_policy_set(a.file, store.topology())
            with store.transaction(who, a.why or f"load {a.file}") as tx:
                for request in specs:
                    tx.apply(request)
            return f"loaded {len(specs)} policies from {a.file}", store.revision()
    if a.cmd == "subscriber":
        if a.op == "list":
            subs = store.subscribers()
            topo = store.topology()
            if a.json:
                return "\n".join(_dumps(subscriber_json(topo, n, st))
                                 for n, st in sorted(subs.items())), None
            rows = [f"{n:<12} {topo.subscriber(n).cls:<16} {topo.subscriber(n).isp:<10} "
                    f"{s.status:<10} {s.standing:>3}  "
                    f"{', '.join(sorted(s.devices)) or '(no device)'}"
                    for n, s in sorted(subs.items())]
            return "\n".join(rows), None
        if a.op == "standing":
            store.set_standing(a.name, a.standing, author=who, reason=a.why)
            return f"{a.name} now has standing {a.standing}", store.revision()
        status = STATUS_OPS[a.op]
        store.set_subscriber_status(a.name, status, author=who, reason=a.why)
        return f"{a.name} is now {status}", store.revision()
    if a.cmd == "device":
        if a.op == "register":
            store.register_device(a.subscriber, a.mac, author=who, reason=a.why)
            return f"device {a.mac} registered to {a.subscriber}", store.revision()
        store.revoke_device(a.mac, author=who, reason=a.why)
        return f"device {a.mac} revoked", store.revision()
    if a.cmd == "history":
        revs = store.history(limit=a.n)
        if a.json:
            return "\n".join(_dumps(revision_json(r)) for r in revs), None
        return "\n".join(_revision_text(r) for r in revs), None
    if a.cmd == "enforcement":
        if a.json:
            return _dumps(enforcement_json(store, a.revision)), None
        return enforcement_text(store, a.revision), None
    if a.cmd == "explain":
        latest = store.revision()
        if a.at is not None and not 1 <= a.at <= latest:
            raise CommandError(f"explain --at: no revision {a.at} (expected 1 to {latest})")
        snap = store.snapshot(a.at)
        if snap.topology is None:
            raise CommandError("this store holds no inventory yet (expected a store that "
                               "`sovnet cli` or a Lab has loaded a topology into)")
        # What schedules held then: at the revision's commit for a past one, else now.
        when = time.time() if a.at is None else store.revision_info(a.at).committed_at
        e = explained(snap, when, a.src, a.dst, a.proto, a.port, a.sni)
        if a.json:
            return _dumps(e.to_json() | {"revision": snap.revision}), None
        head = f"at revision {snap.revision} ({utc(when)})\n" if a.at is not None else ""
        return head + e.render(), None
    if a.cmd == "retention":
        return flowlog_text.retention(store, a.seconds, who, a.why)
    if a.cmd == "flowlog":
        return flowlog_text.flowlog(store, a.subscriber, a.service, a.since, a.limit,
                                    a.json), None
    raise CommandError(f"unknown command {a.cmd!r}")


def explained(snap, when: float, src: str, dst: str, proto: str, port: int, sni: str | None):
    """The Explanation of SRC -> DST in the network of `snap` with the schedules as they held
    at `when` (ExplainError for an unknown host or protocol)."""
    now = in_force(snap.policies, snap.clock, when)
    compiled = compile_network(snap.topology, now, snap.subscribers)
    return explain(snap.topology, compiled.flows, now, src, dst, proto, port, snap.subscribers,
                   compiled.inspect, sni)


def utc(unix: float) -> str:
    """'2026-12-04 13:09:04.430Z': history's times, in UTC whatever the machine's zone."""
    when = dt.datetime.fromtimestamp(unix, dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _revision_text(r) -> str:
    head = f"r{r.id:<4} {utc(r.committed_at)}  {r.author or '-'}: {r.reason or '-'}"
    return "\n".join([head, *(f"      {line}" for line in _changes_text(r.changes))])


def _changes_text(changes) -> list[str]:
    """One line a change; an inventory load (thousands of subscribers) is one line in all."""
    if any(c.entity == "inventory" for c in changes):
        counts: dict[str, int] = {}
        for c in changes:
            counts[c.entity] = counts.get(c.entity, 0) + 1
        rest = ", ".join(f"{n} {e}{'s' if n != 1 else ''}" for e, n in counts.items()
                         if e != "inventory")
        return [f"inventory loaded{f': {rest}' if rest else ''}"]
    return [_change_text(c) for c in changes]


def _change_text(c) -> str:
    b = c.body or {}
    if c.entity == "policy":
        if c.op == "delete":
            return f"revoke policy #{c.key}"
        when = Schedule.from_body(b.get("schedule"))
        return (f"add policy #{c.key} {b.get('action')} {Target(**b['target'])} "
                f"for {Scope(**b['scope'])} priority {b.get('priority')}"
                + (f", {when}" if when else "") + (f": {b['reason']}" if b.get("reason") else ""))
    if c.op == "delete":
        return f"remove {c.entity} {c.key}"
    fields = ", ".join(f"{k} {v}" for k, v in b.items())
    return f"{c.entity} {c.key}: {fields}" if fields else f"{c.entity} {c.key}"


def revision_json(r) -> dict:
    return {"revision": r.id, "committed_at": utc(r.committed_at).replace(" ", "T"),
            "committed_wall": r.committed_at, "author": r.author, "reason": r.reason,
            "changes": [{"entity": c.entity, "key": c.key, "op": c.op, "body": c.body}
                        for c in r.changes]}


def enforcement_text(store, revision: int | None = None) -> str:
    rev = revision if revision is not None else store.revision()
    info = store.revision_info(rev)
    acks = sorted(store.acks(rev), key=lambda a: a.acked_at)
    if not acks:
        return f"revision {rev}: no switch has acknowledged it yet"
    names = {s.dpid: s.name for s in store.topology().switches}
    lines = [f"revision {rev} ({info.reason or 'no reason given'}), committed by "
             f"{info.author or '-'}; {len(acks)} acknowledgements:"]
    for a in acks:
        who = f"{names.get(a.dpid, '?')} (dpid {a.dpid:#x})"
        lines.append(f"  {who:<22} +{(a.acked_at - info.committed_at) * 1000:.1f} ms "
                     f"({a.flows_changed} flow changes){_ack_note(a)}")
    lines.append(f"  last switch: +{(acks[-1].acked_at - info.committed_at) * 1000:.1f} ms")
    return "\n".join(lines)


def _dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def policy_json(p) -> dict:
    return {"id": p.id, "action": p.action, "scope": str(p.scope), "target": str(p.target),
            "priority": p.priority, "author": p.author, "reason": p.reason,
            "schedule": p.schedule.to_body() if p.schedule else None}


def subscriber_json(topo, name: str, st) -> dict:
    """A subscriber as `subscriber list --json` and the API give it."""
    sub = topo.subscriber(name)
    return {"name": name, "class": sub.cls, "isp": sub.isp, "status": st.status,
            "standing": st.standing, "devices": sorted(st.devices)}


def enforcement_json(store, revision: int | None = None) -> dict:
    rev = revision if revision is not None else store.revision()
    info = store.revision_info(rev)
    names = {s.dpid: s.name for s in store.topology().switches}
    acks = sorted(store.acks(rev), key=lambda a: a.acked_at)
    return {"revision": rev, "committed_at": utc(info.committed_at).replace(" ", "T"),
            "author": info.author, "reason": info.reason,
            "acks": [{"switch": names.get(a.dpid), "dpid": a.dpid,
                      "ms": round((a.acked_at - info.committed_at) * 1000, 3),
                      "flows_changed": a.flows_changed, "refused": a.refused or None,
                      "note": a.note or None} for a in acks]}


def _ack_note(a) -> str:
    """The note after an acknowledgement's line; a refusal reads "failed: why"."""
    note = "; ".join(x for x in (a.note, a.refused and f"failed: {a.refused}") if x)
    return f"  {note}" if note else ""
