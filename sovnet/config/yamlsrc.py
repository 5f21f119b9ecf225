"""YAML text -> plain data, plus where every key and value was written.

Built on PyYAML's composer (node marks) and its *safe* constructors for scalars. Duplicate
keys, which PyYAML silently lets win, are reported as issues instead. Merge keys (`<<: *x`)
work as in PyYAML: keys written in the mapping itself override merged ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sovnet.errors import ConfigError, ConfigIssue

Path = tuple  # of str (mapping keys) and int (sequence indices)

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


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
    """Parse one YAML document. Raises ConfigError with one issue on a syntax error."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_issue(exc, file)]) from None
    except yaml.YAMLError as exc:  # unmarked: rare (e.g. a reader error without position)
        raise ConfigError([ConfigIssue(file, 1, 1, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    doc = Doc(file=file, data=None)
    if node is not None:
        doc.data = _Walker(loader, doc).walk(node, ())
    return doc


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
    def __init__(self, loader: yaml.SafeLoader, doc: Doc):
        self.loader = loader
        self.doc = doc
        self.active: set[int] = set()  # node ids on the current path, to stop recursive aliases

    def issue(self, node: Node, path: Path, message: str) -> None:
        pos = _pos(node)
        self.doc.issues.append(
            ConfigIssue(self.doc.file, pos.line, pos.col, render_path(path), message)
        )

    def walk(self, node: Node, path: Path) -> Any:
        self.doc.values.setdefault(path, _pos(node))
        if id(node) in self.active:
            self.issue(node, path, "recursive alias (expected a finite document)")
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            self.issue(node, path, f"unsupported tag {node.tag!r} (expected plain YAML)")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.walk(item, path + (i,)) for i, item in enumerate(node.value)]
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
        if record and not isinstance(value, str) and node.style is None:
            self.doc.raw[path] = node.value
        return value

    def mapping(self, node: MappingNode, path: Path) -> dict:
        own = {id(k) for k, _ in node.value if k.tag != _MERGE_TAG}
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            pos = Pos(mark.line + 1, mark.column + 1) if mark else _pos(node)
            self.doc.issues.append(
                ConfigIssue(self.doc.file, pos.line, pos.col, render_path(path),
                            f"bad merge key: {exc.problem}")
            )
            return {}
        result: dict = {}
        first_own: dict[Any, Pos] = {}
        for key_node, value_node in node.value:
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
            result[key] = self.walk(value_node, sub)
        return result
