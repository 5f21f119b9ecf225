"""When a store change reached the data plane, read off the stream probes' replies. Pure.

For each timeline step and each (vantage point, service) pair of a stream probe whose ICMP
reachability the step changes (by the reference semantics, the step event's `stream_effect`):

  cut    (allowed after: false)  commit -> the last reply received. The decision is in force
         for that subscriber once no packet gets through any more; replies to requests sent just
         before the commit may still arrive after it, and they count: they got through.
  opened (allowed after: true)   commit -> the first reply received after the commit.

Only a stream whose window covers the commit with room after it can tell: at least
MIN_AFTER seconds of sending after the commit, else the pair is reported unmeasured (with why).
A cut whose replies run on to the end of the window was not enforced within it. Times are real
seconds since the run's T0 (`t_real`), the replies' wall clock minus the run's `t0_wall`, the
same clock as the commit (`t_commit`) and the switches' acknowledgements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sovnet.results import Measurement, StepEvent, StreamEffect, StreamKeys

MIN_AFTER = 1.0  # seconds of stream after a commit needed to say packets stopped (or started)
TAIL = 3  # a cut whose last reply is within this many packet intervals of the window's end: none


def _covering(streams: list[StreamKeys], t_commit: float, t0_wall: float) -> StreamKeys | None:
    for keys in streams:
        first, last = keys.window(t0_wall)
        if first <= t_commit and last >= t_commit + MIN_AFTER:
            return keys
    return None


def measure(keys: StreamKeys, t0_wall: float, t_commit: float, allowed: bool) -> dict:
    """One pair's figure from the stream that covered the commit:
    {"t_packet", "delay_ms", "replies_before", "replies_after", "note"}."""
    times = keys.reply_times(t0_wall)
    before = [t for t in times if t < t_commit]
    after = [t for t in times if t >= t_commit]
    out = {"t_packet": None, "delay_ms": None, "replies_before": len(before),
           "replies_after": len(after), "note": ""}
    if allowed:
        if not after:
            out["note"] = "no reply came back after the change, within the stream's window"
            return out
        t = after[0]
    else:
        if not times:
            out["note"] = "no reply at all in the stream's window: nothing was getting through"
            return out
        _, last_send = keys.window(t0_wall)
        if times[-1] >= last_send - TAIL / keys.rate:
            out["note"] = "replies ran on to the end of the stream's window: not cut within it"
            return out
        t = times[-1]
    out.update(t_packet=round(t, 4), delay_ms=round((t - t_commit) * 1000.0, 1))
    return out


def stream_effects(steps: Iterable[StepEvent], measurements: Iterable[Measurement],
                   t0_wall: float, switch_of: Mapping[str, str]) -> list[StreamEffect]:
    """One record per (step, vantage point, service) that a step cut or opened, in step order.

    `steps` are the run's step events, `measurements` its measurements (only stream ones are
    used), `switch_of` maps a subscriber to its access switch, whose acknowledgement of the
    step is given beside the data-plane figure."""
    streams: dict[tuple[str, str | None], list[StreamKeys]] = {}
    for m in measurements:
        if isinstance(m.keys, StreamKeys):
            streams.setdefault((m.subscriber, m.service), []).append(m.keys)
    out = []
    for step in steps:
        t_commit = step.t_commit
        if t_commit is None:
            continue
        for sub, svc, allowed in step.stream_effect:
            switch = switch_of.get(sub)
            ack = step.acks.get(switch) if switch is not None else None
            keys = _covering(streams.get((sub, svc), []), t_commit, t0_wall)
            if keys is None:
                fig = {"t_packet": None, "delay_ms": None, "replies_before": 0,
                       "replies_after": 0,
                       "note": f"no stream from {sub} to {svc} ran from the change to "
                               f"{MIN_AFTER:g} s after it"}
            else:
                fig = measure(keys, t0_wall, t_commit, allowed)
            out.append(StreamEffect(
                step=step.index, at_s=step.at_s, subscriber=sub, service=svc, allowed=allowed,
                t_commit=t_commit, switch=switch,
                switch_ack_ms=round((ack - t_commit) * 1000.0, 1) if ack is not None else None,
                **fig))
    return out
