"""`sovnet report DIR` on a folder from before revisions.jsonl: it exports the orders from the
folder's store first, so the report says what was ordered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sovnet.cli import main
from sovnet.config import load_topology
from sovnet.model.command import PolicyRequest
from sovnet.store import open_store


def test_report_exports_the_orders_of_an_older_folder(run_dir: Path, tmp_path: Path,
                                                      capsys) -> None:
    folder = Path(shutil.copytree(run_dir, tmp_path / "old"))
    (folder / "revisions.jsonl").unlink()
    with open_store(folder / "store.db") as store:
        store.load_inventory(load_topology("topologies/minimal.yaml"))
        store.add_policy(PolicyRequest.of("deny", "isp:mobinet", "category:GRP",
                                          reason="order 12"))
    assert main(["report", str(folder)]) == 0
    assert capsys.readouterr().out.strip() == str(folder / "report.html")
    [line] = [json.loads(x) for x in (folder / "revisions.jsonl").read_text().splitlines()]
    assert line["changes"][0]["body"]["reason"] == "order 12"
    html = (folder / "report.html").read_text()
    assert "drop social networking (GRP) for mobinet&#x27;s subscribers (priority 100): " \
           "order 12" in html
