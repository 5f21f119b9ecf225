"""report.pdf, for papers: every figure drawn is in it, as vector drawing with its own text
(the SVG, not a picture of it), and the explorer stays in the HTML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sovnet.cli import main
from sovnet.report.plots import PLOTS

pypdf = pytest.importorskip("pypdf", reason="pypdf is a dev dependency (pip install -e .[dev])")

INNER_TITLES = {  # each figure's own headline, drawn inside the SVG
    "orders": "What was ordered: every policy, from its order to its revocation",
    "reachability": "Could subscribers reach each kind of service?",
    "per_isp": "What subscribers saw, per ISP",
    "heatmap": "Reachability of each service, per subscriber class",
    "blocking": "How blocking looked to a measurer (OONI's verdict)",
    "collateral": "Collateral damage: reachable is not the same as usable",
    "latency": "From policy change to enforcement: how fast did it bite?",
    "throughput": "Download throughput per subscriber class",
}


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_pdf_has_every_figure(run_dir: Path, tmp_path: Path, capsys) -> None:
    folder = Path(shutil.copytree(run_dir, tmp_path / "run"))
    assert main(["report", str(folder), "--pdf"]) == 0
    assert capsys.readouterr().out.split() == [str(folder / "report.html"),
                                               str(folder / "report.pdf")]
    reader = pypdf.PdfReader(folder / "report.pdf")
    assert 4 <= len(reader.pages) <= 20
    text = _flat(" ".join(p.extract_text() for p in reader.pages))
    drawn = [(n, key, title) for n, (key, title, _, _) in enumerate(PLOTS, 1)
             if (folder / "plots" / f"{key}.svg").exists()]
    assert len(drawn) == 9
    for n, key, title in drawn:
        assert f"FIGURE {n} · {title.upper()}" in text, key
        if key in INNER_TITLES:
            assert _flat(INNER_TITLES[key]) in text, key
    assert "drop everything abroad for all subscribers (priority 100): national order 7" in text
    assert "Skipped: The topology names no regions." in text
    # drawn as vector paths, not pasted in as pictures: the only pictures are the heatmap's
    # two panels of cells and its colour bar (the pages share one set of resources)
    images = {im.name for p in reader.pages for im in p.images}
    assert len(images) == 3
