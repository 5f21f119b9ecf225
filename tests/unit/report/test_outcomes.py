"""What subscribers saw, per ISP: each web measurement reduced to how it ended."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sovnet.report import Run, analysis
from sovnet.report.dataset import Web
from sovnet.report.outcomes import first_cut, outcome, per_isp, per_region


def W(accessible, blocking="ok", failure=None) -> Web:
    return Web(0.0, 0.0, 0, "alice", "fixed_home", "social", "GRP", "foreign", "cut",
               accessible, None, blocking, None, failure=failure)


@pytest.mark.parametrize(("web", "seen"), [
    (W(True), "reached"),
    (W(False, "tcp_ip", "generic_timeout_error"), "dropped"),
    (W(False, "tcp_ip", "connection_refused"), "refused"),
    (W(False, "http-failure", "connection_reset"), "reset"),
    (W(False, "dns", "generic_timeout_error"), "dns"),  # the verdict first: DNS failed
    (W(False, "dns", "dns_nxdomain_error"), "dns"),
    (W(False, "http-diff"), "blockpage"),
    (W(False, "http-failure", "ssl_invalid_hostname"), "tls_name"),
    (W(False, "http-failure", "ssl_unknown_authority"), "tls"),
    (W(False, "http-failure", "eof_error"), "other"),
    (W(None, "undetermined"), "undetermined"),
])
def test_how_a_measurement_ended(web: Web, seen: str) -> None:
    assert outcome(web) == seen


def test_per_isp_shows_the_cut_on_foreign_services_only(run: Run) -> None:
    bins = analysis.make_bins(run.web, run.duration_s)
    foreign = per_isp(run, bins, "foreign")
    domestic = per_isp(run, bins, "domestic")
    assert list(foreign) == ["fixnet", "mobinet"]
    for mix in [*foreign.values(), *domestic.values()]:
        total = sum(np.nan_to_num(v) for v in mix.values())
        assert np.allclose(total[~np.isnan(next(iter(mix.values())))], 1.0)
    # fixnet (alice): every foreign service reached before the cut, none of them during it
    # (the synthetic run drops them: timeouts, one in ten with no verdict).
    fix = foreign["fixnet"]
    cut = first_cut(fix, bins)
    assert cut is not None and 4 * 3600 <= cut <= 4.6 * 3600
    during = [i for i, t in enumerate(bins.times) if 4.6 * 3600 < t < 9 * 3600]
    assert all(fix["reached"][i] == 0 for i in during)
    assert np.mean([fix["dropped"][i] for i in during]) > 0.7
    assert first_cut(domestic["fixnet"], bins) is None
    # mobinet has bob, who reaches nothing at all (no registered device): half of its
    # measurements fail from the start, DNS
    assert first_cut(domestic["mobinet"], bins, below=0.9) == pytest.approx(bins.times[0])
    assert np.nanmedian(domestic["mobinet"]["dns"]) == pytest.approx(0.5)
    assert per_region(run, bins) == {}  # the minimal topology names no regions


def test_a_bin_of_undecided_measurements_is_no_cut() -> None:
    bins = analysis.Bins((0.0, 1.0, 2.0), (0.5, 1.5))
    mix = {"reached": np.array([1.0, 0.0]), "undetermined": np.array([0.0, 1.0])}
    assert first_cut(mix, bins) is None
    assert first_cut({"reached": np.array([math.nan, 0.2]),
                      "dropped": np.array([math.nan, 0.8])}, bins) == 1.5


def test_per_region_follows_the_subscribers_regions(run: Run) -> None:
    import dataclasses

    from sovnet.report.plots import _per_region
    from sovnet.report.style import Timeline

    regions = {"alice": "north", "carol": "north"}
    topo = dataclasses.replace(run.topology, subscribers=tuple(
        dataclasses.replace(s, region=regions.get(s.name, "south"))
        for s in run.topology.subscribers))
    regional = dataclasses.replace(run, topology=topo)
    bins = analysis.make_bins(regional.web, regional.duration_s)
    got = per_region(regional, bins)
    assert list(got) == ["north", "south"]
    # the north is alice alone: the cut of everything foreign is half of what she measures
    assert np.nanmax(got["north"]["dropped"]) == pytest.approx(0.5, abs=0.2)
    assert np.nanmedian(got["south"]["dns"]) == pytest.approx(0.5)  # bob's, from the start
    fig = _per_region(regional, Timeline.from_run(regional))
    titled = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert titled == ["region north", "region south"]
