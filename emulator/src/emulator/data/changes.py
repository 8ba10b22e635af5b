"""Per tenant and UTC day: the latest instant anything created that day ever changes (a change index).

A daily incremental read asks for what changed since yesterday (`lastUpdateDateTime gt X`), yet the alerts and
incidents it can match are spread over the whole 180-day retention window, and drawing a day's skeletons is
what the emulator spends its CPU on. Every lifecycle event of a day's alerts and incidents is drawn when the
day is, so the latest of them bounds the `lastUpdateDateTime` of everything created that day at any instant:
a day whose bound is before X cannot match and need not be drawn again. One machine word per tenant-day
(about 15 MB for 10,000 tenants over 181 days), kept for as long as the process runs, unlike the days
themselves, which an LRU holds.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable

UNKNOWN = -(2**63)


class DayChangeIndex:
    """Latest change (µs since the epoch) per (tenant key, day); UNKNOWN for a day not drawn yet."""

    def __init__(self) -> None:
        # tenant key -> [first day held, latest change of each day from it on]
        self._tenants: dict[Hashable, tuple[list[int], array[int]]] = {}

    def __len__(self) -> int:
        return len(self._tenants)

    def latest(self, tenant: Hashable, day: int) -> int:
        """The latest change of anything created on `day`, or UNKNOWN."""
        held = self._tenants.get(tenant)
        if held is None:
            return UNKNOWN
        (first,), days = held
        offset = day - first
        return days[offset] if 0 <= offset < len(days) else UNKNOWN

    def record(self, tenant: Hashable, day: int, latest: int) -> None:
        """Remember the latest change of `day` (drawn just now)."""
        held = self._tenants.get(tenant)
        if held is None:
            self._tenants[tenant] = ([day], array("q", [latest]))
            return
        start, days = held
        if day < start[0]:
            days[0:0] = array("q", [UNKNOWN]) * (start[0] - day)
            start[0] = day
        offset = day - start[0]
        if offset >= len(days):
            days.extend(array("q", [UNKNOWN]) * (offset - len(days) + 1))
        days[offset] = latest

    def clear(self) -> None:
        """Forget everything."""
        self._tenants.clear()
