"""The tokens file: who may use the API, as SHA-256 digests of bearer tokens.

    {"version": 1, "tokens": [{"name": "ministry", "role": "regulator",
                               "sha256": "9f2c...", "created": "2026-12-04T13:09:04Z"}]}

A token is 32 random bytes (secrets.token_urlsafe), shown once when it is added and never
stored: a digest suffices to recognise it, and a copy of the file gives nobody a token. With
that much entropy a plain SHA-256 is enough (no password stretching needed), and digests are
compared with hmac.compare_digest so that timing says nothing of how much of a guess matched.

The file is rewritten whole into a temporary file of mode 0600 beside it and renamed over it,
so a server reading it never sees half of it; writers take an exclusive lock on the folder.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from sovnet.api.roles import Role, RoleError

VERSION = 1
PREFIX = "sovnet_"  # so that a leaked token is recognisable (secret scanners, logs)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_FORM = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64"


class TokenError(ValueError):
    """The tokens file cannot be read or changed as asked; the message says why."""


@dataclass(frozen=True)
class TokenEntry:
    name: str
    role: str
    sha256: str
    created: str

    def public(self) -> dict:
        """What `token list` shows: everything but the digest."""
        return {"name": self.name, "role": self.role, "created": self.created}


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def read(path: str | os.PathLike[str], missing_ok: bool = False) -> list[TokenEntry]:
    """The entries of the tokens file; TokenError when it is unreadable or malformed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return []
        raise TokenError(f"no tokens file {p} (expected one made by `sovnet api token add "
                         f"--tokens {p} NAME --role ROLE`)") from None
    except OSError as e:
        raise TokenError(f"cannot read tokens file {p}: {e.strerror or e}") from None
    return parse(text, str(p))


def parse(text: str, where: str) -> list[TokenEntry]:
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise TokenError(f"{where}: not a tokens file ({e})") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION \
            or not isinstance(doc.get("tokens"), list):
        raise TokenError(f"{where}: not a tokens file (expected a JSON object with version "
                         f"{VERSION} and a list of tokens)")
    out = []
    for i, item in enumerate(doc["tokens"]):
        try:
            entry = TokenEntry(**{k: item[k] for k in ("name", "role", "sha256", "created")})
            Role.parse(entry.role)
        except (TypeError, KeyError, RoleError) as e:
            raise TokenError(f"{where}: tokens[{i}] is malformed ({e}; expected name, role, "
                             "sha256 and created)") from None
        out.append(entry)
    return out


def find(entries: list[TokenEntry], token: str) -> TokenEntry | None:
    """The entry whose digest is the token's. Every entry is compared, match or not."""
    want = digest(token)
    found = None
    for e in entries:
        if hmac.compare_digest(e.sha256, want):
            found = e
    return found


def add(path: str | os.PathLike[str], name: str, role: Role) -> str:
    """Add a token named `name` with `role`; the token itself, which only the caller sees."""
    if not NAME_RE.match(name):
        raise TokenError(f"bad token name {name!r} (expected {NAME_FORM})")
    token = new_token()
    with _locked(path):
        entries = read(path, missing_ok=True)
        if any(e.name == name for e in entries):
            raise TokenError(f"a token named {name!r} is already in {path} (expected a new "
                             "name, or `sovnet api token revoke` first)")
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _write(path, [*entries, TokenEntry(name, str(role), digest(token), created)])
    return token


def revoke(path: str | os.PathLike[str], name: str) -> TokenEntry:
    with _locked(path):
        entries = read(path)
        kept = [e for e in entries if e.name != name]
        if len(kept) == len(entries):
            names = ", ".join(e.name for e in entries) or "none"
            raise TokenError(f"no token named {name!r} in {path} (tokens: {names})")
        _write(path, kept)
    return next(e for e in entries if e.name == name)


def _write(path: str | os.PathLike[str], entries: list[TokenEntry]) -> None:
    p = Path(path)
    text = json.dumps({"version": VERSION, "tokens": [asdict(e) for e in entries]}, indent=2)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(p.parent)  # the rename itself survives a crash


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Serialise writers of the tokens file (two `token add` at once must not lose one). The
    folder is locked rather than a lock file beside it, which would be left behind."""
    folder = Path(path).parent
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as e:
        raise TokenError(f"cannot use tokens file {path}: folder {folder}: "
                         f"{e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class TokenCache:
    """The tokens file as a server sees it: read again whenever it changes on disk, so a
    token added or revoked takes effect at the next request, without a restart."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._entries: list[TokenEntry] = []
        self._lock = threading.Lock()  # requests are served from a pool of threads

    def entries(self) -> list[TokenEntry]:
        with self._lock:
            return self._current()

    def _current(self) -> list[TokenEntry]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._entries = None, []  # removed: nobody may use the API
            return []
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            # A malformed file raises TokenError: the caller refuses the request rather than
            # keeping tokens that may have been revoked.
            self._entries = read(self.path)
            self._stamp = stamp
        return self._entries

    def find(self, token: str) -> TokenEntry | None:
        return find(self.entries(), token)
