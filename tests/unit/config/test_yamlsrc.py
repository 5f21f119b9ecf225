"""YAML text -> data and positions."""

from __future__ import annotations

import pytest

from sovnet.config.yamlsrc import Pos, parse_yaml, render_path
from sovnet.errors import ConfigError


def test_positions_of_keys_and_values():
    doc = parse_yaml("a:\n  b: [1, x]\n  c: {d: on}\n", "f.yaml")
    assert doc.data == {"a": {"b": [1, "x"], "c": {"d": True}}}
    assert doc.keys[("a", "b")] == Pos(2, 3)
    assert doc.values[("a", "b")] == Pos(2, 6)
    assert doc.values[("a", "b", 1)] == Pos(2, 10)
    assert doc.values[("a", "c", "d")] == Pos(3, 10)
    assert doc.raw[("a", "c", "d")] == "on"
    assert ("a", "b", 1) not in doc.raw  # strings need no hint
    assert doc.issues == []


def test_duplicate_keys_are_issues_and_the_first_wins():
    doc = parse_yaml("s1: 1\ns2: 2\ns1: 3\n", "f.yaml")
    assert doc.data == {"s1": 1, "s2": 2}
    assert [str(i) for i in doc.issues] == [
        "f.yaml:3:1: s1: duplicate key 's1' (first defined at line 1)"]


def test_merge_keys_are_not_duplicates():
    doc = parse_yaml("a: &x {k: 1, j: 2}\nb:\n  <<: *x\n  k: 3\n", "f.yaml")
    assert doc.data["b"] == {"k": 3, "j": 2}
    assert doc.issues == []


@pytest.mark.parametrize("text, message", [
    ("a: [1, 2\nb: 3\n",
     "f.yaml:2:2: invalid YAML: expected ',' or ']', but got ':' "
     "(while parsing a flow sequence at line 1)"),
    ("a: 1\n b: 2\n", "f.yaml:2:3: invalid YAML: mapping values are not allowed here"),
    ("a:\t1\n", "f.yaml:1:3: invalid YAML: found character '\\t' that cannot start any token "
                "(while scanning for the next token)"),
])
def test_syntax_errors_are_one_issue_at_the_problem(text, message):
    with pytest.raises(ConfigError) as e:
        parse_yaml(text, "f.yaml")
    assert str(e.value) == message


def test_only_safe_tags():
    doc = parse_yaml("a: !!python/object/apply:os.system [ls]\nb: !custom 1\n", "f.yaml")
    assert doc.data == {"a": None, "b": None}
    assert [i.where for i in doc.issues] == ["a", "b"]
    assert doc.issues[0].message.startswith("unsupported tag 'tag:yaml.org,2002:python/object")


def test_render_path():
    assert render_path(("links", 4, "b")) == "links[4].b"
    assert render_path(("switches", "s1", "role")) == "switches.s1.role"
    assert render_path(()) == ""
