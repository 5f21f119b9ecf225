"""The command line on bad input and closed pipes: exact messages, exit codes, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sovnet.cli import main

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "unit" / "config" / "cases"
MINIMAL = ROOT / "topologies" / "minimal.yaml"


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
    assert lines[0] == f"{policies}: a policy set; give --topology to check it against one"
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
    assert err == f"{policies}: a policy set; give --topology to check it against one\n"


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
    assert err == (f"{broken}:4:77: invalid YAML: lists and mappings nested more than 64 deep "
                   "(expected at most 64 levels)\n")


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
