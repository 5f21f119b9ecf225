"""HTTP/3 over QUIC for a service host: `python -m sovnet.emulation.h3d --service NAME ...`.

Serves the same pages as httpd (/, /asset.js, /bytes?n=N) for its own domain names only (other
:authority values get 421) on udp/443, with the certificate and key it is given (the lab CA's,
issued for the service's domains). aioquic does QUIC and HTTP/3; this module only routes.
Writes its ready file once the UDP socket is bound, and exits on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from urllib.parse import urlsplit

from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent

from sovnet.emulation.httpd import page, requested_bytes, service_arguments, split_list

# Bodies are built in memory and queued to aioquic whole; a throughput probe over HTTP/3 needs
# megabytes, not the gigabyte httpd allows.
MAX_BYTES = 64 << 20
FILLER = b"sovnet!\n"


def respond(service: str, names: set[str], depends: list[str], method: str, authority: str,
            path: str) -> tuple[int, str, bytes]:
    """One request -> (status, content type, body). Pure, the same routes as httpd."""
    host = authority.strip().lower()
    host = host.split("]")[0] + "]" if host.startswith("[") else host.split(":")[0]
    if host.rstrip(".") not in names:
        return 421, "text/plain", (f"421 misdirected: {service} serves "
                                   f"{', '.join(sorted(names))}\n").encode()
    if method not in ("GET", "HEAD"):
        return 405, "text/plain", b"GET or HEAD\n"
    url = urlsplit(path)
    if url.path in ("/", "/index.html"):
        return 200, "text/html; charset=utf-8", page(service, sorted(names), depends)
    if url.path == "/asset.js":
        return 200, "application/javascript", (
            f"/* asset of {service} */\nwindow.sovnet = (window.sovnet || [])"
            f".concat([{service!r}]);\n").encode()
    if url.path == "/bytes":
        n = requested_bytes(url.query, MAX_BYTES)
        if n is None:
            return 400, "text/plain", f"n must be 0..{MAX_BYTES}\n".encode()
        return 200, "application/octet-stream", (FILLER * (n // len(FILLER) + 1))[:n]
    return 404, "text/plain", b"not found\n"


def protocol_factory(service: str, domains: list[str], depends: list[str]):
    names = {d.lower().rstrip(".") for d in domains}

    class H3Server(QuicConnectionProtocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._h3: H3Connection | None = None

        def quic_event_received(self, event: QuicEvent) -> None:
            if isinstance(event, ProtocolNegotiated) and event.alpn_protocol in H3_ALPN:
                self._h3 = H3Connection(self._quic)
            if self._h3 is None:
                return
            for ev in self._h3.handle_event(event):
                if isinstance(ev, HeadersReceived):
                    self._answer(ev)

        def _answer(self, ev: HeadersReceived) -> None:
            assert self._h3 is not None
            head = {k.decode(errors="replace"): v.decode(errors="replace")
                    for k, v in ev.headers if k.startswith(b":")}
            method = head.get(":method", "")
            code, ctype, body = respond(service, names, depends, method,
                                        head.get(":authority", ""), head.get(":path", "/"))
            sys.stderr.write(f"{self._quic._network_paths[0].addr[0]} "
                             f"{head.get(':authority', '-')} {method} "
                             f"{head.get(':path', '-')} {code}\n")
            self._h3.send_headers(ev.stream_id, [
                (b":status", str(code).encode()), (b"server", f"sovnet-h3d/{service}".encode()),
                (b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
            ])
            self._h3.send_data(ev.stream_id, b"" if method == "HEAD" else body, end_stream=True)
            self.transmit()

    return H3Server


async def _serve(a: argparse.Namespace) -> None:
    config = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN,
                               max_datagram_frame_size=65536)
    config.load_cert_chain(a.cert, a.key)
    await serve(a.address, a.port, configuration=config,
                create_protocol=protocol_factory(a.service, split_list(a.domains),
                                                 split_list(a.depends)))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write(f"{os.getpid()}\n")
    sys.stderr.write(f"h3d {a.service} listening on udp {a.address}:{a.port}\n")
    sys.stderr.flush()
    await asyncio.Future()  # until SIGTERM


def main(argv: list[str] | None = None) -> int:
    ap = service_arguments("python -m sovnet.emulation.h3d", 443)
    ap.add_argument("--cert", required=True, help="PEM certificate chain for the domains")
    ap.add_argument("--key", required=True, help="PEM private key")
    a = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(_serve(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
