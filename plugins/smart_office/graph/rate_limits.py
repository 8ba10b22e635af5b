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
from collections.abc import Callable
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
    """How long to keep trying one request: a budget of time, not a number of attempts.

    A burst of six 429s within five seconds costs five seconds, not the tenant's data for the day; a server
    that keeps failing is given up on once `budget` seconds have gone by. Retry-After is honoured up to
    `max_wait` seconds (a longer one means the service wants us gone for a while: the request fails at
    once, as an outcome, and the next run tries again). `max_attempts` only stops a server that fails
    instantly from being asked thousands of times inside the budget.
    """

    budget: float = 300.0
    max_wait: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_attempts: int = 50

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter exponential backoff for when the server gives no Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return (rng or random).uniform(0, ceiling)

    def start(
        self,
        *,
        deadline: float | None = None,
        allowance: RetryAllowance | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> RetryBudget:
        """A budget for one request; `deadline` (a `clock()` value) can only shorten it, and the waits are
        also drawn from `allowance`, shared by every request of one tenant."""
        return RetryBudget(self, clock, deadline, allowance)


@dataclass(slots=True)
class RetryAllowance:
    """Seconds of waiting-to-retry one tenant may still spend, shared by all its requests.

    Without it, a tenant whose every request keeps failing would spend the full per-request budget on each
    of its endpoints and pages in turn; with it, once the tenant has waited this long in total, its
    remaining requests fail at their first error and the run moves on.
    """

    seconds: float

    def take(self, wait: float) -> bool:
        if wait > self.seconds:
            self.seconds = 0.0
            return False
        self.seconds -= wait
        return True


class RetryBudget:
    """The retries left for one request: `next_wait()` says how long to wait, or None to give up."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Callable[[], float],
        deadline: float | None,
        allowance: RetryAllowance | None = None,
    ) -> None:
        self.policy = policy
        self._clock = clock
        end = clock() + policy.budget
        self.deadline = end if deadline is None else min(end, deadline)
        self.allowance = allowance
        self.attempts = 0

    def next_wait(self, retry_after: float | None = None, *, minimum: float = 0.0) -> float | None:
        """Seconds to wait before the next attempt (Retry-After when given), or None when out of budget."""
        self.attempts += 1
        if self.attempts >= self.policy.max_attempts:
            return None
        wait = self.policy.backoff(self.attempts - 1) if retry_after is None else retry_after
        wait = max(wait, minimum)
        if wait > self.policy.max_wait or self._clock() + wait > self.deadline:
            return None
        if self.allowance is not None and not self.allowance.take(wait):
            return None
        return wait
