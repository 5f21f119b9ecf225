"""A collector's live feed: gobgp's Adj-RIB-In monitor lines as RIS Live messages."""

from __future__ import annotations

import json

from sovnet.emulation.risfeed import messages

# As `gobgp monitor adj-in -j` printed them (GoBGP 3.10), one line each.
ANNOUNCE = json.loads(
    '[{"nlri":{"prefix":"10.1.0.0/17"},"age":1796375050,"best":false,"attrs":[{"type":1,'
    '"value":2},{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[3356,64501]}]},'
    '{"type":3,"nexthop":"172.16.0.3"}],"stale":false,"source-id":"172.16.0.3",'
    '"neighbor-ip":"172.16.0.3"},{"nlri":{"prefix":"10.1.128.0/17"},"age":1796375050,'
    '"best":false,"attrs":[{"type":1,"value":2},{"type":2,"as_paths":[{"segment_type":2,'
    '"num":2,"asns":[3356,64501]}]},{"type":3,"nexthop":"172.16.0.3"}],"stale":false,'
    '"source-id":"172.16.0.3","neighbor-ip":"172.16.0.3"}]')
WITHDRAW = json.loads(
    '[{"nlri":{"prefix":"10.1.0.0/17"},"age":1796375050,"best":false,"attrs":[],'
    '"stale":false,"withdrawal":true,"source-id":"172.16.0.4","neighbor-ip":"172.16.0.4"}]')


def test_an_announcement_becomes_one_ris_message_with_its_path_and_prefixes():
    (m,) = messages(ANNOUNCE, "rrc00", {"172.16.0.3": 3356}, 1796375050.25, 7)
    assert m == {"type": "ris_message", "data": {
        "timestamp": 1796375050.25, "peer": "172.16.0.3", "peer_asn": "3356", "id": "rrc00-7",
        "host": "rrc00", "type": "UPDATE", "path": [3356, 64501],
        "announcements": [{"next_hop": "172.16.0.3",
                           "prefixes": ["10.1.0.0/17", "10.1.128.0/17"]}],
        "withdrawals": []}}


def test_a_withdrawal_names_its_prefixes_and_no_path():
    (m,) = messages(WITHDRAW, "rv2", {"172.16.0.4": 1299}, 1.0, 0)
    assert m["data"]["withdrawals"] == ["10.1.0.0/17"]
    assert m["data"]["announcements"] == [] and m["data"]["path"] == []
    assert m["data"]["peer_asn"] == "1299"


def test_lines_that_are_not_paths_are_skipped():
    assert messages(["error"], "rrc00", {}, 1.0, 0) == []
