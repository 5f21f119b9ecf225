"""The explorer's data: every measurement of a run as a compact columnar index, and the raw
lines of measurements.jsonl in gzip chunks. No HTML here (explorer.py writes it); pure apart
from read_records, which reads the file.

    read_records(path) -> Record...       each line of measurements.jsonl with its model
    fields(m) -> {column: text}           what the table shows of one measurement
    build(records) -> Data                the index (a JSON-ready dict) and the gzip chunks

The index is sized for 100,000 measurements: each text column is dictionary-encoded (a list
of distinct values and one small integer per row), scenario times are deltas in tenths of a
second and dates offsets from the scenario time, so gzip leaves a few bytes a row of it (3 in
a real run). A raw web record is ~2.6 KB of JSON, of which gzip leaves ~100 bytes once records
like it share a chunk: the page carries records in chunks of CHUNK lines and the browser
inflates a chunk only when one of its rows is opened.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sovnet.results import Http3Keys, Measurement, WebKeys

# Lines per gzip chunk: ~65 KB of base64 for web records, and a record opens in ~10 ms; 1,000
# would save 1.5 % of the page.
CHUNK = 500
# The table's text columns, in the index's order. `input` is not a column of its own: the
# service cell shows it on hover and the free-text search reads it.
COLUMNS = ("vantage", "isp", "class", "service", "input", "test", "blocking", "accessible",
           "failure", "phase")
_GZIP_LEVEL = 9  # 7 % smaller than 6 on real records; ~1 s more for 100,000 of them


@dataclass(frozen=True)
class Record:
    line: int  # its line number in measurements.jsonl
    text: str  # the line as on disk, without its newline
    m: Measurement


@dataclass(frozen=True)
class Data:
    index: dict[str, Any]  # JSON-ready; see build
    chunks: list[bytes]  # gzip of CHUNK lines joined by "\n", in file order

    @property
    def n(self) -> int:
        return int(self.index["n"])


def read_records(path: str | Path) -> Iterator[Record]:
    """Each measurement of measurements.jsonl, in file order, one line at a time (a 100,000-line
    file is 260 MB: it is never held whole). Kinds this version does not know are left out, as
    the rest of the report leaves them out."""
    where = str(path)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.rstrip("\n")
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                # load_run has read the file before any section is written, and raised for
                # any such line but an interrupted run's cut-off last one, which it noted.
                continue
            m = Measurement.parse(obj, f"{where}:{n}") if isinstance(obj, dict) else None
            if m is not None:
                yield Record(n, text, m)


def _flag(v: bool | None) -> str:
    return "null" if v is None else "true" if v else "false"


def failure(m: Measurement) -> str:
    """Why it failed, in OONI's words: the probe's own error first, then the test's failure
    (the HTTP experiment's, else the DNS experiment's, else a transfer's or ping's)."""
    if m.probe_error is not None:
        return f"probe_error: {m.probe_error}"
    keys = m.raw.get("test_keys")
    keys = keys if isinstance(keys, dict) else {}
    for key in ("http_experiment_failure", "dns_experiment_failure", "failure"):
        v = keys.get(key)
        if v:
            return str(v)
    return ""


def fields(m: Measurement) -> dict[str, str]:
    """The table's text columns of one measurement. "" where the kind has no such value (a
    throughput probe has no `blocking`); "null" and "false" are OONI's values, as on disk."""
    k = m.keys
    annotations = m.raw.get("annotations")
    isp = m.raw.get("isp") or (annotations.get("emulated_isp")
                               if isinstance(annotations, dict) else None)
    inp = m.raw.get("input")
    return {
        "vantage": m.subscriber, "isp": str(isp or ""), "class": m.cls,
        "service": m.service or "", "input": "" if inp is None else str(inp),
        "test": m.test_name,
        "blocking": k.blocking_text if isinstance(k, WebKeys) else "",
        "accessible": _flag(k.accessible) if isinstance(k, (WebKeys, Http3Keys)) else "",
        "failure": failure(m), "phase": m.phase or "",
    }


def date_seconds(stamp: Any) -> int | None:
    """OONI's 'YYYY-MM-DD HH:MM:SS' (UTC) as Unix seconds; None if it is not one."""
    try:
        when = dt.datetime.strptime(str(stamp), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return int(when.replace(tzinfo=dt.UTC).timestamp())


class _Column:
    """One dictionary-encoded text column."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.codes: list[int] = []
        self._code: dict[str, int] = {}

    def add(self, v: str) -> None:
        code = self._code.get(v)
        if code is None:
            code = self._code[v] = len(self.values)
            self.values.append(v)
        self.codes.append(code)


def _deltas(xs: list[int]) -> list[int]:
    return [x - (xs[i - 1] if i else 0) for i, x in enumerate(xs)]


def _gzip(lines: list[str]) -> bytes:
    # mtime 0: the same run folder gives the same report, byte for byte
    return gzip.compress("\n".join(lines).encode("utf-8"), compresslevel=_GZIP_LEVEL, mtime=0)


def build(records: Iterable[Record], chunk: int = CHUNK) -> Data:
    """The index and the chunks of `records` (row i is the i-th record; its raw line is line
    i % chunk of chunk i // chunk).

    index: {"n", "chunk",
            "cols": {column: {"values": [text...], "codes": [int per row]}},
            "t": deltas of round(t_scenario * 10), row to row (tenths of an emulated second),
            "date_base": int, "date": [per row: measurement_start_time in Unix seconds
                                       - floor(t_scenario) - date_base, or null],
            "line": deltas of the line numbers in measurements.jsonl}
    """
    cols = {c: _Column() for c in COLUMNS}
    tenths: list[int] = []
    dates: list[int | None] = []
    lines: list[int] = []
    chunks: list[bytes] = []
    pending: list[str] = []
    for r in records:
        for name, v in fields(r.m).items():
            cols[name].add(v)
        t = round(r.m.t_scenario * 10)
        tenths.append(t)
        sec = date_seconds(r.m.raw.get("measurement_start_time"))
        # The date is the scenario's calendar at the start: nearly always a constant apart
        # from the scenario time, so the offset compresses to almost nothing.
        dates.append(None if sec is None else sec - t // 10)
        lines.append(r.line)
        pending.append(r.text)
        if len(pending) == chunk:
            chunks.append(_gzip(pending))
            pending = []
    if pending:
        chunks.append(_gzip(pending))
    base = next((d for d in dates if d is not None), 0)
    index = {"n": len(tenths), "chunk": chunk,
             "cols": {c: {"values": col.values, "codes": col.codes} for c, col in cols.items()},
             "t": _deltas(tenths), "date_base": base,
             "date": [None if d is None else d - base for d in dates],
             "line": _deltas(lines)}
    return Data(index, chunks)


def gzip_json(obj: Any) -> bytes:
    return gzip.compress(json.dumps(obj, separators=(",", ":")).encode("utf-8"),
                         compresslevel=_GZIP_LEVEL, mtime=0)
