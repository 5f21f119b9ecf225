"""sovnet's exception tree. Every message says where, what is wrong, and what was expected.

    SovnetError
    ├── UsageError         a command-line argument that cannot work
    ├── ConfigError        a YAML file (topology, policy set, ...) is wrong; carries every issue
    ├── StoreError         the policy store refused a change (unknown policy, subscriber, ...)
    ├── StorageError       the store's file could not be written (a full disk): not bad input
    ├── CompileError       policies that cannot be compiled together (names the policy ids)
    └── EmulationError     the emulated network cannot be built as asked (names the node or link)
"""

from __future__ import annotations

from dataclasses import dataclass


class SovnetError(Exception):
    """Base of every error sovnet reports to a user without a traceback."""

    exit_code = 1


class UsageError(SovnetError):
    """The command line asks for something that cannot work; the message names the argument."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class ConfigIssue:
    file: str
    line: int  # 1-based
    col: int  # 1-based
    where: str  # dotted path into the document, e.g. "links[4].b"
    message: str  # "unknown node 's9' (expected one of: s1, s2)"

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.file}:{self.line}:{self.col}: {where}{self.message}"


class ConfigError(SovnetError):
    exit_code = 2

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = sorted(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class StoreError(SovnetError):
    pass


class StorageError(SovnetError):
    """The store's file system refused a write (full, read-only, failing). The change was
    rolled back whole; the store is as it was before. Exit 1: the input was fine."""


class CompileError(SovnetError):
    pass


class EmulationError(SovnetError):
    pass
