"""The token bucket on a clock of the test's own: no sleeping."""

from __future__ import annotations

import pytest

from sovnet.api.limits import RateLimiter, parse_rate, retry_after


@pytest.mark.parametrize("text, per_second", [
    ("20/s", 20.0), ("20", 20.0), ("600/min", 10.0), ("1/m", 1 / 60), ("2.5/sec", 2.5)])
def test_parse_rate(text, per_second) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["fast", "0/s", "-1/s", "5/h", ""])
def test_bad_rates_say_what_was_expected(text) -> None:
    with pytest.raises(ValueError) as e:
        parse_rate(text)
    assert str(e.value) == (f"bad rate {text!r} (expected a number of requests per second or "
                            "minute, such as 20/s or 600/min)")


def test_a_burst_then_the_rate_per_key() -> None:
    now = [100.0]
    limiter = RateLimiter(5.0, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(5)] == [0.0] * 5  # a second's worth at once
    assert limiter.take("a") == pytest.approx(0.2)  # then one every 1/5 s
    assert limiter.take("b") == 0.0  # another token has its own bucket
    now[0] += 0.2
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    now[0] += 10  # idle: refilled to the burst, no more
    assert [limiter.take("a") for _ in range(6)][-2:] == [0.0, pytest.approx(0.2)]


def test_retry_after_is_whole_seconds_and_never_zero() -> None:
    assert [retry_after(w) for w in (0.001, 0.2, 1.0, 29.5)] == ["1", "1", "1", "30"]
