"""What the figures show, checked against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sovnet.report import analysis
from sovnet.report.dataset import Web
from sovnet.results import StepEvent as Step


def web(t: float, sub: str, svc: str, accessible: bool | None, error: str | None = None,
        decided: float = 0.0) -> Web:
    """A web measurement started at `t` and decided `decided` seconds later."""
    return Web(t, t * 100, None, sub, "fixed_home", svc, "GRP", "foreign", "p", accessible,
               accessible, "ok" if accessible else "tcp_ip", error, t + decided)


def step(effect, t_commit: float | None = 10.0) -> Step:
    return Step(1, "cut", "cutoff", 1000.0, 9.999, 2, t_commit, {"s1": 10.02, "s2": 10.05},
                10.05, {}, tuple(effect), ())


def test_first_probe_that_saw_the_effect() -> None:
    s = step([("alice", "social", False), ("bob", "news", True)])
    ms = [
        web(10.30, "bob", "news", True),
        web(9.90, "alice", "social", False),  # before the commit
        web(10.05, "alice", "social", True),  # not the effect (yet)
        web(10.06, "bob", "social", False),  # not a pair of this step
        web(10.07, "bob", "news", None),  # undecided is not "allowed"
        web(10.08, "alice", "social", False, error="curl failed"),  # probe could not run
        web(10.20, "alice", "social", False),  # this one
    ]
    seen = analysis.first_seen(s, ms)
    assert seen is not None
    assert (seen.subscriber, seen.service, seen.allowed) == ("alice", "social", False)
    assert seen.delay_s == pytest.approx(0.20)
    assert analysis.first_seen(s, ms, until=10.1) is None  # the next change came first
    assert analysis.first_seen(step([]), ms) is None
    assert analysis.first_seen(step(s.effect, t_commit=None), ms) is None


def test_first_seen_is_timed_by_the_deciding_packet() -> None:
    s = step([("bob", "news", True)])
    # started before the commit, connected by a retried SYN one second later: it saw the change
    ms = [web(9.95, "bob", "news", True, decided=1.03), web(11.5, "bob", "news", True)]
    seen = analysis.first_seen(s, ms)
    assert seen.delay_s == pytest.approx(0.98)


def test_step_latencies_on_the_synthetic_run(run) -> None:
    lats = analysis.step_latencies(run)
    assert [lat.step.index for lat in lats] == [1, 2]  # step 0 changed nothing
    for lat in lats:
        assert len(lat.ack_ms) == 7 and 12 <= lat.median_ms <= lat.worst_ms <= 46
        assert lat.first_seen is not None and lat.first_seen.subscriber == "alice"
        assert 0 < lat.first_seen.delay_s < 0.5
    assert lats[0].first_seen.allowed is False and lats[1].first_seen.allowed is True


def test_bins_follow_probe_rounds(run) -> None:
    bins = analysis.make_bins(run.web, run.duration_s)
    assert bins.n == 24 and bins.by_round is not None
    assert list(bins.edges) == sorted(bins.edges) and bins.edges[0] >= 0
    assert all(bins.edges[i] <= t < bins.edges[i + 1] for i, t in enumerate(bins.times))
    assert bins.edges[0] == min(w.t_scenario for w in run.web)  # a bin starts with its round


def test_a_change_shows_from_the_first_round_after_it(run) -> None:
    bins = analysis.make_bins(run.web, run.duration_s)
    grp = analysis.reachability(run, bins)[("GRP", "foreign")]
    first = next(i for i, v in enumerate(grp) if v == 0)
    cut = run.steps[1].t_scenario
    assert bins.edges[first - 1] < cut <= bins.edges[first] < cut + 1800


def test_too_many_rounds_fall_back_to_equal_bins(run) -> None:
    bins = analysis.make_bins(run.web, run.duration_s, max_bins=10)
    assert bins.n == 10 and bins.by_round is None
    assert bins.edges[0] == 0 and bins.edges[-1] == pytest.approx(run.duration_s)


def test_reachability_and_blocking_mix(run) -> None:
    bins = analysis.make_bins(run.web, run.duration_s)
    reach = analysis.reachability(run, bins)
    assert set(reach) == {("BANK", "domestic"), ("GOVT", "domestic"), ("HEALTH", "domestic"),
                          ("CDN", "foreign"), ("GRP", "foreign"), ("NEWS", "foreign")}
    times = np.asarray(bins.times)
    cut = (times > 5 * 3600) & (times < 8.5 * 3600)
    assert np.all(reach[("GRP", "foreign")][cut] == 0)
    assert np.all(reach[("HEALTH", "domestic")][cut] == pytest.approx(2 / 3))  # bob: never
    mix = analysis.blocking_mix(run, bins)
    assert list(mix)[0] == "ok"
    assert np.allclose(sum(mix.values()), 1.0)


def test_heatmaps_and_collateral(run) -> None:
    bins = analysis.make_bins(run.web, run.duration_s)
    maps = analysis.heatmaps(run, bins)
    assert list(maps) == ["mobile_prepaid", "fixed_home"]  # the model's order of classes
    services, m = maps["fixed_home"]
    assert services[:3] == ["bank", "gov", "health"] and m.shape == (6, 24)
    coll = analysis.collateral(run)
    assert list(coll) == ["normal", "cutoff", "restored"]
    acc, usable, n = coll["cutoff"]["bank"]
    assert acc == pytest.approx(2 / 3) and usable == 0 and n > 0
    assert coll["normal"]["bank"][1] > 0.5


def test_throughput_medians(run) -> None:
    bins = analysis.make_bins(run.throughput, run.duration_s)
    t = analysis.throughput(run, bins)
    assert set(t) == {"fixed_home", "mobile_prepaid"}
    assert np.nanmedian(t["fixed_home"].median) > 60000
    assert np.nanmin(t["mobile_prepaid"].median) < 3000


def test_share_ignores_undecided() -> None:
    assert analysis.share([True, False, None]) == 0.5
    assert math.isnan(analysis.share([None]))
