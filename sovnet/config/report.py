"""Collecting ConfigIssues against a parsed document, and sovnet's phrasing of values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sovnet.config.yamlsrc import Doc, Path, Pos, render_path
from sovnet.errors import ConfigError, ConfigIssue

_BOOL_TEXTS = ("true", "false")


class Reporter:
    """Turns (path, message) into ConfigIssues positioned from the document's marks."""

    def __init__(self, doc: Doc):
        self.doc = doc
        self.issues: list[ConfigIssue] = list(doc.issues)
        self._seen: set[ConfigIssue] = set(self.issues)

    def _add(self, pos: Pos, path: Path, message: str) -> None:
        issue = ConfigIssue(self.doc.file, pos.line, pos.col, render_path(path), message)
        if issue not in self._seen:
            self._seen.add(issue)
            self.issues.append(issue)

    def _nearest(self, path: Path) -> Pos:
        while path:
            pos = self.doc.values.get(path) or self.doc.keys.get(path)
            if pos is not None:
                return pos
            path = path[:-1]
        return self.doc.values.get((), Pos(1, 1))

    def value(self, path: Path, message: str) -> None:
        """An issue with the value at `path` (or its nearest written ancestor)."""
        self._add(self._nearest(path), path, message)

    def key(self, path: Path, message: str, shown: Path | None = None) -> None:
        """An issue with the key that ends `path` (unknown key, bad name); `shown` is the
        path to print when it differs (a key that is not a string)."""
        pos = self.doc.keys.get(path) or self._nearest(path)
        self._add(pos, path if shown is None else shown, message)

    def entry(self, path: Path, message: str) -> None:
        """An issue with a whole mapping entry or list item: at its key, or where it starts."""
        self.key(path, message)

    def missing(self, path: Path, message: str) -> None:
        """A key missing from the mapping at `path[:-1]`: at that mapping's key or start."""
        parent = path[:-1]
        self._add(self.doc.keys.get(parent) or self._nearest(parent), parent, message)

    def raw(self, path: Path) -> str | None:
        return self.doc.raw.get(path)

    def raise_if_any(self) -> None:
        if self.issues:
            raise ConfigError(self.issues)


def got(value: Any, raw: str | None = None) -> str:
    """How a value is shown after 'got': 'abc', true, 3, null, a list, a mapping."""
    if isinstance(value, bool):
        text = "true" if value else "false"
        if raw is not None and raw.lower() not in _BOOL_TEXTS:
            text += f" (YAML reads unquoted {raw} as {text}; write '{raw}' in quotes)"
        return text
    if value is None:
        return "nothing" if raw in (None, "") else "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def one_of(names: Iterable[str], what: str) -> str:
    """'expected one of: a, b' or, when there is nothing to choose from, 'no WHAT defined'."""
    names = list(names)
    if not names:
        return f"no {what} defined"
    return "expected one of: " + ", ".join(str(n) for n in names)
