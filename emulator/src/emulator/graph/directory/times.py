"""Timestamps as the directory writes and reads them (ISO 8601 in UTC with `Z`, microseconds when there are any)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from emulator.graph.directory.errors import bad_value


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: Any, field: str) -> datetime:
    """A DateTimeOffset from a request body (UTC when it has no offset); 400 for anything else."""
    if not isinstance(value, str):
        raise bad_value(field)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise bad_value(field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
