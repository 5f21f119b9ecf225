"""A run's flow log as the run folder's flows.jsonl, with times on the run's clocks.

    settle(lab.store, traffic_ended_wall)   # before the lab stops: let the last exports land
    write_jsonl(store_path, folder / "flows.jsonl", t0_wall, time_scale, switch_names)

The format is in results/README.md.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from sovnet.model.policy import action_kind
from sovnet.store.base import PolicyStore

# From a flow's last packet to its export reaching the collector: OVS exports a flow once
# its counters (read from the datapath by the revalidators every 0.5 s) are older than the
# active timeout (1 s, the least OVS takes), checking once a second. Measured 0.6-2.0 s on the
# userspace datapath; there is no signal that an exporter has nothing more to send.
EXPORT_BOUND = 3.0


def logging_used(store: PolicyStore) -> bool:
    """Did any revision of the store add a log policy?"""
    return any(c.entity == "policy" and c.op == "put"
               and action_kind(c.body.get("action", "")) == "log"
               for rev in store.history() for c in rev.changes)


def settle(store: PolicyStore, traffic_ended: float, bound: float = EXPORT_BOUND) -> float:
    """Wait until the exports of traffic that ended at `traffic_ended` (wall clock) can have
    reached the collector; at once when no log policy was ever in force. Returns the seconds
    waited. Stopping the collector afterwards writes what it has received."""
    if not logging_used(store):
        return 0.0
    left = traffic_ended + bound - time.time()
    if left > 0:
        time.sleep(left)  # a bound on an exporter with no completion signal, not a guess
    return max(left, 0.0)


def write_jsonl(store_path: str | os.PathLike, out: str | os.PathLike, t0_wall: float | None,
                time_scale: float, switch_names: dict[int, str]) -> int:
    """Write every flow record of the store to `out`, one JSON object a line, oldest first;
    returns how many. t0_wall None (the run's clock never started): no t_real/t_scenario."""
    from sovnet.store import open_store

    path = Path(out)
    if not Path(store_path).is_file():
        path.write_text("")
        return 0
    with open_store(store_path, create=False) as store:
        recs = store.flows.records()
    with open(path, "w", encoding="utf-8") as fh:
        for r in recs:
            fh.write(json.dumps(_line(r, t0_wall, time_scale, switch_names),
                                separators=(",", ":")) + "\n")
    return len(recs)


def _line(r, t0_wall: float | None, time_scale: float, switch_names: dict[int, str]) -> dict:
    d = asdict(r)
    d.pop("id")
    first, last, collected = d.pop("first_seen"), d.pop("last_seen"), d.pop("collected_at")
    d.update(switch=switch_names.get(r.dpid), first_wall=first, last_wall=last,
             collected_wall=collected)
    if t0_wall:
        d.update(t_real=round(first - t0_wall, 4), t_real_end=round(last - t0_wall, 4),
                 t_scenario=round((first - t0_wall) * time_scale, 1),
                 t_scenario_end=round((last - t0_wall) * time_scale, 1))
    else:
        d.update(t_real=None, t_real_end=None, t_scenario=None, t_scenario_end=None)
    return d
