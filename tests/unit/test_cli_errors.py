"""The command line on bad input and closed pipes: exact messages, exit codes, no traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sovnet.cli import main

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "unit" / "config" / "cases"
MINIMAL = ROOT / "topologies" / "minimal.yaml"
NO_TOPOLOGY = ("a policy set names what a topology has, and no topology was given (expected "
               "--topology FILE)")


def test_validate_reports_every_files_problems_and_checks_the_rest(tmp_path, capsys):
    latin = CASES / "topo_not_utf8.yaml"
    wrong = CASES / "topo_unknown_isp.yaml"
    policies = tmp_path / "p.yaml"
    policies.write_text("name: p\npolicies: []\n")
    assert main(["validate", str(latin), str(tmp_path), str(MINIMAL), str(policies),
                 str(wrong)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{MINIMAL}: ok\n"
    lines = err.splitlines()
    assert f"{policies}:1:1: {NO_TOPOLOGY}" in lines
    assert f"{tmp_path}:1:1: cannot read the file: Is a directory" in lines
    assert (f"{latin}:4:6: cannot read the file: byte 0xe9 is not UTF-8 "
            "(expected UTF-8 text)") in lines
    assert any(ln.startswith(f"{wrong}:") for ln in lines)
    assert "Traceback" not in err


def test_validate_without_errors_but_a_policy_set_alone_exits_2(tmp_path, capsys):
    policies = tmp_path / "p.yaml"
    policies.write_text("name: p\npolicies: []\n")
    assert main(["validate", str(policies), str(MINIMAL)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{MINIMAL}: ok\n"
    assert err == f"{policies}:1:1: {NO_TOPOLOGY}\n"


def test_validate_knows_a_policy_set_or_scenario_behind_a_byte_order_mark(tmp_path, capsys):
    policies = tmp_path / "p.yaml"
    policies.write_bytes(b"\xef\xbb\xbfname: p\r\npolicies: []\r\n")
    assert main(["validate", "--topology", str(MINIMAL), str(policies)]) == 0
    assert capsys.readouterr().out == f"{policies}: ok\n"


def test_a_broken_topology_option_is_reported_with_the_other_files(tmp_path, capsys):
    policies = tmp_path / "p.yaml"
    policies.write_text("name: p\npolicies: []\n")
    broken = CASES / "topo_deep_nesting.yaml"
    assert main(["validate", "--topology", str(broken), str(policies), str(MINIMAL)]) == 2
    out, err = capsys.readouterr()
    assert out == f"{MINIMAL}: ok\n"
    assert sorted(err.splitlines()) == sorted([  # in the order of the files' paths
        f"{policies}:1:1: not checked against {broken}, which has errors (expected a topology "
        "without errors)",
        f"{broken}:4:77: invalid YAML: lists and mappings nested more than 64 deep (expected at "
        "most 64 levels)"])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("args", [
    ("schema",),
    ("--help",),
    ("flows", str(MINIMAL)),
    ("validate", str(MINIMAL)),
    ("store", "DB", "history"),
])
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path, args):
    # `sovnet ... | head -1`: head exits, and the next write fails with EPIPE. Here the reader
    # is gone before sovnet starts, so the first write fails: no race with the pipe's buffer.
    if "DB" in args:
        from sovnet.config import load_topology
        from sovnet.store import open_store

        db = tmp_path / "s.db"
        open_store(db).load_inventory(load_topology(MINIMAL), author="test")
        args = tuple(str(db) if a == "DB" else a for a in args)
    rfd, wfd = os.pipe()
    os.close(rfd)
    # Block-buffered, as a pipe is by default: the broken pipe may then show only at a flush.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen([sys.executable, "-m", "sovnet", *args], stdout=wfd,
                            stderr=subprocess.PIPE, text=True, env=env)
    os.close(wfd)
    _, err = proc.communicate()
    assert (proc.returncode, err) == (141, "")


def test_a_broken_pipe_that_is_not_stdout_is_not_hidden(monkeypatch):
    import sovnet.cli as cli

    def broken(_args):
        raise BrokenPipeError(32, "Broken pipe")  # e.g. a socket to a child process

    monkeypatch.setitem(cli._COMMANDS, "clean", broken)
    with pytest.raises(BrokenPipeError):
        main(["clean"])


def test_version_names_the_installed_release(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"sovnet {version('sovnet')}\n"


# One file of each kind, what validating it needs, and where from.
KINDS = [
    (MINIMAL, [], ROOT),
    (ROOT / "experiments" / "national-cutoff.yaml", [], ROOT / "experiments"),
    (ROOT / "controller" / "policies" / "essential-services.yaml",
     ["--topology", "topologies/national.yaml"], ROOT),
]


def _stdin(monkeypatch, path: Path) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))


@pytest.mark.parametrize("given, args, cwd", KINDS, ids=["topology", "scenario", "policy-set"])
def test_validate_reads_every_kind_from_standard_input_once(monkeypatch, capsys, given, args,
                                                             cwd):
    monkeypatch.chdir(cwd)
    _stdin(monkeypatch, given)
    assert main(["validate", *args, "-", "-"]) == 0
    assert capsys.readouterr() == ("<stdin>: ok\n<stdin>: ok\n", "")


def test_a_scenario_from_standard_input_names_its_topology_from_the_current_directory(
        monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    _stdin(monkeypatch, ROOT / "experiments" / "national-cutoff.yaml")
    assert main(["validate", "-"]) == 2
    assert capsys.readouterr() == ("", (
        "<stdin>:18:11: topology: no topology file '../topologies/national.yaml' (expected a "
        "path relative to the current directory, as a scenario read from standard input has no "
        "folder of its own)\n"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("given, args, cwd", KINDS, ids=["topology", "scenario", "policy-set"])
def test_validate_reads_every_kind_from_a_pipe_named_dev_stdin(given, args, cwd):
    proc = subprocess.run([sys.executable, "-m", "sovnet", "validate", *args, "/dev/stdin"],
                          input=given.read_bytes(), capture_output=True, cwd=cwd, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"/dev/stdin: ok\n", b"")


def _issue(file, line: int, col: int, where: str, message: str) -> dict:
    return {"file": str(file), "line": line, "col": col, "where": where, "message": message}


def test_validate_json_is_one_object_per_file_with_every_issue(tmp_path, capsys):
    policies = tmp_path / "p.yaml"
    policies.write_text("{name: p, policies: []}\n")
    wrong = CASES / "topo_unknown_isp.yaml"
    flow = CASES / "any_flow_scenario.yaml"
    nothing = CASES / "any_no_kind.yaml"
    assert main(["validate", "--json", str(MINIMAL), str(wrong), str(tmp_path), str(policies),
                 str(flow), str(nothing)]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    unknown = "(expected one of: fixnet, mobinet)"
    assert [json.loads(line) for line in out.splitlines()] == [
        {"file": str(MINIMAL), "kind": "topology", "ok": True, "issues": []},
        {"file": str(wrong), "kind": "topology", "ok": False, "issues": [
            _issue(wrong, 4, 3, "isps.mobinet",
                   "no resolver for ISP 'mobinet' (expected a resolver with isp: mobinet)"),
            _issue(wrong, 7, 25, "switches.s2.isp", f"unknown ISP 'fixnett' {unknown}"),
            _issue(wrong, 11, 28, "subscribers.alice.isp", f"unknown ISP 'mobinett' {unknown}"),
            _issue(wrong, 14, 15, "resolvers.dns2.isp", f"unknown ISP 'mobnet' {unknown}")]},
        {"file": str(tmp_path), "kind": None, "ok": False, "issues": [
            _issue(tmp_path, 1, 1, "", "cannot read the file: Is a directory")]},
        {"file": str(policies), "kind": "policy-set", "ok": False, "issues": [
            _issue(policies, 1, 1, "", NO_TOPOLOGY)]},
        {"file": str(flow), "kind": "scenario", "ok": False, "issues": [
            _issue(flow, 4, 67, "timeline[0].register[0]",
                   "device 02:00:0a:01:00:02 is already registered to subscriber 'alice' at "
                   "this step (expected a device not registered yet)")]},
        {"file": str(nothing), "kind": None, "ok": False, "issues": [
            _issue(nothing, 1, 1, "", "cannot tell what kind of file this is from its keys: "
                   "name, colour (expected a topology, with isps and switches; a scenario, "
                   "with topology, time_scale, duration and probes; or a policy set, with name "
                   "and policies)")]},
    ]


def test_validate_json_gives_the_topology_option_its_own_object(tmp_path, capsys):
    policies = tmp_path / "p.yaml"
    policies.write_text("name: p\npolicies: []\n")
    assert main(["validate", "--json", "--topology", str(MINIMAL), str(policies)]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [
        {"file": str(MINIMAL), "kind": "topology", "ok": True, "issues": []},
        {"file": str(policies), "kind": "policy-set", "ok": True, "issues": []},
    ]


def test_validate_json_names_the_file_of_an_issue_in_a_file_a_scenario_names(tmp_path, capsys):
    wrong = CASES / "topo_unknown_isp.yaml"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: s\ntopology: {wrong}\ntime_scale: 1h per 2s\nduration: 4h\n"
                        "probes: [{kind: web, every: 1h}]\n")
    assert main(["validate", "--json", str(scenario)]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    issues = json.loads(line)["issues"]
    # Sorted by file, then position: where the scenario's own issue falls depends on the paths.
    assert sorted(i["file"] for i in issues) == sorted([str(scenario)] + [str(wrong)] * 4)
    assert issues == sorted(issues, key=lambda i: (i["file"], i["line"], i["col"]))
    assert _issue(scenario, 2, 11, "topology", f"the topology '{wrong}' has errors "
                                                            "(reported at its own lines)") in issues


@pytest.mark.parametrize("argv", [["validate", "-"], ["store", "{db}", "history"]])
def test_ctrl_c_is_exit_130_without_a_traceback(argv, tmp_path):
    """SIGINT while a command waits (reading a pipe; or before the store answers) ends it
    with 130 and one line, whichever command it is."""
    import signal

    from sovnet.poll import wait_for

    db = tmp_path / "s.db"
    argv = [a.replace("{db}", str(db)) for a in argv]
    if argv[0] == "store":  # a store whose writer holds the lock: history waits on it
        import sqlite3

        from sovnet.store import open_store

        open_store(str(db)).close()
        holder = sqlite3.connect(db)
        holder.execute("BEGIN EXCLUSIVE")
    proc = subprocess.Popen([sys.executable, "-m", "sovnet", *argv], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Waiting, with Python's SIGINT handler in place: blocked in a read or a sleep.
        wait_for(lambda: _blocked(proc.pid), 20, "the command to wait")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err == "interrupted; everything this command started has been torn down\n"


def _blocked(pid: int) -> bool:
    wchan = Path(f"/proc/{pid}/wchan").read_text()
    return "pipe_read" in wchan or "pipe_wait" in wchan or "nanosleep" in wchan
