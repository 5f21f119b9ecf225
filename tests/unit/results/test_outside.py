"""The ping-slash24 signal from the prober's rounds (sovnet.results.outside)."""

from __future__ import annotations

import json
from pathlib import Path

from sovnet.config import load_topology
from sovnet.results.outside import ping_signals, read_rounds, targets

ROOT = Path(__file__).parents[3]
NATIONAL = load_topology(ROOT / "topologies" / "national.yaml")


def test_the_prober_is_given_every_domestic_host_but_no_router():
    t = targets(NATIONAL)
    assert sorted(t) == ["10.1.0.0/24", "10.2.0.0/24", "10.250.0.0/24", "10.3.0.0/24"]
    given = {a for addrs in t.values() for a in addrs}
    assert NATIONAL.host("alice").ip in given and NATIONAL.host("bank").ip in given
    assert NATIONAL.host("tnbgp").ip not in given
    assert NATIONAL.host("social").ip not in given


def _round(t_end, down=()):
    return {"round": 0, "t": t_end - 0.1, "t_end": t_end, "blocks": {
        b: {"state": "down" if b in down else "up", "probes": 1, "replies": 0 if b in down
            else 1} for b in targets(NATIONAL)}}


def test_the_signal_counts_up_blocks_per_isp_from_the_latest_round(tmp_path):
    path = tmp_path / "gatech.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in
                            [_round(0.5), _round(2.5, down={"10.2.0.0/24", "10.3.0.0/24"})])
                    + '{"torn')
    rounds = read_rounds(path)
    assert len(rounds) == 2
    s = {x["entityName"]: x for x in ping_signals(NATIONAL, rounds, 0, 4, 1)}
    assert s["mobiq"]["datasource"] == "ping-slash24"
    assert s["mobiq"]["values"] == [None, 1, 1, 0, 0]
    assert s["telenat"]["values"] == [None, 2, 2, 2, 2]  # its own block and the data centre's
    assert s["national"]["values"] == [None, 4, 4, 2, 2]


def test_dns_series_sum_each_resolvers_queries_per_step_and_the_abroad_rate(tmp_path):
    from sovnet.experiments.expect import evaluate
    from sovnet.model.policy import Scope
    from sovnet.model.scenario import Expectation, ServiceFilter
    from sovnet.results.outside import dns_signals, read_counts

    path = tmp_path / "pubdns.counts.jsonl"
    path.write_text("".join(json.dumps({"t": t, "n": n}) + "\n"
                            for t, n in [(0, 2), (1, 1), (3, 40), (4, 50)]) + "{torn")
    counts = {"pubdns": read_counts(path)}
    # scenario time runs 3600 times faster than the wall clock here: a step of 1800 s is 0.5 s
    (s,) = dns_signals(["pubdns"], counts, 0, 5400, 1800, to_wall=lambda t: t / 1800)
    assert (s["entityType"], s["datasource"], s["values"]) == ("resolver", "dns-queries",
                                                               [2, 1, 0, 40])
    e = Expectation("x", (Scope("all"),), (0.0, 3600.0), ServiceFilter(), "dns_abroad_per_h",
                    "<=", 10)
    (r,) = evaluate(NATIONAL, [e], [], (), [s])
    assert r.observed == 3.0 and r.n == 2 and r.passed


def test_traffic_counts_bytes_per_step_from_cumulative_border_counters(tmp_path):
    from sovnet.results.outside import read_traffic, traffic_signals

    path = tmp_path / "traffic.jsonl"
    rows = [(0.5, 0, 0), (1.5, 1000, 100), (2.5, 3000, 300), (3.5, 3000, 300)]
    path.write_text("".join(json.dumps({"t": t, "bytes": {"telenat/in": i, "telenat/out": o,
                                                          "mobiq/in": 7, "mobiq/out": 0}})
                            + "\n" for t, i, o in rows) + '{"torn')
    samples = read_traffic(path)
    assert len(samples) == 4
    s = {x["entityName"]: x for x in traffic_signals(NATIONAL, samples, 0, 3, 1)}
    assert s["telenat"]["datasource"] == "traffic" and s["telenat"]["entityType"] == "asn"
    # [0,1): no sample before 0.5 -> unknown; [1,2): 1100; [2,3): 2200; [3,4): 0
    assert s["telenat"]["values"] == [None, 1100, 2200, 0]
    assert s["mobiq"]["values"] == [None, 0, 0, 0]
    assert s["national"]["values"] == [None, 1100, 2200, 0]


def test_the_traffic_expectation_is_a_share_of_the_busiest_step():
    from sovnet.experiments.expect import evaluate
    from sovnet.model.policy import Scope
    from sovnet.model.scenario import Expectation, ServiceFilter
    from sovnet.results.bgp import series

    s = series("asn", "64601", "telenat", "traffic", 0, 60, [100, 1000, 800, 50, 20, None])
    e = Expectation("x", (Scope("isp", "telenat"),), (180.0, 300.0), ServiceFilter(),
                    "traffic", "<=", 0.1)
    (r,) = evaluate(NATIONAL, [e], [], (), [s])
    assert r.passed and r.observed == 0.035 and r.n == 2  # (0.05 + 0.02) / 2
