"""The ping-slash24 signal from the prober's rounds (sovnet.results.outside)."""

from __future__ import annotations

import json
from pathlib import Path

from sovnet.config import load_topology
from sovnet.results.outside import ping_signals, read_rounds, targets

ROOT = Path(__file__).parents[3]
NATIONAL = load_topology(ROOT / "topologies" / "national.yaml")


def test_the_prober_is_given_every_domestic_host_but_no_router():
    t = targets(NATIONAL)
    assert sorted(t) == ["10.1.0.0/24", "10.2.0.0/24", "10.250.0.0/24", "10.3.0.0/24"]
    given = {a for addrs in t.values() for a in addrs}
    assert NATIONAL.host("alice").ip in given and NATIONAL.host("bank").ip in given
    assert NATIONAL.host("tnbgp").ip not in given
    assert NATIONAL.host("social").ip not in given


def _round(t_end, down=()):
    return {"round": 0, "t": t_end - 0.1, "t_end": t_end, "blocks": {
        b: {"state": "down" if b in down else "up", "probes": 1, "replies": 0 if b in down
            else 1} for b in targets(NATIONAL)}}


def test_the_signal_counts_up_blocks_per_isp_from_the_latest_round(tmp_path):
    path = tmp_path / "gatech.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in
                            [_round(0.5), _round(2.5, down={"10.2.0.0/24", "10.3.0.0/24"})])
                    + '{"torn')
    rounds = read_rounds(path)
    assert len(rounds) == 2
    s = {x["entityName"]: x for x in ping_signals(NATIONAL, rounds, 0, 4, 1)}
    assert s["mobiq"]["datasource"] == "ping-slash24"
    assert s["mobiq"]["values"] == [None, 1, 1, 0, 0]
    assert s["telenat"]["values"] == [None, 2, 2, 2, 2]  # its own block and the data centre's
    assert s["national"]["values"] == [None, 4, 4, 2, 2]
