"""The web server of a service host: `python -m sovnet.emulation.httpd --service NAME ...`.

Answers GET and HEAD for its own domain names only (other Host headers get 421), over HTTP on
--port and, with --tls-port, over HTTPS with the lab CA's certificate (sovnet.emulation.labca);
with --redirect-https, plain HTTP answers every request for its names with a 301 to https://:
  /           a small HTML page titled with the service name that loads each dependency's
              http://<domain>/asset.js (so a browser-like probe sees the dependencies)
  /asset.js   a small script
  /bytes?n=N  N bytes of filler, for throughput probes
  POST /upload  reads the body and answers how many bytes arrived (a throughput probe's upload)
Standard library only. Logs one line per request to stderr.
"""

from __future__ import annotations

import argparse
import html
import os
import signal
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sovnet.emulation.tlsserve import for_address, serve_tls_in_background

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


def make_handler(service: str, domains: list[str], depends: list[str],
                 redirect_https: bool = False):
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
            if redirect_https and not isinstance(self.connection, ssl.SSLSocket):
                return self._redirect(f"https://{host}{self.path}", head)
            if url.path in ("/", "/index.html"):
                return self._send(200, "text/html; charset=utf-8", index, head)
            if url.path == "/asset.js":
                return self._send(200, "application/javascript", asset.encode(), head)
            if url.path == "/bytes":
                n = requested_bytes(url.query, MAX_BYTES)
                if n is None:
                    return self._send(400, "text/plain", b"n must be 0..2**30\n", head)
                return self._bytes(n, head)
            return self._send(404, "text/plain", b"not found\n", head)

        def _redirect(self, location: str, head: bool) -> None:
            body = f"moved to {location}\n".encode()
            self.send_response(301)
            self.send_header("Location", location)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

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

        def do_POST(self):  # noqa: N802
            """/upload: read the body and say how much arrived, for the upload leg of a
            throughput probe."""
            if urlsplit(self.path).path != "/upload":
                return self._send(404, "text/plain", b"not found\n", False)
            try:
                n = int(self.headers.get("Content-Length") or -1)
            except ValueError:
                n = -1
            if not 0 <= n <= MAX_BYTES:
                return self._send(400, "text/plain", b"Content-Length 0..2**30 needed\n", False)
            left = n
            while left > 0:
                chunk = self.rfile.read(min(left, len(CHUNK)))
                if not chunk:
                    return  # the client went away mid-upload: nobody to answer
                left -= len(chunk)
            return self._send(200, "text/plain", f"received {n}\n".encode(), False)

        def do_GET(self):  # noqa: N802 (http.server's naming)
            self._serve(head=False)

        def do_HEAD(self):  # noqa: N802
            self._serve(head=True)

    return Handler


def requested_bytes(query: str, most: int) -> int | None:
    """n of /bytes?n=N, or None when it is not a number from 0 to `most`."""
    try:
        n = int(parse_qs(query).get("n", ["0"])[0])
    except ValueError:
        return None
    return n if 0 <= n <= most else None


def split_list(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def service_arguments(prog: str, port: int) -> argparse.ArgumentParser:
    """The arguments every web server of a service host takes (httpd, h3d)."""
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--service", required=True)
    ap.add_argument("--domains", required=True, help="comma-separated domain names served")
    ap.add_argument("--depends", default="", help="comma-separated domains of dependencies")
    ap.add_argument("--port", type=int, default=port)
    ap.add_argument("--address", default="0.0.0.0", help='"::" for both address families')
    ap.add_argument("--ready", help="file written once the server listens")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = service_arguments("python -m sovnet.emulation.httpd", 80)
    add_tls_arguments(ap)
    ap.add_argument("--redirect-https", action="store_true",
                    help="answer plain HTTP with a 301 to the https:// URL")
    a = ap.parse_args(argv)
    handler = make_handler(a.service, split_list(a.domains), split_list(a.depends),
                           a.redirect_https)
    return serve(handler, a.address, a.port, a.ready, f"httpd {a.service}", tls_of(a))


def add_tls_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--tls-port", type=int, help="also serve HTTPS on this port")
    ap.add_argument("--cert", help="certificate chain (PEM) for HTTPS")
    ap.add_argument("--key", help="private key (PEM) for HTTPS")


def tls_of(a: argparse.Namespace) -> tuple[int, str, str] | None:
    if a.tls_port is None:
        return None
    if not (a.cert and a.key):
        raise SystemExit("--tls-port needs --cert and --key")
    return a.tls_port, a.cert, a.key


def serve(handler, address: str, port: int, ready: str | None, name: str,
          tls: tuple[int, str, str] | None = None) -> int:
    """Listen (HTTP, and HTTPS with `tls` = (port, cert, key)), write the ready file the
    network polls for, serve until SIGTERM."""
    ThreadingHTTPServer.daemon_threads = True
    server = for_address(ThreadingHTTPServer, address)((address, port), handler)
    if tls is not None:
        serve_tls_in_background(handler, address, *tls)
        name += f" (https on {tls[0]})"
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
