"""A generated network's size is bounded: a typo (an extra 0) is answered at once, exit 2."""

from __future__ import annotations

import pytest

from sovnet.cli import main


@pytest.mark.parametrize("argv, message", [
    (["--foreign", "100000000"], "--foreign: 100000000 (expected at most 2000)"),
    (["--subscribers", "5000"], "--subscribers: 5000 (expected at most 4000)"),
    (["--ixps", "99"], "--ixps: 99 (expected at most 16)"),
    (["--access", "200", "--regions", "60"],
     "--regions, --aggregation and --access: 60,315 switches (expected at most 4,096)"),
    (["--access", "100", "--regions", "4", "--subscribers", "100"],
     "--subscribers: 200,000 subscribers on 2,000 access switches (expected at most 100,000)"),
])
def test_huge_sizes_are_refused_at_once(argv, message, capsys):
    assert main(["generate", *argv]) == 2
    assert capsys.readouterr().err.strip() == message
