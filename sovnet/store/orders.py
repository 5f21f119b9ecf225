"""A run's orders: the store's revisions after the inventory, written to the run folder as
revisions.jsonl, so the report can say what was ordered, by whom and why, and when each
switch enforced it, from the folder alone (the report never opens the store).

    write_revisions(store_path, folder / "revisions.jsonl", t0_wall, time_scale, switch_names)

One JSON object a line, oldest first; the format is in results/README.md.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from sovnet.store.base import Ack, PolicyStore, RevisionInfo


def revision_lines(store: PolicyStore, t0_wall: float | None, time_scale: float,
                   switch_names: dict[int, str]) -> list[dict[str, Any]]:
    """Every revision that is not an inventory load, with its changes and its acks."""
    acks: dict[int, list[Ack]] = defaultdict(list)
    for a in store.acks():
        acks[a.revision].append(a)
    return [_line(rev, acks[rev.id], t0_wall, time_scale, switch_names)
            for rev in store.history()
            if not any(c.entity == "inventory" for c in rev.changes)]


def _line(rev: RevisionInfo, acks: list[Ack], t0_wall: float | None, scale: float,
          names: dict[int, str]) -> dict[str, Any]:
    def clock(wall: float) -> dict[str, float]:
        if t0_wall is None:
            return {}
        t = wall - t0_wall
        return {"t_real": round(t, 6), "t_scenario": round(t * scale, 3)}

    by_switch: dict[str, dict[str, Any]] = {}
    for a in acks:  # the first answer of each switch is the one that enforced (or refused) it
        name = names.get(a.dpid, f"dpid:{a.dpid:x}")
        ack: dict[str, Any] = {"wall": a.acked_at, "flows_changed": a.flows_changed}
        by_switch.setdefault(name, ack | ({"refused": a.refused} if a.refused else {}))
    return {"revision": rev.id, "committed_wall": rev.committed_at, **clock(rev.committed_at),
            "author": rev.author, "reason": rev.reason,
            "changes": [{"entity": c.entity, "key": c.key, "op": c.op, "body": c.body}
                        for c in rev.changes],
            "acks": by_switch}


def write_revisions(store_path: str | os.PathLike[str], out: str | os.PathLike[str],
                    t0_wall: float | None, time_scale: float,
                    switch_names: dict[int, str]) -> int:
    """Write the store's orders to `out`; returns how many revisions. No store: an empty file."""
    from sovnet.store.sqlite import open_store

    path = Path(out)
    if not Path(store_path).is_file():
        path.write_text("")
        return 0
    with open_store(store_path, create=False) as store:
        lines = revision_lines(store, t0_wall, time_scale, switch_names)
    with open(path, "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, separators=(",", ":")) + "\n")
    return len(lines)
