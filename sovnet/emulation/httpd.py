"""The web server of a service host: `python -m sovnet.emulation.httpd --service NAME ...`.

Answers GET and HEAD for its own domain names only (other Host headers get 421):
  /           a small HTML page titled with the service name that loads each dependency's
              http://<domain>/asset.js (so a browser-like probe sees the dependencies)
  /asset.js   a small script
  /bytes?n=N  N bytes of filler, for throughput probes
Standard library only. Logs one line per request to stderr.
"""

from __future__ import annotations

import argparse
import html
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BYTES = 1 << 30
CHUNK = b"sovnet!\n" * 8192  # 64 KiB


def page(service: str, domains: list[str], depends: list[str]) -> bytes:
    scripts = "\n".join(
        f'  <script src="http://{html.escape(d)}/asset.js"></script>' for d in depends
    )
    body = (
        "<!doctype html>\n<html>\n<head>\n"
        f'  <meta charset="utf-8">\n  <title>{html.escape(service)}</title>\n'
        f'  <script src="/asset.js"></script>\n{scripts}\n</head>\n<body>\n'
        f"  <h1>{html.escape(service)}</h1>\n"
        f"  <p>sovnet service {html.escape(service)}, serving "
        f"{html.escape(', '.join(domains))}.</p>\n</body>\n</html>\n"
    )
    return body.encode()


def make_handler(service: str, domains: list[str], depends: list[str]):
    names = {d.lower().rstrip(".") for d in domains}
    index = page(service, domains, depends)
    asset = (
        f"/* asset of {service} */\nwindow.sovnet = (window.sovnet || []).concat([{service!r}]);\n"
    )

    class Handler(BaseHTTPRequestHandler):
        server_version = f"sovnet-httpd/{service}"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write(
                f"{self.client_address[0]} {self.headers.get('Host', '-')} {fmt % args}\n"
            )

        def _send(self, code: int, ctype: str, body: bytes, head: bool) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _serve(self, head: bool) -> None:
            host = (self.headers.get("Host") or "").strip().lower()
            if host.startswith("["):
                host = host.split("]")[0] + "]"
            else:
                host = host.split(":")[0]
            if host.rstrip(".") not in names:
                msg = f"421 misdirected: {service} serves {', '.join(sorted(names))}\n"
                return self._send(421, "text/plain", msg.encode(), head)
            url = urlsplit(self.path)
            if url.path in ("/", "/index.html"):
                return self._send(200, "text/html; charset=utf-8", index, head)
            if url.path == "/asset.js":
                return self._send(200, "application/javascript", asset.encode(), head)
            if url.path == "/bytes":
                try:
                    n = int(parse_qs(url.query).get("n", ["0"])[0])
                except ValueError:
                    n = -1
                if not 0 <= n <= MAX_BYTES:
                    return self._send(400, "text/plain", b"n must be 0..2**30\n", head)
                return self._bytes(n, head)
            return self._send(404, "text/plain", b"not found\n", head)

        def _bytes(self, n: int, head: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if head:
                return
            while n > 0:
                part = CHUNK[: min(n, len(CHUNK))]
                self.wfile.write(part)
                n -= len(part)

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self._serve(head=False)

        def do_HEAD(self):  # noqa: N802
            self._serve(head=True)

    return Handler


def _split(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sovnet.emulation.httpd")
    ap.add_argument("--service", required=True)
    ap.add_argument("--domains", required=True, help="comma-separated domain names served")
    ap.add_argument("--depends", default="", help="comma-separated domains of dependencies")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--address", default="0.0.0.0")
    ap.add_argument("--ready", help="file written once the socket listens")
    a = ap.parse_args(argv)
    handler = make_handler(a.service, _split(a.domains), _split(a.depends))
    return serve(handler, a.address, a.port, a.ready, f"httpd {a.service}")


def serve(handler, address: str, port: int, ready: str | None, name: str) -> int:
    """Listen, write the ready file the network polls for, serve until SIGTERM."""
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer((address, port), handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if ready:
        with open(ready, "w") as f:
            f.write(f"{os.getpid()}\n")
    sys.stderr.write(f"{name} listening on {address}:{port}\n")
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
