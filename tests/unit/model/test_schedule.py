"""Schedules on the scenario clock: daily windows (curfews), from/until, and when they flip."""

from dataclasses import replace

import pytest

from sovnet.model.schedule import Clock, ScheduleError, in_force, next_change, schedule
from tests.unit import handmade

H = 3600.0
# t=0 at Unix time 1000, at 18:00; one real second is one scenario hour
CLOCK = Clock(epoch=1000.0, scale=H, origin=18 * H)


def test_a_curfew_window_wraps_past_midnight():
    curfew = schedule("01:00-09:00")
    assert [curfew.active(CLOCK, t * H) for t in (6, 7, 8, 14, 15, 16)] == [
        False, True, True, True, False, False]  # 00:00, 01:00, 02:00, 08:00, 09:00, 10:00
    night = schedule("22:00-06:00")
    assert [night.active(CLOCK, t * H) for t in (3, 4, 11, 12)] == [False, True, True, False]


def test_from_and_until_bound_the_daily_window():
    s = schedule("01:00-09:00", start=24 * H, end=48 * H)
    assert not s.active(CLOCK, 8 * H)  # 02:00 of the first night: not yet
    assert s.active(CLOCK, 32 * H)  # 02:00 of the second night
    assert not s.active(CLOCK, 56 * H)  # the third night: over
    assert str(s) == "daily 01:00-09:00 from t=1d until t=2d"


def test_next_change_is_the_next_edge_in_real_time():
    p = replace(handmade.policy(1, "deny", "any"), schedule=schedule("01:00-09:00"))
    q = replace(handmade.policy(2, "deny", "any"), schedule=schedule(start=3 * H))
    always = handmade.policy(3, "allow", "any")
    now = 1000.0  # t=0, 18:00
    assert next_change([p, q, always], CLOCK, now) == 1003.0  # q starts at t=3h
    assert next_change([p, always], CLOCK, now) == 1007.0  # 01:00
    assert next_change([p], CLOCK, 1007.0) == 1015.0  # at 01:00 sharp the next edge is 09:00
    assert next_change([always], CLOCK, now) is None
    assert [x.id for x in in_force([p, q, always], CLOCK, 1008.0)] == [1, 2, 3]
    assert [x.id for x in in_force([p, q, always], CLOCK, 1001.0)] == [3]


def test_an_ended_schedule_never_changes_again():
    s = schedule(end=2 * H)
    assert s.next_change(CLOCK, 0.0) == 2 * H
    assert s.next_change(CLOCK, 3 * H) is None
    assert schedule("01:00-09:00", end=2 * H).next_change(CLOCK, 3 * H) is None


def test_without_a_clock_the_wall_clock_in_utc_decides():
    s = schedule("01:00-09:00")
    assert s.active(Clock(), 86400 * 20000 + 2 * H)  # some day, 02:00 UTC
    assert not s.active(Clock(), 86400 * 20000 + 12 * H)


@pytest.mark.parametrize("args, message", [
    (("1:00-25:00",), "bad daily window '1:00-25:00' (expected a daily window HH:MM-HH:MM such "
                      "as 01:00-09:00 (it may wrap past midnight; 24:00 ends one at midnight))"),
    (("24:00-06:00",), "bad daily window '24:00-06:00' (expected a daily window HH:MM-HH:MM "
                       "such as 01:00-09:00 (it may wrap past midnight; 24:00 ends one at "
                       "midnight))"),
    (("08:00-08:00",), "daily window '08:00-08:00' is empty (expected a daily window "
                       "HH:MM-HH:MM such as 01:00-09:00 (it may wrap past midnight; 24:00 ends "
                       "one at midnight); a policy with no daily window is in force all day)"),
    (("00:00-24:00",), "daily window '00:00-24:00' is the whole day (expected a daily window "
                       "HH:MM-HH:MM such as 01:00-09:00 (it may wrap past midnight; 24:00 ends "
                       "one at midnight); a policy with no daily window is in force all day)"),
    ((None, 5 * H, 2 * H), "until (2h) must come after from (5h)"),
    ((None, -1.0), "bad from time -1.0 (expected scenario seconds >= 0)"),
])
def test_bad_schedules_say_what_was_expected(args, message):
    with pytest.raises(ScheduleError) as e:
        schedule(*args)
    assert str(e.value) == message


def test_no_parts_is_no_schedule_and_bodies_round_trip():
    from sovnet.model.schedule import Schedule

    assert schedule() is None
    s = schedule("23:00-05:30", start=60.0)
    assert Schedule.from_body(s.to_body()) == s


def test_24_00_ends_a_window_at_midnight():
    from sovnet.model.schedule import Clock

    s = schedule("16:00-24:00")
    clock = Clock()  # t=0 is midnight
    assert [s.active(clock, h * H) for h in (15, 16, 23.99, 24, 24 + 16)] == [
        False, True, True, False, True]
