"""The partner refresh token in memory and in its store: newest wins, always, and writes are rare.

Entra rotates refresh tokens on every use and keeps the old ones valid until their own expiry (90 days
without use), so a newer token need not reach the store at once: each process exchanges with the newest
token it knows and writes it back only when the stored one is `write_back_age` older. A 10,000-tenant run
thus writes the store about once, not once per tenant. The one rule that matters is never to let the store
go back to an older token: every write is a compare-and-swap on the version read; losers re-read and keep
the stored token if it is at least as new.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from smart_office.auth.stores import REFRESH_TOKEN_NAME, SecretStore, StoredSecret, VersionConflict
from smart_office.redaction import Secret
from smart_office.wording import counted

log = logging.getLogger(__name__)

# Entra expires a refresh token after 90 days without use; warn well before.
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
DEFAULT_WARNING_WINDOW = timedelta(days=14)
# SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS: a few hours, far inside the warning window.
DEFAULT_WRITE_BACK_AGE = timedelta(hours=6)
# Compare-and-swap attempts per write-back before the token is left in memory until the next rotation.
_WRITE_ATTEMPTS = 5


class NoRefreshTokenError(RuntimeError):
    """The store has no partner refresh token yet: run `smart-office consent` first."""


@dataclass(frozen=True, slots=True)
class ExpiryStatus:
    issued_at: datetime
    expires_at: datetime
    days_left: float
    needs_attention: bool

    @classmethod
    def of(cls, issued_at: datetime, now: datetime, warning_window: timedelta) -> ExpiryStatus:
        expires_at = issued_at + REFRESH_TOKEN_LIFETIME
        days_left = (expires_at - now).total_seconds() / 86_400
        return cls(issued_at, expires_at, days_left, expires_at - now <= warning_window)

    def message(self) -> str:
        if not self.needs_attention:
            return f"partner refresh token valid until {self.expires_at:%Y-%m-%d} ({counted(round(self.days_left), 'day')} left)"
        return (
            f"partner refresh token expires {self.expires_at:%Y-%m-%d} ({self.days_left:.1f} days left): "
            "run the pipeline (each run renews it) or `smart-office consent` before then"
        )


class RefreshTokenKeeper:
    """Holds the newest refresh token this process knows and writes it back to the store, rarely.

    A rotated token is used at once (`current()`), and written back when the token the store holds (as this
    keeper last saw it) was issued `write_back_age` or more before it: the first rotation of a daily run, and
    again only if the run outlasts the age. A write is a compare-and-swap; losing it to a token at least as
    new adopts that one, losing it to an older one that is still recent enough ends the write too.

    Thread-safe; one instance is shared by every exchange of a worker. Store I/O is done by one thread at a
    time and never under the lock that `current()` and `offer()` take, and a rotation offered while another
    thread is writing is left in memory instead of waiting: exchanges (the shard event loops' worker
    threads) never queue behind the store.

    :param store: the SecretStore holding the token.
    :param name: the secret's name in the store.
    :param write_back_age: how much older than the newest token the stored one may be (0: write every
        rotation).
    """

    def __init__(
        self,
        store: SecretStore,
        name: str = REFRESH_TOKEN_NAME,
        *,
        write_back_age: timedelta = DEFAULT_WRITE_BACK_AGE,
    ) -> None:
        self._store = store
        self._name = name
        self._write_back_age = write_back_age
        self._lock = threading.Lock()  # guards the fields below; held for no I/O
        self._io = threading.Lock()  # one store call at a time
        self._loaded = False
        self._stored: StoredSecret | None = None  # what the store holds, as last read or written
        self._newest: StoredSecret | None = None  # the newest token known; `_stored` when in step

    @property
    def store(self) -> SecretStore:
        return self._store

    def for_name(self, name: str) -> RefreshTokenKeeper:
        """A keeper of another refresh token (a direct tenant's) in the same store, written back alike."""
        return RefreshTokenKeeper(self._store, name, write_back_age=self._write_back_age)

    def current(self) -> StoredSecret:
        """The newest token known (read from the store on first use); its version is '' while only in memory."""
        self._load()
        with self._lock:
            if self._newest is None:
                raise NoRefreshTokenError(
                    f"no partner refresh token in {self._store.describe()}; run `smart-office consent`"
                )
            return self._newest

    def offer(self, token: str, issued_at: datetime) -> bool:
        """Adopt a rotated token if it is not older than the newest known; returns True if it was stored."""
        self._load()
        with self._lock:
            # Equal times happen (issue times have one-second resolution): the token just received was
            # issued after the one it was redeemed with, so it wins the tie.
            if self._newest is not None and self._newest.issued_at > issued_at:
                return False
            offered = StoredSecret(Secret(token), "", issued_at)
            self._newest = offered
            if not self._write_due():
                return False
        if not self._io.acquire(blocking=False):
            return False  # another thread is writing: this token waits in memory for a later write
        try:
            return self._write_back(force=False) is offered
        finally:
            self._io.release()

    def initialise(self, token: str, issued_at: datetime) -> StoredSecret:
        """Store the token from a fresh consent, replacing whatever is there (consent is authoritative)."""
        with self._io:
            for _attempt in range(_WRITE_ATTEMPTS):
                existing = self._store.get(self._name)
                try:
                    written = self._store.put(
                        self._name,
                        token,
                        issued_at=issued_at,
                        expected_version=existing.version if existing else None,
                    )
                except VersionConflict:
                    continue
                with self._lock:
                    self._stored = self._newest = written
                    self._loaded = True
                return written
            raise VersionConflict(self._name)

    def expiry_status(
        self, now: datetime, warning_window: timedelta = DEFAULT_WARNING_WINDOW
    ) -> ExpiryStatus:
        """How long until the stored token expires from inactivity, as of `now` (from the task context).

        The stored token, read afresh, not the newest in memory: the store's is the one that survives this
        process, so it is the one whose expiry the partner must hear about. It lags the newest by less than
        `write_back_age` (hours), so the two differ in the warning only when the stored one is already
        inside the window while a newer one is in memory (runs were paused, then resumed): then the newer
        one is written back first, so a warning means that what survives really is about to expire.
        """
        with self._io:
            self._take_stored(self._store.get(self._name))
            with self._lock:
                stored, newest = self._stored, self._newest
            if stored is None:
                raise NoRefreshTokenError(
                    f"no partner refresh token in {self._store.describe()}; run `smart-office consent`"
                )
            status = ExpiryStatus.of(stored.issued_at, now, warning_window)
            if status.needs_attention and newest is not None and newest.issued_at > stored.issued_at:
                self._write_back(force=True)
                with self._lock:
                    stored = self._stored
                assert stored is not None
                status = ExpiryStatus.of(stored.issued_at, now, warning_window)
            return status

    def _load(self) -> None:
        if self._loaded:
            return
        with self._io:
            if not self._loaded:
                self._take_stored(self._store.get(self._name))
                self._loaded = True

    def _take_stored(self, stored: StoredSecret | None) -> None:
        """Note what the store holds; adopt it if it is at least as new as the newest known."""
        with self._lock:
            self._stored = stored
            if stored is not None and (self._newest is None or stored.issued_at >= self._newest.issued_at):
                self._newest = stored

    def _write_due(self) -> bool:
        """A newer token than the stored one is held, and the stored one is `write_back_age` older (lock held)."""
        if self._newest is None or self._newest is self._stored:
            return False
        if self._stored is None:
            return True
        return self._newest.issued_at - self._stored.issued_at >= self._write_back_age

    def _write_back(self, *, force: bool) -> StoredSecret | None:
        """Compare-and-swap the newest token into the store if a write is due (`force`: however recent the
        stored one is); returns the in-memory token written, or None. The caller holds `_io`."""
        for _attempt in range(_WRITE_ATTEMPTS):
            with self._lock:
                newest, stored = self._newest, self._stored
                due = self._write_due() or (force and newest is not None and newest is not stored)
            if not due or newest is None:
                return None
            try:
                written = self._store.put(
                    self._name,
                    newest.value.reveal(),
                    issued_at=newest.issued_at,
                    expected_version=stored.version if stored is not None else None,
                )
            except VersionConflict:
                # Another worker wrote first: re-read; theirs stands if at least as new (or recent enough).
                self._take_stored(self._store.get(self._name))
                continue
            with self._lock:
                self._stored = written
                if self._newest is newest:
                    self._newest = written
            return newest
        log.warning(
            "refresh token write-back lost %d races in a row; will retry on a later rotation", _WRITE_ATTEMPTS
        )
        return None
