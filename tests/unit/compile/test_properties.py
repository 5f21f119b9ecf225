"""The compiler against its specification (sovnet.compile.reference) on random policy sets:
what the compiled tables do to a packet, run in the simulator, must be what the policies say."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sovnet.compile import compile_flows
from sovnet.compile.reference import allowed
from sovnet.flowtable.simulate import trace
from sovnet.model.policy import Policy, Scope, SubscriberState, Target
from sovnet.reconcile.diff import apply, diff
from tests.unit import handmade

TOPO = handmade.topology()
SCOPES = [Scope("all"), Scope("isp", "fixnet"), Scope("isp", "mobinet"),
          Scope("class", "fixed_home"), Scope("class", "mobile_prepaid"),
          Scope("subscriber", "alice"), Scope("subscriber", "bob"), Scope("tier", "verified"),
          Scope("tier", "privileged"), Scope("standing", "<50")]
TARGETS = [Target("international"), Target("any"), Target("service", "bank"),
           Target("service", "cdn"), Target("category", "GRP"), Target("locus", "domestic"),
           Target("locus", "foreign"), Target("prefix", "172.16.0.0/30"),
           Target("prefix", "10.250.0.3/32"), Target("port", "udp/53"),
           Target("port", "tcp/80"), Target("port", "icmp")]

policy_sets = st.lists(
    st.tuples(st.sampled_from(("allow", "deny", "reject", "blockpage", "steer_dns",
                               "dns_tamper:nxdomain", "throttle:256kbit", "log")),
              st.sampled_from(SCOPES),
              st.sampled_from(TARGETS), st.integers(0, 5)),
    max_size=6,
).map(lambda xs: tuple(Policy(i + 1, a, s, t, p) for i, (a, s, t, p) in enumerate(xs)))

standing = st.fixed_dictionaries({
    name: st.tuples(st.sampled_from(("registered", "verified", "privileged", "revoked")),
                    st.booleans(), st.sampled_from((0, 49, 50, 100)))
    for name in ("alice", "bob", "carol")
}).map(lambda d: {n: SubscriberState(n, status, frozenset({TOPO.host(n).mac} if dev else ()),
                                     score)
                  for n, (status, dev, score) in d.items()})

PACKETS = [(6, 80), (17, 53), (6, 53), (6, 443), (1, None)]


def delivered(tables, src, dst, proto, port):
    s, d = TOPO.host(src), TOPO.host(dst)
    pkt = {"eth_src": s.mac, "eth_type": 0x0800, "ipv4_src": s.ip, "ipv4_dst": d.ip,
           "ip_proto": proto}
    if port is not None:
        pkt["tcp_dst" if proto == 6 else "udp_dst"] = port
    return trace(TOPO, tables, src, pkt).delivered_to == dst


@settings(max_examples=150, deadline=None)
@given(policy_sets, standing)
def test_compiled_tables_do_what_the_policies_say(policies, subs):
    tables = compile_flows(TOPO, policies, subs)
    for src in ("alice", "bob", "carol", "bank"):
        for dst in (h.name for h in TOPO.hosts if h.name != src):
            for proto, port in PACKETS:
                want = allowed(TOPO, policies, subs, src, TOPO.host(src).mac,
                               TOPO.host(dst).ip, proto, port)
                assert delivered(tables, src, dst, proto, port) == want, (src, dst, proto)


@settings(max_examples=60, deadline=None)
@given(policy_sets, policy_sets, standing)
def test_a_plan_takes_any_state_to_any_other(before, after, subs):
    old = compile_flows(TOPO, before, subs)
    new = compile_flows(TOPO, after, subs)
    for dpid in new:
        plan = diff(new[dpid], old[dpid])
        assert apply(plan, old[dpid]) == tuple(sorted(new[dpid], key=lambda f: f.key))
        assert not diff(new[dpid], apply(plan, old[dpid]))


@settings(max_examples=60, deadline=None)
@given(policy_sets)
def test_compile_does_not_depend_on_the_order_policies_come_in(policies):
    subs = handmade.subscribers(TOPO)
    assert compile_flows(TOPO, policies, subs) == compile_flows(TOPO, policies[::-1], subs)
