"""Background demand follows the scenario's day (sovnet.probes.demand)."""

from __future__ import annotations

from sovnet.probes.demand import DIURNAL, rate_kbps


def test_the_rate_is_the_peak_times_the_curve_at_the_scenarios_hour():
    curve = tuple(float(h) / 23 for h in range(24))
    # T0 at 18:00, 450 emulated seconds per real second: 16 real seconds later it is 20:00
    assert rate_kbps(1000, curve, epoch=100.0, scale=450, origin=18 * 3600, now=100.0) == \
        1000 * curve[18]
    assert rate_kbps(1000, curve, epoch=100.0, scale=450, origin=18 * 3600, now=116.0) == \
        1000 * curve[20]
    # past midnight the day starts over
    assert rate_kbps(1000, curve, epoch=0.0, scale=3600, origin=23 * 3600, now=2.0) == \
        1000 * curve[1]


def test_the_residential_day_peaks_in_the_evening_and_sleeps_before_dawn():
    assert len(DIURNAL) == 24 and max(DIURNAL) == 1.0
    assert DIURNAL.index(1.0) in range(19, 23) and DIURNAL.index(min(DIURNAL)) in range(2, 6)
