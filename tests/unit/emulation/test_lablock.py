import subprocess
import sys

import pytest

from sovnet.emulation import lablock
from sovnet.errors import EmulationError


def test_unset_means_no_lock(monkeypatch):
    monkeypatch.delenv(lablock.ENV, raising=False)
    assert lablock.acquire() is None


def test_reentrant_within_a_process(monkeypatch, tmp_path):
    path = str(tmp_path / "lab.lock")
    monkeypatch.setenv(lablock.ENV, path)
    assert lablock.acquire() == path
    assert lablock.acquire() == path  # a second Network in the same process does not wait
    lablock.release(path)
    assert path in lablock._held
    lablock.release(path)
    assert path not in lablock._held


def test_another_process_holding_it_makes_us_wait_then_fail(monkeypatch, tmp_path):
    path = str(tmp_path / "lab.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl,os,sys;fd=os.open(sys.argv[1],os.O_RDWR|os.O_CREAT);"
         "fcntl.flock(fd,fcntl.LOCK_EX);print('held',flush=True);sys.stdin.read()", path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv(lablock.ENV, path)
        monkeypatch.setattr(lablock, "WAIT", 0.2)
        with pytest.raises(EmulationError, match="another lab has held"):
            lablock.acquire()
    finally:
        holder.stdin.close()
        holder.wait(5)
    assert lablock.acquire() == path  # free once the holder has gone
    lablock.release(path)
