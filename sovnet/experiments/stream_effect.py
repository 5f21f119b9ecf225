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

STREAM_TEST = "sovnet_stream"
MIN_AFTER = 1.0  # seconds of stream after a commit needed to say packets stopped (or started)
TAIL = 3  # a cut whose last reply is within this many packet intervals of the window's end: none


def reply_times(keys: Mapping, t0_wall: float) -> list[float]:
    """A stream measurement's test keys -> when each reply arrived, in t_real, sorted."""
    start = float(keys["start_wall"]) - t0_wall
    return sorted(start + float(r[2]) for r in keys.get("replies") or ())


def window(keys: Mapping, t0_wall: float) -> tuple[float, float]:
    """(first send, last send) of a stream, in t_real."""
    start = float(keys["start_wall"]) - t0_wall
    sent, rate = int(keys.get("sent") or 0), float(keys["rate"])
    return start, start + max(sent - 1, 0) / rate


def _covering(streams: list[dict], t_commit: float, t0_wall: float) -> dict | None:
    for m in streams:
        first, last = window(m["test_keys"], t0_wall)
        if first <= t_commit and last >= t_commit + MIN_AFTER:
            return m
    return None


def measure(keys: Mapping, t0_wall: float, t_commit: float, allowed: bool) -> dict:
    """One pair's figure from the stream that covered the commit:
    {"t_packet", "delay_ms", "replies_before", "replies_after", "note"}."""
    times = reply_times(keys, t0_wall)
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
        _, last_send = window(keys, t0_wall)
        if times[-1] >= last_send - TAIL / float(keys["rate"]):
            out["note"] = "replies ran on to the end of the stream's window: not cut within it"
            return out
        t = times[-1]
    out.update(t_packet=round(t, 4), delay_ms=round((t - t_commit) * 1000.0, 1))
    return out


def stream_effects(steps: Iterable[Mapping], measurements: Iterable[Mapping], t0_wall: float,
                   switch_of: Mapping[str, str]) -> list[dict]:
    """One record per (step, vantage point, service) that a step cut or opened, in step order.

    `steps` are the run's step events, `measurements` its measurement records (only stream
    ones are used), `switch_of` maps a subscriber to its access switch, whose acknowledgement
    of the step is given beside the data-plane figure."""
    streams: dict[tuple[str, str], list[dict]] = {}
    for m in measurements:
        if m.get("test_name") == STREAM_TEST and not m.get("probe_error") and m.get("test_keys"):
            streams.setdefault((m["subscriber"], m["service"]), []).append(m)
    out = []
    for step in steps:
        t_commit = step.get("t_commit")
        if t_commit is None:
            continue
        for sub, svc, allowed in step.get("stream_effect") or ():
            rec = {"step": step["index"], "at_s": step.get("at_s"), "subscriber": sub,
                   "service": svc, "allowed": allowed, "t_commit": t_commit,
                   "switch": switch_of.get(sub), "switch_ack_ms": None}
            ack = (step.get("acks") or {}).get(switch_of.get(sub))
            if ack is not None:
                rec["switch_ack_ms"] = round((ack - t_commit) * 1000.0, 1)
            m = _covering(streams.get((sub, svc), []), t_commit, t0_wall)
            if m is None:
                rec.update(t_packet=None, delay_ms=None, replies_before=0, replies_after=0,
                           note=f"no stream from {sub} to {svc} ran from the change to "
                                f"{MIN_AFTER:g} s after it")
            else:
                rec.update(measure(m["test_keys"], t0_wall, t_commit, allowed))
            out.append(rec)
    return out
