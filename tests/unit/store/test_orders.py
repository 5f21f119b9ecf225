"""revisions.jsonl: the store's orders as the run folder keeps them, read back by the report's
model (sovnet.results.Revision), on both store backends."""

from __future__ import annotations

import json

from sovnet.config import load_topology
from sovnet.model.command import PolicyRequest
from sovnet.results import Revision
from sovnet.store.orders import revision_lines, write_revisions


def test_every_order_after_the_inventory_with_its_changes_and_acks(store) -> None:
    topo = load_topology("topologies/minimal.yaml")
    store.load_inventory(topo, author="sovnet", reason="inventory")
    with store.transaction(author="scenario:x", reason="cut") as tx:
        p = tx.add_policy(PolicyRequest.of("deny", "isp:mobinet", "international",
                                           reason="national order 7"))
    rev = store.revision()
    t0 = store.revision_info(rev).committed_at - 2.0
    sw = {s.dpid: s.name for s in topo.switches}
    acc2, gw1 = (next(d for d, n in sw.items() if n == name) for name in ("acc2", "gw1"))
    store.record_ack(rev, acc2, t0 + 2.010, 4)
    store.record_ack(rev, gw1, t0 + 2.030, 0, refused="table full")
    store.record_ack(rev, acc2, t0 + 2.500, 0)  # a later resend: the first answer counts
    store.revoke_policy(p.id, author="scenario:x", reason="restore")
    lines = revision_lines(store, t0, 100.0, sw)
    assert [(x["revision"], x["author"], x["reason"]) for x in lines] == [
        (rev, "scenario:x", "cut"), (rev + 1, "scenario:x", "restore")]
    cut = Revision.parse(json.loads(json.dumps(lines[0])), "line 1")
    assert cut.t_real is not None and abs(cut.t_real - 2.0) < 1e-6
    assert cut.t_scenario is not None and abs(cut.t_scenario - 200.0) < 1e-3
    [change] = cut.changes
    assert (change.entity, change.key, change.op) == ("policy", str(p.id), "put")
    assert change.body["reason"] == "national order 7"
    assert set(cut.acks) == {"acc2", "gw1"}
    assert abs(cut.ack_ms("acc2") - 10.0) < 1e-3 and cut.acks["acc2"].flows_changed == 4
    assert cut.acks["gw1"].refused == "table full"
    assert Revision.parse(lines[1], "line 2").changes[0].op == "delete"


def test_written_to_the_run_folder_from_the_store_file(tmp_path) -> None:
    from sovnet.store import open_store

    topo = load_topology("topologies/minimal.yaml")
    with open_store(tmp_path / "store.db") as store:
        store.load_inventory(topo)
        store.add_policy(PolicyRequest.of("deny", "all", "international"))
    out = tmp_path / "revisions.jsonl"
    assert write_revisions(tmp_path / "store.db", out, None, 1.0, {}) == 1
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert "t_real" not in line and line["changes"][0]["body"]["action"] == "deny"
    assert write_revisions(tmp_path / "none.db", tmp_path / "empty.jsonl", None, 1.0, {}) == 0
    assert (tmp_path / "empty.jsonl").read_text() == ""
