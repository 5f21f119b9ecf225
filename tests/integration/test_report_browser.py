"""report.html as a browser shows it: headless Chromium renders the synthetic run's report and
the screenshot must hold the embedded figures (a page whose images failed to decode is nearly
all white and grey). With the system tests because it needs a browser installed (setup.sh
installs chromium); skipped, with the reason, where there is none."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sovnet.report import build_report
from tests.integration.browser import chromium
from tests.unit.report.fakerun import make_run

WIDTH, HEIGHT = 1280, 4000




def test_report_renders_in_chromium(tmp_path: Path) -> None:
    browser = chromium()
    html = build_report(make_run(tmp_path / "run"))["html"]
    shot = tmp_path / "screenshot.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},{HEIGHT}",
           f"--screenshot={shot}", html.as_uri()]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within 90 s: {' '.join(cmd)}")
    assert shot.exists(), f"no screenshot; chromium said:\n{done.stderr[-2000:]}"
    with Image.open(shot) as im:
        assert im.size == (WIDTH, HEIGHT)
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(int)
    colours = len(np.unique(pixels[::5], axis=0))
    saturated = float(((pixels.max(1) - pixels.min(1)) > 60).mean())
    # Measured: ~4,500 colours and ~13 % saturated pixels with the figures; without them
    # (images not decoded) ~1,200 colours and 0.04 %.
    assert colours > 2000, f"only {colours} distinct colours: the figures did not render"
    assert saturated > 0.03, f"only {saturated:.2%} coloured pixels: the figures did not render"
