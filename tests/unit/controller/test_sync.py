"""SwitchSync with a fake switch: what the controller sends, in which order, and what it records."""

import pytest
from os_ken.ofproto import ofproto_v1_3 as ofp

from sovnet.controller.enforcer import Enforcer
from sovnet.controller.ofcodec import decode_stats
from sovnet.controller.sync import RETRY_FIRST, RETRY_MAX, Step, SwitchSync
from sovnet.model.command import PolicyRequest
from tests.unit.controller.fakeswitch import FakeSwitch, converse
from tests.unit.controller.test_enforcer import bump, new_store

THROTTLE = PolicyRequest.of("throttle:256kbit", "all", "service:cdn")


def setup(use_bundles=True, part_size=1000):
    """The handmade inventory with a throttle in force (revision 2)."""
    store = new_store()
    store.add_policy(THROTTLE)
    enforcer = Enforcer(store, clock=lambda: 123.0)
    assert enforcer.recompile()
    sync = SwitchSync(enforcer, use_bundles)
    switch = FakeSwitch(1, part_size)
    return store, enforcer, sync, switch


def acks(store) -> list[tuple]:
    return [(a.revision, a.dpid, a.flows_changed, a.refused) for a in store.acks()]


def holds(switch, enforcer) -> bool:
    """The switch holds exactly the desired flows and meters of its revision."""
    flows = decode_stats(switch.id, ofp, list(switch.flows.values()))
    meters = {m.meter_id: (m.rate_kbps, m.burst_kbit) for m in enforcer.meters.get(switch.id, ())}
    return (len(flows) == len(set(flows)) and set(flows) == set(enforcer.desired[switch.id])
            and switch.meters == meters)


def test_a_switch_that_connects_gets_meters_then_one_bundle_then_a_barrier():
    store, enforcer, sync, switch = setup()
    converse(sync, switch, sync.connected(1))
    n_flows, n_meters = len(enforcer.desired[1]), len(enforcer.meters[1])
    assert n_meters == 2  # one each way
    assert switch.sent == ["meters?", "flows?", "meter+", "meter+", "open", *["bundled"] * n_flows,
                           "commit", "barrier"]
    assert holds(switch, enforcer)
    assert acks(store) == [(2, 1, n_flows + n_meters, "")]


def test_without_bundles_the_same_changes_go_as_bare_flow_mods():
    store, enforcer, sync, switch = setup(use_bundles=False)
    converse(sync, switch, sync.connected(1))
    assert switch.sent == ["meters?", "flows?", "meter+", "meter+",
                           *["flow-mod"] * len(enforcer.desired[1]), "barrier"]
    assert holds(switch, enforcer)


def test_a_policy_change_dumps_nothing_and_sends_the_difference_in_one_bundle():
    store, enforcer, sync, switch = setup()
    converse(sync, switch, sync.connected(1))
    switch.sent.clear()
    store.add_policy(PolicyRequest.of("deny", "all", "service:social"))
    assert enforcer.recompile()
    converse(sync, switch, sync.sync(1))
    assert switch.sent == ["open", "bundled", "commit", "barrier"]
    assert holds(switch, enforcer)
    assert acks(store)[-1] == (3, 1, 1, "")


def test_lifting_a_throttle_deletes_its_meter_after_the_flows_that_use_it():
    store, enforcer, sync, switch = setup()
    converse(sync, switch, sync.connected(1))
    switch.sent.clear()
    store.revoke_policy(1)
    enforcer.recompile()
    converse(sync, switch, sync.sync(1))
    assert switch.sent[0] == "open"
    assert switch.sent[-4:] == ["commit", "meter-", "meter-", "barrier"]
    assert holds(switch, enforcer) and switch.meters == {}


def test_an_audit_puts_a_dump_in_parts_together_and_repairs_a_flow_removed_behind_our_back():
    store, enforcer, sync, switch = setup(part_size=3)
    converse(sync, switch, sync.connected(1))
    removed = next(k for k, f in switch.flows.items() if f.priority > 0)
    del switch.flows[removed]
    switch.sent.clear()
    steps = converse(sync, switch, sync.audit(1))
    parts = -(-(len(enforcer.desired[1]) - 1) // 3)
    assert [bool(s.send) for s in steps[2:2 + parts]] == [False] * (parts - 1) + [True]
    assert switch.sent == ["meters?", "flows?", "open", "bundled", "commit", "barrier"]
    assert holds(switch, enforcer)


def test_a_switch_a_change_does_not_touch_gets_nothing_and_acknowledges_at_once():
    store, enforcer, sync, switch = setup()
    converse(sync, switch, sync.connected(1))
    switch.sent.clear()
    bump(store, 3)  # a revision that changes nothing on this switch
    assert enforcer.recompile()
    converse(sync, switch, sync.sync(1))
    assert switch.sent == []
    assert acks(store)[-1] == (3, 1, 0, "")


def test_a_refused_bundle_is_retried_with_growing_pauses_until_it_takes():
    store, enforcer, sync, switch = setup()
    switch.refuse_commits = True
    steps = converse(sync, switch, sync.connected(1))
    assert steps[-1] == Step(retry_in=RETRY_FIRST)
    assert switch.flows == {} and acks(store)[-1][2] == 0 and acks(store)[-1][3]
    assert converse(sync, switch, sync.sync(1))[-1] == Step(retry_in=2 * RETRY_FIRST)
    switch.refuse_commits = False
    switch.sent.clear()
    assert converse(sync, switch, sync.sync(1))[-1] == Step()
    assert switch.sent[:2] == ["meters?", "flows?"]  # after a refusal: everything, checked
    assert holds(switch, enforcer) and acks(store)[-1][3] == ""
    switch.refuse_commits = True
    store.revoke_policy(1)
    enforcer.recompile()
    assert converse(sync, switch, sync.sync(1))[-1] == Step(retry_in=RETRY_FIRST)  # reset


def test_the_pause_between_retries_stops_growing():
    _, enforcer, sync, _ = setup()
    sync.connected(1)
    delays = [sync.failed(1, "boom").retry_in for _ in range(10)]
    assert delays[:3] == [RETRY_FIRST, 2 * RETRY_FIRST, 4 * RETRY_FIRST]
    assert max(delays) == delays[-1] == RETRY_MAX


def test_a_sync_that_raises_starts_the_switch_over_later(caplog):
    _, enforcer, sync, _ = setup()
    sync.connected(1)

    def broken(dpid):
        raise RuntimeError("no")

    enforcer.begin_sync = broken
    assert sync.sync(1) == Step(retry_in=RETRY_FIRST)
    assert enforcer.switches[1].note == "sync: no"
    assert "dpid=0000000000000001 sync failed" in caplog.text


def test_a_barrier_nobody_asked_for_is_ignored():
    store, enforcer, sync, switch = setup()
    converse(sync, switch, sync.connected(1))
    assert sync.barrier_reply(1, 999) == Step()
    assert sync.barrier_reply(2, 1) == Step()
    assert len(store.acks()) == 1


def test_a_disconnect_drops_the_dump_under_way_and_an_offline_switch_gets_nothing():
    store, enforcer, sync, switch = setup()
    step = sync.connected(1)
    sync.flow_stats(1, [object()], ofp.OFPMPF_REPLY_MORE)
    sync.disconnected(1)
    assert sync.stats_parts == {} and sync.meter_parts == {}
    assert sync.sync(1) == Step() and sync.audit(1) == Step()
    assert 1 not in enforcer.switches
    converse(sync, switch, sync.connected(1))  # a reconnect starts from scratch
    assert holds(switch, enforcer) and step.send


def test_a_switch_not_in_the_inventory_is_left_alone():
    store, enforcer, sync, _ = setup()
    assert sync.connected(99) == Step()


@pytest.mark.parametrize("xid", [1, 0xFFFFFFFF])
def test_barrier_xids_are_unique_and_wrap_without_zero(xid):
    _, _, sync, _ = setup()
    sync.connected(1)
    sync.xid = xid - 1
    assert sync.flow_stats(1, [], 0).send[-1].xid == xid
    sync.enforcer.failed(1, "again")
    sync.sync(1)
    assert sync.flow_stats(1, [], 0).send[-1].xid == (xid % 0xFFFFFFFF) + 1


def test_after_a_change_only_the_switches_it_touches_are_synced_the_rest_ack_in_one_write():
    store, enforcer, sync, acc1 = setup()
    acc2 = FakeSwitch(2, 1000)
    converse(sync, acc1, sync.connected(1))
    converse(sync, acc2, sync.connected(2))
    acc1.sent.clear()
    acc2.sent.clear()
    store.add_policy(PolicyRequest.of("deny", "isp:mobinet", "international"))  # acc2 only
    writes = []
    record = store.record_acks
    store.record_acks = lambda acks: (writes.append(len(acks)), record(acks))
    assert enforcer.recompile()
    steps = sync.sync_all()
    assert list(steps) == [2]
    assert writes == [1] and acks(store)[-1] == (3, 1, 0, "")  # acc1: acknowledged at once
    converse(sync, acc2, steps[2])
    assert acc1.sent == [] and acc2.sent == ["open", "bundled", "commit", "barrier"]
    assert holds(acc2, enforcer) and acks(store)[-1][:3] == (3, 2, 1)
