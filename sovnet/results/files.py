"""Reading and writing a run folder's JSON files, with errors that name file and line. Pure
apart from the file reads."""

from __future__ import annotations

import json
import os
from typing import Any

from sovnet.errors import SovnetError


class RecordError(SovnetError):
    """A run folder file, or one of its records, is malformed (names file:line)."""

    exit_code = 2


def dump_line(obj: dict[str, Any]) -> str:
    """One JSON-lines line, compact, newline included."""
    return json.dumps(obj, separators=(",", ":")) + "\n"


FORMAT = "sovnet-run/1"  # manifest.json's "format": what the readers here understand


def read_manifest(folder: str) -> dict[str, Any]:
    """FOLDER/manifest.json, checked to be a run folder's of this format."""
    mpath = os.path.join(folder, "manifest.json")
    if not os.path.isfile(mpath):
        raise RecordError(f"{folder}: not a run folder (no manifest.json)")
    manifest = read_json(mpath)
    if not isinstance(manifest, dict):
        raise RecordError(f"{mpath}: expected a JSON object")
    if manifest.get("format") != FORMAT:
        raise RecordError(f"{mpath}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise RecordError(f"{path}: missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RecordError(f"{path}: not JSON ({e})") from None


def read_jsonl(path: str, torn_notes: list[str] | None) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line. An interrupted writer can leave half a
    last line; when `torn_notes` is given (the run did not complete) that line is dropped and
    a note saying so is appended."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        if torn_notes is None:
            raise RecordError(f"{path}: missing") from None
        torn_notes.append(f"{path}: missing (run interrupted before writing it)")
        return []
    lines = text.split("\n")
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if torn_notes is not None and n == len(lines):
                torn_notes.append(f"{path}:{n}: ignored a cut-off last line (run interrupted)")
                break
            raise RecordError(f"{path}:{n}: not JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(obj, dict):
            raise RecordError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        out.append((n, obj))
    return out


def num(obj: dict[str, Any], key: str, where: str) -> float:
    v = obj.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        got = "nothing" if key not in obj else repr(v)
        raise RecordError(f"{where}: '{key}' must be a number, got {got}")
    return float(v)


def string(obj: dict[str, Any], key: str, where: str) -> str:
    v = obj.get(key)
    if not isinstance(v, str):
        got = "nothing" if key not in obj else repr(v)
        raise RecordError(f"{where}: '{key}' must be a string, got {got}")
    return v


def opt_num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def opt_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None
