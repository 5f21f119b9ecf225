"""`sovnet validate FILE... [--topology TOPOLOGY] [--json]`: check config files, every one.

Each file's kind (topology, scenario, policy set) is told by its content: the keys of its
top-level mapping (sovnet.config.kind). `-` is standard input; it and any other pipe
(/dev/stdin, <(...)) is read once, and a scenario read so names its topology and policy sets
relative to the current directory, having no folder of its own. Policy sets are checked against
the --topology file.

Every file's problems are reported, not only the first file's: as `FILE:LINE:COL: WHERE:
MESSAGE` lines on standard error, or with --json as one JSON object per file on standard output
(the --topology file first):

    {"file": ..., "kind": "topology" | "scenario" | "policy-set" | null, "ok": bool,
     "issues": [{"file": ..., "line": ..., "col": ..., "where": ..., "message": ...}]}

An issue's file is the file's own, or a file it names (a scenario's topology). Exit status 0
when every file is fine, 2 otherwise.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sovnet.config.kind import POLICY_SET, SCENARIO, TOPOLOGY, kind_of, unknown_kind
from sovnet.config.load import decode_text, read_text, topology_from_doc
from sovnet.config.policyset import policy_set_from_doc
from sovnet.config.scenario import scenario_from_doc
from sovnet.config.yamlsrc import Doc, parse_yaml
from sovnet.errors import ConfigError, ConfigIssue
from sovnet.model.topology import Topology

STDIN = "-"
STDIN_NAME = "<stdin>"
_PIPE_FOLDERS = ("/dev", "/dev/fd", "/proc/self/fd")  # /dev/stdin, <(...): no folder of their own
_FROM_HERE = ("the current directory, as a scenario read from standard input has no folder of "
              "its own")


@dataclass
class Checked:
    file: str  # as given; standard input as <stdin>
    kind: str | None = None
    issues: list[ConfigIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    def as_json(self) -> dict:
        return {"file": self.file, "kind": self.kind, "ok": self.ok,
                "issues": [{"file": i.file, "line": i.line, "col": i.col, "where": i.where,
                            "message": i.message} for i in sorted(self.issues)]}


class _Reader:
    """Each path's text read once: standard input and pipes cannot be read again."""

    def __init__(self) -> None:
        self._texts: dict[str, str | ConfigError] = {}

    def doc(self, path: str) -> Doc:
        if path not in self._texts:
            try:
                self._texts[path] = (decode_text(sys.stdin.buffer.read(), STDIN_NAME)
                                     if path == STDIN else read_text(path))
            except ConfigError as exc:
                self._texts[path] = exc
        text = self._texts[path]
        if isinstance(text, ConfigError):
            raise text
        return parse_yaml(text, _name(path))


def validate(args) -> int:
    """The `validate` command: check `args.files` (and `args.topology`); report; exit code."""
    reader = _Reader()
    checked: list[Checked] = []
    topology = None
    if args.topology:
        given = Checked(_name(args.topology), TOPOLOGY)
        try:
            topology = topology_from_doc(reader.doc(args.topology))
        except ConfigError as exc:
            given.issues = exc.issues
        checked.append(given)
    for path in args.files:
        checked.append(_check(path, reader, args.topology, topology))
    if args.json:
        for c in checked:
            print(json.dumps(c.as_json()))
        return 0 if all(c.ok for c in checked) else 2
    for c in checked[1 if args.topology else 0:]:
        if c.ok:
            print(f"{c.file}: ok")
    issues = [i for c in checked for i in c.issues]
    if issues:
        raise ConfigError(issues)
    return 0


def _check(path: str, reader: _Reader, topology_path: str | None,
           topology: Topology | None) -> Checked:
    out = Checked(_name(path))
    try:
        doc = reader.doc(path)
        out.kind = kind_of(doc)
        if out.kind is None:
            out.issues = [*doc.issues, unknown_kind(doc)]
        elif out.kind == TOPOLOGY:
            topology_from_doc(doc)
        elif out.kind == SCENARIO:
            base, relative_to = ((Path("."), _FROM_HERE) if _is_pipe(path)
                                 else (Path(path).parent, "the scenario file"))
            scenario_from_doc(doc, base, Path(out.file), relative_to)
        else:
            assert out.kind == POLICY_SET
            out.issues = _unchecked(doc, topology_path, topology)
            policy_set_from_doc(doc, topology)
    except ConfigError as exc:
        out.issues += exc.issues
    return out


def _unchecked(doc: Doc, topology_path: str | None, topology: Topology | None) -> list:
    """A policy set names what a topology has: without one, only its shape is checked, and
    the file is not ok."""
    if topology is not None:
        return []
    if topology_path is None:
        message = ("a policy set names what a topology has, and no topology was given "
                   "(expected --topology FILE)")
    else:
        message = (f"not checked against {_name(topology_path)}, which has errors (expected a "
                   "topology without errors)")
    return [ConfigIssue(doc.file, 1, 1, "", message)]


def _name(path: str) -> str:
    return STDIN_NAME if path == STDIN else path


def _is_pipe(path: str) -> bool:
    """Whether `path` is standard input or another stream without a folder of its own."""
    if path == STDIN or os.path.dirname(os.path.abspath(path)) in _PIPE_FOLDERS:
        return True
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
