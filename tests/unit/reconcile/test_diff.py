from sovnet.compile import compile_flows
from sovnet.model.flows import make_cookie, rule
from sovnet.reconcile.diff import FlowPlan, apply, diff
from tests.unit import handmade


def flows_for(*policies):
    topo = handmade.topology()
    return compile_flows(topo, policies, handmade.subscribers(topo))


def test_same_flows_give_an_empty_plan():
    t = flows_for(handmade.policy(1, "deny", "international"))
    for flows in t.values():
        assert diff(flows, flows) == FlowPlan()


def test_empty_switch_gets_everything_added():
    flows = flows_for()[1]
    plan = diff(flows, [])
    assert len(plan.add) == len(flows) and not plan.modify and not plan.delete


def test_foreign_cookies_are_never_touched():
    alien = rule(1, 0, 5, {"in_port": 9}, (), cookie=0x1234)
    plan = diff(flows_for()[1], [*flows_for()[1], alien])
    assert plan == FlowPlan()


def test_policy_added_then_revoked():
    before = flows_for()[1]
    after = flows_for(handmade.policy(5, "deny", "service:social"))[1]
    plan = diff(after, before)
    assert len(plan.add) == 1 and not plan.delete
    back = diff(before, after)
    assert len(back.delete) == 1 and not back.add
    assert apply(plan, before) == tuple(sorted(after, key=lambda f: f.key))


def test_changed_cookie_or_instructions_is_a_modify():
    a = rule(1, 1, 1201, {"eth_type": 0x800}, (), make_cookie("policy", 1))
    b = rule(1, 1, 1201, {"eth_type": 0x800}, (), make_cookie("policy", 2))
    c = rule(1, 1, 1201, {"eth_type": 0x800}, (("goto", 2),), make_cookie("policy", 1))
    assert diff([b], [a]).modify == (b,)
    assert diff([c], [a]).modify == (c,)


def test_plan_applied_reaches_desired_for_every_pair_of_policy_sets():
    sets = [(), (handmade.policy(1, "deny", "international"),),
            (handmade.policy(1, "deny", "international"),
             handmade.policy(2, "allow", "service:cdn", priority=200)),
            (handmade.policy(3, "deny", "any", scope="isp:fixnet"),)]
    for x in sets:
        for y in sets:
            fx, fy = flows_for(*x), flows_for(*y)
            for dpid in fx:
                got = apply(diff(fy[dpid], fx[dpid]), fx[dpid])
                assert got == tuple(sorted(fy[dpid], key=lambda f: f.key))


def test_plans_sort_keys_whose_match_values_differ_in_type():
    # Found by the property tests: an address (str) and a prefix (tuple) at one priority.
    host = rule(1, 1, 1200, {"eth_type": 0x800, "ipv4_dst": "10.250.0.2"}, (), 0x50E7 << 48)
    net = rule(1, 1, 1200, {"eth_type": 0x800, "ipv4_dst": "172.16.0.0/12"}, (), 0x50E7 << 48)
    plan = diff([host, net], [])
    assert set(plan.add) == {host, net}
    assert sorted([net.key, host.key]) == sorted([host.key, net.key])
