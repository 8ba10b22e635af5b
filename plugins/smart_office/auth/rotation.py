"""The partner refresh token in memory and in its store: newest wins, always.

Entra rotates refresh tokens on every use and keeps the old ones valid until their own expiry, so the
only rule that matters is to never let the store go back to an older token. Every rotation is a
compare-and-swap on the version read; losers re-read and stop if the stored token is already newer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from smart_office.auth.stores import REFRESH_TOKEN_NAME, SecretStore, StoredSecret, VersionConflict
from smart_office.redaction import Secret

log = logging.getLogger(__name__)

# Entra expires a refresh token after 90 days without use; warn well before.
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
DEFAULT_WARNING_WINDOW = timedelta(days=14)


class NoRefreshTokenError(RuntimeError):
    """The store has no partner refresh token yet: run `smart-office consent` first."""


@dataclass(frozen=True, slots=True)
class ExpiryStatus:
    issued_at: datetime
    expires_at: datetime
    days_left: float
    needs_attention: bool

    def message(self) -> str:
        if not self.needs_attention:
            return f"partner refresh token valid until {self.expires_at:%Y-%m-%d} ({self.days_left:.0f} days left)"
        return (
            f"partner refresh token expires {self.expires_at:%Y-%m-%d} ({self.days_left:.1f} days left): "
            "run the pipeline (each run renews it) or `smart-office consent` before then"
        )


class RefreshTokenKeeper:
    """Holds the newest refresh token this process knows and writes rotations back to the store.

    Thread-safe: one instance is shared by every exchange of a worker.

    :param store: the SecretStore holding the token.
    :param name: the secret's name in the store.
    """

    def __init__(self, store: SecretStore, name: str = REFRESH_TOKEN_NAME) -> None:
        self._store = store
        self._name = name
        self._lock = threading.Lock()
        self._current: StoredSecret | None = None

    @property
    def store(self) -> SecretStore:
        return self._store

    def current(self) -> StoredSecret:
        """The newest token known; read from the store on first use."""
        with self._lock:
            if self._current is None:
                self._current = self._store.get(self._name)
                if self._current is None:
                    raise NoRefreshTokenError(
                        f"no partner refresh token in {self._store.describe()}; run `smart-office consent`"
                    )
            return self._current

    def offer(self, token: str, issued_at: datetime) -> bool:
        """Adopt a rotated token if it is newer than what we hold, and write it back. Returns True if stored."""
        with self._lock:
            held = self._current
            # Equal times happen (issue times have one-second resolution): the token just received was
            # issued after the one it was redeemed with, so it wins the tie.
            if held is not None and held.issued_at > issued_at:
                return False
            expected = held.version if held is not None else None
            for _attempt in range(5):
                try:
                    self._current = self._store.put(
                        self._name, token, issued_at=issued_at, expected_version=expected
                    )
                    return True
                except VersionConflict:
                    stored = self._store.get(self._name)
                    if stored is not None and stored.issued_at >= issued_at:
                        # Another worker stored a token at least as new: keep theirs, use theirs.
                        self._current = stored
                        return False
                    expected = stored.version if stored is not None else None
            log.warning("refresh token write-back lost 5 races in a row; will retry on the next rotation")
            self._current = StoredSecret(Secret(token), expected or "", issued_at)
            return False

    def initialise(self, token: str, issued_at: datetime) -> StoredSecret:
        """Store the token from a fresh consent, replacing whatever is there (consent is authoritative)."""
        with self._lock:
            for _attempt in range(5):
                existing = self._store.get(self._name)
                try:
                    self._current = self._store.put(
                        self._name,
                        token,
                        issued_at=issued_at,
                        expected_version=existing.version if existing else None,
                    )
                    return self._current
                except VersionConflict:
                    continue
            raise VersionConflict(self._name)

    def expiry_status(
        self, now: datetime, warning_window: timedelta = DEFAULT_WARNING_WINDOW
    ) -> ExpiryStatus:
        """How long until the stored token expires from inactivity, as of `now` (from the task context)."""
        token = self.current()
        expires_at = token.issued_at + REFRESH_TOKEN_LIFETIME
        days_left = (expires_at - now).total_seconds() / 86_400
        return ExpiryStatus(token.issued_at, expires_at, days_left, expires_at - now <= warning_window)
