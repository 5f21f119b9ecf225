"""The Host of a cleartext HTTP request, as a censor's inspector reads it from the first
packet. Never raises on any input."""

from __future__ import annotations

from sovnet.inspect.tls import Hello, normal_name

METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ",
           b"CONNECT ")
MAX_HEAD = 1 << 14


def http_host(data: bytes) -> Hello:
    data = bytes(data[:MAX_HEAD])
    if not data.startswith(METHODS):
        return Hello("incomplete") if any(m.startswith(data) for m in METHODS) and data \
            else Hello("not_tls")
    head, sep, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"host":
            try:
                host = value.decode("ascii").strip()
            except UnicodeDecodeError:
                return Hello("not_tls")
            host = host.split("]")[0] + "]" if host.startswith("[") else host.split(":")[0]
            return Hello("name", normal_name(host)) if host else Hello("no_sni")
    return Hello("no_sni") if sep else Hello("incomplete")
