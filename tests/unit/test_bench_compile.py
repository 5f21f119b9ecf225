"""`sovnet bench compile`: its whitelist and its report, on a small topology."""

from __future__ import annotations

from sovnet.bench_compile import whitelist
from sovnet.cli import main
from sovnet.config import load_topology


def test_the_whitelist_is_a_deny_of_international_and_n_distinct_allows():
    topo = load_topology("topologies/minimal.yaml")
    ps = whitelist(topo, 50)
    assert (ps[0].action, str(ps[0].target)) == ("deny", "international")
    allows = [str(p.target) for p in ps[1:]]
    assert len(allows) == len(set(allows)) == 50 and all(p.action == "allow" for p in ps[1:])
    assert allows[:3] == ["service:social", "service:news", "service:cdn"]
    assert not {f"prefix:{h.ip}/32" for h in topo.hosts} & set(allows)


def test_it_prints_the_compile_the_flows_by_role_and_the_changes(capsys):
    assert main(["bench", "compile", "topologies/minimal.yaml", "--whitelist", "20",
                 "--changes", "4"]) == 0
    out = capsys.readouterr().out
    assert "whitelist: deny international + 20 allows" in out
    assert "compile from scratch: median" in out
    assert "  access          2 switches:" in out
    assert "4 changes compiled incrementally: median" in out
    assert "switches touched per change: median 1, max 1" in out
