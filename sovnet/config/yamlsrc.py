"""YAML text -> plain data, plus where every key and value was written.

Built on PyYAML's composer (node marks) and its *safe* constructors for scalars. Duplicate
keys, which PyYAML silently lets win, are reported as issues instead. Merge keys (`<<: *x`)
work as the merge-key spec says: keys written in the mapping itself override merged ones, and
of `<<: [*a, *b]` the earlier mapping wins (PyYAML 6.0.4 lets the later one win unless the key
is one character long, and builds every merged list whole, recursively).

Any text is read in bounded time and memory: nesting deeper than MAX_DEPTH is refused (PyYAML
composes recursively), and so is a file whose aliases and merge keys repeat more than
MAX_ALIAS_VALUES values (PyYAML shares an aliased node, so an alias bomb is small until it is
walked into data).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sovnet.errors import ConfigError, ConfigIssue

Path = tuple  # of str (mapping keys) and int (sequence indices)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"

MAX_DEPTH = 64  # nested lists and mappings; sovnet's files need fewer than 10
MAX_ALIAS_VALUES = 100_000  # values repeated by aliases and merge keys in one file
_MAX_INT_BITS = int(sys.get_int_max_str_digits() * 3.32)  # what str() can still show
_TOO_MANY_REPEATS = (f"aliases and merge keys repeat more than {MAX_ALIAS_VALUES} values "
                     f"(expected at most {MAX_ALIAS_VALUES} in one file)")


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based
    col: int  # 1-based


@dataclass
class Doc:
    """A parsed YAML document: data made of dict, list and scalars, and positions by path."""

    file: str
    data: Any
    values: dict[Path, Pos] = field(default_factory=dict)  # where each value starts
    keys: dict[Path, Pos] = field(default_factory=dict)  # where the key of a mapping entry is
    raw: dict[Path, str] = field(default_factory=dict)  # source text of plain non-str scalars
    issues: list[ConfigIssue] = field(default_factory=list)  # duplicate keys, bad tags


def render_path(path: Path) -> str:
    """('links', 4, 'b') -> 'links[4].b'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _pos(node: Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(text: str, file: str) -> Doc:
    """Parse one YAML document. Raises ConfigError with one issue on a syntax error, or when
    the document nests too deep or its aliases repeat too much."""
    try:
        loader = _Loader(text)  # refuses control characters before composing
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text, exc.position)
        raise ConfigError([ConfigIssue(
            file, line, col, "", f"invalid YAML: unacceptable character U+{exc.character:04X} "
                                 "(expected printable text, tabs and line breaks)")]) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_issue(exc, file)]) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error but ReaderError is marked
        raise ConfigError([ConfigIssue(file, 1, 1, "", f"invalid YAML: {exc}")]) from None
    doc = Doc(file=file, data=None)
    if node is not None:
        try:
            doc.data = _Walker(loader, doc).walk(node, ())
        except _Refused as exc:
            raise ConfigError([exc.issue]) from None
    return doc


def _line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of text[index], counting line breaks as PyYAML does."""
    head = text[:index].replace("\r\n", "\n")
    for brk in "\r\x85\u2028\u2029":
        head = head.replace(brk, "\n")
    line = head.count("\n") + 1
    col = len(head) - head.rfind("\n")
    if line == 1 and head.startswith("\ufeff"):  # PyYAML skips a byte-order mark
        col -= 1
    return line, col


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting while composing, and remembers where each alias
    was written (PyYAML hands back the anchored node, whose marks are the anchor's)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = 0
        self.aliases: dict[tuple[int, int], yaml.Mark] = {}  # (parent, index or key) -> mark

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            if parent is not None and index is not None:
                self.aliases[_slot(parent, index)] = event.start_mark
            return super().compose_node(parent, index)
        if not isinstance(event, CollectionStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.MarkedYAMLError(
                    problem=f"lists and mappings nested more than {MAX_DEPTH} deep",
                    problem_mark=event.start_mark,
                    context=f"expected at most {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _slot(parent: Node, index: Any) -> tuple[int, int]:
    """Names a child by its parent and its index (sequences) or key node (mappings)."""
    return id(parent), index if isinstance(index, int) else id(index)


class _Refused(Exception):
    def __init__(self, issue: ConfigIssue):
        self.issue = issue


def _syntax_issue(exc: yaml.MarkedYAMLError, file: str) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "cannot parse"
    message = f"invalid YAML: {problem}"
    if exc.context and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    elif exc.context:
        message += f" ({exc.context})"
    return ConfigIssue(file, line, col, "", message)


class _Walker:
    def __init__(self, loader: _Loader, doc: Doc):
        self.loader = loader
        self.doc = doc
        self.active: set[int] = set()  # node ids on the current path, to stop recursive aliases
        self.seen: set[int] = set()  # node ids walked once: walking one again repeats it
        self.repeated = 0
        self.alias: tuple[Path, Pos] | None = None  # the outermost alias being walked, if any
        self.flat: dict[int, list[tuple[Node, Node]]] = {}  # mapping id -> pairs after merges
        self.bad_merges: set[int] = set()  # mappings whose merge keys were already reported

    def issue(self, node: Node, path: Path, message: str) -> None:
        pos = _pos(node)
        self.doc.issues.append(
            ConfigIssue(self.doc.file, pos.line, pos.col, render_path(path), message)
        )

    def walk(self, node: Node, path: Path, slot: tuple[int, int] | None = None) -> Any:
        self.doc.values.setdefault(path, _pos(node))
        if id(node) in self.active:
            self.issue(node, path, "recursive alias (expected a finite document)")
            return None
        outermost = False
        if id(node) in self.seen:
            self.repeated += 1
            if self.alias is None:
                mark = self.loader.aliases.get(slot) if slot else None
                outermost = True
                self.alias = (path, Pos(mark.line + 1, mark.column + 1) if mark else _pos(node))
            if self.repeated > MAX_ALIAS_VALUES:
                self.refuse(node, path, _TOO_MANY_REPEATS)
        else:
            self.seen.add(id(node))
        try:
            return self.value(node, path)
        finally:
            if outermost:
                self.alias = None

    def refuse(self, node: Node, path: Path, message: str) -> None:
        """Stop walking: one issue, at the outermost alias being walked if there is one."""
        path, pos = self.alias or (path, _pos(node))
        raise _Refused(ConfigIssue(self.doc.file, pos.line, pos.col, render_path(path), message))

    def value(self, node: Node, path: Path) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            self.issue(node, path, f"unsupported tag {node.tag!r} (expected plain YAML)")
            return None
        if len(self.active) >= MAX_DEPTH:  # deeper than the text: only aliases get here
            self.refuse(node, path, f"lists and mappings nested more than {MAX_DEPTH} deep "
                                    f"through aliases (expected at most {MAX_DEPTH} levels)")
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.walk(item, path + (i,), (id(node), i))
                        for i, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, path: Path, record: bool = True) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.issue(node, path, f"cannot read this value: {problem}")
            return None
        except Exception as exc:  # noqa: BLE001 - PyYAML's constructors trust the text: a long
            # integer, 2024-02-30, or an explicit `!!bool maybe` fail in int(), date() or a dict
            self.issue(node, path, f"cannot read this value: {_unreadable(node, exc)}")
            return None
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:  # 0xfff...: no
            # limit on the way in, but str() refuses it in every message that would show it
            self.issue(node, path, f"cannot read this value: {_too_long(node)}")
            return None
        if record and not isinstance(value, str) and node.style is None:
            self.doc.raw[path] = node.value
        return value

    def mapping(self, node: MappingNode, path: Path) -> dict:
        own = {id(k) for k, _ in node.value if k.tag != _MERGE_TAG}
        try:
            pairs = self.flatten(node, path)
        except _BadMerge as exc:
            self.bad_merges.add(id(node))
            mark = exc.mark
            self.doc.issues.append(
                ConfigIssue(self.doc.file, mark.line + 1, mark.column + 1, render_path(path),
                            f"bad merge key: {exc.problem}")
            )
            return {}
        if pairs is None:
            return {}
        result: dict = {}
        first_own: dict[Any, Pos] = {}
        for key_node, value_node in pairs:
            if not isinstance(key_node, ScalarNode):
                self.issue(key_node, path, "a key must be a plain scalar (expected NAME: VALUE)")
                continue
            key = self.scalar(key_node, path, record=False)
            try:
                hash(key)
            except TypeError:  # pragma: no cover - scalars are hashable
                continue
            sub = path + (key,)
            if id(key_node) in own:
                if key in first_own:
                    self.issue(
                        key_node, sub,
                        f"duplicate key {key!r} (first defined at line {first_own[key].line})",
                    )
                    continue
                first_own[key] = _pos(key_node)
            self.doc.keys[sub] = _pos(key_node)
            self.doc.values.pop(sub, None)
            result[key] = self.walk(value_node, sub, (id(node), id(key_node)))
        return result

    def flatten(self, root: MappingNode, path: Path) -> list[tuple[Node, Node]] | None:
        """The pairs of `root` after its merge keys: merged pairs first, then its own (which
        override them). Of two merged mappings, the one earlier in `<<: [*a, *b]` wins, as
        the merge-key spec says. Depth-first without recursion: chains of merges can be as
        long as the file. Merged pairs count as repeated values. None: reported before."""
        if id(root) in self.bad_merges:
            return None
        stack: list[tuple[MappingNode, bool]] = [(root, False)]
        open_: set[int] = set()
        while stack:
            node, ready = stack.pop()
            if id(node) in self.flat:
                continue
            if not ready:
                if id(node) in open_:
                    raise _BadMerge("a mapping merges itself (expected a finite document)",
                                    node.start_mark)
                open_.add(id(node))
                stack.append((node, True))
                stack.extend((src, False) for src in reversed(_merge_sources(node)))
                continue
            open_.discard(id(node))
            merged: list[tuple[Node, Node]] = []
            taken: set[Any] = set()
            for src in _merge_sources(node):
                for key_node, value_node in self.flat[id(src)]:
                    key = (key_node.tag, key_node.value) if isinstance(key_node, ScalarNode) \
                        else id(key_node)
                    if key not in taken:
                        taken.add(key)
                        merged.append((key_node, value_node))
            self.repeated += len(merged)
            if self.repeated > MAX_ALIAS_VALUES:
                self.refuse(root, path, _TOO_MANY_REPEATS)
            self.flat[id(node)] = merged + [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        return self.flat[id(root)]


def _unreadable(node: ScalarNode, exc: Exception) -> str:
    kind = node.tag.rsplit(":", 1)[-1]
    if kind == "int" and len(node.value) > sys.get_int_max_str_digits():
        return _too_long(node)
    if kind == "timestamp" and isinstance(exc, ValueError):
        return f"{exc} (expected a real date and time, or quotes around the text)"
    return f"{node.value!r} is not a {kind} (expected one, or no !!{kind} tag)"


def _too_long(node: ScalarNode) -> str:
    return (f"a number of {len(node.value)} characters (expected at most "
            f"{sys.get_int_max_str_digits()} digits)")


class _BadMerge(Exception):
    def __init__(self, problem: str, mark: yaml.Mark):
        self.problem = problem
        self.mark = mark


def _merge_sources(node: MappingNode) -> list[MappingNode]:
    """The mappings that `node`'s merge keys name, in order."""
    sources = []
    for key_node, value_node in node.value:
        if key_node.tag == _VALUE_TAG:  # `=` is an ordinary key, as in PyYAML
            key_node.tag = _STR_TAG
        if key_node.tag != _MERGE_TAG:
            continue
        if isinstance(value_node, MappingNode):
            sources.append(value_node)
        elif isinstance(value_node, SequenceNode):
            for sub in value_node.value:
                if not isinstance(sub, MappingNode):
                    raise _BadMerge(f"expected a mapping for merging, but found {sub.id}",
                                    sub.start_mark)
                sources.append(sub)
        else:
            raise _BadMerge("expected a mapping or list of mappings for merging, but found "
                            f"{value_node.id}", value_node.start_mark)
    return sources
