"""`sovnet graph`: a topology drawn without starting anything."""

from __future__ import annotations

from pathlib import Path

from sovnet.cli import main
from sovnet.config import load_topology

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "topologies" / "minimal.yaml"


def test_a_topology_drawn_to_svg_and_png(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["graph", str(MINIMAL)]) == 0
    assert capsys.readouterr().out.strip() == "minimal.svg"
    svg = (tmp_path / "minimal.svg").read_text()
    topo = load_topology(str(MINIMAL))
    for sw in topo.switches:  # text stays text: every switch is named in the drawing
        assert f">{sw.name}<" in svg, sw.name
    assert main(["graph", str(MINIMAL), "-o", str(tmp_path / "net.png")]) == 0
    assert (tmp_path / "net.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_what_it_cannot_draw(tmp_path: Path, capsys) -> None:
    assert main(["graph", str(MINIMAL), "-o", str(tmp_path / "net.gif")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"graph: cannot draw to {tmp_path / 'net.gif'} (expected a file ending in .svg, .png, "
        ".pdf)")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nswitches: {s1: {role: nope}}\n")
    assert main(["graph", str(bad)]) == 2
    assert "unknown role 'nope'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.svg"))
