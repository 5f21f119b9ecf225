import pytest

from sovnet.compile import compile_flows
from sovnet.reconcile.explain import ExplainError, explain
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
