"""Starting the server: TLS with a certificate (trustme), loopback unless TLS, and the
mistakes that are refused before anything is served (exit 2, `api: ...`)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from sovnet.api import tokens
from sovnet.api.roles import Role
from sovnet.api.serve import check_bind, is_loopback, start_in_thread
from sovnet.errors import UsageError
from sovnet.poll import wait_for
from tests.unit.api.conftest import make_store


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    store = make_store(tmp_path / "store.db")
    tokens_path = tmp_path / "tokens.json"
    token = tokens.add(tokens_path, "ministry", Role.parse("regulator"))
    (tmp_path / "token").write_text(token)
    return {"store": store, "tokens": tokens_path, "token": tmp_path / "token"}


def test_tls_with_a_certificate(tmp_path: Path, files) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    with start_in_thread(files["store"], "127.0.0.1", 0, files["tokens"],
                         certfile=tmp_path / "cert.pem", keyfile=tmp_path / "key.pem") as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context()
        ca.configure_trust(trust)
        headers = {"Authorization": f"Bearer {files['token'].read_text()}"}
        with httpx.Client(base_url=srv.url, verify=trust, headers=headers) as c:
            r = c.post("/v1/policies", json={"action": "deny", "target": "international"})
            assert r.status_code == 201 and r.json()["policy"]["author"] == "api:ministry"
            assert c.get("/openapi.json").status_code == 200
        # Without trusting the CA the client refuses the server; in clear it gets nothing.
        with httpx.Client(base_url=srv.url) as c, pytest.raises(httpx.ConnectError):
            c.get("/openapi.json")
        with httpx.Client(base_url=srv.url.replace("https", "http")) as c, \
                pytest.raises(httpx.HTTPError):
            c.get("/openapi.json")


def test_a_non_loopback_address_without_tls_is_refused(files) -> None:
    with pytest.raises(UsageError) as e:
        start_in_thread(files["store"], "0.0.0.0", 0, files["tokens"])
    assert e.value.exit_code == 2
    assert str(e.value) == (
        "api: refusing to serve on 0.0.0.0 without TLS: bearer tokens would cross the "
        "network in clear (expected --certfile and --keyfile, or --insecure on a network of "
        "your own, or the default --host 127.0.0.1)")
    # What lets it (checked without binding anything but loopback here):
    check_bind("0.0.0.0", tls=True, insecure=False)
    check_bind("0.0.0.0", tls=False, insecure=True)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert is_loopback(host)
        check_bind(host, tls=False, insecure=False)
    assert not is_loopback("0.0.0.0") and not is_loopback("::")


def test_mistakes_are_refused_before_serving(tmp_path: Path, files) -> None:
    def refused(**kw) -> str:
        args = {"store_path": files["store"], "host": "127.0.0.1", "port": 0,
                "tokens_path": files["tokens"]} | kw
        with pytest.raises(UsageError) as e:
            start_in_thread(**args)
        assert e.value.exit_code == 2
        return str(e.value)

    assert refused(certfile=tmp_path / "cert.pem") == (
        "api: --certfile and --keyfile go together (expected both, or neither)")
    assert refused(certfile=tmp_path / "no.pem", keyfile=tmp_path / "no.pem") == (
        f"api: --certfile {tmp_path / 'no.pem'}: cannot read it (expected a PEM file)")
    (tmp_path / "junk.pem").write_text("not a certificate")
    assert refused(certfile=tmp_path / "junk.pem", keyfile=tmp_path / "junk.pem").startswith(
        f"api: cannot use --certfile {tmp_path / 'junk.pem'} and --keyfile")
    assert refused(rate="fast") == (
        "api: --rate: bad rate 'fast' (expected a number of requests per second or minute, "
        "such as 20/s or 600/min)")
    assert refused(tokens_path=tmp_path / "none.json") == (
        f"api: --tokens: no tokens file {tmp_path / 'none.json'} (expected one made by "
        f"`sovnet api token add --tokens {tmp_path / 'none.json'} NAME --role ROLE`)")
    (tmp_path / "plain.txt").write_text("hello")
    assert refused(store_path=tmp_path / "plain.txt").startswith(
        f"api: --store {tmp_path / 'plain.txt'}: ")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert refused(port=port) == (
            f"api: cannot listen on 127.0.0.1 port {port}: Address already in use (expected "
            "a free port on an address of this machine)")


def test_a_finished_runs_store_is_served_read_only_unless_write(tmp_path: Path, files) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"status": "complete"}))
    headers = {"Authorization": f"Bearer {files['token'].read_text()}"}
    deny = {"action": "deny", "target": "any"}
    with start_in_thread(files["store"], "127.0.0.1", 0, files["tokens"]) as srv, \
            httpx.Client(base_url=srv.url, headers=headers) as c:
        assert c.get("/v1/policies").status_code == 200
        r = c.post("/v1/policies", json=deny)
        assert (r.status_code, r.json()["error"]) == (409, (
            f"the store of a finished run ({tmp_path}, complete): it is kept as the run left "
            "it (expected `sovnet api --write` to change it anyway)"))
    with start_in_thread(files["store"], "127.0.0.1", 0, files["tokens"], write=True) as srv, \
            httpx.Client(base_url=srv.url, headers=headers) as c:
        assert c.post("/v1/policies", json=deny).status_code == 201


def test_stop_ends_the_server_and_frees_the_port(files) -> None:
    srv = start_in_thread(files["store"], "127.0.0.1", 0, files["tokens"])
    try:
        assert httpx.get(f"{srv.url}/openapi.json").status_code == 200
    finally:
        srv.stop()
    assert srv.thread is not None and not srv.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{srv.url}/openapi.json")
    srv.stop()  # a second stop does nothing


HARNESS = """
import argparse, signal, sys
from sovnet import cli_api
from sovnet.errors import SovnetError

def terminate(*_):
    raise SystemExit(143)

signal.signal(signal.SIGTERM, terminate)  # as sovnet.cli does
parser = argparse.ArgumentParser(prog="sovnet")
cli_api.add_parser(parser.add_subparsers(dest="cmd", required=True))
try:
    sys.exit(cli_api.handle(parser.parse_args(["api", *sys.argv[1:]])))
except SovnetError as e:
    print(e, file=sys.stderr)
    sys.exit(e.exit_code)
"""


def test_sovnet_api_serves_until_terminated(tmp_path: Path, files) -> None:
    """`sovnet api --store DB --port 0` in a process of its own, as a user starts it."""
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-c", HARNESS, "--store", str(files["store"]),
                                 "--tokens", str(files["tokens"]), "--port", "0"],
                                stdout=sink, stderr=subprocess.PIPE, text=True)
    try:
        line = wait_for(lambda: out.read_text().partition("\n")[0] if "\n" in
                        out.read_text() else None, 30, "sovnet api to start")
        url = line.split()[3]
        assert line == (f"sovnet api: serving {url} (store {files['store']}; OpenAPI at "
                        f"{url}/openapi.json)")
        headers = {"Authorization": f"Bearer {files['token'].read_text()}"}
        assert httpx.get(f"{url}/v1/status", headers=headers).json()["revision"] == 1
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "Traceback" not in err


def test_sovnet_api_refuses_a_public_address_without_tls(files) -> None:
    done = subprocess.run([sys.executable, "-c", HARNESS, "--store", str(files["store"]),
                           "--tokens", str(files["tokens"]), "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("api: refusing to serve on 0.0.0.0 without TLS")
