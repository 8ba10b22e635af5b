"""In-memory request counters per service, endpoint (route template) and tenant; never written to disk.

`requests` counts every request a service handled, the items of a Graph `$batch` included (each runs through
the service on its own: auth, throttling, faults); `batched` says how many of them came inside a `$batch`. So
the round trips a client made are `requests - batched`, and a `$batch` round trip itself is a request to
`/v1.0/$batch`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any


class RequestStats:
    """Counters the admin API reports (`GET /stats`) and resets (`DELETE /stats`)."""

    def __init__(self, now: datetime) -> None:
        self.reset(now)

    def reset(self, now: datetime) -> None:
        self.since = now
        # (service, endpoint, tenant or "", status, inside a $batch) -> count: one dict update per request.
        self._counts: Counter[tuple[str, str, str, int, bool]] = Counter()
        self._faults: Counter[tuple[str, str]] = Counter()

    def record(
        self, service: str, endpoint: str, tenant: str | None, status: int, *, batched: bool = False
    ) -> None:
        self._counts[(service, endpoint, tenant or "", status, batched)] += 1

    def record_fault(self, service: str, kind: str) -> None:
        self._faults[(service, kind)] += 1

    def count(
        self, service: str | None = None, endpoint: str | None = None, tenant: str | None = None
    ) -> int:
        """Requests matching the given service/endpoint/tenant (None = any)."""
        return sum(
            n
            for (s, e, t, _, _), n in self._counts.items()
            if (service is None or s == service)
            and (endpoint is None or e == endpoint)
            and (tenant is None or t == tenant)
        )

    def snapshot(self) -> dict[str, Any]:
        services: dict[str, dict[str, Any]] = {}
        endpoints: dict[tuple[str, str, str], dict[str, Any]] = {}
        for (service, endpoint, tenant, status, batched), n in sorted(self._counts.items()):
            svc = services.setdefault(service, {"requests": 0, "batched": 0, "throttled": 0, "statuses": {}})
            svc["requests"] += n
            svc["batched"] += n if batched else 0
            svc["throttled"] += n if status == 429 else 0
            svc["statuses"][str(status)] = svc["statuses"].get(str(status), 0) + n
            row = endpoints.setdefault(
                (service, endpoint, tenant),
                {
                    "service": service,
                    "endpoint": endpoint,
                    "tenant": tenant or None,
                    "requests": 0,
                    "batched": 0,
                    "throttled": 0,
                    "statuses": {},
                },
            )
            row["requests"] += n
            row["batched"] += n if batched else 0
            row["throttled"] += n if status == 429 else 0
            row["statuses"][str(status)] = row["statuses"].get(str(status), 0) + n
        faults: dict[str, dict[str, int]] = {}
        for (service, kind), n in sorted(self._faults.items()):
            faults.setdefault(service, {})[kind] = n
        return {
            "since": self.since.isoformat().replace("+00:00", "Z"),
            "total": sum(self._counts.values()),
            "batched": sum(n for key, n in self._counts.items() if key[4]),
            "throttled": sum(n for key, n in self._counts.items() if key[3] == 429),
            "services": services,
            "endpoints": list(endpoints.values()),
            "faults_fired": faults,
        }
