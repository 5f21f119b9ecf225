"""The SNI of a QUIC v1 Initial packet (RFC 9000/9001), as the GFW reads it since 2024.

An Initial is encrypted, but with keys anyone derives from its destination connection ID, so an
inspector can read it: remove the header protection, decrypt the payload (AES-128-GCM), gather
the CRYPTO frames and read the ClientHello's SNI (sovnet.inspect.tls). The cryptography library
does the cryptography. Never raises on any input: what is not a readable Initial is `not_tls`.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from sovnet.inspect.tls import NOT_TLS, Hello, handshake_sni

VERSION_1 = 0x00000001
INITIAL_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
PADDING, PING, ACK, ACK_ECN, CRYPTO = 0x00, 0x01, 0x02, 0x03, 0x06


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    length = 1 << (first >> 6)
    if pos + length > len(data):
        raise IndexError("varint overruns")
    value = first & 0x3F
    for b in data[pos + 1:pos + length]:
        value = (value << 8) | b
    return value, pos + length


def _expand_label(secret: bytes, label: str, length: int) -> bytes:
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def client_keys(dcid: bytes) -> tuple[bytes, bytes, bytes]:
    """(key, iv, header protection key) of the client's Initial packets."""
    initial = hmac.new(INITIAL_SALT_V1, dcid, hashlib.sha256).digest()
    client = _expand_label(initial, "client in", 32)
    return (_expand_label(client, "quic key", 16), _expand_label(client, "quic iv", 12),
            _expand_label(client, "quic hp", 16))


def quic_initial_sni(datagram: bytes) -> Hello:
    try:
        return _read(bytes(datagram))
    except (IndexError, ValueError, InvalidTag):
        return NOT_TLS


def _read(data: bytes) -> Hello:
    if len(data) < 7 or data[0] & 0xC0 != 0xC0 or (data[0] >> 4) & 0x03 != 0:
        return NOT_TLS  # not a long-header Initial
    if int.from_bytes(data[1:5], "big") != VERSION_1:
        return NOT_TLS
    pos = 5
    dcid = data[pos + 1:pos + 1 + data[pos]]
    pos += 1 + data[pos]
    pos += 1 + data[pos]  # source connection ID
    token_len, pos = _varint(data, pos)
    pos += token_len
    length, pos = _varint(data, pos)
    if pos + length > len(data) or length < 20:
        return NOT_TLS
    key, iv, hp = client_keys(dcid)
    sample = data[pos + 4:pos + 20]
    mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor().update(sample)
    first = data[0] ^ (mask[0] & 0x0F)
    pn_len = (first & 0x03) + 1
    pn = bytes(b ^ m for b, m in zip(data[pos:pos + pn_len], mask[1:1 + pn_len], strict=True))
    header = bytes([first]) + data[1:pos] + pn
    nonce = bytes(a ^ b for a, b in zip(iv, int.from_bytes(pn, "big").to_bytes(12, "big"),
                                        strict=True))
    plain = AESGCM(key).decrypt(nonce, data[pos + pn_len:pos + length], header)
    return handshake_sni(_crypto_stream(plain))


def _crypto_stream(frames: bytes) -> bytes:
    """The CRYPTO frames' data from offset 0 on, as far as it is contiguous."""
    pieces: dict[int, bytes] = {}
    pos = 0
    while pos < len(frames):
        ftype = frames[pos]
        pos += 1
        if ftype in (PADDING, PING):
            continue
        if ftype in (ACK, ACK_ECN):
            _, pos = _varint(frames, pos)  # largest acknowledged
            _, pos = _varint(frames, pos)  # delay
            count, pos = _varint(frames, pos)
            _, pos = _varint(frames, pos)  # first range
            for _ in range(count * 2):
                _, pos = _varint(frames, pos)
            if ftype == ACK_ECN:
                for _ in range(3):
                    _, pos = _varint(frames, pos)
            continue
        if ftype != CRYPTO:
            break  # nothing else belongs in an Initial before the ClientHello is whole
        offset, pos = _varint(frames, pos)
        size, pos = _varint(frames, pos)
        pieces[offset] = frames[pos:pos + size]
        pos += size
    stream, at = b"", 0
    while at in pieces:
        stream += pieces[at]
        at += len(pieces[at])
    return stream
