"""An ISP's blockpage server: `python -m sovnet.emulation.blockpaged --isp NAME ...`.

Runs on port 80 of every resolver host. blockpage policies make the switches send a subscriber's
HTTP for a blocked site here (the IP destination still the site's; see sovnet.emulation.steer),
and whatever the Host and path, the answer is a blockpage. It is built like the national ones
OONI meets: Iran's answers 403 Forbidden with a small page of its own, as does this one, naming
the ISP and the order. To a measurer the connection works but the answer differs from the
control's in status, length and title: OONI's `blocking: "http-diff"`.
Blockpages are plain HTTP, as in reality. HTTPS steered here (--tls-port) meets a certificate
for the blockpage's own name, never the blocked site's: the client's handshake fails with
`ssl_invalid_hostname`, which is what OONI measures where an ISP redirects TLS to its blockpage.
Standard library only. Logs one line per request to stderr.
"""

from __future__ import annotations

import argparse
import html
import sys
from http.server import BaseHTTPRequestHandler

from sovnet.emulation.httpd import add_tls_arguments, serve, tls_of

STATUS = 403
MAX_DISCARD = 1 << 20  # request body bytes read (and dropped) before answering


def page(isp: str, host: str) -> bytes:
    """The blockpage for a request to `host`."""
    isp, host = html.escape(isp), html.escape(host or "this website")
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n"
        f"  <title>{isp}: access denied</title>\n</head>\n<body>\n"
        "  <h1>Access to this website has been restricted</h1>\n"
        f"  <p>Access to <b>{host}</b> is blocked by {isp} by order of the national "
        "communications authority.</p>\n"
        f"  <p>If you think this is a mistake, contact {isp} customer service.</p>\n"
        "</body>\n</html>\n"
    ).encode()


def _host_name(header: str | None) -> str:
    host = (header or "").strip()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.split(":")[0].lower().rstrip(".")


def make_handler(isp: str):
    class Handler(BaseHTTPRequestHandler):
        server_version = "sovnet-blockpage"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write(
                f"{self.client_address[0]} {self.headers.get('Host', '-')} {fmt % args}\n"
            )

        def _discard_body(self) -> None:
            # Closing with unread request bytes makes the kernel send a reset, which can
            # destroy the answer before the client has read it.
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                n = 0
            if 0 < n <= MAX_DISCARD:
                self.rfile.read(n)

        def _block(self, head: bool = False) -> None:
            self._discard_body()
            body = page(isp, _host_name(self.headers.get("Host")))
            self.send_response(STATUS)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        # Every method a browser or probe may use gets the blockpage (http.server's naming).
        def do_GET(self):  # noqa: N802
            self._block()

        def do_HEAD(self):  # noqa: N802
            self._block(head=True)

        do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET  # noqa: N815

    return Handler


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sovnet.emulation.blockpaged")
    ap.add_argument("--isp", required=True, help="the ISP named on the page")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--address", default="0.0.0.0")
    ap.add_argument("--ready", help="file written once the sockets listen")
    add_tls_arguments(ap)
    a = ap.parse_args(argv)
    return serve(make_handler(a.isp), a.address, a.port, a.ready, f"blockpaged {a.isp}",
                 tls_of(a))


if __name__ == "__main__":
    sys.exit(main())
