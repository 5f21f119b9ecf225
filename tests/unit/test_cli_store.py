"""`sovnet store` on a finished run's store: read freely, written only with --write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sovnet.cli import main
from sovnet.config import load_topology
from sovnet.store import open_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "complete"}))
    with open_store(tmp_path / "store.db") as s:
        s.load_inventory(load_topology(ROOT / "topologies" / "minimal.yaml"))
    return tmp_path / "store.db"


def test_a_finished_runs_store_is_read_only_unless_asked(archive: Path, capsys) -> None:
    assert main(["store", str(archive), "policy", "add", "deny", "any"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"store {archive}: the store of a finished run ({archive.parent}, complete): it is "
        "kept as the run left it (expected --write to change it anyway)")
    with open_store(archive, create=False) as s:
        assert s.revision() == 1 and not s.policies()  # nothing written
    assert main(["store", str(archive), "policy", "list"]) == 0  # reading is fine
    assert capsys.readouterr().out.strip() == "no policies in force"
    assert main(["store", str(archive), "--write", "policy", "add", "deny", "any"]) == 0
    assert main(["store", "--write", str(archive), "subscriber", "standing", "alice", "40"]) == 0
    with open_store(archive, create=False) as s:
        assert s.revision() == 3


def test_a_running_labs_store_takes_changes(archive: Path) -> None:
    (archive.parent / "manifest.json").write_text(json.dumps({"status": "running"}))
    assert main(["store", str(archive), "policy", "add", "deny", "any"]) == 0
