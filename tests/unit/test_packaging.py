"""What pyproject.toml claims holds: every dependency has a tested version in constraints.txt
inside its range, the Python running the tests is one it accepts, and LICENSE is the licence
it names."""

from __future__ import annotations

import platform
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = version
    return pins


def test_every_dependency_is_pinned_inside_its_range():
    pins = constraints()
    reqs = [Requirement(r) for r in PROJECT["dependencies"]
            + PROJECT["optional-dependencies"]["dev"]]
    for req in reqs:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name}: no tested version in constraints.txt"
        assert req.specifier.contains(pins[name]), f"{req.name}=={pins[name]} not in {req}"
        assert "<" in str(req.specifier) or "==" in str(req.specifier), \
            f"{req}: open-ended (expected an upper bound: the next major)"


def test_the_python_running_the_tests_is_one_claimed():
    assert SpecifierSet(PROJECT["requires-python"]).contains(platform.python_version())


def test_the_licence_file_is_the_one_named():
    assert PROJECT["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
