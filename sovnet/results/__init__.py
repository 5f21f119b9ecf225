"""The run folder's records as typed values: one contract for its writer and its readers.

    Measurement.parse(obj, where)   a measurements.jsonl object -> Measurement (or None: a probe
                                    kind this version does not know); .raw is what is on disk
    StepEvent / StreamEffect        the events.jsonl entries readers use
    ExpectationResult               an expectations.json item
    Revision                        a revisions.jsonl line: one order of the store, its acks
    read_json / read_jsonl          a folder's files, every problem a RecordError naming file:line
    read_measurements(path, torn)   measurements.jsonl as Measurements
    median_value(values)            the one median of throughput and round-trip figures
    load_tables(folder)             a folder as tables (pandas DataFrames if installed), for
                                    notebooks: measurements, events, acks, signals, expectations

The runner writes through it (sovnet.experiments.records, rundir), and the expectations
(sovnet.experiments.expect, stream_effect) and the report (sovnet.report.dataset) read through
it, so a PASS line and its figure are computed from the same values. results/README.md is the
on-disk description; field names there are OONI's and stay so.
"""

from sovnet.results.events import StepEvent, StreamEffect
from sovnet.results.expectations import ExpectationResult
from sovnet.results.files import RecordError, dump_line, read_json, read_jsonl
from sovnet.results.measurement import (
    KINDS,
    TEST_NAMES,
    Http3Keys,
    LatencyKeys,
    Measurement,
    StreamKeys,
    ThroughputKeys,
    WebKeys,
    median_value,
    read_measurements,
)
from sovnet.results.revisions import Revision, RevisionChange, SwitchAck
from sovnet.results.tables import RunTables, load_tables

__all__ = ["KINDS", "TEST_NAMES", "ExpectationResult", "Http3Keys", "LatencyKeys", "Measurement",
           "RecordError", "Revision", "RevisionChange", "RunTables", "StepEvent", "StreamEffect",
           "StreamKeys", "SwitchAck", "ThroughputKeys", "WebKeys", "dump_line", "median_value",
           "load_tables", "read_json", "read_jsonl", "read_measurements"]
