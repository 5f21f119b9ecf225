"""Pure parsers for what the probes read: iputils `ping` output and HTML pages.

A parser either understands its input or raises ProbeParseError with the raw text, so that a
probe never turns output it did not understand into a made-up success or failure.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser


class ProbeParseError(ValueError):
    def __init__(self, message: str, raw: str):
        super().__init__(message)
        self.message = message
        self.raw = raw


_SUMMARY = re.compile(r"^(\d+) packets transmitted, (\d+) received\b(.*)$", re.M)
_RTT = re.compile(r"^rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)/[\d.]+ ms$", re.M)
# iputils prints "From GW icmp_seq=N <what>" for each ICMP error it receives instead of a reply.
_ICMP_ERROR = re.compile(r"^From \S+ icmp_seq=\d+ (.+)$", re.M)
# Without a route ping exits 2 before sending anything: a property of the network under test,
# so a measurement, not a tool failure.
_CONNECT_ERRORS = {
    "ping: connect: Network is unreachable": "network_unreachable",
    "ping: connect: No route to host": "host_unreachable",
}


def _icmp_failure(message: str) -> str:
    """df-007 string for an ICMP error in place of a reply (admin-prohibited is "Packet
    filtered" or "... Prohibited"; sovnet's emulated mechanisms map as OONI's QA does)."""
    if message.startswith("Destination Net"):
        return "network_unreachable"
    if message == "Packet filtered" or message.startswith(
        ("Destination Host", "Destination Port", "Destination Protocol")
    ):
        return "host_unreachable"
    return f"unknown_failure: {message}"


def parse_ping(raw: str, returncode: int) -> dict:
    """iputils ping output (ping -n -c N ...) -> {sent, received, rtt_*_ms, failure}.

    failure is None when at least one reply came back, "generic_timeout_error" when nothing
    came back at all, and the ICMP error's df-007 string when only ICMP errors came back.
    """
    if returncode < 0:
        raise ProbeParseError(f"ping was killed by signal {-returncode}", raw)
    text = raw.strip()
    if text in _CONNECT_ERRORS:
        return _result(0, 0, None, _CONNECT_ERRORS[text])
    summary = _SUMMARY.search(raw)
    if summary is None:
        raise ProbeParseError(f"no ping statistics in the output (exit status {returncode})", raw)
    sent, received = int(summary.group(1)), int(summary.group(2))
    if received > sent:
        raise ProbeParseError(f"received {received} of {sent} sent", raw)
    if received == 0:
        if returncode == 0:
            raise ProbeParseError("no reply, yet ping exited 0", raw)
        errors = _ICMP_ERROR.findall(raw)
        failure = _icmp_failure(errors[0].strip()) if errors else "generic_timeout_error"
        return _result(sent, 0, None, failure)
    rtt = _RTT.search(raw)
    if rtt is None:
        raise ProbeParseError(f"{received} replies but no rtt line", raw)
    return _result(sent, received, tuple(float(x) for x in rtt.groups()), None)


def _result(sent: int, received: int, rtt: tuple[float, ...] | None, failure: str | None):
    lo, avg, hi = rtt if rtt else (None, None, None)
    return {
        "sent": sent,
        "received": received,
        "rtt_min_ms": lo,
        "rtt_avg_ms": avg,
        "rtt_max_ms": hi,
        "failure": failure,
    }


class _PageParser(HTMLParser):
    # The subresources a browser would fetch before the page is usable.
    _RESOURCE_ATTR = {"script": "src", "img": "src", "link": "href"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.resources: list[str] = []
        self.title_parts: list[str] | None = None
        self.title: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self.title_parts = []
        attr = self._RESOURCE_ATTR.get(tag)
        if attr is None:
            return
        for name, value in attrs:
            if name == attr and value and value.strip() and value.strip() not in self.resources:
                self.resources.append(value.strip())

    def handle_data(self, data: str) -> None:
        if self.title_parts is not None:
            self.title_parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.title_parts is not None:
            self.title = " ".join("".join(self.title_parts).split())
            self.title_parts = None


def parse_page(body: bytes) -> tuple[str | None, list[str]]:
    """(title, subresource URLs as written, in document order, without duplicates).

    Lenient like a browser: malformed HTML yields what could be read, never an error."""
    parser = _PageParser()
    parser.feed(body.decode("utf-8", errors="replace"))
    parser.close()
    return parser.title or None, parser.resources
