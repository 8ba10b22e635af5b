"""A report's period: a quarter (2026-Q3), a month (2026-09), or days from/to; and the period a scheduled run reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
KINDS = ("month", "quarter")


class PeriodError(ValueError):
    """A period that cannot be read; the message says which forms are accepted."""


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """Days `start` to `end`, both included, and the label reports and file names show."""

    start: date
    end: date
    label: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def title(self) -> str:
        """How the report names the period: `Q3 2026`, `September 2026`, `1 Jul 2026 to 15 Aug 2026`."""
        if quarter := _QUARTER.match(self.label):
            return f"Q{quarter.group(2)} {quarter.group(1)}"
        if _MONTH.match(self.label):
            return f"{self.start:%B %Y}"
        return f"{self.start:%d %b %Y} to {self.end:%d %b %Y}"


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def quarter(year: int, number: int) -> ReportPeriod:
    first_month = 3 * (number - 1) + 1
    return ReportPeriod(date(year, first_month, 1), _month_end(year, first_month + 2), f"{year}-Q{number}")


def month(year: int, number: int) -> ReportPeriod:
    return ReportPeriod(date(year, number, 1), _month_end(year, number), f"{year}-{number:02d}")


def parse_period(period: str | None = None, start: str | None = None, end: str | None = None) -> ReportPeriod:
    """`--period 2026-Q3` or `--period 2026-09`, or `--from 2026-07-01 --to 2026-08-15` (either, not both)."""
    if period and (start or end):
        raise PeriodError("give --period, or --from and --to, not both")
    if period:
        text = period.strip()
        if found := _QUARTER.match(text):
            return quarter(int(found.group(1)), int(found.group(2)))
        if (found := _MONTH.match(text)) and 1 <= int(found.group(2)) <= 12:
            return month(int(found.group(1)), int(found.group(2)))
        raise PeriodError(f"--period {period!r} is neither a quarter (2026-Q3) nor a month (2026-09)")
    if not (start and end):
        raise PeriodError("give --period (2026-Q3 or 2026-09), or both --from and --to (2026-07-01)")
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise PeriodError(f"--from {start!r} / --to {end!r}: give days as 2026-07-01") from None
    return ReportPeriod(first, last, f"{first.isoformat()}_{last.isoformat()}")


def period_before(moment: datetime | date, kind: str = "month") -> ReportPeriod | None:
    """The last whole month (or quarter) that ended before `moment`'s month began: what a run due at `moment`
    reports. For a quarter, None unless `moment` falls in the month right after a quarter ended."""
    if kind not in KINDS:
        raise PeriodError(f"a scheduled report covers a month or a quarter, not {kind!r}")
    day = moment.date() if isinstance(moment, datetime) else moment
    previous = day.replace(day=1) - timedelta(days=1)
    if kind == "month":
        return month(previous.year, previous.month)
    if previous.month % 3:
        return None
    return quarter(previous.year, previous.month // 3)
