"""The throttling Microsoft documents, enforced the way it is documented: per app per tenant, on wall time.

Defaults (FACTS.md §3, limits-and-timings.json):
- Graph security API (`/security/alerts_v2`, `/security/incidents`, `/security/secureScores`): 150 requests per
  minute per app per tenant ("Any operation on alert, securityActions, secureScore"; alerts_v2 and incidents
  are taken to be "alert" — an inference FACTS.md records).
- `/security/secureScores` and `/security/secureScoreControlProfiles`: 10,000 requests per 10 minutes and at most
  4 concurrent requests per app per tenant. A request is in flight from admission until its body has been
  handed to the server, plus an optional backend latency (`graph_secure_score_latency_seconds`).
- Partner Center: 500 requests per minute per tenant identifier (PCDOCS customer-resources.md).

Windows slide: a request is admitted when fewer than `limit` requests were admitted in the last `window`
seconds; a refused one waits until the oldest of those leaves the window, which is the `Retry-After` it gets
(fractional seconds for Graph, as its throttling sample shows `2.128`; whole seconds for Partner Center).
Refused requests do not count. 0 turns a limit off.

Tests and benchmarks change the limits with the environment variable `SMART_OFFICE_EMULATOR_LIMITS`, a JSON
object of `LimitSettings` fields read when the emulator starts (e.g. `{"graph_security_requests": 5}`), or
at run time through `throttling_for(ctx).settings.update({...})`.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext, request_info
from emulator.faults import retry_after_text

ENVIRONMENT_VARIABLE = "SMART_OFFICE_EMULATOR_LIMITS"
_EXTENSION_KEY = "emulator.graph.throttling"


@dataclass
class LimitSettings:
    """The limits in force; defaults are Microsoft's."""

    graph_security_requests: int = 150
    graph_security_window_seconds: float = 60.0
    graph_secure_score_requests: int = 10_000
    graph_secure_score_window_seconds: float = 600.0
    graph_secure_score_concurrency: int = 4
    graph_concurrency_retry_after_seconds: float = 1.0
    # Time the secure-score backend takes per request while holding its concurrency slot (0: none). Real
    # secureScores calls take seconds; tests raise it to make concurrent requests overlap.
    graph_secure_score_latency_seconds: float = 0.0
    partner_center_requests: int = 500
    partner_center_window_seconds: float = 60.0

    def update(self, values: Mapping[str, Any]) -> None:
        """Change some limits; unknown names or negative values raise ValueError (nothing is changed then)."""
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown limit {name!r}; known: {', '.join(sorted(known))}")
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative number")
        for name, value in values.items():
            setattr(self, name, value)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> LimitSettings:
        settings = cls()
        raw = environ.get(ENVIRONMENT_VARIABLE)
        if raw:
            try:
                values = json.loads(raw)
            except json.JSONDecodeError as err:
                raise ValueError(f"{ENVIRONMENT_VARIABLE} is not JSON: {err}") from None
            if not isinstance(values, dict):
                raise ValueError(f"{ENVIRONMENT_VARIABLE} must be a JSON object")
            settings.update(values)
        return settings

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SlidingWindow:
    """At most `limit()` admissions per key in any `window()` seconds."""

    def __init__(
        self,
        limit: Callable[[], int],
        window: Callable[[], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._admitted: dict[Any, deque[float]] = {}

    def admit(self, key: Any) -> float | None:
        """None if admitted (and counted); otherwise the seconds until a request would be admitted."""
        limit = self._limit()
        if limit <= 0:
            return None
        now = self._clock()
        window = self._window()
        times = self._admitted.get(key)
        if times is None:
            times = self._admitted[key] = deque()
        horizon = now - window
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) >= limit:
            return max(0.001, times[len(times) - limit] + window - now)
        times.append(now)
        return None


class ConcurrencyGate:
    """At most `limit()` requests in flight per key."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._in_flight: dict[Any, int] = {}

    def acquire(self, key: Any) -> bool:
        limit = self._limit()
        current = self._in_flight.get(key, 0)
        if limit > 0 and current >= limit:
            return False
        self._in_flight[key] = current + 1
        return True

    def release(self, key: Any) -> None:
        remaining = self._in_flight.get(key, 0) - 1
        if remaining > 0:
            self._in_flight[key] = remaining
        else:
            self._in_flight.pop(key, None)

    def in_flight(self, key: Any) -> int:
        return self._in_flight.get(key, 0)


class Throttling:
    """Every limiter of one emulator process."""

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        s = settings
        self.security = SlidingWindow(
            lambda: int(s.graph_security_requests), lambda: float(s.graph_security_window_seconds)
        )
        self.secure_score_volume = SlidingWindow(
            lambda: int(s.graph_secure_score_requests), lambda: float(s.graph_secure_score_window_seconds)
        )
        self.secure_score_concurrency = ConcurrencyGate(lambda: int(s.graph_secure_score_concurrency))
        self.partner_center = SlidingWindow(
            lambda: int(s.partner_center_requests), lambda: float(s.partner_center_window_seconds)
        )


def throttling_for(ctx: EmulatorContext) -> Throttling:
    """The emulator's limiters (created on first use from the environment)."""
    found = ctx.extensions.get(_EXTENSION_KEY)
    if found is None:
        found = ctx.extensions[_EXTENSION_KEY] = Throttling(LimitSettings.from_environment())
    return found


def throttled(request: Request, seconds: float, *, whole_seconds: bool = False) -> Response:
    """A 429 in the service's own throttling shape, with Retry-After."""
    app = request.scope["app"]
    text = str(max(1, math.ceil(seconds))) if whole_seconds else retry_after_text(round(seconds, 3))
    body, headers = app.error_payload(429, text, request_info(request))
    response = Response(body, status_code=429)
    response.raw_headers = [
        *[(k, v) for k, v in response.raw_headers if k != b"content-type"],
        *headers,
        (b"retry-after", text.encode()),
    ]
    return response
