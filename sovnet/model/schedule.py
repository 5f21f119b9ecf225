"""When a policy is in force: daily windows (a curfew such as 01:00-09:00) and from/until, on
the scenario clock the store holds.

The store keeps a policy with its schedule; the controller, the resolvers and the flow-log
collector each decide what is in force *now* from the clock, so a curfew starts and ends on
time without anybody writing the store again.

Times: `t` is scenario time in seconds since the scenario's t=0; the time of day is
(origin + t) mod 24h, `origin` being the time of day at t=0. Without a clock in the store, the
clock is the wall clock itself (t = Unix time, times of day in UTC).

Pure: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DAY = 86_400.0
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_WINDOW_FORM = ("a daily window HH:MM-HH:MM such as 01:00-09:00 (it may wrap past midnight; "
                "24:00 ends one at midnight)")
MIDNIGHT_END = "24:00"  # how people write "until midnight": the end of a window only


class ScheduleError(ValueError):
    """A schedule that does not parse; the message says what was expected."""


@dataclass(frozen=True)
class Clock:
    epoch: float = 0.0  # Unix time of scenario t=0
    scale: float = 1.0  # scenario seconds per real second
    origin: float = 0.0  # time of day at t=0, seconds

    @classmethod
    def from_setting(cls, body: dict[str, Any] | None) -> Clock:
        return cls() if not body else cls(body["epoch"], body["scale"], body["origin"])

    def at(self, now: float) -> float:
        """Scenario time at Unix time `now`."""
        return (now - self.epoch) * self.scale

    def real(self, t: float) -> float:
        """Unix time at scenario time `t`."""
        return self.epoch + t / self.scale

    def time_of_day(self, t: float) -> float:
        return (self.origin + t) % DAY


@dataclass(frozen=True)
class Schedule:
    daily: tuple[float, float] | None = None  # [start, end) seconds of day; end < start wraps
    start: float | None = None  # scenario time it comes into force
    end: float | None = None  # scenario time it stops

    def active(self, clock: Clock, t: float) -> bool:
        if self.start is not None and t < self.start:
            return False
        if self.end is not None and t >= self.end:
            return False
        if self.daily is None:
            return True
        a, b = self.daily
        tod = clock.time_of_day(t)
        return a <= tod < b if a < b else (tod >= a or tod < b)

    def next_change(self, clock: Clock, t: float) -> float | None:
        """The first scenario time after `t` at which `active` may flip."""
        found = [x for x in (self.start, self.end) if x is not None and x > t]
        if self.daily is not None and (self.end is None or t < self.end):
            tod = clock.time_of_day(t)
            for edge in self.daily:
                delta = (edge - tod) % DAY
                found.append(t + (delta if delta > 0 else DAY))
        return min(found) if found else None

    def to_body(self) -> dict[str, Any]:
        return {"daily": list(self.daily) if self.daily else None,
                "from": self.start, "until": self.end}

    @classmethod
    def from_body(cls, body: dict[str, Any] | None) -> Schedule | None:
        if not body:
            return None
        daily = tuple(body["daily"]) if body.get("daily") else None
        return cls(daily, body.get("from"), body.get("until"))

    def __str__(self) -> str:
        parts = []
        if self.daily:
            parts.append(f"daily {_hhmm(self.daily[0])}-{_hhmm(self.daily[1])}")
        if self.start is not None:
            parts.append(f"from t={_dur(self.start)}")
        if self.end is not None:
            parts.append(f"until t={_dur(self.end)}")
        return " ".join(parts)


def schedule(daily: str | None = None, start: float | None = None,
             end: float | None = None) -> Schedule | None:
    """A checked Schedule from its parts (None when there is none: always in force)."""
    window = parse_daily(daily) if daily is not None else None
    for name, value in (("from", start), ("until", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or value < 0):
            raise ScheduleError(f"bad {name} time {value!r} (expected scenario seconds >= 0)")
    if start is not None and end is not None and end <= start:
        raise ScheduleError(f"until ({_dur(end)}) must come after from ({_dur(start)})")
    if window is None and start is None and end is None:
        return None
    return Schedule(window, None if start is None else float(start),
                    None if end is None else float(end))


def time_of_day(text: str) -> float:
    """'18:30' -> 66600.0 seconds; ScheduleError otherwise."""
    m = _HHMM.match(str(text).strip())
    if not m:
        raise ScheduleError(f"bad time of day {text!r} (expected HH:MM such as 18:00)")
    return float(int(m[1]) * 3600 + int(m[2]) * 60)


def parse_daily(text: str) -> tuple[float, float]:
    a, sep, b = str(text).replace(" ", "").partition("-")
    if not sep or not _HHMM.match(a) or not (_HHMM.match(b) or b == MIDNIGHT_END):
        raise ScheduleError(f"bad daily window {text!r} (expected {_WINDOW_FORM})")
    start = time_of_day(a)
    end = 0.0 if b == MIDNIGHT_END else time_of_day(b)  # the next midnight: a wrapping window
    if start == end:
        what = "the whole day" if b == MIDNIGHT_END else "empty"
        raise ScheduleError(f"daily window {text!r} is {what} (expected {_WINDOW_FORM}; a "
                            "policy with no daily window is in force all day)")
    return float(start), float(end)


def in_force(policies: Iterable, clock: Clock, now: float) -> tuple:
    """The policies whose schedule (if any) holds at Unix time `now`."""
    t = clock.at(now)
    return tuple(p for p in policies if p.schedule is None or p.schedule.active(clock, t))


def next_change(policies: Iterable, clock: Clock, now: float) -> float | None:
    """Unix time of the next moment any policy's schedule may flip, or None."""
    t = clock.at(now)
    times = [x for p in policies if p.schedule is not None
             for x in [p.schedule.next_change(clock, t)] if x is not None]
    return clock.real(min(times)) if times else None


def _hhmm(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _dur(seconds: float) -> str:
    s = int(seconds)
    if s != seconds or s < 60:
        return f"{seconds:g}s"
    d, h, m, rest = s // 86400, s % 86400 // 3600, s % 3600 // 60, s % 60
    return "".join(f"{v}{u}" for v, u in ((d, "d"), (h, "h"), (m, "m"), (rest, "s")) if v)
