"""The record model on its own: what it reads from old and new folders, and its errors."""

from __future__ import annotations

import pytest

from sovnet.results import ExpectationResult, Measurement, RecordError, StepEvent, WebKeys

STEP = {"type": "step", "index": 1, "phase": "cutoff", "label": "cut", "at_s": 28800,
        "t_scenario": 28800.9, "t_real": 12.0004, "revision": 3, "t_commit": 12.0012,
        "acks": {"gw1": 12.0301}, "t_enforced": 12.0301, "effect": [["home1", "social", False]]}


def test_a_refusal_reads_the_same_from_old_and_new_folders() -> None:
    old = StepEvent.parse(STEP | {"refused": {"gw2": "failed: table full"}}, "e:1")
    new = StepEvent.parse(STEP | {"refused": {"gw2": "table full"}}, "e:2")
    assert old.refused == new.refused == {"gw2": "table full"}
    assert (old.acks, old.effect, old.at_s) == ({"gw1": 12.0301}, (("home1", "social", False),),
                                                28800.0)


def test_a_bad_record_names_where_and_what() -> None:
    m = {"test_name": "sovnet_latency", "t_real": 1.0, "t_scenario": "soon",
         "subscriber": "a", "class": "c"}
    with pytest.raises(RecordError) as e:
        Measurement.parse(m, "measurements.jsonl:4")
    assert str(e.value) == "measurements.jsonl:4: 't_scenario' must be a number, got 'soon'"
    with pytest.raises(RecordError) as e:
        StepEvent.parse(STEP | {"stream_effect": [["a", "b", "yes"]]}, "events.jsonl:9")
    assert str(e.value) == ("events.jsonl:9: 'stream_effect' items must be [vantage, service, "
                            "true|false], got ['a', 'b', 'yes']")
    assert Measurement.parse({"test_name": "sovnet_future"}, "m:1") is None  # not ours


def test_web_verdicts_for_the_report_and_for_expectations() -> None:
    assert [WebKeys(None, None, b).verdict for b in (False, None, "dns")] == [
        "ok", "undetermined", "dns"]
    assert [WebKeys(None, None, b).blocking_text for b in (False, None, "dns")] == [
        "false", "null", "dns"]


def test_an_expectation_result_round_trips_and_tolerates_a_sparse_item() -> None:
    x = ExpectationResult("tp", "all", (0.0, 10.0), "any service", "throughput_kbps", ">=",
                          100.0, 120.0, 3, True, "1 failed transfer not counted")
    assert ExpectationResult.parse(x.to_json()) == x
    sparse = ExpectationResult.parse({"name": "x", "during": ["a", 1]})
    assert (sparse.during, sparse.observed, sparse.n, sparse.passed) == (None, None, None, False)
