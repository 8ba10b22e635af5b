"""MSAL's `http_cache`, persisted: OpenID discovery documents shared by every process and run on a machine.

MSAL fetches a tenant's OpenID configuration (`{authority}/v2.0/.well-known/openid-configuration`) whenever an
application is created for that tenant's authority: one request per customer tenant per process, on top of
its token request, unless the application's `http_cache` already holds the answer. MSAL takes any dict-like
object as that cache; `DiscoveryCache` gives each application one backed by a SQLite file under
SMART_OFFICE_DISCOVERY_CACHE_DIR, so the tasks of a run (separate worker processes) and the next day's run
reuse what any of them fetched.

What reaches the file, and what does not:
- only successful (2xx) GET answers to discovery URLs (`/.well-known/openid-configuration`, and
  `/discovery/instance` should instance discovery ever be turned on): public documents, the same for every
  caller. Their status and body only: response headers (which may set cookies) are dropped.
- everything else MSAL keeps in its http_cache stays in this process's memory, as it would without this
  module: its replays of failed token requests (a 400 for 60 s, a 429/5xx for its Retry-After), whose keys
  hash the request's form (client secret, refresh token) and whose bodies are error descriptions. Tokens are
  in MSAL's token cache, a separate object that never comes near this file.

A document is kept for a week (`DISCOVERY_TTL`) rather than MSAL's 24 hours: a daily run would otherwise find
the previous day's entry expired minutes before it. The file holds at most `max_entries` documents (those
expiring first make room); SQLite's locking keeps writers in several processes safe. The cache only saves
requests: if the file cannot be used (read-only or full disk, a corrupt file) that is logged once and MSAL
fetches the documents as it would without it.
"""

from __future__ import annotations

import heapq
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

FILE_NAME = "msal-discovery.sqlite3"
DISCOVERY_TTL = timedelta(days=7)
DEFAULT_MAX_ENTRIES = 20_000  # ~2.5 KB each: about 50 MB for a portfolio of 20,000 tenants
MAX_BODY_CHARS = 64_000  # a discovery document is a few KB; anything much larger is not one
# Where MSAL's ExpiringMapping keeps its index, (heap of [expires_at, created_at, key], {key: [expires_at,
# created_at]}), inside the mapping it is given (msal/individual_cache.py, `_ExpiringMapping._INDEX`).
INDEX_KEY = "_index_"
_DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/discovery/instance")


class DiscoveryResponse:
    """A discovery answer read back from the file, shaped like the responses MSAL's http client returns."""

    __slots__ = ("headers", "status_code", "text")

    def __init__(self, status_code: int, text: str) -> None:
        self.status_code = status_code
        self.text = text
        self.headers: dict[str, str] = {}

    def raise_for_status(self) -> None:
        """Only 2xx answers are stored, so there is never anything to raise."""

    def __repr__(self) -> str:
        return f"DiscoveryResponse({self.status_code}, {len(self.text)} chars)"


def is_public_discovery(key: str, response: Any) -> bool:
    """Whether MSAL's http_cache entry `key` → `response` is a discovery document that may go to disk.

    MSAL's keys for GETs read `GET {url} hash={hash of the params} 2xx`; any other shape (a POST, a key format
    a later MSAL uses) stays in memory.
    """
    method, _, rest = key.partition(" ")
    if method != "GET" or not rest:
        return False
    path = urlsplit(rest.split(" ", 1)[0]).path
    if not path.endswith(_DISCOVERY_PATHS):
        return False
    status = getattr(response, "status_code", None)
    text = getattr(response, "text", None)
    return (
        isinstance(status, int)
        and 200 <= status < 300
        and isinstance(text, str)
        and len(text) <= MAX_BODY_CHARS
    )


class DiscoveryCache:
    """The shared file; `for_authority` hands each MSAL application its own view of it as `http_cache`.

    :param path: the SQLite file (its directory is created).
    :param max_entries: bound on stored documents.
    :param ttl: how long a document is reused.
    :param clock: seconds since the epoch (MSAL's http cache uses `time.time` too).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl: timedelta = DISCOVERY_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.path = Path(path)
        self.max_entries = max_entries
        self.ttl_seconds = int(ttl.total_seconds())
        self._clock = clock
        self._broken: str | None = None
        self._broken_lock = threading.Lock()
        self._setup()

    @classmethod
    def in_directory(cls, directory: str | Path, **kwargs: Any) -> DiscoveryCache:
        return cls(Path(directory).expanduser() / FILE_NAME, **kwargs)

    @property
    def usable(self) -> bool:
        return self._broken is None

    def for_authority(self, authority: str) -> AuthorityHttpCache:
        """The `http_cache` for an MSAL application bound to `authority` (one per application)."""
        return AuthorityHttpCache(self, authority.lower().rstrip("/"))

    def __len__(self) -> int:
        rows = self._run(lambda c: c.execute("select count(*) from discovery").fetchone(), None)
        return int(rows[0]) if rows else 0

    # -- storage ------------------------------------------------------------------------------------------
    def load(self, namespace: str) -> list[tuple[str, DiscoveryResponse, int, int]]:
        """(key, response, created_at, expires_at) of the namespace's documents that have not expired."""
        now = int(self._clock())

        def read(conn: sqlite3.Connection) -> list[tuple[str, DiscoveryResponse, int, int]]:
            rows = conn.execute(
                "select key, status, body, created_at, expires_at from discovery "
                "where namespace = ? and created_at <= ? and expires_at > ?",
                (namespace, now, now),
            ).fetchall()
            return [
                (key, DiscoveryResponse(status, body), created, expires)
                for key, status, body, created, expires in rows
            ]

        return self._run(read, [])

    def put(self, namespace: str, key: str, response: Any, created_at: int) -> None:
        """Store one document (the caller checked `is_public_discovery`), then keep the file within bounds."""
        now = int(self._clock())

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("begin immediate")
            conn.execute(
                "insert or replace into discovery (namespace, key, status, body, created_at, expires_at) "
                "values (?, ?, ?, ?, ?, ?)",
                (
                    namespace,
                    key,
                    response.status_code,
                    response.text,
                    created_at,
                    created_at + self.ttl_seconds,
                ),
            )
            conn.execute("delete from discovery where expires_at <= ?", (now,))
            (count,) = conn.execute("select count(*) from discovery").fetchone()
            if count > self.max_entries:
                conn.execute(
                    "delete from discovery where rowid in "
                    "(select rowid from discovery order by expires_at, rowid limit ?)",
                    (count - self.max_entries,),
                )
            conn.execute("commit")

        self._run(write, None)

    def delete(self, namespace: str, key: str) -> None:
        self._run(
            lambda c: c.execute("delete from discovery where namespace = ? and key = ?", (namespace, key)),
            None,
        )

    def _setup(self) -> None:
        def create(conn: sqlite3.Connection) -> None:
            conn.execute("pragma journal_mode = wal")
            conn.execute(
                """
                create table if not exists discovery (
                    namespace text not null,
                    key text not null,
                    status integer not null,
                    body text not null,
                    created_at integer not null,
                    expires_at integer not null,
                    primary key (namespace, key)
                )
                """
            )
            conn.execute("create index if not exists discovery_expires_at on discovery (expires_at)")

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            self._disable(exc)
            return
        self._run(create, None)

    def _run(self, operation: Callable[[sqlite3.Connection], Any], fallback: Any) -> Any:
        """One operation on its own connection (cheap, and safe across threads and forks)."""
        if self._broken is not None:
            return fallback
        try:
            with closing(sqlite3.connect(self.path, timeout=30.0, isolation_level=None)) as conn:
                return operation(conn)
        except (sqlite3.Error, OSError) as exc:
            self._disable(exc)
            return fallback

    def _disable(self, exc: BaseException) -> None:
        with self._broken_lock:
            if self._broken is None:
                self._broken = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "the discovery cache %s cannot be used (%s); MSAL fetches each tenant's OpenID "
                    "configuration in every process instead",
                    self.path,
                    self._broken,
                )


class AuthorityHttpCache(MutableMapping[str, Any]):
    """One MSAL application's `http_cache`: its discovery documents from the shared file, the rest in memory.

    MSAL wraps this mapping in its ExpiringMapping, which stores entries here and then its index under
    `INDEX_KEY`; each index update is when a new discovery document is written through to the file. Read
    back in a later process, the documents come with an index built from the file's own times.
    """

    def __init__(self, store: DiscoveryCache, namespace: str) -> None:
        self._store = store
        self._namespace = namespace
        self._items: dict[str, Any] | None = None
        self._stored: dict[str, int] = {}  # key -> created_at of the copy in the file

    def _loaded(self) -> dict[str, Any]:
        if self._items is None:
            items: dict[str, Any] = {}
            entries = self._store.load(self._namespace)
            if entries:
                heap = [[expires, created, key] for key, _, created, expires in entries]
                heapq.heapify(heap)
                items[INDEX_KEY] = (heap, {key: [expires, created] for key, _, created, expires in entries})
                for key, response, created, _ in entries:
                    items[key] = response
                    self._stored[key] = created
            self._items = items
        return self._items

    def __getitem__(self, key: str) -> Any:
        return self._loaded()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        items = self._loaded()
        items[key] = value
        if key == INDEX_KEY:
            self._write_through(value)

    def __delitem__(self, key: str) -> None:
        del self._loaded()[key]
        if self._stored.pop(key, None) is not None:
            self._store.delete(self._namespace, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def _write_through(self, index: Any) -> None:
        try:
            _, stamps = index
            pairs = list(stamps.items())
        except (TypeError, ValueError, AttributeError):
            return  # not the index shape this module knows: nothing is written
        items = self._loaded()
        for key, stamp in pairs:
            try:
                created_at = int(stamp[1])
            except (TypeError, ValueError, IndexError):
                continue
            if self._stored.get(key) == created_at:
                continue
            response = items.get(key)
            if is_public_discovery(key, response):
                self._store.put(self._namespace, key, response, created_at)
                self._stored[key] = created_at


def default_cache_directory(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CACHE_HOME/smart-office`, else `~/.cache/smart-office`."""
    source = os.environ if env is None else env
    base = source.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "smart-office"
