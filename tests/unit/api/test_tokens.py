"""`sovnet api token add|list|revoke`: the tokens file holds digests only, mode 0600, written
whole; a role is checked when the token is added (and its ISP, when the store is given)."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import pytest

from sovnet import cli_api
from sovnet.api import tokens
from sovnet.errors import UsageError
from tests.unit.api.conftest import make_store


def sovnet_api(*argv: str) -> int:
    """`sovnet api ARGV` as sovnet.cli will run it (its parser's subcommands, then handle)."""
    parser = argparse.ArgumentParser(prog="sovnet")
    cli_api.add_parser(parser.add_subparsers(dest="cmd", required=True))
    return cli_api.handle(parser.parse_args(["api", *argv]))


def test_add_prints_the_token_once_and_keeps_only_its_digest(tmp_path: Path, capsys) -> None:
    f = tmp_path / "tokens.json"
    assert sovnet_api("token", "add", "--tokens", str(f), "ministry", "--role", "regulator") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"token 'ministry' (regulator) added to {f}; it is shown this once, and "
                      "kept only hashed:")
    token = out[1]
    assert token.startswith("sovnet_") and len(token) >= 7 + 43
    text = f.read_text()
    assert token not in text and token[7:] not in text
    doc = json.loads(text)
    assert doc["version"] == 1 and len(doc["tokens"]) == 1
    entry = doc["tokens"][0]
    assert (entry["name"], entry["role"], entry["sha256"]) == (
        "ministry", "regulator", tokens.digest(token))
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.json"]  # no temporary left
    assert tokens.find(tokens.read(f), token).name == "ministry"
    assert tokens.find(tokens.read(f), token + "x") is None


def test_list_and_revoke(tmp_path: Path, capsys) -> None:
    f = str(tmp_path / "tokens.json")
    sovnet_api("token", "add", "--tokens", f, "ministry", "--role", "regulator")
    sovnet_api("token", "add", "--tokens", f, "fixnet-noc", "--role", "isp:fixnet")
    capsys.readouterr()
    assert sovnet_api("token", "list", "--tokens", f, "--json") == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["name"], x["role"]) for x in listed] == [("ministry", "regulator"),
                                                        ("fixnet-noc", "isp:fixnet")]
    assert all("sha256" not in x for x in listed)
    assert sovnet_api("token", "revoke", "--tokens", f, "ministry") == 0
    assert capsys.readouterr().out == "token 'ministry' (regulator) revoked\n"
    assert [e.name for e in tokens.read(f)] == ["fixnet-noc"]
    assert stat.S_IMODE(Path(f).stat().st_mode) == 0o600
    sovnet_api("token", "list", "--tokens", f)
    assert capsys.readouterr().out.split() == ["fixnet-noc", "isp:fixnet",
                                               tokens.read(f)[0].created]


@pytest.mark.parametrize("argv, error", [
    (["add", "x", "--role", "king"],
     "api: token add: bad role 'king' (expected regulator, auditor or isp:NAME)"),
    (["add", "x", "--role", "isp:"],
     "api: token add: bad role 'isp:' (expected regulator, auditor or isp:NAME)"),
    (["add", "no spaces", "--role", "auditor"],
     "api: token add: bad token name 'no spaces' (expected letters, digits, '.', '_' or '-', "
     "starting with a letter or digit, at most 64)"),
    (["add", "ministry", "--role", "auditor"],
     "api: token add: a token named 'ministry' is already in {f} (expected a new name, or "
     "`sovnet api token revoke` first)"),
    (["revoke", "nobody"], "api: token revoke: no token named 'nobody' in {f} (tokens: "
                           "ministry)"),
    (["add", "x", "--role", "isp:nonet", "--store", "{db}"],
     "api: token add: unknown ISP 'nonet' in role isp:nonet (topology 'minimal' has: fixnet, "
     "mobinet)"),
])
def test_refusals_change_nothing(tmp_path: Path, argv, error) -> None:
    f, db = tmp_path / "tokens.json", make_store(tmp_path / "store.db")
    sovnet_api("token", "add", "--tokens", str(f), "ministry", "--role", "regulator")
    before = f.read_bytes()
    argv = [a.format(db=db) for a in argv]
    with pytest.raises(UsageError) as e:
        sovnet_api("token", argv[0], "--tokens", str(f), *argv[1:])
    assert e.value.exit_code == 2
    assert str(e.value) == error.format(f=f)
    assert f.read_bytes() == before


def test_an_isp_known_to_the_store_is_accepted(tmp_path: Path) -> None:
    f, db = tmp_path / "tokens.json", make_store(tmp_path / "store.db")
    assert sovnet_api("token", "add", "--tokens", str(f), "fix", "--role", "isp:fixnet",
                      "--store", str(db)) == 0


def test_a_malformed_tokens_file_is_named(tmp_path: Path) -> None:
    f = tmp_path / "tokens.json"
    f.write_text('{"version": 1, "tokens": [{"name": "x"}]}')
    with pytest.raises(UsageError) as e:
        sovnet_api("token", "list", "--tokens", str(f))
    assert str(e.value).startswith(f"api: token list: {f}: tokens[0] is malformed (")


def test_serving_needs_a_store(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as e:
        sovnet_api("--port", "0")
    assert str(e.value) == "api: no store (expected --store DB, the policy store to serve)"
