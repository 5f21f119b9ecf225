"""The Chromium the browser tests drive (setup.sh installs Debian's)."""

from __future__ import annotations

import shutil

import pytest


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed: run `sudo ./setup.sh` (it installs chromium, "
                "which this test needs to render report.html)")
