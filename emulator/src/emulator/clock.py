"""`EmulatorClock`: the emulator's notion of "now", which tests move forward through the admin API.

Semantics (chosen for determinism): now = start (`--now`) + offset, where the offset only changes through
`advance()` (admin `POST /clock/advance`) and is persisted in the state, so a restart with the same state
dir resumes at the same instant. The clock does not tick with wall time by default: two emulators with the
same seed and `--now` answer identically however long apart their requests are, and a token expires only
when a test advances the clock past its `exp`. `running=True` (`serve --running-clock`) adds real elapsed
time since start, for long demos that want tokens to expire by themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta


class EmulatorClock:
    """Start instant + persisted offset (+ real elapsed time when running)."""

    def __init__(
        self,
        start: datetime,
        *,
        offset: timedelta = timedelta(0),
        running: bool = False,
        persist: Callable[[timedelta], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.start = start
        self.running = running
        self._offset = offset
        self._persist = persist
        self._monotonic = monotonic
        self._started = monotonic()
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        """The current emulator instant (aware, UTC)."""
        moment = self.start + self._offset
        if self.running:
            moment += timedelta(seconds=self._monotonic() - self._started)
        return moment

    def timestamp(self) -> int:
        """Whole seconds since the epoch at `now()` (JWT `iat`/`exp` arithmetic)."""
        return int(self.now().timestamp())

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward (never back: refresh-token and consent history must stay consistent)."""
        if delta < timedelta(0):
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += delta
            if self._persist is not None:
                self._persist(self._offset)
        return self.now()
