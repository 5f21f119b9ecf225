"""`sovnet inspect`: the running labs, from their run-state files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sovnet.cli import main
from sovnet.emulation.cleanup import RUN_DIR_ENV, RunState


def test_a_running_lab_and_a_dead_one(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path))
    assert main(["inspect"]) == 0
    assert capsys.readouterr().out.strip() == "no sovnet lab is running"
    state = RunState.create(tmp_path, topology="minimal", workdir="/tmp/sovnet-x",
                            datapath="user", controller="127.0.0.1:6653",
                            store="/tmp/sovnet-x/store.db")
    state.add_bridges(["acc1", "core1", "gw1"])
    me = os.getpid()  # alive for as long as the test runs
    state.add_process(me, "shell of alice")
    state.add_process(me, "shell of bob")
    state.add_process(me, "controller")
    state.add_process(me, "shell of acc1")  # a switch's shell (Mininet's): not a host
    state.add_process(me, "shell of c0")  # Mininet's controller placeholder
    state.add_process(2 ** 22 + 7, "shell of ghost")  # no such process: not listed
    dead = tmp_path / "1-0.json"  # a lab whose owner is gone is sovnet clean's, not ours
    dead.write_text(json.dumps({"pid": 1, "start_time": 1, "bridges": ["x"], "interfaces": [],
                                "processes": []}))
    assert main(["inspect", "--json"]) == 0
    [lab] = json.loads(capsys.readouterr().out)
    assert lab["topology"] == "minimal" and lab["store"] == "/tmp/sovnet-x/store.db"
    assert lab["switches"] == ["acc1", "core1", "gw1"] and lab["hosts"] == ["alice", "bob"]
    assert lab["processes"] == [{"pid": me, "what": "controller"}]
    assert main(["inspect"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"lab {state.path.stem}: topology minimal, datapath user, started ")
    assert out[1:6] == ["  store:      /tmp/sovnet-x/store.db",
                        "  controller: 127.0.0.1:6653",
                        "  switches:   3: acc1, core1, gw1",
                        "  hosts:      2: alice, bob",
                        f"  processes:  1: controller (pid {me})"]
