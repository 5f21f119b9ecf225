"""One synthetic run (and its built report) per test session: building is the slow part."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovnet.report import Run, build_report, load_run
from tests.unit.report.fakerun import make_run


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs") / "complete")


@pytest.fixture(scope="session")
def run(run_dir: Path) -> Run:
    return load_run(run_dir)


@pytest.fixture(scope="session")
def built(run_dir: Path) -> dict[str, Path]:
    return build_report(run_dir)
