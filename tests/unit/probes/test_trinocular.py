"""The outside prober's rounds: adaptive probing of each block's ever-responsive addresses."""

from __future__ import annotations

import random

from sovnet.probes.trinocular import (
    DOWN,
    MAX_PROBES,
    UNKNOWN,
    UP,
    classify,
    first_round,
    probe_round,
)


class Net:
    """Addresses that answer, and a log of every batch pinged."""

    def __init__(self, alive):
        self.alive = set(alive)
        self.batches: list[list[str]] = []

    def __call__(self, addrs):
        self.batches.append(list(addrs))
        return {a for a in addrs if a in self.alive}


BLOCKS = {"10.1.0.0/24": [f"10.1.0.{i}" for i in range(2, 32)],
          "10.2.0.0/24": ["10.2.0.2", "10.2.0.3"],
          "10.3.0.0/24": ["10.3.0.2"]}


def test_the_first_round_probes_everything_and_learns_who_ever_answers():
    net = Net(BLOCKS["10.1.0.0/24"][:10] + ["10.2.0.2"])
    states, ever = first_round(BLOCKS, net)
    assert len(net.batches) == 1 and len(net.batches[0]) == 33
    assert ever["10.1.0.0/24"] == BLOCKS["10.1.0.0/24"][:10]
    assert {b: s["state"] for b, s in states.items()} == {
        "10.1.0.0/24": UP, "10.2.0.0/24": UP, "10.3.0.0/24": UNKNOWN}


def test_a_round_stops_probing_a_block_at_its_first_reply():
    net = Net(BLOCKS["10.1.0.0/24"])
    _, ever = first_round(BLOCKS, net)
    states = probe_round(ever, net, random.Random(1))
    assert states["10.1.0.0/24"] == {"state": UP, "probes": 1, "replies": 1}
    assert len(net.batches) == 2  # one pass was enough for every block it could probe


def test_a_silent_block_is_down_after_at_most_max_probes_and_a_sparse_one_after_all():
    net = Net(BLOCKS["10.1.0.0/24"] + BLOCKS["10.2.0.0/24"])
    _, ever = first_round(BLOCKS, net)
    net.alive = set()
    states = probe_round(ever, net, random.Random(1))
    assert states["10.1.0.0/24"] == {"state": DOWN, "probes": MAX_PROBES, "replies": 0}
    assert states["10.2.0.0/24"] == {"state": DOWN, "probes": 2, "replies": 0}
    assert states["10.3.0.0/24"]["state"] == UNKNOWN
    probed = [a for batch in net.batches[1:] for a in batch]
    assert len(probed) == len(set(probed))  # no address twice in a round


def test_classify_needs_evidence_before_calling_a_block_down():
    assert classify(1, 1, 30) == UP
    assert classify(2, 0, 30) == UNKNOWN
    assert classify(3, 0, 30) == DOWN
    assert classify(1, 0, 1) == DOWN
    assert classify(0, 0, 0) == UNKNOWN
