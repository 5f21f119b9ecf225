import pytest

from sovnet.compile import compile_flows
from sovnet.flowtable.explain import ExplainError, explain
from tests.unit import handmade


def setup(*policies):
    topo = handmade.topology()
    return topo, compile_flows(topo, policies, handmade.subscribers(topo)), policies


def test_explain_names_the_deciding_policy():
    p = handmade.policy(4, "deny", "international")
    topo, tables, pol = setup(p)
    e = explain(topo, tables, pol, "alice", "social.example")
    text = e.render()
    assert e.policy == p and e.trace.delivered_to is None
    assert "alice -> social [social.example] (172.16.0.2) tcp/80: dropped" in text
    assert "decided by policy #4 deny international for all (priority 100)" in text
    assert "acc1 policy:" in text


def test_explain_delivered_path():
    topo, tables, pol = setup()
    e = explain(topo, tables, pol, "alice", "bank")
    assert e.trace.delivered_to == "bank"
    assert e.trace.hops == ("acc1", "core1", "dc1")
    assert e.render().splitlines()[1] == "  path: acc1 -> core1 -> dc1"


def test_explain_unregistered_device_is_admission():
    topo, tables, pol = setup()
    text = explain(topo, tables, pol, "carol", "bank").render()
    assert "decided by the admission table (baseline flow, no policy)" in text


def test_explain_bad_destination():
    topo, tables, pol = setup()
    with pytest.raises(ExplainError, match="unknown destination 'nowhere'"):
        explain(topo, tables, pol, "alice", "nowhere")
    with pytest.raises(ExplainError, match="unknown source host 'zed'"):
        explain(topo, tables, pol, "zed", "bank")


def test_explain_shows_the_meter_of_a_throttle_and_the_access_decision_beside_it():
    cap = handmade.policy(5, "throttle:256kbit", "any", scope="subscriber:alice")
    topo, tables, pol = setup(cap)
    text = explain(topo, tables, pol, "alice", "social.example").render()
    assert ": delivered to social" in text.splitlines()[0]
    assert "acc1 shaping: table=shaping priority=1400" in text
    assert "-> meter:1,goto:inspect [shaping policy=5]" in text
    assert ("throttled by policy #5 throttle:256kbit any for subscriber:alice (priority 100) "
            "(a meter per subscriber and direction)") in text


def test_explain_follows_a_blockpage_steer_to_the_isp_resolver():
    block = handmade.policy(6, "blockpage", "service:social")
    topo, tables, pol = setup(block)
    e = explain(topo, tables, pol, "alice", "social.example")
    resolver = topo.resolver_for(topo.subscriber("alice").isp).name
    assert e.trace.delivered_to == resolver and e.trace.steered
    assert f"tcp/80: steered to {resolver} (the ISP's resolver and blockpage server" in e.render()
    # HTTPS goes there too (to meet the blockpage's certificate); other ports are dropped.
    https = explain(topo, tables, pol, "alice", "social.example", port=443)
    assert https.trace.delivered_to == resolver and https.policy == block
    other = explain(topo, tables, pol, "alice", "social.example", port=8443)
    assert other.trace.delivered_to is None and other.policy == block


def test_explain_names_the_log_policy_that_records_the_traffic():
    log = handmade.policy(7, "log", "service:bank", scope="subscriber:alice")
    topo, tables, pol = setup(log)
    assert ("logged by policy #7 log service:bank for subscriber:alice (priority 100)"
            in explain(topo, tables, pol, "alice", "bank").render())
    assert "logged" not in explain(topo, tables, pol, "alice", "social.example").render()


def test_explain_names_the_sni_rule_that_decides():
    from sovnet.compile import compile_network

    reset = handmade.policy(9, "reject:residual=90s", "sni:social.example")
    topo = handmade.topology()
    c = compile_network(topo, [reset], handmade.subscribers(topo))
    e = explain(topo, c.flows, [reset], "alice", "social.example", port=443,
                rules=c.inspect)
    text = e.render()
    assert text.splitlines()[0].endswith(
        "tcp/443: reset by the inspector (connection_reset), and the server blocked for 90 s "
        "after")
    assert ("the inspector reads the SNI social.example: decided by policy #9 reject "
            "sni:social.example") in text
    other = explain(topo, c.flows, [reset], "alice", "social.example", port=443,
                    rules=c.inspect, sni="news.example").render()
    assert "delivered: the inspector lets it pass" in other
    assert "the inspector reads the SNI news.example: no inspector rule names it" in other
