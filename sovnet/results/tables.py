"""A run folder as tables, for notebooks: `load_tables(folder)` -> RunTables. Pure apart from
the file reads.

    measurements   one row per measurements.jsonl line of a kind this version knows
    events         one row per events.jsonl entry, of any type
    acks           one row per (timeline step, switch): its acknowledgement or refusal
    signals        one row per (series, time step) of ioda.json and dns.json
    expectations   one row per expectations.json item

Each table is a pandas DataFrame when pandas is installed (`as_frames=None`, the default, or
True), else a list of dicts, one per row, every dict with every column (`as_frames=False`, or
pandas missing). Columns holding whole numbers or true/false with gaps are pandas' nullable
Int64 and boolean, so `.mean()` of `accessible` skips the measurements that have none, as the
report does. Every value is read through the results model (Measurement, StepEvent,
StreamEffect, ExpectationResult): a table and the report cannot differ on what a field means.
pandas is imported when a table is built, never when sovnet is. results/README.md ("Analysing
a run in Python") lists the columns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sovnet.results.events import StepEvent, StreamEffect
from sovnet.results.expectations import ExpectationResult
from sovnet.results.files import (
    RecordError,
    num,
    opt_num,
    opt_str,
    read_json,
    read_jsonl,
    read_manifest,
)
from sovnet.results.measurement import (
    Http3Keys,
    LatencyKeys,
    Measurement,
    StreamKeys,
    ThroughputKeys,
    WebKeys,
    read_measurements,
)

SIGNAL_FILES = ("ioda.json", "dns.json")

# (column, pandas dtype or "" for pandas' own choice), in table order
MEASUREMENT_COLUMNS = (
    ("t_real", "float64"), ("t_scenario", "float64"), ("t_scenario_end", "float64"),
    ("round", "Int64"),
    ("kind", ""), ("test_name", ""), ("subscriber", ""), ("class", ""), ("isp", ""),
    ("service", ""), ("category", ""), ("locus", ""), ("phase", ""), ("input", ""),
    ("store_revision", "Int64"), ("measurement_start_time", ""), ("probe_error", ""),
    ("accessible", "boolean"), ("usable", "boolean"), ("blocking", ""), ("failure", ""),
    ("value", "float64"), ("transfer_failed", "boolean"), ("sent", "Int64"),
    ("received", "Int64"))
EVENT_COLUMNS = (
    ("type", ""), ("t_real", "float64"), ("t_scenario", "float64"), ("index", "Int64"),
    ("label", ""), ("phase", ""), ("at_s", "float64"), ("revision", "Int64"),
    ("t_commit", "float64"), ("t_enforced", "float64"), ("kind", ""), ("round", "Int64"),
    ("subscriber", ""), ("service", ""), ("allowed", "boolean"), ("delay_ms", "float64"))
ACK_COLUMNS = (
    ("step", "Int64"), ("phase", ""), ("revision", "Int64"), ("switch", ""), ("isp", ""),
    ("role", ""), ("t_commit", "float64"), ("t_ack", "float64"),
    ("ms_after_commit", "float64"), ("refused", ""))
SIGNAL_COLUMNS = (
    ("entityType", ""), ("entityCode", ""), ("entityName", ""), ("datasource", ""),
    ("t", "float64"), ("t_scenario", "float64"), ("value", "float64"))
EXPECTATION_COLUMNS = (
    ("name", ""), ("from", ""), ("to", ""), ("during_start", "float64"),
    ("during_end", "float64"), ("metric", ""), ("op", ""), ("threshold", "float64"),
    ("observed", "float64"), ("n", "Int64"), ("pass", "boolean"), ("note", ""))


@dataclass
class RunTables:
    """A run folder's records as tables: DataFrames, or lists of dicts (see the module)."""

    folder: str
    manifest: dict[str, Any]
    measurements: Any
    events: Any
    acks: Any
    signals: Any
    expectations: Any
    notes: list[str] = field(default_factory=list)  # e.g. a torn last line left out


def load_tables(folder: str | os.PathLike[str], as_frames: bool | None = None) -> RunTables:
    """Read a run folder (results/README.md) into tables. `as_frames`: None, DataFrames when
    pandas is importable, else lists of dicts; True, DataFrames (ImportError without pandas);
    False, lists of dicts. A malformed file or record is a RecordError `file:line: what`."""
    label = os.fspath(folder)
    manifest = read_manifest(label)
    notes: list[str] = []
    torn = notes if manifest.get("status") != "complete" else None  # an interrupted run
    pd = _pandas(as_frames)

    measurements = [_measurement(m) for m in
                    read_measurements(os.path.join(label, "measurements.jsonl"), torn)]
    switches = _switches(os.path.join(label, "topology.json"))
    events, acks = [], []
    epath = os.path.join(label, "events.jsonl")
    for n, e in read_jsonl(epath, torn):
        row, step_acks = _event(e, f"{epath}:{n}", switches)
        events.append(row)
        acks += step_acks
    signals = []
    for name in SIGNAL_FILES:
        path = os.path.join(label, name)
        if os.path.exists(path):  # older folders have neither, some only ioda.json
            signals += _signals(path)
    xpath = os.path.join(label, "expectations.json")
    expectations = _expectations(xpath) if os.path.exists(xpath) else []

    def table(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> Any:
        return rows if pd is None else _frame(pd, rows, columns)

    return RunTables(folder=label, manifest=manifest,
                     measurements=table(measurements, MEASUREMENT_COLUMNS),
                     events=table(events, EVENT_COLUMNS), acks=table(acks, ACK_COLUMNS),
                     signals=table(signals, SIGNAL_COLUMNS),
                     expectations=table(expectations, EXPECTATION_COLUMNS), notes=notes)


def _pandas(as_frames: bool | None) -> Any:
    if as_frames is False:
        return None
    try:
        import pandas
    except ImportError:
        if as_frames:
            raise ImportError("load_tables(as_frames=True) needs pandas: pip install pandas "
                              "(or leave as_frames out to get lists of dicts)") from None
        return None
    return pandas


def _frame(pd: Any, rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> Any:
    df = pd.DataFrame.from_records(rows, columns=[c for c, _ in columns])
    return df.astype({c: t for c, t in columns if t})


def _measurement(m: Measurement) -> dict[str, Any]:
    k = m.keys
    raw = m.raw
    test_keys = raw.get("test_keys")
    failure = (k.failure if isinstance(k, (WebKeys, ThroughputKeys, Http3Keys))
               else opt_str(test_keys.get("failure")) if isinstance(test_keys, dict) else None)
    rev = raw.get("store_revision")
    return {
        "t_real": m.t_real, "t_scenario": m.t_scenario, "t_scenario_end": m.t_scenario_end,
        "round": m.round, "kind": m.kind, "test_name": m.test_name, "subscriber": m.subscriber,
        "class": m.cls, "isp": opt_str(raw.get("isp")), "service": m.service,
        "category": m.category, "locus": m.locus, "phase": m.phase,
        "input": opt_str(raw.get("input")),
        "store_revision": rev if isinstance(rev, int) and not isinstance(rev, bool) else None,
        "measurement_start_time": opt_str(raw.get("measurement_start_time")),
        "probe_error": m.probe_error,
        "accessible": k.accessible if isinstance(k, (WebKeys, Http3Keys)) else None,
        "usable": k.usable if isinstance(k, WebKeys) else None,
        "blocking": k.verdict if isinstance(k, WebKeys) else None,
        "failure": failure, "value": m.value,
        "transfer_failed": m.transfer_failed if isinstance(k, ThroughputKeys) else None,
        "sent": k.sent if isinstance(k, (LatencyKeys, StreamKeys)) else None,
        "received": k.received if isinstance(k, (LatencyKeys, StreamKeys)) else None,
    }


def _switches(path: str) -> dict[str, dict[str, Any]]:
    """switch -> its entry in topology.json (isp, role); {} without the file."""
    if not os.path.exists(path):
        return {}
    topo = read_json(path)
    items = topo.get("switches") if isinstance(topo, dict) else None
    if not isinstance(items, list):
        raise RecordError(f"{path}: expected an object with a 'switches' list")
    return {str(s["name"]): s for s in items if isinstance(s, dict) and "name" in s}


def _event(e: dict[str, Any], where: str, switches: dict[str, dict[str, Any]]
           ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An events.jsonl entry's row, and for a step, its acks' rows."""
    kind = e.get("type")
    row: dict[str, Any] = {c: None for c, _ in EVENT_COLUMNS}
    row |= {"type": opt_str(kind), "t_real": opt_num(e.get("t_real")),
            "t_scenario": opt_num(e.get("t_scenario"))}
    if kind == "step":
        s = StepEvent.parse(e, where)
        row |= {"index": s.index, "label": s.label, "phase": s.phase, "at_s": s.at_s,
                "revision": s.revision, "t_commit": s.t_commit, "t_enforced": s.t_enforced}
        return row, _acks(s, switches)
    if kind == "stream_effect":
        x = StreamEffect.parse(e, where)
        row |= {"index": x.step, "at_s": x.at_s, "t_commit": x.t_commit,
                "subscriber": x.subscriber, "service": x.service, "allowed": x.allowed,
                "delay_ms": x.delay_ms}
    elif kind == "route_effect":
        seen = opt_num(e.get("withdrawal_seen_s"))
        row |= {"index": int(num(e, "step", where)),
                "delay_ms": None if seen is None else seen * 1000.0}
    elif kind == "probe_round":
        rnd = opt_num(e.get("round"))
        row |= {"kind": opt_str(e.get("kind")), "round": None if rnd is None else int(rnd)}
    return row, []


def _acks(s: StepEvent, switches: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for sw in sorted(s.acks.keys() | s.refused.keys(),
                     key=lambda w: (w not in s.acks, s.acks.get(w, 0.0), w)):
        t_ack = s.acks.get(sw)
        info = switches.get(sw, {})
        rows.append({
            "step": s.index, "phase": s.phase, "revision": s.revision, "switch": sw,
            "isp": opt_str(info.get("isp")) or None, "role": opt_str(info.get("role")),
            "t_commit": s.t_commit, "t_ack": t_ack,
            "ms_after_commit": (None if t_ack is None or s.t_commit is None  # to the us
                                else round((t_ack - s.t_commit) * 1000.0, 3)),
            "refused": s.refused.get(sw)})
    return rows


def _signals(path: str) -> list[dict[str, Any]]:
    """IODA's shape: {"data": [[series], ...]}, each series sampled at from + k * step."""
    doc = read_json(path)
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, list):
        raise RecordError(f"{path}: expected {{\"type\": \"signals\", \"data\": [[series], ...]}}")
    rows = []
    for i, group in enumerate(data):
        if not isinstance(group, list):
            raise RecordError(f"{path}: data[{i}]: expected a list of series")
        for j, s in enumerate(group):
            where = f"{path}: data[{i}][{j}]"
            if not isinstance(s, dict):
                raise RecordError(f"{where}: expected a series object")
            start, step = num(s, "from", where), num(s, "step", where)
            values = s.get("values")
            if not isinstance(values, list):
                raise RecordError(f"{where}: 'values' must be a list")
            head = {key: str(s.get(key) or "")
                    for key in ("entityType", "entityCode", "entityName", "datasource")}
            rows += [head | {"t": start + k * step, "t_scenario": k * step,
                             "value": opt_num(v)} for k, v in enumerate(values)]
    return rows


def _expectations(path: str) -> list[dict[str, Any]]:
    items = read_json(path)
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise RecordError(f"{path}: expected a list of objects")
    rows = []
    for x in map(ExpectationResult.parse, items):
        rows.append({"name": x.name, "from": x.scope, "to": x.to,
                     "during_start": x.during[0] if x.during else None,
                     "during_end": x.during[1] if x.during else None,
                     "metric": x.metric, "op": x.op, "threshold": x.threshold,
                     "observed": x.observed, "n": x.n, "pass": x.passed, "note": x.note})
    return rows
