"""Integration tests run real Mininet, Open vSwitch and os-ken: root only.

Every test under tests/integration is marked `needs_root` and skipped, with the reason, where
it cannot run (not root, Mininet or Open vSwitch missing). The autouse `ovs_running` fixture
makes sure the OVS daemons run before such a test.

The one lab of a test module is the `lab` fixture, on the topology the module names in
`TOPOLOGY` (topologies/minimal.yaml if it names none); `clean` puts its store back to the
inventory after a test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MINIMAL = HERE.parents[1] / "topologies" / "minimal.yaml"


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


@pytest.fixture(scope="module")
def lab(request, tmp_path_factory):
    """A Lab on the module's TOPOLOGY, shared by the module's tests and torn down after them."""
    from sovnet.config import load_topology
    from sovnet.lab import Lab

    topo = load_topology(str(getattr(request.module, "TOPOLOGY", MINIMAL)))
    with Lab(topo, workdir=tmp_path_factory.mktemp("lab"), reconcile_interval=2.0) as lab:
        yield lab


@pytest.fixture
def clean(lab):
    """After the test, the store as the inventory left it: no policies, every subscriber with
    its initial status, standing and devices; enforced on every switch."""
    from sovnet.experiments.timeline import reset_to_inventory

    yield
    with lab.store.transaction("test", "reset to the inventory") as tx:
        reset_to_inventory(lab.store, tx, lab.topology)
    lab.wait_enforced(lab.store.revision())
