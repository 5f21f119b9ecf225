"""A file system that refuses a write is told apart from a store that refuses a change: the
first is StorageError (exit 1, the input was fine), the second StoreError. The real full disk
is tests/integration/test_faults.py::test_a_full_disk_is_a_clear_error_and_leaves_the_store_whole.
"""

from __future__ import annotations

import sqlite3

import pytest

from sovnet.errors import StorageError, StoreError
from sovnet.store.db import write_error


def sqlite_error(code: int, text: str) -> sqlite3.Error:
    e = sqlite3.OperationalError(text)
    e.sqlite_errorcode = code  # type: ignore[attr-defined]
    return e


@pytest.mark.parametrize("code, why", [
    (sqlite3.SQLITE_FULL, "the disk is full"),
    (sqlite3.SQLITE_IOERR | (4 << 8), "an I/O error"),  # an extended code: SQLITE_IOERR_SHORT_READ
    (sqlite3.SQLITE_READONLY, "the file is read-only"),
])
def test_a_refusing_file_system_is_a_storage_error(code, why):
    e = write_error("s.db", sqlite_error(code, "x"), "revision 7")
    assert isinstance(e, StorageError) and e.exit_code == 1
    assert str(e) == (f"store s.db: {why}, so revision 7 was not written: nothing changed and "
                      "the store is intact (expected free space and write access on the file "
                      "system that holds it; then try again)")


def test_any_other_failure_is_the_store_refusing():
    e = write_error("s.db", sqlite_error(sqlite3.SQLITE_CONSTRAINT, "UNIQUE failed"), "r")
    assert type(e) is StoreError
    assert str(e) == "store s.db: transaction rolled back: UNIQUE failed"
