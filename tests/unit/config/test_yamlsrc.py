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


def _refused(text: str) -> str:
    with pytest.raises(ConfigError) as e:
        parse_yaml(text, "f.yaml")
    return str(e.value)


def _doubling(levels: int, word: str = "lol") -> str:
    """An alias bomb: each level lists the one before twice, 2**(levels + 1) values in all."""
    lines = [f"a0: &a0 [{word}, {word}]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flow", [True, False])
def test_deep_nesting_is_refused_at_the_level_too_many_not_by_recursion_error(flow):
    if flow:
        text = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
        where = "1:67"  # the 65th list: the document mapping and 63 lists hold it
    else:
        text = "a:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 2000)) + "\n"
        where = "33:67"  # the mapping k32: the 65th level, after 32 lists and 32 mappings
    assert _refused(text) == (f"f.yaml:{where}: invalid YAML: lists and mappings nested "
                              "more than 64 deep (expected at most 64 levels)")


def test_sixty_four_levels_are_read():
    doc = parse_yaml("a: " + "[" * 63 + "1" + "]" * 63 + "\n", "f.yaml")
    value = doc.data["a"]
    for _ in range(62):
        value = value[0]
    assert value == [1]


def test_nesting_through_aliases_is_refused_at_the_outermost_alias():
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 100)]
    assert _refused("\n".join(lines) + "\n") == (
        "f.yaml:64:12: a63[0]: lists and mappings nested more than 64 deep through aliases "
        "(expected at most 64 levels)")


@pytest.mark.timeout(60)
def test_an_alias_bomb_of_thirty_levels_is_refused_at_the_alias_that_crosses_the_budget():
    # 2**31 values if walked; PyYAML composes it in microseconds because aliases share nodes.
    assert _refused(_doubling(30)) == (
        "f.yaml:15:18: a14[1]: aliases and merge keys repeat more than 100000 values "
        "(expected at most 100000 in one file)")


def test_aliases_within_the_budget_are_expanded():
    # walking a_i repeats the 2 * (2**(i+1) - 1) values of its two aliases: 65506 for 13 levels
    doc = parse_yaml(_doubling(13), "f.yaml")
    assert str(doc.data["a13"]).count("lol") == 2 ** 14
    assert doc.issues == []


@pytest.mark.timeout(60)
def test_a_chain_of_merges_is_refused_without_building_it():
    # Mapping i merges mapping i-1: n*n/2 merged pairs. PyYAML's own flatten_mapping builds
    # them all (and recurses once per link when they were not flattened in order).
    lines = ["keys:"]
    for i in range(5000):
        merge = f", <<: *m{i - 1}" if i else ""
        lines.append(f"  ? &m{i} {{k{i}: 1{merge}}}\n  : v")
    lines.append("x: {<<: *m4999}")
    assert _refused("\n".join(lines) + "\n") == (
        "f.yaml:10002:4: x: aliases and merge keys repeat more than 100000 values "
        "(expected at most 100000 in one file)")


def test_merge_keys_follow_the_spec_earlier_mappings_win():
    # PyYAML 6.0.4 lets the later one win unless the key is one character long.
    doc = parse_yaml("a: &a {kk: 1, k: 1}\nb: &b {kk: 2, k: 2, j: 2}\n"
                     "c: {<<: [*a, *b], j: 3}\n", "f.yaml")
    assert doc.data["c"] == {"kk": 1, "k": 1, "j": 3}
    assert doc.issues == []


@pytest.mark.parametrize("text, message", [
    ("a: &a {b: 1, <<: *a}\n",
     "f.yaml:1:4: a: bad merge key: a mapping merges itself (expected a finite document)"),
    ("a: {<<: [{b: 1}, 3]}\n",
     "f.yaml:1:18: a: bad merge key: expected a mapping for merging, but found scalar"),
    ("a: {<<: 3, b: 1}\n",
     "f.yaml:1:9: a: bad merge key: expected a mapping or list of mappings for merging, "
     "but found scalar"),
])
def test_bad_merge_keys_are_issues(text, message):
    doc = parse_yaml(text, "f.yaml")
    assert doc.data == {"a": {}}
    assert [str(i) for i in doc.issues] == [message]


@pytest.mark.parametrize("text, where", [
    ("a: 1\nb: [x,\x07]\n", "2:7"),
    ("a: 1\r\nb: [x,\x00]\n", "2:7"),
    ("\ufeffa: \x1b\n", "1:4"),
])
def test_control_characters_are_refused_where_they_are(text, where):
    char = next(c for c in text if c in "\x00\x07\x1b")
    assert _refused(text) == (f"f.yaml:{where}: invalid YAML: unacceptable character "
                              f"U+{ord(char):04X} (expected printable text, tabs and line breaks)")


@pytest.mark.parametrize("value, problem", [
    ("9" * 5000, "a number of 5000 characters (expected at most 4300 digits)"),
    ("0x" + "f" * 5000, "a number of 5002 characters (expected at most 4300 digits)"),
    ("2024-02-30", "day is out of range for month (expected a real date and time, or quotes "
                   "around the text)"),
    ("!!timestamp soon", "'soon' is not a timestamp (expected one, or no !!timestamp tag)"),
    ("!!bool maybe", "'maybe' is not a bool (expected one, or no !!bool tag)"),
    ("!!int x1", "'x1' is not a int (expected one, or no !!int tag)"),
])
def test_plain_scalars_python_cannot_make_are_issues_not_tracebacks(value, problem):
    doc = parse_yaml(f"a: {value}\nb: 1\n", "f.yaml")
    assert doc.data == {"a": None, "b": 1}
    assert [str(i) for i in doc.issues] == [f"f.yaml:1:4: a: cannot read this value: {problem}"]
