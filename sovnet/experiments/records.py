"""Measurement records: an agent's result line + who, what and when -> one Measurement. Pure.

The envelope carries OONI's field names (df-000), so OONI tooling can read the lines, plus
sovnet's own keys at top level (see results/README.md). The record is parsed into the typed
model the readers use (sovnet.results) as it is made, so what the runner keeps in memory and
checks its expectations against is what a reader of the folder gets.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

from sovnet.experiments import ooni
from sovnet.results import TEST_NAMES, Measurement, RecordError

TEST_VERSION = "0.4.3-sovnet"
SOFTWARE_VERSION = "0.2.0"
ASN_BASE = 64512  # private-use ASNs, one per ISP in topology order


@dataclass(frozen=True)
class Context:
    """What the runner knows about a measurement besides the agent's line."""

    scenario: str
    round: int
    subscriber: str
    cls: str
    isp: str
    isp_kind: str  # fixed | mobile | transit
    asn: int
    probe_ip: str
    resolver_ip: str
    service: str
    category: str
    locus: str
    input: str  # the URL or address measured
    t_real: float
    t_scenario: float
    t_scenario_end: float  # when the measurement ended: a blocked one waits for timeouts
    store_revision: int
    phase: str
    # The scenario's calendar: the Unix time of its t=0 (None: date by the wall clock), and
    # what the run says it is.
    calendar_t0: float | None = None
    probe_cc: str = "ZZ"
    run_id: str = ""  # the run folder's name: one OONI report per run, vantage and test
    control: str = ""  # the host the test helper's measurements come from


def ooni_time(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall))


def report_id(ctx: Context, test_name: str) -> str:
    """OONI's report_id form, YYYYMMDDThhmmssZ_<test>_<CC>_<ASN>_n1_<16 characters>: one report
    per run, vantage point and test, as one probe's session makes one per test."""
    start = ctx.calendar_t0 if ctx.calendar_t0 is not None else time.time()
    tail = hashlib.sha256(f"{ctx.run_id}|{ctx.subscriber}|{test_name}".encode()).hexdigest()
    return (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start))
            + f"_{test_name.replace('_', '')}_{ctx.probe_cc}_{ctx.asn}_n1_{tail[:16]}")


def record(ctx: Context, kind: str, line: dict, control: dict | None = None,
           wall: float | None = None) -> Measurement:
    """One measurements.jsonl object, as the model. A line carrying "error" becomes a probe
    error with its raw output and empty test keys; it is never turned into a success or a
    failure. Nor is a line whose observation the model cannot read: that is a probe error too,
    with the line as its raw output."""
    obj = _record(ctx, kind, line, control, wall)
    try:
        m = Measurement.parse(obj, f"{ctx.subscriber} -> {ctx.service}")
    except RecordError as e:
        bad = {"error": f"unreadable result ({e})", "raw": json.dumps(line)[:4000],
               "t0_wall": line.get("t0_wall"), "runtime": line.get("runtime")}
        m = Measurement.parse(_record(ctx, kind, bad, None, wall), "probe error")
    assert m is not None  # every kind the runner writes is one the model knows
    return m


def _record(ctx: Context, kind: str, line: dict, control: dict | None,
            wall: float | None) -> dict:
    error = line.get("error")
    if error:
        keys: dict = {}
    elif kind == "web":
        keys = ooni.classify(line.get("observation") or {}, control)
    else:
        keys = dict(line.get("observation") or {})
    start = line.get("t0_wall")
    if start is None:
        start = wall if wall is not None else time.time()
    test_name = TEST_NAMES[kind]
    dated = start if ctx.calendar_t0 is None else ctx.calendar_t0 + ctx.t_scenario
    return {
        "test_name": test_name,
        "test_version": TEST_VERSION,
        "report_id": report_id(ctx, test_name),
        "test_start_time": ooni_time(ctx.calendar_t0 if ctx.calendar_t0 is not None
                                     else start),
        "measurement_start_time": ooni_time(dated),
        "x_wall_time": ooni_time(start),
        "test_runtime": float(line.get("runtime") or 0.0),
        "input": ctx.input,
        "probe_cc": ctx.probe_cc,
        "probe_asn": f"AS{ctx.asn}",
        "probe_network_name": ctx.isp,
        "probe_ip": ctx.probe_ip,
        "resolver_ip": ctx.resolver_ip,
        "resolver_asn": f"AS{ctx.asn}",  # the subscriber's own ISP's resolver
        "resolver_network_name": ctx.isp,
        "test_helpers": ({"backend": {"address": f"sovnet://{ctx.control}", "type": "sovnet"}}
                         if kind == "web" else {}),
        "software_name": "sovnet",
        "software_version": SOFTWARE_VERSION,
        "data_format_version": "0.2.0",
        "annotations": {
            "network_type": "mobile" if ctx.isp_kind == "mobile" else "fixed",
            "platform": "linux",
            "scenario_id": ctx.scenario,
            "subscriber_class": ctx.cls,
            "policy_version": str(ctx.store_revision),
            "emulated_isp": ctx.isp,
        },
        "test_keys": keys,
        "round": ctx.round,
        "subscriber": ctx.subscriber,
        "class": ctx.cls,
        "isp": ctx.isp,
        "service": ctx.service,
        "category": ctx.category,
        "locus": ctx.locus,
        "t_real": round(ctx.t_real, 4),
        "t_scenario": round(ctx.t_scenario, 1),
        "t_scenario_end": round(ctx.t_scenario_end, 1),
        "store_revision": ctx.store_revision,
        "phase": ctx.phase,
        "probe_error": error or None,
        "raw_output": line.get("raw") if error else None,
    }
