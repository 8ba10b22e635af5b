"""The machine's own PostgreSQL and Redis services, used by the deployment tests that must run against
real, separately running servers (as a docker compose deployment would). CI provides both; on a machine
without them those tests are skipped with this reason — the README path (`make test` on a bare machine)
does not depend on them."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

LOCAL_PG_URL = os.environ.get("SMART_OFFICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LOCAL_REDIS_URL = os.environ.get("SMART_OFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def missing_services(*, postgres: bool = True, redis: bool = False) -> str | None:
    """Why the local services are not usable, or None when they are."""
    if postgres and not _reachable(LOCAL_PG_URL, 5432):
        return (
            f"needs the PostgreSQL service at {urlsplit(LOCAL_PG_URL).netloc} (set SMART_OFFICE_TEST_PG_URL)"
        )
    if redis and not _reachable(LOCAL_REDIS_URL, 6379):
        return (
            f"needs the Redis service at {urlsplit(LOCAL_REDIS_URL).netloc} (set SMART_OFFICE_TEST_REDIS_URL)"
        )
    return None
