"""sovnet.poll: the one poll-with-deadline helper of sovnet and its tests."""

from __future__ import annotations

import time

import pytest

from sovnet.errors import SovnetError
from sovnet.poll import PollTimeout, attempts, eventually, wait_for


def test_attempts_checks_once_even_with_no_time_and_once_more_after_the_deadline():
    assert list(attempts(0)) == [0.0]
    t0 = time.monotonic()
    lefts = list(attempts(0.05, interval=0.01))
    assert time.monotonic() - t0 >= 0.05
    assert lefts[0] > 0 and lefts[-1] == 0.0 and lefts == sorted(lefts, reverse=True)


def test_wait_for_returns_the_first_truthy_result():
    calls = iter([None, 0, "", {"dpid": 1}, "never asked"])
    assert wait_for(lambda: next(calls), 5, "a result", interval=0) == {"dpid": 1}
    assert next(calls) == "never asked"


def test_wait_for_names_what_it_waited_for_in_the_error_it_was_given():
    class LabError(SovnetError):
        pass

    with pytest.raises(PollTimeout, match=r"^timed out after 0.02 s waiting for the switch$"):
        wait_for(lambda: False, 0.02, "the switch")
    with pytest.raises(LabError, match="waiting for the controller"):
        wait_for(lambda: None, 0.02, "the controller", error=LabError)


def test_wait_for_lets_the_predicates_own_errors_through():
    def exited():
        raise RuntimeError("the controller exited with status 1")

    with pytest.raises(RuntimeError, match="exited with status 1"):
        wait_for(exited, 5, "the controller")


def test_eventually_returns_once_the_check_passes():
    n = iter(range(100))

    def third_time_lucky():
        i = next(n)
        assert i >= 2, f"attempt {i}"
        return i

    assert eventually(third_time_lucky, timeout=5, interval=0) == 2


def test_eventually_reraises_the_last_failure_at_the_deadline():
    calls = []

    def never():
        calls.append(None)
        raise AssertionError(f"attempt {len(calls)}")

    with pytest.raises(AssertionError) as failed:
        eventually(never, timeout=0.03, interval=0.005)
    assert len(calls) > 1 and str(failed.value) == f"attempt {len(calls)}"
