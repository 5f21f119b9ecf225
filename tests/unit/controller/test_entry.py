"""controller/sovnet_controller.py: a file a user runs, and an app os-ken can load."""

import subprocess
import sys
from pathlib import Path

import pytest
from os_ken.base.app_manager import AppManager

from sovnet.controller import app

ENTRY = Path(__file__).resolve().parents[3] / "controller" / "sovnet_controller.py"


@pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")  # os-ken's file import
def test_os_ken_finds_the_sovnet_app_in_the_entry_file():
    cls = AppManager().load_app(str(ENTRY))
    assert cls is not None and issubclass(cls, app.SovnetController)


def test_running_it_without_a_store_says_what_is_missing():
    out = subprocess.run([sys.executable, str(ENTRY)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert "the following arguments are required: --store" in out.stderr
    assert "Traceback" not in out.stderr
