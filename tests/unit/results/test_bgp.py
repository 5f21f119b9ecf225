"""BGP visibility by IODA's rule from the collectors' feeds (sovnet.results.bgp)."""

from __future__ import annotations

import json
from pathlib import Path

from sovnet.config import load_topology
from sovnet.experiments.expect import evaluate
from sovnet.model.policy import Scope
from sovnet.model.scenario import Expectation, ServiceFilter
from sovnet.results.bgp import (
    Update,
    bgp_signals,
    read_feeds,
    route_effects,
    slash24s,
    visible,
)

BGP = Path(__file__).parents[2] / "integration" / "topologies" / "bgp.yaml"
TOPO = load_topology(BGP)
L3, TELIA = TOPO.host("level3").ip, TOPO.host("telia").ip
PEERS = [("rrc00", L3), ("rrc00", TELIA), ("rv2", L3), ("rv2", TELIA)]
ALL = ("10.1.0.0/17", "10.1.128.0/17", "10.2.0.0/16")


def announce(t, peer, prefixes=ALL):
    return Update(t, peer, tuple(prefixes), ())


def withdraw(t, peer, prefixes):
    return Update(t, peer, (), tuple(prefixes))


def test_a_prefix_is_visible_when_more_than_half_the_full_feed_peers_see_it():
    ribs = {PEERS[0]: {"10.2.0.0/16"}, PEERS[1]: {"10.2.0.0/16"}, PEERS[2]: {"10.2.0.0/16"},
            PEERS[3]: set()}
    assert visible(ribs, PEERS) == {"10.2.0.0/16"}
    ribs[PEERS[2]] = set()  # two of four: not more than half
    assert visible(ribs, PEERS) == set()


def test_slash24s_counts_each_block_once_and_only_inside_the_space():
    assert slash24s(["10.1.0.0/16", "10.1.0.0/17"]) == 256
    assert slash24s(["10.1.0.0/17"], ["10.1.0.0/16"]) == 128
    assert slash24s(["10.0.0.0/8"], ["10.2.0.0/16"]) == 256
    assert slash24s(["10.1.0.0/25"]) == 0  # longer than a /24: IODA counts /24s


def _signals(updates, until=10):
    return {s["entityName"]: s for s in bgp_signals(TOPO, updates, 0, until, 1)}


def test_the_signal_per_isp_and_country_follows_a_withdrawal_seen_by_every_peer():
    updates = [announce(0, p) for p in PEERS]
    updates += [withdraw(5 + 0.1 * i, p, ("10.1.0.0/17", "10.1.128.0/17"))
                for i, p in enumerate(PEERS)]
    s = _signals(updates)
    assert s["fixnet"]["entityType"] == "asn" and s["fixnet"]["entityCode"] == "64501"
    assert s["fixnet"]["datasource"] == "bgp"
    assert s["fixnet"]["values"][:5] == [256] * 5
    # at t=5 one peer of four had withdrawn (three still see it); from t=6 all four had
    assert s["fixnet"]["values"][5:] == [256] + [0] * 5
    assert s["mobinet"]["values"] == [256] * 11
    assert s["bgplab"]["entityType"] == "country"
    assert s["bgplab"]["values"][-1] == 256
    assert (s["bgplab"]["from"], s["bgplab"]["until"], s["bgplab"]["step"]) == (0, 11, 1)


def test_a_route_effect_gives_the_time_until_the_last_peer_withdrew():
    updates = [announce(0, p) for p in PEERS]
    updates += [withdraw(5 + 0.1 * i, p, ("10.2.0.0/16",)) for i, p in enumerate(PEERS)]
    (effect,) = route_effects(TOPO, updates, [(1, 4.9)], 10.0)
    assert effect["withdrawn"] == ["10.2.0.0/16"] and effect["announced"] == []
    assert effect["peers"] == 4
    assert abs(effect["withdrawal_seen_s"] - 0.4) < 1e-9
    assert route_effects(TOPO, updates, [], 10.0) == []  # a run that changed nothing


def test_feeds_are_read_from_ris_live_messages(tmp_path):
    msg = {"type": "ris_message", "data": {
        "timestamp": 3.5, "peer": L3, "peer_asn": "3356", "id": "rrc00-0", "host": "rrc00",
        "type": "UPDATE", "path": [3356, 64501],
        "announcements": [{"next_hop": L3, "prefixes": ["10.1.0.0/17"]}], "withdrawals": []}}
    (tmp_path / "rrc00.ris.jsonl").write_text(json.dumps(msg) + "\n{torn")
    assert read_feeds(tmp_path, ["rrc00", "rv2"]) == [
        Update(3.5, ("rrc00", L3), ("10.1.0.0/17",), ())]


def test_bgp_visibility_expectations_take_the_median_share_of_t0_in_the_window():
    updates = [announce(0, p) for p in PEERS]
    updates += [withdraw(5, p, ("10.1.0.0/17", "10.1.128.0/17")) for p in PEERS]
    signals = bgp_signals(TOPO, updates, 0, 10, 1)

    def check(scope, during, op, threshold):
        e = Expectation("x", (scope,), during, ServiceFilter(), "bgp_visibility", op,
                        threshold)
        (r,) = evaluate(TOPO, [e], [], (), signals)
        return r

    r = check(Scope("isp", "fixnet"), (6.0, 10.0), "<=", 0.15)
    assert r.passed and r.observed == 0.0 and r.n == 5
    assert not check(Scope("isp", "fixnet"), (0.0, 4.0), "<=", 0.15).passed
    assert check(Scope("all"), (6.0, 10.0), "<=", 0.5).observed == 0.5
    missing = check(Scope("isp", "nobody"), (0.0, 4.0), ">=", 0.5)
    assert not missing.passed and missing.note == "no bgp signal for isp:nobody"


def test_regions_get_the_blocks_their_subscribers_are_in_and_their_own_series():
    from sovnet.results.bgp import region_blocks

    assert region_blocks(TOPO) == {"north": ["10.1.0.0/24"], "south": ["10.2.0.0/24"]}
    updates = [announce(0, p) for p in PEERS]
    updates += [withdraw(5, p, ("10.1.0.0/17",)) for p in PEERS]
    s = _signals(updates)
    assert s["north"]["entityType"] == "region" and s["north"]["datasource"] == "bgp"
    assert s["north"]["values"][:5] == [1] * 5 and s["north"]["values"][5:] == [0] * 6
    assert s["south"]["values"] == [1] * 11
