"""experiments/analyse-a-run.ipynb, executed against a synthetic run folder in the venv's
kernel (ipykernel's python3, launched with this interpreter): it runs without error, draws its
figure, and prints what load_tables counts."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from sovnet.results import load_tables
from tests.unit.report.fakerun import make_run

NOTEBOOK = Path(__file__).resolve().parents[3] / "experiments" / "analyse-a-run.ipynb"


def _tagged(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    [cell] = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def test_the_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert nb.metadata.kernelspec.name == "python3"


def test_the_notebook_runs_on_a_run_folder(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run")
    monkeypatch.setenv("SOVNET_RUN", str(run))
    for var, sub in (("IPYTHONDIR", "ipython"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("MPLCONFIGDIR", "mpl")):  # nothing written to $HOME
        monkeypatch.setenv(var, str(tmp_path / sub))
    # The kernel is this interpreter: ipykernel's spec in the venv says `python`, which
    # jupyter_client launches as sys.executable.
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] in ("python", sys.executable)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)",
                                              metadata={"tags": ["interpreter"]}))
    NotebookClient(nb, kernel_name="python3", timeout=120, startup_timeout=60,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    assert _stdout(_tagged(nb, "interpreter")) == f"{sys.executable}\n"
    tables = load_tables(run, as_frames=False)
    loaded = _stdout(_tagged(nb, "load"))
    assert str(run) in loaded
    assert re.search(r"^measurements: (\d+)$", loaded, re.M)[1] == str(len(tables.measurements))
    figure = _tagged(nb, "figure")
    web = [r for r in tables.measurements if r["kind"] == "web" and r["probe_error"] is None]
    assert _stdout(figure) == f"web measurements: {len(web)}\n"
    assert any("image/png" in o.get("data", {}) for o in figure.outputs)
    acks = _tagged(nb, "acks")
    [table] = [o.data["text/plain"] for o in acks.outputs if "data" in o]
    assert "first_ms" in table and "mobinet" in table and "(no ISP)" in table
