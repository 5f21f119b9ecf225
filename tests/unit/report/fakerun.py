"""A synthetic, deterministic run folder in the format of results/README.md.

topologies/minimal.yaml over 12 emulated hours (time scale 2400: 18 real seconds):
    normal 0-4 h | cutoff 4-9 h (international traffic dropped) | restored 9-12 h
Vantage points: alice (fixed_home), erin and bob (mobile_prepaid; bob has no registered device,
so nothing works for him). During the cutoff the domestic bank still loads but is not usable,
because its scripts come from the foreign CDN. Web rounds every 30 emulated minutes.
With `failed_transfers`, erin's throughput transfers in every other round of the cutoff fail.
With `every_kind` (for the measurement explorer): web records carry what the probe saw and the
control beside it, as OONI's test keys do, alice and erin also run the stream and HTTP/3 probes,
and erin's one probe error says hostile markup (HOSTILE).

Every line is written through the results model (sovnet.results), as the runner writes them:
a synthetic record the model cannot read fails here, not in a report test.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from sovnet.config import load_topology
from sovnet.results import Measurement, StepEvent

ROOT = Path(__file__).resolve().parents[3]
TOPOLOGY = ROOT / "topologies" / "minimal.yaml"
SCALE = 2400.0
DURATION = 12 * 3600.0
CUT, RESTORE = 4 * 3600.0, 9 * 3600.0
EVERY = 1800.0
GAP = 0.02  # real seconds between two measurements of one round
VANTAGE = [("alice", "fixed_home", "fixnet"), ("erin", "mobile_prepaid", "mobinet"),
           ("bob", "mobile_prepaid", "mobinet")]
SERVICES = [("bank", "BANK", "domestic"), ("gov", "GOVT", "domestic"),
            ("health", "HEALTH", "domestic"), ("social", "GRP", "foreign"),
            ("news", "NEWS", "foreign"), ("cdn", "CDN", "foreign")]
FOREIGN = {"social", "news", "cdn"}
SWITCHES = ["acc1", "acc2", "core1", "core2", "dc1", "gw1", "inet1"]
T0_WALL = 1764064800.0
HOSTILE = '</script><img src=x onerror="window.pwned=1"><!--'
CALENDAR_T0 = 1764028800.0  # t=0 is 25 Nov 2025 00:00 UTC in the scenario's calendar


def step_events() -> list[dict[str, Any]]:
    def step(index, phase, label, at, revision, allowed, actions, rng):
        t_real = at / SCALE + 0.0004
        ev = {"type": "step", "index": index, "phase": phase, "label": label, "at_s": at,
              "t_scenario": t_real * SCALE, "t_real": t_real, "actions": actions,
              "revision": revision, "refused": {}, "effect": []}
        if revision is None:
            return ev | {"committed_wall": None, "t_commit": None, "acks": {}, "t_enforced": None}
        t_commit = t_real + 0.0008
        acks = {sw: round(t_commit + rng.uniform(0.012, 0.045), 6) for sw in SWITCHES}
        effect = [[v, s, allowed] for v, _, _ in VANTAGE[:2] for s, _, _ in SERVICES
                  if s in FOREIGN]
        return ev | {"committed_wall": T0_WALL + t_commit, "t_commit": t_commit, "acks": acks,
                     "t_enforced": max(acks.values()), "effect": effect}

    rng = random.Random(7)
    return [step(0, "normal", "normal operation", 0.0, None, True, [], rng),
            step(1, "cutoff", "international cutoff, essential services whitelisted", CUT, 2,
                 False, ["deny international for all (priority 100) as cutoff",
                         "load essential-services"], rng),
            step(2, "restored", "restore: revoke every policy", RESTORE, 3, True,
                 ["restore: revoke every policy, reset subscribers"], rng)]


POLICIES = [  # what step 1 orders (revision 2); step 2 revokes them all (revision 3)
    {"action": "deny", "scope": {"kind": "all", "value": ""},
     "target": {"kind": "international", "value": ""}, "priority": 100,
     "reason": "national order 7"},
    {"action": "allow", "scope": {"kind": "all", "value": ""},
     "target": {"kind": "category", "value": "BANK"}, "priority": 200,
     "reason": "essential services"},
]


def revisions() -> list[dict[str, Any]]:
    """revisions.jsonl as sovnet.store.orders writes it, matching step_events()."""
    out = []
    for s in step_events():
        if s["revision"] is None:
            continue
        if s["revision"] == 2:
            changes = [{"entity": "policy", "key": str(i), "op": "put",
                        "body": p | {"author": "scenario:synthetic"}}
                       for i, p in enumerate(POLICIES, 1)]
        else:
            changes = [{"entity": "policy", "key": str(i), "op": "delete", "body": {}}
                       for i in range(1, len(POLICIES) + 1)]
        out.append({"revision": s["revision"], "committed_wall": s["committed_wall"],
                    "t_real": s["t_commit"], "t_scenario": s["t_commit"] * SCALE,
                    "author": "scenario:synthetic", "reason": s["label"], "changes": changes,
                    "acks": {sw: {"wall": T0_WALL + t, "flows_changed": 3}
                             for sw, t in s["acks"].items()}})
    return out


def _envelope(test_name: str, vp: tuple[str, str, str], t_real: float, rnd: int,
              keys: dict[str, Any], inp: str | None, revision: int) -> dict[str, Any]:
    sub, cls, isp = vp
    t_s = t_real * SCALE
    phase = "normal" if t_s < CUT else "cutoff" if t_s < RESTORE else "restored"
    return {
        "test_name": test_name, "test_version": "0.4.3-sovnet",
        "measurement_start_time": "2026-11-25 10:00:12", "test_runtime": 0.012, "input": inp,
        "probe_cc": "ZZ", "probe_asn": "AS64512", "probe_network_name": isp,
        "probe_ip": "10.1.0.2", "resolver_ip": "10.1.255.1", "software_name": "sovnet",
        "software_version": "0.2.0", "data_format_version": "0.2.0",
        "annotations": {"network_type": "fixed" if isp == "fixnet" else "mobile",
                        "platform": "linux", "scenario_id": "synthetic",
                        "subscriber_class": cls, "policy_version": str(revision),
                        "emulated_isp": isp},
        "test_keys": keys, "round": rnd, "subscriber": sub, "class": cls, "isp": isp,
        "t_real": round(t_real, 6), "t_scenario": round(t_s, 3), "store_revision": revision,
        "phase": phase, "probe_error": None, "raw_output": None,
    }


def _web_keys(blocking: Any, accessible: bool | None, complete: bool) -> dict[str, Any]:
    return {"client_resolver": "10.1.255.1", "queries": [], "tcp_connect": [], "requests": [],
            "dns_experiment_failure": "dns_nxdomain_error" if blocking == "dns" else None,
            "http_experiment_failure": "generic_timeout_error" if blocking == "tcp_ip" else None,
            "control_failure": None, "control": {}, "dns_consistency": "consistent",
            "blocking": blocking, "accessible": accessible, "x_blocking_flags": 0,
            "x_sovnet_page": {"resources": [], "complete": complete},
            "x_sovnet_usable": bool(accessible and complete)}


def _observed(svc: str, keys: dict[str, Any]) -> dict[str, Any]:
    """What a web probe saw and its control, consistent with the keys' verdict."""
    ip = f"10.9.0.{SERVICES.index(next(s for s in SERVICES if s[0] == svc)) + 1}"
    blocking = keys["blocking"]
    dns_ok, tcp_ok = blocking != "dns", blocking not in ("dns", "tcp_ip")
    ok = blocking is False
    body = {"code": 200, "headers": {"Server": f"sovnet-httpd/{svc}"}, "body_length": 300,
            "title": svc}
    return {
        "queries": [{"engine": "udp", "resolver_address": "10.1.255.1:53", "hostname": svc,
                     "query_type": "A",
                     "answers": [{"answer_type": "A", "ipv4": ip}] if dns_ok else [],
                     "failure": None if dns_ok else "dns_nxdomain_error", "rcode": 0,
                     "t0": 0.0, "t": 0.002}],
        "tcp_connect": [{"ip": ip, "port": 80, "status": {
            "success": tcp_ok, "failure": None if tcp_ok else "generic_timeout_error",
            "blocked": not tcp_ok}, "t0": 0.002, "t": 0.003}] if dns_ok else [],
        "requests": [{"request": {"url": f"http://{svc}/", "method": "GET",
                                  "headers": {"Host": svc}},
                      "response": body if ok else {"code": 403, "headers": {},
                                                   "body_length": 12, "title": "blocked"},
                      "failure": None, "t0": 0.003, "t": 0.01}] if tcp_ok else [],
        "control": {"dns": {"addrs": [ip], "failure": None},
                    "tcp_connect": {f"{ip}:80": {"status": True, "failure": None}},
                    "http_request": {"body_length": 300, "failure": None, "title": svc,
                                     "headers": body["headers"], "status_code": 200}},
    }


def _other_kinds(vp: tuple[str, str, str], t: float, rnd: int) -> list[dict[str, Any]]:
    """A short stream to the gov service and an HTTP/3 fetch of social, as the probes write
    them."""
    replies = [[i, round(i / 100, 4), round(i / 100 + 0.0008, 4)] for i in range(20)]
    stream = _envelope("sovnet_stream", vp, t, rnd, {
        "ip": "10.9.0.2", "rate": 100.0, "window_s": 0.2, "start_wall": T0_WALL + t,
        "sent": 20, "received": 20, "replies": replies, "icmp_errors": 0, "failure": None},
        "10.9.0.2", 1) | {"service": "gov", "category": "GOVT", "locus": "domestic"}
    cut = CUT <= t * SCALE < RESTORE
    http3 = _envelope("sovnet_http3", vp, t + GAP / 4, rnd, {
        "queries": [], "quic_handshakes": [], "requests": [],
        "http_experiment_failure": "generic_timeout_error" if cut else None,
        "accessible": not cut}, "https://social/", 1) | {
        "service": "social", "category": "GRP", "locus": "foreign"}
    return [stream, http3]


def measurements(end_s: float, throughput: bool = True, failed_transfers: bool = False,
                 every_kind: bool = False) -> list[dict[str, Any]]:
    rng = random.Random(1)
    steps = [s for s in step_events() if s["revision"] is not None]
    out = []
    for rnd in range(int(DURATION // EVERY)):
        start = rnd * EVERY / SCALE + 0.1
        if start * SCALE > end_s:
            break
        k = 0
        for vp in VANTAGE:
            for svc, cat, locus in SERVICES:
                t = start + k * GAP
                k += 1
                done = [s for s in steps if s["t_enforced"] <= t]
                rev = max([1] + [s["revision"] for s in steps if s["t_commit"] <= t])
                cut = bool(done) and done[-1]["index"] == 1
                if vp[0] == "bob":  # no registered device: cannot even reach the resolver
                    keys = _web_keys("dns", False, False)
                elif cut and svc in FOREIGN:
                    verdict = "http-failure" if vp[0] == "erin" and svc == "news" else "tcp_ip"
                    keys = _web_keys(None if rng.random() < 0.1 else verdict, False, False)
                elif rng.random() < 0.015:
                    keys = _web_keys("http-diff", False, False)
                else:
                    keys = _web_keys(False, True, not (cut and svc == "bank"))
                if every_kind:
                    keys |= _observed(svc, keys)
                m = _envelope("web_connectivity", vp, t, rnd, keys, f"http://{svc}/", rev)
                m |= {"service": svc, "category": cat, "locus": locus}
                if rnd == 5 and vp[0] == "erin" and svc == "gov":
                    m |= {"test_keys": {}, "probe_error": "curl exited 7", "raw_output": ""}
                    if every_kind:
                        m |= {"probe_error": f"curl exited 7: {HOSTILE}", "raw_output": HOSTILE}
                out.append(m)
        for i, vp in enumerate(VANTAGE[:2]):
            t = start + (k + i) * GAP
            mobile_cut = vp[1] == "mobile_prepaid" and CUT <= t * SCALE < RESTORE
            base = 85000.0 if vp[1] == "fixed_home" else 2000.0 if mobile_cut else 18000.0
            kbps = round(base * rng.uniform(0.85, 1.1), 1)
            keys = {"url": "http://bank.sov/blob", "bytes": 2_000_000,
                    "seconds": round(16000 / kbps, 3), "throughput_kbps": kbps, "failure": None}
            if failed_transfers and vp[0] == "erin" and mobile_cut and rnd % 2:
                keys |= {"seconds": None, "throughput_kbps": None,
                         "failure": "generic_timeout_error"}
            if throughput:
                out.append(_envelope("sovnet_throughput", vp, t, rnd, keys,
                                     "http://bank.sov/blob", 1)
                           | {"service": "bank", "category": "BANK", "locus": "domestic"})
            out.append(_envelope("sovnet_latency", vp, t + GAP / 2, rnd, {
                "ip": "10.9.0.1", "sent": 3, "received": 3, "rtt_min_ms": 1.1,
                "rtt_avg_ms": round(rng.uniform(1.5, 4.0), 2), "rtt_max_ms": 5.0,
                "failure": None}, None, 1))
            if every_kind:
                out += _other_kinds(vp, t + GAP / 2 + GAP / 4, rnd)
    return sorted(out, key=lambda m: m["t_real"])


def expectations(web: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def observe(name, frm, to, during, metric, op, threshold, pick, value):
        ms = [m for m in web if pick(m) and during[0] <= m["t_scenario"] <= during[1]
              and m["probe_error"] is None]
        obs = sum(value(m) for m in ms) / len(ms) if ms else None
        ok = obs is not None and (obs >= threshold if op == ">=" else obs <= threshold)
        return {"name": name, "from": frm, "during": list(during), "to": to, "metric": metric,
                "op": op, "threshold": threshold, "observed": obs, "n": len(ms), "pass": ok,
                "note": ""}

    during = (CUT + EVERY, RESTORE)
    return [
        observe("essential services survive the cutoff", "class:fixed_home",
                "category:BANK|GOVT|HEALTH, locus:domestic", during, "accessible", ">=", 0.95,
                lambda m: m["class"] == "fixed_home" and m["locus"] == "domestic",
                lambda m: m["test_keys"]["accessible"] is True),
        observe("foreign services are blocked for registered subscribers", "subscriber:alice",
                "locus:foreign", during, "accessible", "<=", 0.05,
                lambda m: m["subscriber"] == "alice" and m["locus"] == "foreign",
                lambda m: m["test_keys"]["accessible"] is True),
        observe("the bank stays usable during the cutoff", "class:fixed_home", "service:bank",
                during, "usable", ">=", 0.95,
                lambda m: m["class"] == "fixed_home" and m["service"] == "bank",
                lambda m: m["test_keys"]["x_sovnet_usable"] is True),
    ]


def _jsonl(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")


def _checked(ms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as the model reads them and writes them back (the runner's path)."""
    out = []
    for i, obj in enumerate(ms):
        m = Measurement.parse(obj, f"fakerun measurement {i}")
        assert m is not None, obj["test_name"]
        out.append(m.to_json())
    return out


def make_run(folder: Path, *, status: str = "complete", throughput: bool = True,
             failed_transfers: bool = False, every_kind: bool = False) -> Path:
    """Write a run folder; status "incomplete" stops it (Ctrl-C) at 7 h, before step 2."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("inputs", "flows", "logs", "plots"):
        (folder / sub).mkdir(exist_ok=True)
    complete = status == "complete"
    end_s = DURATION if complete else 7 * 3600.0
    topo = load_topology(str(TOPOLOGY))
    (folder / "topology.json").write_text(json.dumps(topo.to_dict(), indent=1))
    scenario_text = "name: synthetic\ntopology: ../topologies/minimal.yaml\n"
    (folder / "inputs" / "synthetic.yaml").write_text(scenario_text)
    (folder / "logs" / "controller.log").write_text("")
    ms = _checked(measurements(end_s, throughput, failed_transfers, every_kind))
    steps = [s for s in step_events() if s["t_scenario"] <= end_s]
    for s in steps:
        StepEvent.parse(s, f"fakerun step {s['index']}")
    rounds = sorted({(m["test_name"], m["round"]) for m in ms})
    events = [{"type": "run_start", "t_real": 0.0, "t_scenario": 0.0, "wall": T0_WALL}]
    events += [{"type": "probe_round", "kind": kind, "round": r, "t_real": r * EVERY / SCALE,
                "t_scenario": r * EVERY, "vantage_points": 3} for kind, r in rounds]
    events += steps
    if complete:
        events.append({"type": "run_end", "t_real": DURATION / SCALE, "t_scenario": DURATION,
                       "wall": T0_WALL + DURATION / SCALE, "status": status})
    _jsonl(folder / "events.jsonl", sorted(events, key=lambda e: e["t_real"]))
    _jsonl(folder / "revisions.jsonl",
           [r for r in revisions() if r["t_scenario"] <= end_s])
    _jsonl(folder / "measurements.jsonl", ms)
    web = [m for m in ms if m["test_name"] == "web_connectivity"]
    xs = expectations(web) if complete else None
    if xs is not None:
        (folder / "expectations.json").write_text(json.dumps(xs, indent=1))
    manifest = {
        "format": "sovnet-run/1", "scenario": "synthetic-cutoff",
        "title": "International cutoff with an essential-services whitelist",
        "description": "Four hours of normal traffic, five hours with every foreign service "
                       "dropped except what the whitelist allows, then a restore.",
        "status": status, "reason": None if complete else "interrupted (Ctrl-C)",
        "exit_code": (0 if all(x["pass"] for x in xs) else 1) if xs is not None else 130,
        "started_at": "2026-11-25T10:00:00Z",
        "finished_at": "2026-11-25T10:00:18Z" if complete else "2026-11-25T10:00:10Z",
        "wall_seconds": 31.4 if complete else 14.2, "t0_wall": T0_WALL, "time_scale": SCALE,
        "duration_s": DURATION, "seed": 1, "topology": "minimal", "control": "cdn",
        "calendar_t0": CALENDAR_T0,
        "phases": [{"name": "normal", "start_s": 0, "end_s": CUT},
                   {"name": "cutoff", "start_s": CUT, "end_s": RESTORE},
                   {"name": "restored", "start_s": RESTORE, "end_s": DURATION}],
        "vantage_points": [{"subscriber": s, "class": c, "isp": i} for s, c, i in VANTAGE],
        "inputs": [{"role": "scenario", "path": "experiments/synthetic.yaml",
                    "copy": "inputs/synthetic.yaml",
                    "sha256": hashlib.sha256(scenario_text.encode()).hexdigest()}],
        "versions": {"sovnet": "0.2.0", "python": "3.11.2", "os_ken": "4.2.2",
                     "mininet": "2.3.0", "openvswitch": "3.1.0", "matplotlib": "3.11.2"},
        "datapath": "user", "kernel": "6.1.0-test", "hostname": "testbed",
        "git": {"commit": "5165707aabbccddeeff00112233445566778899", "dirty": False},
        "counts": {"measurements": len(ms),
                   "probe_errors": sum(m["probe_error"] is not None for m in ms),
                   "changes": sum(s["revision"] is not None for s in steps)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder
