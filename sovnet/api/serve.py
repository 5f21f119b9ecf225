"""Running the API: uvicorn in the foreground (`sovnet api`) or in a thread (a lab's).

    server = start_in_thread("lab/store.db", tokens_path="lab/api-tokens.json")
    server.url          # "http://127.0.0.1:41237"  (port 0: the kernel picks a free one)
    server.stop()       # or: with start_in_thread(...) as server: ...

Loopback by default. Any other address needs TLS (--certfile and --keyfile), since a bearer
token in clear is anyone's who can read the wire, unless `insecure` is asked for in so many
words. The socket is bound here, before uvicorn starts, so that a port in use or an address
not on this machine is refused at once, as a usage error, and port 0 tells the port it got.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sovnet.errors import SovnetError, UsageError
from sovnet.poll import wait_for

if TYPE_CHECKING:  # imported when a server is built: `sovnet` starts without FastAPI
    import uvicorn

    from sovnet.store import SqliteStore

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_RATE = "20/s"
TOKENS_NAME = "api-tokens.json"  # the tokens file beside the store, unless --tokens says


def default_tokens(store_path: str | os.PathLike[str]) -> Path:
    return Path(store_path).with_name(TOKENS_NAME)


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is this machine's own loopback."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback
                               for i in infos)


def check_bind(host: str, tls: bool, insecure: bool) -> None:
    if tls or insecure or is_loopback(host):
        return
    raise UsageError(f"api: refusing to serve on {host} without TLS: bearer tokens would cross "
                     "the network in clear (expected --certfile and --keyfile, or --insecure "
                     "on a network of your own, or the default --host 127.0.0.1)")


@dataclass
class ApiServer:
    """A running API server. `stop()` ends it and closes its store; idempotent."""

    url: str
    host: str
    port: int
    server: uvicorn.Server = field(repr=False)
    store: SqliteStore = field(repr=False)
    sock: socket.socket = field(repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def run(self) -> None:
        """Serve in this thread until stopped (SIGINT, SIGTERM or `stop()`)."""
        self.server.run(sockets=[self.sock])

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
            if self.thread.is_alive():  # connections that would not close: end them
                self.server.force_exit = True
                self.thread.join(timeout)
        self.close()

    def close(self) -> None:
        _close(self.store, self.sock)

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build(store_path: str | os.PathLike[str], host: str = DEFAULT_HOST, port: int = 0,
          tokens_path: str | os.PathLike[str] | None = None, *,
          certfile: str | os.PathLike[str] | None = None,
          keyfile: str | os.PathLike[str] | None = None, rate: str | None = DEFAULT_RATE,
          insecure: bool = False, max_body: int | None = None, write: bool = False,
          log_config: dict | None = None) -> ApiServer:
    """Everything checked, the socket bound and uvicorn configured; nothing served yet.
    UsageError ("api: ...") for anything the caller asked that cannot work."""
    try:
        import uvicorn

        from sovnet.api.app import DEFAULT_MAX_BODY, create_app
    except ImportError as e:
        raise SovnetError(f"api: needs FastAPI and uvicorn ({e}; expected them installed in "
                          "the venv: see README.md, A policy API for remote operators)") from None
    from sovnet.api import tokens as token_file
    from sovnet.api.limits import RateLimiter, parse_rate
    from sovnet.commands import finished_run
    from sovnet.store import open_store

    if (certfile is None) != (keyfile is None):
        raise UsageError("api: --certfile and --keyfile go together (expected both, or "
                         "neither)")
    for flag, f in (("--certfile", certfile), ("--keyfile", keyfile)):
        if f is not None and not os.access(f, os.R_OK):
            raise UsageError(f"api: {flag} {f}: cannot read it (expected a PEM file)")
    tls = certfile is not None
    check_bind(host, tls, insecure)
    if not 0 <= port <= 65535:
        raise UsageError(f"api: --port {port} is out of range (expected 0 to 65535)")
    if max_body is not None and max_body < 1:
        raise UsageError(f"api: --max-body {max_body} is out of range (expected 1 or more)")
    try:
        limiter = None if rate is None else RateLimiter(parse_rate(rate), label=rate.strip())
    except ValueError as e:
        raise UsageError(f"api: --rate: {e}") from None
    tokens_at = Path(tokens_path) if tokens_path is not None else default_tokens(store_path)
    try:
        token_file.read(tokens_at)
    except token_file.TokenError as e:
        raise UsageError(f"api: --tokens: {e}") from None
    finished = finished_run(Path(store_path))
    try:
        store = open_store(store_path, create=False)
    except SovnetError as e:
        raise UsageError(f"api: --store {store_path}: {e}") from None
    sock = None
    try:
        sock = _bind(host, port)
        app = create_app(store, token_file.TokenCache(tokens_at), limiter,
                         max_body or DEFAULT_MAX_BODY, "" if write else finished)
        config = uvicorn.Config(
            app, ssl_certfile=certfile, ssl_keyfile=keyfile, log_config=log_config,
            lifespan="off", proxy_headers=False, server_header=False,
            # Enough for a lab's scripts; past it a client is told 503 rather than queued.
            limit_concurrency=64, timeout_graceful_shutdown=5)
        try:
            config.load()  # here, so that a bad certificate or key is the caller's error
        except (ssl.SSLError, OSError) as e:
            raise UsageError(f"api: cannot use --certfile {certfile} and --keyfile {keyfile}: "
                             f"{e}") from None
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        return ApiServer(f"{'https' if tls else 'http'}://{shown}:{bound}", host, bound,
                         uvicorn.Server(config), store, sock)
    except BaseException:
        _close(store, sock)
        raise


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except OSError as e:
        raise UsageError(f"api: --host {host}: {e.strerror or e} (expected an address or a "
                         "name of this machine)") from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.set_inheritable(True)
    except OSError as e:
        sock.close()
        raise UsageError(f"api: cannot listen on {host} port {port}: {e.strerror or e} "
                         "(expected a free port on an address of this machine)") from None
    return sock


def _announce(line: str) -> None:
    print(line, flush=True)  # before uvicorn's log: whoever started us waits for this line


def _close(store: SqliteStore | None, sock: socket.socket | None) -> None:
    if store is not None:
        store.close()
    if sock is not None:
        sock.close()


def start_in_thread(store_path: str | os.PathLike[str], host: str = DEFAULT_HOST,
                    port: int = 0, tokens_path: str | os.PathLike[str] | None = None, *,
                    certfile: str | os.PathLike[str] | None = None,
                    keyfile: str | os.PathLike[str] | None = None,
                    rate: str | None = DEFAULT_RATE, insecure: bool = False,
                    max_body: int | None = None, write: bool = False,
                    timeout: float = 10.0) -> ApiServer:
    """Serve in a daemon thread of this process; returns once it accepts connections. Its
    log goes to the "uvicorn" loggers, as the host process configures them."""
    server = build(store_path, host, port, tokens_path, certfile=certfile, keyfile=keyfile,
                   rate=rate, insecure=insecure, max_body=max_body, write=write)
    thread = threading.Thread(target=server.run, name=f"sovnet-api-{server.port}", daemon=True)
    server.thread = thread
    thread.start()
    try:
        wait_for(lambda: server.server.started or not thread.is_alive(), timeout,
                 "the API server to start", error=SovnetError)
        if not server.server.started:
            raise SovnetError(f"api: the server on {server.url} stopped while starting (the "
                              "uvicorn log says why)")
    except BaseException:
        server.stop()
        raise
    return server


def serve(store_path: str | os.PathLike[str], host: str = DEFAULT_HOST,
          port: int = DEFAULT_PORT, tokens_path: str | os.PathLike[str] | None = None, *,
          certfile: str | os.PathLike[str] | None = None,
          keyfile: str | os.PathLike[str] | None = None, rate: str | None = DEFAULT_RATE,
          insecure: bool = False, max_body: int | None = None, write: bool = False,
          announce=None) -> None:
    """Serve in this thread until SIGINT or SIGTERM (uvicorn's own handlers: a graceful end)."""
    import uvicorn.config

    server = build(store_path, host, port, tokens_path, certfile=certfile, keyfile=keyfile,
                   rate=rate, insecure=insecure, max_body=max_body, write=write,
                   log_config=uvicorn.config.LOGGING_CONFIG)
    try:
        (announce or _announce)(f"sovnet api: serving {server.url} (store {store_path}; "
                                f"OpenAPI at {server.url}/openapi.json)")
        server.run()
    finally:
        server.close()
