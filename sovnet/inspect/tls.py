"""The server name (SNI) in a TLS ClientHello, as a censor's inspector reads it.

Reads the handshake across as many TLS records as it spans, and says when it has too few bytes
(`incomplete`, with how many it needs), so that a reassembling inspector knows to wait and a
first-packet one knows it was cheated. Anything that is not a well-formed ClientHello is
`not_tls`: a censor passes what it cannot parse. Never raises on any input.
"""

from __future__ import annotations

from dataclasses import dataclass

HANDSHAKE, CLIENT_HELLO, SNI_EXTENSION, HOST_NAME = 22, 1, 0, 0
MAX_HELLO = 1 << 16  # bytes an inspector buffers for one ClientHello before it gives up


@dataclass(frozen=True)
class Hello:
    status: str  # "name", "no_sni", "incomplete", "not_tls"
    name: str | None = None
    need: int = 0  # incomplete: the bytes of records needed in all (0: unknown yet)


NOT_TLS = Hello("not_tls")


def _handshake_bytes(data: bytes) -> tuple[bytes, int] | Hello:
    """The handshake messages carried by the leading records, and the record bytes a complete
    first handshake message needs (0 when unknown)."""
    body, pos = b"", 0
    while pos + 5 <= len(data):
        ctype, major, length = data[pos], data[pos + 1], int.from_bytes(data[pos + 3:pos + 5],
                                                                     "big")
        if ctype != HANDSHAKE or major != 3 or length == 0 or length > 1 << 14:
            return NOT_TLS
        if pos + 5 + length > len(data):
            return Hello("incomplete", need=pos + 5 + length)
        body += data[pos + 5:pos + 5 + length]
        pos += 5 + length
        if len(body) >= 4 and len(body) >= 4 + int.from_bytes(body[1:4], "big"):
            return body, pos
    if not data or (data[0] == HANDSHAKE and (len(data) < 2 or data[1] == 3)):
        return Hello("incomplete", need=0)
    return NOT_TLS


def client_hello_sni(data: bytes) -> Hello:
    """The SNI of the ClientHello at the start of `data` (a TCP payload, or several joined)."""
    got = _handshake_bytes(bytes(data[:MAX_HELLO]))
    if isinstance(got, Hello):
        if got.status == "incomplete" and len(data) >= MAX_HELLO:
            return NOT_TLS  # larger than any inspector holds: passed unread
        return got
    return handshake_sni(got[0])


def handshake_sni(body: bytes) -> Hello:
    """The SNI of a ClientHello handshake message without its record layer (QUIC carries it
    so, in CRYPTO frames)."""
    if len(body) < 4 or body[0] != CLIENT_HELLO:
        return NOT_TLS
    size = int.from_bytes(body[1:4], "big")
    if len(body) < 4 + size:
        return Hello("incomplete")
    try:
        return _sni(body[4:4 + size])
    except (IndexError, ValueError, UnicodeDecodeError):
        return NOT_TLS


def _sni(hello: bytes) -> Hello:
    pos = 2 + 32  # client_version, random
    pos += 1 + hello[pos]  # session_id
    pos += 2 + int.from_bytes(hello[pos:pos + 2], "big")  # cipher_suites
    pos += 1 + hello[pos]  # compression_methods
    if pos == len(hello):
        return Hello("no_sni")
    end = pos + 2 + int.from_bytes(hello[pos:pos + 2], "big")
    if end > len(hello):
        raise ValueError("extensions overrun the ClientHello")
    pos += 2
    while pos + 4 <= end:
        etype, elen = int.from_bytes(hello[pos:pos + 2], "big"), int.from_bytes(
            hello[pos + 2:pos + 4], "big")
        ext = hello[pos + 4:pos + 4 + elen]
        if len(ext) != elen:
            raise ValueError("extension overruns")
        if etype == SNI_EXTENSION:
            return _server_name(ext)
        pos += 4 + elen
    return Hello("no_sni")


def _server_name(ext: bytes) -> Hello:
    pos, end = 2, 2 + int.from_bytes(ext[0:2], "big")
    while pos + 3 <= min(end, len(ext)):
        ntype, nlen = ext[pos], int.from_bytes(ext[pos + 1:pos + 3], "big")
        name = ext[pos + 3:pos + 3 + nlen]
        if ntype == HOST_NAME and len(name) == nlen and nlen:
            return Hello("name", normal_name(name.decode("ascii")))
        pos += 3 + nlen
    return Hello("no_sni")


def normal_name(name: str) -> str:
    return name.strip().rstrip(".").lower()
