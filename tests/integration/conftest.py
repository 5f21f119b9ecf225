"""Integration tests run real Mininet, Open vSwitch and os-ken: root only.

Every test under tests/integration is marked `needs_root` and skipped, with the reason, where
it cannot run (not root, Mininet or Open vSwitch missing). The autouse `ovs` fixture makes sure
the OVS daemons run before such a test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _cannot_run() -> str | None:
    if os.geteuid() != 0:
        return "needs root for Mininet and Open vSwitch (run: sudo .venv/bin/pytest)"
    try:
        import mininet.net  # noqa: F401
    except ImportError:
        return "Mininet is not importable (run setup.sh as root)"
    for tool in ("ovs-vsctl", "mnexec"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (run setup.sh as root)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _cannot_run()
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.needs_root)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def ovs_running():
    """Open vSwitch running (started by hand where it is not); the EmulationError says why not."""
    from sovnet.emulation.ovs import ensure_ovs_running

    ensure_ovs_running()
