"""Compile the whole network once, then each store change only where it lands.

A NetworkCompiler keeps, per switch, the pieces its flows are made of: the admission table
(its subscribers' states), each access policy's flows, the throttles' and the inspector's
flows and meters, and the forward table (the topology's). A new revision rebuilds a piece only
when its inputs changed: a policy added, revoked or edited is compiled on the switches whose
subscribers its scope covers; a subscriber's new state rebuilds its own switch. A switch whose
pieces are all unchanged keeps the very same tuple of flows, so the controller finds the
switches a change affects by identity, without comparing flows.

`compile_network` is one compile with a fresh NetworkCompiler, so the incremental path and the
full one are the same code (tests/unit/compile/test_incremental.py drives both with random
changes and compares).

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sovnet.compile import border, dpi, shards
from sovnet.compile import routes as routing
from sovnet.compile.paths import host_port, trunk_ports
from sovnet.compile.pipeline import (
    MAX_METERS,
    Compiled,
    FlowTables,
    admission,
    dedupe,
    forward,
    policy_flows,
    policy_head,
    shaping,
)
from sovnet.compile.targets import Coverage, check_scope, target_matches
from sovnet.errors import CompileError
from sovnet.model.flows import FlowRule, Meter
from sovnet.model.policy import DPI_TARGETS, FLOW_ACTIONS, Policy, SubscriberState
from sovnet.model.topology import Topology


@dataclass
class _Switch:
    dpid: int
    name: str
    local: list[str]
    trunks: set[int]
    states: tuple = ()  # the local subscribers' states the pieces below were made with
    cover: Coverage | None = None
    admission: tuple[FlowRule, ...] = ()
    head: tuple[FlowRule, ...] = ()
    forward: tuple[FlowRule, ...] = ()
    noroute: tuple[FlowRule, ...] = ()  # an internet switch's drops where no route reaches
    border: tuple[FlowRule, ...] = ()  # a border gateway's policies (compile.border)
    policies: dict[int, tuple[FlowRule, ...]] = field(default_factory=dict)  # by policy id
    shaping_key: tuple = ()
    shaping: tuple[tuple[FlowRule, ...], tuple[Meter, ...]] = ((), ())
    dpi_key: tuple = ()
    dpi: tuple = ((), (), {})
    flows: tuple[FlowRule, ...] = ()
    meters: tuple[Meter, ...] = ()


class NetworkCompiler:
    def __init__(self, shard: tuple[int, int] | None = None) -> None:
        """shard (I, N): compile only the switches process I of N owns (compile.shards)."""
        self.shard = shard
        self.topo: Topology | None = None
        self.switches: list[_Switch] = []
        self.matches: dict[int, tuple[Policy, list]] = {}
        self.rules_key: tuple = ()
        self.rules: tuple = ()
        self.states_changed = False  # some subscriber's state changed in this compile
        self.access: dict[int, Policy] = {}  # the access policies of the last compile
        self.added: list[Policy] = []
        self.removed: set[int] = set()
        self.routes: frozenset[str] | None = None  # the routes the noroute flows were made for
        self.border_key: tuple = ()  # the border policies and states border flows were made for

    def compile(self, topo: Topology, policies: Iterable[Policy],
                subscribers: Mapping[str, SubscriberState],
                routes: frozenset[str] | None = None) -> Compiled:
        """routes: the domestic prefixes the transit networks abroad route (their RIBs, as
        the controller learns them); None: every domestic address is reachable from abroad
        (a network without routers, or before any RIB was read)."""
        fresh = topo is not self.topo and topo != self.topo
        if fresh:
            self._reset(topo)
        routes_changed = fresh or routes != self.routes
        self.routes = routes
        ordered = sorted(policies, key=lambda p: p.id)
        # Each policy's packet matches, worked out once (and so validated, even where no
        # switch needs it). dns_tamper and log are enforced off the switches.
        plain = [p for p in ordered if p.target.kind not in DPI_TARGETS]
        # Keyed by policy id: hashing a Policy hashes every field, and a whitelist has a
        # thousand of them. A policy edited in place (same id) counts as revoked and added.
        matches = {}
        for p in plain:
            if p.act.kind in FLOW_ACTIONS or p.act.kind == "throttle":
                old = self.matches.get(p.id)
                matches[p.id] = old if old is not None and old[0] == p else \
                    (p, target_matches(topo, p.target, p.id))
        self.matches = matches
        access = [p for p in plain if p.act.kind in FLOW_ACTIONS and not p.act.direction]
        at_border = border.border_policies(plain)
        # Border flows depend on the border policies and, for subscriber scopes, the states.
        old = self.border_key
        reborder = fresh or not old or old[0] != tuple(at_border) or (
            bool(at_border) and old[1] is not subscribers)
        self.border_key = (tuple(at_border), subscribers)
        now = {p.id: p for p in access}
        self.added = [p for p in access if self.access.get(p.id) != p]
        self.removed = {i for i, p in self.access.items() if now.get(i) != p}
        self.access = now
        throttles = [(p, matches[p.id][1]) for p in plain if p.act.kind == "throttle"]
        routing.check_targets(topo, ordered)
        inspected = dpi.dpi_policies(ordered)
        for p in (*access, *(p for p, _ in throttles)):
            check_scope(topo, p.scope, p.id)
        flows_out: FlowTables = {}
        meters_out = {}
        dpi_meters: dict[int, dict[int, tuple[int, int]]] = {}
        self.states_changed = False
        try:
            for sw in self.switches:
                rerouted = False
                if routes_changed and topo.switch(sw.name).role == "internet":
                    noroute = tuple(routing.noroute_flows(
                        topo, sw.dpid, sw.name, lambda h, s=sw.name: host_port(topo, s, h),
                        routes))
                    rerouted, sw.noroute = noroute != sw.noroute, noroute
                if reborder and topo.switch(sw.name).role == "border":
                    flows = tuple(border.border_flows(topo, sw.dpid, at_border, subscribers))
                    rerouted, sw.border = rerouted or flows != sw.border, flows
                self._switch(topo, sw, subscribers, access, matches, throttles, inspected,
                             rerouted)
                flows_out[sw.dpid], meters_out[sw.dpid] = sw.flows, sw.meters
                for pid, pair in sw.dpi[2].items():
                    dpi_meters.setdefault(pid, {})[sw.dpid] = pair
        except BaseException:
            # Some switches took this revision's changes and some did not: start afresh.
            self.topo = None
            raise
        key = (tuple(inspected), tuple(sorted((k, tuple(sorted(v.items())))
                                              for k, v in dpi_meters.items())))
        if inspected and (key != self.rules_key or self.states_changed):
            self.rules = dpi.rules(topo, inspected, subscribers, dpi_meters)
        elif not inspected:
            self.rules = ()
        self.rules_key = key
        return Compiled(flows_out, meters_out, self.rules)

    def _reset(self, topo: Topology) -> None:
        self.topo = topo
        self.matches = {}
        self.access = {}
        self.rules_key, self.rules = (), ()
        trunks = trunk_ports(topo)
        mine = shards.owned(topo, self.shard)
        self.switches = []
        for s in sorted(topo.switches, key=lambda s: s.dpid):
            if mine is not None and s.dpid not in mine:
                continue
            local = [h.name for h in topo.hosts_on(s.name) if h.kind == "subscriber"]
            sw = _Switch(s.dpid, s.name, local, trunks[s.name])
            sw.head = tuple(policy_head(topo, s.dpid)) if local or s.role == "border" else ()
            if s.role == "border":
                sw.head += tuple(border.accounting(topo, s.dpid, sw.trunks))
            sw.forward = tuple(forward(topo, s.dpid, s.name))
            self.switches.append(sw)

    def _switch(self, topo, sw: _Switch, subscribers, access, matches, throttles,
                inspected, rerouted: bool = False) -> None:
        states = tuple(subscribers.get(s) for s in sw.local)
        rebuilt = sw.cover is None or states != sw.states
        if rebuilt:
            self.states_changed = True
            sw.states, sw.cover = states, Coverage(topo, sw.local, subscribers)
            sw.admission = tuple(admission(topo, sw.dpid, sw.name, sw.trunks, subscribers))
            sw.policies, sw.shaping_key, sw.dpi_key = {}, (None,), (None,)
        cover = sw.cover
        changed = rebuilt or rerouted
        if sw.local:  # only policies with flows here are kept, so the others change nothing
            for i in () if rebuilt else self.removed:
                changed = sw.policies.pop(i, None) is not None or changed
            for p in (access if rebuilt else self.added):
                flows = tuple(policy_flows(topo, sw.dpid, cover, p, matches[p.id][1]))
                if flows:
                    sw.policies[p.id] = flows
                    changed = True
        key = tuple(p for p, _ in throttles)
        if key != sw.shaping_key:
            flows, meters = shaping(topo, sw.dpid, cover, throttles)
            changed = changed or (tuple(flows), meters) != sw.shaping
            sw.shaping_key, sw.shaping = key, (tuple(flows), meters)
        dkey = (tuple(inspected), len(sw.shaping[1]))
        if dkey != sw.dpi_key:
            sw.dpi_key = dkey
            before = sw.dpi
            sw.dpi = dpi.switch_flows(topo, sw.dpid, sw.local, inspected, subscribers,
                                      len(sw.shaping[1]) + 1)
            changed = changed or sw.dpi[:2] != before[:2]
        if not changed:
            return
        meters = (*sw.shaping[1], *sw.dpi[1])
        if len(meters) > MAX_METERS:
            raise CompileError(f"more than {MAX_METERS} meters on switch dpid={sw.dpid} "
                               "(expected fewer throttles)")
        policies = (f for p in access if p.id in sw.policies for f in sw.policies[p.id])
        flows = dedupe([*sw.admission, *sw.head, *sw.border, *policies, *sw.shaping[0],
                        *sw.dpi[0], *sw.noroute, *sw.forward])
        if (flows, meters) != (sw.flows, sw.meters):  # else the switch keeps its very tuple
            sw.flows, sw.meters = flows, meters


def compile_network(topo: Topology, policies: Iterable[Policy],
                    subscribers: Mapping[str, SubscriberState],
                    routes: frozenset[str] | None = None) -> Compiled:
    """Flows and meters for every switch of the topology."""
    return NetworkCompiler().compile(topo, policies, subscribers, routes)


def compile_flows(topo: Topology, policies: Iterable[Policy],
                  subscribers: Mapping[str, SubscriberState]) -> FlowTables:
    """{dpid: flows} for every switch of the topology."""
    return compile_network(topo, policies, subscribers).flows
