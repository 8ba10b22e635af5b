"""Integer-microsecond UTC timestamps and the ISO 8601 renderings Graph uses, fast enough for hot paths.

Generators keep time as microseconds since the Unix epoch (UTC): comparisons and arithmetic are integer
operations and nothing depends on time zones or the wall clock. Rendering follows the styles seen in
Microsoft's payloads: `2021-04-27T12:19:27.7211305Z` (7 fractional digits, alerts and incidents),
`2021-04-26T07:45:50.116Z` (milliseconds, activity times) and `2019-03-19T15:21:00Z` (Secure Score).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch for an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds


def from_us(us: int) -> datetime:
    """The aware UTC datetime for microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=us)


def day_of(us: int) -> int:
    """Day number (days since 1970-01-01, UTC) containing `us`."""
    return us // DAY


@lru_cache(maxsize=4096)
def date_text(day: int) -> str:
    """`yyyy-MM-dd` of a day number."""
    return date.fromordinal(_EPOCH_ORDINAL + day).isoformat()


# "HH:MM:SS" for every second of a day and "yyyy-MM-dd" per day number: rendering millions of timestamps
# then costs a few string concatenations (about 6 MB for the table, built on first use).
_HMS: list[str] = []
_DATES: dict[int, str] = {}


def _parts(us: int) -> tuple[str, str, int, int]:
    if not _HMS:
        _HMS.extend(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))
    seconds, fraction = divmod(us, SECOND)
    day, second_of_day = divmod(seconds, 86_400)
    date = _DATES.get(day)
    if date is None:
        if len(_DATES) > 100_000:
            _DATES.clear()
        date = _DATES[day] = date_text(day)
    return date, _HMS[second_of_day], fraction, day


def iso7(us: int) -> str:
    """`2021-04-27T12:19:27.7211305Z`: Graph security's 100-ns precision (the 7th digit is derived)."""
    date, clock, fraction, day = _parts(us)
    tick = "0123456789"[(fraction * 7 + day) % 10] if fraction else "0"
    return date + "T" + clock + "." + str(fraction + SECOND)[1:] + tick + "Z"


def iso3(us: int) -> str:
    """`2021-04-26T07:45:50.116Z`: millisecond precision."""
    date, clock, fraction, _ = _parts(us)
    return date + "T" + clock + "." + str(fraction // 1000 + 1000)[1:] + "Z"


def iso0(us: int) -> str:
    """`2019-03-19T15:21:00Z`: whole seconds."""
    date, clock, _, _ = _parts(us)
    return date + "T" + clock + "Z"


def dotnet_ticks(us: int) -> int:
    """.NET ticks (100 ns since 0001-01-01), the number Defender for Endpoint puts into alert ids."""
    return (us + 62_135_596_800 * SECOND) * 10
