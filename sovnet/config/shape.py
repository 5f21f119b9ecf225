"""pydantic validation errors -> ConfigIssues in sovnet's phrasing."""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ValidationError

from sovnet.config.report import Reporter, got

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def validate(model: type[BaseModel], data: Any, reporter: Reporter | None = None,
             base: tuple = ()) -> BaseModel | None:
    """Validate `data` (found at `base` in the document); report every error, return None."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        if reporter is not None:
            for err, at in _untag(model, exc.errors(include_url=False)):
                _report(model, err, at, reporter, base)
        return None


def _untag(model: type[BaseModel], errors: list) -> list[tuple[dict, tuple]]:
    """(error, where it is in the document) for each error to report.

    pydantic tries every member of a union and names the member in each error's loc
    (`('register', 0, 'DeviceIn', 'mac')`). Of a union's errors, those inside a member that
    took the value's type are kept, without the member's name; if every member refused the
    value's type, one error names them all (`expected a string or a mapping, got 5`).
    """
    out: list[tuple[dict, tuple]] = []
    unions: dict[tuple, list[tuple[int, dict]]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        k = _union_tag_at(model, loc)
        if k is None:
            out.append((err, loc))
        else:
            unions.setdefault(loc[:k], []).append((k, err))
    for at, tagged in unions.items():
        inside = [(k, e) for k, e in tagged
                  if len(e["loc"]) > k + 1 or e["type"] not in _EXPECTED]
        if inside:
            out += [(e, at + tuple(e["loc"])[k + 1:]) for k, e in inside]
            continue
        wanted = list(dict.fromkeys(_EXPECTED[e["type"]] for _, e in tagged))
        if "a number" in wanted and "an integer" in wanted:
            wanted.remove("an integer")
        expected = (", ".join(wanted[:-1]) + " or " + wanted[-1]) if len(wanted) > 1 \
            else wanted[0]
        out.append(({"type": "union_type", "loc": at, "input": tagged[0][1].get("input"),
                     "ctx": {"expected": expected}}, at))
    return out


def _union_tag_at(model: type[BaseModel], loc: tuple) -> int | None:
    """The index in `loc` of the name of a union's member, if there is one."""
    for k in range(len(loc)):
        tp = _type_at(model, loc[:k])
        if _is_union(tp) and any(_tag(m) == loc[k] for m in typing.get_args(tp)):
            return k
    return None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _tag(tp: Any) -> str:
    """The name pydantic gives a member of a union in an error's loc."""
    return tp.__name__ if isinstance(tp, type) else str(tp)


def _strip(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _type_at(model: type[BaseModel], loc: tuple) -> Any:
    """The annotation at `loc` inside `model`, or None when the walk leaves the models."""
    tp: Any = model
    for part in loc:
        tp = _strip(tp)
        if _is_union(tp):  # an error's loc names the member it is about
            tp = next((m for m in typing.get_args(tp) if _tag(m) == part), None)
            if tp is None:
                return None
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {(f.alias or name): f for name, f in tp.model_fields.items()}
            if part not in fields:
                return None
            tp = fields[part].annotation
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        elif typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        else:
            return None
    return _strip(tp)


def _keys_of(model: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _report(model: type[BaseModel], err: dict, at: tuple, reporter: Reporter,
            base: tuple) -> None:
    """Report `err`, found at `at` in the document (its loc without union members' names)."""
    kind = err["type"]
    loc = tuple(err["loc"])  # for the types on the way
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if "[key]" in at:  # a mapping key of the wrong type
        key = base + at[: at.index("[key]")]
        shown = key[:-1] + (str(key[-1]),)
        reporter.key(key, f"expected a string as name, got {got(value)}", shown)
        return
    path = base + at
    shown = got(value, reporter.raw(path))
    if kind == "missing":
        reporter.missing(path, f"missing required key '{at[-1]}'")
    elif kind == "extra_forbidden":
        allowed = ", ".join(_keys_of(_type_at(model, loc[:-1])))
        reporter.key(path, f"unknown key '{at[-1]}' (expected one of: {allowed})")
    elif kind == "union_type":
        reporter.value(path, f"expected {ctx['expected']}, got {shown}")
    elif kind == "literal_error":
        tp = _type_at(model, loc)
        choices = typing.get_args(tp) if typing.get_origin(tp) is Literal else ()
        noun = next((p for p in reversed(at) if isinstance(p, str)), "value")
        listed = ", ".join(str(c) for c in choices) or ctx.get("expected", "")
        reporter.value(path, f"unknown {noun} {shown} (expected one of: {listed})")
    elif kind in _EXPECTED:
        reporter.value(path, f"expected {_EXPECTED[kind]}, got {shown}")
    elif kind == "value_error":
        reporter.value(path, str(ctx.get("error", err["msg"])))
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        limit = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        word = {"greater_than": "greater than", "greater_than_equal": "of at least",
                "less_than": "less than", "less_than_equal": "of at most"}[kind]
        noun = "an integer" if isinstance(value, int) and kind.endswith("_equal") else "a number"
        reporter.value(path, f"expected {noun} {word} {got(limit)}, got {shown}")
    elif kind == "too_short" and ctx.get("min_length", 1) <= 1:
        reporter.value(path, "expected at least one item, got an empty list")
    elif kind in ("too_short", "too_long"):
        n = ctx.get("actual_length")
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        reporter.value(path, f"expected {word} {limit} items, got {n}")
    else:  # pragma: no cover - a pydantic error kind the models above do not produce
        reporter.value(path, f"{err['msg']} (got {shown})")


def validate_lenient(model: type[BaseModel], data: Any) -> tuple[BaseModel | None, set[str]]:
    """Validate a mapping, dropping the keys that fail; (None, ...) if that is not enough.

    Returns the model and the keys dropped, so that callers can tell which checks the
    dropped values would have needed. Nothing is reported: `validate` on the whole file does.
    """
    dropped: set[str] = set()
    for _ in range(3):
        try:
            return model.model_validate(data), dropped
        except ValidationError as exc:
            if not isinstance(data, dict):
                return None, dropped
            bad = {e["loc"][0] for e in exc.errors() if e["loc"] and e["loc"][0] in data}
            if not bad:
                return None, dropped
            dropped |= {str(k) for k in bad}
            data = {k: v for k, v in data.items() if k not in bad}
    return None, dropped
