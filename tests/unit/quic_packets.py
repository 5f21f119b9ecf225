"""Real QUIC packets for tests: a client's first Initial datagram carrying a given SNI.

quic_initial(sni) is what a browser's first UDP datagram to udp/443 looks like to an in-path
inspector (the DPI's tests feed it to the QUIC SNI parser); initial_client_hello(datagram) is
the reverse, through aioquic's own packet protection, so that a test can check what it built.
No sockets: aioquic's client connection is asked for the datagram it would send.
"""

from __future__ import annotations

from aioquic.buffer import Buffer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.packet import QuicPacketType, pull_quic_header

CRYPTO_FRAME = 0x06


def quic_initial(sni: str, alpn: tuple[str, ...] = ("h3",)) -> bytes:
    """The first datagram of a QUIC v1 client (an Initial, padded to 1200 bytes or more) whose
    ClientHello names `sni`. Connection IDs and keys are random, as on the wire."""
    config = QuicConfiguration(is_client=True, alpn_protocols=list(alpn), server_name=sni)
    conn = QuicConnection(configuration=config)
    conn.connect(("192.0.2.1", 443), now=0.0)
    datagrams = conn.datagrams_to_send(now=0.0)
    return datagrams[0][0]


def initial_client_hello(datagram: bytes) -> bytes:
    """The CRYPTO data (the TLS ClientHello) of a client's first Initial packet, decrypted
    with the keys derived from its destination connection ID (RFC 9001 section 5.2)."""
    buf = Buffer(data=datagram)
    header = pull_quic_header(buf, host_cid_length=8)
    if header.packet_type != QuicPacketType.INITIAL or header.version is None:
        raise ValueError("not a QUIC Initial packet")
    crypto = CryptoPair()
    crypto.setup_initial(header.destination_cid, is_client=False, version=header.version)
    _, payload, _ = crypto.decrypt_packet(datagram[:header.packet_length], buf.tell(), 0)
    frames, out = Buffer(data=payload), bytearray()
    while not frames.eof():
        kind = frames.pull_uint_var()
        if kind == 0x00:  # PADDING
            continue
        if kind == 0x01:  # PING
            continue
        if kind != CRYPTO_FRAME:
            raise ValueError(f"unexpected frame type {kind:#x} in an Initial")
        offset, length = frames.pull_uint_var(), frames.pull_uint_var()
        data = frames.pull_bytes(length)
        out[offset:offset + length] = data
    return bytes(out)
