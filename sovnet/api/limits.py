"""Limits on what one client can make the server do: requests per second per token (a token
bucket), and the size of a request's body.

    --rate 20/s     a token may make 20 requests a second on average, and a burst of 20
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable

RATE_FORM = "a number of requests per second or minute, such as 20/s or 600/min"
_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*$")


def parse_rate(text: str) -> float:
    """'20/s' -> 20.0; '600/min' -> 10.0 (requests per second); ValueError otherwise."""
    m = _RATE_RE.match(str(text))
    if m is None or float(m.group(1)) <= 0:
        raise ValueError(f"bad rate {text!r} (expected {RATE_FORM})")
    per = 60.0 if (m.group(2) or "s").startswith("m") else 1.0
    return float(m.group(1)) / per


class TokenBucket:
    """`capacity` requests at once, refilled at `rate` a second."""

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.updated = now

    def take(self, now: float) -> float:
        """0.0 if a request may go now (and count it), else the seconds until one may."""
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now
        if self.level >= 1.0:
            self.level -= 1.0
            return 0.0
        return (1.0 - self.level) / self.rate


class RateLimiter:
    """One bucket per key (a token's name). The burst is one second's worth of requests, and
    at least one, so that a slow rate still lets a request through now and then."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic, label: str = ""):
        self.rate = rate
        self.label = label or f"{rate:g}/s"  # the rate as its operator wrote it
        self.burst = burst if burst is not None else max(1.0, math.ceil(rate))
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 if `key` may make a request now, else the seconds it should wait."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, now)
            return bucket.take(now)


def retry_after(wait: float) -> str:
    """The Retry-After header: whole seconds (RFC 9110), never 0 for a refused request."""
    return str(max(1, math.ceil(wait)))


class BodyLimit:
    """ASGI middleware: a request body larger than `max_bytes` is answered 413, as JSON, before
    the application sees any of it. (FastAPI's own max_body_size answers in plain text.) The
    body is read here whole, being small by then, and handed on, so that a client sending no
    Content-Length, or a false one, is held to the same limit."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        payload = json.dumps({"error": f"request body too large (expected at most "
                                       f"{self.max_bytes} bytes)"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})
