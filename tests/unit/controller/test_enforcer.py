"""The sync state machine, on the in-memory store."""

from sovnet.controller.enforcer import Enforcer
from sovnet.model.command import PolicyRequest
from sovnet.reconcile.diff import apply
from sovnet.store.memory import MemoryStore
from tests.unit import handmade


def new_store() -> MemoryStore:
    """Revision 1: the handmade inventory, no policy."""
    store = MemoryStore()
    store.load_inventory(handmade.topology())
    return store


def acked(store) -> list[tuple]:
    return [(a.revision, a.dpid, a.flows_changed, a.note, a.refused) for a in store.acks()]


def bump(store, upto: int) -> None:
    """New revisions up to `upto` that change nothing the controller compiles."""
    while store.revision() < upto:
        store.put_setting("flowlog", {"retention": 1000 + store.revision()})


def make():
    store = new_store()
    e = Enforcer(store, clock=lambda: 123.0)
    assert e.recompile()
    e.connected(1)
    return store, e


def test_first_sync_installs_everything_and_acks_the_revision():
    store, e = make()
    assert e.begin_sync(1)
    plan, _, rev = e.plan_for(1, [])
    assert rev == 1 and len(plan.add) == len(e.desired[1])
    assert not e.acknowledged(1, rev, len(plan))
    assert acked(store) == [(1, 1, len(plan), "", "")]


def test_change_during_a_sync_marks_dirty_and_syncs_again_after_the_barrier():
    store, e = make()
    assert e.begin_sync(1)
    plan, _, rev = e.plan_for(1, [])
    installed = apply(plan, [])
    assert store.add_policy(PolicyRequest.of(
            "deny", "all", "international")).id == 1 and store.revision() == 2
    assert e.recompile()
    assert not e.begin_sync(1)  # busy: only marked dirty
    assert e.acknowledged(1, rev, len(plan)) == "sync"
    assert e.begin_sync(1)
    plan2, _, rev2 = e.plan_for(1, installed)
    assert rev2 == 2 and len(plan2.add) == 1 and not plan2.delete  # one foreign prefix
    e.acknowledged(1, rev2, len(plan2))
    assert [a[0] for a in acked(store)] == [1, 2]


def test_coalesced_revisions_are_all_acknowledged():
    store, e = make()
    e.begin_sync(1)
    e.acknowledged(1, *e.plan_for(1, [])[2:], 0)
    bump(store, 3)
    assert store.add_policy(PolicyRequest.of("deny", "all", "international")).id == 1
    e.recompile()
    e.begin_sync(1)
    plan, _, rev = e.plan_for(1, [])
    e.acknowledged(1, rev, len(plan))
    assert [(a[0], a[2]) for a in acked(store)] == [(1, 0), (2, 0), (3, 0), (4, 1)]


def test_a_revision_that_leaves_a_switch_untouched_is_acknowledged_without_a_word_to_it():
    store, e = make()
    e.begin_sync(1)
    e.acknowledged(1, *e.plan_for(1, [])[2:], 0)
    bump(store, 3)
    e.recompile()
    assert e.begin_sync(1) is None  # nothing to send, not even a barrier
    assert [(a[0], a[2]) for a in acked(store)] == [(1, 0), (2, 0), (3, 0)]


def test_unchanged_revision_does_not_recompile():
    _, e = make()
    assert not e.recompile()


def test_a_refused_change_is_recorded_as_failed_and_retried_in_full():
    store, e = make()
    e.begin_sync(1)
    _, _, rev = e.plan_for(1, [])
    e.error(1, "OpenFlow error type=1 code=2")
    assert e.acknowledged(1, rev, 3) == "retry"
    assert acked(store) == [(rev, 1, 0, "", "OpenFlow error type=1 code=2")]
    assert e.begin_sync(1).kinds is None  # the retry fetches and checks everything
    e.acknowledged(1, *e.plan_for(1, [])[2:], 0)
    assert acked(store)[-1] == (rev, 1, 0, "", "")


def test_nothing_is_synced_or_acknowledged_before_a_first_compile():
    store = new_store()
    e = Enforcer(store)
    e.connected(1)
    assert e.begin_sync(1) is None
    assert acked(store) == []


def test_a_sync_brings_the_switch_to_the_revision_it_began_with():
    store, e = make()
    e.begin_sync(1)
    e.acknowledged(1, *e.plan_for(1, [])[2:], 0)
    assert store.add_policy(PolicyRequest.of(
            "deny", "all", "international")).id == 1 and store.revision() == 2
    e.recompile()
    e.begin_sync(1)  # the sync of revision 2 is under way...
    store.revoke_policy(1)
    assert store.revision() == 3
    e.recompile()  # ...when revision 3 revokes the policy again
    plan, _, rev = e.plan_for(1, [])
    assert rev == 2 and len(plan.add) == 1  # revision 2's flow, as that sync began
    assert e.acknowledged(1, rev, 1) == "sync"  # revision 3 still to do
    assert [a[0] for a in acked(store)] == [1, 2]


def test_a_failed_sync_starts_over_in_full():
    _, e = make()
    e.begin_sync(1)
    e.failed(1, "decode: bad flow")
    plan, _, rev = e.plan_for(1, [])
    assert not plan and rev == -1  # no sync under way any more
    assert e.begin_sync(1).kinds is None


def test_unknown_switch_is_left_alone():
    _, e = make()
    e.connected(99)
    e.begin_sync(99)
    plan, _, _ = e.plan_for(99, [])
    assert not plan


def test_a_routine_sync_fetches_nothing_and_diffs_against_what_the_switch_was_given():
    store, e = make()
    req = e.begin_sync(1)
    assert req.kinds is None  # first sync after connect: every flow
    plan, _, rev = e.plan_for(1, [])
    e.acknowledged(1, rev, len(plan))
    assert store.add_policy(PolicyRequest.of(
            "deny", "all", "service:social")).id == 1 and store.revision() == 2
    e.recompile()
    assert e.begin_sync(1).kinds == frozenset()  # no dump
    plan, _, rev = e.plan_for(1, [])  # what a dump would say is not asked for
    assert len(plan.add) == 1 and not plan.delete and not plan.modify and rev == 2
    e.acknowledged(1, rev, len(plan))
    e.audit(1)
    assert e.begin_sync(1).kinds is None  # the audit fetches and checks everything


def test_a_refusal_forgets_what_the_switch_holds_so_the_next_sync_fetches_everything():
    store, e = make()
    e.begin_sync(1)
    e.acknowledged(1, *e.plan_for(1, [])[2:], 0)
    store.add_policy(PolicyRequest.of("deny", "all", "service:social"))
    e.recompile()
    e.begin_sync(1)
    _, _, rev = e.plan_for(1, [])
    e.error(1, "OpenFlow error type=1 code=2")
    assert e.acknowledged(1, rev, 1) == "retry"
    assert e.begin_sync(1).kinds is None


def test_a_schedule_brings_a_policy_in_and_out_of_force_without_a_new_revision():
    from sovnet.model.schedule import schedule

    now = [0.0]
    # scenario t=0 is 00:00 at Unix time 1000; 1 real second is 1 scenario hour
    store = MemoryStore()
    with store.transaction() as tx:  # revision 1
        tx.load_inventory(handmade.topology())
        tx.put_setting("clock", {"epoch": 1000.0, "scale": 3600.0, "origin": 0.0})
        tx.add_policy(PolicyRequest.of("deny", "all", "any", schedule=schedule("01:00-09:00")))
    e = Enforcer(store, clock=lambda: now[0])
    now[0] = 1000.5  # 00:30
    assert e.recompile() and e.active_ids == frozenset()
    assert e.next_change == 1001.0  # 01:00
    e.connected(1)
    e.begin_sync(1)
    plan, _, rev = e.plan_for(1, [])
    e.acknowledged(1, rev, len(plan))
    assert not e.recompile()  # nothing moved
    now[0] = 1001.0
    assert e.recompile() and e.active_ids == {1} and e.next_change == 1009.0
    assert e.begin_sync(1).kinds == frozenset()
    plan, _, rev = e.plan_for(1, [])
    assert plan.add and rev == 1
    e.acknowledged(1, rev, len(plan))
    assert acked(store)[-1] == (1, 1, len(plan), "schedule: on #1", "")
    now[0] = 1009.0
    assert e.recompile() and e.active_ids == frozenset()
    assert e.transition == "schedule: off #1"
