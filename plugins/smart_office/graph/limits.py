"""Client-side limits that match Microsoft's documented ones, so we rarely meet a 429 in the first place.

Security API (per app per tenant): 150 requests/minute on alerts/secureScore; secureScore and
secureScoreControlProfiles: at most 4 concurrent requests. Graph's global limit is far above what one
partner needs; a global cap protects our own process and the warehouse instead.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Bucket:
    """A named limit class for endpoints that share Microsoft's per-tenant limits."""

    name: str
    concurrency: int
    per_minute: int


SECURITY = Bucket("security", concurrency=8, per_minute=150)
SECURE_SCORE = Bucket("secure_score", concurrency=4, per_minute=150)
DIRECTORY = Bucket("directory", concurrency=8, per_minute=1_000)


class _RateWindow:
    """A token bucket: `per_minute` tokens, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self._capacity = float(per_minute)
        self._tokens = float(per_minute)
        self._rate = per_minute / 60.0
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self._rate)


class TenantLimits:
    """Per (tenant, bucket) concurrency and rate, plus one global concurrency cap.

    Per-tenant state is kept for the most recent tenants only, so memory does not grow with the portfolio.
    """

    def __init__(self, global_concurrency: int = 16, max_tenants: int = 4_096) -> None:
        self.global_slots = asyncio.Semaphore(global_concurrency)
        self._per_tenant: OrderedDict[tuple[str, str], tuple[asyncio.Semaphore, _RateWindow]] = OrderedDict()
        self._max = max_tenants

    def for_tenant(self, tenant_id: str, bucket: Bucket) -> tuple[asyncio.Semaphore, _RateWindow]:
        key = (tenant_id, bucket.name)
        found = self._per_tenant.get(key)
        if found is None:
            found = (asyncio.Semaphore(bucket.concurrency), _RateWindow(bucket.per_minute))
            self._per_tenant[key] = found
            while len(self._per_tenant) > self._max:
                self._per_tenant.popitem(last=False)
        else:
            self._per_tenant.move_to_end(key)
        return found


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds (Graph sends fractions, e.g. 2.128) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return seconds


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying. `max_wait` bounds a single Retry-After we are willing to honour."""

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_wait: float = 120.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter exponential backoff for when the server gives no Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return (rng or random).uniform(0, ceiling)
