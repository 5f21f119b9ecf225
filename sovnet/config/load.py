"""load_topology: read, parse, validate, check and build, reporting every problem at once."""

from __future__ import annotations

import codecs
import os

from sovnet.config.build import build
from sovnet.config.checks import check
from sovnet.config.report import Reporter
from sovnet.config.resolve import parse
from sovnet.config.yamlsrc import Doc, parse_yaml
from sovnet.errors import ConfigError, ConfigIssue
from sovnet.model.topology import Topology


def read_text(path: str | os.PathLike[str]) -> str:
    """A config file's text, as open() in text mode reads it (universal newlines), without a
    leading byte-order mark. ConfigError if it cannot be read or is not UTF-8: at the line and
    column of the first byte that is not."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(file, 1, 1, "", f"cannot read the file: {exc.strerror}")]
        ) from None
    return decode_text(data, file)


def decode_text(data: bytes, file: str) -> str:
    """read_text for bytes already read (standard input, which can be read only once)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = _newlines(data[:exc.start].decode("utf-8"))
        line, col = head.count("\n") + 1, len(head) - head.rfind("\n")
        raise ConfigError([ConfigIssue(
            file, line, col, "", f"cannot read the file: byte 0x{data[exc.start]:02x} is not "
                                 "UTF-8 (expected UTF-8 text)")]) from None
    return _newlines(text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_doc(path: str | os.PathLike[str]) -> Doc:
    """Read and parse a YAML file; ConfigError if it cannot be read or is not valid YAML."""
    return parse_yaml(read_text(path), str(path))


def load_topology(path: str | os.PathLike[str]) -> Topology:
    """Load a topology file. Raises ConfigError listing every problem found in it."""
    return topology_from_doc(read_doc(path))


def topology_from_text(text: str, file: str = "<string>") -> Topology:
    """Same as load_topology, for YAML text; `file` names it in messages."""
    return topology_from_doc(parse_yaml(text, file))


def topology_from_doc(doc: Doc) -> Topology:
    reporter = Reporter(doc)
    _mark_short_links(doc)
    if doc.data is None:
        reporter.value((), "the file is empty (expected a mapping with name, isps and switches)")
        reporter.raise_if_any()
    parsed = parse(doc.data, reporter)
    check(parsed, reporter)
    topology = build(parsed, reporter)
    reporter.raise_if_any()
    assert topology is not None
    return topology


def _mark_short_links(doc: Doc) -> None:
    """Short-form links [A, B] are validated as {a: A, b: B}: give a and b their positions."""
    links = doc.data.get("links") if isinstance(doc.data, dict) else None
    if not isinstance(links, list):
        return
    for i, item in enumerate(links):
        if isinstance(item, list) and len(item) == 2:
            for j, side in enumerate(("a", "b")):
                if ("links", i, j) in doc.values:
                    doc.values[("links", i, side)] = doc.values[("links", i, j)]
                if ("links", i, j) in doc.raw:
                    doc.raw[("links", i, side)] = doc.raw[("links", i, j)]
