"""Real ClientHellos and QUIC Initials, made by the libraries that send them (OpenSSL through
Python's ssl, aioquic), for the inspector's tests."""

from __future__ import annotations

import ssl

from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection


def client_hello(server_name: str | None) -> bytes:
    """The bytes OpenSSL sends first in a TLS connection to `server_name` (None: no SNI)."""
    ctx = ssl.create_default_context()
    if server_name is None:
        ctx.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def quic_initial(server_name: str) -> bytes:
    conn = QuicConnection(configuration=QuicConfiguration(
        is_client=True, alpn_protocols=["h3"], server_name=server_name))
    conn.connect(("10.0.0.1", 443), now=0.0)
    return conn.datagrams_to_send(now=0.0)[0][0]
