"""The incremental compiler gives, after any sequence of store changes, exactly what a compile
from scratch gives, and leaves untouched the switches a change does not reach."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovnet.compile import NetworkCompiler, compile_network
from sovnet.config import load_topology
from sovnet.model.policy import initial_subscribers
from tests.unit import handmade

TOPOLOGIES = Path(__file__).parents[3] / "topologies"
DUAL = load_topology(str(TOPOLOGIES / "national-dual.yaml"))
MINIMAL = load_topology(str(TOPOLOGIES / "minimal.yaml"))
SUBS = [s.name for s in MINIMAL.subscribers]
ACTIONS = ["allow", "deny", "reject", "blockpage", "steer_dns", "throttle:256kbit",
           "reject:both", "throttle:140kbit"]
TARGETS = ["international", "any", "service:bank", "category:GRP", "port:udp/443",
           "locus:foreign", "prefix:172.16.0.0/24", "any@ipv6", "sni:friendbook.example",
           "quic", "host:worldnews.example"]
SCOPES = ["all", "isp:mobinet", "isp:fixnet", "class:mobile_prepaid", "subscriber:alice",
          "tier:registered", "tier:verified", "standing:<40"]
DPI = ("sni:", "quic", "host:")


def _policy(pid, action, target, scope, priority):
    if target.startswith(DPI) and action.split(":")[0] not in ("deny", "reject", "throttle"):
        action = "deny"
    return handmade.policy(pid, action, target, scope, priority)


change = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(ACTIONS), st.sampled_from(TARGETS),
              st.sampled_from(SCOPES), st.integers(1, 300)),
    st.tuples(st.just("revoke"), st.integers(0, 30)),
    st.tuples(st.just("state"), st.sampled_from(SUBS),
              st.sampled_from(["registered", "verified", "revoked"]), st.integers(0, 100)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(change, min_size=1, max_size=12))
def test_any_sequence_of_changes_compiles_as_from_scratch(changes):
    compiler = NetworkCompiler()
    policies: list = []
    subs = initial_subscribers(MINIMAL)
    last = compiler.compile(MINIMAL, policies, subs)
    for n, c in enumerate(changes, 1):
        if c[0] == "add":
            policies.append(_policy(100 + n, *c[1:]))
        elif c[0] == "revoke" and policies:
            policies.pop(c[1] % len(policies))
        elif c[0] == "state":
            subs = {**subs, c[1]: replace(subs[c[1]], status=c[2], standing=c[3])}
        got = compiler.compile(MINIMAL, policies, subs)
        want = compile_network(MINIMAL, policies, subs)
        assert got.flows == want.flows
        assert got.meters == want.meters
        assert got.inspect == want.inspect
        for dpid, flows in got.flows.items():  # untouched switches keep their very tuple
            if flows == last.flows[dpid] and got.meters[dpid] == last.meters[dpid]:
                assert flows is last.flows[dpid]
        last = got


def test_a_policy_for_one_isp_reaches_only_its_access_switches():
    compiler = NetworkCompiler()
    subs = initial_subscribers(DUAL)
    before = compiler.compile(DUAL, [], subs)
    after = compiler.compile(DUAL, [handmade.policy(1, "deny", "international", "isp:mobiq")],
                             subs)
    touched = {DUAL.switch(s.name).dpid for s in DUAL.switches
               if after.flows[s.dpid] is not before.flows[s.dpid]}
    mobiq_access = {DUAL.switch(h.switch).dpid for h in DUAL.hosts
                    if h.kind == "subscriber" and DUAL.subscriber(h.name).isp == "mobiq"}
    assert touched == mobiq_access


def test_a_compile_that_fails_half_way_leaves_nothing_half_done():
    from sovnet.errors import CompileError

    no_resolver = replace(MINIMAL, resolvers=())
    subs = initial_subscribers(no_resolver)
    deny = handmade.policy(1, "deny", "service:news", "all")
    steer = handmade.policy(2, "blockpage", "service:social", "isp:mobinet")  # no resolver
    compiler = NetworkCompiler()
    compiler.compile(no_resolver, [], subs)
    with pytest.raises(CompileError):
        compiler.compile(no_resolver, [deny, steer], subs)
    assert compiler.compile(no_resolver, [deny], subs) == compile_network(no_resolver, [deny],
                                                                          subs)
