"""The vantage's own addresses, when it shares its network namespace with other subscribers.

A pod subscriber (sovnet.emulation.pods) is one macvlan interface among many in one namespace;
the namespace routes by source address (a table per subscriber), so every socket a probe opens
is bound to the subscriber's address before it connects. Elsewhere nothing is set and sockets
are left to the kernel, as before.
"""

from __future__ import annotations

import socket

_SOURCE: dict[int, str] = {}


def use(ipv4: str | None, ipv6: str | None = None) -> None:
    """Bind every socket made from now on to these addresses (set once, at agent start)."""
    _SOURCE.clear()
    if ipv4:
        _SOURCE[socket.AF_INET] = ipv4
    if ipv6:
        _SOURCE[socket.AF_INET6] = ipv6


def new_socket(family: int, kind: int, proto: int = 0) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    address = local_address(family)
    if address is not None:
        try:
            sock.bind(address)
        except OSError:
            sock.close()
            raise
    return sock


def local_address(family: int) -> tuple[str, int] | None:
    """(address, 0) for bind() or asyncio's local_addr, or None: let the kernel choose."""
    ip = _SOURCE.get(family)
    return (ip, 0) if ip else None


def ping_options(ip: str) -> list[str]:
    """ping's -I for the family of `ip`, where a source is set."""
    src = _SOURCE.get(socket.AF_INET6 if ":" in ip else socket.AF_INET)
    return ["-I", src] if src else []
