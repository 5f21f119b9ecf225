"""HTTPS for the hosts' servers: the same request handler behind TLS 1.2 and 1.3.

The handshake runs in the request's own thread (not the accept loop), so that a client that
connects and never sends a ClientHello, or a censor that drops it, holds up nobody else.
Standard library only.
"""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import ThreadingHTTPServer

HANDSHAKE_TIMEOUT = 10.0


def server_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class TLSHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler, context: ssl.SSLContext):
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request, client_address) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a failed handshake is the client's failure to measure, not ours to log
        tls.settimeout(None)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.unwrap()
            except (ssl.SSLError, OSError, ValueError):
                pass


def for_address(server_class, address: str):
    """`server_class`, or a subclass that listens on IPv6 for an IPv6 address: "::" takes
    both families on Linux (IPv4 clients arrive as ::ffff:a.b.c.d), as a dual-stack server's
    one socket does."""
    if ":" not in address:
        return server_class
    return type(f"{server_class.__name__}6", (server_class,), {"address_family": socket.AF_INET6})


def serve_tls_in_background(handler, address: str, port: int, cert: str, key: str):
    """Start an HTTPS listener on a daemon thread; returns the server once it listens."""
    server = for_address(TLSHTTPServer, address)((address, port), handler,
                                                 server_context(cert, key))
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    threading.Thread(target=server.serve_forever, daemon=True, name=f"https:{port}").start()
    return server
