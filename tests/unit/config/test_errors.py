"""Every problem of a bad file, at once, with exact positions and wording.

Each file in cases/ ends with `# expect: LINE:COL: WHERE: MESSAGE` lines: the exact
issues the loader must report for it, in order, without the leading `FILE:`. The prefix says
which loader: topo_, policy_ (against topologies/minimal.yaml), scenario_, or any_ for
`sovnet validate --topology topologies/minimal.yaml FILE`, which tells the kind by the content.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.config import load_policy_set, load_topology, topology_from_text
from sovnet.errors import ConfigError, ConfigIssue

CASES = Path(__file__).parent / "cases"
ROOT = Path(__file__).resolve().parents[3]


def expected(path: Path) -> list[str]:
    lines = [ln[len("# expect: "):] for ln in path.read_text(errors="replace").splitlines()
             if ln.startswith("# expect: ")]
    assert lines, f"{path.name} has no '# expect:' lines"
    return [f"{path}:{ln}" for ln in lines]


def issues_of(call) -> list[str]:
    with pytest.raises(ConfigError) as e:
        call()
    return [str(i) for i in e.value.issues]


@pytest.mark.parametrize("case", sorted(CASES.glob("topo_*.yaml")), ids=lambda p: p.stem)
def test_topology_case(case):
    assert issues_of(lambda: load_topology(str(case))) == expected(case)


@pytest.mark.parametrize("case", sorted(CASES.glob("policy_*.yaml")), ids=lambda p: p.stem)
def test_policy_set_case(case):
    topology = load_topology(ROOT / "topologies" / "minimal.yaml")
    assert issues_of(lambda: load_policy_set(str(case), topology)) == expected(case)


@pytest.mark.parametrize("case", sorted(CASES.glob("scenario_*.yaml")), ids=lambda p: p.stem)
def test_scenario_case(case):
    from sovnet.config.scenario import load_scenario

    assert issues_of(lambda: load_scenario(str(case))) == expected(case)


def test_error_text_is_every_issue_one_per_line():
    with pytest.raises(ConfigError) as e:
        topology_from_text("name: x\nisps: {}\nswitches: {s1: {role: core, colour: red}}\n"
                           "links: [[s1, s9]]\n", "topologies/x.yaml")
    assert str(e.value) == (
        "topologies/x.yaml:3:29: switches.s1.colour: unknown key 'colour' "
        "(expected one of: role, isp, dpid, prefix, region)\n"
        "topologies/x.yaml:4:14: links[0].b: unknown node 's9' (expected one of: s1)"
    )
    assert e.value.exit_code == 2
    assert e.value.issues[1] == ConfigIssue(
        "topologies/x.yaml", 4, 14, "links[0].b", "unknown node 's9' (expected one of: s1)")


def test_file_name_is_the_path_as_given(tmp_path, monkeypatch):
    (tmp_path / "bad.yaml").write_text("name: x\nisps: {}\nswitches: {s1: {role: cor}}\n")
    monkeypatch.chdir(tmp_path)
    assert issues_of(lambda: load_topology("bad.yaml")) == [
        "bad.yaml:3:23: switches.s1.role: unknown role 'cor' "
        "(expected one of: access, aggregation, core, border, ixp, internet)"
    ]
    assert issues_of(lambda: load_topology(tmp_path / "bad.yaml"))[0].startswith(
        f"{tmp_path / 'bad.yaml'}:3:23: ")


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.mkdir(), "Is a directory"),
    (lambda p: None, "No such file or directory"),
])
def test_a_path_that_is_no_file_is_one_issue(tmp_path, make, reason):
    path = tmp_path / "t.yaml"
    make(path)
    assert issues_of(lambda: load_topology(path)) == [
        f"{path}:1:1: cannot read the file: {reason}"]


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_old_line_endings_give_the_positions_an_editor_shows(tmp_path, ending):
    text = "name: x\nisps: {}\nswitches: {s1: {role: cor}}\n# caf\xe9\n"
    path = tmp_path / "t.yaml"
    path.write_bytes(text.replace("\n", ending).encode("latin-1"))
    assert issues_of(lambda: load_topology(path)) == [
        f"{path}:4:6: cannot read the file: byte 0xe9 is not UTF-8 (expected UTF-8 text)"]
    path.write_bytes(text.replace("\n", ending).encode("utf-8"))
    assert issues_of(lambda: load_topology(path)) == [
        f"{path}:3:23: switches.s1.role: unknown role 'cor' "
        "(expected one of: access, aggregation, core, border, ixp, internet)"]


@pytest.mark.parametrize("case", sorted(CASES.glob("any_*.yaml")), ids=lambda p: p.stem)
def test_validate_case(case, capsys):
    # Through `sovnet validate`, which tells a file's kind by its top-level keys.
    from sovnet.cli import main

    minimal = ROOT / "topologies" / "minimal.yaml"
    assert main(["validate", "--topology", str(minimal), str(case)]) == 2
    out, err = capsys.readouterr()
    assert (out, err.splitlines()) == ("", expected(case))
